"""Data generated in the spec from a known ODE: the emitted numpy simulation is accurate,
for one state and for a system (whose states are stacked while integrated)."""
from __future__ import annotations

import numpy as np

from helpers import SPECS, compile_and_load


def test_a_system_gives_one_field_per_state(tmp_path):
    module = compile_and_load(SPECS / "ode" / "hamiltonian_energy.sciml", "torch", tmp_path)
    pieces = module.make_data()["pieces"]   # dt(x) = y, dt(y) = -x from random starts
    t, x0, y0 = pieces["t"][:, None], pieces["x0"][0], pieces["y0"][0]
    assert pieces["x"].shape == pieces["y"].shape == (len(t), 1, 512)
    assert x0.std() > 0.5 and abs(np.corrcoef(x0, y0)[0, 1]) < 0.2  # two independent draws
    np.testing.assert_allclose(pieces["x"][:, 0], x0 * np.cos(t) + y0 * np.sin(t), atol=1e-9)
    np.testing.assert_allclose(pieces["y"][:, 0], y0 * np.cos(t) - x0 * np.sin(t), atol=1e-9)


def test_one_state_matches_a_fine_reference(tmp_path):
    module = compile_and_load(SPECS / "ode" / "node_fit.sciml", "torch", tmp_path)
    obs = module.make_data()["obs"]
    A = np.array([[-0.1, 2.0], [-2.0, -0.1]])
    reference = module.simulate_ode(lambda u: A @ u**3, np.array([[2.0], [0.0]]), obs["t"], 12000, module.rk4_step)
    np.testing.assert_allclose(obs["u"], reference, atol=1e-8)


def test_each_observed_state_gets_its_own_trajectory(tmp_path):
    """With the true potential V = q^2/2 put in place of the network, the model reproduces the
    data of both states up to Verlet's error: q(pieces.t) and v(pieces.t) are each their own."""
    import torch
    module = compile_and_load(SPECS / "ode" / "hamiltonian_energy.sciml", "torch", tmp_path)
    module.grad_V = lambda p, x: x
    batch = module.to_arrays(module.evaluation_batch(module.make_data()), torch.float64, "cpu")
    p = {k: torch.tensor(v) for k, v in module.init_params(0).items()}
    q_path, v_path = module.solve(p, batch["x0"], batch["y0"])
    assert (q_path - batch["x"]).abs().max() < 1e-2 and (v_path - batch["y"]).abs().max() < 1e-2
    assert float(module.loss(p, batch)) < 1e-4
