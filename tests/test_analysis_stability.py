"""Deliverable 2 of issue 3: the scheme's stability region against the spectrum (A2xx).

The constants the verdicts use are re-derived here with sympy from the schemes themselves; the
verdicts are checked against the regions numerically (just inside the bound is stable, just
outside is not) and by stepping the linear test problems."""
import cmath
import math

import numpy as np
import pytest
import sympy

from analysis_specs import by_code, data, findings, one_state, pair
from sciml.analysis import stability as st
from sciml.analysis.stability import Spectrum, verdict
from sciml.schemes import registry
from sciml.schemes.registry import FIRST_ORDER

RNG = np.random.default_rng(1)


# -- the regions, derived ----------------------------------------------------------------------

def test_constants_are_what_sympy_derives_from_the_schemes():
    """Every constant a definition's Region gives equals what sympy derives from its stages."""
    assert st.stability_function("euler") == 1 + st.z
    assert st.stability_function("rk4") == sum(st.z**k / sympy.factorial(k) for k in range(5))
    euler, rk4 = registry.lookup("euler").stability, registry.lookup("rk4").stability
    assert st.derive_imaginary_limit("euler") == euler.imaginary_limit == 0
    assert st.derive_real_limit("euler") == euler.real_limit == 2
    assert st.derive_half_disc("euler") == euler.half_disc == 0
    assert st.derive_imaginary_limit("rk4") == rk4.imaginary_limit == 2 * sympy.sqrt(2)
    assert abs(float(st.derive_real_limit("rk4")) - float(rk4.real_limit)) < 1e-12
    assert st.derive_half_disc("rk4") == rk4.half_disc      # 2.6156... rounded down
    for d in registry.DEFINITIONS:
        if d.stability.oscillation_limit is not None:
            assert st.derive_oscillation_limit(d) == d.stability.oscillation_limit == 2, d
    assert sympy.simplify(st.derive_disc_bound("euler") - st.DISC_BOUND) == 0


def test_every_fixed_step_region_is_derived_from_the_stages():
    """region() fills in what a definition leaves out; first-order schemes get R(z) = exp(z) to
    their order (dopri5's fifth-order solution too)."""
    for d in registry.DEFINITIONS:
        if FIRST_ORDER in d.forms and not d.matrix_options:
            taylor = sum(st.z**k / sympy.factorial(k) for k in range(d.order + 1))
            difference = sympy.Poly(sympy.expand(st.stability_function(d) - taylor), st.z)
            assert all(difference.coeff_monomial(st.z**k) == 0 for k in range(d.order + 1)), d.name
        if d.fixed_step and not d.stochastic:   # SDE schemes: mean-square stability (issue 12)
            assert st.region(d) is not None


def test_rk4_region_contains_the_half_disc():
    """Every point of {|z| <= half_disc, Re z <= 0} on a fine polar grid is inside."""
    inside = st.region_test("rk4")
    r_max = float(st.region("rk4").half_disc)
    for theta in np.linspace(math.pi / 2, 3 * math.pi / 2, 721):
        ray = cmath.exp(1j * theta)
        for r in np.linspace(0, r_max, 261):
            assert inside(r * ray), (r, theta)
    # and it is nearly the largest such disc: some point at radius 2.62 is outside
    assert not all(inside(2.62 * cmath.exp(1j * t)) for t in np.linspace(math.pi / 2, 3 * math.pi / 2, 721))


# -- verdicts against the regions ----------------------------------------------------------------

def _amplification(scheme, z):
    return abs(1 + z) if scheme == "euler" else abs(1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24)


@pytest.mark.parametrize("scheme", ["euler", "rk4"])
@pytest.mark.parametrize("gamma,omega", [(0.1, 1.0), (0.5, 3.0), (2.0, 0.5)])
def test_damped_bound_is_sharp_for_euler_and_safe_for_rk4(scheme, gamma, omega):
    v = verdict(scheme, Spectrum(st.DAMPED, radius=sympy.Float(omega), damping=sympy.Float(gamma)))
    assert v.kind == st.BOUNDED
    h = float(v.bound)
    # every eigenvalue s(-gamma + i w), |w| <= omega, s in [0, 1], is inside at h
    for s in np.linspace(0, 1, 41):
        for w in np.linspace(-omega, omega, 41):
            assert _amplification(scheme, h * s * complex(-gamma, w)) <= 1 + 1e-9
    if scheme == "euler":   # sharp: just above h, the extreme eigenvalue is amplified
        assert _amplification(scheme, 1.01 * h * complex(-gamma, omega)) > 1


