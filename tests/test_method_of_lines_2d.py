"""The method of lines on a 2-D grid (issue 11, item 1): the state is the column of the unknown
nodes (x-major), the stencils read it with one node added at each end of both axes.  The
semi-discretization is second order in dx and dy on exact solutions (Dirichlet, periodic and
Neumann sides), the full scheme has its integrator's order in time, the ends hold their
conditions, the data sit on the grid, and torch and JAX agree to 1e-10."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import assert_backends_agree
from sciml import pipeline
from sciml.frontend.diagnostics import SpecError
from sciml.modules import compile_and_import

torch = pytest.importorskip("torch")

HEAT = """model heat2 : grid_pde
const grid = {nodes}, T = 0.1, steps = {steps}
domain x in [0, 1], y in [0, 2], t in [0, T]
data train = generate field(u(x, y, t) = exp(-0.1 * 5 * pi^2 * t) * {shape},
                            x = {xs}, y = linspace(0, 2, grid), t = linspace(0, T, 3))
state u : R
param D : R = 0.1
{nets}
pde      dt(u) = D * lap(u) + {extra}
initial  u(x, y, 0) = {shape}
boundary {boundary}
scheme   method_of_lines(grid = grid, time = {time}(steps, T))
loss   mse(u(train.x, train.y, train.t), train.u)
train  adam(lr = 1e-3, steps = 2)
"""
# u = sin(2 pi x) sin(pi y / 2) ... on [0, 1] x [0, 2]: lap u = -(4 pi^2 + pi^2 / 4) u, and one
# shape per boundary, each satisfying its sides' conditions exactly
BOUNDARIES = {
    "dirichlet": ("u(0, y, t) = 0, u(1, y, t) = 0, u(x, 0, t) = 0, u(x, 2, t) = 0",
                  "linspace(0, 1, grid)", "sin(pi * x) * sin(pi * y)", np.pi**2 * 2),
    "periodic_x": ("u(0, y, t) = u(1, y, t), u(x, 0, t) = 0, u(x, 2, t) = 0",
                   "linspace(0, 1 - 1 / grid, grid)", "sin(2 * pi * x) * sin(pi * y)", np.pi**2 * 5),
    "neumann_y": ("u(0, y, t) = 0, u(1, y, t) = 0, u(x, 0, t) = 0, d(u, y)(x, 2, t) = 0",
                  "linspace(0, 1, grid)", "sin(pi * x) * sin(pi * y / 4)", np.pi**2 * (1 + 1 / 16)),
}
EXACT = {"dirichlet": lambda x, y: np.sin(np.pi * x) * np.sin(np.pi * y),
         "periodic_x": lambda x, y: np.sin(2 * np.pi * x) * np.sin(np.pi * y),
         "neumann_y": lambda x, y: np.sin(np.pi * x) * np.sin(np.pi * y / 4)}


def heat_text(nodes, boundary, time="euler", steps=10, extra="0", nets=""):
    condition, xs, shape, _ = BOUNDARIES[boundary]
    return HEAT.format(nodes=nodes, xs=xs, boundary=condition, time=time, steps=steps, extra=extra, nets=nets,
                       shape=shape)


def heat(nodes, boundary, time="euler", steps=10, extra="0", nets="", name=None, backend="torch"):
    name = name or f"heat2_{boundary}_{nodes}_{time}_{steps}"
    return compile_and_import(f"{name}.sciml", backend, name=f"{name}_{backend}",
                              source=heat_text(nodes, boundary, time, steps, extra, nets))


def rate_error(mod, boundary):
    """max |du/dt(exact u at the unknown nodes) - D lap(u)| for D = 0.1; at the Neumann side's
    nodes the ghost node's truncation error is first order, so they are left out."""
    x, y = mod.x_nodes[:, 0], mod.y_nodes[:, 0]
    u = torch.as_tensor(EXACT[boundary](x, y)[:, None])
    rate = mod.du_dt(u, torch.tensor(0.1, dtype=torch.float64))
    error = torch.abs(rate + 0.1 * BOUNDARIES[boundary][3] * u)[:, 0].numpy()
    return float(np.max(error[y < 2 - 1e-12]))


