"""The type of each PDE's principal part: elliptic, parabolic or hyperbolic (A501, a note).

For a second-order equation sum_ij a_ij d2u/dx_i dx_j + (lower order) = 0 in all the coordinates
(t included), the symmetric matrix A = (a_ij) decides: definite (every eigenvalue of one sign)
is elliptic; one eigenvalue of the other sign and none zero is hyperbolic; one zero eigenvalue
along a coordinate in which the equation is first order, the rest definite, is parabolic
(u_t - nu u_xx: forward in t when the t term and A have opposite signs, else backward, which is
ill-posed from an initial condition: a warning).  Coefficients that are constants are evaluated;
a learned parameter is judged at its initial value (the note says so); a coefficient that reads
the field itself makes the principal part quasilinear and the type a property of the solution.
A first-order equation with a t derivative is a transport equation: hyperbolic.  The equations
are the pinn residuals, the grid lines dt(u) = rhs, and the Euler-Lagrange equation of a Ritz
energy (`ritz.py`), positioned at its loss term.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from sciml.analysis import pde_fields as P
from sciml.analysis import ritz
from sciml.analysis.found import Found, Options
from sciml.frontend.diagnostics import finding
from sciml.lowering import ir

T = sympy.Symbol("t")


@dataclass(frozen=True)
class PdeType:
    kind: str             # elliptic, parabolic, hyperbolic, backward parabolic, quasilinear, ...
    order: int            # of the highest derivative of the field
    reason: str           # the evidence, in the spec's notation
    learned: tuple = ()   # learned parameters judged at their initial values


def classify(expr, field: str, coords, model: ir.Model) -> PdeType:
    """The type of `expr` = 0 in the field `field` (a function of `coords`)."""
    ds = P.field_derivatives(expr, field, coords)
    order = max((d.derivative_count for d in ds), default=0)
    if order == 0:
        return PdeType("no derivative", 0, f"{field} appears without derivatives")
    if order == 1:
        if any(P.order_in(d, T) for d in ds):
            return PdeType("hyperbolic", 1, "first order, with a t derivative: a transport "
                           "equation, solved along its characteristics")
        return PdeType("first order", 1, "first order, without t")
    if order > 2:
        return PdeType(f"order {order}", order, "the elliptic/parabolic/hyperbolic types are "
                       "those of second-order equations")
    # placeholders for the field and its derivatives, so that coefficients are plain derivatives
    placeholders = {d: sympy.Dummy(P.pde_text(d)) for d in ds}
    plain = expr.subs(placeholders).subs(P.field_function(field, model), sympy.Dummy(field))
    readers = set(placeholders.values()) | {s for s in plain.free_symbols if s.name == field}
    constants, learned = P.known_values(model)
    n = len(coords)
    matrix = sympy.zeros(n, n)
    principal = sympy.S.Zero
    quasilinear = []
    for d, symbol in placeholders.items():
        if d.derivative_count != 2:
            continue
        coefficient = sympy.diff(plain, symbol)
        principal += coefficient.subs({v: k for k, v in placeholders.items()}) * d
        if coefficient.free_symbols & readers:
            quasilinear.append(d)
        i, j = (coords.index(v) for v in [v for v, k in d.variable_count for _ in range(int(k))])
        if i == j:
            matrix[i, i] = coefficient
        else:
            matrix[i, j] = matrix[j, i] = coefficient / 2
    principal_text = P.pde_text(principal)
    if quasilinear:
        return PdeType("quasilinear", 2, f"the coefficient of {P.pde_text(quasilinear[0])} reads "
                       f"{field}: the principal part {principal_text} is nonlinear, so the type "
                       "depends on the solution")
    used = sorted((s.name for s in matrix.free_symbols if s in learned))
    values = matrix.subs(constants).subs(learned)
    signs = _eigen_signs(values)
    names = "(" + ", ".join(str(c) for c in coords) + ")"
    shown = _matrix_text(matrix, names)
    if signs is None:
        return PdeType("unknown", 2, f"the signs of the principal part {principal_text} "
                       f"({shown}) are not known at compile time", tuple(used))
    plus, minus, zero = (signs.count(s) for s in (1, -1, 0))
    evidence = f"principal part {principal_text}, {shown}"
    if zero == 0 and (plus == n or minus == n):
        return PdeType("elliptic", 2, f"{evidence}: definite", tuple(used))
    if zero == 0 and min(plus, minus) == 1:
        return PdeType("hyperbolic", 2, f"{evidence}: eigenvalues of both signs, one of them alone",
                       tuple(used))
    if zero == 1 and max(plus, minus) == n - 1:
        k = signs.index(0)
        axis = coords[k]
        if all(values[k, j] == 0 for j in range(n)):
            first = sympy.diff(plain, placeholders.get(sympy.Derivative(P.field_function(field, model), axis),
                                                       sympy.Dummy()))
            b = first.subs(constants).subs(learned)
            if b != 0 and b.is_number:
                definite = 1 if plus else -1
                direction = "backward parabolic" if (b > 0) == (definite > 0) else "parabolic"
                others = ", ".join(str(c) for c in coords if c != axis)
                return PdeType(direction, 2, f"{evidence}: definite in {others}, first order in {axis}",
                               tuple(used))
    return PdeType("degenerate" if zero else "ultrahyperbolic", 2,
                   f"{evidence}: {plus} positive, {minus} negative, {zero} zero eigenvalues", tuple(used))


def _eigen_signs(matrix) -> list | None:
    """The signs of the eigenvalues of a symmetric matrix, in the coordinates' order for a
    diagonal one (whose entries may read the coordinates); None where they are not known."""
    if matrix.is_diagonal():
        signs = [_sign(matrix[i, i]) for i in range(matrix.rows)]
        return None if None in signs else signs
    if any(not entry.is_number for entry in matrix):
        return None
    eigen = sympy.Matrix(matrix).evalf().eigenvals(multiple=True)
    return [0 if abs(complex(e)) < 1e-12 else (1 if sympy.re(e) > 0 else -1) for e in eigen]


def _sign(entry) -> int | None:
    """The sign of a coefficient for every real value of the coordinates in it (1 + x^2: +1)."""
    if entry.is_number:
        return int(sympy.sign(sympy.N(entry)))
    real = entry.subs({s: sympy.Dummy(s.name, real=True) for s in entry.free_symbols})
    if real.is_zero:
        return 0
    return 1 if real.is_positive else -1 if real.is_negative else None


def _matrix_text(matrix, names) -> str:
    if matrix.is_diagonal():
        return f"diag({', '.join(P.pde_text(matrix[i, i]) for i in range(matrix.rows))}) in {names}"
    return f"matrix {P.pde_text(sympy.ImmutableMatrix(matrix))} in {names}"


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    """A501 for each PDE of a pinn or grid_pde model and each Euler-Lagrange equation."""
    out = []
    values = P.known_values(model)[1]
    items = [(eq.expr, eq.fields, eq.coordinates, eq.span, "the pde") for eq in _equations(model)]
    items += [(el.expr, (el.field,), el.coordinates, el.span, "the Euler-Lagrange equation")
              for el in ritz.derived(model)]
    for expr, fields, coords, span, what in items:
        for field in fields:
            kind = classify(expr, field, coords, model)
            learned = "".join(f" ({name} is learned: judged at its initial value "
                              f"{P.pde_text(values[sympy.Symbol(name)])})" for name in kind.learned)
            severity = "warning" if kind.kind == "backward parabolic" else "note"
            out.append(finding(
                "A501", severity, f"{what} is {kind.kind} in {field}: {kind.reason}{learned}", span,
                _HELP.get(kind.kind, ""), type=kind.kind, field=field, order=kind.order))
    return Found(tuple(out))


def _equations(model):
    try:
        return P.equations(model)
    except P.NotCalculus:
        return ()


_HELP = {
    "elliptic": "a boundary-value problem: a condition on every face, no initial condition",
    "parabolic": "an initial condition, and a condition on every face (like the heat equation)",
    "backward parabolic": "a backward heat equation is ill-posed from an initial condition: "
                          "check the sign of the diffusion",
    "hyperbolic": "initial conditions for each time derivative of the order, and boundary "
                  "conditions where characteristics enter",
    "quasilinear": "classify it at a solution: the principal part's coefficients read the field",
}
