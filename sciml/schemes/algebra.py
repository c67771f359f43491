"""The symbols a scheme's stages are written in, as sympy expressions.

A stage assigns one value: a state at a step (`y[1]`, `z[half]`: the state y at step j + 1, z at
j + 1/2) or an auxiliary vector (`k1`).  Its formula is a sympy expression in
    h, t                 the step size and the time t_j of step j
    y[o], z[o]           the states at step j + o (a first-order system is one stacked y; a
                         separable pair is y and z; a second-order equation is y)
    rate_y(time, v)      the right side of y's equation at `time`, with its argument at v:
                         f(t, y) for dt(y) = f(t, y); f(t, z) for the pair's dt(y) = f(t, z);
                         f(t, y) for dt(dt(y)) = f(t, y); rate_z is the pair's g(t, y)
    initial_rate(y)      dt(y)(0), for a second-order equation
    auxiliaries (k1)     earlier stages' vectors
    L, I                 a matrix option of the scheme (IMEX's L) and the identity
    solve(A, b)          the solution x of A x = b
    noise_y(time, v)     the noise slot of a stochastic scheme: g(t, v) dW, the diffusion of y's
                         sde times the step's Brownian increments (the same dW wherever named)
    correction_y(time, v)  Milstein's 1/2 (g g')(t, v) (dW^2 - h), g' derived by sympy.
The code writer, the LaTeX writer and the stability analysis read the same formulas: each prints
or evaluates these symbols its own way (sciml/schemes/derive.py evaluates them on the test
equation y' = lambda y).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

h = sympy.Symbol("h", positive=True)
t = sympy.Symbol("t", real=True)
half = sympy.Rational(1, 2)


class Value(sympy.Function):
    """Value(role, offset): the state `role` at step j + offset."""

    nargs = 2

    @property
    def role(self) -> str:
        return self.args[0].name

    @property
    def offset(self) -> sympy.Rational:
        return self.args[1]

    def shifted(self, by) -> "Value":
        return Value(self.args[0], self.offset + by)


class InitialRate(sympy.Function):
    """InitialRate(role): dt(role)(0), the initial value of a second-order state's derivative."""

    nargs = 1

    @property
    def role(self) -> str:
        return self.args[0].name


class Rate(sympy.Function):
    """Rate(role, time, argument): the right side of `role`'s equation at `time`, its states at
    `argument` (the other state of a separable pair)."""

    nargs = 3

    @property
    def role(self) -> str:
        return self.args[0].name


class Noise(sympy.Function):
    """Noise(role, time, argument): g(time, argument) dW, the diffusion of `role`'s sde times the
    Brownian increments of the step (the noise slot of a stochastic scheme)."""

    nargs = 3

    @property
    def role(self) -> str:
        return self.args[0].name


class NoiseCorrection(sympy.Function):
    """NoiseCorrection(role, time, argument): Milstein's 1/2 g g' (dW^2 - h) at the argument, for
    diagonal noise (g' the derivative of each diffusion entry in its own state entry)."""

    nargs = 3

    @property
    def role(self) -> str:
        return self.args[0].name


class LinearSolve(sympy.Function):
    """LinearSolve(A, b): x with A x = b."""

    nargs = 2


class Auxiliary(sympy.Symbol):
    """A vector an earlier stage computed (k1, ..., k4), one per state of the role."""


class MatrixOption(sympy.Symbol):
    """A matrix option of the scheme (IMEX's L), acting on the stacked state."""


class Identity(sympy.Symbol):
    """The identity matrix of the stacked state's size."""


class State:
    """`y = State("y")`; `y[0]`, `y[half]`, `y[1]` are its values at steps j, j + 1/2, j + 1."""

    def __init__(self, role: str):
        self.symbol = sympy.Symbol(role)

    def __getitem__(self, offset) -> Value:
        return Value(self.symbol, sympy.Rational(offset))

    def rate(self, time, argument) -> Rate:
        return Rate(self.symbol, time, argument)

    def noise(self, time, argument) -> Noise:
        return Noise(self.symbol, time, argument)

    def noise_correction(self, time, argument) -> NoiseCorrection:
        return NoiseCorrection(self.symbol, time, argument)

    def initial_rate(self) -> InitialRate:
        return InitialRate(self.symbol)


def step_scale(coefficient) -> tuple:
    """(p, q, k) for a stage coefficient p/q * h^k (h / 2, h**2 / 2, 2), which the code and the
    LaTeX writers print their own way."""
    number, power = sympy.S.One, 0
    for factor in sympy.Mul.make_args(coefficient):
        if factor == h:
            power += 1
        elif isinstance(factor, sympy.Pow) and factor.base == h:
            power += int(factor.exp)
        else:
            number *= factor
    p, q = sympy.fraction(number)
    return p, q, power


def solve(matrix, rhs) -> LinearSolve:
    return LinearSolve(matrix, rhs)


@dataclass(frozen=True)
class Stage:
    """target = value: `target` a Value (a state at a step) or an Auxiliary."""

    target: sympy.Basic
    value: sympy.Expr


def values_in(expr) -> list:
    """The Values `expr` reads, in a fixed order."""
    return sorted(expr.atoms(Value), key=sympy.default_sort_key)


def is_matrix_expression(expr) -> bool:
    """Whether `expr` applies a matrix (L, I, a linear solve): then it acts on the stacked state
    and is printed once, not once per state."""
    return bool(expr.atoms(MatrixOption, Identity, LinearSolve))


def split_term(term):
    """(the scalar coefficient: numbers and powers of h, the rest)."""
    coefficient, vector = sympy.S.One, sympy.S.One
    for factor in sympy.Mul.make_args(term):
        if factor.is_number or factor == h or (isinstance(factor, sympy.Pow) and factor.base == h):
            coefficient *= factor
        else:
            vector *= factor
    return coefficient, vector


def term_order(term):
    """The state's own value first, then by the power of h; positive before negative; values
    before auxiliaries, auxiliaries in order, matrix terms, then right sides; a stochastic
    scheme's noise term and then its correction last (y + h f + g dW + 1/2 g g' (dW^2 - h))."""
    coefficient, vector = split_term(term)
    noise = 2 if vector.atoms(NoiseCorrection) else 1 if vector.atoms(Noise) else 0
    power = sympy.degree(coefficient, h) if coefficient.has(h) else 0
    if isinstance(vector, Value):
        kind = (0, str(vector.role), -vector.offset)
    elif isinstance(vector, InitialRate):
        kind = (1,)
    elif isinstance(vector, Auxiliary):
        kind = (2, len(vector.name), vector.name)
    elif isinstance(vector, (Identity,)):
        kind = (0, "", 0)
    elif vector.atoms(MatrixOption):
        kind = (3,)
    else:
        kind = (4,)
    return (noise, power, coefficient.could_extract_minus_sign(), kind)


def argument_role(expr) -> str:
    """The role of the state values an argument reads (all of one role)."""
    roles = {v.role for v in expr.atoms(Value)} if not isinstance(expr, Value) else {expr.role}
    if len(roles) != 1:
        raise AssertionError(f"{expr} reads the states {roles}, not one role's")
    return roles.pop()


def rate_role(expr) -> str:
    """The role an auxiliary belongs to: that of the right side it evaluates."""
    rates = sorted(expr.atoms(Rate), key=sympy.default_sort_key)
    return rates[0].role if rates else argument_role(expr)
