"""Diffusion models (kind diffusion): the transition kernel sympy derives for an affine forward
sde, against the closed forms of VE and VP and against the moment ODEs; the dsm loss of the
emitted module against numpy and torch against JAX in float64; the samplers (reverse SDE and
probability-flow ODE) on Gaussian data with the exact score put in place of the network, whose
samples must have the data's mean and variance; their start, the forward marginal's moments at T;
and the E-codes of what has no Gaussian kernel."""
import numpy as np
import pytest
import sympy

from helpers import load_module
from sciml.frontend.diagnostics import SpecError
from sciml.lowering import ir
from sciml.lowering import family_symbols as F
from sciml.lowering import symbols as S
from sciml.lowering.reverse_sde import TIME, KernelError, forward_sde, reverse_sde, transition_kernel
from sciml.pipeline import compile_spec, front_end

SPEC = """
model gauss_{name} : diffusion
const sigma = 10, beta_min = 0.1, beta_max = 20, N = {steps}, T = 1.0
data train = generate two_moons(samples = 1000, seed = 0)
noise W : R[2]
state x : R[2]
net s(x, t) = mlp(3 -> 16 -> 2, tanh)
sde d(x) = {sde}
initial x(0) = train.x
scheme reverse_sampler(N, T, score = s, paths = 100)
loss dsm(s, train.x{weight})
train adam(lr = 1e-3, steps = 1, batch = 64)
report x(0)
"""
VE = "sigma^t * dW"
VP = "-(beta_min + (beta_max - beta_min) * t) / 2 * x * dt + sqrt(beta_min + (beta_max - beta_min) * t) * dW"
sigma, b0, b1 = sympy.symbols("sigma beta_min beta_max")
t = TIME


def sde_of(drift, diffusion, constants):
    equation = ir.Equation(state="x", order=1, rhs=drift, diffusion=diffusion * F.Increment(sympy.Symbol("W")))
    return forward_sde(equation, constants)


def test_variance_exploding_kernel_is_the_closed_form():
    constants = {"sigma": 10.0}
    sde = sde_of(sympy.S.Zero, sigma**t, constants)
    kernel = transition_kernel(sde, constants)
    assert kernel.scale == 1 and kernel.shift == 0
    assert sympy.simplify(kernel.variance - (sigma**(2 * t) - 1) / (2 * sympy.log(sigma))) == 0


def test_variance_preserving_kernel_is_the_closed_form():
    constants = {"beta_min": 0.1, "beta_max": 20.0}
    beta = b0 + (b1 - b0) * t
    sde = sde_of(-beta / 2 * sympy.Symbol("x"), sympy.sqrt(beta), constants)
    kernel = transition_kernel(sde, constants)
    integral = sympy.integrate(beta, (t, 0, t))
    assert sympy.simplify(kernel.scale - sympy.exp(-integral / 2)) == 0
    assert sympy.simplify(kernel.variance - (1 - sympy.exp(-integral))) == 0


@pytest.mark.parametrize("drift, g", [(-sympy.Symbol("x") + 3 * t, sympy.S(2)),
                                      (-2 * t * sympy.Symbol("x") + 1, sympy.sqrt(1 + t))])
def test_kernel_solves_the_moment_odes(drift, g):
    """m' = a m, b' = a b + c, v' = 2 a v + g^2 from m(0) = 1, b(0) = v(0) = 0."""
    sde = sde_of(drift, g, {})
    k = transition_kernel(sde, {})
    a, c = sde.slope, sde.shift
    for residual in (sympy.diff(k.scale, t) - a * k.scale, sympy.diff(k.shift, t) - a * k.shift - c,
                     sympy.diff(k.variance, t) - 2 * a * k.variance - g**2):
        assert sympy.simplify(residual) == 0
    assert [sympy.simplify(e.subs(t, 0)) for e in (k.scale, k.shift, k.variance)] == [1, 0, 0]