def test_forward_euler_on_an_undamped_antisymmetric_spectrum_is_unstable_for_every_h():
    v = verdict("euler", Spectrum(st.IMAGINARY, radius=sympy.Symbol("w", positive=True)))
    assert v.kind == st.UNSTABLE
    for h in (1e-4, 1e-2, 1.0):
        assert abs(1 + h * 1j) > 1


def test_parabolic_bounds():
    rho = sympy.Symbol("rho", positive=True)
    assert verdict("euler", Spectrum(st.NEGATIVE_REAL, radius=rho)).bound == 2 / rho
    assert verdict("rk4", Spectrum(st.NEGATIVE_REAL, radius=rho)).bound == st.region("rk4").real_limit / rho


def test_leapfrog_and_verlet_on_oscillations():
    """Step y'' = -w^2 y with leapfrog just below and just above h = 2/w."""
    w = 3.0
    v = verdict("leapfrog", Spectrum(st.OSCILLATION, radius=sympy.Float(w)))
    assert v.kind == st.BOUNDED and v.strict and abs(float(v.bound) - 2 / w) < 1e-12

    def peak(h, steps=2000):
        y_prev, y = 1.0, 1.0
        top = 1.0
        for _ in range(steps):
            y_prev, y = y, 2 * y - y_prev - h * h * w * w * y
            top = max(top, abs(y))
        return top

    assert peak(0.95 * 2 / w) < 50
    assert peak(1.05 * 2 / w) > 1e6
    assert verdict("verlet", Spectrum(st.IMAGINARY, radius=sympy.Float(w))).bound == v.bound


def test_explicit_eigenvalues_numeric_and_symbolic():
    v = verdict("euler", Spectrum(st.EXPLICIT, eigenvalues=(sympy.S(-1) + sympy.I, sympy.S(-1) - sympy.I, 0)))
    assert v.kind == st.BOUNDED and v.bound == 1
    a = sympy.Symbol("a", real=True)
    v = verdict("euler", Spectrum(st.EXPLICIT, eigenvalues=(-a + sympy.I * a, -a - sympy.I * a)))
    assert v.bound == 1 / a and v.requires == (sympy.StrictGreaterThan(a, 0),)
    v = verdict("rk4", Spectrum(st.EXPLICIT, eigenvalues=(sympy.S(-3) + sympy.I,)))
    h = float(v.bound)
    assert _amplification("rk4", h * complex(-3, 1)) <= 1 + 1e-9
    assert _amplification("rk4", 1.01 * h * complex(-3, 1)) > 1
    assert verdict("euler", Spectrum(st.EXPLICIT, eigenvalues=(sympy.I, -sympy.I))).kind == st.UNSTABLE


# -- verdicts in specs -------------------------------------------------------------------------

def stability_of(source, **kw):
    items = by_code(findings(source, **kw), "A2")
    assert len(items) == 1, items
    return items[0], data(items[0])


def test_undamped_antisymmetric_euler_is_an_error_with_a_remedy():
    d, info = stability_of(one_state("tanh((K - K^T) * Y + b)"), allow_unstable=False)
    assert d.code == "A201" and d.severity == "error" and info["verdict"] == "unstable"
    assert "for every h" in d.message
    assert "0.05013 <= gamma <= 19.95" in d.help and "rk4" in d.help
    assert "--allow-unstable" in d.help


def test_allow_unstable_makes_it_a_warning():
    d, info = stability_of(one_state("tanh((K - K^T) * Y + b)"), allow_unstable=True)
    assert d.code == "A201" and d.severity == "warning" and info["allowed"] is True


