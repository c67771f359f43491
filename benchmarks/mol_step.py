"""Benchmark: the emitted method-of-lines training step of reaction_diffusion against the same model
written by hand with conv1d / roll, in torch and in JAX, side by side in one run (issue 11, item 6).

    .venv/bin/python benchmarks/mol_step.py                  # about 3-6 minutes on 2 shared cores
    .venv/bin/python benchmarks/mol_step.py --solvers        # and the implicit solves alone, M = 64 .. 1024
    .venv/bin/python benchmarks/mol_step.py --only solvers   # the solves alone
    .venv/bin/python benchmarks/mol_step.py --rounds 1 --steps 1 --warmup 0   # smoke run

The model is specs/pde/reaction_diffusion.sciml: c_t = D lap(c) + div(U(c) c) + R(c) on 64 periodic
nodes, U and R mlp(1 -> 16 -> 16 -> 1, tanh), D learned; 400 time steps on [0, 1], the loss the mean
square misfit to the data at 11 times; one training step is one Adam step (lr 1e-2) on it: the loss,
its gradient in (D, U, R), the update, the loss read back.  float32, CPU.  Two time integrators:
`time = euler(steps, T)` (as written) and `time = imex(steps, T)` (the diffusion implicit).

  emitted euler / imex    the module sciml compiles, its step as the runtime's train() runs it
                          (TorchRuntime / JaxRuntime .training_step, the data placed once)
  torch conv1d            by hand: c as (1, 1, 64), lap and div by F.conv1d on the circularly padded
                          signal with the kernels [1, -2, 1] / dx^2 and [-1, 0, 1] / (2 dx), the
                          networks nn.Sequential(nn.Linear, nn.Tanh, ...) on the 64 nodes, a Python
                          loop over the steps, torch.optim.Adam
  torch roll              the same with torch.roll for the stencils
  jax roll / jax conv     by hand in JAX: jnp.roll, or jax.lax.conv_general_dilated on the signal
                          padded with jnp.pad(mode="wrap"); jax.lax.scan over the steps; optax.adam;
                          value_and_grad and the update jitted together
  jax roll+checkpoint     the same with jax.checkpoint on the scanned step (as the emitted scan does:
                          the backward pass recomputes each step rather than storing it)
  ... imex                the hand-written IMEX step: the explicit part (div + R) by the stencils,
                          then (I - h D lap)^-1 by rfft / irfft (lap is circulant)

All variants start from the emitted init_params(0) (W (out, in), b (out, 1), D = 0.02) and fit the
emitted make_data().  Timing as benchmarks/pinn_burgers_step.py does it: each variant's first step
apart (JAX: tracing and compiling), warm-up steps, then `--rounds` rounds in rotating order of
`--steps` steps per variant, so that the load of other processes falls on all alike; the median
wall and process CPU time of single steps (CPU: all threads of this process, the steadier figure
on a shared machine); one torch thread and one XLA thread unless --threads.  Correctness: in
float64 at the initial weights, each hand-written loss and gradient against the emitted module's.

--solvers: (shift I - scale T) x = r inside an IMEX loop of 50 steps, forward and backward in the
scale (D), per step, for M = 64 .. 1024 unknowns with Dirichlet ends (T tridiagonal) and periodic
ends: in torch a dense solve every step (what the emitted code did before), lu_factor once and
lu_solve per step, the dense inverse once and a matrix product per step, the FFT on the symmetric
extension (Dirichlet), rfft (periodic), the Thomas algorithm (a Python loop over the nodes, M = 64
only); in JAX (jitted scan) a dense solve, lu_factor + lu_solve, the inverse, tridiagonal_solve,
rfft.  This is what chose the solves of sciml/backends/common/grid_solve_code.py.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "pde" / "reaction_diffusion.sciml"
sys.path.insert(0, str(ROOT))
from benchmarks.environment import cores_note, set_threads  # noqa: E402
EULER = "time = euler(steps, T))"
IMEX = "time = imex(steps, T))"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads; with 1 (the default) XLA's too, on one core")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds (default 10)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per variant and round (default 3)")
    parser.add_argument("--warmup", type=int, default=3, help="steps after the first, not timed (default 3)")
    parser.add_argument("--only", default="torch,jax", help="comma-separated parts: torch, jax, solvers")
    parser.add_argument("--solvers", action="store_true", help="also the implicit solves alone")
    parser.add_argument("--sizes", default="64,128,256,512,1024", help="unknowns for --solvers")
    parser.add_argument("--json", default=None, help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    args.parts = {part.strip() for part in args.only.split(",") if part.strip()} | ({"solvers"} if args.solvers else set())
    return args


def set_environment(threads):
    """Before torch and jax are imported: one thread and one core, or `threads` (environment.py)."""
    set_threads(threads)


# ---------------------------------------------------------------------------------- the problem
class Problem:
    """The emitted modules (euler and imex, per backend), the initial weights and the data."""

    def __init__(self, folder):
        from sciml.modules import compile_and_import

        text = SPEC.read_text(encoding="utf-8")
        assert EULER in text, "the spec's time integrator changed: update the benchmark"
        self.sources = {"euler": text, "imex": text.replace(EULER, IMEX)}
        self.folder, self.compile_and_import, self.modules = folder, compile_and_import, {}
        reference = self.module("torch", "euler")
        self.params = reference.init_params(0)
        self.data = reference.make_data()["train"]                       # x (64,), t (11,), c (11, 64)
        self.nodes, self.steps, self.h = reference.grid, reference.N_STEPS, reference.h
        self.dx = float(reference.x_nodes[1, 0] - reference.x_nodes[0, 0])
        self.observed = reference.OBSERVED_STEPS
        self.c0 = reference.c0[:, 0]
        self.lr = reference.STAGES[0][1]
        assert reference.STAGES[0][0] == "adam"

    def module(self, backend, time):
        key = (backend, time)
        if key not in self.modules:
            self.modules[key] = self.compile_and_import(SPEC, backend, self.folder, source=self.sources[time],
                                                        name=f"rd_{time}_{backend}")
        return self.modules[key]

    def layers(self, net):
        """[(W (out, in), b (out,))] of network `net`, numpy float64."""
        count = len([k for k in self.params if k.startswith(f"{net}.W")])
        return [(self.params[f"{net}.W{k}"], self.params[f"{net}.b{k}"][:, 0]) for k in range(1, count + 1)]


class Variant:
    """One training loop: `step()` runs one Adam step and returns the loss before it (a float)."""

    def __init__(self, label, backend, time, step, note=""):
        self.label, self.backend, self.time, self.step, self.note = label, backend, time, step, note
        self.wall, self.cpu = [], []
        self.first = self.first_loss = self.last_loss = None

    def timed(self, steps):
        for _ in range(steps):
            wall, cpu = time.perf_counter(), time.process_time()
            self.step()
            self.cpu.append(time.process_time() - cpu)
            self.wall.append(time.perf_counter() - wall)


# ---------------------------------------------------------------------------------- emitted
def emitted(problem, backend, time_integrator, dtype_name="float32"):
    """The emitted module's training step as the runtime's train() runs it (batch, step)."""
    import numpy as np

    module = problem.module(backend, time_integrator)
    runtime = module._runtime
    dtype = runtime.DTYPES[dtype_name]
    p, device = runtime.place_params(module.init_params(0), dtype, "cpu")
    how = runtime.prepare_step(False)
    optimizer = runtime.new_optimizer("adam", problem.lr, p, device)
    fields, names = runtime.training_fields(module.make_data())
    placed = runtime.place_fields(fields, dtype, device)
    rng = np.random.default_rng(0)
    state = {"p": p}

    def step():
        batch = runtime.batch(fields, placed, names, 0, rng, dtype, device)
        state["p"], value = runtime.training_step(optimizer, state["p"], batch)
        if backend == "jax":
            import jax
            jax.block_until_ready((state["p"], optimizer["state"]))
        return value

    return Variant(f"emitted {time_integrator}", backend, time_integrator, step, note=how)


# ---------------------------------------------------------------------------------- torch by hand
class TorchModel:
    """reaction_diffusion by hand in torch: c (64,) a row of nodes, the stencils by conv1d or roll."""

    def __init__(self, problem, stencils, time_integrator, dtype):
        import torch
        from torch import nn

        self.torch, self.problem, self.stencils, self.time = torch, problem, stencils, time_integrator
        self.dtype = dtype
        self.U, self.R = (self.mlp(problem.layers(net)) for net in ("U", "R"))
        self.D = nn.Parameter(torch.tensor(problem.params["D"], dtype=dtype))
        dx = problem.dx
        self.second = torch.tensor([[[1.0, -2.0, 1.0]]], dtype=dtype) / dx**2
        self.central = torch.tensor([[[-1.0, 0.0, 1.0]]], dtype=dtype) / (2 * dx)
        k = torch.arange(problem.nodes // 2 + 1, dtype=dtype)
        self.symbol = 4 / dx**2 * torch.sin(torch.pi * k / problem.nodes) ** 2   # -eigenvalues of lap
        self.c0 = torch.tensor(problem.c0, dtype=dtype)
        self.data = torch.tensor(problem.data["c"], dtype=dtype)

    def mlp(self, layers):
        torch, nn = self.torch, self.torch.nn
        modules = []
        for k, (W, b) in enumerate(layers):
            linear = nn.Linear(W.shape[1], W.shape[0], dtype=self.dtype)
            with torch.no_grad():
                linear.weight.copy_(torch.as_tensor(W))
                linear.bias.copy_(torch.as_tensor(b))
            modules += [linear] if k == len(layers) - 1 else [linear, nn.Tanh()]
        return nn.Sequential(*modules)

    def parameters(self):
        return [self.D, *self.U.parameters(), *self.R.parameters()]

    def at_nodes(self, net, c):
        return net(c[:, None])[:, 0]

    def lap(self, c):
        torch, F = self.torch, self.torch.nn.functional
        if self.stencils == "conv1d":
            return F.conv1d(F.pad(c.view(1, 1, -1), (1, 1), mode="circular"), self.second).view(-1)
        return (torch.roll(c, 1) - 2 * c + torch.roll(c, -1)) / self.problem.dx**2

    def div(self, f):
        torch, F = self.torch, self.torch.nn.functional
        if self.stencils == "conv1d":
            return F.conv1d(F.pad(f.view(1, 1, -1), (1, 1), mode="circular"), self.central).view(-1)
        return (torch.roll(f, -1) - torch.roll(f, 1)) / (2 * self.problem.dx)

    def loss(self):
        torch, h = self.torch, self.problem.h
        c, path = self.c0, [self.c0]
        implicit = 1 + h * self.D * self.symbol
        for j in range(self.problem.steps):
            explicit = self.div(self.at_nodes(self.U, c) * c) + self.at_nodes(self.R, c)
            if self.time == "euler":
                c = c + h * (self.D * self.lap(c) + explicit)
            else:   # (I - h D lap) c_next = c + h explicit, lap circulant: diagonal in Fourier space
                c = torch.fft.irfft(torch.fft.rfft(c + h * explicit) / implicit, n=c.shape[0])
            if j + 1 in self.problem.observed:
                path.append(c)
        return torch.mean((torch.stack(path) - self.data) ** 2)


def torch_variant(problem, stencils, time_integrator):
    import torch

    model = TorchModel(problem, stencils, time_integrator, torch.float32)
    optimizer = torch.optim.Adam(model.parameters(), lr=problem.lr)

    def step():
        optimizer.zero_grad()
        value = model.loss()
        value.backward()
        optimizer.step()
        return value.item()

    return Variant(f"torch {stencils} {time_integrator}", "torch", time_integrator, step)


def torch_gradients(problem, stencils, time_integrator):
    """float64: (loss, {emitted name: gradient}) of the hand-written model at the initial weights."""
    import torch

    model = TorchModel(problem, stencils, time_integrator, torch.float64)
    value = model.loss()
    value.backward()
    grads = {"D": model.D.grad.detach().numpy()}
    for net in ("U", "R"):
        linears = [m for m in getattr(model, net) if isinstance(m, torch.nn.Linear)]
        for k, linear in enumerate(linears, start=1):
            grads[f"{net}.W{k}"] = linear.weight.grad.numpy()
            grads[f"{net}.b{k}"] = linear.bias.grad.numpy()[:, None]
    return float(value.detach()), grads


# ---------------------------------------------------------------------------------- JAX by hand
def jax_loss(problem, stencils, time_integrator, dtype, checkpoint=False):
    """(loss(params), params) by hand in JAX: params {D, U: [(W (in, out), b)], R: [...]}."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    dx, h, nodes = problem.dx, problem.h, problem.nodes
    second = jnp.asarray(np.array([1.0, -2.0, 1.0]) / dx**2, dtype=dtype).reshape(1, 1, 3)
    central = jnp.asarray(np.array([-1.0, 0.0, 1.0]) / (2 * dx), dtype=dtype).reshape(1, 1, 3)
    k = np.arange(nodes // 2 + 1)
    symbol = jnp.asarray(4 / dx**2 * np.sin(np.pi * k / nodes) ** 2, dtype=dtype)
    c0 = jnp.asarray(problem.c0, dtype=dtype)
    data = jnp.asarray(problem.data["c"], dtype=dtype)
    observed = np.asarray(problem.observed)

    def mlp(layers, c):
        z = c[:, None]
        for W, b in layers[:-1]:
            z = jnp.tanh(z @ W + b)
        W, b = layers[-1]
        return (z @ W + b)[:, 0]

    def conv(v, kernel):   # cross-correlation, as torch's conv1d: out[i] = sum_k kernel[k] v[i + k - 1]
        padded = jnp.pad(v, 1, mode="wrap").reshape(1, 1, -1)
        return jax.lax.conv_general_dilated(padded, kernel, (1,), "VALID")[0, 0]

    def lap(c):
        if stencils == "conv":
            return conv(c, second)
        return (jnp.roll(c, 1) - 2 * c + jnp.roll(c, -1)) / dx**2

    def div(f):
        if stencils == "conv":
            return conv(f, central)
        return (jnp.roll(f, -1) - jnp.roll(f, 1)) / (2 * dx)

    def loss(params):
        D = params["D"]
        implicit = 1 + h * D * symbol

        def step(c, _):
            explicit = div(mlp(params["U"], c) * c) + mlp(params["R"], c)
            if time_integrator == "euler":
                c = c + h * (D * lap(c) + explicit)
            else:
                c = jnp.fft.irfft(jnp.fft.rfft(c + h * explicit) / implicit, n=nodes)
            return c, c
        _, path = jax.lax.scan(jax.checkpoint(step) if checkpoint else step, c0, length=problem.steps)
        path = jnp.concatenate([c0[None], path])[observed]
        return jnp.mean((path - data) ** 2)

    params = {"D": jnp.asarray(problem.params["D"], dtype=dtype),
              **{net: [(jnp.asarray(W.T, dtype=dtype), jnp.asarray(b, dtype=dtype)) for W, b in problem.layers(net)]
                 for net in ("U", "R")}}
    return loss, params


def jax_variant(problem, stencils, time_integrator):
    import jax
    import jax.numpy as jnp
    import optax

    loss, params = jax_loss(problem, stencils.split("+")[0], time_integrator, jnp.float32,
                            checkpoint=stencils.endswith("+checkpoint"))
    optimizer = optax.adam(problem.lr)

    @jax.jit
    def update(params, state):
        value, grads = jax.value_and_grad(loss)(params)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state, value

    state = {"params": params, "opt": optimizer.init(params)}

    def step():
        state["params"], state["opt"], value = jax.block_until_ready(update(state["params"], state["opt"]))
        return float(value)

    return Variant(f"jax {stencils} {time_integrator}", "jax", time_integrator, step)


def jax_gradients(problem, stencils, time_integrator):
    import jax
    import jax.numpy as jnp
    import numpy as np

    loss, params = jax_loss(problem, stencils.split("+")[0], time_integrator, jnp.float64,
                            checkpoint=stencils.endswith("+checkpoint"))
    value, grads = jax.value_and_grad(loss)(params)
    out = {"D": np.asarray(grads["D"])}
    for net in ("U", "R"):
        for k, (W, b) in enumerate(grads[net], start=1):
            out[f"{net}.W{k}"], out[f"{net}.b{k}"] = np.asarray(W).T, np.asarray(b)[:, None]
    return float(value), out


# ---------------------------------------------------------------------------------- correctness
def agreement(problem, hand_written):
    """[(label, loss, rel. diff. of the loss to the emitted one's, largest rel. diff. of a gradient)]
    in float64 at the initial weights."""
    import numpy as np
    rows = []
    for backend, stencils, time_integrator in hand_written:
        module = problem.module(backend, time_integrator)
        import jax.numpy as jnp
        import torch
        dtype = torch.float64 if backend == "torch" else jnp.float64
        batch = module.evaluation_batch(module.make_data())
        reference, reference_grads = module.loss_and_grad(problem.params, batch, dtype)
        gradients = torch_gradients if backend == "torch" else jax_gradients
        value, grads = gradients(problem, stencils, time_integrator)
        worst = max(float(np.max(np.abs(grads[k] - reference_grads[k])) / max(np.max(np.abs(reference_grads[k])), 1e-300))
                    for k in reference_grads)
        rows.append((f"{backend} {stencils} {time_integrator}", value, abs(value - reference) / abs(reference), worst))
    return rows


# ---------------------------------------------------------------------------------- the run
def run(variants, args):
    for variant in variants:
        start = time.perf_counter()
        variant.first_loss = variant.step()
        variant.first = time.perf_counter() - start
        print(f"{variant.label} ({variant.backend}): first step {variant.first:.2f} s", file=sys.stderr, flush=True)
        for _ in range(args.warmup):
            variant.step()
    for index in range(args.rounds):
        k = index % len(variants)
        for variant in variants[k:] + variants[:k]:
            variant.timed(args.steps)
    for variant in variants:
        variant.last_loss = variant.step()


def training_steps(args):
    import torch
    torch.set_num_threads(args.threads)
    problem = Problem(Path(tempfile.mkdtemp(prefix="sciml-bench-mol-")))
    variants, hand_written = [], []
    for backend in ("torch", "jax"):
        if backend not in args.parts:
            continue
        for time_integrator in ("euler", "imex"):
            variants.append(emitted(problem, backend, time_integrator))
            for stencils in (("conv1d", "roll") if backend == "torch" else ("roll", "conv", "roll+checkpoint")):
                make = torch_variant if backend == "torch" else jax_variant
                variants.append(make(problem, stencils, time_integrator))
                hand_written.append((backend, stencils, time_integrator))
    load_before = os.getloadavg()
    run(variants, args)
    load_after = os.getloadavg()
    return problem, variants, agreement(problem, hand_written), (load_before, load_after)


def report_steps(variants, checks, loads, args):
    import jax
    import torch

    lines = [f"Machine: {platform.machine()}, {cores_note()}, load average {loads[0][0]:.1f} "
             f"before and {loads[1][0]:.1f} after the timed rounds; Python {platform.python_version()}, torch "
             f"{torch.__version__} ({torch.get_num_threads()} thread), jax {jax.__version__} "
             f"(XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}); float32; {args.rounds} rounds x {args.steps} "
             f"steps per variant after {args.warmup} warm-up steps.", "",
             "| variant | backend | time | first step s | wall ms (median) | IQR ms | CPU ms (median) | "
             "emitted / this (wall) | emitted / this (CPU) | loss at end |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    rows = {}
    for v in variants:
        rows[v.label, v.backend] = {"wall": 1e3 * statistics.median(v.wall), "cpu": 1e3 * statistics.median(v.cpu),
                                    "q1": 1e3 * _quartile(v.wall, 0), "q3": 1e3 * _quartile(v.wall, 2)}
    for v in variants:
        row, mine = rows[v.label, v.backend], rows[f"emitted {v.time}", v.backend]
        lines.append(f"| {v.label} | {v.backend} | {v.time} | {v.first:.2f} | {row['wall']:.1f} | "
                     f"{row['q1']:.1f}–{row['q3']:.1f} | {row['cpu']:.1f} | {mine['wall'] / row['wall']:.2f} | "
                     f"{mine['cpu'] / row['cpu']:.2f} | {v.last_loss:.6g} |")
    lines += ["", "| float64, initial weights | loss | rel. diff. to emitted | max rel. diff. of a gradient |",
              "|---|---:|---:|---:|"]
    lines += [f"| {label} | {value:.15g} | {loss_diff:.1e} | {grad_diff:.1e} |" for label, value, loss_diff, grad_diff
              in checks]
    print("\n".join(lines))
    return rows


# ---------------------------------------------------------------------------------- --solvers
def solver_benchmark(args):
    """Per step of a 50-step IMEX loop, forward and backward in the scale: (backend, ends, M, way, us)."""
    import torch

    torch.set_num_threads(args.threads)
    results = []
    sizes = [int(s) for s in args.sizes.split(",")]
    for m in sizes:
        for ends in ("dirichlet", "periodic"):
            results += _torch_solves(m, ends, args) + _jax_solves(m, ends, args)
            for row in results[-9:]:
                print(f"{row[0]:5s} {row[1]:9s} M={row[2]:5d} {row[3]:34s} {row[4]:9.1f} us/step", file=sys.stderr,
                      flush=True)
    return results


def _second_difference(m, ends, dx):
    import numpy as np
    T = np.eye(m, k=-1) - 2 * np.eye(m) + np.eye(m, k=1)
    if ends == "periodic":
        T[0, -1] = T[-1, 0] = 1
    return T / dx**2


SOLVER_STEPS, SOLVER_REPS = 50, 7


def _torch_solves(m, ends, args):
    import numpy as np
    import torch

    dtype, h, dx = torch.float32, 1e-3, 1 / (m + 1)
    T = torch.as_tensor(_second_difference(m, ends, dx), dtype=dtype)
    x0 = torch.as_tensor(np.sin(np.pi * np.arange(1, m + 1) * dx)[:, None], dtype=dtype)
    eye = torch.eye(m, dtype=dtype)

    def dense(D):
        A, x = eye - h * D * T, x0
        for _ in range(SOLVER_STEPS):
            x = torch.linalg.solve(A, x + h * torch.tanh(x))
        return x

    def lu(D):
        factors, x = torch.linalg.lu_factor(eye - h * D * T), x0
        for _ in range(SOLVER_STEPS):
            x = torch.linalg.lu_solve(*factors, x + h * torch.tanh(x))
        return x

    def inverse(D):
        inv, x = torch.linalg.inv(eye - h * D * T), x0
        for _ in range(SOLVER_STEPS):
            x = inv @ (x + h * torch.tanh(x))
        return x

    def fft(D):   # periodic: rfft; Dirichlet: the odd extension of length 2 (M + 1)
        n = m if ends == "periodic" else 2 * (m + 1)
        k = torch.arange(n // 2 + 1, dtype=dtype)[:, None]
        eigenvalues, x = 1 + h * D * 4 / dx**2 * torch.sin(np.pi * k / n) ** 2, x0
        for _ in range(SOLVER_STEPS):
            r = x + h * torch.tanh(x)
            if ends == "periodic":
                x = torch.fft.irfft(torch.fft.rfft(r, dim=0) / eigenvalues, n=n, dim=0)
            else:
                zero = 0 * r[:1]
                extended = torch.cat([zero, r, zero, -r.flip(0)], dim=0)
                x = torch.fft.irfft(torch.fft.rfft(extended, dim=0) / eigenvalues, n=n, dim=0)[1:m + 1]
        return x

    def thomas(D):   # factored once; each step's two sweeps are Python loops over the nodes
        below, above = -h * D * torch.diagonal(T, -1), -h * D * torch.diagonal(T, 1)
        on = 1 - h * D * torch.diagonal(T)
        scaled, inverse_pivot, previous = [], [], None
        for i in range(m):
            pivot = on[i] - (below[i - 1] * previous if i else 0)
            inverse_pivot.append(1 / pivot)
            previous = (above[i] if i < m - 1 else 0 * pivot) / pivot
            scaled.append(previous)
        x = x0
        for _ in range(SOLVER_STEPS):
            r = x + h * torch.tanh(x)
            y = [r[0] * inverse_pivot[0]]
            for i in range(1, m):
                y.append((r[i] - below[i - 1] * y[-1]) * inverse_pivot[i])
            out = [y[-1]]
            for i in range(m - 2, -1, -1):
                out.append(y[i] - scaled[i] * out[-1])
            x = torch.stack(out[::-1])
        return x

    ways = {"dense solve every step": dense, "lu_factor once, lu_solve": lu, "inverse once, matmul": inverse,
            "rfft" if ends == "periodic" else "FFT on the odd extension": fft}
    if ends == "dirichlet" and m <= 64:
        ways["Thomas (Python loops)"] = thomas
    return [("torch", ends, m, way, us) for way, us in _interleaved(ways, lambda f: _torch_timed(f, dtype)).items()]


def _torch_timed(solve, dtype):
    import torch
    D = torch.tensor(0.01, dtype=dtype, requires_grad=True)
    start = time.process_time()
    torch.sum(solve(D) ** 2).backward()
    return time.process_time() - start


def _jax_solves(m, ends, args):
    import jax
    import jax.numpy as jnp
    import numpy as np

    dtype, h, dx = jnp.float32, 1e-3, 1 / (m + 1)
    T_numpy = _second_difference(m, ends, dx)
    T = jnp.asarray(T_numpy, dtype=dtype)
    x0 = jnp.asarray(np.sin(np.pi * np.arange(1, m + 1) * dx)[:, None], dtype=dtype)

    def loop(solve_with, setup):
        def loss(D):
            factors = setup(D)

            def step(x, _):
                return solve_with(factors, x + h * jnp.tanh(x)), None
            x, _ = jax.lax.scan(step, x0, length=SOLVER_STEPS)
            return jnp.sum(x ** 2)
        return jax.jit(jax.grad(loss))

    A = lambda D: jnp.eye(m, dtype=dtype) - h * D * T   # noqa: E731
    ways = {"dense solve every step": loop(jnp.linalg.solve, A),
            "lu_factor once, lu_solve": loop(jax.scipy.linalg.lu_solve, lambda D: jax.scipy.linalg.lu_factor(A(D))),
            "inverse once, matmul": loop(lambda inv, r: inv @ r, lambda D: jnp.linalg.inv(A(D)))}
    if ends == "dirichlet":
        below = jnp.asarray(np.append(0.0, np.diag(T_numpy, -1)), dtype=dtype)
        above = jnp.asarray(np.append(np.diag(T_numpy, 1), 0.0), dtype=dtype)
        on = jnp.asarray(np.diag(T_numpy), dtype=dtype)
        ways["tridiagonal_solve"] = loop(lambda f, r: jax.lax.linalg.tridiagonal_solve(*f, r),
                                         lambda D: (-h * D * below, 1 - h * D * on, -h * D * above))
    else:
        k = jnp.arange(m // 2 + 1, dtype=dtype)[:, None]
        ways["rfft"] = loop(lambda e, r: jnp.fft.irfft(jnp.fft.rfft(r, axis=0) / e, n=m, axis=0),
                            lambda D: 1 + h * D * 4 / dx**2 * jnp.sin(np.pi * k / m) ** 2)
    D = jnp.asarray(0.01, dtype=dtype)
    for f in ways.values():
        jax.block_until_ready(f(D))   # compiled before timing

    def timed(f):
        start = time.process_time()
        jax.block_until_ready(f(D))
        return time.process_time() - start
    return [("jax", ends, m, way, us) for way, us in _interleaved(ways, timed).items()]


def _interleaved(ways, timed):
    """{way: median microseconds per step} over SOLVER_REPS rounds in rotating order."""
    names, seconds = list(ways), {name: [] for name in ways}
    for r in range(SOLVER_REPS + 1):
        for name in names[r % len(names):] + names[:r % len(names)]:
            value = timed(ways[name])
            if r:   # the first round warms up
                seconds[name].append(value)
    return {name: 1e6 * statistics.median(values) / SOLVER_STEPS for name, values in seconds.items()}


def report_solvers(results):
    sizes = sorted({r[2] for r in results})
    lines = ["", "Implicit solve alone: CPU microseconds per step of a 50-step IMEX loop, forward and backward "
             "in D (median of 7 interleaved rounds, float32, 1 thread).", "",
             "| backend | ends | way | " + " | ".join(f"M = {m}" for m in sizes) + " |",
             "|---|---|---|" + "---:|" * len(sizes)]
    table = {}
    for backend, ends, m, way, us in results:
        table.setdefault((backend, ends, way), {})[m] = us
    for (backend, ends, way), by_size in table.items():
        lines.append(f"| {backend} | {ends} | {way} | "
                     + " | ".join(f"{by_size[m]:.0f}" if m in by_size else "–" for m in sizes) + " |")
    print("\n".join(lines))


def _quartile(values, which):
    return statistics.quantiles(values, n=4)[which] if len(values) > 1 else values[0]


def main(argv=None):
    args = parse_args(argv)
    set_environment(args.threads)
    out = {"args": {k: v if not isinstance(v, set) else sorted(v) for k, v in vars(args).items()}}
    if args.parts & {"torch", "jax"}:
        _, variants, checks, loads = training_steps(args)
        out["steps"] = {f"{k[1]} {k[0]}": v for k, v in report_steps(variants, checks, loads, args).items()}
        out["agreement"] = checks
    if "solvers" in args.parts:
        results = solver_benchmark(args)
        report_solvers(results)
        out["solvers"] = results
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
