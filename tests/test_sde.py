"""The stochastic schemes as emitted, in float64, on SDEs with exact solutions: geometric Brownian
motion (multiplicative noise) and Ornstein-Uhlenbeck (additive, diagonal).  One fine Brownian
path per sample is summed into the increments of each coarser grid h = T / N, so every grid
integrates the same paths; the strong error is E|X_N - X(T)|, the weak error |E X_N - E X(T)|
(estimated as E(X_N - X(T)) over the same paths, a control variate).  Slopes of log error against
log h within 0.1 (strong) and 0.2 (weak) of the schemes' orders; then Stratonovich, E408, and
the draws of the increments."""
import numpy as np
import pytest

from helpers import load_module
from sciml.frontend.diagnostics import SpecError
from sciml.pipeline import compile_spec

GBM = """
model gbm_{scheme} : sde
const T = 1.0, N = {steps}
param a : R = 1.0, b : R = 0.8
noise W : R
state X : R
sde     d(X) = a * X * dt + b * X {noise}
initial X(0) = 1.0
scheme  {scheme}(N, T, paths = 4{options})
loss    mean(X(T), over = paths)
train   adam(lr = 1e-3, steps = 1)
"""
OU = """
model ou_{scheme} : sde
const T = 1.0, N = {steps}, sigma = [0.3, 0.6], x0 = [1.0, -1.0]
param theta : R = 2.0
noise W : R[2]
state X : R[2]
sde     d(X) = -theta * X * dt + sigma * dW
initial X(0) = x0
scheme  {scheme}(N, T, paths = 4)
loss    mse(mean(X(T), over = paths), 0 * x0)
train   adam(lr = 1e-3, steps = 1)
"""
FINE, PATHS = 512, 4000


def solve_on(template, scheme, steps, increments, tmp_path, backend="torch", noise="* dW", options=""):
    """X(T) of the emitted solve with the given increments (N, m, paths), as numpy."""
    text = compile_spec(template.format(scheme=scheme, steps=steps, noise=noise, options=options),
                        "sde.sciml", backend)
    module = load_module(text, f"sde_{scheme}_{steps}_{backend}_{abs(hash(options + noise))}", tmp_path)
    if backend == "torch":
        import torch
        p = {k: torch.tensor(v, dtype=torch.float64) for k, v in module.init_params(0).items()}
        dW = torch.tensor(increments)
        out = module.solve(p, module.initial_state(module.x0 if hasattr(module, "x0") else 1.0,
                                                   increments.shape[1], dW[0]), dW)
        return out.numpy()
    import jax.numpy as jnp
    p = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in module.init_params(0).items()}
    dW = jnp.asarray(increments)
    start = module.initial_state(module.x0 if hasattr(module, "x0") else 1.0, increments.shape[1], dW[0])
    return np.asarray(module.solve(p, start, dW))


