"""Benchmark: the emitted Burgers PINN training step against hand-written autodiff and DeepXDE,
side by side in one run (issue 10, item 7).

    .venv/bin/python benchmarks/pinn_burgers_step.py                 # about 3-5 minutes on 2 cores
    .venv/bin/python benchmarks/pinn_burgers_step.py --compile       # and torch.compile of the emitted step
    .venv/bin/python benchmarks/pinn_burgers_step.py --keep-freed-memory   # malloc as the emitted main sets it
    .venv/bin/python benchmarks/pinn_burgers_step.py --threads 2
    .venv/bin/python benchmarks/pinn_burgers_step.py --points 64 --rounds 1 --steps 1 --warmup 0   # smoke run

The problem is specs/pde/burgers_pinn.sciml: u(x, t) = mlp(2 -> 20 x 8 -> 1, tanh), the residual
u_t + u u_x - (0.01/pi) u_xx at 10,000 Latin-hypercube interior points, u(x, 0) = -sin(pi x) at 50
points, u(-1, t) = u(1, t) = 0 at 25 points each; float32, CPU.  Every variant starts from the
emitted init_params(0), trains on the emitted points of seed 0 (point_draw(0, 0)), and one step is
one Adam step (lr 1e-3): the loss, its gradient in the weights, the update, the loss read back.

  emitted taylor          the module as compiled (input derivatives by Taylor mode, u_taylor), its
                          step as the runtime's train() runs it (TorchRuntime/JaxRuntime)
  emitted autodiff        the spec with `derivatives = autodiff` (nested autodiff, u_autodiff)
  emitted taylor --compile  torch.compile of the emitted loss (the runtime's --compile; with --compile)
  torch nested autograd   nn.Sequential, torch.autograd.grad with create_graph (Raissi's, DeepXDE's way)
  torch.func hessian      vmap over the points of jacrev and hessian (= jacfwd(jacrev)) of u at a point
  torch.func jvp          forward over forward: torch.func.jvp along the inputs, batched, nested for u_xx
  jax fwd-over-rev        jax.vmap of jax.grad and jax.jacfwd(jax.grad) of u at a point (by hand)
  jax jvp                 forward over forward: jax.jvp along the inputs, batched, nested for u_xx
  deepxde                 DeepXDE's Burgers example (TimePDE, dde.grad.jacobian/hessian), the same net,
                          the interior points as its anchors, the conditions as PointSetBCs; its
                          Model.train_step (DDE_BACKEND=pytorch; skipped if deepxde is not installed)

Timing: each variant's first step is reported apart (for JAX and torch.compile: tracing and
compiling), then warm-up steps, then the variants take turns, `--steps` steps each, in
`--rounds` rounds of rotating order, so that the load of other processes falls on all of them
alike.  With one thread (the default) the process runs on one core (benchmarks/environment.py:
XLA's CPU runtime keeps a thread pool of its own), so every variant has the same single core.
Reported: the median wall time and process CPU time (time.process_time: all threads of
this process, the steadier figure on a shared machine) of single steps, and the page faults per
step (glibc maps large blocks afresh unless --keep-freed-memory).  Correctness: every variant's
loss at the initial weights against the emitted one's, and after all steps (DeepXDE's
train_step does not return its loss: it is evaluated apart, untimed).
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
SPEC = ROOT / "specs" / "pde" / "burgers_pinn.sciml"
sys.path.insert(0, str(ROOT))
from benchmarks.environment import cores_note, set_threads  # noqa: E402

COUNT = "latin_hypercube(10000)"
AUTODIFF = "latin_hypercube(10000), derivatives = autodiff"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads; with 1 (the default) XLA's too, on one core")
    parser.add_argument("--points", type=int, default=10000, help="interior points (default 10000)")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds (default 10)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per variant and round (default 3)")
    parser.add_argument("--warmup", type=int, default=3, help="steps after the first, not timed (default 3)")
    parser.add_argument("--compile", action="store_true", help="also torch.compile of the emitted step")
    parser.add_argument("--keep-freed-memory", action="store_true",
                        help="have glibc's malloc keep freed memory, for every variant, as the emitted "
                             "module's command line does (sciml.runtime: keep_freed_memory)")
    parser.add_argument("--warm-compile-cache", action="store_true",
                        help="let torch.compile use its on-disk cache (default: a fresh one, so the "
                             "first step shows a cold compile)")
    parser.add_argument("--only", default="", help="comma-separated variant labels (default: all)")
    parser.add_argument("--json", default=None, help="write the figures to this JSON file")
    return parser.parse_args(argv)


def set_environment(args):
    """Before torch and jax are imported: one thread and one core, or `threads` (environment.py);
    DeepXDE on torch; torch.compile's cache cold unless asked."""
    set_threads(args.threads)
    os.environ.setdefault("DDE_BACKEND", "pytorch")
    if not args.warm_compile_cache:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="sciml-bench-inductor-")