def test_the_reverse_sde_and_the_probability_flow():
    """dx = [f - g^2 s] dt + g dW-bar and dx/dt = f - 1/2 g^2 s, f = 0 and g = sigma^t here."""
    sde = sde_of(sympy.S.Zero, sigma**t, {"sigma": 10.0})
    reverse = reverse_sde(sde, "s")
    score = S.NetCall(sympy.Symbol("s"), sympy.Symbol("x"), t)
    assert sympy.simplify(reverse.drift + sigma**(2 * t) * score) == 0
    assert sympy.simplify(reverse.flow + sigma**(2 * t) * score / 2) == 0
    assert reverse.diffusion == sigma**t


def module_of(sde, backend, tmp_path, steps=100, weight="", name=None):
    text = compile_spec(SPEC.format(name=name or backend, steps=steps, sde=sde, weight=weight), "gauss.sciml", backend)
    return load_module(text, f"gauss_{abs(hash((sde, backend, steps, weight)))}", tmp_path)


@pytest.mark.parametrize("weight", ["", ", weight = variance", ", weight = 2"])
def test_the_dsm_loss_is_its_formula_and_torch_is_jax(weight, tmp_path):
    """E lambda(t) |s(x(t), t) + eps / sqrt(v)|^2 over a batch of 64 (the first 64 of the step's
    draws), VE: x(t) = x0 + sqrt(v) eps, v = (sigma^(2t) - 1) / (2 log sigma), lambda = g^2 = sigma^(2t)."""
    import jax.numpy as jnp
    import torch
    mods = {b: module_of(VE, b, tmp_path, weight=weight) for b in ("torch", "jax")}
    jax_module = mods["jax"]
    params = jax_module.init_params(0)
    data = jax_module.make_data()
    batch = {**jax_module.evaluation_batch(data), **jax_module.draw_batch(5, 3)}
    assert batch["x"].shape == (2, 64) and batch["t"].shape == (1, 64) and batch["eps"].shape == (2, 64)
    value_j, grads_j = jax_module.loss_and_grad(params, batch, jnp.float64)
    value_t, grads_t = mods["torch"].loss_and_grad(params, batch, torch.float64)
    assert abs(value_t - value_j) <= 1e-10 * value_t
    for key in grads_t:
        np.testing.assert_allclose(grads_t[key], grads_j[key], rtol=0, atol=1e-10 * max(1, np.abs(grads_t[key]).max()))
    x0, t_, eps = batch["x"], batch["t"], batch["eps"]
    v = (10.0 ** (2 * t_) - 1) / (2 * np.log(10.0))
    x_t = x0 + np.sqrt(v) * eps
    p = {k: jnp.asarray(a) for k, a in params.items()}
    s = np.asarray(jax_module.s(p, jnp.asarray(x_t), jnp.asarray(t_)))
    lam = {"": 10.0 ** (2 * t_), ", weight = variance": v, ", weight = 2": 2.0}[weight]
    expected = np.mean(lam * np.sum((s + eps / np.sqrt(v)) ** 2, axis=0))
    assert value_j == pytest.approx(expected, rel=1e-12)


def exact_score(module, mean0, std0):
    """grad log p_t of data N(mean0, std0^2 I): -(x - m mean0 - b) / (m^2 std0^2 + v), the kernel's
    m, b, v read from the module (mean_x_(x0, t) = m x0 + b)."""
    def score(p, x, t):
        shift = module.mean_x_(0.0 * x, t)
        m = module.mean_x_(1.0 + 0.0 * x, t) - shift
        return -(x - m * mean0 - shift) / (m**2 * std0**2 + module.variance_x_(t))
    return score


def gaussian_data(mean0, std0, count=10000):
    """{'train': {'x': ...}}: `count` draws of N(mean0, std0^2 I) in the plane, the samplers' data."""
    return {"train": {"x": mean0 + std0 * np.random.default_rng(3).standard_normal((2, count))}}


