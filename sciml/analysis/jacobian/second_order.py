"""The form of one second-order equation d2Y/dt2 = F(Y) with dF/dY = -R^T diag(sigma') R
(seed 002): oscillations, conservative and reversible like the wave equation."""
from __future__ import annotations

import sympy

from sciml.analysis.jacobian.forms import Structure, general, growing, max_slope, psd_form, sign_of
from sciml.analysis.jacobian.texts import lhs_text, terms_text, with_shift
from sciml.analysis.stability import OSCILLATION, Spectrum
from sciml.lowering.mathtext import expr_text


def second_order(reader, eq, shift, rest) -> Structure:
    if not rest:
        sign = sign_of(shift, reader)
        jac = with_shift("0", shift).replace("0 - ", "-").replace("0 + ", "")
        if sign == 1:
            return growing(eq, jac, f"d2{eq.state}/dt2 = {expr_text(shift)} {eq.state} grows "
                           "exponentially", "make the coefficient negative")
        omega = sympy.sqrt(-shift)
        return _oscillation(eq, f"dF/d{eq.state} = {jac}", omega, (), reader)
    forms = [psd_form(t) for t in rest]
    if all(f is not None for f in forms):
        signs = {sign_of(k, reader) for k, _ in forms}
        if signs == {-1} and sign_of(shift, reader) in (0, -1):
            jac = with_shift(terms_text(rest), shift)
            omega2 = sum(max_slope(t.activation) * sympy.Abs(k) * reader.norm(r) ** 2
                         for t, (k, r) in zip(rest, forms)) - shift
            letters = set().union(*(r.letters() for _, r in forms)) & reader.per_step
            return _oscillation(eq, f"dF/d{eq.state} = {jac} symmetric negative semi-definite",
                                sympy.sqrt(omega2), tuple(sorted(letters)), reader)
        if signs == {1}:
            jac = with_shift(terms_text(rest), shift)
            return growing(eq, jac, f"dF/d{eq.state} = {jac} is positive semi-definite: "
                           "exponential growth", "flip the sign: -K^T sigma(K Y + b)")
    return general(eq, "the weights are learned freely", with_shift(terms_text(rest), shift))


def _oscillation(eq, what, omega, per_step, reader) -> Structure:
    return Structure(
        form="second_order", states=(eq.state,), order=2, span=eq.span,
        summary=f"{lhs_text(eq)}: second-order (hyperbolic) form: d2{eq.state}/dt2 = F({eq.state}), {what}",
        meaning=f"oscillations with frequencies up to {expr_text(omega)}: conservative and "
        "reversible, like the wave equation (seed 002)",
        spectrum=Spectrum(OSCILLATION, radius=omega), weights=per_step,
        data={"frequency": expr_text(omega)})
