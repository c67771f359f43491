"""The method of lines (issue 11): a grid_pde spec compiles to the ODE of its nodes.  The
semi-discretization is second order in dx on exact solutions (periodic, Dirichlet, Neumann
ends), the full scheme has its integrator's order in time, the data of `generate pde(...)` are
the known PDE's solution, and the ends hold their conditions."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import assert_backends_agree
from sciml import pipeline
from sciml.modules import compile_and_import

torch = pytest.importorskip("torch")

HEAT = """model heat : grid_pde
const grid = {nodes}, T = 0.1
domain x in [0, 1], t in [0, T]
data train = generate field(u(x, t) = exp(-4 * pi^2 * 0.1 * t) * sin(2 * pi * x),
                            x = {xs}, t = linspace(0, T, 3))
state u : R
param D : R = 0.1
{nets}
pde      dt(u) = D * d(u, x, x) + {extra}
initial  u(x, 0) = sin(2 * pi * x)
boundary {boundary}
scheme   method_of_lines(grid = grid, time = {time}(steps, T))
loss   mse(u(train.x, train.t), train.u)
train  adam(lr = 1e-3, steps = 2)
"""
BOUNDARIES = {
    "periodic": ("u(0, t) = u(1, t)", "linspace(0, 1 - 1 / grid, grid)"),
    "dirichlet": ("u(0, t) = 0, u(1, t) = 0", "linspace(0, 1, grid)"),
    "neumann": ("d(u, x)(0, t) = 2 * pi, u(1, t) = 0", "linspace(0, 1, grid)"),
}


def heat_text(nodes, boundary, time="euler", steps=10, extra="0", nets=""):
    condition, xs = BOUNDARIES[boundary]
    return HEAT.format(nodes=nodes, xs=xs, boundary=condition, time=time, extra=extra, nets=nets).replace(
        "const grid", f"const steps = {steps}, grid")


def heat(nodes, boundary, time="euler", steps=10, extra="0", nets="", name=None, backend="torch"):
    name = name or f"heat_{boundary}_{nodes}_{time}_{steps}"
    return compile_and_import(f"{name}.sciml", backend, name=f"{name}_{backend}",
                              source=heat_text(nodes, boundary, time, steps, extra, nets))


def rate_error(mod, boundary):
    """max |du/dt(exact u at the nodes) - exact u_t| for u = sin(2 pi x) and D = 0.1; at a
    Neumann end node the ghost node's truncation error is first order (the solution stays
    second order), so that node is left out."""
    x = torch.as_tensor(mod.x_nodes)
    u = torch.sin(2 * np.pi * x)
    rate = mod.du_dt(u, torch.tensor(0.1, dtype=torch.float64))
    error = torch.abs(rate + 0.1 * 4 * np.pi**2 * u)
    return float(torch.max(error[1:] if boundary == "neumann" else error))


@pytest.mark.parametrize("boundary", ["periodic", "dirichlet", "neumann"])
def test_the_semi_discretization_is_second_order_in_dx(boundary):
    nodes = [17, 33, 65] if boundary != "periodic" else [16, 32, 64]
    errors = [rate_error(heat(n, boundary), boundary) for n in nodes]
    slopes = np.diff(np.log(errors)) / np.diff(np.log([1 / n for n in nodes]))
    assert errors[-1] < 1e-2 and np.all(np.abs(slopes - 2) < 0.15), (errors, slopes)


def test_the_ends_hold_their_conditions():
    mod = heat(33, "neumann")
    u = torch.as_tensor(np.linspace(0, 1, 32)[:, None] ** 2)   # the unknowns: x = 0 .. 31/32
    ends = mod.u_with_ends(u)
    dx = 1 / 32
    assert ends.shape == (34, 1)
    assert float((ends[2] - ends[0]) / (2 * dx)) == pytest.approx(2 * np.pi, rel=1e-12)   # the slope
    assert float(ends[-1]) == 0.0                                                       # Dirichlet
    grid = mod.u_on_grid(u[None])
    assert grid.shape == (1, 33) and float(grid[0, -1]) == 0.0 and torch.equal(grid[0, :32], u[:, 0])


@pytest.mark.parametrize("time, order", [("euler", 1), ("rk4", 4), ("imex", 1)])
def test_the_full_scheme_has_the_integrators_order_in_time(time, order):
    """Against the exact solution of the semi-discrete system: sin(2 pi x_i) decays at
    lambda = -4 D / dx^2 sin^2(pi dx) on a periodic grid."""
    dx, T = 1 / 16, 0.1
    rate = -4 * 0.1 / dx**2 * np.sin(np.pi * dx) ** 2
    errors = []
    step_counts = [20, 40, 80] if order == 1 else [10, 20, 40]
    if time == "imex":   # stable at any step: steps far above the explicit limit h <= dx^2 / (2 D)
        step_counts = [2, 4, 8]
    for steps in step_counts:
        mod = heat(16, "periodic", time, steps)
        p = {k: torch.as_tensor(v) for k, v in mod.init_params(0).items()}
        path = mod.solve(p, torch.as_tensor(mod.u0))
        exact = np.exp(rate * T) * np.sin(2 * np.pi * mod.x_nodes)
        errors.append(float(np.max(np.abs(path[-1].numpy() - exact))))
    slopes = np.diff(np.log(errors)) / np.diff(np.log([T / s for s in step_counts]))
    assert np.all(np.abs(slopes - order) < 0.2), (errors, slopes)


def test_generated_pde_data_solve_the_known_pde():
    """generate pde(...) on a 4x finer grid: the heat equation's exact decay to 1e-4."""
    text = heat_text(32, "periodic").replace(
        "generate field(u(x, t) = exp(-4 * pi^2 * 0.1 * t) * sin(2 * pi * x),",
        "generate pde(dt(u) = 0.1 * lap(u), u(x, 0) = sin(2 * pi * x), boundary = periodic,")
    assert "generate pde" in text
    mod = compile_and_import("pde_data.sciml", "torch", source=text, name="pde_data_torch")
    data = mod.make_data()["train"]
    assert data["u"].shape == (3, 32) and data["x"].shape == (32,)
    exact = np.exp(-4 * np.pi**2 * 0.1 * data["t"][:, None]) * np.sin(2 * np.pi * data["x"][None, :])
    assert np.max(np.abs(data["u"] - exact)) < 1e-4


