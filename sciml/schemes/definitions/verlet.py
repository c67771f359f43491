"""Störmer-Verlet for a separable pair dt(y) = f(t, z), dt(z) = g(t, y), in two forms:

* kick_drift_kick (the default): y and z at the grid times; each step is a half kick of z, a
  drift of y, a half kick of z:
      z_{j+1/2} = z_j + h/2 g(t_j, y_j)
      y_{j+1}   = y_j + h f(t_j + h/2, z_{j+1/2})
      z_{j+1}   = z_{j+1/2} + h/2 g(t_j + h, y_{j+1})
* staggered: seed 002's two-line step, z on the half steps (its Z_j is z_{j+1/2} here):
      y_{j+1}   = y_j + h f(t_j + h/2, z_{j+1/2})
      z_{j+3/2} = z_{j+1/2} + h g(t_j + h, y_{j+1})
  started by the half kick z_{1/2} = z_0 + h/2 g(t_0, y_0) and read at the grid times as
  z_{j+1} = z_{j+3/2} - h/2 g(t_j + h, y_{j+1}).

With the same weights at every step the two give the same values at the grid times; with
per-step weights theta_j they differ: kick_drift_kick reads g's weights of step j twice, the
staggered step once.  Both are second order, symplectic and reversible (seed 002: each line
changes one state by a function of the other, so it is undone exactly)."""
from __future__ import annotations

import sympy

from sciml.schemes.algebra import Stage, State, h, half, t
from sciml.schemes.definition import CHOICE, SEPARABLE_PAIR, Option, Region, SchemeDefinition, grid_options

y, z = State("y"), State("z")
FORMS = ("kick_drift_kick", "staggered")
OPTIONS = grid_options() + (Option("form", CHOICE, default=FORMS[0], choices=FORMS),
                            Option("memory", CHOICE, default="store", choices=("store", "recompute")))
COMMON = dict(name="verlet", options=OPTIONS, order=2, forms=(SEPARABLE_PAIR,), example="verlet(steps = 20, T = 1.0)",
              reversible=True, reversible_reason="each stage changes one state by a function of the other, "
              "so it is undone exactly", stability=Region(oscillation_limit=sympy.Integer(2)))

KICK_DRIFT_KICK = SchemeDefinition(
    title="Stormer-Verlet (symplectic, reversible)",
    short="Stormer-Verlet",
    latex=r"St\"ormer--Verlet (symplectic, reversible)",
    variant=("form", "kick_drift_kick"),
    carried=(y[0], z[0]),
    step=(Stage(z[half], z[0] + h / 2 * z.rate(t, y[0])),
          Stage(y[1], y[0] + h * y.rate(t + h / 2, z[half])),
          Stage(z[1], z[half] + h / 2 * z.rate(t + h, y[1]))),
    inverse=(Stage(z[half], z[1] - h / 2 * z.rate(t + h, y[1])),
             Stage(y[0], y[1] - h * y.rate(t + h / 2, z[half])),
             Stage(z[0], z[half] - h / 2 * z.rate(t, y[0]))),
    **COMMON)

STAGGERED = SchemeDefinition(
    title="Stormer-Verlet, staggered (symplectic, reversible)",
    short="Stormer-Verlet (staggered)",
    latex=r"St\"ormer--Verlet, staggered (symplectic, reversible)",
    variant=("form", "staggered"),
    carried=(y[0], z[half]),
    start=(Stage(z[half], z[0] + h / 2 * z.rate(t, y[0])),),
    step=(Stage(y[1], y[0] + h * y.rate(t + h / 2, z[half])),
          Stage(z[1 + half], z[half] + h * z.rate(t + h, y[1]))),
    readout=(Stage(z[1], z[1 + half] - h / 2 * z.rate(t + h, y[1])),),
    inverse=(Stage(z[half], z[1 + half] - h * z.rate(t + h, y[1])),
             Stage(y[0], y[1] - h * y.rate(t + h / 2, z[half]))),
    **COMMON)
