"""States observed at data times under leapfrog: its first step is taken before the loop (the
recursion needs two states), and that step's state was never recorded, in either backend, so the
observed path was one entry short.  Here y'' = -a y with a = 1 from y(0) = 1, y'(0) = 0,
observed at t = 0, 0.1, ..., 1: the path has 11 entries, the second is the first step
y_1 = 1 - h^2 / 2, and all follow cos(t) to leapfrog's O(h^2)."""
from __future__ import annotations

import numpy as np
import pytest

from sciml.pipeline import compile_spec
from sciml.modules import import_text

SPEC = """model leapfrog_observed
const T = 1.0
data obs = generate ode(dt(x) = v, dt(v) = -x, x(0) = [1.0], v(0) = [0.0],
                        t = linspace(0, 1.0, 11), steps = 100)
state y : R[1]
param a : R = 1.0
ode     dt(dt(y)) = -a * y
initial y(0) = [1.0], dt(y)(0) = [0.0]
scheme  leapfrog(10, T)
loss  mse(y(obs.t), obs.x)
train adam(lr = 1e-2, steps = 5)
"""


def _as_arrays(backend, values):
    if backend == "torch":
        import torch
        return {k: torch.as_tensor(v, dtype=torch.float64) for k, v in values.items()}
    import jax.numpy as jnp
    return {k: jnp.asarray(v, dtype=jnp.float64) for k, v in values.items()}


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_leapfrog_records_every_observed_step(tmp_path, backend):
    module = import_text(compile_spec(SPEC, str(tmp_path / "spec.sciml"), backend),
                         f"leapfrog_observed_{backend}", tmp_path)
    params, batch = module.init_params(0), module.make_data()["obs"]
    value, _ = module.loss_and_grad(params, batch)
    assert value < 1e-5                      # against cos(t): leapfrog's error at h = 0.1
    # the observed path, as the divergence stop reads it
    terms = module.loss_terms(_as_arrays(backend, params), _as_arrays(backend, batch))
    path = np.asarray(terms["y(obs.t)"]).reshape(-1)
    assert path.shape == (11,)
    assert path[0] == 1.0 and abs(path[1] - (1 - 0.1**2 / 2)) < 1e-15
    assert np.max(np.abs(path - np.cos(np.linspace(0, 1, 11)))) < 2e-3