# ---------------------------------------------------------------------------------- the problem
class Problem:
    """The emitted modules (one per variant that uses one), the initial weights and the points."""

    def __init__(self, points, folder):
        from sciml.modules import compile_and_import

        self.folder, self.count = folder, 0
        text = SPEC.read_text(encoding="utf-8")
        assert COUNT in text, "the spec's interior points changed: update the benchmark"
        self.sources = {"taylor": text.replace(COUNT, f"latin_hypercube({points})"),
                        "autodiff": text.replace(COUNT, AUTODIFF.replace("10000", str(points)))}
        self.compile_and_import = compile_and_import
        reference = self.module("torch", "taylor")
        self.params = reference.init_params(0)                  # numpy float64, W (out, in), b (out, 1)
        self.points = reference.point_draw(0, 0)                # numpy float64 (count, 2), columns x, t
        self.nu, self.lr = reference.nu, reference.STAGES[0][1]
        assert reference.STAGES[0][0] == "adam"

    def module(self, backend, route):
        """A fresh emitted module (a runtime of its own: its compiled loss, its placed points)."""
        self.count += 1
        return self.compile_and_import(SPEC, backend, self.folder, source=self.sources[route],
                                       name=f"burgers_{route}_{backend}_{self.count}")

    def layers(self):
        """[(W (out, in), b (out,))] of the MLP, numpy float64."""
        count = len([k for k in self.params if k.startswith("u.W")])
        return [(self.params[f"u.W{k}"], self.params[f"u.b{k}"][:, 0]) for k in range(1, count + 1)]

    def conditions(self):
        """[(points (n, 2), value at them (n,))]: the initial slice, then the faces x = -1, x = 1."""
        import numpy as np
        initial = self.points["initial_t_0"]
        return [(initial, -np.sin(np.pi * initial[:, 0])),
                (self.points["boundary_x_-1"], np.zeros(len(self.points["boundary_x_-1"]))),
                (self.points["boundary_x_1"], np.zeros(len(self.points["boundary_x_1"])))]


class Variant:
    """One training loop: `step()` runs one Adam step and returns the loss before it (a float)."""

    def __init__(self, label, backend, step, note="", loss_now=None):
        self.label, self.backend, self.step, self.note = label, backend, step, note
        self.loss_now = loss_now   # the loss at the current weights, for a step that does not return it
        self.wall, self.cpu, self.faults = [], [], []
        self.first = self.first_loss = self.last_loss = None

    def timed(self, steps):
        import resource
        for _ in range(steps):
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            wall, cpu = time.perf_counter(), time.process_time()
            self.step()
            self.cpu.append(time.process_time() - cpu)
            self.wall.append(time.perf_counter() - wall)
            self.faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults)


