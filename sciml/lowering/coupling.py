"""The maths of a coupling layer, with sympy (seed 000; Dinh et al., NICE and RealNVP).

A coupling line updates one half of the input from the other:

    x2 <- x2 * a(x1) + b(x1)

Its Jacobian is block triangular, [[I, 0], [db/dx1 + x2 da/dx1, diag(a(x1))]], so
log|det| = sum log|a(x1)|, and it is inverted in closed form: x2 = (y2 - b(y1)) / a(y1), since
y1 = x1.  `affine_split` proves that a right side has this form (elementwise affine in its
target, the rest reading only the other half) and returns a, b, log|a| and the inverse; anything
else is refused with the reason, since its inverse or log-det would need an iterative solve.
Networks are opaque: a NetCall is replaced by a real symbol while sympy reasons about signs and
logarithms, and put back afterwards.  What the analysis says about a flow (A110-A112) is
`sciml/analysis/flows.py`'s.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from sciml.lowering import symbols as S
from sciml.lowering.mathtext import expr_text


class NotCoupling(Exception):
    """The line is not an invertible affine coupling (the reason)."""


@dataclass(frozen=True)
class AffineCoupling:
    scale: sympy.Basic
    shift: sympy.Basic
    log_scale: sympy.Basic
    inverse: sympy.Basic


def affine_split(rhs: sympy.Basic, target: sympy.Symbol, other: sympy.Symbol,
                 index: str = "j") -> AffineCoupling:
    """scale, shift, log|scale| and the inverse of `target <- rhs`; raises NotCoupling."""
    if target not in rhs.free_symbols:
        raise NotCoupling(f"the new {target} does not depend on {target}, so the layer cannot be "
                          "inverted")
    if any(target in op.free_symbols for op in rhs.atoms(S.ArrayOp)):
        raise NotCoupling(f"{target} enters a network or an array operation; scale and shift "
                              f"may read only the other half, {other}")
    opaque = {call: sympy.Dummy(f"n{k}", real=True)
              for k, call in enumerate(sorted(rhs.atoms(S.NetCall), key=sympy.default_sort_key))}
    restore = {d: call for call, d in opaque.items()}
    plain = rhs.xreplace(opaque)
    scale = sympy.diff(plain, target)
    if target in scale.free_symbols or scale.has(sympy.Derivative):
        raise NotCoupling(f"the new {target} is not affine in {target} (x2 * a(x1) + b(x1)), so "
                          "the layer has no closed-form inverse")
    shift = plain.xreplace({target: sympy.S.Zero})
    others = scale.free_symbols - {other} - set(restore)
    if others:
        raise NotCoupling(f"the scale reads {', '.join(sorted(map(str, others)))}; a scale reads only "
                          f"the other half, {other}, through networks, and numbers (a learned "
                          "scale is a network's output)")
    sign = _sign(scale.xreplace({other: sympy.Dummy(other.name, real=True)}))
    if sign is None:
        shown = expr_text(with_index(scale.xreplace(restore), index))
        raise NotCoupling(f"the scale {shown} may be zero, and the layer is invertible only where "
                          f"it is not; write exp(s({index}, {other})) for a scale that is positive "
                          "for every weight")
    log_scale = sympy.expand_log(sympy.log(sign * scale), force=True)
    inverse = (target - shift) / scale
    return AffineCoupling(scale=scale.xreplace(restore), shift=shift.xreplace(restore),
                          log_scale=log_scale.xreplace(restore), inverse=inverse.xreplace(restore))


def _sign(expr: sympy.Basic) -> int | None:
    """1 or -1 when expr is positive or negative for every value of its (real) symbols."""
    if expr.is_positive:
        return 1
    if expr.is_negative:
        return -1
    return None


def with_index(expr, index):
    """NetCall(s, x1) printed as the spec writes it inside a flow: s(j, x1)."""
    return expr.replace(lambda e: isinstance(e, S.NetCall),
                        lambda e: S.NetCall(e.args[0], sympy.Symbol(index), *e.args[1:]))
