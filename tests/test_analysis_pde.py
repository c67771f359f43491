"""Issue 10, item 5: the analysis of PDE models (docs/analysis.md, "PDE models").

The type of each principal part (A501), the conditions counted against the orders (A502-A504),
the Euler-Lagrange equation of a Ritz energy with its natural condition (A505), and an
activation too rough for the residual's order (E270)."""
from __future__ import annotations

from pathlib import Path

import pytest
import sympy

from analysis_specs import by_code, data, findings
from sciml.analysis import pde_fields, ritz
from sciml.pipeline import front_end

ROOT = Path(__file__).resolve().parent.parent

PINN = """model m : pinn
const nu = 0.1, c = 2
domain {domain}
net u({inputs}) = mlp({n} -> 8 -> 1, {activation})
pde {pde}
{conditions}
scheme collocation(interior = uniform(100))
loss   {loss}
train  adam(lr = 1e-3, steps = 10)
"""


def pinn(pde, conditions, domain="x in [0, 1], t in [0, 1]", activation="tanh",
         loss="residual + fit(initial) + fit(boundary)"):
    inputs = ", ".join(part.split(" in ")[0].strip() for part in domain.split("],") if part.strip())
    return PINN.format(pde=pde, conditions=conditions, domain=domain, inputs=inputs,
                       n=inputs.count(",") + 1, activation=activation, loss=loss)


HEAT_CONDITIONS = """initial  u(x, 0) = sin(pi * x) with points = 10
boundary u(0, t) = 0, u(1, t) = 0 with points = 10"""


def types(source):
    return [(data(d)["type"], d.severity) for d in by_code(findings(source), "A501")]


def test_heat_equation_is_parabolic():
    assert types(pinn("dt(u) = nu * d(u, x, x)", HEAT_CONDITIONS)) == [("parabolic", "note")]


def test_backward_heat_equation_is_a_warning():
    [(kind, severity)] = types(pinn("dt(u) = -nu * d(u, x, x)", HEAT_CONDITIONS))
    assert (kind, severity) == ("backward parabolic", "warning")


def test_wave_equation_is_hyperbolic():
    source = pinn("dt(dt(u)) = c^2 * d(u, x, x)", HEAT_CONDITIONS
                  + "\ninitial dt(u)(x, 0) = 0 with points = 10")
    (note,) = by_code(findings(source), "A501")
    assert data(note)["type"] == "hyperbolic"
    assert "diag(-c^2, 1) in (x, t)" in note.message


def test_laplace_equation_is_elliptic_and_a_mixed_derivative_counts_half():
    domain = "x in [0, 1], y in [0, 1]"
    faces = "boundary u(0, y) = 0, u(1, y) = 0, u(x, 0) = 0, u(x, 1) = 0 with points = 10"
    assert types(pinn("-lap(u) = 1", faces, domain, loss="residual + fit(boundary)")) == \
        [("elliptic", "note")]
    # u_xx + 4 u_xy + u_yy: A = [[1, 2], [2, 1]], eigenvalues 3 and -1: hyperbolic
    assert types(pinn("d(u, x, x) + 4 * d(u, x, y) + d(u, y, y) = 0", faces, domain,
                      loss="residual + fit(boundary)")) == [("hyperbolic", "note")]
    # u_xx + u_xy + u_yy: eigenvalues 3/2 and 1/2: elliptic
    assert types(pinn("d(u, x, x) + d(u, x, y) + d(u, y, y) = 0", faces, domain,
                      loss="residual + fit(boundary)")) == [("elliptic", "note")]


def test_a_coefficient_that_reads_the_field_is_quasilinear():
    (note,) = by_code(findings(pinn("dt(u) = d(u^2 * d(u, x), x)", HEAT_CONDITIONS)), "A501")
    assert data(note)["type"] == "quasilinear"
    assert "the coefficient of d(u, x, x) reads u" in note.message


def test_inviscid_burgers_is_first_order_hyperbolic():
    source = pinn("dt(u) + u * d(u, x) = 0", "initial u(x, 0) = sin(pi * x) with points = 10\n"
                  "boundary u(0, t) = 0 with points = 10")
    assert types(source) == [("hyperbolic", "note")]
    assert by_code(findings(source), "A502") == []   # first order in x: not counted


@pytest.mark.parametrize("name, kind", [("burgers_pinn", "parabolic"), ("heat_neural_source", "parabolic"),
                                        ("reaction_diffusion", "parabolic"), ("poisson_ritz", "elliptic")])
def test_the_zoo(name, kind):
    source = (ROOT / "specs" / "pde" / f"{name}.sciml").read_text()
    found = front_end(source, name)[2]
    assert [data(d)["type"] for d in by_code(found, "A501")] == [kind]
    assert by_code(found, "A502") + by_code(found, "A503") + by_code(found, "A504") == []


def test_a_learned_coefficient_is_judged_at_its_initial_value():
    source = (ROOT / "specs" / "pde" / "reaction_diffusion.sciml").read_text()
    (note,) = by_code(front_end(source, "r")[2], "A501")
    assert "D is learned: judged at its initial value 0.02" in note.message


# -- conditions against the orders ------------------------------------------------------------