# ---------------------------------------------------------------------------------- emitted
def emitted(problem, backend, route, compile=False):
    """The emitted module's training step, as the runtime's train() runs it (batch, draws, step)."""
    import numpy as np

    module = problem.module(backend, route)
    runtime = module._runtime
    dtype = runtime.DTYPES["float32"]
    p, device = runtime.place_params(module.init_params(0), dtype, "cpu")
    how = runtime.prepare_step(compile)
    optimizer = runtime.new_optimizer("adam", problem.lr, p, device)
    fields, names = runtime.training_fields(module.make_data())
    placed = runtime.place_fields(fields, dtype, device)
    rng = np.random.default_rng(0)
    state = {"p": p, "step": 0}

    def step():
        batch = runtime.batch(fields, placed, names, 0, rng, dtype, device)
        batch = runtime.with_draws(batch, 0, state["step"], dtype, device)
        state["p"], value = runtime.training_step(optimizer, state["p"], batch)
        state["step"] += 1
        if backend == "jax":
            import jax
            jax.block_until_ready((state["p"], optimizer["state"]))
        return value

    label = f"emitted {route}" + (" --compile" if compile else "")
    return Variant(label, backend, step, note=how)


# ---------------------------------------------------------------------------------- torch by hand
def torch_net(problem):
    """nn.Sequential(Linear, Tanh, ..., Linear) with the emitted initial weights."""
    import torch
    from torch import nn

    modules = []
    for k, (W, b) in enumerate(problem.layers()):
        linear = nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.as_tensor(W))
            linear.bias.copy_(torch.as_tensor(b))
        modules += [linear] if k == len(problem.layers()) - 1 else [linear, nn.Tanh()]
    return nn.Sequential(*modules)


def torch_loop(problem, residual_terms):
    """A torch Adam loop on the PINN loss, given residual_terms(net, x, t) -> (u, u_x, u_t, u_xx),
    x and t (n, 1) columns of the interior points."""
    import torch

    net = torch_net(problem)
    as_float = lambda a: torch.as_tensor(a, dtype=torch.float32)
    interior = as_float(problem.points["interior"])
    x, t = interior[:, 0:1].clone(), interior[:, 1:2].clone()
    conditions = [(as_float(points), as_float(values)[:, None]) for points, values in problem.conditions()]
    optimizer = torch.optim.Adam(net.parameters(), lr=problem.lr)
    nu = problem.nu

    def loss():
        u, u_x, u_t, u_xx = residual_terms(net, x, t)
        total = torch.mean((u_t + u * u_x - nu * u_xx) ** 2)
        for points, values in conditions:
            total = total + torch.mean((net(points) - values) ** 2)
        return total

    def step():
        optimizer.zero_grad()
        value = loss()
        value.backward()
        optimizer.step()
        return value.item()

    return step


def nested_autograd(net, x, t):
    """Raissi et al.'s (and DeepXDE's) way: reverse mode, the graph kept for the next order."""
    import torch

    x, t = x.requires_grad_(True), t.requires_grad_(True)
    u = net(torch.cat([x, t], dim=1))
    u_x, u_t = torch.autograd.grad(u, (x, t), torch.ones_like(u), create_graph=True)
    u_xx, = torch.autograd.grad(u_x, x, torch.ones_like(u_x), create_graph=True)
    return u, u_x, u_t, u_xx


def func_hessian(net, x, t):
    """torch.func: the gradient and the Hessian in the inputs of u at one point, vmapped."""
    import torch
    from torch.func import functional_call, hessian, jacrev, vmap

    def u_at(params, xt):
        return functional_call(net, params, (xt,))[0]

    params = dict(net.named_parameters())
    xt = torch.cat([x, t], dim=1)
    g = vmap(jacrev(u_at, argnums=1), in_dims=(None, 0))(params, xt)
    H = vmap(hessian(u_at, argnums=1), in_dims=(None, 0))(params, xt)
    return net(xt), g[:, 0:1], g[:, 1:2], H[:, 0, 0:1]


def func_jvp(net, x, t):
    """torch.func forward over forward: u's value depends on its own point only, so one jvp along
    a tangent of ones gives every point's derivative; nested once for u_xx."""
    import torch
    from torch.func import jvp

    ones = torch.ones_like(x)
    at = lambda x, t: net(torch.cat([x, t], dim=1))
    u_and_u_x = lambda x: jvp(lambda x: at(x, t), (x,), (ones,))
    u, u_t = jvp(lambda t: at(x, t), (t,), (ones,))
    (_, u_x), (_, u_xx) = jvp(u_and_u_x, (x,), (ones,))
    return u, u_x, u_t, u_xx


