"""The Euler-Lagrange equation of a Ritz energy, and the natural boundary condition (A505, a note).

`ritz_energy(L)` minimizes the integral of the density L(x, u, grad u) over the domain.  With
the field a function u(x, y) and |grad(u)|^2 the sum of its squared partial derivatives,
sympy's `euler_equations` gives dL/du - sum_i d/dx_i (dL/du_i) = 0: the PDE the minimizer
solves (1/2 |grad u|^2 - f u gives -lap(u) = f).  Integrating by parts leaves the boundary term
sum_i n_i dL/du_i v: where no Dirichlet condition holds the variation v is free, so the minimizer
also satisfies the natural condition p . n = 0, p = dL/d(grad u) the flux (du/dn = 0 for the
Dirichlet energy).  A Dirichlet condition fitted by a penalty, `fit(boundary)`, holds only
approximately (to O(1/weight)); the note says which faces it covers.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy
from sympy.calculus import euler_equations

from sciml.analysis import pde_fields as P
from sciml.analysis.found import Found, Options
from sciml.frontend.diagnostics import Span, finding
from sciml.lowering import family_symbols as F
from sciml.lowering import ir


@dataclass(frozen=True)
class EulerLagrange:
    """expr = 0, the Euler-Lagrange equation of the energy density of one ritz_energy term."""

    expr: sympy.Expr
    field: str
    coordinates: tuple
    flux: tuple             # dL/d(du/dx_i), one per space coordinate
    density: sympy.Expr     # the density as calculus
    span: Span


def derived(model: ir.Model) -> tuple[EulerLagrange, ...]:
    """The Euler-Lagrange equation of each ritz_energy(...) term of the loss, over one field."""
    out = []
    for term, span in _ritz_terms(model):
        try:
            density = P.as_calculus(term.args[0], model)
        except P.NotCalculus:
            continue
        coords = P.coordinates(model)
        fields = [name for name in P.field_names(model)
                  if density.has(P.field_function(name, model))]
        if len(fields) != 1:
            continue
        u = P.field_function(fields[0], model)
        (equation,) = euler_equations(density, [u], list(coords))
        flux = tuple(sympy.diff(density, sympy.Derivative(u, x)) for x in coords)
        out.append(EulerLagrange(sympy.expand(equation.lhs - equation.rhs), fields[0], coords,
                                 flux, density, span))
    return tuple(out)


def _ritz_terms(model):
    for term, span in model.loss_terms:
        for energy in sympy.sympify(term).atoms(F.RitzEnergy):
            yield energy, span


def as_equation(el: EulerLagrange, model: ir.Model) -> tuple[str, str]:
    """(lhs, rhs) text of the equation, the terms in the field on the left: -lap(u), f."""
    lhs, rhs = equation_sides(el, model)
    return P.pde_text(lhs), P.pde_text(rhs)


def equation_sides(el: EulerLagrange, model: ir.Model) -> tuple[sympy.Expr, sympy.Expr]:
    """(lhs, rhs) of the equation as calculus in the field u(x, y): the terms in the field on the
    left, with the second derivatives' minus sign (-lap(u) = f, -d(k*d(u, x), x) = f), in
    divergence form where they are minus the divergence of the flux (`divergence_form`); the
    source on the right, factored.  `as_equation` prints them as text, `sciml latex` as LaTeX."""
    u = P.field_function(el.field, model)
    in_field = sympy.Add(*(a for a in sympy.Add.make_args(el.expr) if a.has(u)))
    source = in_field - el.expr
    lead = 1 if _leading_sign(in_field) < 0 else -1
    lhs, rhs = lead * in_field, lead * source
    return divergence_form(el, lhs, u), sympy.factor(rhs)


def divergence_form(el: EulerLagrange, lhs, u) -> sympy.Expr:
    """-Laplacian(u), -c*Laplacian(u), -Partial(k*d(u, x), x) (one dimension) or
    -Divergence(k*SpaceGradient(u)) (family_symbols' nodes on the calculus field u(x, y)) where
    lhs is minus the divergence of the flux; lhs as it is otherwise."""
    divergence = sympy.Add(*(sympy.diff(p, x) for p, x in zip(el.flux, el.coordinates)))
    if sympy.expand(lhs + divergence) != 0:
        return lhs
    scales = {sympy.factor(sympy.cancel(p / sympy.Derivative(u, x))) for p, x in zip(el.flux, el.coordinates)}
    if len(scales) == 1 and not (k := scales.pop()).has(u):
        if not k.free_symbols & set(el.coordinates):
            return -k * F.Laplacian(u, *el.coordinates)
        if len(el.coordinates) > 1:
            return -F.Divergence(k * F.SpaceGradient(u, *el.coordinates), *el.coordinates)
    if len(el.coordinates) == 1:
        return -F.Partial(sympy.factor(el.flux[0]), el.coordinates[0])
    return lhs


def _leading_sign(expr) -> int:
    second = [a for a in sympy.Add.make_args(expr) if any(d.derivative_count == 2 for d in a.atoms(sympy.Derivative))]
    first = (second or list(sympy.Add.make_args(expr)))[0]
    return -1 if first.could_extract_minus_sign() else 1


def natural_conditions(el: EulerLagrange, model: ir.Model) -> tuple[list, list]:
    """(faces with a Dirichlet condition imposed by the penalty, faces with the natural condition)."""
    fitted = "ConditionFit(boundary)" in str(model.loss)
    dirichlet, natural = [], []
    for coordinate in model.domain:
        if coordinate.name == "t":
            continue
        for end in (coordinate.lower, coordinate.upper):
            face = f"{coordinate.name} = {end:g}"
            held = any(c.section == "boundary" and c.target == el.field and c.kind == "dirichlet"
                       and c.fixed and c.fixed[0] == (coordinate.name, end) for c in model.conditions)
            (dirichlet if held and fitted else natural).append(face)
    return dirichlet, natural


def has_plain_flux(el: EulerLagrange, model: ir.Model) -> bool:
    """The flux is grad(u) (the Dirichlet energy's): the natural condition reads d(u, n) = 0."""
    return all(sympy.simplify(p - sympy.diff(P.field_function(el.field, model), x)) == 0
               for p, x in zip(el.flux, el.coordinates) if p != 0)


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    """A505 for each ritz_energy term: its Euler-Lagrange equation and natural condition."""
    out = []
    for el in derived(model):
        lhs, rhs = as_equation(el, model)
        dirichlet, natural = natural_conditions(el, model)
        flux = [P.pde_text(sympy.factor(p)) for p in el.flux if p != 0]
        condition = f"d({el.field}, n) = 0" if has_plain_flux(el, model) else \
            f"the flux ({', '.join(flux)}) . n = 0"
        parts = []
        if dirichlet:
            parts.append("Dirichlet imposed by the penalty fit(boundary) at " + ", ".join(dirichlet))
        if natural:
            parts.append(f"the natural condition {condition} at " + ", ".join(natural))
        out.append(finding(
            "A505", "note", f"the Euler-Lagrange equation of this energy is {lhs} = {rhs}: its "
            f"minimizer {el.field} solves it (sympy's euler_equations)", el.span,
            "; ".join(parts), field=el.field, lhs=lhs, rhs=rhs,
            natural=", ".join(natural), dirichlet=", ".join(dirichlet)))
    return Found(tuple(out))