def test_a_face_without_a_condition_is_a_warning_naming_it():
    source = pinn("dt(u) = nu * d(u, x, x)", "initial u(x, 0) = sin(pi * x) with points = 10\n"
                  "boundary u(0, t) = 0 with points = 10")
    (warning,) = by_code(findings(source), "A502")
    assert warning.severity == "warning" and warning.span.line == 5
    assert warning.message.startswith("no boundary condition at x = 1")
    assert data(warning)["face"] == "x = 1"


def test_every_missing_face_is_named_and_periodic_covers_both():
    domain = "x in [0, 1], y in [-1, 1]"
    source = pinn("-lap(u) = 1", "boundary u(0, y) = u(1, y) with points = 10", domain,
                  loss="residual + fit(boundary)")
    assert [data(w)["face"] for w in by_code(findings(source), "A502")] == ["y = -1", "y = 1"]


def test_too_many_initial_conditions_is_an_error():
    source = pinn("dt(u) = nu * d(u, x, x)", HEAT_CONDITIONS + "\ninitial dt(u)(x, 0) = 0 with points = 10")
    (error,) = by_code(findings(source), "A503")
    assert error.severity == "error" and error.span.line == 8
    assert "first order in t, so u takes one initial condition, u(x, 0)" in error.message
    assert data(error)["condition_order"] == 1


def test_an_initial_condition_without_a_t_derivative_is_an_error():
    source = pinn("-d(u, x, x) = t", HEAT_CONDITIONS)
    (error,) = by_code(findings(source), "A503")
    assert "without a t derivative" in error.message


def test_too_few_initial_conditions_is_a_warning():
    source = pinn("dt(dt(u)) = c^2 * d(u, x, x)", HEAT_CONDITIONS)
    (warning,) = by_code(findings(source), "A504")
    assert warning.severity == "warning"
    assert data(warning)["missing"] == "dt(u)(x, 0)"


# -- Ritz: the Euler-Lagrange equation ----------------------------------------------------------

def test_poisson_ritz_euler_lagrange_and_penalty():
    source = (ROOT / "specs" / "pde" / "poisson_ritz.sciml").read_text()
    _, model, found = front_end(source, "poisson_ritz")
    (note,) = by_code(found, "A505")
    assert data(note)["lhs"] == "-lap(u)"
    assert data(note)["rhs"] == "2*pi^2*sin(pi*x)*sin(pi*y)"
    assert "Dirichlet imposed by the penalty fit(boundary)" in note.help
    assert data(note)["natural"] == ""
    (el,) = ritz.derived(model)
    x, y = sympy.symbols("x y")
    exact = sympy.sin(sympy.pi * x) * sympy.sin(sympy.pi * y)   # the spec's reference solves it
    u = pde_fields.field_function("u", model)
    assert sympy.simplify(el.expr.subs(u, exact).doit()) == 0


def test_a_one_dimensional_energy_with_a_coefficient():
    source = pinn(None, "boundary u(0) = 0 with points = 10", "x in [0, 1]",
                  loss="ritz_energy(1 / 2 * (1 + x^2) * |grad(u)|^2 - x * u) + fit(boundary)")
    source = source.replace("pde None\n", "")
    _, model, found = front_end(source, "m")
    (note,) = by_code(found, "A505")
    # -((1 + x^2) u')' = x, i.e. -(1 + x^2) u'' - 2 x u' = x
    x = sympy.Symbol("x")
    (el,) = ritz.derived(model)
    u = pde_fields.field_function("u", model)
    expected = -(1 + x**2) * sympy.diff(u, x, 2) - 2 * x * sympy.diff(u, x) - x
    assert sympy.simplify(el.expr - expected) == 0
    assert (data(note)["lhs"], data(note)["rhs"]) == ("-d((x^2 + 1)*d(u, x), x)", "x")
    # Dirichlet at x = 0 by the penalty; at x = 1 the natural condition (1 + x^2) u' = 0
    assert data(note)["dirichlet"] == "x = 0" and data(note)["natural"] == "x = 1"
    assert "the flux ((x^2 + 1)*d(u, x)) . n = 0 at x = 1" in note.help
    assert [data(d)["type"] for d in by_code(found, "A501")] == ["elliptic"]


# -- smoothness ----------------------------------------------------------------------------------

def test_relu_under_a_second_derivative_is_an_error():
    source = pinn("dt(u) = nu * d(u, x, x)", HEAT_CONDITIONS, activation="relu")
    (error,) = by_code(findings(source), "E270")
    assert error.severity == "error" and error.span.line == 5
    assert "of order 2 of u(x, t), but network u (relu) is only C^0 (Lipschitz)" in error.message
    assert data(error)["order"] == 2


def test_relu_under_first_derivatives_only_is_fine():
    source = pinn("dt(u) + c * d(u, x) = 0", "initial u(x, 0) = sin(pi * x) with points = 10\n"
                  "boundary u(0, t) = 0 with points = 10", activation="relu")
    assert by_code(findings(source), "E270") == []
    assert by_code(findings(pinn("dt(u) = nu * d(u, x, x)", HEAT_CONDITIONS, activation="softplus")),
                   "E270") == []
