"""The Jacobian in the spec's notation, for the findings: dt(Y), -K^T diag(tanh') K - 0.1*I,
eigenvalues as re +- i*im, matrix literals as [[1, 2], [3, 4]]."""
from __future__ import annotations

import sympy

from sciml.lowering.mathtext import expr_text


def lhs_text(eq) -> str:
    return f"dt(dt({eq.state}))" if eq.order == 2 else f"dt({eq.state})"


def diag_text(activation) -> str:
    return f"diag({activation}')" if activation else ""


def terms_text(terms) -> str:
    """The sum of terms L diag(sigma') R in the spec's notation."""
    parts = []
    for t in terms:
        pieces = []
        left = t.left.identity_multiple()
        prefix = ""
        if left is None:
            pieces.append(paren(t.left.text()))
        else:
            prefix = coeff_text(left)
        if t.activation and t.activation.startswith("grad "):
            pieces.append(f"Hess {t.activation[5:]}")
        elif t.activation:
            pieces.append(diag_text(t.activation))
        right = t.right.identity_multiple()
        if right is None:
            pieces.append(paren(t.right.text()))
        elif right != 1 or not pieces:
            scalar = right * (left if left is not None else 1)
            prefix = coeff_text(scalar) if left is not None else prefix
            if not pieces:
                pieces.append("I")
        parts.append(prefix + " ".join(pieces))
    text = " + ".join(parts) if parts else "0"
    return text.replace("+ -", "- ")


def paren(text: str) -> str:
    return f"({text})" if (" + " in text or " - " in text) else text


def with_shift(text: str, shift) -> str:
    if shift == 0:
        return text
    negative = shift.could_extract_minus_sign()
    magnitude = -shift if negative else shift
    return f"{text} {'-' if negative else '+'} {expr_text(magnitude)}*I"


def coeff_text(k) -> str:
    if k == 1:
        return ""
    if k == -1:
        return "-"
    return f"{expr_text(k)}*" if not k.is_Add else f"({expr_text(k)})*"


def eigenvalues_text(eigen) -> str:
    """Eigenvalues as re +- i*im with factored parts, conjugate pairs merged."""
    shown, seen = [], set()
    for e in eigen:
        re, im = sympy.factor(sympy.re(e)), sympy.factor(sympy.im(e))
        if im == 0:
            key = (re, 0)
            if key not in seen:
                seen.add(key)
                shown.append(expr_text(re))
            continue
        magnitude = -im if im.could_extract_minus_sign() else im
        key = (re, magnitude)
        if key in seen:
            continue
        seen.add(key)
        conjugate = any(sympy.expand(sympy.conjugate(e) - o) == 0 for o in eigen)
        sign = "+-" if conjugate else ("-" if im.could_extract_minus_sign() else "+")
        head = "" if re == 0 else expr_text(re) + " "
        body = f"({expr_text(magnitude)})" if magnitude.is_Add else expr_text(magnitude)
        shown.append(f"{head}{sign} i" + ("" if magnitude == 1 else f"*{body}"))
    return ", ".join(shown)


def nonpositive_text(r) -> str:
    """The condition r <= 0, with a negative numeric factor moved across: theta1 + theta2 >= 0."""
    coeff, rest = sympy.factor(r).as_coeff_Mul()
    if coeff.is_negative:
        return f"{expr_text(rest)} >= 0"
    return f"{expr_text(r)} <= 0"


def matrix_text(m) -> str:
    rows = ", ".join("[" + ", ".join(expr_text(m[i, j]) for j in range(m.shape[1])) + "]"
                     for i in range(m.shape[0]))
    return f"[{rows}]"
