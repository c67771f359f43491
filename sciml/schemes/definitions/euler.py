"""Forward Euler: y_{j+1} = y_j + h f(t_j, y_j)."""
from __future__ import annotations

import sympy

from sciml.schemes.algebra import Stage, State, h, t
from sciml.schemes.definition import FIRST_ORDER, Region, SchemeDefinition, grid_options

y = State("y")

EULER = SchemeDefinition(
    name="euler",
    title="forward Euler",
    short="forward Euler",
    latex="forward Euler",
    options=grid_options(),
    order=1,
    forms=(FIRST_ORDER,),
    example="euler(steps = 20, T = 1.0)",
    carried=(y[0],),
    step=(Stage(y[1], y[0] + h * y.rate(t, y[0])),),
    # R(z) = 1 + z: the disc |1 + z| <= 1, which meets the imaginary axis only at 0
    stability=Region(real_limit=sympy.Integer(2), imaginary_limit=sympy.S.Zero, half_disc=sympy.S.Zero),
)