@pytest.mark.parametrize("boundary", list(BOUNDARIES))
def test_the_semi_discretization_is_second_order_in_dx_and_dy(boundary):
    nodes = [9, 17, 33]
    errors = [rate_error(heat(n, boundary), boundary) for n in nodes]
    slopes = np.diff(np.log(errors)) / np.diff(np.log([1 / n for n in nodes]))
    assert errors[-1] < 2e-2 and np.all(np.abs(slopes - 2) < 0.25), (errors, slopes)


def test_the_state_is_a_column_x_major_and_the_sides_hold_their_conditions():
    mod = heat(9, "neumann_y")          # x: 7 unknowns (Dirichlet), y: 8 (Dirichlet at 0, Neumann at 2)
    x, y = mod.x_nodes[:, 0], mod.y_nodes[:, 0]
    assert mod.x_nodes.shape == (56, 1) and np.allclose(x[:8], 0.125) and np.allclose(y[:8], 0.25 * np.arange(1, 9))
    u = torch.as_tensor((x + 10 * y)[:, None])
    ends = mod.u_with_ends(u)
    assert ends.shape == (9, 10, 1)
    assert torch.equal(ends[1:-1, 1:-1, 0], u.reshape(7, 8))
    assert float(torch.max(torch.abs(ends[0]))) == 0.0 and float(torch.max(torch.abs(ends[:, 0]))) == 0.0
    slope = (ends[1:-1, -1, 0] - ends[1:-1, -3, 0]) / (2 * 0.25)   # the ghost node: zero slope at y = 2
    assert float(torch.max(torch.abs(slope))) == 0.0
    grid = mod.u_on_grid(u[None])
    assert grid.shape == (1, 9, 9) and torch.equal(grid[0, 1:-1, 1:], u.reshape(7, 8))
    assert float(torch.max(torch.abs(grid[0, :, 0]))) == 0.0


@pytest.mark.parametrize("time, order", [("euler", 1), ("rk4", 4)])
def test_the_full_scheme_has_the_integrators_order_in_time(time, order):
    """Against the exact solution of the semi-discrete system: on the Dirichlet grid the mode
    sin(pi x_i) sin(pi y_j) decays at -4 D (sin^2(pi dx / 2) / dx^2 + sin^2(pi dy / 2) / dy^2)."""
    dx, dy, T = 1 / 8, 2 / 8, 0.1
    rate = -4 * 0.1 * (np.sin(np.pi * dx / 2) ** 2 / dx**2 + np.sin(np.pi * dy / 2) ** 2 / dy**2)
    errors = []
    step_counts = [20, 40, 80] if order == 1 else [4, 8, 16]
    for steps in step_counts:
        mod = heat(9, "dirichlet", time, steps)
        p = {k: torch.as_tensor(v) for k, v in mod.init_params(0).items()}
        path = mod.solve(p, torch.as_tensor(mod.u0))
        exact = np.exp(rate * T) * EXACT["dirichlet"](mod.x_nodes, mod.y_nodes)
        errors.append(float(np.max(np.abs(path[-1].numpy() - exact))))
    slopes = np.diff(np.log(errors)) / np.diff(np.log([T / s for s in step_counts]))
    assert np.all(np.abs(slopes - order) < 0.2), (errors, slopes)


def test_field_data_on_a_2d_grid():
    mod = heat(9, "periodic_x")
    data = mod.make_data()["train"]
    assert data["u"].shape == (3, 9, 9) and data["x"].shape == (9,) and data["y"].shape == (9,)
    t, x, y = np.meshgrid(data["t"], data["x"], data["y"], indexing="ij")
    assert np.allclose(data["u"], np.exp(-0.5 * np.pi**2 * t) * EXACT["periodic_x"](x, y), rtol=0, atol=1e-15)


