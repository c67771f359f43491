"""The forward SDE of a diffusion model read by sympy: its transition kernel, the reverse-time SDE
and the probability-flow ODE (Song et al. 2021).

A model of kind diffusion writes one sde `d(x) = f(x, t) dt + g(t) dW`.  For an affine drift
f = a(t) x + c(t) (a, c scalars: the same for every entry of x) and a diffusion g(t) of time
alone, x(t) given x(0) = x0 is Gaussian, N(m(t) x0 + b(t), v(t) I), with the moments solving
the linear ODEs

    m' = a m,  m(0) = 1;     b' = a b + c,  b(0) = 0;     v' = 2 a v + g^2,  v(0) = 0,

solved here by their integrating factor and sympy's `integrate`: m = exp(int_0^t a),
b = m int_0^t c / m, v = m^2 int_0^t g^2 / m^2.  Variance exploding (f = 0, g = sigma^t):
v = (sigma^(2t) - 1) / (2 log sigma); variance preserving (f = -beta(t)/2 x, g = sqrt(beta(t))):
m = exp(-1/2 int beta), v = 1 - exp(-int beta).  The reverse-time SDE of the forward one and the
score network s(x, t) ~ grad log p_t(x) is dx = [f - g^2 s] dt + g dW-bar, run from T down to 0;
its probability-flow ODE dx/dt = f - 1/2 g^2 s has the same marginals.  Denoising score
matching trains s on x(t) = m x0 + b + sqrt(v) eps: E lambda(t) |s(x(t), t) + eps / sqrt(v)|^2.

A drift that is not affine in x (or reads a network or a parameter) is E409, as is a kernel
that sympy finds no closed form for; a diffusion that depends on x, or is not g(t) times one
noise of x's size, is E410.  The code writer, `sciml latex` and the tests read these
expressions; nothing here is typed per model.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy

from sciml.lowering import family_symbols as F
from sciml.lowering import symbols as S

TIME = sympy.Symbol("t")


class KernelError(Exception):
    """Why the forward sde has no Gaussian transition kernel here: (code, message, help)."""

    def __init__(self, code: str, message: str, help: str):
        super().__init__(message)
        self.code, self.message, self.help = code, message, help


@dataclass(frozen=True)
class ForwardSde:
    """d(state) = (a(t) state + c(t)) dt + g(t) d(noise)."""

    state: str
    noise: str
    slope: sympy.Basic       # a(t)
    shift: sympy.Basic       # c(t)
    diffusion: sympy.Basic   # g(t)

    @property
    def drift(self) -> sympy.Basic:
        """f(x, t) = a(t) x + c(t)."""
        return self.slope * sympy.Symbol(self.state) + self.shift


@dataclass(frozen=True)
class TransitionKernel:
    """x(t) | x(0) = x0 ~ N(scale(t) x0 + shift(t), variance(t) I)."""

    scale: sympy.Basic
    shift: sympy.Basic
    variance: sympy.Basic

    def mean(self, start) -> sympy.Basic:
        return self.scale * start + self.shift


@dataclass(frozen=True)
class ReverseSde:
    """dx = drift dt + diffusion dW-bar backwards in time; dx/dt = flow the probability-flow ODE."""

    drift: sympy.Basic
    flow: sympy.Basic
    diffusion: sympy.Basic


WEIGHTS = ("diffusion", "variance")   # dsm(..., weight = diffusion | variance | a positive number)


def forward_sde(equation, constants: dict) -> ForwardSde:
    """The affine forward sde of `equation`; `constants` {name: value} are what the drift and
    diffusion may read besides x and t.  Raises KernelError (E409, E410)."""
    state = sympy.Symbol(equation.state)
    allowed = {sympy.Symbol(name) for name in constants} | {TIME}
    terms = _noise_terms(equation)
    if terms is None:
        raise KernelError("E410", f"the diffusion of d({equation.state}) is not g(t) times one noise "
                          "increment", f"write d({equation.state}) = f * dt + g(t) * dW, with noise W "
                          f"of {equation.state}'s size")
    noise, g = terms
    if g.has(state) or g.has(S.NetCall):
        raise KernelError("E410", f"the diffusion g of d({equation.state}) depends on {equation.state}: "
                          "the transition kernel is Gaussian only for g(t)", "write g as a function of "
                          "t and constants, e.g. sigma^t (VE) or sqrt(beta(t)) (VP)")
    if not g.free_symbols <= allowed:
        extra = ", ".join(sorted(str(s) for s in g.free_symbols - allowed))
        raise KernelError("E410", f"the diffusion of d({equation.state}) reads {extra}: the score "
                          "model's forward sde is fixed, g(t) of t and constants", "write g with "
                          "constants, e.g. sigma^t")
    drift = equation.rhs
    slope = sympy.diff(drift, state)
    shift = sympy.expand(drift - slope * state)
    nonlinear = [e for e in (slope, shift) if e.has(state) or e.atoms(sympy.Function) - e.atoms(
        sympy.exp, sympy.log, sympy.sin, sympy.cos, sympy.tanh)]
    if nonlinear or drift.has(S.NetCall) or not (slope.free_symbols | shift.free_symbols) <= allowed:
        raise KernelError("E409", f"the drift of d({equation.state}) is not affine in {equation.state}: "
                          "the transition kernel is Gaussian for f = a(t) x + c(t)",
                          f"write e.g. d({equation.state}) = -beta(t) / 2 * {equation.state} * dt + "
                          "sqrt(beta(t)) * dW (VP), or g(t) * dW alone (VE); a, c of t and constants")
    return ForwardSde(state=equation.state, noise=noise, slope=slope, shift=shift, diffusion=g)


def _noise_terms(equation):
    """(noise, g) of a diffusion g * Increment(noise); None for another form."""
    terms = sympy.Add.make_args(sympy.expand(equation.diffusion, deep=False))
    if len(terms) != 1:
        return None
    increments = [f for f in sympy.Mul.make_args(terms[0]) if isinstance(f, F.Increment)]
    if len(increments) != 1:
        return None
    coefficient = terms[0] / increments[0]
    return (None if coefficient.has(F.Increment) or coefficient.has(S.MatProduct, S.InnerProduct)
            else (str(increments[0].args[0]), coefficient))


def transition_kernel(sde: ForwardSde, constants: dict) -> TransitionKernel:
    """m, b and v of the Gaussian kernel, in closed form by sympy; E409 where none is found."""
    return _kernel(sde.slope, sde.shift, sde.diffusion, tuple(sorted(constants.items())))


@lru_cache(maxsize=64)
def _kernel(slope, shift, diffusion, constants) -> TransitionKernel:
    # the constants and t as positive (or real) symbols, so that sympy settles the integrals
    values = dict(constants)
    signed = {sympy.Symbol(n): sympy.Symbol(n, positive=True) if v > 0 else sympy.Symbol(n, real=True)
              for n, v in values.items()}
    after = sympy.Symbol("t", positive=True)
    signed[TIME] = after
    back = {v: k for k, v in signed.items()}
    s = sympy.Dummy("s", positive=True)
    a, c, g = (sympy.sympify(e).xreplace(signed) for e in (slope, shift, diffusion))
    growth = sympy.integrate(a.subs(after, s), (s, 0, after))      # int_0^t a
    scale = sympy.exp(growth)
    inner = growth.subs(after, s)
    offset = scale * sympy.integrate(c.subs(after, s) * sympy.exp(-inner), (s, 0, after))
    variance = scale**2 * sympy.integrate((g**2).subs(after, s) * sympy.exp(-2 * inner), (s, 0, after))
    settle = {signed[sympy.Symbol(n)]: v for n, v in values.items()}
    parts = [_settled(sympy.simplify(e), settle, after) for e in (scale, offset, variance)]
    for part in parts:
        if part.has(sympy.Integral):
            raise KernelError("E409", "sympy finds no closed form of the transition kernel "
                              f"({sympy.sstr(part.xreplace(back))})", "write a(t), c(t) and g(t) as "
                              "polynomials, powers or exponentials of t")
    return TransitionKernel(*(p.xreplace(back) for p in parts))


def _settled(expr, values: dict, time):
    """`expr` with each Piecewise replaced by its branch at the constants' values (and t > 0)."""
    def pick(piecewise):
        for branch, condition in piecewise.args:
            if condition.xreplace(values).subs(time, 1) in (True, sympy.true):
                return branch
        return piecewise
    return expr.replace(lambda e: isinstance(e, sympy.Piecewise), pick)


