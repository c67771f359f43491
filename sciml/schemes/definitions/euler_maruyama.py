"""Euler-Maruyama: y_{j+1} = y_j + h f(t_j, y_j) + g(t_j, y_j) dW_j, dW_j ~ N(0, h) per entry.

The first stochastic scheme: forward Euler's stage plus the noise slot (sciml/schemes/algebra.py).
Weak order 1, strong order 1/2; Ito (the default) or, with `ito = false`, Stratonovich, whose
drift correction 1/2 g g' the compiler derives."""
from __future__ import annotations

import sympy

from sciml.schemes.algebra import Stage, State, h, t
from sciml.schemes.definition import (FLAG, STEPS, STOCHASTIC_SYSTEM, Option, SchemeDefinition,
                                      grid_options)

y = State("y")

EULER_MARUYAMA = SchemeDefinition(
    name="euler_maruyama",
    title="Euler-Maruyama",
    short="Euler-Maruyama",
    latex="Euler--Maruyama",
    options=grid_options() + (Option("paths", STEPS, default=1), Option("ito", FLAG, default=True)),
    order=1,
    strong_order=sympy.Rational(1, 2),
    forms=(STOCHASTIC_SYSTEM,),
    example="euler_maruyama(steps = 50, T = 1.0, paths = 1000)",
    carried=(y[0],),
    step=(Stage(y[1], y[0] + h * y.rate(t, y[0]) + y.noise(t, y[0])),),
    stochastic=True,
)
