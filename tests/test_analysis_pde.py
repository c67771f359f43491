"""Issue 10, item 5: the analysis of PDE models (docs/analysis.md, "PDE models").

The type of each principal part (A501), the conditions counted against the orders and the
characteristic directions (A502-A504, A506, A507), the Euler-Lagrange equation of a Ritz energy
with its natural condition (A505), repeated and contradictory conditions (A508, E271), and an
activation too rough for the residual's order (E270)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sympy

from analysis_specs import by_code, data, findings
from sciml.analysis import pde_fields, ritz
from sciml.lowering import family_symbols as F
from sciml.lowering import symbols as S
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


# -- boundary conditions by the characteristic direction (transport) ---------------------------

IC = "initial u(x, 0) = sin(pi * x) with points = 10\n"


def test_transport_names_the_inflow_face_and_an_outflow_condition_over_determines():
    source = pinn("dt(u) + c * d(u, x) = 0", IC + "boundary u(1, t) = 0 with points = 10")
    found = findings(source)
    (missing,) = by_code(found, "A502")
    assert missing.severity == "warning" and missing.span.line == 5
    assert missing.message.startswith("no boundary condition at x = 0 for u: u is carried at speed c = 2")
    assert "x = 0 is the inflow face, x = 1 is the outflow face" in missing.message
    assert (data(missing)["face"], data(missing)["needed"], data(missing)["given"]) == ("x = 0", 1, 0)
    (surplus,) = by_code(found, "A506")
    assert surplus.severity == "warning" and surplus.span.line == 7
    assert surplus.message.startswith("u(1, t) at the outflow face x = 1 over-determines u")
    assert "the inflow face x = 0" in surplus.help


def test_transport_with_the_inflow_condition_only_is_quiet():
    source = pinn("dt(u) + c * d(u, x) = 0", IC + "boundary u(0, t) = 0 with points = 10")
    assert [d.code for d in by_code(findings(source), "A50")] == ["A501"]


@pytest.mark.parametrize("pde, inflow", [("dt(u) - c * d(u, x) = 0", "x = 1"),      # speed -2
                                         ("2 * dt(u) = -c * d(u, x)", "x = 0"),     # speed c/2 = 1
                                         ("dt(u) + (1 + t) * d(u, x) = 0", "x = 0")])  # speed > 0 for t >= 0
def test_the_sign_of_the_speed_decides_the_inflow_face(pde, inflow):
    (missing,) = by_code(findings(pinn(pde, IC.rstrip(), loss="residual + fit(initial)")), "A502")
    assert data(missing)["face"] == inflow
    assert f"{inflow} is the inflow face" in missing.message


def test_a_speed_that_vanishes_or_leaves_at_both_faces_takes_no_condition():
    # x - 1/2: -1/2 at x = 0, 1/2 at x = 1: both outflow; x: 0 at x = 0 (characteristic)
    for pde in ("dt(u) + (x - 0.5) * d(u, x) = 0", "dt(u) + x * d(u, x) = 0"):
        found = findings(pinn(pde, IC + "boundary u(0, t) = 0 with points = 10"))
        assert by_code(found, "A502") == []
        (surplus,) = by_code(found, "A506")
        assert data(surplus)["face"] == "x = 0" and data(surplus)["needed"] == 0


def test_a_learned_speed_is_judged_at_its_initial_value():
    source = pinn("dt(u) + a * d(u, x) = 0", IC + "boundary u(0, t) = 0 with points = 10")
    source = source.replace("domain", "param a : R = -1.0\ndomain")
    found = findings(source)
    assert [data(d)["face"] for d in by_code(found, "A502")] == ["x = 1"]
    assert [data(d)["face"] for d in by_code(found, "A506")] == ["x = 0"]
    assert "(a is learned: judged at its initial value -1" in by_code(found, "A502")[0].message


def test_a_speed_that_reads_the_field_is_not_guessed():
    for conditions, loss in (("", "residual + fit(initial)"),
                             ("\nboundary u(0, t) = 0, u(1, t) = 0 with points = 10",
                              "residual + fit(initial) + fit(boundary)")):
        found = findings(pinn("dt(u) + u * d(u, x) = 0", IC.rstrip() + conditions, loss=loss))
        assert by_code(found, "A502") + by_code(found, "A506") == []
        (note,) = by_code(found, "A507")
        assert note.severity == "note"
        assert "u is carried at speed u in x, which reads the field" in note.message
        assert "x = 0 where the speed is > 0" in note.help


def test_a_periodic_pair_covers_transport_and_a_condition_beside_it_over_determines():
    assert by_code(findings(pinn("dt(u) + c * d(u, x) = 0", IC + "boundary u(0, t) = u(1, t) "
                                 "with points = 10")), "A50") == \
        by_code(findings(pinn("dt(u) + c * d(u, x) = 0", IC + "boundary u(0, t) = u(1, t) "
                              "with points = 10")), "A501")
    found = findings(pinn("dt(u) = nu * d(u, x, x)", IC + "boundary u(0, t) = u(1, t), u(0, t) = 0 "
                          "with points = 10"))
    (surplus,) = by_code(found, "A506")
    assert "x is periodic for it (u(0, t) = u(1, t))" in surplus.message


# -- two conditions on one face -----------------------------------------------------------------

def test_a_repeated_condition_is_a_warning_and_counted_once():
    source = pinn("dt(u) = nu * d(u, x, x)", IC + "boundary u(0, t) = 0, u(0, t) = 0, u(1, t) = 0 "
                  "with points = 10")
    found = front_end(source, "m")[2]          # no error: the spec compiles
    (repeat,) = by_code(found, "A508")
    assert repeat.severity == "warning" and (repeat.span.line, repeat.span.column) == (7, 23)
    assert "repeats the condition of line 7, column 10" in repeat.message
    assert by_code(found, "A506") == []       # not also "two conditions at x = 0"


def test_contradictory_constant_values_are_an_error():
    source = pinn("dt(u) = nu * d(u, x, x)", IC + "boundary u(0, t) = 0, u(0, t) = 1, u(1, t) = 0 "
                  "with points = 10")
    (error,) = by_code(findings(source), "E271")
    assert error.severity == "error" and data(error)["difference"] == pytest.approx(1.0)
    assert error.message.startswith("u(0, t) = 1 and u(0, t) = 0 (line 7, column 10) contradict")
    # initial values that differ somewhere on the slice t = 0: sin(pi x) against 0
    source = pinn("dt(u) = nu * d(u, x, x)", "initial u(x, 0) = sin(pi * x), u(x, 0) = 0 with points = 10\n"
                  "boundary u(0, t) = 0, u(1, t) = 0 with points = 10")
    (error,) = by_code(findings(source), "E271")
    assert data(error)["difference"] == pytest.approx(np.sin(np.pi * 0.5 ** 0.5))


def test_values_equal_after_rewriting_repeat_and_learned_values_may_contradict():
    repeat = pinn("dt(u) = nu * d(u, x, x)", IC + "boundary u(0, t) = sin(t)^2 + cos(t)^2, u(0, t) = 1, "
                  "u(1, t) = 0 with points = 10")
    assert [d.severity for d in by_code(findings(repeat), "A508")] == ["warning"]
    assert by_code(findings(repeat), "E271") == []
    maybe = pinn("dt(u) = nu * d(u, x, x)", IC + "boundary u(0, t) = 0, u(0, t) = a, u(1, t) = 0 "
                 "with points = 10").replace("domain", "param a : R = 1.0\ndomain")
    (warning,) = by_code(findings(maybe), "A508")
    assert "may contradict" in warning.message and by_code(findings(maybe), "E271") == []


def test_two_kinds_of_condition_on_one_face_of_the_heat_equation():
    found = findings(pinn("dt(u) = nu * d(u, x, x)", IC + "boundary u(0, t) = 0, d(u, x)(0, t) = 0 "
                          "with points = 10"))
    assert [data(d)["face"] for d in by_code(found, "A502")] == ["x = 1"]
    (surplus,) = by_code(found, "A506")
    assert surplus.message.startswith("u has 2 boundary conditions at x = 0, which takes 1: "
                                      "d(u, x)(0, t) over-determines it")
    assert surplus.help == "remove it, or move it to x = 1, which is short of one"


def test_a_grid_still_refuses_two_conditions_at_an_end():
    source = (ROOT / "specs" / "pde" / "heat_neural_source.sciml").read_text()
    source = source.replace("boundary u(0, t) = 0, u(1, t) = 0",
                            "boundary u(0, t) = 0, u(0, t) = 1, u(1, t) = 0")
    assert [d.code for d in findings(source) if d.severity == "error"] == ["E304"]


# -- orders 3 and more ---------------------------------------------------------------------------

def test_kdv_takes_two_conditions_at_the_end_its_waves_enter():
    found = findings(pinn("dt(u) + u * d(u, x) + d(u, x, x, x) = 0", IC + "boundary u(0, t) = 0 "
                          "with points = 10"))
    assert [data(d)["type"] for d in by_code(found, "A501")] == ["dispersive"]
    (missing,) = by_code(found, "A502")
    assert (data(missing)["face"], data(missing)["needed"], data(missing)["given"]) == ("x = 1", 2, 0)
    assert "x = 0 takes 1 and x = 1 takes 2" in missing.message and "assumed" in missing.message
    assert missing.help == "add e.g.: boundary u(1, t) = 0, d(u, x)(1, t) = 0"
    good = pinn("dt(u) + u * d(u, x) + d(u, x, x, x) = 0", IC + "boundary u(0, t) = 0, u(1, t) = 0, "
                "d(u, x)(1, t) = 0 with points = 10")
    assert by_code(findings(good), "A502") + by_code(findings(good), "A506") == []
    # the opposite sign mirrors the count: two at x = 0
    mirrored = pinn("dt(u) - d(u, x, x, x) = 0", IC + "boundary u(0, t) = 0, u(1, t) = 0, "
                    "d(u, x)(1, t) = 0 with points = 10")
    found = findings(mirrored)
    assert [(data(d)["face"], data(d)["needed"]) for d in by_code(found, "A502")] == [("x = 0", 2)]
    assert [(data(d)["face"], data(d)["needed"]) for d in by_code(found, "A506")] == [("x = 1", 1)]


def test_a_fourth_order_operator_takes_two_conditions_per_face():
    one_d = dict(domain="x in [0, 1]", loss="residual + fit(boundary)")
    found = findings(pinn("d(u, x, x, x, x) = 1", "boundary u(0) = 0, u(1) = 0 with points = 10", **one_d))
    assert [data(d)["type"] for d in by_code(found, "A501")] == ["elliptic"]
    assert [(data(d)["face"], data(d)["needed"], data(d)["given"]) for d in by_code(found, "A502")] == \
        [("x = 0", 2, 1), ("x = 1", 2, 1)]
    assert "assumed elliptic in x" in by_code(found, "A502")[0].message
    clamped = pinn("d(u, x, x, x, x) = 1", "boundary u(0) = 0, u(1) = 0, d(u, x)(0) = 0, d(u, x)(1) = 0 "
                   "with points = 10", **one_d)
    assert by_code(findings(clamped), "A502") + by_code(findings(clamped), "A506") == []


def test_the_biharmonic_operator_is_elliptic_of_order_four():
    source = (ROOT / "tests" / "pde_specs" / "clamped_plate.sciml").read_text()
    found = findings(source)
    (note,) = by_code(found, "A501")
    assert data(note)["type"] == "elliptic" and data(note)["order"] == 4
    assert "Q(k) = k_x^4 + 2*k_x^2*k_y^2 + k_y^4" in note.message
    assert by_code(found, "A502") + by_code(found, "A506") == []
    slopes_in_y = "boundary d(u, y)(x, 0) = 0, d(u, y)(x, 1) = 0                 with points = 25\n"
    assert slopes_in_y in source
    unclamped = source.replace(slopes_in_y, "")
    assert [data(d)["face"] for d in by_code(findings(unclamped), "A502")] == ["y = 0", "y = 1"]


@pytest.mark.parametrize("pde, kind", [("dt(u) + d(u, x, x, x, x) = 0", "parabolic"),
                                       ("dt(u) = d(u, x, x, x, x)", "backward parabolic")])
def test_fourth_order_in_space_and_first_in_time(pde, kind):
    [(found, severity)] = types(pinn(pde, IC + "boundary u(0, t) = 0, u(1, t) = 0, d(u, x)(0, t) = 0, "
                                     "d(u, x)(1, t) = 0 with points = 10"))
    assert found == kind and severity == ("warning" if kind.startswith("backward") else "note")


def test_an_ode_in_x_takes_its_order_in_all_at_either_end():
    one_d = dict(domain="x in [0, 1]", loss="residual + fit(boundary)")
    assert by_code(findings(pinn("d(u, x) = 1", "boundary u(1) = 0 with points = 10", **one_d)), "A50") == \
        by_code(findings(pinn("d(u, x) = 1", "boundary u(1) = 0 with points = 10", **one_d)), "A501")
    found = findings(pinn("d(u, x) = 1", "boundary u(0) = 0, u(1) = 0 with points = 10", **one_d))
    (surplus,) = by_code(found, "A506")
    assert (data(surplus)["needed"], data(surplus)["given"]) == (1, 2) and surplus.span.column == 20


# -- systems ----------------------------------------------------------------------------------------

PAIR = """model m : pinn
const nu = 0.1, c = 2
domain x in [0, 1], t in [0, 1]
net u(x, t) = mlp(2 -> 8 -> 1, tanh)
net v(x, t) = mlp(2 -> 8 -> 1, tanh)
pde {first}
pde {second}
initial u(x, 0) = sin(pi * x), v(x, 0) = 0 with points = 10
{boundary}
scheme collocation(interior = uniform(100))
loss   residual + fit(initial) + fit(boundary)
train  adam(lr = 1e-3, steps = 10)
"""


def pair(first, second, boundary):
    return PAIR.format(first=first, second=second, boundary=boundary)


def test_a_reaction_diffusion_pair_is_judged_per_field():
    found = findings(pair("dt(u) = nu * d(u, x, x) - u * v", "dt(v) = d(v, x, x) + u",
                          "boundary u(0, t) = 0, u(1, t) = 0, v(0, t) = 0 with points = 10"))
    assert [(data(d)["field"], data(d)["type"], d.span.line) for d in by_code(found, "A501")] == \
        [("u", "parabolic", 6), ("v", "parabolic", 7)]          # not "no derivative in v"
    (missing,) = by_code(found, "A502")
    assert missing.message.startswith("no boundary condition at x = 1 for v")
    assert missing.span.line == 7 and data(missing)["field"] == "v"


def test_the_wave_equation_as_a_first_order_system():
    wave = ("dt(u) = d(v, x)", "dt(v) = c^2 * d(u, x)")
    found = findings(pair(*wave, "boundary u(0, t) = 0, u(1, t) = 0 with points = 10"))
    notes = by_code(found, "A501")
    assert [(data(d)["field"], data(d)["type"]) for d in notes] == [("u", "hyperbolic"), ("v", "hyperbolic")]
    assert "A = [[0, -1], [-c^2, 0]], whose characteristic speeds are -c, c" in notes[0].message
    assert by_code(found, "A502") + by_code(found, "A506") == []
    # speeds -c and c: one condition enters at each end, on u or on v
    found = findings(pair(*wave, "boundary u(0, t) = 0, v(0, t) = 0 with points = 10"))
    assert [(data(d)["face"], data(d)["field"]) for d in by_code(found, "A502")] == [("x = 1", "u, v")]
    (surplus,) = by_code(found, "A506")
    assert data(surplus)["face"] == "x = 0" and surplus.span.line == 9


def test_a_first_order_system_with_complex_speeds_is_not_hyperbolic():
    found = findings(pair("dt(u) = -d(v, x)", "dt(v) = d(u, x)", "boundary u(0, t) = 0, u(1, t) = 0 "
                          "with points = 10"))
    assert [(data(d)["type"], d.severity) for d in by_code(found, "A501")] == \
        [("not hyperbolic", "warning")] * 2
    assert [d.severity for d in by_code(found, "A507")] == ["note"]


# -- the initial velocity -----------------------------------------------------------------------

def test_an_initial_velocity_is_written_dt_or_d_in_t_and_counted():
    for velocity in ("dt(u)(x, 0) = 0", "d(u, t)(x, 0) = 0"):
        source = pinn("dt(dt(u)) = c^2 * d(u, x, x)", f"initial u(x, 0) = sin(pi * x), {velocity} "
                      "with points = 10\nboundary u(0, t) = 0, u(1, t) = 0 with points = 10")
        _, model, found = front_end(source, "m")
        assert by_code(found, "A50") == by_code(found, "A501")
        velocity_condition = model.conditions[1]
        x, t = sympy.symbols("x t")
        assert velocity_condition.kind == "initial" and velocity_condition.fixed == (("t", 0.0),)
        assert velocity_condition.lhs == F.Partial(S.NetCall(sympy.Symbol("u"), x, t), t)


def test_an_initial_space_derivative_is_not_an_initial_condition_of_the_order():
    beside = pinn("dt(u) = nu * d(u, x, x)", "initial u(x, 0) = sin(pi * x), d(u, x)(x, 0) = 0 with "
                  "points = 10\nboundary u(0, t) = 0, u(1, t) = 0 with points = 10")
    (surplus,) = by_code(findings(beside), "A506")
    assert surplus.message.startswith("d(u, x)(x, 0) over-determines u: u(x, 0) is given")
    alone = pinn("dt(u) = nu * d(u, x, x)", "initial d(u, x)(x, 0) = 0 with points = 10\n"
                 "boundary u(0, t) = 0, u(1, t) = 0 with points = 10")
    (missing,) = by_code(findings(alone), "A504")
    assert data(missing)["missing"] == "u(x, 0)" and "only up to a constant" in missing.message
