"""Continuous normalizing flows (kind cnf) as emitted, in float64: the forward-mode Jacobian of a
network against autograd's, the log-density the solve integrates (normalized: it integrates to
1 over the plane), Hutchinson's estimate against the exact trace in expectation, the sampler
against the solve it inverts, and a short training run on 8 Gaussians."""
import numpy as np
import pytest

from helpers import load_module
from sciml.pipeline import compile_spec

CNF = """
model small_cnf : cnf
const T = 1.0
data train = generate eight_gaussians(samples = 256, seed = 0)
data test  = generate eight_gaussians(samples = 256, seed = 1)
state z : R[2], l : R
net F(z, t) = mlp(3 -> 16 -> 16 -> 2, {activation})
ode     dt(z) = F(z, t)
        dt(l) = -div(F(z, t), z, trace = {trace})
initial z(0) = train.x, l(0) = 0
scheme  {scheme}
loss   mean(1 / 2 * |z(T)|^2 + log(2 * pi) + l(T))
train  adam(lr = {lr}, steps = {steps}, batch = 128)
report nll = mean(1 / 2 * |z(T)|^2 + log(2 * pi) + l(T)) with data = test
"""


def cnf_module(tmp_path, backend="torch", activation="tanh", trace="exact", scheme="rk4(20, T)",
               lr=1e-3, steps=1, name="small_cnf"):
    text = CNF.format(activation=activation, trace=trace, scheme=scheme, lr=lr, steps=steps)
    return load_module(compile_spec(text, f"{name}.sciml", backend), f"{name}_{backend}_{abs(hash(text))}",
                       tmp_path)


def placed(module, params, fields):
    """(params, fields) as the backend's float64 arrays on the CPU."""
    runtime = module._runtime
    p, device = runtime.place_params(params, runtime.DTYPES["float64"], "cpu")
    return p, runtime.to_arrays(fields, runtime.DTYPES["float64"], device)


def as_numpy(value):
    return value.detach().numpy() if hasattr(value, "detach") else np.asarray(value)


def scaled(params, factor, seed=7):
    """params with the weights redrawn larger (a map far from the identity), biases too."""
    rng = np.random.default_rng(seed)
    return {k: factor * rng.standard_normal(v.shape) / np.sqrt(v.shape[-1]) for k, v in params.items()}