NETS = "net R(u) = mlp(1 -> 8 -> 1, tanh)\nnet N(x, y) = mlp(2 -> 8 -> 1, tanh)"


def test_networks_and_a_divergence_on_a_2d_grid():
    """R(u) and N(x, y) at every node; div([v, w]) is d(v, x) + d(w, y), central differences."""
    extra = "R(u) + N(x, y) + div([u^2, u])"
    text = pipeline.compile_spec(heat_text(9, "dirichlet", extra=extra, nets=NETS), "h.sciml", "torch")
    rhs = next(line for line in text.split("\n") if line.startswith("    return D*(second_difference_2d"))
    for piece in ("second_difference_2d(u_ends, 0.125, axis=0) + second_difference_2d(u_ends, 0.25, axis=1)",
                  "at_nodes(R, p, u)", "at_nodes(N, p, x_nodes, y_nodes)", "central_difference_2d(u_ends**2, 0.125, axis=0)",
                  "central_difference_2d(u_ends, 0.25, axis=1)"):
        assert piece in rhs, rhs


def test_torch_equals_jax():
    """One grid with every kind of side: periodic in x, Dirichlet at y = 0, Neumann at y = 2."""
    pytest.importorskip("jax")
    text = heat_text(9, "periodic_x", "rk4", extra="R(u) + N(x, y) + div([u^2, u])", nets=NETS).replace(
        "u(x, 2, t) = 0", "d(u, y)(x, 2, t) = 0.5")
    assert "d(u, y)(x, 2, t) = 0.5" in text
    mods = {b: compile_and_import("heat2_agree.sciml", b, name=f"heat2_agree_{b}", source=text)
            for b in ("torch", "jax")}
    assert_backends_agree(mods, seed=2)


def errors_of(text):
    with pytest.raises(SpecError) as caught:
        pipeline.compile_spec(text, "h.sciml", "torch")
    return [(d.code, d.message) for d in caught.value.diagnostics]


def test_data_off_the_grid_name_the_nearest_node():
    text = heat_text(9, "dirichlet").replace("y = linspace(0, 2, grid)", "y = linspace(0, 2, 7)")
    ((code, message),) = errors_of(text)
    assert code == "E406" and "y = 0.333333" in message and "the nearest is y = 0.25" in message


@pytest.mark.parametrize("change, what", [
    ("D * d(u, x, x) + 2 * D * d(u, y, y)", "implicit diffusion (IMEX) on a 2-D grid other than kappa * lap(u)"),
    ("D * lap(u) + d(u, x, y)", "mixed derivatives"),
])
def test_what_a_2d_grid_does_not_write_yet_is_e901(change, what):
    text = heat_text(9, "dirichlet").replace("D * lap(u) + 0", change)
    if "d(u, x, x)" in change:
        text = text.replace("time = euler(steps, T)", "time = imex(steps, T)")
    found = errors_of(text)
    assert any(code == "E901" and what in message for code, message in found), found


def dense_step(mod, u, D, steps=1):
    """IMEX Euler with the dense matrix: (I - h D L) u+ = u (no other term), L the five-point
    Laplacian on the unknowns, built from the module's own stencil applied to unit vectors."""
    n = u.shape[0]
    columns = [mod.du_dt(torch.eye(n, dtype=torch.float64)[:, k:k + 1], torch.tensor(1.0, dtype=torch.float64))
               for k in range(n)]
    L = torch.cat(columns, dim=1)
    return torch.linalg.solve(torch.eye(n, dtype=torch.float64) - mod.h * D * L, u)


@pytest.mark.parametrize("boundary", list(BOUNDARIES))
def test_imex_on_a_2d_grid_solves_as_the_dense_matrix_does(boundary):
    """One IMEX step of the heat equation: the eigenbasis solve equals the dense solve to 1e-12."""
    mod = heat(9, boundary, "imex", steps=2)
    p = {k: torch.as_tensor(v) for k, v in mod.init_params(0).items()}
    u0 = torch.as_tensor(mod.u0)
    path = mod.solve(p, u0)   # the observed steps 0, 1, 2
    expected = dense_step(mod, u0, 0.1, 1)
    assert path.shape[0] == 3
    assert float(torch.max(torch.abs(path[1] - expected))) <= 1e-12 * float(torch.max(torch.abs(expected)))


