"""The classical Runge-Kutta method of order 4."""
from __future__ import annotations

import sympy

from sciml.schemes.algebra import Auxiliary, Stage, State, h, t
from sciml.schemes.definition import FIRST_ORDER, Region, SchemeDefinition, grid_options

y = State("y")
k1, k2, k3, k4 = (Auxiliary(f"k{i}") for i in range(1, 5))

RK4 = SchemeDefinition(
    name="rk4",
    title="classical Runge-Kutta (RK4)",
    short="RK4",
    latex="classical Runge--Kutta (RK4)",
    options=grid_options(),
    order=4,
    forms=(FIRST_ORDER,),
    example="rk4(steps = 20, T = 1.0)",
    carried=(y[0],),
    step=(Stage(k1, y.rate(t, y[0])),
          Stage(k2, y.rate(t + h / 2, y[0] + h / 2 * k1)),
          Stage(k3, y.rate(t + h / 2, y[0] + h / 2 * k2)),
          Stage(k4, y.rate(t + h, y[0] + h * k3)),
          Stage(y[1], y[0] + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4))),
    # R(z) = 1 + z + z^2/2 + z^3/6 + z^4/24.  The half-disc radius 2.6156... is rounded down to
    # 2.6 (tests/test_analysis_stability.py checks the region on a fine polar grid)
    stability=Region(real_limit=sympy.Float("2.785293563405282"), imaginary_limit=2 * sympy.sqrt(2),
                     half_disc=sympy.Rational(26, 10)),
)
