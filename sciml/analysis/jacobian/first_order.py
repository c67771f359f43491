"""The forms of one first-order equation dt(Y) = f(Y), from the terms of its Jacobian:

    linear                  J = c*I
    antisymmetric           J = diag(sigma') A,  A = -A^T          (seed 000: K - K^T)
    antisymmetric, damped   J = diag(sigma') (S - gamma I), S = -S^T
    parabolic               J = -R^T diag(sigma') R                 (seed 002)
    explicit                A a matrix literal or constant: its eigenvalues, computed
    general                 anything else
"""
from __future__ import annotations

import sympy

from sciml.analysis.jacobian.eigenvalues import eigenvalues
from sciml.analysis.jacobian.forms import (Structure, general, growing, max_slope, psd_form,
                                           sign_of)
from sciml.analysis.jacobian.matpoly import MatPoly
from sciml.analysis.jacobian.terms import Reader
from sciml.analysis.jacobian.texts import (coeff_text, diag_text, eigenvalues_text, lhs_text,
                                           matrix_text, nonpositive_text, paren, terms_text,
                                           with_shift)
from sciml.analysis.stability import DAMPED, EXPLICIT, IMAGINARY, NEGATIVE_REAL, Spectrum
from sciml.lowering.mathtext import expr_text


def first_order(reader: Reader, eq, shift, rest) -> Structure:
    if not rest:
        jac = with_shift("0", shift).replace("0 - ", "-").replace("0 + ", "")
        return _linear_shift(reader, eq, shift, jac)
    if len(rest) == 1:
        t = rest[0]
        c = max_slope(t.activation)
        d = diag_text(t.activation)
        k_left = t.left.identity_multiple()
        if k_left is not None:
            a = t.right.scale(k_left)
            return _layer(reader, eq, a, t.activation, c, d, shift)
        k = t.left.ratio_to(t.right.T)
        if k is not None and sign_of(k, reader) in (1, -1):
            jac = with_shift(f"{coeff_text(k)}{paren(t.right.T.text())} {d} {paren(t.right.text())}"
                             .replace("  ", " "), shift)
            if sign_of(k, reader) == 1:
                return growing(eq, jac, f"J = {jac} is symmetric positive semi-definite: "
                               "an anti-diffusion (the backward heat equation): perturbations grow",
                               "flip the sign: -K^T sigma(K Y + b) is the stable, parabolic form")
            radius = c * sympy.Abs(k) * reader.norm(t.right) ** 2
            return _parabolic(reader, eq, jac, radius, shift, t.right, t.activation)
        jac = with_shift(terms_text(rest), shift)
        return general(eq, "the weights are learned freely", jac) if not _explicit_ok(reader, t) \
            else _explicit(reader, eq, t.left @ t.right, None, sympy.S.One, shift, jac)
    forms = [psd_form(t) for t in rest]
    if all(f is not None and sign_of(f[0], reader) == -1 for f in forms):
        jac = with_shift(terms_text(rest), shift)
        radius = sum(max_slope(t.activation) * sympy.Abs(k) * reader.norm(r) ** 2
                     for t, (k, r) in zip(rest, forms))
        return _parabolic(reader, eq, jac, radius, shift, None, None)
    return general(eq, "a sum of layers", with_shift(terms_text(rest), shift))


def _explicit_ok(reader, t) -> bool:
    return t.activation is None and (t.left @ t.right).explicit(reader.values) is not None


def _linear_shift(reader, eq, shift, jac) -> Structure:
    sign = sign_of(shift, reader)
    if sign == 1:
        return growing(eq, jac, f"J = {jac}: every component grows like exp({expr_text(shift)} t)",
                       "make the coefficient negative")
    return Structure(
        form="linear", states=(eq.state,), order=1, span=eq.span,
        summary=f"{lhs_text(eq)}: linear: J = {jac}",
        meaning=f"every eigenvalue equals {expr_text(shift)}" + (" <= 0: decay" if sign in (0, -1) else ""),
        spectrum=Spectrum(NEGATIVE_REAL, radius=sympy.S.Zero, shift=shift), jacobian=jac,
        data={"eigenvalue": expr_text(shift)})


def _layer(reader, eq, a: MatPoly, activation, c, d, shift) -> Structure:
    """J = diag(sigma') A (+ shift I), A known."""
    lhs = lhs_text(eq)
    per_step = sorted(a.letters() & reader.per_step)
    symmetric = a + a.T
    if symmetric.is_zero:
        jac = with_shift(f"{d} {paren(a.text())}".strip(), shift)
        omega = c * reader.norm(a)
        sign = sign_of(shift, reader)
        if sign == 1:
            return growing(eq, jac, "the shift moves the imaginary eigenvalues to the right",
                           "use a negative damping term")
        if shift == 0:
            return Structure(
                form="antisymmetric", states=(eq.state,), order=1, span=eq.span,
                summary=f"{lhs}: antisymmetric: J = {jac} with {a.text()} antisymmetric",
                meaning=_similar(d) + "the eigenvalues of J are imaginary: seed 000's condition "
                "max Re(lambda) <= 0 holds with equality: forward propagation neither grows nor "
                "decays (for weights that change slowly in time)",
                spectrum=Spectrum(IMAGINARY, radius=omega), jacobian=jac, hint=a.text(),
                weights=tuple(per_step), data={"antisymmetric": a.text()})
        return _damped(reader, eq, jac, a, -shift, Spectrum(IMAGINARY, radius=omega, shift=shift),
                       per_step, outside=True)
    k = symmetric.identity_multiple()
    if k is not None:
        s = a - MatPoly.identity(a.rows, k / 2)
        gamma = sympy.expand(-k / 2)
        if activation is None:
            total = sympy.expand(k / 2 + shift)
            jac = with_shift(paren(a.text()), shift)
            return _damped(reader, eq, jac, s, -total, Spectrum(IMAGINARY, radius=reader.norm(s),
                                                                shift=total), per_step, outside=True)
        if shift != 0:
            return general(eq, "damping both inside and outside sigma", with_shift(f"{d} ({a.text()})", shift))
        jac = f"{d} ({a.text()})"
        spectrum = Spectrum(DAMPED, radius=reader.norm(s), damping=gamma, slope=c)
        return _damped(reader, eq, jac, s, gamma, spectrum, per_step, outside=False)
    value = a.explicit(reader.values)
    if value is not None:
        return _explicit(reader, eq, a, activation, c, shift, with_shift(f"{d} {paren(a.text())}".strip(), shift))
    jac = with_shift(f"{d} {paren(a.text())}".strip(), shift)
    return general(eq, f"{a.text()} is learned freely", jac)


