"""Batch normalization in a network per step (the deep BSDE's, batch_norm_code.py): the batch's
statistics while training, their running averages kept in the parameters by the runtime, and
the running ones for the reported loss; the same on both backends."""
import numpy as np
import pytest

from helpers import load_module
from sciml.pipeline import compile_spec

SMALL_BSDE = """
model small_bsde : bsde
const d = 3, T = 0.5, N = 4
noise W : R[d]
state X : R[d], Y : R
param y0 : R ~ uniform(0, 1)
param z0 : R[d] ~ uniform(-0.1, 0.1)
net   Z(n, X) = mlp(d -> 5 -> d, tanh, batchnorm = true) for n in 1..N-1
sde     d(X) = dW
        d(Y) = -Y * dt + dot(Z(n, X), dW)
initial X(0) = 0, Y(0) = y0, Z(0) = z0
scheme  euler_maruyama(N, T, paths = 16)
loss   mean((Y(T) - |X(T)|^2)^2)
train  adam(lr = 1e-2, steps = 3)
report y0
"""


def modules(tmp_path):
    return {backend: load_module(compile_spec(SMALL_BSDE, "small_bsde.sciml", backend), f"bn_{backend}", tmp_path)
            for backend in ("torch", "jax")}


def test_one_training_step_moves_the_running_statistics_by_the_batch_s(tmp_path):
    mods = modules(tmp_path)
    params, data = mods["torch"].init_params(0), mods["torch"].make_data()
    assert np.all(params["Z.mean1"] == 0) and np.all(params["Z.var1"] == 1) and params["Z.mean1"].shape == (3, 5, 1)
    batch = {**mods["torch"].evaluation_batch(data), **mods["torch"].draw_batch(0, 0)}
    import torch
    p = {k: torch.tensor(v) for k, v in params.items()}
    _, statistics = mods["torch"].loss_and_statistics(p, {k: torch.tensor(v) for k, v in batch.items()})
    assert sorted(statistics) == sorted(f"Z.{part}{k}" for part in ("mean", "var") for k in range(3))
    assert statistics["Z.var0"].shape == (3, 3, 1) and float(statistics["Z.var0"].min()) > 0   # steps 1..3
    for backend, module in mods.items():
        trained, _ = module.train(params, data, steps=1, seed=0, log_every=0)
        for name, value in statistics.items():
            start = params[name]
            np.testing.assert_allclose(trained[name], 0.99 * start + 0.01 * value.numpy(), rtol=1e-12,
                                       err_msg=(backend, name))


def test_the_reported_loss_uses_the_running_statistics_on_both_backends(tmp_path):
    mods = modules(tmp_path)
    params = mods["torch"].init_params(1)
    params["Z.mean1"] = params["Z.mean1"] + 0.3      # running statistics unlike the batch's
    params["Z.var1"] = params["Z.var1"] * 2.0
    batch = mods["torch"].draw_batch(1, 0)
    import jax.numpy as jnp
    import torch
    values = {}
    for backend, module in mods.items():
        to = (lambda v: torch.tensor(v)) if backend == "torch" else (lambda v: jnp.asarray(v))
        p, b = {k: to(v) for k, v in params.items()}, {k: to(v) for k, v in batch.items()}
        values[backend] = (float(module.loss(p, b)), float(module.loss(p, b, running=True)))
    assert values["torch"][0] != pytest.approx(values["torch"][1], rel=1e-3)
    np.testing.assert_allclose(values["jax"], values["torch"], rtol=1e-12)
    # the runtime reports the loss with the running statistics: 0 training steps evaluate it
    for module in mods.values():
        _, reported = module.train(params, module.make_data(), steps=0, seed=1, log_every=0)
        assert reported == pytest.approx(values["torch"][1], rel=1e-12)