def reverse_sde(sde: ForwardSde, score: str) -> ReverseSde:
    """dx = [f - g^2 s(x, t)] dt + g dW-bar and dx/dt = f - 1/2 g^2 s(x, t)."""
    call = S.NetCall(sympy.Symbol(score), sympy.Symbol(sde.state), TIME)
    g2 = sde.diffusion**2
    return ReverseSde(drift=sde.drift - g2 * call, flow=sde.drift - g2 / 2 * call, diffusion=sde.diffusion)


def weight_of(choice, sde: ForwardSde, kernel: TransitionKernel) -> sympy.Basic:
    """lambda(t) of dsm(..., weight = diffusion | variance | a number): g^2, v or the number."""
    if choice == "diffusion":
        return sde.diffusion**2
    if choice == "variance":
        return kernel.variance
    return sympy.sympify(choice)


def constants_of(model) -> dict:
    """{name: float value} of the model's scalar constants, what the forward sde may read."""
    return {c.name: float(c.value) for c in model.constants if not c.shape and c.value.is_number}


def diffusion_parts(model):
    """(ForwardSde, TransitionKernel, ReverseSde) of a diffusion model; raises KernelError."""
    (equation,) = model.equations
    constants = constants_of(model)
    sde = forward_sde(equation, constants)
    kernel = transition_kernel(sde, constants)
    return sde, kernel, reverse_sde(sde, model.scheme.option("score"))
