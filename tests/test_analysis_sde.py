"""Issue 12, item 5: the analysis of SDE models (docs/analysis.md, "SDE models").

A601: the diffusion additive or state-dependent, with the strong order that follows; A602: the
sense (Itô or Stratonovich) and the Itô drift correction 1/2 g g' by sympy; A206: mean-square
stability of the stochastic step on dX = a X dt + b X dW, derived from the scheme's stage and
checked here against the closed forms and against Monte Carlo runs of the step."""
from __future__ import annotations

import numpy as np
import pytest
import sympy

from analysis_specs import by_code, data, findings
from sciml.analysis import sde_noise, sde_stability, sde_terms
from sciml.schemes import derive
from sciml.schemes.algebra import h

SDE = """model m : sde
const a = {a}, b = {b}, N = {steps}, T = 1.0
data train = generate ou_paths(theta = 1.0, mu = 0.0, sigma = 0.5, x0 = 1.0, paths = 100, steps = N, T = T, seed = 0)
noise W : R
state X : R
{declarations}
sde     d(X) = {drift} * dt + {diffusion} * dW
initial X(0) = 1.0
scheme  {scheme}(N, T, paths = 100{options})
loss  mse(mean(X(train.t), over = paths), mean(train.x, over = train)){loss}
train adam(lr = 1e-2, steps = 10)
"""


def sde(drift="a * X", diffusion="b * X", a="-2.0", b="0.5", steps=10, scheme=None, options="",
        declarations="", loss=""):
    _, plain = sde_noise.corrected_and_plain()
    return SDE.format(a=a, b=b, steps=steps, drift=drift, diffusion=diffusion,
                      scheme=scheme or plain.name, options=options, declarations=declarations, loss=loss)


def plain_and_corrected():
    corrected, plain = sde_noise.corrected_and_plain()
    return plain, corrected


def one(items, code):
    found = by_code(items, code)
    assert len(found) == 1, [d.message for d in items]
    return found[0]


# -- the mean-square factor, derived from the stages -------------------------------------------

def test_the_mean_square_factors_are_the_known_ones():
    """Euler-Maruyama: |1 + h a|^2 + h b^2; Milstein adds h^2 b^4 / 2; both from the stages."""
    plain, corrected = plain_and_corrected()
    a, b = derive.a, derive.b
    assert sympy.expand(derive.mean_square_factor(plain) - ((1 + h * a) ** 2 + h * b ** 2)) == 0
    assert sympy.expand(derive.mean_square_factor(corrected)
                        - ((1 + h * a) ** 2 + h * b ** 2 + h ** 2 * b ** 4 / 2)) == 0
    rate, limit = sde_stability.bound(plain, True)
    assert rate == 2 * a + b ** 2 and sympy.simplify(limit + (2 * a + b ** 2) / a ** 2) == 0
    rate, limit = sde_stability.bound(corrected, True)
    assert sympy.simplify(limit + (2 * a + b ** 2) / (a ** 2 + b ** 4 / 2)) == 0
    # Stratonovich: the step integrates the Itô drift (a + b^2/2) X
    rate, limit = sde_stability.bound(plain, False)
    assert sympy.expand(rate - (2 * a + 2 * b ** 2)) == 0
    assert sympy.simplify(limit + (2 * a + 2 * b ** 2) / (a + b ** 2 / 2) ** 2) == 0


@pytest.mark.parametrize("corrected", [False, True])
def test_the_factor_is_what_the_step_does_on_many_paths(corrected):
    """E|X_1|^2 / |X_0|^2 over 2 million draws of one step agrees with the derived factor."""
    rng = np.random.default_rng(0)
    a, b, step = -1.5, 0.8, 0.3
    dw = rng.normal(0.0, np.sqrt(step), 2_000_000)
    x1 = 1.0 + step * a + b * dw + (0.5 * b * b * (dw ** 2 - step) if corrected else 0.0)
    definition = plain_and_corrected()[corrected]
    factor = float(derive.mean_square_factor(definition).subs({derive.a: a, derive.b: b, h: step}))
    assert abs(np.mean(x1 ** 2) - factor) < 5e-3 * factor


