"""Convergence order of every fixed-step scheme, in float64, on ODEs with exact solutions
(after diffrax's test_ode_order): h = T / 2^k, fit the slope of log error against log h."""
import numpy as np
import pytest

from helpers import load_module
from sciml.pipeline import compile_spec

LINEAR = """
model order_{scheme}
const A = [[-0.5, 1.0], [-1.0, -0.5]], L = [[1.0, -0.5], [-0.5, 1.0]], steps = {steps}, T = 1.0
state Y : R[2]
param c : R = 1.0
ode dt(Y) = c * (A * Y)
initial Y(0) = [1.0, 0.5]
scheme {scheme}(steps, T{extra})
loss sum(Y(T)^2)
train adam(lr = 1e-3, steps = 1)
"""
OSCILLATOR = """
model order_verlet
const steps = {steps}, T = 1.0
state Y : R[1], Z : R[1]
param c : R = 1.0
ode dt(Y) = c * Z
ode dt(Z) = -c * Y
initial Y(0) = [1.0], Z(0) = [0.0]
scheme verlet(steps, T{extra})
loss sum(Y(T)^2) + sum(Z(T)^2)
train adam(lr = 1e-3, steps = 1)
"""
SECOND_ORDER = """
model order_leapfrog
const steps = {steps}, T = 1.0
state Y : R[1]
param c : R = 1.0
ode dt(dt(Y)) = -c * Y
initial Y(0) = [1.0], dt(Y)(0) = [0.0]
scheme leapfrog(steps, T)
loss sum(Y(T)^2)
train adam(lr = 1e-3, steps = 1)
"""


def linear_exact():
    A = np.array([[-0.5, 1.0], [-1.0, -0.5]])
    values, vectors = np.linalg.eig(A)
    return (vectors @ np.diag(np.exp(values)) @ np.linalg.solve(vectors, [1.0, 0.5])).real


CASES = {
    "euler": (LINEAR, "", 1, lambda out: out[:, 0], linear_exact),
    "rk4": (LINEAR, "", 4, lambda out: out[:, 0], linear_exact),
    "imex": (LINEAR, ", L = L", 1, lambda out: out[:, 0], linear_exact),
    "verlet": (OSCILLATOR, "", 2, lambda out: np.array([out[0][0, 0], out[1][0, 0]]),
               lambda: np.array([np.cos(1.0), -np.sin(1.0)])),
    # seed 002's two-line step, Z on the half steps (read at T with a half kick back)
    "verlet_staggered": (OSCILLATOR, ", form = staggered", 2, lambda out: np.array([out[0][0, 0], out[1][0, 0]]),
                         lambda: np.array([np.cos(1.0), -np.sin(1.0)])),
    "leapfrog": (SECOND_ORDER, "", 2, lambda out: out[:, 0], lambda: np.array([np.cos(1.0)])),
}


def final_state(scheme, template, extra, steps, tmp_path, backend="torch"):
    text = compile_spec(template.format(scheme=scheme, steps=steps, extra=extra), "order.sciml", backend)
    module = load_module(text, f"order_{scheme}_{steps}_{backend}", tmp_path)
    if backend == "torch":
        import torch
        p = {k: torch.tensor(v, dtype=torch.float64) for k, v in module.init_params(0).items()}
        as_numpy = lambda x: x.detach().numpy()
    else:
        import jax.numpy as jnp
        p = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in module.init_params(0).items()}
        as_numpy = np.asarray
    like = p["c"]
    if scheme.startswith("verlet"):
        out = module.solve(p, module.initial_state(np.array([[1.0]]), 1, like),
                           module.initial_state(np.array([[0.0]]), 1, like))
        return tuple(as_numpy(x) for x in out)
    starts = [module.initial_state(np.array([[1.0], [0.5]]) if scheme != "leapfrog" else np.array([[1.0]]),
                                   2 if scheme != "leapfrog" else 1, like)]
    if scheme == "leapfrog":
        starts.append(module.initial_state(np.array([[0.0]]), 1, like))
    return as_numpy(module.solve(p, *starts))