def coarse(fine, steps):
    """The increments of a grid of `steps` steps: the fine increments summed in groups."""
    n, m, paths = fine.shape
    return fine.reshape(steps, n // steps, m, paths).sum(axis=1)


def fine_increments(m, paths=PATHS, seed=0):
    return np.random.default_rng(seed).normal(0.0, np.sqrt(1.0 / FINE), size=(FINE, m, paths))


def gbm_exact(fine, a=1.0, b=0.8):
    return np.exp((a - b**2 / 2) + b * fine.sum(axis=0))


def ou_exact(fine, theta=2.0):
    """x0 e^{-theta T} + sigma sum_k e^{-theta (T - t_k)} dW_k: the stochastic integral on the
    fine grid (its own error O(1/FINE), far below the coarse grids')."""
    times = np.arange(FINE) / FINE
    sigma, x0 = np.array([[0.3], [0.6]]), np.array([[1.0], [-1.0]])
    weights = np.exp(-theta * (1.0 - times))[:, None, None]
    return x0 * np.exp(-theta) + sigma * (weights * fine).sum(axis=0)


def slope(steps, errors):
    return np.polyfit(np.log(1.0 / np.asarray(steps)), np.log(errors), 1)[0]


@pytest.mark.parametrize("scheme, order", [("euler_maruyama", 0.5), ("milstein", 1.0)])
def test_strong_order_on_geometric_brownian_motion(scheme, order, tmp_path):
    fine = fine_increments(1)
    exact = gbm_exact(fine)
    grid = [8, 16, 32, 64, 128]
    errors = [np.mean(np.abs(solve_on(GBM, scheme, n, coarse(fine, n), tmp_path) - exact)) for n in grid]
    assert abs(slope(grid, errors) - order) <= 0.1, (scheme, slope(grid, errors), errors)


def test_weak_order_of_euler_maruyama_on_geometric_brownian_motion(tmp_path):
    fine = fine_increments(1, paths=20000, seed=1)
    exact = gbm_exact(fine)
    grid = [4, 8, 16, 32, 64]
    errors = [abs(np.mean(solve_on(GBM, "euler_maruyama", n, coarse(fine, n), tmp_path) - exact)) for n in grid]
    assert abs(slope(grid, errors) - 1.0) <= 0.2, (slope(grid, errors), errors)


def test_orders_on_ornstein_uhlenbeck_with_diagonal_noise(tmp_path):
    """Additive noise: Euler-Maruyama is strong order 1 as well as weak order 1 here."""
    fine = fine_increments(2, paths=8000, seed=2)
    exact = ou_exact(fine)
    grid = [8, 16, 32, 64]
    finals = [solve_on(OU, "euler_maruyama", n, coarse(fine, n), tmp_path) for n in grid]
    strong = [np.mean(np.abs(x - exact)) for x in finals]
    weak = [np.max(np.abs(np.mean(x - exact, axis=-1))) for x in finals]
    assert abs(slope(grid, strong) - 1.0) <= 0.1, (slope(grid, strong), strong)
    assert abs(slope(grid, weak) - 1.0) <= 0.2, (slope(grid, weak), weak)


def test_the_jax_solve_is_the_torch_solve(tmp_path):
    fine = fine_increments(1, paths=64, seed=3)
    for scheme in ("euler_maruyama", "milstein"):
        torch_final = solve_on(GBM, scheme, 32, coarse(fine, 32), tmp_path)
        jax_final = solve_on(GBM, scheme, 32, coarse(fine, 32), tmp_path, backend="jax")
        np.testing.assert_allclose(jax_final, torch_final, rtol=1e-12)


def test_stratonovich_is_integrated_in_its_ito_form(tmp_path):
    """d(X) = a X dt + b X o dW has the Ito drift (a + b^2/2) X: the exact solution
    exp(a T + b W(T)); Milstein on the Ito form converges to it at order 1."""
    fine = fine_increments(1, seed=4)
    exact = np.exp(1.0 + 0.8 * fine.sum(axis=0))
    grid = [8, 16, 32, 64, 128]
    errors = [np.mean(np.abs(solve_on(GBM, "milstein", n, coarse(fine, n), tmp_path, options=", ito = false")
                             - exact)) for n in grid]
    assert abs(slope(grid, errors) - 1.0) <= 0.1, (slope(grid, errors), errors)
    text = compile_spec(GBM.format(scheme="euler_maruyama", steps=8, noise="* dW", options=", ito = false"),
                        "sde.sciml", "torch")
    assert "X*a_ + (1 / 2)*X*b**2" in text or "(1 / 2)*X*b**2 + X*a_" in text


NON_COMMUTATIVE = """
model vector_net : sde
const T = 1.0, N = 10
noise W : R[2]
state X : R[2]
net g(X) = mlp(2 -> 8 -> 2, tanh)
sde     d(X) = -X * dt + g(X) * dW
initial X(0) = [1.0, 0.0]
scheme  milstein(N, T, paths = 8)
loss    mse(mean(X(T), over = paths), [0.0, 0.0])
train   adam(lr = 1e-3, steps = 1)
"""


def test_milstein_refuses_noise_it_cannot_correct():
    with pytest.raises(SpecError) as caught:
        compile_spec(NON_COMMUTATIVE, "vector_net.sciml", "torch")
    (found,) = [d for d in caught.value.diagnostics if d.severity == "error"]
    assert found.code == "E408" and "every entry" in found.message
    # Euler-Maruyama needs no g': the same model compiles
    compile_spec(NON_COMMUTATIVE.replace("milstein", "euler_maruyama"), "vector_net.sciml", "torch")


def test_increments_are_fresh_each_step_and_the_same_for_a_seed(tmp_path):
    text = compile_spec(GBM.format(scheme="milstein", steps=16, noise="* dW", options=""), "sde.sciml", "jax")
    module = load_module(text, "sde_draws", tmp_path)
    first, again, later = module.draw_batch(5, 0)["dW"], module.draw_batch(5, 0)["dW"], module.draw_batch(5, 1)["dW"]
    assert first.shape == (16, 1, 4)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, later)


