"""Verlet is reversible, in both of its forms (kick_drift_kick, and seed 002's staggered step):
the emitted inverse step undoes a step to rounding error, and training with memory = recompute
(states recomputed backwards instead of stored) gives the gradients of ordinary backpropagation."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import SPECS, compile_and_load, load_module
from sciml.pipeline import compile_spec

STORE = SPECS / "ode" / "hamiltonian.sciml"
RECOMPUTE = SPECS / "ode" / "hamiltonian_recompute.sciml"
FORMS = ["kick_drift_kick", "staggered"]


def in_form(spec, form, backend, tmp_path):
    """The module of `spec` with `verlet(steps, T, form = FORM, ...)`."""
    text = spec.read_text().replace("verlet(steps, T", f"verlet(steps, T, form = {form}")
    assert f"form = {form}" in text
    return load_module(compile_spec(text, str(spec), backend), f"{spec.stem}_{form}_{backend}", tmp_path)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_recompute_gives_the_stored_gradients(backend, form, tmp_path):
    stored = in_form(STORE, form, backend, tmp_path)
    recomputed = in_form(RECOMPUTE, form, backend, tmp_path)
    params = stored.init_params(5)
    batch = stored.evaluation_batch(stored.make_data())
    loss_stored, grads_stored = stored.loss_and_grad(params, batch)
    loss_recomputed, grads_recomputed = recomputed.loss_and_grad(params, batch)
    assert abs(loss_recomputed - loss_stored) <= 1e-12 * abs(loss_stored)
    scale = max(np.abs(g).max() for g in grads_stored.values())
    for name, grad in grads_stored.items():
        np.testing.assert_allclose(grads_recomputed[name], grad, rtol=0, atol=1e-10 * scale, err_msg=name)
    assert np.abs(grads_recomputed["K1"]).max() > 0


def test_the_two_forms_differ_with_per_step_weights(tmp_path):
    """kick_drift_kick reads K2_j twice a step (two half kicks), the staggered step once: with
    per-step weights they are two networks, not two spellings of one.  The staggered module of
    each backend gives the same loss and gradients (float64)."""
    a, b = (in_form(STORE, form, "torch", tmp_path) for form in FORMS)
    params = a.init_params(5)
    batch = a.evaluation_batch(a.make_data())
    loss_a, _ = a.loss_and_grad(params, batch)
    loss_b, grads_b = b.loss_and_grad(params, batch)
    assert abs(loss_a - loss_b) > 1e-6 * abs(loss_a)
    loss_jax, grads_jax = in_form(STORE, "staggered", "jax", tmp_path).loss_and_grad(params, batch)
    assert abs(loss_jax - loss_b) <= 1e-10 * abs(loss_b)
    scale = max(np.abs(g).max() for g in grads_b.values())
    for name, grad in grads_b.items():
        np.testing.assert_allclose(grads_jax[name], grad, rtol=0, atol=1e-9 * scale, err_msg=name)


@pytest.mark.parametrize("form", FORMS)
def test_inverse_steps_reconstruct_the_input(form, tmp_path):
    import torch
    module = in_form(RECOMPUTE, form, "torch", tmp_path)
    p = {k: torch.tensor(v) for k, v in module.init_params(7).items()}
    start = torch.tensor(module.make_data()["train"]["x"][:, :64])
    Y, Z = start, torch.zeros_like(start)
    for j in range(module.N_STEPS):
        Y, Z = module.step(p, j, Y, Z)
    assert (Y - start).abs().max() > 1e-2  # the network moved the points
    for j in reversed(range(module.N_STEPS)):
        Y, Z = module.inverse_step(p, j, Y, Z)
    assert (Y - start).abs().max() <= 1e-12
    assert Z.abs().max() <= 1e-12


def test_leapfrog_inverse_steps_reconstruct_the_start(tmp_path):
    """Leapfrog runs backwards too: from the last two states, the emitted inverse_step gives
    back the first two, to rounding error."""
    import torch
    module = compile_and_load(SPECS / "ode" / "second_order.sciml", "torch", tmp_path)
    p = {k: torch.tensor(v) for k, v in module.init_params(7).items()}
    K, b, h = p["K"], p["b"], module.h
    Y0 = torch.tensor(module.make_data()["train"]["x"][:, :64])
    Y1 = Y0 + h**2 / 2 * module.d2Y_dt2(Y0, K[0], b[0])      # the first step, dt(Y)(0) = 0
    previous, Y = Y0, Y1
    for j in range(1, module.N_STEPS):                        # the emitted recursion
        previous, Y = Y, 2 * Y - previous + h**2 * module.d2Y_dt2(Y, K[j], b[j])
    assert (Y - Y0).abs().max() > 1e-2
    for j in reversed(range(1, module.N_STEPS)):
        previous, Y = module.inverse_step(p, j, previous, Y)
    assert (previous - Y0).abs().max() <= 1e-12 and (Y - Y1).abs().max() <= 1e-12