def torch_variants(problem):
    return [Variant("torch nested autograd", "torch", torch_loop(problem, nested_autograd)),
            Variant("torch.func hessian", "torch", torch_loop(problem, func_hessian)),
            Variant("torch.func jvp", "torch", torch_loop(problem, func_jvp))]


# ---------------------------------------------------------------------------------- JAX by hand
def jax_loop(problem, residual_terms):
    """A jitted optax Adam step on the PINN loss, given residual_terms(params, x, t) ->
    (u, u_x, u_t, u_xx) on (n,) vectors x, t; params [(W (in, out), b (out,))], batch first."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    f32 = lambda a: jnp.asarray(np.asarray(a), dtype=jnp.float32)
    params = [(f32(W.T), f32(b)) for W, b in problem.layers()]
    interior = f32(problem.points["interior"])
    x, t = interior[:, 0], interior[:, 1]
    conditions = [(f32(points), f32(values)) for points, values in problem.conditions()]
    optimizer = optax.adam(problem.lr)
    nu = problem.nu

    def loss(params):
        u, u_x, u_t, u_xx = residual_terms(params, x, t)
        total = jnp.mean((u_t + u * u_x - nu * u_xx) ** 2)
        for points, values in conditions:
            total = total + jnp.mean((mlp(params, points)[:, 0] - values) ** 2)
        return total

    @jax.jit
    def update(params, state):
        value, grads = jax.value_and_grad(loss)(params)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state, value

    state = {"params": params, "opt": optimizer.init(params)}

    def step():
        state["params"], state["opt"], value = jax.block_until_ready(update(state["params"], state["opt"]))
        return float(value)

    return step


def mlp(params, h):
    import jax.numpy as jnp
    for W, b in params[:-1]:
        h = jnp.tanh(h @ W + b)
    W, b = params[-1]
    return h @ W + b


def forward_over_reverse(params, x, t):
    """jax.grad of u at one point for (u_x, u_t), jax.jacfwd of its x-derivative for u_xx, vmapped."""
    import jax
    import jax.numpy as jnp

    def u_at(x, t):
        return mlp(params, jnp.stack([x, t]))[0]
    u_x_at = jax.grad(u_at, argnums=0)
    gradient = jax.vmap(jax.grad(u_at, argnums=(0, 1)))
    u_x, u_t = gradient(x, t)
    u_xx = jax.vmap(jax.jacfwd(u_x_at, argnums=0))(x, t)
    return mlp(params, jnp.stack([x, t], axis=1))[:, 0], u_x, u_t, u_xx


def forward_over_forward(params, x, t):
    """jax.jvp along a tangent of ones (each point's value depends on its own point), nested for u_xx."""
    import jax
    import jax.numpy as jnp

    ones = jnp.ones_like(x)
    at = lambda x, t: mlp(params, jnp.stack([x, t], axis=1))[:, 0]
    u_and_u_x = lambda x: jax.jvp(lambda x: at(x, t), (x,), (ones,))
    u, u_t = jax.jvp(lambda t: at(x, t), (t,), (ones,))
    (_, u_x), (_, u_xx) = jax.jvp(u_and_u_x, (x,), (ones,))
    return u, u_x, u_t, u_xx


def jax_variants(problem):
    return [Variant("jax fwd-over-rev", "jax", jax_loop(problem, forward_over_reverse)),
            Variant("jax jvp", "jax", jax_loop(problem, forward_over_forward))]


# ---------------------------------------------------------------------------------- DeepXDE
def deepxde_variant(problem):
    """DeepXDE's Burgers example on the same net, weights and points; None (and why) without it."""
    try:
        import deepxde as dde
    except ImportError as exc:
        return None, f"deepxde is not installed ({exc}); `pip install 'sciml-compiler[bench]'`"
    import numpy as np
    import torch

    if dde.backend.backend_name != "pytorch":
        return None, f"deepxde's backend is {dde.backend.backend_name}: set DDE_BACKEND=pytorch"
    dde.config.set_default_float("float32")
    nu = problem.nu

    def pde(x, y):
        dy_x = dde.grad.jacobian(y, x, i=0, j=0)
        dy_t = dde.grad.jacobian(y, x, i=0, j=1)
        dy_xx = dde.grad.hessian(y, x, i=0, j=0)
        return dy_t + y * dy_x - nu * dy_xx

    geometry = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, 1))
    conditions = [dde.icbc.PointSetBC(points.astype(np.float32), values.astype(np.float32)[:, None])
                  for points, values in problem.conditions()]
    data = dde.data.TimePDE(geometry, pde, conditions, num_domain=0, num_boundary=0, num_initial=0,
                            anchors=problem.points["interior"].astype(np.float32))
    widths = [2] + [W.shape[0] for W, _ in problem.layers()]
    net = dde.nn.FNN(widths, "tanh", "Glorot normal")
    with torch.no_grad():
        for linear, (W, b) in zip(net.linears, problem.layers()):
            linear.weight.copy_(torch.as_tensor(W))
            linear.bias.copy_(torch.as_tensor(b))
    model = dde.Model(data, net)
    model.compile("adam", lr=problem.lr)
    model.train_state.set_data_train(*data.train_next_batch())
    state = model.train_state
    inputs = state.X_train

    def step():       # as Model.train runs it, minus its callbacks and bookkeeping
        model.train_step(inputs, state.y_train, state.train_aux_vars)

    def loss_now():
        return float(torch.sum(model.outputs_losses_train(inputs, state.y_train, state.train_aux_vars)[1]))

    variant = Variant("deepxde", "torch", step, loss_now=loss_now,
                      note=f"deepxde {dde.__version__}, Model.train_step; its points: {len(inputs)}, "
                           f"the conditions' first")
    variant.model = model
    return variant, None


