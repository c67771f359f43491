"""A scheme's stages evaluated on linear test equations, with sympy: its stability function R(z)
(y' = lambda y) and its amplification matrix (the map from the carried values of step j to those
of step j + 1).  The stability analysis (sciml/analysis/stability.py) reads its regions from these.
"""
from __future__ import annotations

from functools import lru_cache

import sympy

from sciml.schemes.algebra import Identity, InitialRate, LinearSolve, MatrixOption, Rate, Value, h
from sciml.schemes.definition import FIRST_ORDER, SchemeDefinition

z = sympy.Symbol("z")


def run(stages, known: dict, rates: dict, matrices: dict | None = None) -> dict:
    """The values the stages compute, in order: `known` maps the Values (and auxiliaries) the
    first stage reads to expressions; `rates[role](v)` is the right side of role's equation at v;
    the scheme's matrices are replaced by scalars (`matrices`, the identity by 1)."""
    env = dict(known)
    scalars = dict(matrices or {})

    def evaluate(expr):
        if isinstance(expr, (Value, InitialRate)) or expr in env:
            if expr not in env:
                raise KeyError(f"the stage reads {expr}, which no earlier stage computes")
            return env[expr]
        if isinstance(expr, Rate):
            return rates[expr.role](evaluate(expr.args[2]))
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