def test_imex_on_a_2d_grid_is_first_order_and_agrees_across_backends():
    pytest.importorskip("jax")
    dx, dy, T = 1 / 8, 2 / 8, 0.1
    rate = -4 * 0.1 * (np.sin(np.pi * dx / 2) ** 2 / dx**2 + np.sin(np.pi * dy / 2) ** 2 / dy**2)
    errors = []
    for steps in (4, 8, 16):   # far above the explicit limit h <= 1 / (2 D (1/dx^2 + 1/dy^2)) = 0.0625
        mod = heat(9, "dirichlet", "imex", steps)
        p = {k: torch.as_tensor(v) for k, v in mod.init_params(0).items()}
        path = mod.solve(p, torch.as_tensor(mod.u0))
        exact = np.exp(rate * T) * EXACT["dirichlet"](mod.x_nodes, mod.y_nodes)
        errors.append(float(np.max(np.abs(path[-1].numpy() - exact))))
    slopes = np.diff(np.log(errors)) / np.diff(np.log([4, 8, 16]))
    assert np.all(np.abs(slopes + 1) < 0.2), (errors, slopes)
    text = heat_text(9, "periodic_x", "imex", extra="R(u)", nets=NETS).replace(
        "u(x, 2, t) = 0", "d(u, y)(x, 2, t) = 0")
    mods = {b: compile_and_import("heat2_imex.sciml", b, name=f"heat2_imex_{b}", source=text) for b in ("torch", "jax")}
    _, grads = assert_backends_agree(mods, seed=3)
    assert abs(grads["D"]).max() > 0   # the solve is differentiable in the learned D


WAVE = """model wave2 : grid_pde
const grid = 9, T = 0.5, steps = {steps}
domain x in [0, 1], y in [0, 2], t in [0, T]
data train = generate field(u(x, y, t) = cos(pi * t) * sin(pi * x) * sin(pi * y),
                            x = linspace(0, 1, grid), y = linspace(0, 2, grid), t = linspace(0, T, 3))
state u : R
param k : R = 0.5
pde      dt(dt(u)) = k * lap(u)
initial  u(x, y, 0) = sin(pi * x) * sin(pi * y), dt(u)(x, y, 0) = {velocity}
boundary u(0, y, t) = 0, u(1, y, t) = 0, u(x, 0, t) = 0, u(x, 2, t) = 0
scheme   method_of_lines(grid = grid, time = leapfrog(steps, T))
loss   mse(u(train.x, train.y, train.t), train.u)
train  adam(lr = 1e-2, steps = 2)
"""