TIME_NOISE = """
model noise_in_time_{scheme} : sde
const T = 1.0, N = {steps}
param a : R = -1.0
noise W : R
state X : R
sde     d(X) = a * X * dt + sin(3 * t) * dW{noise}
initial X(0) = 1.0
scheme  {scheme}(N, T, paths = 4{options})
loss    mean(X(T), over = paths)
train   adam(lr = 1e-3, steps = 1)
"""


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_a_diffusion_in_time_is_taken_at_each_step_time(backend, tmp_path):
    """d(X) = -X dt + sin(3t) dW: X(1) = e^-1 + sum_k e^-(1 - t_k) sin(3 t_k) dW_k (the stochastic
    integral on the fine grid); additive noise, so Euler-Maruyama converges at strong order 1
    only if each step reads its own time t_j."""
    fine = fine_increments(1, paths=2000, seed=5)
    times = np.arange(FINE) / FINE
    weights = (np.exp(-(1.0 - times)) * np.sin(3 * times))[:, None, None]
    exact = np.exp(-1.0) + (weights * fine).sum(axis=0)
    grid = [8, 16, 32, 64]
    errors = [np.mean(np.abs(solve_on(TIME_NOISE, "euler_maruyama", n, coarse(fine, n), tmp_path, backend=backend,
                                      noise="") - exact)) for n in grid]
    assert abs(slope(grid, errors) - 1.0) <= 0.15, (slope(grid, errors), errors)


def test_min_max_and_sum_of_a_vector_are_per_sample(tmp_path):
    """min(x), max(x): the smallest and largest entry of each path (the payoff min_i X_i of the
    default-risk BSDE), sum(x, over = entries) the sum of its entries; two arguments to min are
    refused with the relu forms, and sum over another name is E251."""
    spec = OU.replace("mse(mean(X(T), over = paths), 0 * x0)",
                      "mean(min(X(T)) + 2 * max(X(T)) + 3 * sum(X(T), over = entries))")
    for backend in ("torch", "jax"):
        module = load_module(compile_spec(spec.format(scheme="euler_maruyama", steps=4), "m.sciml", backend),
                             f"min_max_{backend}", tmp_path)
        batch = module.draw_batch(0, 0)
        p = module.init_params(0)
        if backend == "torch":
            import torch
            tp = {k: torch.tensor(v) for k, v in p.items()}
            dW = torch.tensor(batch["dW"])
            final = module.solve(tp, module.initial_state(module.x0, 2, dW[0]), dW).numpy()
        else:
            import jax.numpy as jnp
            dW = jnp.asarray(batch["dW"])
            final = np.asarray(module.solve({k: jnp.asarray(v) for k, v in p.items()},
                                            module.initial_state(module.x0, 2, dW[0]), dW))
        value, _ = module.loss_and_grad(p, batch)
        expected = np.mean(final.min(axis=0) + 2 * final.max(axis=0) + 3 * final.sum(axis=0))
        assert value == pytest.approx(expected, rel=1e-12)
    with pytest.raises(SpecError) as caught:
        compile_spec(spec.replace("min(X(T))", "min(X(T), 0)").format(scheme="euler_maruyama", steps=4),
                     "m.sciml", "jax")
    assert caught.value.diagnostics[0].code == "E206" and "relu" in caught.value.diagnostics[0].help
    with pytest.raises(SpecError) as caught:
        compile_spec(spec.replace("over = entries", "over = features").format(scheme="euler_maruyama", steps=4),
                     "m.sciml", "jax")
    assert caught.value.diagnostics[0].code == "E251"
