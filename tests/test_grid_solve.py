"""IMEX on a grid solves (shift I - scale T) x = r without T's matrix (issue 11, item 2;
sciml/backends/common/grid_solve_code.py): by FFT on periodic grids, by a tridiagonal solve (JAX)
or an FFT on the grid's symmetric extension (torch) with Dirichlet / Neumann ends, by the dense
inverse on a small grid (torch).  Each equals a dense solve to 1e-12 in float64, and so do its
gradients in the scale (D) and the right side; the emitted step reads the explicit rest of the
right side; torch equals JAX; the scheme keeps order 1 in time."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

from sciml import pipeline
from sciml.modules import compile_and_import

torch = pytest.importorskip("torch")

SPEC = """model heat : grid_pde
const grid = {nodes}, steps = {steps}, T = 0.1
domain x in [0, 1], t in [0, T]
data train = generate field(u(x, t) = exp(-t) * sin(2 * pi * x), x = {xs}, t = linspace(0, T, 3))
state u : R
param D : R = 0.1
{nets}
pde      dt(u) = D * d(u, x, x){extra}
initial  u(x, 0) = x^2 * (1 - x)^2
boundary {boundary}
scheme   method_of_lines(grid = grid, time = imex(steps, T))
loss   mse(u(train.x, train.t), train.u)
train  adam(lr = 1e-3, steps = 2)
"""
ENDS = {
    "periodic": "u(0, t) = u(1, t)",
    "dirichlet": "u(0, t) = 0, u(1, t) = 0",
    "neumann": "d(u, x)(0, t) = 0, d(u, x)(1, t) = 0",
    "neumann-dirichlet": "d(u, x)(0, t) = 2 * pi, u(1, t) = 0",
    "dirichlet-neumann": "u(0, t) = 0, d(u, x)(1, t) = 2 * pi",
}
NETS = "net U(u) = mlp(1 -> 8 -> 1, tanh)\nnet R(u) = mlp(1 -> 8 -> 1, tanh)"
# how each backend solves, by the grid's unknowns (torch's DENSE_GRID_SOLVE_UP_TO: 128 periodic, 256 bounded)
SOLVERS = {("torch", "small", True): "factors @ rhs", ("torch", "small", False): "factors @ rhs",
           ("torch", "large", True): "torch.fft.irfft(torch.fft.rfft(rhs,",
           ("torch", "large", False): "torch.fft.rfft(extended",
           ("jax", "small", True): "jnp.fft.irfft", ("jax", "small", False): "tridiagonal_solve"}
_MODULES = {}


def spec_text(ends, nodes, steps=10, nets=False):
    xs = "linspace(0, 1 - 1 / grid, grid)" if ends == "periodic" else "linspace(0, 1, grid)"
    return SPEC.format(nodes=nodes, steps=steps, xs=xs, boundary=ENDS[ends], nets=NETS if nets else "",
                       extra=" + div(U(u) * u) + R(u)" if nets else "")


def module(backend, ends, nodes, steps=10, nets=False):
    key = (backend, ends, nodes, steps, nets)
    if key not in _MODULES:
        name = f"grid_solve_{ends.replace('-', '_')}_{nodes}_{steps}_{int(nets)}_{backend}"
        source = spec_text(ends, nodes, steps, nets)
        _MODULES[key] = compile_and_import(f"{name}.sciml", backend, source=source, name=name)
    return _MODULES[key]


def nodes_for(ends, size):
    """Nodes giving 16 unknowns (small) or more than torch's dense limits (large)."""
    unknowns = 16 if size == "small" else 130 if ends == "periodic" else 258
    return unknowns + {"periodic": 0, "dirichlet": 2, "neumann": 0}.get(ends, 1)


def dense_problem(mod, seed=0):
    """(T, a right side (m, 3), a scale s with s 4 / dx^2 = 40: stiff, the dense solution)."""
    T = np.asarray(mod.laplacian)
    m = T.shape[0]
    scale = 40 / np.max(np.abs(np.diag(T))) / 2
    rhs = np.random.default_rng(seed).normal(size=(m, 3))
    return T, rhs, scale, np.linalg.solve(np.eye(m) - scale * T, rhs)


CASES = [(backend, ends, size) for backend in ("torch", "jax") for ends in ENDS for size in ("small", "large")
         if backend == "torch" or size == "small"]   # JAX solves every size alike