NETS = "net U(u) = mlp(1 -> 8 -> 1, tanh)\nnet R(u) = mlp(1 -> 8 -> 1, tanh)"


def test_networks_act_at_every_node():
    """A reaction R(u) and a flux div(U(u) u): each network applied node by node."""
    text = pipeline.compile_spec(heat_text(16, "periodic", extra="div(U(u) * u) + R(u)", nets=NETS),
                                 "h.sciml", "torch")
    assert ("    return D*second_difference(u_ends, 0.0625) + at_nodes(R, p, u) + "
            "central_difference(u_ends*at_nodes(U, p, u_ends), 0.0625)") in text
    mod = heat(16, "periodic", extra="div(U(u) * u) + R(u)", nets=NETS, name="heat_nets")
    p = {k: torch.as_tensor(v) for k, v in mod.init_params(1).items()}
    u = torch.as_tensor(np.random.default_rng(0).normal(size=(16, 3)))
    by_node = torch.stack([torch.stack([mod.R(p, u[i:i + 1, j:j + 1])[0, 0] for j in range(3)]) for i in range(16)])
    assert torch.allclose(mod.at_nodes(mod.R, p, u), by_node, rtol=0, atol=1e-14)


@pytest.mark.parametrize("boundary", ["periodic", "dirichlet", "neumann"])
def test_torch_equals_jax(boundary):
    pytest.importorskip("jax")
    mods = {b: heat(16 if boundary == "periodic" else 17, boundary, "rk4", extra="div(U(u) * u) + R(u)",
                    nets=NETS, name=f"heat_agree_{boundary}", backend=b) for b in ("torch", "jax")}
    assert_backends_agree(mods, seed=2)


