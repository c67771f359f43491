"""Leapfrog for one second-order equation dt(dt(y)) = f(t, y): the two-step recursion
y_{j+1} = 2 y_j - y_{j-1} + h^2 f(t_j, y_j), started by a Taylor step from y(0) and dt(y)(0)."""
from __future__ import annotations

import sympy

from sciml.schemes.algebra import Stage, State, h, t
from sciml.schemes.definition import SECOND_ORDER, Region, SchemeDefinition, grid_options

y = State("y")

LEAPFROG = SchemeDefinition(
    name="leapfrog",
    title="leapfrog (reversible)",
    short="leapfrog",
    latex="leapfrog (reversible)",
    options=grid_options(),
    order=2,
    forms=(SECOND_ORDER,),
    example="leapfrog(steps = 20, T = 1.0)",
    carried=(y[-1], y[0]),
    start=(Stage(y[1], y[0] + h * y.initial_rate() + h**2 / 2 * y.rate(t, y[0])),),
    start_steps=1,
    step=(Stage(y[1], 2 * y[0] - y[-1] + h**2 * y.rate(t, y[0])),),
    inverse=(Stage(y[-1], 2 * y[0] - y[1] + h**2 * y.rate(t, y[0])),),
    reversible=True,
    reversible_reason="the two-step recursion run backwards",
    stability=Region(oscillation_limit=sympy.Integer(2)),
)
