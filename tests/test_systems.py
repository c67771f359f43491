"""Systems of several states (issue 9, item 3): dopri5 integrated the first equation only and
`sciml compile` stopped with an internal error on Van der Pol; imex took one state.  Now dopri5
solves the states as one tuple, and imex's L acts on the stacked state (the states in the order
they are declared; tests/bad/E405_imex_operator_for_a_system when the sizes differ)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from helpers import ROOT, compile_and_load, load_module
from sciml.pipeline import compile_spec

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


# -- imex on two states: u in R^2 and v in R^1, coupled in f and in L ------------------------------
IMEX_PAIR = """
model imex_pair
const A = [[-0.5, 1.0], [-1.0, -0.5]], w = [0.5, 0.0], C = [[0.0, 0.3]], steps = {steps}, T = 1.0
const L = [[2.0, 0.0, -1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 2.0]]
state u : R[2], v : R[1]
param c : R = 1.0
ode dt(u) = c * (A * u + v * w)
ode dt(v) = C * u - c * v
initial u(0) = [1.0, 0.5], v(0) = [2.0]
scheme imex(steps, T, L = L)
loss sum(u(T)^2) + sum(v(T)^2)
train adam(lr = 1e-3, steps = 1)
"""
M = np.array([[-0.5, 1.0, 0.5], [-1.0, -0.5, 0.0], [0.0, 0.3, -1.0]])   # d(u, v)/dt = M (u, v)
START = np.array([1.0, 0.5, 2.0])


def imex_pair(steps, backend, tmp_path):
    """(u(T), v(T)) stacked, from the emitted solve in float64."""
    module = load_module(compile_spec(IMEX_PAIR.format(steps=steps), "imex_pair.sciml", backend),
                         f"imex_pair_{steps}_{backend}", tmp_path)
    if backend == "torch":
        import torch
        p = {k: torch.tensor(v, dtype=torch.float64) for k, v in module.init_params(0).items()}
        as_numpy = lambda x: x.detach().numpy()
    else:
        import jax.numpy as jnp
        p = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in module.init_params(0).items()}
        as_numpy = np.asarray
    u = module.initial_state(START[:2, None], 2, p["c"])
    v = module.initial_state(START[2:, None], 1, p["c"])
    return np.concatenate([as_numpy(x)[:, 0] for x in module.solve(p, u, v)])


def test_imex_on_a_system_converges_with_order_one(tmp_path):
    """L is added and subtracted: the model is d(u, v)/dt = M (u, v), exp(M T) (u, v)(0) exactly,
    whatever L; the IMEX step converges to it with order 1."""
    exact = scipy.linalg.expm(M) @ START
    hs, errors = [], []
    for k in range(3, 9):
        hs.append(2.0 ** -k)
        errors.append(np.max(np.abs(imex_pair(2 ** k, "torch", tmp_path) - exact)))
    slope = np.polyfit(np.log2(hs), np.log2(errors), 1)[0]
    assert abs(slope - 1) < 0.1, (slope, errors)


def test_imex_on_a_system_is_one_step_on_the_stacked_state(tmp_path):
    """One step by hand: (I + h L) y_1 = y_0 + h L y_0 + h M y_0, y = (u, v) stacked; torch and
    JAX give it to rounding."""
    L = np.array([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 2.0]])
    h = 1.0
    by_hand = np.linalg.solve(np.eye(3) + h * L, START + h * L @ START + h * M @ START)
    np.testing.assert_allclose(imex_pair(1, "torch", tmp_path), by_hand, rtol=1e-14, atol=1e-14)
    a, b = imex_pair(16, "torch", tmp_path), imex_pair(16, "jax", tmp_path)
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_imex_on_a_system_trains(backend, tmp_path):
    """Loss and gradient through the stacked solve, the same in both backends (float64)."""
    results = {}
    for name in ("torch", "jax"):
        module = load_module(compile_spec(IMEX_PAIR.format(steps=16), "imex_pair.sciml", name),
                             f"imex_pair_train_{name}", tmp_path)
        results[name] = module.loss_and_grad(module.init_params(0), {})
    (loss_t, grad_t), (loss_j, grad_j) = results["torch"], results["jax"]
    assert abs(loss_t - loss_j) <= 1e-12 * abs(loss_t)
    assert abs(grad_t["c"] - grad_j["c"]) <= 1e-10 * abs(grad_t["c"]) and grad_t["c"] != 0