@pytest.mark.parametrize("backend, ends, size", CASES)
def test_each_solver_equals_a_dense_solve(backend, ends, size):
    if backend == "jax":
        pytest.importorskip("jax")
    mod = module(backend, ends, nodes_for(ends, size))
    assert SOLVERS[(backend, size, ends == "periodic")] in inspect.getsource(mod.laplacian_solve)
    T, rhs, scale, expected = dense_problem(mod)
    if backend == "torch":
        like = torch.as_tensor(rhs)
        x = mod.laplacian_solve(mod.laplacian_factors(1, torch.tensor(scale, dtype=like.dtype), like), like)
    else:
        import jax.numpy as jnp
        like = jnp.asarray(rhs, dtype=jnp.float64)
        x = mod.laplacian_solve(mod.laplacian_factors(1, jnp.asarray(scale), like), like)
    error = np.max(np.abs(np.asarray(x) - expected)) / np.max(np.abs(expected))
    assert x.shape == rhs.shape and error < 1e-12, error


@pytest.mark.parametrize("backend, ends, size", [c for c in CASES if c[1] in ("periodic", "neumann-dirichlet")
                                                 or c == ("jax", "dirichlet", "small")])
def test_the_solve_has_the_dense_solves_gradients(backend, ends, size):
    """d/ds and d/dr of sum(w * x), x = (I - s T)^-1 r, against autodiff through a dense solve."""
    mod = module(backend, ends, nodes_for(ends, size))
    T, rhs, scale, _ = dense_problem(mod)
    weights = np.random.default_rng(1).normal(size=rhs.shape)
    if backend == "torch":
        def grads(solve):
            s = torch.tensor(scale, dtype=torch.float64, requires_grad=True)
            r = torch.as_tensor(rhs).requires_grad_()
            torch.sum(torch.as_tensor(weights) * solve(s, r)).backward()
            return float(s.grad), r.grad.numpy()
        got = grads(lambda s, r: mod.laplacian_solve(mod.laplacian_factors(1, s, r), r))
        dense = torch.as_tensor(T)
        want = grads(lambda s, r: torch.linalg.solve(torch.eye(len(T), dtype=torch.float64) - s * dense, r))
    else:
        jax = pytest.importorskip("jax")
        import jax.numpy as jnp

        def grads(solve):
            loss = lambda s, r: jnp.sum(jnp.asarray(weights) * solve(s, r))   # noqa: E731
            s_grad, r_grad = jax.grad(loss, argnums=(0, 1))(jnp.asarray(scale), jnp.asarray(rhs))
            return float(s_grad), np.asarray(r_grad)
        got = grads(lambda s, r: mod.laplacian_solve(mod.laplacian_factors(1, s, r), r))
        want = grads(lambda s, r: jnp.linalg.solve(jnp.eye(len(T)) - s * jnp.asarray(T), r))
    assert abs(got[0] - want[0]) <= 1e-12 * abs(want[0]) and abs(want[0]) > 1e-3, (got[0], want[0])
    assert np.max(np.abs(got[1] - want[1])) <= 1e-12 * np.max(np.abs(want[1]))


@pytest.mark.parametrize("ends", ["periodic", "neumann-dirichlet"])
def test_the_explicit_rest_is_the_right_side_plus_L_u(ends):
    """du_dt_explicit(u) = du_dt(u) + L u = du_dt(u) - D laplacian u: without the diffusion
    stencil where the ends are homogeneous (periodic), with the ends' own part where not."""
    mod = module("torch", ends, nodes_for(ends, "small"), nets=True)
    text = inspect.getsource(mod.du_dt_explicit)
    assert ("second_difference" in text) == (ends != "periodic"), text
    p = {k: torch.as_tensor(v) for k, v in mod.init_params(0).items()}
    u = torch.as_tensor(np.random.default_rng(2).normal(size=(mod.laplacian.shape[0], 2)))
    values = {"u": u, "D": p["D"], "p": p}
    call = lambda f: f(*(values[a] for a in inspect.signature(f).parameters))   # noqa: E731
    expected = call(mod.du_dt) - p["D"] * torch.as_tensor(mod.laplacian) @ u
    assert torch.allclose(call(mod.du_dt_explicit), expected, rtol=0, atol=1e-10)


