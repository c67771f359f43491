"""An SDE's drift and diffusion read as calculus, for the SDE passes (`sde_noise.py`,
`sde_stability.py`) and `sciml latex`.

Lowering splits each sde line d(X) = f dt + g dW into `ir.Equation.rhs`, the drift f, and
`ir.Equation.diffusion`, a sum of terms each linear in one noise increment Increment(W)
(lowering/stochastic.py).  Here a diffusion is read term by term: the coefficient g_k of each
increment dW_k where it multiplies it entry by entry (`columns`), the states and networks it
reads, and, where it is a closed form acting entry by entry on the states, its derivatives by
sympy: the Ito correction 1/2 sum_l g_l dg/dx_l of a Stratonovich sde, and the coefficients a, b
of a linear sde dX = a X dt + b X dW.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.lowering.diffusion import noise_terms
from sciml.lowering.mathtext import expr_text

# the IR operations that act entry by entry: a closed form in the states may hold them
ELEMENTWISE = (S.Relu, S.Sigmoid, S.Softplus, S.Step)


@dataclass(frozen=True)
class Diffusion:
    """The diffusion of one state's sde."""

    state: str
    expr: sympy.Expr        # the IR's diffusion: sum of g_k * Increment(W_k)
    columns: tuple          # ((noise, g_k), ...) where every term is g_k * dW_k entry by entry; else ()
    reads: tuple            # the states it reads, in the order they are declared
    networks: tuple         # the networks that read a state in it
    closed_form: bool       # entry by entry in the states, without a network: derivatives by sympy

    @property
    def is_additive(self) -> bool:
        """g does not depend on the state (it may depend on t): g' = 0."""
        return not self.reads

    @property
    def reads_only_itself(self) -> bool:
        return self.reads == (self.state,)

    def coefficient_text(self) -> str:
        """g in the spec's notation: one column's coefficient, or the columns' (name: g)."""
        if len(self.columns) == 1:
            return expr_text(self.columns[0][1])
        return ", ".join(f"{expr_text(g)} for d{noise}" for noise, g in self.columns)


def state_symbols(model: ir.Model) -> dict:
    """{name: Symbol} of the model's states, in declaration order."""
    return {s.name: sympy.Symbol(s.name) for s in model.states}


def diffusion_of(model: ir.Model, equation: ir.Equation) -> Diffusion:
    states = state_symbols(model)
    expr = equation.diffusion
    columns = _columns(expr)
    free = expr.free_symbols
    reads = tuple(name for name, symbol in states.items() if symbol in free)
    networks = networks_reading(expr, states.values())
    opaque = [op for op in expr.atoms(sympy.Function)
              if isinstance(op, S.ArrayOp) and not isinstance(op, ELEMENTWISE + (F.Increment,))
              and op.free_symbols & set(states.values())]
    closed = bool(reads) and bool(columns) and not opaque
    return Diffusion(state=equation.state, expr=expr, columns=columns, reads=reads,
                     networks=networks, closed_form=closed)


def diffusions(model: ir.Model) -> tuple[Diffusion, ...]:
    return tuple(diffusion_of(model, eq) for eq in model.equations)


def networks_reading(expr, states) -> tuple:
    """The names of the networks called in `expr` on an input that reads one of `states`."""
    states = set(states)
    names = {str(call.args[0]) for call in expr.atoms(S.NetCall, S.NetGrad)
             if any(arg.free_symbols & states for arg in call.args[1:])}
    return tuple(sorted(names))


def _columns(diffusion) -> tuple:
    """((noise, g), ...): each term g * Increment(W) with g multiplying the increment entry by
    entry, the terms of one noise summed (lowering/diffusion.py); () when some term holds its
    increment inside another operation (a matrix product A dW, dot(z, dW))."""
    return tuple((term.noise, term.coefficient) for term in noise_terms(diffusion) or ())


def derivative(g, state: str):
    """dg/dX by sympy for a closed form g, entry by entry."""
    return sympy.diff(g, sympy.Symbol(state))


def ito_correction(model: ir.Model, equation: ir.Equation, all_diffusions,
                   formal: bool = False) -> sympy.Expr | None:
    """The drift a Stratonovich sde adds in its Ito form, 1/2 sum_k sum_l g_lk dg_ik/dx_l (l over
    the states, k over the noises), entry by entry: by sympy where every diffusion it reads is a
    closed form (0 where the noise is additive); None where a network or an operation mixing
    entries is in the way.  `formal`: a network's derivative kept as sympy's Derivative (for
    printing: g'(X)), where the diffusions multiply their increments entry by entry."""
    by_state = {d.state: d for d in all_diffusions}
    own = by_state[equation.state]
    if own.is_additive:
        return sympy.S.Zero
    if not (own.closed_form or formal and own.columns):
        return None
    total = sympy.S.Zero
    for noise, g in own.columns:
        for name in own.reads:
            other = by_state.get(name)
            if other is None or not other.columns or not (other.closed_form or other.is_additive or formal):
                return None
            g_other = dict(other.columns).get(noise, sympy.S.Zero)
            total += g_other * derivative(g, name)
    return sympy.simplify(total / 2)


@dataclass(frozen=True)
class LinearSde:
    """d(X) = a X dt + b X dW: a and b in the spec's quantities (constants, learned scalars)."""

    state: str
    a: sympy.Expr
    b: sympy.Expr
    noise: str


def linear_form(model: ir.Model, equation: ir.Equation) -> LinearSde | str:
    """a and b of d(X) = a X dt + b X dW, entry by entry, a and b numbers, scalar constants or
    scalar parameters; or why the equation is not of that form (a phrase)."""
    state = equation.state
    x = sympy.Symbol(state)
    states = set(state_symbols(model).values())
    scalars = {sympy.Symbol(c.name) for c in model.constants if not isinstance(c.value, sympy.MatrixBase)}
    scalars |= {sympy.Symbol(p.name) for p in model.parameters if p.shape in ((), (1,))}
    diffusion = diffusion_of(model, equation)

    def coefficient(expr, what):
        networks = networks_reading(expr, states)
        if networks:
            return f"{what} of {state} reads the network {', '.join(networks)}"
        others = sorted(s.name for s in expr.free_symbols & states if s != x)
        if others:
            return f"{what} of {state} reads {', '.join(others)}"
        c = sympy.diff(expr, x)
        if c.has(x) or sympy.expand(expr - c * x) != 0 or not c.free_symbols <= scalars:
            return f"{what} of {state}, {expr_text(expr)}, is not a constant times {state}"
        return c

    a = coefficient(equation.rhs, "the drift")
    if isinstance(a, str):
        return a
    if diffusion.is_additive:
        return f"the diffusion of {state} does not read {state} (additive noise)"
    if len(diffusion.columns) != 1:
        return f"the diffusion of {state} is not b*{state} times one noise increment"
    noise, g = diffusion.columns[0]
    b = coefficient(g, "the diffusion")
    if isinstance(b, str):
        return b
    return LinearSde(state=state, a=a, b=b, noise=noise)