def test_rel_l2_over_a_data_field():
    """rel_l2(U, exact = 0.5 * u, over = train.u): on 101 values from min to max of the data;
    two rel_l2 reports get the network's name in their labels."""
    text = heat_text(16, "periodic", extra="div(U(u) * u) + R(u)", nets=NETS) + (
        "report rel_l2(U, exact = 0.5 * u, over = train.u), rel_l2(R, exact = u, over = train.u)\n")
    mod = compile_and_import("h.sciml", "torch", source=text, name="heat_rel_l2_torch")
    params, data = mod.init_params(0), mod.make_data()
    reports = mod.reports(params, data)
    assert set(reports) == {"rel_l2_U", "rel_l2_R"}
    p = {k: torch.as_tensor(v) for k, v in params.items()}
    values = torch.linspace(float(data["train"]["u"].min()), float(data["train"]["u"].max()), 101,
                            dtype=torch.float64)[None, :]
    expected = torch.linalg.vector_norm(mod.U(p, values) - 0.5 * values) / torch.linalg.vector_norm(0.5 * values)
    assert reports["rel_l2_U"] == pytest.approx(float(expected), rel=1e-12)


def test_imex_takes_the_diffusion_implicitly():
    """imex(steps, T) on a grid: L = -D times the second-difference matrix (ends included), the
    rest explicit; the matrix equals the stencil applied to the unit vectors."""
    for boundary in ("periodic", "dirichlet", "neumann"):
        mod = heat(16 if boundary == "periodic" else 17, boundary, "imex", name=f"heat_imex_{boundary}")
        matrix = torch.as_tensor(mod.laplacian)
        m = matrix.shape[0]
        columns = []
        for k in range(m):
            e = torch.zeros((m, 1), dtype=torch.float64)
            e[k] = 1
            zero = mod.second_difference(mod.u_with_ends(0 * e), 1 / 16)   # the ends' own part
            columns.append(mod.second_difference(mod.u_with_ends(e), 1 / 16) - zero)
        assert torch.allclose(torch.cat(columns, dim=1), matrix, rtol=0, atol=1e-9), boundary
    text = pipeline.compile_spec(heat_text(16, "periodic", "imex"), "h.sciml", "torch")
    assert "implicit = laplacian_factors(1, h * D, u)" in text   # I + h L, L = -D laplacian: grid_solve_code
    assert "u = laplacian_solve(implicit, u)" in text            # the explicit rest of D * lap(u) is 0


def transport(nodes, extra, steps=10, name="transport"):
    text = heat_text(nodes, "periodic", steps=steps, extra=extra).replace(
        "time = euler(steps, T))", "time = euler(steps, T), advection = upwind)")
    assert "advection = upwind" in text
    return compile_and_import(f"{name}.sciml", "torch", source=text, name=f"{name}_{nodes}_{steps}_torch")


@pytest.mark.parametrize("extra, speed", [("-2 * d(u, x)", 2.0), ("2 * d(u, x)", -2.0),
                                         ("div(-2 * u)", 2.0), ("div(2 * u)", -2.0)])
def test_upwind_differences_take_the_side_the_flow_comes_from(extra, speed):
    """dt(u) = -c d(u, x) moves u at speed c: upwind differencing is first order, and forward
    Euler at h = dx / |c| carries the grid values exactly one node a step (its CFL limit)."""
    errors = []
    for nodes in (32, 64, 128):
        mod = transport(nodes, extra, name=f"transport_{abs(hash(extra)) % 1000}")
        x = torch.as_tensor(mod.x_nodes)
        u = torch.sin(2 * np.pi * x)
        rate = mod.du_dt(u, torch.tensor(0.0, dtype=torch.float64))   # D = 0: transport only
        errors.append(float(torch.max(torch.abs(rate + speed * 2 * np.pi * torch.cos(2 * np.pi * x)))))
    slopes = np.diff(np.log(errors)) / np.diff(np.log([1 / 32, 1 / 64, 1 / 128]))
    assert np.all(np.abs(slopes - 1) < 0.1), (errors, slopes)
    mod = transport(32, extra, name=f"transport_{abs(hash(extra)) % 1000}")
    u = torch.as_tensor(np.random.default_rng(0).normal(size=(32, 1)))
    h = (1 / 32) / abs(speed)
    moved = u + h * mod.du_dt(u, torch.tensor(0.0, dtype=torch.float64))
    assert torch.allclose(moved, torch.roll(u, 1 if speed > 0 else -1, dims=0), rtol=0, atol=1e-12)