def deepxde_train_seconds(model, short=5, long=15):
    """Model.train's own CPU time per iteration: (train(long) - train(short)) / (long - short),
    which takes out its setup and the loss it evaluates at the end (after the interleaved rounds)."""
    seconds = {}
    for iterations in (short, long):
        start = time.process_time()
        model.train(iterations=iterations, display_every=iterations, verbose=0)
        seconds[iterations] = time.process_time() - start
    return (seconds[long] - seconds[short]) / (long - short)


# ---------------------------------------------------------------------------------- the run
def run(variants, args):
    for variant in variants:
        before = variant.loss_now() if variant.loss_now else None
        start = time.perf_counter()
        value = variant.step()
        variant.first = time.perf_counter() - start
        variant.first_loss = before if variant.loss_now else value
        print(f"{variant.label}: first step {variant.first:.2f} s ({variant.note or variant.backend})",
              file=sys.stderr, flush=True)
        for _ in range(args.warmup):
            variant.step()
    for index in range(args.rounds):
        k = index % len(variants)
        for variant in variants[k:] + variants[:k]:
            variant.timed(args.steps)
    for variant in variants:   # the loss at the weights after all steps: one more step returns it
        variant.last_loss = variant.loss_now() if variant.loss_now else variant.step()


def main(argv=None):
    args = parse_args(argv)
    set_environment(args)
    freed_memory = None
    if args.keep_freed_memory:
        from sciml.runtime.command import RuntimeCommandLine
        freed_memory = RuntimeCommandLine.keep_freed_memory()
        if freed_memory is None:
            print("--keep-freed-memory: the C library is not glibc; nothing changed", file=sys.stderr)
    import torch
    torch.set_num_threads(args.threads)

    load_before = os.getloadavg()
    problem = Problem(args.points, Path(tempfile.mkdtemp(prefix="sciml-bench-pinn-")))
    variants = [emitted(problem, "torch", "taylor"), emitted(problem, "torch", "autodiff")]
    if args.compile:
        variants.append(emitted(problem, "torch", "taylor", compile=True))
    variants += torch_variants(problem)
    deepxde, skipped = deepxde_variant(problem)
    if deepxde is None:
        print(f"DeepXDE skipped: {skipped}", file=sys.stderr)
    else:
        variants.append(deepxde)
    variants += [emitted(problem, "jax", "taylor"), emitted(problem, "jax", "autodiff")]
    variants += jax_variants(problem)
    if args.only:
        wanted = {label.strip() for label in args.only.split(",")}
        variants = [v for v in variants if v.label in wanted]
    run(variants, args)
    train_seconds = None
    if deepxde in variants:
        train_seconds = deepxde_train_seconds(deepxde.model) if args.rounds > 1 else None
    report(variants, args, load_before, deepxde, skipped, freed_memory, train_seconds)


