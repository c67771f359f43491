"""The semi-discrete operator of a method-of-lines model, read term by term from each grid
equation dt(u) = rhs (or dt(dt(u)) = rhs), with frozen coefficients (von Neumann analysis).

Along each space coordinate x (spacing dx) the terms of rhs that differentiate u are 3-tap
stencils, and a 3-tap stencil [k1, k2, k3] with k1 + k2 + k3 = 0 has, on the Fourier mode
exp(i k x), the eigenvalue

    lambda(phi) = -A (1 - cos phi) + i B sin phi,    phi = k dx,   A = k1 + k3,  B = k3 - k1,

an ellipse through 0 (A the dissipation, B the transport).  The terms give:

    D d(u, x, x), D lap(u)      D/dx^2 [1, -2, 1]          A = 2 D/dx^2, B = 0: [-4 D/dx^2, 0]
    b d(u, x), div(F(u))        central b/(2 dx) [-1, 0, 1]  A = 0, B = b/dx: +-i |b|/dx
      (b = F'(u) for a flux)    upwind (against the flow)  A = |b|/dx, B = b/dx: the circle
                                                           |z + |b|/dx| = |b|/dx
    conv(K, u)                  [K1, K2, K3]               A = K1 + K3, B = K3 - K1

A stencil's sum of taps (conv's K1 + K2 + K3) acts on u itself, like a reaction: it and the
terms without a derivative of u (R(c), N(x), -k u) are of order zero, bounded independently of
dx, so they change the growth of the model by at most exp(L T) and not the step bound as
dx -> 0 (Lax-Richtmyer); they are listed, not judged.  A speed that reads the state or a
network (U(c) in div(U(c) c): b = d(c U(c))/dc = U(c) + c U'(c)) is frozen at its largest value
`max|a|`, a symbol the runtime check evaluates (`Extremum`).  Anything else that differentiates
u (a mixed derivative, lap of a function of u, a coefficient of a second derivative that reads
u) makes the operator `opaque`, with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from sciml.analysis.grid import Spacing, constant_values, kernel_taps, spacings
from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.analysis.pde_fields import pde_text as expr_text

DERIVATIVES = (F.Partial, F.Laplacian, F.Divergence, F.SpaceGradient, F.Convolution)


@dataclass(frozen=True)
class Extremum:
    """`symbol` stands for max |speed| over the state's values `over` (ir.StabilityGuard.extrema)."""

    symbol: sympy.Symbol
    speed: sympy.Expr        # in the IR's vocabulary: NetCall, NetGrad
    state: str
    over: tuple


@dataclass(frozen=True)
class Axis:
    """The frozen-coefficient stencils along one space coordinate."""

    spacing: Spacing
    diffusion: sympy.Expr = sympy.S.Zero   # D of D d2u/dx2
    speed: sympy.Expr = sympy.S.Zero       # b of b du/dx (an Extremum's symbol where it varies)
    kernels: tuple = ()                    # the taps of each conv(K, u) along it

    @property
    def coordinate(self) -> str:
        return self.spacing.coordinate

    def dissipation(self, upwind: bool, implicit: bool = False) -> sympy.Expr:
        """A: of every stencil, of the diffusion only (`implicit`), or of the rest (`implicit`
        False with `upwind` for the transport)."""
        dx = self.spacing.symbol
        diffusion = 2 * self.diffusion / dx**2
        transport = (sympy.Abs(self.speed) / dx if upwind else 0) + sum(k1 + k3 for k1, _, k3 in self.kernels)
        return diffusion if implicit is True else diffusion + transport

    def transport(self) -> sympy.Expr:
        """|B|, at most: |b|/dx + |K3 - K1| summed over the kernels (exact with one of them)."""
        dx = self.spacing.symbol
        parts = ([sympy.Abs(self.speed) / dx] if self.speed != 0 else []) + \
                [sympy.Abs(k3 - k1) for k1, _, k3 in self.kernels if k3 != k1]
        return sympy.Add(*parts) if len(parts) != 1 else parts[0]

    def order_zero(self) -> sympy.Expr:
        return sum((k1 + k2 + k3 for k1, k2, k3 in self.kernels), sympy.S.Zero)


