"""The diffusion of an sde line, read by sympy: its coefficient per noise, Milstein's g g' and
the Stratonovich drift correction.

An sde `d(X) = f dt + g dW` is lowered to an Equation whose `diffusion` is linear in the noise
increments (stochastic.py).  Here that diffusion is read as `g * dW`, a coefficient times one
increment entry by entry (a product, not a matrix product): the *diagonal* form, where the i-th
entry of X is driven by the i-th entry of dW (or all entries by a scalar dW).  Milstein's
correction 1/2 g g' (dW^2 - h) and the Stratonovich drift 1/2 g g' need g' = d g_i / d X_i, and
so a g whose i-th entry depends on X_i alone; anything else (a matrix times dW, g of other
states, a network of a vector state) is non-commutative noise for these schemes, refused with
the reason (E408).  Everything here is derived from the IR with sympy, never typed per model:
the code writer, the LaTeX writer and the analysis read the same expressions.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from sciml.frontend.diagnostics import Diagnostic, error
from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.lowering import symbols as S


class NotDiagonal(Exception):
    """The diffusion is not of the diagonal form g(X) * dW that g' needs: the reason."""


@dataclass(frozen=True)
class NoiseTerm:
    """g * dW: the coefficient g (an expression in the states, parameters and networks) of the
    increment of noise `noise`."""

    noise: str
    coefficient: sympy.Basic


def noise_terms(equation: ir.Equation | sympy.Basic) -> tuple[NoiseTerm, ...] | None:
    """The diffusion of `equation` (or a diffusion expression) as coefficient * increment, one
    term per noise; None when it is not a plain product with each increment (dot(g, dW), G * dW
    with G a matrix)."""
    diffusion = equation.diffusion if isinstance(equation, ir.Equation) else equation
    by_noise: dict[str, sympy.Basic] = {}
    for term in sympy.Add.make_args(diffusion):
        if term == 0:
            continue
        increments = [f for f in sympy.Mul.make_args(term) if isinstance(f, F.Increment)]
        if len(increments) != 1:
            return None
        (increment,) = increments
        coefficient = term / increment
        if coefficient.has(F.Increment):
            return None
        name = str(increment.args[0])
        by_noise[name] = by_noise.get(name, sympy.S.Zero) + coefficient
    return tuple(NoiseTerm(name, by_noise[name]) for name in sorted(by_noise))


def diagonal_slope(equation: ir.Equation, model: ir.Model) -> sympy.Basic:
    """g' = d g_i / d X_i of the diagonal diffusion g(X) * dW of `equation`, derived by sympy (a
    network's derivative as NetGrad); raises NotDiagonal with the reason otherwise."""
    terms = noise_terms(equation)
    if terms is None:
        raise NotDiagonal(f"the diffusion of d({equation.state}) is not a coefficient times dW "
                          "entry by entry (a matrix times dW or dot(g, dW) mixes the noises)")
    if len(terms) > 1:
        raise NotDiagonal(f"d({equation.state}) is driven by {len(terms)} noises")
    (term,) = terms
    state = sympy.Symbol(equation.state)
    others = sorted(s.name for s in model.states if s.name != equation.state
                    and term.coefficient.has(sympy.Symbol(s.name)))
    if others:
        raise NotDiagonal(f"the diffusion of d({equation.state}) depends on {', '.join(others)}: "
                          "g g' would need the derivatives in the other states")
    size = _size(model, equation.state)
    mixing = [a for a in sympy.preorder_traversal(term.coefficient)
              if isinstance(a, (S.MatProduct, S.InnerProduct, S.SampleNorm, S.FrobeniusNorm,
                                S.MeanOf, S.SumOf, S.SoftmaxOf)) and a.has(state)]
    if mixing and size > 1:
        raise NotDiagonal(f"the diffusion of d({equation.state}) mixes the entries of {equation.state}")
    networks = [a for a in term.coefficient.atoms(S.NetCall) if a.has(state)]
    for call in networks:
        if size > 1:
            raise NotDiagonal(f"the network {call.args[0]} of the vector state {equation.state} makes "
                              f"each entry of the diffusion depend on every entry of {equation.state}")
        if len(call.args) != 2 or call.args[1] != state:
            raise NotDiagonal(f"g' of {call.args[0]}(...) is taken for a network of {equation.state} alone")
    slope = sympy.diff(term.coefficient, state)
    return slope.replace(lambda e: isinstance(e, sympy.Derivative), _network_slope)


def _network_slope(derivative):
    inner = derivative.expr
    if isinstance(inner, S.NetCall) and len(inner.args) == 2 and derivative.variables == (inner.args[1],):
        return S.NetGrad(inner.args[0], inner.args[1])
    raise NotDiagonal(f"the derivative of {inner} is not written")


def milstein_correction(equation: ir.Equation, model: ir.Model) -> sympy.Basic:
    """1/2 g g', the factor of (dW^2 - h) in Milstein's step (0 for additive noise)."""
    (term,) = noise_terms(equation) or (None,)
    slope = diagonal_slope(equation, model)
    return sympy.S.Half * term.coefficient * slope if slope != 0 else sympy.S.Zero




STRATONOVICH = ("Stratonovich", "or write the sde in its Ito form (ito = true)")


def corrected_scheme(definition) -> tuple:
    """(why, otherwise) of E408 for a scheme that adds 1/2 g g' (dW^2 - h)."""
    return definition.title, "or Euler-Maruyama, which needs no g' (strong order 1/2)"


def not_diagonal_error(equation: ir.Equation, why: str, otherwise: str, reason: NotDiagonal) -> Diagnostic:
    """E408: `why` (a scheme, or Stratonovich) needs g g' that this diffusion does not give."""
    return error("E408", f"{why} needs g g' of diagonal noise, but {reason}", equation.span,
                 f"write d({equation.state}) = f * dt + g * dW with g_i depending on "
                 f"{equation.state}_i alone, {otherwise}")


def _size(model: ir.Model, name: str) -> int:
    state = next(s for s in model.states if s.name == name)
    return state.shape[0] if state.shape else 1
