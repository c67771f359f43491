"""The type of each PDE's principal part: elliptic, parabolic or hyperbolic (A501, a note).

For a second-order equation sum_ij a_ij d2u/dx_i dx_j + (lower order) = 0 in all the coordinates
(t included), the symmetric matrix A = (a_ij) decides: definite (every eigenvalue of one sign)
is elliptic; one eigenvalue of the other sign and none zero is hyperbolic; one zero eigenvalue
along a coordinate in which the equation is first order, the rest definite, is parabolic
(u_t - nu u_xx: forward in t when the t term and A have opposite signs, else backward, which is
ill-posed from an initial condition: a warning).  Coefficients that are constants are evaluated;
a learned parameter is judged at its initial value (the note says so); a coefficient that reads
the field itself makes the principal part quasilinear and the type a property of the solution.
A first-order equation with a t derivative is a transport equation: hyperbolic, at its speed.
Order m >= 3 is judged by the symbol Q(k) of its top space derivatives (`_higher_order`): elliptic
of order m (lap(lap(u))), parabolic of order m (u_t + u_xxxx) or backward, dispersive for m odd
(KdV).  A first-order system dt(U) + A d(U, x) (`pde_characteristics.first_order_systems`) is
hyperbolic where A's eigenvalues are real, not hyperbolic (a warning) where some are complex.
Each pde is classified in the fields it is the equation of (`pde_characteristics.governed`), not
in every field it reads.  The equations are the pinn residuals, the grid lines dt(u) = rhs, and
the Euler-Lagrange equation of a Ritz energy (`ritz.py`), positioned at its loss term.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from sciml.analysis import pde_characteristics as C
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
            return PdeType("hyperbolic", 1, "first order, with a t derivative: a transport equation"
                           f"{_velocity(expr, field, coords, model)}, solved along its characteristics")
        return PdeType("first order", 1, "first order, without t")
    if order > 2:
        return _higher_order(expr, field, coords, model, order)
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


def _velocity(expr, field, coords, model) -> str:
    """' at speed c' (' at velocity (a, b)'): u's coefficients in the space coordinates per dt(u)."""
    u = P.field_function(field, model)
    b = C.coefficient(expr, sympy.Derivative(u, T))
    if b == 0 or C.reads_field(b):
        return ""
    speeds = [C.coefficient(expr, sympy.Derivative(u, x)) for x in coords if x != T]
    speeds = [s if b == 1 else sympy.cancel(s / b) for s in speeds]
    texts = [P.pde_text(s) for s in speeds]
    return f" at speed {texts[0]}" if len(texts) == 1 else f" at velocity ({', '.join(texts)})"