@pytest.mark.parametrize("backend", ["jax", "torch"])
@pytest.mark.parametrize("sde", [VE, VP], ids=["VE", "VP"])
def test_samplers_with_the_exact_score_give_the_data_law(sde, backend, tmp_path, monkeypatch):
    """Data N(0.5, 0.3^2 I): with s the exact score, both samplers end at that law (mean within
    0.02, std within 6% on 4,000 samples, 1,000 steps).  They start from prior(data), the forward
    marginal's mean m(T) 0.5 + b(T) and variance m(T)^2 0.09 + v(T): for VE (m = 1) the kernel's
    N(b(T), v(T) I) alone would leave the probability flow's mean off by 0.5 sqrt(0.09 / v(T))."""
    module = module_of(sde, backend, tmp_path, steps=1000, name=f"{backend}{len(sde)}")
    monkeypatch.setattr(module, "s", exact_score(module, 0.5, 0.3))
    params, data = module.init_params(0), gaussian_data(0.5, 0.3)
    for method in ("sde", "ode"):
        samples = module.sample(params, 4000, seed=1, method=method, data=data)
        assert samples.shape == (2, 4000)
        np.testing.assert_allclose(samples.mean(axis=1), 0.5, atol=0.02)
        np.testing.assert_allclose(samples.std(axis=1), 0.3, rtol=0.06)


@pytest.mark.parametrize("sde", [VE, VP], ids=["VE", "VP"])
def test_the_prior_is_the_forward_marginal_at_T(sde, tmp_path):
    """prior(data): the mean m(T) mu + b(T) and covariance m(T)^2 C + v(T) I of x(T) over the data,
    here against a million draws of x(T) = m(T) x(0) + b(T) + sqrt(v(T)) eps from data whose entries
    are correlated; m and b read from mean_x_, v from variance_x_."""
    module = module_of(sde, "jax", tmp_path, steps=10, name=f"prior{len(sde)}")
    rng = np.random.default_rng(4)
    x0 = np.array([[1.0], [-0.5]]) + np.array([[0.6, 0.0], [0.3, 0.2]]) @ rng.standard_normal((2, 20000))
    mean, covariance = module.prior({"train": {"x": x0}})
    T = np.full((1, 1), module.T_END)
    shift = np.asarray(module.mean_x_(np.zeros((1, 1)), T))
    scale = np.asarray(module.mean_x_(np.ones((1, 1)), T)) - shift
    index = rng.integers(0, x0.shape[1], 1000000)
    x_T = scale * x0[:, index] + shift + np.sqrt(np.asarray(module.variance_x_(T))) * rng.standard_normal((2, 1000000))
    spread = np.sqrt(np.diag(covariance))
    np.testing.assert_allclose(mean[:, 0], x_T.mean(axis=1), atol=0.01 * spread.max())
    np.testing.assert_allclose(covariance, np.cov(x_T), atol=0.01 * spread.max()**2)
    assert covariance[0, 1] != 0 and mean.shape == (2, 1)


def test_the_report_is_the_samples_mean_and_spread(tmp_path):
    module = module_of(VE, "jax", tmp_path, steps=50)
    values = module.reports(module.init_params(0), module.make_data())
    assert set(values) == {"mean x(0)", "std x(0)"} and len(values["mean x(0)"]) == 2
    assert all(np.isfinite(values["std x(0)"]))


@pytest.mark.parametrize("sde, code, words", [
    ("-x^3 * dt + dW", "E409", "not affine"),
    ("sin(x) * dt + dW", "E409", "not affine"),
    ("-x * dt + x * dW", "E410", "depends on x"),
])
def test_a_forward_sde_without_a_gaussian_kernel_is_refused(sde, code, words):
    with pytest.raises(SpecError) as caught:
        front_end(SPEC.format(name="bad", steps=10, sde=sde, weight=""), "bad.sciml")
    (diagnostic,) = [d for d in caught.value.diagnostics if d.code == code]
    assert words in diagnostic.message


def test_a_weight_that_is_not_a_choice_is_refused():
    with pytest.raises(SpecError) as caught:
        front_end(SPEC.format(name="bad", steps=10, sde=VE, weight=", weight = uniform"), "bad.sciml")
    assert [d.code for d in caught.value.diagnostics] == ["E258"]


def test_a_network_in_the_drift_has_no_kernel():
    drift = S.NetCall(sympy.Symbol("f"), sympy.Symbol("x"))
    with pytest.raises(KernelError) as caught:
        sde_of(drift, sympy.S.One, {})
    assert caught.value.code == "E409"