@dataclass(frozen=True)
class GridOperator:
    """The semi-discrete operator of one grid equation d^order(state)/dt^order = rhs."""

    state: str
    order: int
    axes: tuple[Axis, ...]
    lower: tuple = ()             # the terms of order zero, as written
    extrema: tuple = ()           # the Extremum of each varying speed
    opaque: str = ""              # why the operator is not read ('' when it is)
    span: object = None

    @property
    def has_transport(self) -> bool:
        return any(a.speed != 0 or any(k1 != k3 for k1, _, k3 in a.kernels) for a in self.axes)

    @property
    def has_diffusion(self) -> bool:
        return any(a.diffusion != 0 for a in self.axes)


class _Opaque(Exception):
    pass


def read(model: ir.Model) -> tuple[GridOperator, ...]:
    """The operator of every grid equation of a method-of-lines model."""
    return tuple(read_equation(model, eq) for eq in model.equations)


def read_equation(model: ir.Model, eq: ir.Equation) -> GridOperator:
    state = sympy.Symbol(eq.state)
    axes = {s.coordinate: _AxisSum(s) for s in spacings(model)}
    lower, extrema = [], []
    try:
        for term in sympy.Add.make_args(sympy.expand(eq.rhs, deep=False, mul=True, multinomial=False,
                                                     power_exp=False, power_base=False, log=False)):
            _read_term(term, state, axes, lower, model)
        for axis in axes.values():
            extrema += axis.freeze_speed(model, eq.state, len(axes) > 1)
    except _Opaque as why:
        return GridOperator(eq.state, eq.order, (), opaque=str(why), span=eq.span)
    return GridOperator(eq.state, eq.order, tuple(a.axis() for a in axes.values()), tuple(lower),
                        tuple(extrema), span=eq.span)


class _AxisSum:
    """The terms of one axis, summed while the right side is read."""

    def __init__(self, spacing: Spacing):
        self.spacing = spacing
        self.diffusion, self.speed, self.kernels = sympy.S.Zero, sympy.S.Zero, []
        self.frozen = None

    def freeze_speed(self, model, state: str, several: bool) -> list:
        """A speed that reads the state, a network or a coordinate becomes max|a|."""
        if not self.speed.free_symbols & _varying(model) and not self.speed.has(S.NetCall, S.NetGrad):
            return []
        if self.kernels:
            raise _Opaque("a convolution beside a transport speed that varies with the solution")
        symbol = sympy.Symbol(f"max|a_{self.spacing.coordinate}|" if several else "max|a|",
                              nonnegative=True)
        self.frozen = symbol
        reads_state = sympy.Symbol(state) in self.speed.free_symbols
        dataset = model.dataset(model.training_set) if model.training_set else None
        if reads_state and dataset is not None and dataset.field(state) is not None:
            over = ("data", f"{dataset.name}.{state}")
        else:
            over = ("initial",) if reads_state else ("nodes",)
        speed = -self.speed if self.speed.could_extract_minus_sign() else self.speed
        return [Extremum(symbol, speed, state, over)]

    def axis(self) -> Axis:
        return Axis(self.spacing, self.diffusion, self.frozen if self.frozen is not None else self.speed,
                    tuple(self.kernels))


def _varying(model):
    """The symbols that make a coefficient vary over the grid: the states and the coordinates."""
    return {sympy.Symbol(s.name) for s in model.states} | {sympy.Symbol(c.name) for c in model.domain}


