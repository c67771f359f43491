"""Torch and JAX modules of one spec: same data, same initial weights, same loss and gradients
in float64 (to 1e-10 relative), for every working zoo spec."""
import numpy as np
import pytest

from helpers import compile_and_load
from working_specs import PINN_SPECS, WORKING_SPECS


@pytest.mark.parametrize("spec", WORKING_SPECS + PINN_SPECS, ids=lambda p: p.stem)
def test_torch_and_jax_agree_on_loss_and_gradients(spec, tmp_path):
    torch_module = compile_and_load(spec, "torch", tmp_path)
    jax_module = compile_and_load(spec, "jax", tmp_path)
    params = torch_module.init_params(3)
    for name, value in jax_module.init_params(3).items():
        np.testing.assert_array_equal(value, params[name])
    data = torch_module.make_data()
    batch = torch_module.evaluation_batch(data)
    if hasattr(torch_module, "draw_batch"):   # the random draws of step 0 (collocation points), numpy
        batch = {**batch, **torch_module.draw_batch(3, 0)}
    loss_torch, grads_torch = torch_module.loss_and_grad(params, batch)
    loss_jax, grads_jax = jax_module.loss_and_grad(params, batch)
    assert np.isfinite(loss_torch)
    tolerance = 1e-7 if "adjoint" in spec.stem else 1e-10  # two adaptive solvers, same tolerances
    assert abs(loss_torch - loss_jax) <= tolerance * abs(loss_torch)
    scale = max(np.max(np.abs(g)) for g in grads_torch.values())
    assert scale > 0
    for name in grads_torch:
        np.testing.assert_allclose(grads_jax[name], grads_torch[name], rtol=0,
                                   atol=tolerance * 10 * scale, err_msg=name)
