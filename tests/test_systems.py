"""Systems of several states on the adaptive solver (issue 9, item 3): dopri5 integrated the first
equation only and `sciml compile` stopped with an internal error on Van der Pol; imex takes one
state and says so at check time (tests/bad/E403_imex_for_a_system)."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import ROOT, compile_and_load

SPEC = ROOT / "examples" / "systems" / "van_der_pol_dopri5.sciml"


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vdp")
    return {backend: compile_and_load(SPEC, backend, folder) for backend in ("torch", "jax")}


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_the_true_damping_reproduces_the_data(modules, backend):
    module = modules[backend]
    batch = module.make_data()["obs"]
    value, _ = module.loss_and_grad({"mu": np.array(1.0)}, batch)
    assert value < 1e-10       # dopri5 at rtol 1e-6 against RK4 with 400 steps, both of x and y


def test_both_backends_agree_and_the_gradient_points_to_the_truth(modules):
    results = {b: m.loss_and_grad(m.init_params(0), m.make_data()["obs"]) for b, m in modules.items()}
    (loss_t, grad_t), (loss_j, grad_j) = results["torch"], results["jax"]
    assert loss_t > 1e-3
    # two adaptive solvers with the same tolerances: close, not equal
    assert abs(loss_t - loss_j) <= 1e-5 * loss_t
    assert abs(grad_t["mu"] - grad_j["mu"]) <= 1e-3 * abs(grad_t["mu"])
    assert grad_t["mu"] < 0    # mu = 0.5 is below the true 1.0