def _higher_order(expr, field, coords, model, order) -> PdeType:
    """An equation of order m >= 3, by the symbol Q(k) of its order-m derivatives in space
    (k a wave vector, each d/dx a factor k_x): steady and Q definite is elliptic (lap(lap(u)):
    (k_x^2 + k_y^2)^2); b dt(u) + ... with m = 2j is parabolic of order m where (-1)^j Q / b > 0
    (u_t + u_xxxx), backward where < 0; with m odd it is dispersive (KdV's u_t + u_xxx)."""
    u = P.field_function(field, model)
    space = [x for x in coords if x != T]
    top = [d for d in P.field_derivatives(expr, field, coords)
           if d.derivative_count == order and not P.order_in(d, T)]
    generic = PdeType(f"order {order}", order, "the elliptic/parabolic/hyperbolic types are those "
                      "of second-order equations, and its principal part is not one of the forms "
                      "judged here")
    coefficients = {d: C.coefficient(expr, d) for d in top}
    of_order = [d for d in P.field_derivatives(expr, field, coords) if d.derivative_count == order]
    if not top or len(top) < len(of_order) or any(C.reads_field(c) for c in coefficients.values()):
        return generic
    k = {x: sympy.Symbol(f"k_{x}", real=True) for x in space}
    principal = sympy.Add(*(c * d for d, c in coefficients.items()))
    symbol = sympy.expand(sympy.Add(*(c * sympy.Mul(*(k[x] ** P.order_in(d, x) for x in space))
                                      for d, c in coefficients.items())))
    constants, learned = P.known_values(model)
    used = tuple(sorted(s.name for s in symbol.free_symbols if s in learned))
    valued = symbol.subs(constants).subs(learned)
    shown = f"principal part {P.pde_text(principal)}, Q(k) = {P.pde_text(symbol)} (each d/dx a factor k_x)"
    t_order = max((P.order_in(d, T) for d in P.field_derivatives(expr, field, coords)), default=0)
    b = C.coefficient(expr, sympy.Derivative(u, T)) if t_order == 1 else sympy.S.Zero
    if t_order == 0 and order % 2 == 0:
        sign = C.definite_sign(valued, list(k.values()))
        if sign is not None:
            return PdeType("elliptic", order, f"{shown}: definite (elliptic of order {order})", used)
        return PdeType(f"order {order}", order, f"{shown}: not definite", used)
    if t_order == 1 and b != 0 and not C.reads_field(b) and (b.subs(constants).subs(learned)).is_number:
        b_value = b.subs(constants).subs(learned)
        if order % 2:
            return PdeType("dispersive", order, f"{shown}, first order in t: of odd order in space, "
                           "its waves travel at speeds that depend on their wavelength", used)
        sign = C.definite_sign(sympy.expand((-1) ** (order // 2) * valued / b_value), list(k.values()))
        if sign is not None:
            kind = "parabolic" if sign > 0 else "backward parabolic"
            return PdeType(kind, order, f"{shown}, first order in t: {kind} of order {order}", used)
    return generic


def _eigen_signs(matrix) -> list | None:
    """The signs of the eigenvalues of a symmetric matrix, in the coordinates' order for a
    diagonal one (whose entries may read the coordinates); None where they are not known."""
    if matrix.is_diagonal():
        signs = [C.sign_for_all_reals(matrix[i, i]) for i in range(matrix.rows)]
        return None if None in signs else signs
    if any(not entry.is_number for entry in matrix):
        return None
    eigen = sympy.Matrix(matrix).evalf().eigenvals(multiple=True)
    return [0 if abs(complex(e)) < 1e-12 else (1 if sympy.re(e) > 0 else -1) for e in eigen]


def _matrix_text(matrix, names) -> str:
    if matrix.is_diagonal():
        return f"diag({', '.join(P.pde_text(matrix[i, i]) for i in range(matrix.rows))}) in {names}"
    return f"matrix {P.pde_text(sympy.ImmutableMatrix(matrix))} in {names}"


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    """A501 for each PDE of a pinn or grid_pde model, in the fields it is the equation of (one
    note per field of a first-order system), and for each Euler-Lagrange equation."""
    out = []
    values = P.known_values(model)[1]
    equations = _equations(model)
    systems = {(eq.span, f): s for s in C.first_order_systems(model, equations)
               for f, eq in zip(s.fields, s.equations)}
    items = [(eq.expr, C.governed(eq), eq.coordinates, eq.span, "the pde") for eq in equations]
    items += [(el.expr, (el.field,), el.coordinates, el.span, "the Euler-Lagrange equation")
              for el in ritz.derived(model)]
    for expr, fields, coords, span, what in items:
        for field in fields:
            system = systems.get((span, field))
            kind = _system_type(system, field) if system else classify(expr, field, coords, model)
            learned = "".join(f" ({name} is learned: judged at its initial value "
                              f"{P.pde_text(values[sympy.Symbol(name)])})" for name in kind.learned)
            severity = "warning" if kind.kind in ("backward parabolic", "not hyperbolic") else "note"
            out.append(finding(
                "A501", severity, f"{what} is {kind.kind} in {field}: {kind.reason}{learned}", span,
                _HELP.get(kind.kind, ""), type=kind.kind, field=field, order=kind.order))
    return Found(tuple(out))


def _system_type(system: C.System, field: str) -> PdeType:
    """The type of a first-order system dt(U) + A d(U, x): hyperbolic where A's eigenvalues are
    real, not hyperbolic (ill-posed from initial values) where some are complex."""
    fields = ", ".join(system.fields)
    x = system.coordinate.name
    reason = (f"one of the first-order system dt({fields}) + A d(({fields}), {x}) = ... with "
              f"A = {P.pde_text(system.matrix)}, whose characteristic speeds are {C.speeds_text(system)}")
    if system.speeds is None:
        return PdeType("quasilinear", 1, f"{reason}: the speeds read the fields, so the type depends "
                       "on the solution", system.learned)
    if system.hyperbolic:
        return PdeType("hyperbolic", 1, f"{reason}: real", system.learned)
    return PdeType("not hyperbolic", 1, f"{reason}: not all real, so the system is elliptic in "
                   f"({x}, t) and ill-posed from initial values", system.learned)


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
    "not hyperbolic": "an initial-value problem for it is ill-posed (Hadamard): check the signs of "
                      "the coupling terms",
    "dispersive": "an initial condition, and boundary conditions counted by the order and the sign "
                  "of the leading term (KdV: two at one end, one at the other)",
}
