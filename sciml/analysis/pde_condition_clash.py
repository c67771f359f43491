"""Two conditions of a field on the same face with the same left side (A508, E271).

`boundary u(0, t) = 0, u(0, t) = 0` repeats a condition: fit(boundary) fits it twice, which
doubles its weight (a warning, A508).  `u(0, t) = 0` beside `u(0, t) = 1` contradicts it: no
field satisfies both, and the fit settles between them (an error, E271).  It is proved where the
difference of the two values, constants evaluated, is nonzero at a point of the face; where the
values read a learned parameter or data it is not known at compile time (a warning, A508).  Two
periodic pairs of one coordinate repeat each other.  Conditions with different left sides on one
face (u and d(u, x) at x = 0) are counted against the order by `pde_conditions.py` (A506).  On a
grid, lowering refuses a second condition at an end node (E304).
"""
from __future__ import annotations

import sympy

from sciml.analysis import pde_faces
from sciml.analysis import pde_fields as P
from sciml.analysis.found import Found, Options
from sciml.frontend.diagnostics import finding
from sciml.lowering import ir

# where on a face the two values are compared: fractions of each free coordinate's interval
# (irrational, so that sin(pi * x) and 0 are not compared only where they agree)
FRACTIONS = (0.5 ** 0.5, 0.5 * (5 ** 0.5 - 1), 0.5 * (3 - 5 ** 0.5))


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    """A508 for a repeated condition (or one that may contradict), E271 for a contradiction."""
    if model.kind != "pinn":
        return Found()
    out, seen = [], []
    for condition in model.conditions:
        first = next((c for c in seen if pde_faces.same_condition(c, condition)), None)
        if first is not None:
            out.append(_judge(model, first, condition))
        seen.append(condition)
    return Found(tuple(out))


def _judge(model, first: ir.Condition, second: ir.Condition):
    text = pde_faces.condition_text(model, second)
    same_line = first.span.line == second.span.line
    where = f"line {first.span.line}" + (f", column {first.span.column}" if same_line else "")
    data = dict(field=second.target, face=second.face, first_line=first.span.line)
    if second.kind == "periodic":
        return finding("A508", "warning", f"the periodic pair {text} = ... repeats the one of {where}: "
                       f"fit({second.section}) fits it twice, doubling its weight", second.span,
                       "remove one (or give one line weight = 2)", **data)
    difference = _difference(model, first, second)
    values = f"{text} = {P.pde_text(second.value)} and {text} = {P.pde_text(first.value)} ({where})"
    if difference is None:
        return finding("A508", "warning", f"{values} may contradict each other: their values read "
                       "what is not known at compile time (a learned parameter or data)", second.span,
                       "keep one of them: the fit settles between two values that differ", **data)
    if difference:
        point, gap = difference
        return finding("E271", "error", f"{values} contradict each other: they differ by {gap:.3g} "
                       f"at {point}, so no {second.target} satisfies both", second.span,
                       "keep one of them: the fit would settle between the two values",
                       difference=gap, **data)
    return finding("A508", "warning", f"{text} = {P.pde_text(second.value)} repeats the condition "
                   f"of {where}: fit({second.section}) fits it twice, doubling its weight", second.span,
                   "remove one (or give one line weight = 2)", **data)


def _difference(model, first, second):
    """() where the two values agree on the face, (point text, gap) where they differ, None
    where they read what is not known."""
    constants, _ = P.known_values(model)
    difference = sympy.sympify(second.value - first.value).subs(constants)
    if sympy.expand(difference) == 0:
        return ()
    fixed = dict(second.fixed)
    free = [c for c in model.domain if c.name not in fixed]
    if not difference.free_symbols <= {sympy.Symbol(c.name) for c in free}:
        return None
    scale = max(1.0, *(abs(complex(sympy.N(v.subs(constants).subs(
        {sympy.Symbol(c.name): c.lower for c in free})))) for v in (first.value, second.value)))
    for fraction in FRACTIONS:
        at = {sympy.Symbol(c.name): c.lower + fraction * (c.upper - c.lower) for c in free}
        gap = abs(complex(sympy.N(difference.subs(at))))
        if gap > 1e-9 * scale:
            names = {**{c.name: f"{v:.4g}" for c, v in zip(free, at.values())},
                     **{name: f"{value:g}" for name, value in fixed.items()}}
            point = ", ".join(f"{c.name} = {names[c.name]}" for c in model.domain)
            return point, gap
    return ()