def _read_term(term, state, axes, lower, model):
    operators = [f for f in sympy.Mul.make_args(term) if f.has(*DERIVATIVES)]
    if not operators:          # a reaction or a source: of order zero
        lower.append(term)
        return
    if len(operators) > 1 or not isinstance(operators[0], DERIVATIVES):
        raise _Opaque(f"the term {expr_text(term)} is not a coefficient times one derivative")
    (operator,) = operators
    coefficient = sympy.Mul(*(f for f in sympy.Mul.make_args(term) if f is not operator))
    if coefficient.has(*DERIVATIVES):
        raise _Opaque(f"the coefficient of {expr_text(operator)} holds a derivative")
    if isinstance(operator, F.Convolution):
        _convolution(operator, coefficient, state, axes, lower, model)
    elif isinstance(operator, F.Laplacian):
        names = [str(a) for a in operator.args[1:]]
        _second_order(operator.args[0], coefficient, names, state, axes, lower, term, model)
    elif isinstance(operator, F.Divergence):
        inner = operator.args[0]
        names = [str(a) for a in operator.args[1:]]
        if inner.has(F.SpaceGradient) and isinstance(inner, (F.SpaceGradient, sympy.Mul)):
            gradients = [f for f in sympy.Mul.make_args(inner) if isinstance(f, F.SpaceGradient)]
            scale = sympy.Mul(*(f for f in sympy.Mul.make_args(inner) if not isinstance(f, F.SpaceGradient)))
            if len(gradients) != 1 or _varies(scale, model):
                raise _Opaque(f"the divergence {expr_text(operator)} is not D grad(u) with a constant D")
            _second_order(gradients[0].args[0], coefficient * scale, names, state, axes, lower, term, model)
        elif len(names) == 1:
            _first_order(inner, coefficient, names[0], state, axes, lower, term)
        else:
            raise _Opaque(f"the divergence of the vector {expr_text(inner)}")
    elif isinstance(operator, F.Partial):
        inner, coordinate = operator.args
        if isinstance(inner, F.Partial):
            inner2, first = inner.args
            if first != coordinate:
                raise _Opaque(f"the mixed derivative {expr_text(operator)}")
            if inner2.has(*DERIVATIVES):
                raise _Opaque(f"the derivative {expr_text(operator)} of order above 2")
            _second_order(inner2, coefficient, [str(coordinate)], state, axes, lower, term, model)
        else:
            _first_order(inner, coefficient, str(coordinate), state, axes, lower, term)
    else:
        raise _Opaque(f"the gradient {expr_text(operator)} outside a divergence")


def _varies(coefficient, model) -> bool:
    """Whether a coefficient changes over the grid or with the solution."""
    return bool(coefficient.free_symbols & _varying(model)) or coefficient.has(S.NetCall)


def _second_order(inner, coefficient, names, state, axes, lower, term, model):
    if not inner.has(state):
        lower.append(term)       # the second derivative of a source: known, of order zero in u
        return
    if inner != state:
        raise _Opaque(f"a second derivative of {expr_text(inner)}, a function of {state}")
    if _varies(coefficient, model):
        raise _Opaque(f"the coefficient {expr_text(coefficient)} of a second derivative varies over "
                      "the grid or with the solution")
    for name in names:
        axes[name].diffusion += coefficient


def _first_order(inner, coefficient, name, state, axes, lower, term):
    if not inner.has(state):
        lower.append(term)
        return
    if inner.has(*DERIVATIVES):
        raise _Opaque(f"a first derivative of {expr_text(inner)}")
    speed = coefficient * sympy.diff(inner, state)
    speed = speed.replace(lambda e: isinstance(e, sympy.Derivative), lambda e: _network_slope(e, state))
    axes[name].speed += speed


def _network_slope(derivative, state):
    """d U(c)/dc as the IR's NetGrad(U, c) (a network of one input); else opaque."""
    inner = derivative.expr
    if isinstance(inner, S.NetCall) and len(inner.args) == 2 and inner.args[1] == state \
            and derivative.variables == (state,):
        return S.NetGrad(inner.args[0], state)
    raise _Opaque(f"the derivative of {expr_text(inner)} in {state}")


def _convolution(operator, coefficient, state, axes, lower, model):
    kernel, inner, coordinate = operator.args
    if not inner.has(state):
        lower.append(coefficient * operator)
        return
    if inner != state:
        raise _Opaque(f"a convolution of {expr_text(inner)}, a function of {state}")
    if _varies(coefficient, model):
        raise _Opaque(f"the coefficient {expr_text(coefficient)} of a convolution varies over the grid "
                      "or with the solution")
    taps = kernel_taps(kernel, model)
    if taps is None:
        raise _Opaque(f"the kernel {expr_text(kernel)} is not read")
    scale = sympy.nsimplify(coefficient.xreplace(constant_values(model)), rational=True)
    axes[str(coordinate)].kernels.append(tuple(sympy.expand(scale * t) for t in taps))