def test_the_prescribed_damping_is_stable():
    """The remedy's gamma, put into the spec, turns A201 into a bound that the reference weight
    norm 1 satisfies."""
    source = one_state("tanh((K - K^T - g * I) * Y + b)", consts=", g = 0.06")
    d, info = stability_of(source)
    assert d.code == "A202" and info["weight_limit_value"] >= 1.0


def test_damped_antisymmetric_euler_is_a_warning_with_the_weight_limit():
    d, info = stability_of(one_state("tanh((K - K^T - gamma * I) * Y + b)"))
    assert d.code == "A202" and d.severity == "warning"
    assert info["bound"] == "2*gamma/(gamma^2 + norm2(K - K^T)^2)"
    assert info["h"] == 0.1
    assert abs(info["weight_limit_value"] - math.sqrt(2 * 0.1 / 0.1 - 0.01)) < 1e-9
    assert "norm2(K - K^T) <= 1.411 at every step" in d.message


def test_parabolic_euler_bound():
    d, info = stability_of(one_state("-K^T * tanh(K * Y + b)", steps=16))
    assert info["bound"] == "2/norm2(K)^2" and abs(info["weight_limit_value"] - math.sqrt(32)) < 1e-9


def test_rk4_on_antisymmetric_is_bounded_by_2_sqrt_2():
    d, info = stability_of(one_state("tanh((K - K^T) * Y + b)", scheme="rk4"))
    assert d.code == "A202" and info["bound"] == "2*sqrt(2)/norm2(K - K^T)"


def test_hamiltonian_verlet_bound_and_euler_refusal():
    f, g = "K1^T * tanh(K1 * Z + b1)", "-K2^T * tanh(K2 * Y + b2)"
    d, info = stability_of(pair(f, g))
    assert d.code == "A202" and info["bound"] == "2/(norm2(K1)*norm2(K2))" and info["strict"]
    d, _ = stability_of(pair(f, g, scheme="euler"), allow_unstable=False)
    assert d.code == "A201" and "verlet" in d.help


def test_leapfrog_on_second_order():
    d, info = stability_of(one_state("-K^T * tanh(K * Y + b)", scheme="leapfrog", second_order=True))
    assert d.code == "A202" and info["bound"] == "2/norm2(K)" and abs(info["weight_limit_value"] - 20) < 1e-9


def test_bound_known_from_constants_checks_the_step():
    source = one_state("A * Y + 0 * b", consts=", A = [[-3, 1], [-1, -3]]", steps=1, scheme="rk4")
    d, info = stability_of(source, allow_unstable=False)
    assert d.code == "A201" and "use at least 2 steps" in d.help
    d, info = stability_of(one_state("A * Y + 0 * b", consts=", A = [[-3, 1], [-1, -3]]", steps=2, scheme="rk4"))
    assert d.code == "A204" and d.severity == "note" and info["bound_value"] > 0.5


def test_anti_diffusion_is_refused():
    d, _ = stability_of(one_state("K^T * tanh(K * Y + b)"), allow_unstable=False)
    assert d.code == "A201" and "grows" in d.message


def test_structure_unknown_gives_no_verdict():
    source = one_state("F(Y) + 0 * b", params="\nnet F(u) = mlp(2 -> 8 -> 2, tanh)")
    d, info = stability_of(source)
    assert d.code == "A205" and d.severity == "note" and info["verdict"] == "unknown"


def test_imex_implicit_part_is_stable_for_every_h():
    consts = ", L = [[1, -1], [-1, 1]]"
    items = by_code(findings(one_state("-K^T * tanh(K * Y + b)", scheme="imex", consts=consts,
                                       options=", L = L")), "A20")
    codes = sorted(d.code for d in items)
    assert codes == ["A202", "A203"]    # the explicit part: tests/test_imex_verdict.py
    (implicit,) = [d for d in items if d.code == "A203"]
    assert "(eigenvalues 0, 2)" in implicit.message


def test_a_trained_damping_gives_a_condition():
    source = one_state("tanh((K - K^T - g * I) * Y + b)", params="\nparam g : R = 0.1")
    d, info = stability_of(source)
    assert d.code == "A202" and info["requires"] == "g > 0"