def report(variants, args, load_before, deepxde, skipped, freed_memory, train_seconds):
    import jax
    import torch

    reference = next((v for v in variants if v.label == "emitted taylor"), variants[0])
    rows = []
    for v in variants:
        rows.append({"variant": v.label, "backend": v.backend, "first_s": v.first,
                     "wall_ms": 1e3 * statistics.median(v.wall), "cpu_ms": 1e3 * statistics.median(v.cpu),
                     "q1_ms": 1e3 * _quartile(v.wall, 0), "q3_ms": 1e3 * _quartile(v.wall, 2),
                     "faults": statistics.median(v.faults),
                     "first_loss": v.first_loss, "last_loss": v.last_loss, "note": v.note, "n": len(v.wall)})
    lines = [f"Machine: {platform.machine()}, {cores_note()}, load average "
             f"{load_before[0]:.1f} before and {os.getloadavg()[0]:.1f} after; Python {platform.python_version()}, "
             f"torch {torch.__version__} ({torch.get_num_threads()} threads), jax {jax.__version__} "
             f"(XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}); {args.points} interior points, float32; "
             f"{args.rounds} rounds x {args.steps} steps per variant after {args.warmup} warm-up steps; "
             f"freed memory: {freed_memory or 'as glibc does by default'}.", "",
             "| variant | backend | first step s | wall ms (median) | IQR ms | CPU ms (median) | page faults / step | "
             "loss at start, rel. to emitted | loss at end |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        start = abs(row["first_loss"] - reference.first_loss) / abs(reference.first_loss)
        lines.append(f"| {row['variant']} | {row['backend']} | {row['first_s']:.2f} | {row['wall_ms']:.1f} | "
                     f"{row['q1_ms']:.1f}–{row['q3_ms']:.1f} | {row['cpu_ms']:.1f} | {row['faults']:.0f} | {start:.1e} | "
                     f"{row['last_loss']:.6g} |")
    lines += ["", "| ratio (emitted / other) | wall | CPU |", "|---|---:|---:|"]
    by_label = {row["variant"]: row for row in rows}
    ratios = {}
    hand = {"torch": ["torch nested autograd", "torch.func hessian", "torch.func jvp"],
            "jax": ["jax fwd-over-rev", "jax jvp"]}
    deepxde_row = by_label.get("deepxde")
    for backend, labels in hand.items():
        present = [by_label[label] for label in labels if label in by_label]
        if not present:
            continue
        best = min(present, key=lambda row: row["cpu_ms"])
        for route in ("emitted taylor", "emitted autodiff", "emitted taylor --compile"):
            row = next((r for r in rows if r["variant"] == route and r["backend"] == backend), None)
            if row is None:
                continue
            for other in [best] + ([deepxde_row] if deepxde_row else []):   # DeepXDE: torch
                key = f"{backend} {route} / {other['variant']}" + (" (best hand-written)" if other is best else "")
                ratios[key] = (row["wall_ms"] / other["wall_ms"], row["cpu_ms"] / other["cpu_ms"])
                lines.append(f"| {key} | {ratios[key][0]:.2f} | {ratios[key][1]:.2f} |")
    if deepxde is None:
        lines.append(f"\nDeepXDE skipped: {skipped}")
    else:
        lines.append(f"\nDeepXDE: {deepxde.note}."
                     + (f" Model.train's own CPU time per iteration ((train(15) - train(5)) / 10): "
                        f"{1e3 * train_seconds:.1f} ms." if train_seconds else ""))
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "ratios": ratios, "args": vars(args),
                                               "freed_memory": freed_memory, "deepxde_train_s": train_seconds},
                                              indent=1))


def _quartile(values, which):
    return statistics.quantiles(values, n=4)[which] if len(values) > 1 else values[0]


if __name__ == "__main__":
    main()