def test_the_emitted_step_reads_the_explicit_rest():
    text = pipeline.compile_spec(spec_text("periodic", 16, nets=True), "h.sciml", "torch")
    assert "    implicit = laplacian_factors(1, h * D, u)\n    for j in range(N_STEPS):\n" \
           "        u = laplacian_solve(implicit, u + h * du_dt_explicit(u, p))\n" in text
    assert "linalg.solve" not in text and "laplacian_array" not in text and "I16" not in text
    generic = pipeline.compile_spec(open("specs/ode/imex.sciml").read(), "imex.sciml", "jax")
    assert "    implicit = jax.scipy.linalg.lu_factor(I4 + h * L_array)\n" in generic   # factored once
    assert "jax.scipy.linalg.lu_solve(implicit, Y + h * (L_array @ Y) + h * dY_dt(Y, K_j, b_j))" in generic


def assert_torch_equals_jax(mods, params, data, least_loss):
    """The loss and every gradient of the torch and the JAX module agree to 1e-10 in float64 (JAX's
    value_and_grad jitted: one XLA compilation rather than one per operation)."""
    import jax
    import jax.numpy as jnp
    batch = mods["torch"].evaluation_batch(data)
    value_t, grads_t = mods["torch"].loss_and_grad(params, batch, torch.float64)
    runtime = mods["jax"]._runtime
    p, device = runtime.place_params(params, jnp.float64, "cpu")
    batch_j = runtime.to_arrays(batch, jnp.float64, device)
    value_j, grads_j = jax.jit(jax.value_and_grad(mods["jax"].loss))(p, batch_j)
    value_j, grads_j = float(value_j), runtime.to_numpy(grads_j)
    assert value_t > least_loss and abs(value_t - value_j) <= 1e-10 * value_t, (value_t, value_j)
    assert abs(grads_t["D"]) > 1e-6
    for key in grads_t:
        scale = max(1.0, np.max(np.abs(grads_t[key])))
        assert np.max(np.abs(grads_t[key] - grads_j[key])) <= 1e-10 * scale, key


def test_torch_equals_jax_on_a_bounded_grid():
    """torch (dense inverse) and JAX (tridiagonal solve), a Neumann end with a slope and a
    Dirichlet end: the same loss and gradients."""
    pytest.importorskip("jax")
    ends = "neumann-dirichlet"
    mods = {b: module(b, ends, nodes_for(ends, "small"), nets=True) for b in ("torch", "jax")}
    params = mods["torch"].init_params(3)
    params["D"] = np.full((), 0.05)
    assert_torch_equals_jax(mods, params, mods["torch"].make_data(), 1e-6)


def test_reaction_diffusion_with_imex_torch_equals_jax():
    """specs/pde/reaction_diffusion.sciml with time = imex(steps, T): torch (the dense inverse on
    64 unknowns) and JAX (FFT) give the same loss and gradients in float64."""
    pytest.importorskip("jax")
    text = open("specs/pde/reaction_diffusion.sciml").read()
    assert "time = euler(steps, T))" in text
    text = text.replace("time = euler(steps, T))", "time = imex(steps, T))")
    mods = {b: compile_and_import("reaction_diffusion.sciml", b, source=text, name=f"rd_imex_{b}")
            for b in ("torch", "jax")}
    assert_torch_equals_jax(mods, mods["torch"].init_params(0), mods["torch"].make_data(), 1e-3)


ORDER_CASES = [("torch", "periodic", "large"), ("torch", "dirichlet", "large"), ("jax", "periodic", "small"),
               ("jax", "dirichlet", "small")]


@pytest.mark.parametrize("backend, ends, size", ORDER_CASES)
def test_imex_keeps_order_one_in_time(backend, ends, size):
    """Against the exact solution of the semi-discrete system du/dt = D T u, expm(D T t) u(0)."""
    from scipy.linalg import expm
    if backend == "jax":
        pytest.importorskip("jax")
        import jax.numpy as jnp
        as_array = jnp.asarray
    else:
        as_array = torch.as_tensor
    errors, step_counts, T = [], [2, 4, 8], 0.1
    for steps in step_counts:
        mod = module(backend, ends, nodes_for(ends, size), steps)
        p = {k: as_array(v) for k, v in mod.init_params(0).items()}
        path = np.asarray(mod.solve(p, as_array(mod.u0)))
        exact = expm(0.1 * T * np.asarray(mod.laplacian)) @ mod.u0
        errors.append(float(np.max(np.abs(path[-1] - exact))))
    slopes = np.diff(np.log(errors)) / np.diff(np.log([T / s for s in step_counts]))
    assert np.all(np.abs(slopes - 1) < 0.2), (errors, slopes)
