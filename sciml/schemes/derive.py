"""A scheme's stages evaluated on linear test equations, with sympy: its stability function R(z)
(y' = lambda y), its amplification matrix (the map from the carried values of step j to those
of step j + 1), and a stochastic scheme's mean-square amplification on dX = a X dt + b X dW.
The stability analysis (sciml/analysis/stability.py, sde_stability.py) reads these.
"""
from __future__ import annotations

from functools import lru_cache

import sympy

from sciml.schemes.algebra import (Identity, InitialRate, LinearSolve, MatrixOption, Noise, NoiseCorrection, Rate,
                                   Value, h)
from sciml.schemes.definition import FIRST_ORDER, STOCHASTIC_SYSTEM, SchemeDefinition

z = sympy.Symbol("z")
# the stochastic test equation dX = a X dt + b X dW, and the step's Brownian increment dW ~ N(0, h)
a, b = sympy.Symbol("a", real=True), sympy.Symbol("b", real=True)
dW = sympy.Symbol("dW", real=True)


def run(stages, known: dict, rates: dict, matrices: dict | None = None, noises: dict | None = None,
        corrections: dict | None = None) -> dict:
    """The values the stages compute, in order: `known` maps the Values (and auxiliaries) the
    first stage reads to expressions; `rates[role](v)` is the right side of role's equation at v;
    the scheme's matrices are replaced by scalars (`matrices`, the identity by 1); a stochastic
    scheme's noise slot is `noises[role](v)` (g(v) dW) and its correction `corrections[role](v)`
    (1/2 g g'(v) (dW^2 - h))."""
    env = dict(known)
    scalars = dict(matrices or {})
    slots = {Noise: dict(noises or {}), NoiseCorrection: dict(corrections or {})}

    def evaluate(expr):
        if isinstance(expr, (Value, InitialRate)) or expr in env:
            if expr not in env:
                raise KeyError(f"the stage reads {expr}, which no earlier stage computes")
            return env[expr]
        if isinstance(expr, Rate):
            return rates[expr.role](evaluate(expr.args[2]))
        if isinstance(expr, (Noise, NoiseCorrection)):
            return slots[type(expr)][expr.role](evaluate(expr.args[2]))
        if isinstance(expr, LinearSolve):
            return evaluate(expr.args[1]) / evaluate(expr.args[0])
        if isinstance(expr, Identity):
            return sympy.S.One
        if isinstance(expr, MatrixOption):
            return scalars[expr.name]
        if not expr.args:
            return expr
        return expr.func(*(evaluate(a) for a in expr.args))

    for stage in stages:
        env[stage.target] = sympy.cancel(evaluate(stage.value))
    return env


@lru_cache(maxsize=None)
def stability_function(definition: SchemeDefinition, **matrices) -> sympy.Expr:
    """R(z) with y_{j+1} = R(h lambda) y_j when the scheme's step is applied to y' = lambda y
    (a first-order scheme); `matrices` replace the scheme's matrix options by scalars (an
    eigenvalue of L)."""
    if FIRST_ORDER not in definition.forms:
        raise ValueError(f"{definition.name} does not integrate y' = lambda y")
    lam = sympy.Symbol("lambda")
    (start,) = definition.carried
    env = run(definition.step, {start: sympy.S.One}, {start.role: lambda v: lam * v}, matrices)
    (end,) = definition.returned
    return sympy.cancel(env[end].subs(lam, z / h))


@lru_cache(maxsize=None)
def amplification_matrix(definition: SchemeDefinition, rates: tuple) -> sympy.Matrix:
    """The matrix A with (carried values at j + 1) = A (carried values at j), for the linear right
    sides `rates`: ((role, coefficient), ...), role's right side coefficient * its argument."""
    symbols = [sympy.Symbol(f"c{i}") for i in range(len(definition.carried))]
    known = dict(zip(definition.carried, symbols))
    coefficient = dict(rates)
    env = run(definition.step, known, {role: (lambda c: lambda v: c * v)(c) for role, c in coefficient.items()})
    rows = [[sympy.expand(env[out]).coeff(s) for s in symbols] for out in definition.returned]
    return sympy.Matrix(rows)


@lru_cache(maxsize=None)
def mean_square_factor(definition: SchemeDefinition, ito: bool = True) -> sympy.Expr:
    """E|X_{j+1}|^2 / E|X_j|^2 when the step is applied to the linear SDE dX = a X dt + b X dW
    (`a`, `b` above; a polynomial in h, a and b): the stage formula with g(v) = b v, its
    derivative g' = b by sympy, averaged over dW ~ N(0, h) (E dW^k = 0 for k odd, (k-1)!! h^(k/2)
    for k even).  The step is mean-square stable where the factor is below 1.  With `ito` false
    the SDE is Stratonovich and the step integrates its Ito form, drift f + 1/2 g g'."""
    if STOCHASTIC_SYSTEM not in definition.forms:
        raise ValueError(f"{definition.name} does not integrate dX = f dt + g dW")
    v = sympy.Dummy("v")
    g = b * v
    g_prime = sympy.diff(g, v)
    drift = a * v + (0 if ito else g * g_prime / 2)
    at = lambda expr: (lambda value: expr.subs(v, value))
    (start,) = definition.carried
    env = run(definition.step, {start: sympy.S.One}, {start.role: at(drift)},
              noises={start.role: at(g * dW)},
              corrections={start.role: at(g * g_prime * (dW**2 - h) / 2)})
    (end,) = definition.returned
    return gaussian_mean(sympy.expand(env[end] ** 2), dW, h)


def gaussian_mean(polynomial: sympy.Expr, w: sympy.Symbol, variance: sympy.Expr) -> sympy.Expr:
    """E p(w) for w ~ N(0, variance), p a polynomial in w: E w^(2k) = (2k - 1)!! variance^k."""
    p = sympy.Poly(polynomial, w)
    return sympy.expand(sum(c * sympy.factorial2(k - 1) * variance ** (k // 2)
                            for (k,), c in p.terms() if k % 2 == 0))