@pytest.mark.parametrize("corrected", [False, True])
def test_just_inside_the_bound_decays_and_just_outside_grows(corrected):
    definition = plain_and_corrected()[corrected]
    factor = derive.mean_square_factor(definition)
    for a, b in [(-2.0, 0.5), (-1.0, 1.2), (-10.0, 3.0)]:
        _, limit = sde_stability.bound(definition, True)
        value = float(limit.subs({derive.a: a, derive.b: b}))
        at = lambda step: float(factor.subs({derive.a: a, derive.b: b, h: step}))
        assert at(0.99 * value) < 1 < at(1.01 * value), (a, b, value)


# -- A206 --------------------------------------------------------------------------------------

def test_a_step_inside_the_bound_is_a_note_with_the_bound():
    """a = -2, b = 0.5: h < -(2a + b^2)/a^2 = 0.9375; h = 0.1."""
    found = one(findings(sde()), "A206")
    assert found.severity == "note" and data(found)["verdict"] == "stable"
    assert data(found)["bound"] == "-(2*a + b^2)/a^2"
    assert data(found)["bound_value"] == pytest.approx(0.9375)
    assert "h = 0.1 < -(2*a + b^2)/a^2 = 0.9375" in found.message
    assert "(a*h + 1)^2 + b^2*h" in found.help and found.span.line == 9


def test_a_step_beyond_the_bound_is_an_error_with_the_steps_it_needs():
    """a = -20, b = 1: h < (40 - 1)/400 = 0.0975, but h = 0.1; 11 steps keep it."""
    source = sde(a="-20.0", b="1.0")
    found = one(findings(source, allow_unstable=False), "A206")
    assert found.severity == "error" and data(found)["verdict"] == "unstable"
    assert data(found)["bound_value"] == pytest.approx(0.0975)
    assert "not mean-square stable at this step" in found.message
    grows = float(derive.mean_square_factor(plain_and_corrected()[0]).subs({derive.a: -20, derive.b: 1, h: 0.1}))
    assert f"grows by {grows:.4g} per step" in found.message and grows > 1
    assert "use at least 11 steps" in found.help
    assert one(findings(source, allow_unstable=True), "A206").severity == "warning"
    assert one(findings(sde(a="-20.0", b="1.0", steps=11)), "A206").severity == "note"


def test_the_same_step_under_milstein_has_its_own_bound():
    """Milstein's bound -(2a + b^2)/(a^2 + b^4/2) is below Euler-Maruyama's."""
    _, corrected = plain_and_corrected()
    found = one(findings(sde(a="-1.0", b="1.0", scheme=corrected.name, steps=2)), "A206")
    # -(2a + b^2)/(a^2 + b^4/2) = 1/(3/2) = 0.667 > h = 0.5; Euler-Maruyama's is 1
    assert found.severity == "note" and data(found)["bound_value"] == pytest.approx(2 / 3)
    assert one(findings(sde(a="-1.0", b="1.0", steps=2)), "A206").severity == "note"
    assert one(findings(sde(a="-1.0", b="1.0", scheme=corrected.name, steps=1), False), "A206").severity == "error"


def test_an_sde_that_grows_in_mean_square_is_a_note_not_an_error():
    """2a + b^2 >= 0: E|X|^2 of the sde itself grows (the model's growth, as geometric Brownian
    motion's); no h is mean-square stable, and none is asked for."""
    found = one(findings(sde(a="0.5", b="1.0")), "A206")
    assert found.severity == "note" and "the sde itself grows in mean square" in found.message
    assert "rate 2*a + b^2 = 2 >= 0" in found.message


def test_numbers_written_into_the_sde_give_the_bound_as_a_number():
    found = one(findings(sde(drift="-2 * X", diffusion="0.5 * X")), "A206")
    assert "h = 0.1 < 0.9375" in found.message and data(found)["a"] == "-2"


