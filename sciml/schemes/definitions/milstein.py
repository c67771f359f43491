"""Milstein: Euler-Maruyama plus 1/2 g g' (dW^2 - h), strong order 1 for diagonal noise.

g' is the derivative of each diffusion entry in its own state entry, derived by sympy from the
spec's sde (non-commutative noise is refused)."""
from __future__ import annotations

from sciml.schemes.algebra import Stage, State, h, t
from sciml.schemes.definition import (FLAG, STEPS, STOCHASTIC_SYSTEM, Option, SchemeDefinition,
                                      grid_options)

y = State("y")

MILSTEIN = SchemeDefinition(
    name="milstein",
    title="Milstein",
    short="Milstein",
    latex="Milstein",
    options=grid_options() + (Option("paths", STEPS, default=1), Option("ito", FLAG, default=True)),
    order=1,
    strong_order=1,
    forms=(STOCHASTIC_SYSTEM,),
    example="milstein(steps = 50, T = 1.0, paths = 1000)",
    carried=(y[0],),
    step=(Stage(y[1], y[0] + h * y.rate(t, y[0]) + y.noise(t, y[0]) + y.noise_correction(t, y[0])),),
    stochastic=True,
)
