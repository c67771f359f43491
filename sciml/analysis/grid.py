"""The grid of a method-of-lines model (grid_pde), as the analysis reads it: the spacing of the
nodes along each space coordinate, and the taps of a convolution's kernel.

On x in [a, b] with N nodes the spacing is dx = (b - a)/(N - 1) (Dirichlet or Neumann ends: both
ends are nodes) or (b - a)/N (periodic: x = b is x = a), each coordinate by its own boundary lines;
the grid size is written once and holds for every space coordinate.  A kernel is a vector of R[3]: a parameter K (learned, its taps the
symbols K[1], K[2], K[3]), a constant, or a written-out vector, possibly scaled by numbers,
constants and scalar parameters; `kernel_taps` gives its taps with the constants evaluated.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from sciml.lowering import ir


@dataclass(frozen=True)
class Spacing:
    """The node spacing along one space coordinate: `symbol` (dx) and its value."""

    coordinate: str
    symbol: sympy.Symbol
    value: sympy.Rational


def spacings(model: ir.Model) -> tuple[Spacing, ...]:
    """One Spacing per space coordinate of a method-of-lines model, in the domain's order."""
    grid = model.scheme
    if not isinstance(grid, ir.MethodOfLines):
        return ()
    periodic = {c.fixed[0][0] for c in model.conditions if c.section == "boundary" and c.kind == "periodic"}
    return tuple(Spacing(c.name, spacing_symbol(c.name), sympy.nsimplify(c.upper - c.lower, rational=True)
                         / (grid.nodes if c.name in periodic else grid.nodes - 1))
                 for c in model.domain if c.name != "t")


def spacing_symbol(coordinate: str) -> sympy.Symbol:
    """dx for the coordinate x: positive, so that sympy simplifies sqrt(dx^2) to dx."""
    return sympy.Symbol(f"d{coordinate}", positive=True)


def tap_symbols(name: str) -> tuple[sympy.Symbol, ...]:
    """K[1], K[2], K[3]: the taps of a learned kernel K, left to right."""
    return tuple(sympy.Symbol(f"{name}[{k}]", real=True) for k in (1, 2, 3))


def constant_values(model: ir.Model) -> dict:
    """{scalar constant: value} for the substitutions of the grid passes."""
    return {sympy.Symbol(c.name): c.value for c in model.constants
            if not isinstance(c.value, sympy.MatrixBase)}


def kernel_taps(kernel, model: ir.Model) -> tuple | None:
    """The three taps of a convolution's kernel with the constants evaluated; None for a kernel
    that is not one of the forms above (its step bound and operator are then not reported)."""
    vectors = {sympy.Symbol(c.name): c.value for c in model.constants
               if isinstance(c.value, sympy.MatrixBase) and len(c.value) == 3}
    learned = {sympy.Symbol(p.name): p for p in model.parameters if p.shape == (3,)}
    scalars = constant_values(model)

    def taps(expr):
        if isinstance(expr, sympy.MatrixBase) and len(expr) == 3:
            return tuple(sympy.sympify(e).xreplace(scalars) for e in expr)
        if expr in vectors:
            return tuple(vectors[expr])
        if expr in learned and not learned[expr].per_step:
            return tap_symbols(expr.name)
        if isinstance(expr, sympy.Mul):
            vector = [a for a in expr.args if taps_of_factor(a)]
            if len(vector) != 1:
                return None
            scale = sympy.Mul(*(a for a in expr.args if a is not vector[0])).xreplace(scalars)
            inner = taps(vector[0])
            return None if inner is None else tuple(scale * t for t in inner)
        return None

    def taps_of_factor(expr):
        return isinstance(expr, sympy.MatrixBase) or expr in vectors or expr in learned

    found = taps(kernel)
    return None if found is None else tuple(sympy.nsimplify(t, rational=True) if t.is_Float else t
                                            for t in found)