@pytest.mark.parametrize("activation", ["tanh", "softplus", "sigmoid", "sin"])
def test_forward_mode_jacobian_equals_autograd(tmp_path, activation):
    import torch
    module = cnf_module(tmp_path, activation=activation)
    p = {k: torch.tensor(v) for k, v in scaled(module.init_params(0), 2.0).items()}
    z = torch.tensor(np.random.default_rng(1).standard_normal((2, 5)))
    t = torch.full((1, 5), 0.3, dtype=torch.float64)
    value, jacobian = module.F_jvp(p, z, t, module.identity_directions(2, z))   # (out, in, samples)
    assert torch.allclose(value, module.F(p, z, t), rtol=0, atol=1e-14)
    for n in range(5):
        by_autograd = torch.autograd.functional.jacobian(lambda x: module.F(p, x[:, None], t[:, n:n + 1])[:, 0],
                                                         z[:, n])   # (out, in)
        np.testing.assert_allclose(jacobian[:, :, n].numpy(), by_autograd.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_the_log_density_integrates_to_one(tmp_path, backend):
    """p(x) = N(z(T); 0, I) exp(-l(T)) of a flow far from the identity, on a grid over the plane:
    its integral is 1 to the accuracy of RK4 and of the grid, so the trace has the right sign and
    size (a wrong sign or a missing factor gives an integral far from 1)."""
    module = cnf_module(tmp_path, backend=backend, scheme="rk4(20, T)")
    params = scaled(module.init_params(0), 1.5)
    edge = np.linspace(-7.0, 7.0, 101)
    x = np.stack(np.meshgrid(edge, edge)).reshape(2, -1)
    p, batch = placed(module, params, {"x": x, "label": np.zeros(x.shape[1], dtype=np.int64)})
    values = module.loss_terms(p, batch)
    z_T, l_T = (as_numpy(values[key]) for key in ("z(t = 1)", "l(t = 1)"))
    density = np.exp(-0.5 * np.sum(z_T**2, axis=0) - np.log(2 * np.pi) - l_T[0])
    total = density.sum() * (edge[1] - edge[0]) ** 2
    assert abs(total - 1.0) < 5e-4, total   # 3e-5 here
    assert np.max(np.abs(l_T)) > 0.5   # the flow is not near the identity: the trace matters


def losses_over_draws(module, params, batch, seed, draws):
    """The loss on `batch` with each of `draws` probe draws draw_batch(seed, 0..draws - 1), from
    one solve: the batch repeated once a draw beside itself, each copy with its own probes."""
    n = batch["x"].shape[-1]
    probes = np.concatenate([module.draw_batch(seed, step)["probes"][..., :n] for step in range(draws)], axis=-1)
    fields = {"x": np.tile(batch["x"], draws), "label": np.tile(batch["label"], draws), "probes": probes}
    p, arrays = placed(module, params, fields)
    values = module.loss_terms(p, arrays)
    z_T, l_T = (as_numpy(values[key]) for key in ("z(t = 1)", "l(t = 1)"))
    per_sample = 0.5 * np.sum(z_T**2, axis=0) + np.log(2 * np.pi) + l_T[0]
    return per_sample.reshape(draws, n).mean(axis=1)


def test_hutchinson_is_the_exact_trace_in_expectation(tmp_path):
    """The loss with one Rademacher probe per sample, averaged over many draws, against the exact
    trace's: equal within four standard errors; one draw alone differs."""
    exact = cnf_module(tmp_path, trace="exact", scheme="rk4(4, T)", name="exact_cnf")
    estimate = cnf_module(tmp_path, trace="hutchinson(1)", scheme="rk4(4, T)", name="hutch_cnf")
    params = scaled(exact.init_params(0), 1.5)
    batch = exact.evaluation_batch(exact.make_data())
    reference, _ = exact.loss_and_grad(params, batch)
    losses = losses_over_draws(estimate, params, batch, 3, 400)
    first, _ = estimate.loss_and_grad(params, {**batch, **estimate.draw_batch(3, 0)})
    assert abs(losses[0] - first) < 1e-12   # the batched solve is the loss of each draw
    mean, error = np.mean(losses), np.std(losses) / np.sqrt(len(losses))
    assert abs(mean - reference) < 4 * error, (mean, reference, error)
    assert np.std(losses) > 1e-4   # the estimate is random: one draw is not the trace
    draws = estimate.draw_batch(3, 0)["probes"]
    assert draws.shape == (2, 1, 256) and set(np.unique(draws)) == {-1.0, 1.0}


def test_hutchinson_with_normal_probes_is_unbiased_too(tmp_path):
    exact = cnf_module(tmp_path, trace="exact", scheme="rk4(4, T)", name="exact_cnf")
    estimate = cnf_module(tmp_path, trace="hutchinson(2, normal)", scheme="rk4(4, T)", name="normal_cnf")
    params = scaled(exact.init_params(0), 1.5)
    batch = exact.evaluation_batch(exact.make_data())
    reference, _ = exact.loss_and_grad(params, batch)
    losses = losses_over_draws(estimate, params, batch, 5, 300)
    assert abs(np.mean(losses) - reference) < 4 * np.std(losses) / np.sqrt(len(losses))
    assert estimate.draw_batch(5, 0)["probes"].shape == (2, 2, 256)   # (features, probes, samples)


@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("scheme", ["rk4(40, T)", "dopri5(T, rtol = 1e-9, atol = 1e-9)"])
def test_the_sampler_inverts_the_solve(tmp_path, backend, scheme):
    module = cnf_module(tmp_path, backend=backend, scheme=scheme, name="inverse_cnf")
    params = scaled(module.init_params(0), 1.5)
    x = np.random.default_rng(2).standard_normal((2, 50))
    p, batch = placed(module, params, {"x": x, "label": np.zeros(50, dtype=np.int64)})
    z_T = module.loss_terms(p, batch)["z(t = 1)"]
    back = as_numpy(module.inverse_solve(p, z_T))
    assert np.max(np.abs(back - x)) < 1e-6
    samples = module.sample(params, 300, seed=4)
    assert samples.shape == (2, 300) and np.all(np.isfinite(samples))


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_training_lowers_the_held_out_nll(tmp_path, backend):
    module = cnf_module(tmp_path, backend=backend, scheme="rk4(4, T)", lr=1e-2, steps=60, name="train_cnf")
    data = module.make_data()
    params = module.init_params(0)
    before = module.reports(params, data)["nll"]   # 5.65; after 60 steps 3.38
    trained, _ = module.train(params, data, steps=60, seed=0, log_every=0)
    after = module.reports(trained, data)["nll"]
    assert after < before - 0.5, (before, after)
