"""Dormand-Prince 5(4), adaptive: the library's solver (torchdiffeq, diffrax) chooses the steps.
The stages below are its fifth-order solution (the Butcher tableau of Dormand and Prince, 1980);
the analysis reads their stability function, the code calls the library."""
from __future__ import annotations

import sympy

from sciml.schemes.algebra import Auxiliary, Stage, State, h, t
from sciml.schemes.definition import FIRST_ORDER, FLAG, REAL, TIME, Option, SchemeDefinition

y = State("y")
R = sympy.Rational
C = (0, R(1, 5), R(3, 10), R(4, 5), R(8, 9), 1, 1)
A = ((),
     (R(1, 5),),
     (R(3, 40), R(9, 40)),
     (R(44, 45), R(-56, 15), R(32, 9)),
     (R(19372, 6561), R(-25360, 2187), R(64448, 6561), R(-212, 729)),
     (R(9017, 3168), R(-355, 33), R(46732, 5247), R(49, 176), R(-5103, 18656)),
     (R(35, 384), 0, R(500, 1113), R(125, 192), R(-2187, 6784), R(11, 84)))
B = (R(35, 384), 0, R(500, 1113), R(125, 192), R(-2187, 6784), R(11, 84), 0)
k = tuple(Auxiliary(f"k{i}") for i in range(1, 8))
STAGES = tuple(Stage(k[i], y.rate(t + C[i] * h, y[0] + h * sum(a * kj for a, kj in zip(A[i], k))))
               for i in range(7)) + (Stage(y[1], y[0] + h * sum(b * ki for b, ki in zip(B, k))),)

DOPRI5 = SchemeDefinition(
    name="dopri5",
    title="adaptive Dormand-Prince 5(4)",
    short="Dormand-Prince (adaptive)",
    latex="adaptive Dormand--Prince 5(4)",
    options=(Option("T", TIME, positional=True, grid=True), Option("rtol", REAL, default=1e-6),
             Option("atol", REAL, default=1e-8), Option("adjoint", FLAG, default=True)),
    order=5,
    forms=(FIRST_ORDER,),
    example="dopri5(T = 1.5, rtol = 1e-6, atol = 1e-8)",
    adaptive=True,
    carried=(y[0],),
    step=STAGES,
    solvers=(("torchdiffeq", "dopri5"), ("diffrax", "Dopri5")),
)