def test_leapfrog_on_a_2d_grid_is_second_order_and_reads_both_initial_conditions():
    """The wave equation: the mode sin(pi x_i) sin(pi y_j) from rest oscillates at omega^2 = k
    4 (sin^2(pi dx / 2) / dx^2 + sin^2(pi dy / 2) / dy^2) on the grid; and the initial velocity
    is its own constant (a start from rest and one with a velocity differ)."""
    dx, dy, T = 1 / 8, 2 / 8, 0.5
    omega = np.sqrt(0.5 * 4 * (np.sin(np.pi * dx / 2) ** 2 / dx**2 + np.sin(np.pi * dy / 2) ** 2 / dy**2))
    errors = []
    for steps in (10, 20, 40):
        mod = compile_and_import("wave2.sciml", "torch", name=f"wave2_{steps}", source=WAVE.format(steps=steps, velocity="0"))
        p = {k: torch.as_tensor(v) for k, v in mod.init_params(0).items()}
        path = mod.solve(p, torch.as_tensor(mod.u0), torch.as_tensor(0 * mod.u0))
        exact = np.cos(omega * T) * EXACT["dirichlet"](mod.x_nodes, mod.y_nodes)
        errors.append(float(np.max(np.abs(path[-1].numpy() - exact))))
    slopes = np.diff(np.log(errors)) / np.diff(np.log([10, 20, 40]))
    assert np.all(np.abs(slopes + 2) < 0.2), (errors, slopes)
    pytest.importorskip("jax")
    import jax.numpy as jnp
    text = WAVE.format(steps=20, velocity="x * (1 - x) * y")
    mods = {b: compile_and_import("wave2v.sciml", b, name=f"wave2v_{b}", source=text) for b in ("torch", "jax")}
    assert "u_t0 = " in open(mods["torch"].__file__).read()
    params, batch = mods["torch"].init_params(0), mods["torch"].evaluation_batch(mods["torch"].make_data())
    value_t, grads_t = mods["torch"].loss_and_grad(params, batch, torch.float64)
    value_j, grads_j = mods["jax"].loss_and_grad(params, batch, jnp.float64)
    assert abs(value_t - value_j) <= 1e-10 * value_t and abs(grads_t["k"] - grads_j["k"]) <= 1e-10 * abs(grads_t["k"])
    at_rest = compile_and_import("wave2r.sciml", "torch", name="wave2r", source=WAVE.format(steps=20, velocity="0"))
    assert abs(at_rest.loss_and_grad(params, batch, torch.float64)[0] - value_t) > 1e-6 * value_t


PDE_DATA = """model heat2_data : grid_pde
const grid = 9, T = 0.1, steps = 10
domain x in [0, 1], y in [0, 2], t in [0, T]
data train = generate pde(dt(u) = 0.1 * lap(u), u(x, y, 0) = {start}, boundary = {boundary},
                          x = {xs}, y = {ys}, t = linspace(0, T, 3))
state u : R
param D : R = 0.1
pde      dt(u) = D * lap(u)
initial  u(x, y, 0) = {start}
boundary {conditions}
scheme   method_of_lines(grid = grid, time = euler(steps, T))
loss   mse(u(train.x, train.y, train.t), train.u)
train  adam(lr = 1e-3, steps = 2)
"""


@pytest.mark.parametrize("boundary", ["dirichlet", "periodic"])
def test_generated_pde_data_on_a_2d_grid_solve_the_known_pde(boundary):
    """generate pde(...) in 2-D, solved on a grid 4 times finer along x and y: at the data's
    nodes the exact solution of the fine grid's semi-discrete heat equation (the mode decays at
    0.1 * 4 (sin^2(a dx / 2) / dx^2 + sin^2(b dy / 2) / dy^2) for sin(a x) sin(b y)) to 1e-8."""
    if boundary == "dirichlet":
        start, fx, dx, dy = "sin(pi * x) * sin(pi * y)", np.pi, 1 / 32, 1 / 16
        xs, ys = "linspace(0, 1, grid)", "linspace(0, 2, grid)"
        conditions = "u(0, y, t) = 0, u(1, y, t) = 0, u(x, 0, t) = 0, u(x, 2, t) = 0"
    else:
        start, fx, dx, dy = "sin(2 * pi * x) * sin(pi * y)", 2 * np.pi, 1 / 36, 1 / 18
        xs, ys = "linspace(0, 1 - 1 / grid, grid)", "linspace(0, 2 - 2 / grid, grid)"
        conditions = "u(0, y, t) = u(1, y, t), u(x, 0, t) = u(x, 2, t)"
    rate = 4 * (np.sin(fx * dx / 2) ** 2 / dx**2 + np.sin(np.pi * dy / 2) ** 2 / dy**2)
    text = PDE_DATA.format(start=start, boundary=boundary, xs=xs, ys=ys, conditions=conditions)
    mod = compile_and_import("heat2_data.sciml", "torch", source=text, name=f"heat2_data_{boundary}")
    data = mod.make_data()["train"]
    assert data["u"].shape == (3, 9, 9) and data["y"].shape == (9,)
    t, x, y = np.meshgrid(data["t"], data["x"], data["y"], indexing="ij")
    exact = np.exp(-0.1 * rate * t) * np.sin(fx * x) * np.sin(np.pi * y)
    assert np.max(np.abs(data["u"] - exact)) < 1e-8


