"""PINN conditions on derivatives and data in PINN models (issue 10, item 1): Neumann
conditions, periodic pairs of values and of slopes, an initial velocity, observations of the
field (generate field(...) as samples, with noise) and trainable parameters (inverse problems).
Each fit is checked against finite differences of the network at the condition's points, and
torch equals JAX on loss and gradients in float64."""
from __future__ import annotations

import numpy as np
import pytest

from sciml import pipeline
from sciml.frontend.diagnostics import SpecError
from sciml.modules import compile_and_import

torch = pytest.importorskip("torch")
pytest.importorskip("jax")

WAVE = """model wave : pinn
const c = 1.5
domain x in [0, 2], t in [0, 1]
net u(x, t) = mlp(2 -> 8 -> 8 -> 1, tanh)
pde      d(u, t, t) - c^2 * d(u, x, x) = 0
initial  u(x, 0) = sin(pi * x), dt(u)(x, 0) = x   with points = 20
boundary d(u, x)(0, t) = 1, u(2, t) = 0           with points = 10
scheme collocation(interior = sobol(64))
loss   residual + fit(initial) + 3 * fit(boundary)
train  adam(lr = 1e-3, steps = 5)
"""

PERIODIC = """model periodic_heat : pinn
domain x in [0, 2], t in [0, 1]
net u(x, t) = mlp(2 -> 8 -> 8 -> 1, tanh)
pde      dt(u) - 0.1 * d(u, x, x) = 0
initial  u(x, 0) = sin(pi * x)                                 with points = 20
boundary u(0, t) = u(2, t), d(u, x)(0, t) = d(u, x)(2, t)     with points = 10, weight = 2
scheme collocation(interior = sobol(64))
loss   residual + fit(initial) + fit(boundary)
train  adam(lr = 1e-3, steps = 5)
"""

INVERSE = """model inverse_burgers : pinn
domain x in [-1, 1], t in [0, 1]
data obs = generate field(u(x, t) = -sin(pi * x) * exp(-t), x = linspace(-1, 1, 9),
                          t = linspace(0, 1, 5), noise = 0.01, seed = 3)
param c : R = 0.5
net u(x, t) = mlp(2 -> 8 -> 8 -> 1, tanh)
pde      dt(u) + u * d(u, x) - c * d(u, x, x) = 0
scheme collocation(interior = sobol(64))
loss   residual + 10 * mse(u(obs.x, obs.t), obs.u)
train  adam(lr = 1e-2, steps = 30)
"""

E = 1e-5


def module(text, name, backend="torch"):
    return compile_and_import(f"{name}.sciml", backend, source=text, name=f"{name}_{backend}")


def tensors(mod, seed=1):
    return {k: torch.as_tensor(v) for k, v in mod.init_params(seed).items()}


def columns(points):
    return tuple(torch.as_tensor(points[:, k][None, :]) for k in range(points.shape[1]))


def d_dx(f, x, t):
    return (f(x + E, t) - f(x - E, t)) / (2 * E)


def d_dt(f, x, t):
    return (f(x, t + E) - f(x, t - E)) / (2 * E)


def test_neumann_and_initial_velocity_fits_are_the_conditions_at_their_points():
    mod = module(WAVE, "wave_conditions")
    p, batch = tensors(mod), mod.draw_batch(0, 0)
    u = lambda x, t: mod.u(p, x, t)                                  # noqa: E731
    sets = list(mod.POINT_SETS)
    assert sets == ["interior", "initial_t_0_0", "initial_t_0_1", "boundary_x_0", "boundary_x_2"]
    x, t = columns(batch["initial_t_0_0"])
    value = torch.mean((u(x, t) - torch.sin(np.pi * x)) ** 2)
    x, t = columns(batch["initial_t_0_1"])
    assert torch.all(t == 0)
    velocity = torch.mean((d_dt(u, x, t) - x) ** 2)
    got = mod.fit_initial(p, {k: torch.as_tensor(v) for k, v in batch.items()}).item()
    assert got == pytest.approx((value + velocity).item(), rel=1e-7)
    x, t = columns(batch["boundary_x_0"])
    assert torch.all(x == 0)
    slope = torch.mean((d_dx(u, x, t) - 1) ** 2)
    x, t = columns(batch["boundary_x_2"])
    end = torch.mean(u(x, t) ** 2)
    got = mod.fit_boundary(p, {k: torch.as_tensor(v) for k, v in batch.items()}).item()
    assert got == pytest.approx((slope + end).item(), rel=1e-7)


