"""An activation too rough for the derivatives a PDE takes of a network (E270, an error).

A pinn's residual differentiates its networks in their inputs (by automatic differentiation or
the Taylor-mode route): d(u, x, x) of a ReLU network is zero almost everywhere, with the curvature
in Dirac masses at the kinks that no collocation point sees, so the residual silently drops the
term and training fits a different equation.  A C^k activation (relu: k = 0, Lipschitz) carries
derivatives up to order k + 1 (`wellposed.rough_functions`); each derivative node of the residual
(and of a Ritz energy density) adds its order to what the networks under it must carry:
Partial one, Laplacian two, Divergence and SpaceGradient one.  On a grid (grid_pde) the space
derivatives are finite differences of the state, not derivatives of a network: not judged here.
"""
from __future__ import annotations

import sympy

from sciml.analysis.found import Found, Options
from sciml.analysis.wellposed import rough_functions
from sciml.frontend.diagnostics import finding
from sciml.lowering import family_symbols as F
from sciml.lowering import ir

ORDER_OF = {F.Partial: 1, F.Laplacian: 2, F.Divergence: 1, F.SpaceGradient: 1}
_NAMES = {F.Partial: "d", F.Laplacian: "lap", F.Divergence: "div", F.SpaceGradient: "grad"}


def too_rough(expr, model: ir.Model) -> list:
    """[(Rough, order)] for the functions under derivatives in `expr` that cannot carry them."""
    coordinates = [sympy.Symbol(c.name) for c in model.domain]
    found = {}

    def visit(e, order):
        if type(e) in ORDER_OF:
            visit(e.args[0], order + ORDER_OF[type(e)])
            return
        if order and not any(e.has(node) for node in ORDER_OF):
            for rough in rough_functions(e, order, coordinates, model.networks):
                found.setdefault((rough.function, rough.where), rough)
            return
        for a in e.args:
            if isinstance(a, sympy.Basic):
                visit(a, order)

    visit(sympy.sympify(expr), 0)
    return list(found.values())


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    """E270 for each network of a residual, or a Ritz density, too rough for its derivatives."""
    if model.kind != "pinn":
        return Found()
    items = [(r.expr, r.span, "the pde") for r in model.residuals]
    items += [(energy.args[0], span, "the energy") for term, span in model.loss_terms
              for energy in sympy.sympify(term).atoms(F.RitzEnergy)]
    out = []
    for expr, span, what in items:
        for rough in too_rough(expr, model):
            out.append(finding(
                "E270", "error", f"{what} takes derivatives of order {rough.order} of "
                f"{rough.where}, but {rough.function} is only C^{rough.smoothness}"
                + (" (Lipschitz)" if rough.smoothness == 0 else "") + ": that derivative is zero "
                "almost everywhere, so the loss fits a different equation", span,
                "use a smooth activation (tanh, sin, softplus, sigmoid) for a network that the pde "
                "differentiates", function=rough.function, smoothness=rough.smoothness,
                order=rough.order))
    return Found(tuple(out))