UPWIND = """model adv2 : grid_pde
const grid = 9, T = 0.2, steps = 40
domain x in [0, 1], y in [0, 1], t in [0, T]
data train = generate field(u(x, y, t) = sin(2 * pi * (x + t)) * sin(2 * pi * (y - 0.5 * t)),
                            x = linspace(0, 1 - 1 / grid, grid), y = linspace(0, 1 - 1 / grid, grid),
                            t = linspace(0, T, 3))
state u : R
param a : R = 1.0
{nets}
pde      dt(u) = {rhs}
initial  u(x, y, 0) = sin(2 * pi * x) * sin(2 * pi * y)
boundary u(0, y, t) = u(1, y, t), u(x, 0, t) = u(x, 1, t)
scheme   method_of_lines(grid = grid, time = euler(steps, T), advection = upwind)
loss   mse(u(train.x, train.y, train.t), train.u)
train  adam(lr = 1e-3, steps = 2)
"""


def test_upwind_on_a_2d_grid_takes_the_side_the_flow_comes_from():
    """dt(u) = a d(u, x) - 0.5 d(u, y): u moves at -a along x and +0.5 along y, so the difference
    is forward along x (a > 0) and backward along y; div([a u, -0.5 u]) by upwind fluxes is the
    same for constant speeds.  Both on the periodic 9 x 9 grid, against numpy's rolls."""
    dx = 1 / 9
    u = np.random.default_rng(1).normal(size=(81, 1))
    grid = u.reshape(9, 9)
    forward_x = (np.roll(grid, -1, axis=0) - grid) / dx
    backward_y = (grid - np.roll(grid, 1, axis=1)) / dx
    expected = (1.0 * forward_x - 0.5 * backward_y).reshape(-1, 1)
    for rhs in ("a * d(u, x) - 0.5 * d(u, y)", "div([a * u, -0.5 * u])"):
        mod = compile_and_import("adv2.sciml", "torch", name=f"adv2_{len(rhs)}", source=UPWIND.format(rhs=rhs, nets=""))
        rate = mod.du_dt(torch.as_tensor(u), torch.tensor(1.0, dtype=torch.float64)).numpy()
        assert np.max(np.abs(rate - expected)) < 1e-12, rhs


def test_upwind_with_a_network_speed_on_a_2d_grid_agrees_across_backends():
    pytest.importorskip("jax")
    # started off zero: with u = 0 on the lines x, y = 0, 1/2 and V(0) = 0 (zero biases) the face
    # speeds there are zero up to rounding, where the upwind flux has a kink (its one-sided
    # derivatives differ, and which one a backend takes depends on the rounding)
    text = UPWIND.format(rhs="div([V(u) * u, a * u]) - a * d(u, y)", nets="net V(u) = mlp(1 -> 8 -> 1, tanh)").replace(
        "initial  u(x, y, 0) = sin", "initial  u(x, y, 0) = 0.3 + sin")
    assert "= 0.3 + sin" in text
    mods = {b: compile_and_import("adv2n.sciml", b, name=f"adv2n_{b}", source=text) for b in ("torch", "jax")}
    assert "upwind_divergence_2d(" in open(mods["torch"].__file__).read()
    assert_backends_agree(mods, seed=1)


def test_the_slope_of_a_constant_is_zero():
    """div([0 * u, u]) and d(D, x): a flux or value the same at every node has no stencil (it
    once printed a difference of the number 0)."""
    text = heat_text(9, "dirichlet", extra="div([0 * u, u]) + d(D, x)")
    rhs = next(line for line in pipeline.compile_spec(text, "h.sciml", "torch").split("\n")
               if line.startswith("    return D*(second_difference_2d"))
    assert rhs.endswith("+ central_difference_2d(u_ends, 0.25, axis=1)"), rhs
