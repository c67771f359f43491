"""IMEX Euler (seed 002's IMEXnet): dt(Y) = f(t, Y) + L Y - L Y with L Y taken implicitly,
(I + h L) Y_{j+1} = Y_j + h L Y_j + h f(t_j, Y_j).

L is a symmetric positive semi-definite constant acting on the stacked state: for several states
u, v (in the order of their `state` declarations) Y = (u, v) and L is a (|u| + |v|)-square
matrix; a block diagonal L treats each state on its own, zero blocks leave a state explicit."""
from __future__ import annotations

from sciml.schemes.algebra import Identity, MatrixOption, Stage, State, h, solve, t
from sciml.schemes.definition import FIRST_ORDER, MATRIX, Option, SchemeDefinition, grid_options

y = State("y")
L, I = MatrixOption("L"), Identity("I")

IMEX = SchemeDefinition(
    name="imex",
    title="IMEX Euler (L Y implicit)",
    short="IMEX",
    latex="IMEX Euler (the linear term implicit)",
    options=grid_options() + (
        Option("L", MATRIX, missing=("E405", "imex() needs the stiff linear operator L",
                                     "write imex(steps, T, L = L) with L a symmetric positive "
                                     "semi-definite constant")),),
    order=1,
    forms=(FIRST_ORDER,),
    example="imex(steps = 20, T = 1.0, L = L)",
    carried=(y[0],),
    step=(Stage(y[1], solve(I + h * L, y[0] + h * L * y[0] + h * y.rate(t, y[0]))),),
)