def test_upwind_torch_equals_jax():
    pytest.importorskip("jax")
    import jax.numpy as jnp
    text = heat_text(16, "periodic", extra="div(U(u) * u) + R(u)", nets=NETS).replace(
        "time = euler(steps, T))", "time = euler(steps, T), advection = upwind)")
    mods = {b: compile_and_import("up.sciml", b, source=text, name=f"upwind_agree_{b}") for b in ("torch", "jax")}
    assert "upwind_divergence(at_nodes(U, p, u_ends), u_ends, 0.0625)" in open(mods["torch"].__file__).read()
    params, batch = mods["torch"].init_params(1), mods["torch"].evaluation_batch(mods["torch"].make_data())
    value_t, grads_t = mods["torch"].loss_and_grad(params, batch, torch.float64)
    value_j, grads_j = mods["jax"].loss_and_grad(params, batch, jnp.float64)
    assert value_t > 0 and abs(value_t - value_j) <= 1e-10 * value_t
    for key in grads_t:
        assert np.max(np.abs(grads_t[key] - grads_j[key])) <= 1e-10 * max(1.0, np.max(np.abs(grads_t[key]))), key


CONV = """model convheat : grid_pde
const grid = 16, steps = 20, T = 0.1
domain x in [0, 1], t in [0, T]
data train = generate field(u(x, t) = exp(-4 * pi^2 * 0.1 * t) * sin(2 * pi * x),
                            x = linspace(0, 1 - 1 / grid, grid), t = linspace(0, T, 3))
state u : R
param K : R[3] = [0.1, -0.2, 0.1]
const L = [1, -2, 1]
pde      dt(u) = {rhs}
initial  u(x, 0) = sin(2 * pi * x)
boundary u(0, t) = u(1, t)
scheme   method_of_lines(grid = grid, time = rk4(steps, T))
loss   mse(u(train.x, train.t), train.u)
train  adam(lr = 1e-3, steps = 2)
"""


def test_a_convolution_runs_its_kernel_along_the_grid():
    """conv(K, u): K[1] u[i-1] + K[2] u[i] + K[3] u[i+1] with the ends as the boundary says; the
    fixed kernel [1, -2, 1] * grid^2 is the second difference, and a learned K gets its gradient
    alike in torch and JAX."""
    pytest.importorskip("jax")
    import jax.numpy as jnp
    fixed = compile_and_import("conv_fixed.sciml", "torch", name="conv_fixed", source=CONV.format(
        rhs="D * conv(L * grid^2, u)").replace("param K : R[3] = [0.1, -0.2, 0.1]", "param D : R = 0.1"))
    stencil = heat(16, "periodic", "rk4", steps=20, name="conv_stencil")
    u = torch.as_tensor(np.random.default_rng(0).normal(size=(16, 1)))
    D = torch.tensor(0.1, dtype=torch.float64)
    assert torch.allclose(fixed.du_dt(u, D, torch.as_tensor(fixed.L)), stencil.du_dt(u, D), rtol=0, atol=1e-12)
    text = CONV.format(rhs="conv(K, u) * grid^2 / 10")
    mods = {b: compile_and_import("conv_learned.sciml", b, name=f"conv_learned_{b}", source=text) for b in ("torch", "jax")}
    params, batch = mods["torch"].init_params(0), mods["torch"].evaluation_batch(mods["torch"].make_data())
    value_t, grads_t = mods["torch"].loss_and_grad(params, batch, torch.float64)
    value_j, grads_j = mods["jax"].loss_and_grad(params, batch, jnp.float64)
    assert value_t > 0 and abs(value_t - value_j) <= 1e-10 * value_t
    assert np.max(np.abs(grads_t["K"])) > 0 and np.max(np.abs(grads_t["K"] - grads_j["K"])) <= 1e-10 * np.max(np.abs(grads_t["K"]))