@pytest.mark.parametrize("scheme", sorted(CASES))
def test_observed_order_matches_the_scheme(scheme, tmp_path):
    template, extra, order, pick, exact = CASES[scheme]
    hs, errors = [], []
    for k in range(3, 10):
        steps = 2 ** k
        error = np.max(np.abs(pick(final_state(scheme, template, extra, steps, tmp_path)) - exact()))
        if error < 2.0 ** -28:
            break
        hs.append(1.0 / steps)
        errors.append(error)
    assert len(hs) >= 3, f"too few points above the float64 floor: {errors}"
    slope = np.polyfit(np.log2(hs), np.log2(errors), 1)[0]
    assert abs(slope - order) < 0.2, f"{scheme}: observed order {slope:.3f}, expected {order}"


@pytest.mark.parametrize("scheme", ["rk4", "verlet", "verlet_staggered"])
def test_jax_module_integrates_to_the_same_numbers(scheme, tmp_path):
    template, extra, _, pick, _ = CASES[scheme]
    a = pick(final_state(scheme, template, extra, 16, tmp_path, "torch"))
    b = pick(final_state(scheme, template, extra, 16, tmp_path, "jax"))
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


TIME_DEPENDENT = """
model order_time_{scheme}
const steps = {steps}, T = 1.0
state Y : R[1]
param c : R = 1.0
ode dt(Y) = c * cos(t) * Y
initial Y(0) = [1.0]
scheme {scheme}(steps, T)
loss sum(Y(T)^2)
train adam(lr = 1e-3, steps = 1)
"""


@pytest.mark.parametrize("scheme, order", [("euler", 1), ("rk4", 4)])
@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_a_right_side_in_time_is_evaluated_at_each_stage_time(scheme, order, backend, tmp_path):
    """dt(Y) = cos(t) Y, Y(1) = exp(sin 1): the scheme's order only if every stage reads its own
    time t_j + c_i h."""
    hs, errors = [], []
    for k in range(3, 8):
        text = compile_spec(TIME_DEPENDENT.format(scheme=scheme, steps=2 ** k), "time.sciml", backend)
        module = load_module(text, f"order_time_{scheme}_{k}_{backend}", tmp_path)
        p = module.init_params(0)
        if backend == "torch":
            import torch
            p = {name: torch.tensor(v, dtype=torch.float64) for name, v in p.items()}
            final = module.solve(p, module.initial_state(np.array([[1.0]]), 1, p["c"])).numpy()
        else:
            import jax.numpy as jnp
            p = {name: jnp.asarray(v, dtype=jnp.float64) for name, v in p.items()}
            final = np.asarray(module.solve(p, module.initial_state(np.array([[1.0]]), 1, p["c"])))
        hs.append(2.0 ** -k)
        errors.append(abs(final[0, 0] - np.exp(np.sin(1.0))))
    slope = np.polyfit(np.log2(hs), np.log2(errors), 1)[0]
    assert abs(slope - order) < 0.2, (scheme, backend, slope, errors)


NETWORK_OF_TIME = """
model network_of_time
const T = 1.0
data train = generate two_moons(samples = 64, seed = 0)
state z : R[2]
net F(z, t) = mlp(3 -> 8 -> 2, tanh)
ode dt(z) = F(z, t)
initial z(0) = train.x
scheme rk4(8, T)
loss mean(|z(T)|^2)
train adam(lr = 1e-3, steps = 1)
"""


def test_a_network_of_the_time_takes_it_as_a_row(tmp_path):
    """F(z, t) in a plain ODE: the stage's time enters the network as a row (time_row), and both
    backends give the same loss and gradients."""
    text = {b: compile_spec(NETWORK_OF_TIME, "network_of_time.sciml", b) for b in ("torch", "jax")}
    assert "t = time_row(t, z)" in text["torch"] and "t = time_row(t, z)" in text["jax"]
    torch_module = load_module(text["torch"], "network_of_time_torch", tmp_path)
    jax_module = load_module(text["jax"], "network_of_time_jax", tmp_path)
    params = torch_module.init_params(1)
    batch = torch_module.evaluation_batch(torch_module.make_data())
    (a, ga), (b, gb) = torch_module.loss_and_grad(params, batch), jax_module.loss_and_grad(params, batch)
    assert abs(a - b) <= 1e-12 * abs(a)
    for name in ga:
        np.testing.assert_allclose(gb[name], ga[name], rtol=1e-10, atol=1e-14)