def test_a_learned_coefficient_makes_a_runtime_bound():
    source = sde(drift="k * X", declarations="param k : R = -2.0", loss=" + k^2")
    found = one(findings(source), "A206")
    assert found.severity == "note" and data(found)["runtime"] is True
    assert "a runtime bound: k is learned" in found.message
    assert "-(b^2 + 2*k)/k^2" in found.message and "at the initial values (k = -2) the bound is 0.9375" in found.message
    bad = one(findings(sde(drift="k * X", declarations="param k : R = -20.0", b="1.0", loss=" + k^2")), "A206")
    assert bad.severity == "warning" and "which it exceeds" in bad.message
    drawn = one(findings(sde(drift="k * X", declarations="param k : R ~ normal(-2, 0.1)", loss=" + k^2")), "A206")
    assert drawn.severity == "warning" and "a runtime bound" in drawn.message and "training moves them" in drawn.help


def test_stratonovich_changes_the_bound():
    """ito = false: the step integrates the Itô drift (a + b^2/2) X; a = -2, b = 1: the bound is
    -(2a + 2b^2)/(a + b^2/2)^2 = 2/2.25."""
    found = one(findings(sde(b="1.0", options=", ito = false")), "A206")
    assert data(found)["sense"] == "Stratonovich" and data(found)["bound_value"] == pytest.approx(2 / 2.25)


def test_a_nonlinear_sde_gets_no_verdict_and_says_why():
    source = sde(drift="-X^3", declarations="net g(X) = mlp(1 -> 4 -> 1, tanh)", diffusion="g(X)")
    assert not by_code(findings(source), "A206")
    found = one(findings(source), "A205")
    assert "no mean-square stability verdict" in found.message
    assert "the drift of X, -X^3, is not a constant times X" in found.message
    additive = one(findings(sde(diffusion="b")), "A205")
    assert "the diffusion of X does not read X (additive noise)" in additive.message


# -- A601 --------------------------------------------------------------------------------------

def test_state_dependent_diffusion_by_a_network():
    plain, corrected = plain_and_corrected()
    source = sde(declarations="net g(X) = mlp(1 -> 4 -> 1, tanh)", diffusion="g(X)")
    found = one(findings(source), "A601")
    assert found.span.line == 7 and not data(found)["additive"] and data(found)["networks"] == "g"
    assert "depends on the state: it reads X through the network g" in found.message
    assert f"{plain.short} has strong order 1/2 on it" in found.message
    assert f"here {plain.short}: strong order 1/2" in found.message
    assert f"{corrected.name}(...) raises the strong order to 1" in found.help
    under_milstein = one(findings(sde(declarations="net g(X) = mlp(1 -> 4 -> 1, tanh)", diffusion="g(X)",
                                      scheme=corrected.name)), "A601")
    assert f"here {corrected.short}: strong order 1" in under_milstein.message and not under_milstein.help


def test_state_dependent_diffusion_in_closed_form_with_its_derivative():
    found = one(findings(sde(diffusion="b * sin(X)")), "A601")
    assert "a closed form in X with g' = b*cos(X) (by sympy)" in found.message
    assert data(found)["derivative"] == "b*cos(X)"


def test_additive_noise_gives_euler_maruyama_strong_order_one():
    plain, corrected = plain_and_corrected()
    found = one(findings(sde(diffusion="b * (1 + t)")), "A601")
    assert data(found)["additive"] and data(found)["strong_order"] == "1"
    assert "does not depend on the state (g = b*(t + 1))" in found.message
    assert f"here {plain.short}: strong order 1" in found.message
    milstein = one(findings(sde(diffusion="b", scheme=corrected.name)), "A601")
    assert f"{plain.name}(...) takes the same steps here" in milstein.help


def test_the_corrected_scheme_is_the_plain_one_plus_the_correction():
    """Found by their stages: the plain step is the corrected one without NoiseCorrection."""
    plain, corrected = plain_and_corrected()
    assert sde_noise.has_correction(corrected) and not sde_noise.has_correction(plain)
    assert plain.strong_order == sympy.Rational(1, 2) and corrected.strong_order == 1