def test_periodic_values_and_slopes_compare_the_two_ends():
    mod = module(PERIODIC, "periodic_conditions")
    p, batch = tensors(mod), mod.draw_batch(0, 0)
    u = lambda x, t: mod.u(p, x, t)                                  # noqa: E731
    x, t = columns(batch["boundary_x_0_1"])
    values = torch.mean((u(x, t) - u(x + 2, t)) ** 2)
    x, t = columns(batch["boundary_x_0_2"])
    slopes = torch.mean((d_dx(u, x, t) - d_dx(u, x + 2, t)) ** 2)
    got = mod.fit_boundary(p, {k: torch.as_tensor(v) for k, v in batch.items()}).item()
    assert slopes.item() > 1e-6 and got == pytest.approx(2 * (values + slopes).item(), rel=1e-7)


def test_observations_are_samples_of_the_closed_form_with_seeded_noise():
    mod = module(INVERSE, "inverse_data")
    data = mod.make_data()["obs"]
    assert set(data) == {"x", "t", "u"} and all(v.shape == (1, 45) for v in data.values())
    assert mod.SAMPLE_FIELDS == {"obs": ("x", "t", "u")} and mod.TRAIN_SET == "obs"
    exact = -np.sin(np.pi * data["x"]) * np.exp(-data["t"])
    noise = data["u"] - exact
    assert 0.005 < np.std(noise) < 0.02
    np.testing.assert_array_equal(noise, mod.make_data()["obs"]["u"] - exact)      # seeded
    grid = sorted(set(zip(data["x"][0].round(12), data["t"][0].round(12))))
    assert len(grid) == 45 and grid[0] == (-1.0, 0.0) and grid[-1] == (1.0, 1.0)


@pytest.mark.parametrize("text, name", [(WAVE, "wave"), (PERIODIC, "periodic"), (INVERSE, "inverse")])
def test_torch_equals_jax(text, name):
    import jax.numpy as jnp
    mods = {b: module(text, f"{name}_agree", b) for b in ("torch", "jax")}
    batch = mods["torch"].draw_batch(2, 0)
    if mods["torch"].TRAIN_SET:
        batch = {**mods["torch"].make_data()[mods["torch"].TRAIN_SET], **batch}
    params = mods["torch"].init_params(0)
    value_t, grads_t = mods["torch"].loss_and_grad(params, batch, torch.float64)
    value_j, grads_j = mods["jax"].loss_and_grad(params, batch, jnp.float64)
    assert value_t > 0 and abs(value_t - value_j) <= 1e-10 * value_t
    for key in grads_t:
        scale = max(1.0, np.max(np.abs(grads_t[key])))
        assert np.max(np.abs(grads_t[key] - grads_j[key])) <= 1e-10 * scale, key
    if name == "inverse":
        assert abs(grads_t["c"]) > 1e-8        # the parameter is in the residual


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_the_inverse_problem_moves_its_parameter(backend):
    mod = module(INVERSE, "inverse_train", backend)
    losses = []
    trained, final = mod.train(mod.init_params(0), mod.make_data(), steps=30, seed=0, log_every=0,
                               losses=losses)
    assert final < losses[0] and float(trained["c"]) != 0.5


@pytest.mark.parametrize("change, construct", [
    ("mse(u(obs.x, obs.t), obs.u)", "mse(u(obs.x, 0 * obs.t), obs.u)"),
    ("train  adam(lr = 1e-2, steps = 30)", "train  adam(lr = 1e-2, steps = 30)\nreport mean(c)"),
])
def test_e901_names_what_is_not_written(change, construct):
    source = INVERSE.replace(change, construct)
    assert construct in source
    pipeline.front_end(source, "m.sciml")
    with pytest.raises(SpecError) as caught:
        pipeline.compile_spec(source, "m.sciml", "torch")
    assert {d.code for d in caught.value.diagnostics} == {"E901"}