def _similar(d) -> str:
    if not d:
        return ""
    return "diag(sigma') A is similar to D^(1/2) A D^(1/2), antisymmetric, so "


def _damped(reader, eq, jac, s: MatPoly, gamma, spectrum, per_step, outside: bool) -> Structure:
    lhs = lhs_text(eq)
    sign = sign_of(gamma, reader)
    gamma_text = expr_text(gamma)
    if sign == -1:
        return growing(eq, jac, f"the damping {gamma_text} is negative: the eigenvalues have "
                       "positive real part", "make the damping positive")
    value = sympy.sympify(gamma).xreplace(reader.scalar_values)
    known = f" = {expr_text(value)}" if value.is_number and value != gamma else ""
    where = "Re(lambda) = -" + (f"{gamma_text}" if outside else f"sigma'*{paren(gamma_text)}")
    return Structure(
        form="antisymmetric_damped", states=(eq.state,), order=1, span=eq.span,
        summary=f"{lhs}: antisymmetric with damping {gamma_text}{known}: J = {jac}",
        meaning=f"{s.text()} has imaginary eigenvalues and the damping moves them to {where} <= 0: "
        "seed 000's condition max Re(lambda) <= 0 holds, forward propagation is stable"
        + ("" if sign == 1 else f" when {gamma_text} >= 0"),
        spectrum=spectrum, jacobian=jac, hint=s.text(), weights=tuple(per_step),
        data={"antisymmetric": s.text(), "damping": gamma_text})


def _parabolic(reader, eq, jac, radius, shift, r: MatPoly | None, activation) -> Structure:
    lhs = lhs_text(eq)
    sign = sign_of(shift, reader)
    if sign == 1:
        return growing(eq, jac, "the shift makes eigenvalues positive", "use a negative shift")
    r_text = r.text() if r is not None else ""
    bound = expr_text(radius)
    return Structure(
        form="parabolic", states=(eq.state,), order=1, span=eq.span,
        summary=f"{lhs}: parabolic: J = {jac} is symmetric negative semi-definite",
        meaning=f"its eigenvalues are real, in [-{paren(bound)}, 0]" + (f" shifted by {expr_text(shift)}" if shift != 0 else "")
        + "; seed 002's theorem (sigma monotone): |Y(T) - Y'(T)| <= M |Y(0) - Y'(0)| for any two "
        "inputs, with M independent of T",
        spectrum=Spectrum(NEGATIVE_REAL, radius=radius, shift=shift), jacobian=jac, hint=r_text,
        weights=tuple(sorted((r.letters() if r else set()) & reader.per_step)),
        data={"factor": r_text})


def _explicit(reader, eq, a: MatPoly, activation, c, shift, jac) -> Structure:
    """J = diag(sigma') A with A's value known (a literal or constants): its eigenvalues."""
    value = a.explicit(reader.values)
    lhs = lhs_text(eq)
    eigen = eigenvalues(value)
    if eigen is None:
        return general(eq, f"{a.text()} is too large for symbolic eigenvalues", jac)
    eigen = tuple(sympy.expand(e + shift) if activation is None else e for e in eigen)
    if activation is not None and shift != 0:
        return general(eq, "a layer and a shift", jac)
    literal = "; ".join(f"{n} = {matrix_text(reader.literals[n])}" for n in sorted(a.letters())
                        if n in reader.literals)
    real_parts = list(dict.fromkeys(sympy.factor(sympy.re(e)) for e in eigen))
    shown = eigenvalues_text(eigen)
    worst = [r for r in real_parts if r != 0]
    signs = [sign_of(r, reader) for r in worst]
    if any(s == 1 for s in signs):
        return growing(eq, jac, f"an eigenvalue of {a.text()} has positive real part ({shown})",
                       "choose weights with max Re(lambda) <= 0")
    if all(s in (0, -1) for s in signs):
        condition = "holds"
    else:
        condition = "holds when " + " and ".join(nonpositive_text(r) for r, s in zip(worst, signs)
                                                 if s is None)
    scale = "" if activation is None else f", times sigma' in [0, {expr_text(c)}]"
    return Structure(
        form="explicit", states=(eq.state,), order=1, span=eq.span,
        summary=f"{lhs}: J = {jac}" + (f" with {literal}" if literal else ""),
        meaning=f"the eigenvalues of {a.text()} are {shown}{scale}: seed 000's condition "
        f"max Re(lambda) <= 0 {condition}",
        spectrum=Spectrum(EXPLICIT, eigenvalues=eigen, slope=c if activation else sympy.S.One),
        jacobian=jac, data={"eigenvalues": shown})