# -- A602 --------------------------------------------------------------------------------------

def test_ito_is_stated():
    found = one(findings(sde()), "A602")
    assert data(found)["sense"] == "Ito" and "in the Itô sense (ito = true, the default)" in found.message
    assert "would add 1/2 g g' = X*b^2/2 to the drift of X" in found.message


def test_stratonovich_names_the_ito_drift_correction():
    found = one(findings(sde(diffusion="b * X^2", options=", ito = false")), "A602")
    assert data(found)["sense"] == "Stratonovich"
    assert "in the Stratonovich sense (ito = false)" in found.message
    # g = b X^2, g' = 2 b X: 1/2 g g' = b^2 X^3
    assert "adding 1/2 g g' = X^3*b^2 to the drift of X" in found.message
    assert "d(X) = (X*(X^2*b^2 + a))*dt" in found.message


def test_stratonovich_with_a_network_names_the_correction():
    found = one(findings(sde(declarations="net g(X) = mlp(1 -> 4 -> 1, tanh)", diffusion="g(X)",
                             options=", ito = false")), "A602")
    assert "1/2 g g' to the drift of X, with g' the derivative of the network g in X" in found.message


def test_additive_noise_reads_the_same_in_both_senses():
    found = one(findings(sde(diffusion="b", options=", ito = false")), "A602")
    assert "the noise is additive, so its Itô form is the same sde" in found.message


def test_ito_correction_by_sympy_across_states():
    """Two scalar states, Y's diffusion reading X: 1/2 sum_l g_l dg_Y/dx_l."""
    source = """model m : sde
const N = 10, T = 1.0, s = 0.3
data train = generate ou_paths(theta = 1.0, mu = 0.0, sigma = 0.5, x0 = 1.0, paths = 100, steps = N, T = T, seed = 0)
noise W : R
state X : R, Y : R
sde     d(X) = -X * dt + s * X * dW
        d(Y) = -Y * dt + X * Y * dW
initial X(0) = 1.0, Y(0) = 1.0
scheme  {scheme}(N, T, paths = 100, ito = false)
loss  mse(mean(Y(train.t), over = paths), mean(train.x, over = train))
train adam(lr = 1e-2, steps = 10)
"""
    from sciml.pipeline import front_end
    _, model, found = front_end(source.format(scheme=plain_and_corrected()[0].name), "m.sciml")
    d = sde_terms.diffusions(model)
    x, y, s = sympy.symbols("X Y s")
    # g_X = s X, g_Y = X Y: 1/2 (g_X dg_Y/dX + g_Y dg_Y/dY) = 1/2 (s X Y + X^2 Y)
    correction = sde_terms.ito_correction(model, model.equations[1], d)
    assert sympy.simplify(correction - (s * x * y + x ** 2 * y) / 2) == 0
    y_note = [f for f in found if f.code == "A601" and f.span.line == 7][0]
    assert "derivative in its own state entry (diagonal noise), which misses this dependence" in y_note.help


# -- the zoo -----------------------------------------------------------------------------------

def test_the_zoo_sde_specs():
    from helpers import SPECS
    from sciml.pipeline import front_end
    _, corrected = plain_and_corrected()
    for name, expected in [("neural_sde", {"A601": 1, "A602": 1, "A205": 1}),
                           ("deep_bsde", {"A601": 2, "A602": 1, "A205": 1}),
                           ("score_diffusion", {"A601": 1, "A602": 1})]:
        path = SPECS / "sde" / f"{name}.sciml"
        _, _, found = front_end(path.read_text(), str(path))
        counts = {code: len(by_code(found, code)) for code in expected}
        assert counts == expected, (name, [f.message for f in found])
        assert not by_code(found, "A206")
    _, _, found = front_end((SPECS / "sde" / "neural_sde.sciml").read_text(), "neural_sde.sciml")
    assert f"here {corrected.short}: strong order 1" in by_code(found, "A601")[0].message
