"""A structure: the form a right side's Jacobian was matched to, and where its eigenvalues lie.

`Structure` is what the structure pass finds for one equation (or a pair); its `spectrum` (a
`stability.Spectrum`) is what the stability verdict judges the scheme on.  `FORMS` gives each
form its finding code.  Below: the forms every matcher can fall back to (unknown, general,
growing) and the small facts about terms that the matchers share (signs, slopes, shifts).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy

from sciml.analysis.jacobian.matpoly import MatPoly
from sciml.analysis.jacobian.terms import MAX_SLOPE, Reader, Term
from sciml.analysis.jacobian.texts import lhs_text
from sciml.analysis.stability import GROWING, OPAQUE, Spectrum
from sciml.frontend.diagnostics import Span


@dataclass(frozen=True)
class Structure:
    form: str                # see FORMS
    states: tuple            # the equations' states
    order: int               # 1, or 2 for d2Y/dt2
    span: Span
    summary: str             # the finding: what the form is
    meaning: str             # what it implies (the help line)
    spectrum: Spectrum
    jacobian: str = ""
    severity: str = "note"
    hint: str = ""           # the matrix a damping -gamma*I would join, for advice
    weights: tuple = ()      # names of the weights the spectrum's radius depends on
    data: dict = field(default_factory=dict)
    norms: tuple = ()        # (norm2 symbol, MatPoly) for every norm the spectrum reads
    literals: tuple = ()     # (letter, value) of the matrix literals those MatPolys name


FORMS = {
    "antisymmetric": "A101", "antisymmetric_damped": "A102", "parabolic": "A103",
    "hamiltonian": "A104", "canonical_hamiltonian": "A104", "second_order": "A105",
    "general": "A106", "explicit": "A107", "unknown": "A108", "growing": "A109",
    "linear": "A107",
}


def unknown(eq, reason: str, order: int = 1) -> Structure:
    return Structure(
        form="unknown", states=(eq.state,), order=order, span=eq.span,
        summary=f"{lhs_text(eq)}: structure unknown: {reason}",
        meaning="the Jacobian is not known to the compiler, so there is no stability verdict",
        spectrum=Spectrum(OPAQUE, reason=f"the structure of {lhs_text(eq)} is unknown ({reason})"),
        data={"reason": reason})


def general(eq, reason, jacobian) -> Structure:
    return Structure(
        form="general", states=(eq.state,), order=eq.order, span=eq.span,
        summary=f"{lhs_text(eq)}: no structure: J = {jacobian}",
        meaning=f"{reason}: seed 000's condition max Re(lambda(J)) <= 0 is not implied by the spec",
        spectrum=Spectrum(OPAQUE, reason="the spectrum of J is not constrained by the spec"),
        jacobian=jacobian, data={"reason": reason})


def growing(eq, jac, why, fix) -> Structure:
    return Structure(
        form="growing", states=(eq.state,), order=eq.order, span=eq.span, severity="warning",
        summary=f"{lhs_text(eq)}: the continuous model is unstable: {why}",
        meaning=f"seed 000's condition max Re(lambda(J)) <= 0 fails; {fix}",
        spectrum=Spectrum(GROWING), jacobian=jac)


def split_shift(terms):
    """(shift, rest): linear terms that are multiples of I add a shift to every eigenvalue."""
    shift, rest = sympy.S.Zero, []
    for t in terms:
        if t.left.is_zero or t.right.is_zero:       # K - K, say: no dependence after all
            continue
        if t.activation is None:
            product = t.left @ t.right
            k = product.identity_multiple()
            if k is not None:
                shift += k
                continue
            rest.append(Term(MatPoly.identity(product.rows), None, product))
        else:
            rest.append(t)
    return sympy.expand(shift), rest


def max_slope(activation):
    return MAX_SLOPE.get(activation, sympy.S.One) if activation else sympy.S.One


def psd_form(t: Term):
    """(k, R) when t is k * R^T diag(sigma') R (a multiple of a positive semi-definite matrix,
    since sigma' >= 0), else None."""
    if t.activation is not None and (t.activation not in MAX_SLOPE):
        return None
    k = t.left.ratio_to(t.right.T)
    if k is None and t.activation is None:
        # a linear term c*M: M = M^T alone says nothing about the sign; only c*I counts
        k = t.right.identity_multiple()
        return (k, MatPoly.identity(t.right.rows)) if k is not None and k != 0 else None
    return (k, t.right) if k is not None else None


def sign_of(expr, reader: Reader) -> int | None:
    value = sympy.sympify(expr).xreplace(reader.scalar_values)
    if value.is_zero:
        return 0
    if value.is_positive:
        return 1
    if value.is_negative:
        return -1
    return None
