"""Step-size bounds as numbers: the bound in the spec's notation, the fewest steps that keep it,
and the weight norm up to which a bound on learned weights holds."""
from __future__ import annotations

import math

import sympy

from sciml.lowering.mathtext import expr_text


def bound_as_text(bound) -> str:
    """A bound in the spec's notation; Piecewise((b, c), (oo, True)) (IMEX with lambda_min(L) > 0)
    reads `b (every h where not c)`."""
    if isinstance(bound, sympy.Piecewise) and len(bound.args) == 2 and bound.args[1] == (sympy.oo, True):
        (expr, condition), _ = bound.args
        return f"{expr_text(expr)} (every h where {expr_text(condition.negated)})"
    return expr_text(bound)


def steps_needed(t_end: float, limit: float, strict: bool) -> int:
    """The fewest steps with h = t_end/steps <= limit (< limit when strict)."""
    steps = max(1, math.ceil(t_end / limit - 1e-12))
    while (t_end / steps >= limit) if strict else (t_end / steps > limit * (1 + 1e-12)):
        steps += 1
    return steps


def weight_limit(bound, h: float, strict: bool):
    """(quantity, limit) with h <= bound  <=>  quantity <= limit, for a bound that depends on
    the weights only through a product of norms (norm2(K) <= 5.657); limit None when no weights
    satisfy it, inf when all do.  Every bound here decreases as the weights grow, so the limit
    is found by bracketing and bisection on the numbers (a symbolic solve costs ~0.2 s)."""
    norms = sorted((s for s in bound.free_symbols if s.name.startswith(("norm2(", "lambda_max("))),
                   key=lambda s: s.name)
    if not norms or bound.free_symbols - set(norms):
        return None
    w = sympy.Dummy("w", positive=True)
    reduced = bound.xreplace({norms[0]: w / sympy.Mul(*norms[1:])})
    if len(norms) > 1:
        reduced = sympy.cancel(reduced)
    if reduced.free_symbols - {w}:
        return None
    f = sympy.lambdify(w, reduced, "math")
    quantity = expr_text(sympy.Mul(*norms))
    try:
        return quantity, bisect(f, h)
    except (OverflowError, ZeroDivisionError):   # gamma = 2^1023: gamma^2 is beyond float64
        pass
    import mpmath   # no exponent range: the same bisection on arbitrary-range floats
    g = sympy.lambdify(w, reduced, "mpmath")
    try:
        return quantity, bisect(lambda x: g(mpmath.mpf(x)), h)
    except (OverflowError, ZeroDivisionError, ValueError, TypeError):
        return None


def bisect(f, h: float):
    """The largest w with f(w) >= h for a decreasing f: None when none, inf when every w."""
    lo = 1e-12
    if f(lo) < h:
        return None
    hi = 1.0
    while f(hi) >= h:
        hi *= 2
        if hi > 1e12:
            return float("inf")
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) >= h else (lo, mid)
        if hi - lo <= 1e-14 * hi:
            break
    return float(f"{lo:.12g}")
