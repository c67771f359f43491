"""Benchmark: the emitted training step against hand-written code and the ODE libraries.

    .venv/bin/python benchmarks/run.py            # full run, writes benchmarks/results.md
    .venv/bin/python benchmarks/run.py --quick    # smoke run (a few minutes, mostly XLA compilation); prints only

What is measured (benchmarks/README.md has the details):
  (a) torch: one training step (forward + backward + Adam) of the module that `sciml compile`
      emits for benchmarks/node_rk4.sciml (RK4, 40 fixed steps, MLP 2 -> 64 -> 64 -> 2 tanh,
      batch 256) against a hand-written idiomatic PyTorch RK4 loop and torchdiffeq
      odeint(method="rk4") on the same grid, in float32 and float64;
  (b) JAX: the emitted module's jitted step against a hand-written jax.lax.scan RK4 loop and
      diffrax (diffrax 0.7 has no RK4 solver: a classical RK4 Butcher tableau on AbstractERK);
  (c) `sciml compile` wall time per zoo spec (CLI in a subprocess, and in-process);
  (d), (e) with --only ...,bsde,sde (not in the default run): benchmarks/bsde_step.py (the emitted
      deep BSDE step against it by hand in torch and JAX) and benchmarks/sde_step.py (the emitted
      Euler-Maruyama neural SDE step against torchsde and diffrax), each run in this process,
      their tables appended to the report; with --quick their smoke versions.

All variants of one backend start from the same weights (the emitted init_params(0)) and see
the same mini-batches; the variants are timed in interleaved rounds so that load from other
processes on the machine spreads over all of them.
"""
from __future__ import annotations

import argparse
import datetime
import itertools
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import ClassVar  # module level: dataclasses resolve string ClassVar annotations here

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "benchmarks" / "node_rk4.sciml"
ZOO = ROOT / "specs" / "ode"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run (few samples)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1); with 1, XLA's CPU backend "
                             "is also kept to one thread (--xla_cpu_multi_thread_eigen=false)")
    parser.add_argument("--samples", type=int, default=None,
                        help="timed steps per variant (default 100; --quick 10)")
    parser.add_argument("--out", default=None,
                        help="markdown report (default benchmarks/results.md; --quick: none)")
    parser.add_argument("--only", default="torch,jax,compile",
                        help="comma-separated parts to run: torch, jax, compile, and (not by default) "
                             "bsde (benchmarks/bsde_step.py), sde (benchmarks/sde_step.py)")
    args = parser.parse_args(argv)
    args.parts = {part.strip() for part in args.only.split(",") if part.strip()}
    if args.samples is None:
        args.samples = 10 if args.quick else 100
    if args.out is None and not args.quick:
        args.out = str(ROOT / "benchmarks" / "results.md")
    return args


# ---------------------------------------------------------------------------------- timing
START = time.perf_counter()


def log(message):
    print(f"[{time.perf_counter() - START:7.1f} s] {message}", file=sys.stderr, flush=True)


def quartiles(values):
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 \
        else (values[0],) * 3
    return median, q1, q3


def time_interleaved(variants, samples, rounds, warmup):
    """Time `samples` calls of each step function, in `rounds` interleaved blocks.

    variants: {name: step} where step() runs one training step and waits for its result.
    Returns {name: {"median", "q1", "q3", "cpu", "first", "n"}} in seconds: wall-clock
    quartiles (time.perf_counter), the median process CPU time (time.process_time, all
    threads: less sensitive than wall time to other processes on a shared machine), and the
    first call (for JAX: tracing + XLA compilation + one step)."""
    stats = {name: {} for name in variants}
    for name, step in variants.items():
        start = time.perf_counter()
        step()
        stats[name]["first"] = time.perf_counter() - start
        log(f"  {name}: first call {stats[name]['first']:.2f} s")
        for _ in range(warmup):
            step()
    wall = {name: [] for name in variants}
    cpu = {name: [] for name in variants}
    per_round = max(1, -(-samples // rounds))
    order = list(variants)
    for r in range(rounds):
        for name in order[r % len(order):] + order[:r % len(order)]:
            step = variants[name]
            for _ in range(per_round):
                start, start_cpu = time.perf_counter(), time.process_time()
                step()
                wall[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)
    for name, values in wall.items():
        stats[name]["median"], stats[name]["q1"], stats[name]["q3"] = quartiles(values)
        stats[name]["cpu"] = statistics.median(cpu[name])
        stats[name]["n"] = len(values)
    return stats


def import_emitted(backend, folder):
    """Compile the benchmark spec with the library pipeline and import the emitted module."""
    from sciml.modules import compile_and_import

    module = compile_and_import(SPEC, backend, folder)
    return module, Path(folder) / f"node_rk4_{backend}.py"


def problem(mod, count):
    """Initial numpy weights, `count` mini-batches (the emitted sampler, seed 0), and settings."""
    import numpy as np

    optimizer, lr, _, batch_size = mod.STAGES[0]
    data = mod.make_data()
    fields, names = data[mod.TRAIN_SET], mod.SAMPLE_FIELDS[mod.TRAIN_SET]
    rng = np.random.default_rng(0)
    batches = [mod.sample(fields, names, batch_size, rng) for _ in range(count)]
    return dict(params=mod.init_params(0), data=data, batches=batches, lr=lr, optimizer=optimizer,
                batch_size=batch_size, steps=mod.N_STEPS, h=mod.h, t_end=mod.T_END)


def widths_of(params):
    """MLP widths from the emitted parameters F.W1, F.W2, ... (shape (out, in))."""
    layers = sorted((k for k in params if k.startswith("F.W")), key=lambda k: int(k[3:]))
    return [params[layers[0]].shape[1]] + [params[k].shape[0] for k in layers]


class _Stamps:
    """A stand-in for sys.stderr that notes the time of every line written to it."""

    def __init__(self):
        self.times, self.cpu, self.lines = [], [], []

    def write(self, text):
        if text.strip():
            self.times.append(time.perf_counter())
            self.cpu.append(time.process_time())
            self.lines.append(text.strip())
        return len(text)

    def flush(self):
        pass


def train_per_step(mod, prob, dtype, steps):
    """Per-step wall time of the emitted train() itself, end to end: its own numpy mini-batch
    sampling and conversion, its own optimizer loop (torch) or jitted update (JAX). train()
    has no timing hook, but with log_every=1 it logs `step N loss L` after every step (reading
    the loss, which waits for the step): the times between consecutive log lines are the
    step times. The first two steps are reported apart ("first"/"second": set-up, and for JAX
    the XLA compilations) and left out of the median."""
    stamps, saved = _Stamps(), sys.stderr
    start, start_cpu = time.perf_counter(), time.process_time()
    sys.stderr = stamps
    try:
        mod.train(prob["params"], prob["data"], steps=steps, seed=0, device="cpu", dtype=dtype,
                  log_every=1)
    finally:
        sys.stderr = saved
    times = [start] + stamps.times[:steps]
    intervals = [b - a for a, b in zip(times[:-1], times[1:])]
    median, q1, q3 = quartiles(intervals[2:])
    cpu = [start_cpu] + stamps.cpu[:steps]
    cpu_median = statistics.median([b - a for a, b in zip(cpu[:-1], cpu[1:])][2:])
    log(f"  emitted train(): steps 1, 2: {intervals[0]:.2f} s, {intervals[1]:.2f} s; "
        f"then median {median * 1e3:.1f} ms/step")
    return {"median": median, "q1": q1, "q3": q3, "cpu": cpu_median, "n": len(intervals) - 2,
            "first": intervals[0], "second": intervals[1]}


# ---------------------------------------------------------------------------------- torch
def bench_torch(args, folder):
    import numpy as np
    import torch
    import torchdiffeq
    from torch import nn
    import torch.nn.functional as functional

    torch.set_num_threads(args.threads)
    mod, path = import_emitted("torch", folder)
    prob = problem(mod, 16)
    widths, n_steps, h = widths_of(prob["params"]), prob["steps"], prob["h"]

    # -- the hand-written, idiomatic PyTorch version: nn.Linear layers, batch-first states
    class MLP(nn.Module):
        def __init__(self, widths):
            super().__init__()
            layers = []
            for fan_in, fan_out in zip(widths[:-1], widths[1:]):
                layers += [nn.Linear(fan_in, fan_out), nn.Tanh()]
            self.net = nn.Sequential(*layers[:-1])

        def forward(self, y):
            return self.net(y)

    def rk4(f, y, h, n_steps):
        for _ in range(n_steps):
            k1 = f(y)
            k2 = f(y + h / 2 * k1)
            k3 = f(y + h / 2 * k2)
            k4 = f(y + h * k3)
            y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return y

    class ODEFunc(nn.Module):  # torchdiffeq's calling convention f(t, y)
        def __init__(self, mlp):
            super().__init__()
            self.mlp = mlp

        def forward(self, t, y):
            return self.mlp(y)

    def handwritten_model(dtype):
        model = MLP(widths).to(dtype)
        with torch.no_grad():  # the emitted init_params(0): W is (out, in), b is a column
            for i, layer in enumerate(model.net[::2], start=1):
                layer.weight.copy_(torch.as_tensor(prob["params"][f"F.W{i}"]))
                layer.bias.copy_(torch.as_tensor(prob["params"][f"F.b{i}"][:, 0]))
        return model

    def batch_first(batch, dtype):
        return (torch.as_tensor(np.ascontiguousarray(batch["u0"].T), dtype=dtype),
                torch.as_tensor(np.ascontiguousarray(batch["u"].T), dtype=dtype))

    def odeint_grid(dtype):
        grid = torch.linspace(0.0, prob["t_end"], n_steps + 1, dtype=dtype)
        span = torch.tensor([0.0, prob["t_end"]], dtype=dtype)
        return span, dict(grid_constructor=lambda func, y0, t: grid)

    def loss_handwritten(model, x0, x1):
        return functional.mse_loss(rk4(model, x0, h, n_steps), x1)

    def loss_torchdiffeq(func, x0, x1, span, options):
        return functional.mse_loss(torchdiffeq.odeint(func, x0, span, method="rk4",
                                                      options=options)[-1], x1)

    def variants(dtype):
        out = {}
        # emitted: the body of the emitted train()'s inner loop, with its own optimizer table
        p = {name: torch.tensor(value, dtype=dtype, requires_grad=True)
             for name, value in prob["params"].items()}
        opt_e = mod.OPTIMIZERS[prob["optimizer"]](list(p.values()), lr=prob["lr"])
        batches_e = itertools.cycle([mod.to_arrays(b, dtype, "cpu") for b in prob["batches"]])

        def emitted():
            batch = next(batches_e)
            opt_e.zero_grad()
            value = mod.loss(p, batch)
            value.backward()
            opt_e.step()
        out["emitted"] = emitted

        model = handwritten_model(dtype)
        opt_h = torch.optim.Adam(model.parameters(), lr=prob["lr"])
        batches_h = itertools.cycle([batch_first(b, dtype) for b in prob["batches"]])

        def handwritten():
            x0, x1 = next(batches_h)
            opt_h.zero_grad()
            loss_handwritten(model, x0, x1).backward()
            opt_h.step()
        out["hand-written"] = handwritten

        func = ODEFunc(handwritten_model(dtype))
        opt_l = torch.optim.Adam(func.parameters(), lr=prob["lr"])
        batches_l = itertools.cycle([batch_first(b, dtype) for b in prob["batches"]])
        span, options = odeint_grid(dtype)

        def library():
            x0, x1 = next(batches_l)
            opt_l.zero_grad()
            loss_torchdiffeq(func, x0, x1, span, options).backward()
            opt_l.step()
        out["torchdiffeq"] = library
        return out

    # -- correctness at the initial weights (float64, first mini-batch): loss and gradients
    log("  correctness (float64)")
    dtype = torch.float64
    value_e, grads_e = mod.loss_and_grad(prob["params"], prob["batches"][0], dtype)
    x0, x1 = batch_first(prob["batches"][0], dtype)
    checks = {}
    model = handwritten_model(dtype)
    value_h = loss_handwritten(model, x0, x1)
    value_h.backward()
    grads_h = layer_grads(model.net[::2])
    checks["hand-written"] = agreement(value_e, grads_e, value_h.item(), grads_h)
    func = ODEFunc(handwritten_model(dtype))
    value_l = loss_torchdiffeq(func, x0, x1, *odeint_grid(dtype))
    value_l.backward()
    checks["torchdiffeq"] = agreement(value_e, grads_e, value_l.item(), layer_grads(func.mlp.net[::2]))

    results = {}
    for dtype_name, dtype in (("float32", torch.float32), ("float64", torch.float64)):
        log(f"  {dtype_name}")
        stats = time_interleaved(variants(dtype), args.samples, rounds=5 if args.quick else 10,
                                 warmup=3 if args.quick else 20)
        stats["emitted train()"] = train_per_step(mod, prob, dtype, 2 + args.samples)
        results[dtype_name] = stats
    info = {"loss_e": value_e, "checks": checks, "threads": torch.get_num_threads(),
            "version": torch.__version__, "torchdiffeq": torchdiffeq.__version__,
            "module": path, "mod": mod, "prob": prob}
    return results, info


def layer_grads(linears):
    """{emitted name: numpy gradient} of nn.Linear layers, in the emitted layout."""
    grads = {}
    for i, layer in enumerate(linears, start=1):
        grads[f"F.W{i}"] = layer.weight.grad.detach().numpy()
        grads[f"F.b{i}"] = layer.bias.grad.detach().numpy()[:, None]
    return grads


def agreement(value_ref, grads_ref, value, grads):
    """Relative difference of the loss and the largest relative difference of a gradient."""
    import numpy as np

    rel = abs(value - value_ref) / abs(value_ref)
    grad_rel = max(float(np.linalg.norm(np.asarray(grads[k]).reshape(grads_ref[k].shape) - grads_ref[k])
                         / max(np.linalg.norm(grads_ref[k]), 1e-300)) for k in grads_ref)
    return {"loss": value, "loss_rel": rel, "grad_rel": grad_rel}


# ---------------------------------------------------------------------------------- JAX
def bench_jax(args, folder):
    import numpy as np
    import jax
    import jax.numpy as jnp
    import optax
    import diffrax

    mod, path = import_emitted("jax", folder)  # the module turns on jax_enable_x64
    prob = problem(mod, 16)
    widths, n_steps, h = widths_of(prob["params"]), prob["steps"], prob["h"]
    cpu = jax.devices("cpu")[0]

    # -- the hand-written version: Flax-style (in, out) kernels, batch-first, lax.scan over steps
    def to_layers(params, dtype):
        return [(jnp.asarray(params[f"F.W{i}"].T, dtype=dtype), jnp.asarray(params[f"F.b{i}"][:, 0], dtype=dtype))
                for i in range(1, len(widths))]

    def mlp(layers, y):
        for kernel, bias in layers[:-1]:
            y = jnp.tanh(y @ kernel + bias)
        kernel, bias = layers[-1]
        return y @ kernel + bias

    def rk4_scan(layers, y):
        def step(y, _):
            k1 = mlp(layers, y)
            k2 = mlp(layers, y + h / 2 * k1)
            k3 = mlp(layers, y + h / 2 * k2)
            k4 = mlp(layers, y + h * k3)
            return y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4), None
        y, _ = jax.lax.scan(step, y, None, length=n_steps)
        return y

    def loss_scan(layers, batch):
        x0, x1 = batch
        return jnp.mean((rk4_scan(layers, x0) - x1) ** 2)

    # -- diffrax: no RK4 in diffrax 0.7, so the classical RK4 tableau on its explicit RK base
    from classic_rk4 import diffrax_rk4
    RK4 = diffrax_rk4()

    grid = np.linspace(0.0, prob["t_end"], n_steps + 1)

    def loss_diffrax(layers, batch, adjoint):
        x0, x1 = batch
        solution = diffrax.diffeqsolve(
            diffrax.ODETerm(lambda t, y, layers: mlp(layers, y)), RK4(), t0=0.0, t1=prob["t_end"],
            dt0=None, y0=x0, args=layers, saveat=diffrax.SaveAt(t1=True),
            stepsize_controller=diffrax.StepTo(ts=grid), max_steps=n_steps, adjoint=adjoint)
        return jnp.mean((solution.ys[0] - x1) ** 2)

    adjoints = {"diffrax": diffrax.RecursiveCheckpointAdjoint(),  # library default: log(n) checkpoints
                "diffrax, all checkpoints": diffrax.RecursiveCheckpointAdjoint(checkpoints=n_steps)}

    def batch_first(batch, dtype):
        return (jax.device_put(jnp.asarray(batch["u0"].T, dtype=dtype), cpu),
                jax.device_put(jnp.asarray(batch["u"].T, dtype=dtype), cpu))

    def make_step(loss, params, batches, lr):
        optimizer = optax.adam(lr)
        # device_put: optax's step count is created uncommitted; the step's outputs are
        # committed, so without it the second call compiles the update a second time
        state = {"p": params, "opt": jax.device_put(optimizer.init(params), cpu)}

        @jax.jit  # the emitted update, with its optimizer closed over (the module passes lr in)
        def update(p, opt_state, batch):
            value, grads = jax.value_and_grad(loss)(p, batch)
            updates, opt_state = optimizer.update(grads, opt_state, p)
            return optax.apply_updates(p, updates), opt_state, value

        cycle = itertools.cycle(batches)

        def step():
            state["p"], state["opt"], value = update(state["p"], state["opt"], next(cycle))
            jax.block_until_ready((state["p"], state["opt"], value))
        return step

    def variants(dtype):
        emitted_params = {name: jax.device_put(jnp.asarray(v, dtype=dtype), cpu)
                          for name, v in prob["params"].items()}
        emitted_batches = [mod.to_arrays(b, dtype, cpu) for b in prob["batches"]]
        assert prob["optimizer"] == "adam" and prob["optimizer"] in mod.OPTIMIZERS  # optax.adam, as here
        out = {"emitted": make_step(mod.loss, emitted_params, emitted_batches, prob["lr"])}
        hand_batches = [batch_first(b, dtype) for b in prob["batches"]]
        out["hand-written (scan)"] = make_step(loss_scan, to_layers(prob["params"], dtype),
                                               hand_batches, prob["lr"])
        for name, adjoint in adjoints.items():
            out[name] = make_step(lambda layers, batch, adjoint=adjoint: loss_diffrax(layers, batch, adjoint),
                                  to_layers(prob["params"], dtype), hand_batches, prob["lr"])
        return out

    # -- correctness at the initial weights (float64, first mini-batch)
    log("  correctness (float64)")
    dtype = jnp.float64
    value_e, grads_e = mod.loss_and_grad(prob["params"], prob["batches"][0], dtype)
    batch = batch_first(prob["batches"][0], dtype)
    checks = {}

    def emitted_layout(layer_grads):
        return {**{f"F.W{i}": np.asarray(k).T for i, (k, _) in enumerate(layer_grads, 1)},
                **{f"F.b{i}": np.asarray(b)[:, None] for i, (_, b) in enumerate(layer_grads, 1)}}

    log("    emitted loss_and_grad done")
    value, grads = jax.value_and_grad(loss_scan)(to_layers(prob["params"], dtype), batch)
    checks["hand-written (scan)"] = agreement(value_e, grads_e, float(value), emitted_layout(grads))
    for name, adjoint in adjoints.items():
        value, grads = jax.value_and_grad(loss_diffrax)(to_layers(prob["params"], dtype), batch, adjoint)
        checks[name] = agreement(value_e, grads_e, float(value), emitted_layout(grads))

    results = {}
    for dtype_name, dtype in (("float32", jnp.float32), ("float64", jnp.float64)):
        log(f"  {dtype_name}")
        stats = time_interleaved(variants(dtype), args.samples, rounds=5 if args.quick else 10,
                                 warmup=3 if args.quick else 20)
        if not args.quick:  # train() compiles its own update again (XLA: tens of seconds)
            stats["emitted train()"] = train_per_step(mod, prob, dtype, 2 + args.samples)
        results[dtype_name] = stats
    info = {"loss_e": value_e, "grads_e": grads_e, "checks": checks, "version": jax.__version__,
            "diffrax": diffrax.__version__, "optax": optax.__version__, "module": path,
            "mod": mod, "prob": prob}
    return results, info


# ---------------------------------------------------------------------------------- compile time
def zoo_specs():
    return sorted(ZOO.glob("*.sciml")) + [SPEC]


def run_child(command):
    """Wall time and CPU time (user + system, from the child's rusage) of a subprocess."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


# Where the time of one CLI call goes, measured inside a fresh interpreter in the order the CLI
# meets it: sympy (imported by the IR), the rest of the compiler's imports, building the Lark
# LALR parser (cached per process only), the first compile (lowering + backend import + emit),
# and a second, warm compile.
BREAKDOWN = """
import json, sys, time
t0 = time.perf_counter()
import sympy
t1 = time.perf_counter()
from sciml import pipeline
t2 = time.perf_counter()
from sciml.frontend.parser import parser
parser()
t3 = time.perf_counter()
source = open(sys.argv[1]).read()
pipeline.compile_spec(source, sys.argv[1], sys.argv[2])
t4 = time.perf_counter()
pipeline.compile_spec(source, sys.argv[1], sys.argv[2])
t5 = time.perf_counter()
print(json.dumps({"import sympy": t1 - t0, "other compiler imports": t2 - t1,
                  "Lark parser construction": t3 - t2, "first compile (lower + emit)": t4 - t3,
                  "warm compile": t5 - t4}))
"""


def bench_compile(args):
    import json

    from sciml.frontend.diagnostics import SpecError
    from sciml.pipeline import compile_spec

    exe = Path(sys.executable).with_name("sciml")
    cli = [str(exe)] if exe.exists() else [sys.executable, "-m", "sciml"]
    runs = 1 if args.quick else 5
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in zoo_specs():
            source = spec.read_text()
            row = {"spec": spec.relative_to(ROOT).as_posix()}
            try:
                for backend in ("torch", "jax"):
                    compile_spec(source, str(spec), backend)
            except SpecError as exc:
                row["error"] = str(exc).splitlines()[0]
                rows.append(row)
                continue
            for backend in ("torch", "jax"):
                calls = [run_child(cli + ["compile", str(spec), "--backend", backend,
                                          "-o", str(Path(tmp) / "out.py")]) for _ in range(runs)]
                row[f"cli_{backend}"] = statistics.median(c[0] for c in calls)
                row[f"cli_cpu_{backend}"] = statistics.median(c[1] for c in calls)
                inproc = []
                for _ in range(runs):
                    start = time.perf_counter()
                    compile_spec(source, str(spec), backend)
                    inproc.append(time.perf_counter() - start)
                row[f"inproc_{backend}"] = statistics.median(inproc)
            rows.append(row)
            log(f"  {row['spec']}: CLI {row['cli_torch']:.2f} s / {row['cli_jax']:.2f} s")
        floors = {name: statistics.median(run_child([sys.executable, "-c", code])[0] for _ in range(runs))
                  for name, code in (("python", "pass"), ("import sciml.cli", "import sciml.cli"))}
        parts = [json.loads(run_child([sys.executable, "-c", BREAKDOWN, str(SPEC), "torch"])[2])
                 for _ in range(runs)]
        breakdown = {"python start-up": floors["python"],
                     **{key: statistics.median(p[key] for p in parts) for key in parts[0]}}
    return rows, {"cli": " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cli)),
                  "import_floor": floors["import sciml.cli"], "python_floor": floors["python"],
                  "runs": runs, "breakdown": breakdown}


# ---------------------------------------------------------------------------------- SDE scripts
# (part, script module, section title); --quick: the scripts' smoke settings
SDE_PARTS = (("bsde", "bsde_step", "(d) deep BSDE: the emitted training step against it by hand"),
             ("sde", "sde_step", "(e) neural SDE (Euler-Maruyama): the emitted training step against torchsde and diffrax"))
SMOKE = ["--rounds", "2", "--steps", "2", "--warmup", "1", "--batches", "2"]


def bench_sde_scripts(args):
    """The markdown sections of benchmarks/bsde_step.py and sde_step.py, run in this process."""
    import importlib

    sections = []
    for part, script, title in SDE_PARTS:
        if part not in args.parts:
            continue
        log(part)
        module = importlib.import_module(f"benchmarks.{script}")
        argv = ["--threads", str(args.threads)] + (SMOKE if args.quick else [])
        lines, _ = module.main(argv, echo=False)
        sections += [f"## {title}", "", f"`benchmarks/{script}.py {' '.join(argv)}` (its docstring says what "
                     "each variant is).", ""] + lines + [""]
    return sections


# ---------------------------------------------------------------------------------- report
def ms(seconds):
    return f"{seconds * 1e3:.2f}"


def step_table(results, backend):
    """Markdown rows: variant, dtype, wall ms (median, IQR), CPU ms, first call, ratios."""
    lines = [f"| {backend} | dtype | ms/step (median) | IQR | CPU ms/step | first call s "
             "| emitted / this (wall) | emitted / this (CPU) |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for dtype, stats in results.items():
        emitted = stats["emitted"]
        for name, s in stats.items():
            iqr = f"{ms(s['q1'])}–{ms(s['q3'])}" if "q1" in s else "–"
            first = f"{s['first']:.2f}" if "first" in s else "–"
            if "second" in s:
                first += f" / {s['second']:.2f}"
            cpu = ms(s["cpu"]) if "cpu" in s else "–"
            wall_ratio = f"{emitted['median'] / s['median']:.2f}"
            cpu_ratio = f"{emitted['cpu'] / s['cpu']:.2f}" if "cpu" in s else "–"
            if name == "emitted":
                wall_ratio = cpu_ratio = "1"
            lines.append(f"| {name} | {dtype} | {ms(s['median'])} | {iqr} | {cpu} | {first} "
                         f"| {wall_ratio} | {cpu_ratio} |")
    return lines


def notes(torch_results, jax_results):
    """Facts read off the numbers of this run."""
    lines = []
    for backend, results in (("torch", torch_results), ("JAX", jax_results)):
        for dtype, stats in (results or {}).items():
            e = stats["emitted"]
            for name, s in stats.items():
                if name not in ("emitted", "emitted train()") and e["cpu"] > 1.1 * s["cpu"]:
                    lines.append(f"* {backend} {dtype}: the emitted step takes {e['cpu'] / s['cpu']:.2f}x "
                                 f"the CPU time of {name}.")
            t = stats.get("emitted train()")
            if t and "second" in t and t["second"] > 20 * t["median"]:
                lines.append(f"* {backend} {dtype}: the emitted train() spends {t['first']:.1f} s on its "
                             f"first step and {t['second']:.1f} s on its second: it compiles its update "
                             "twice (the optimizer state from optimizer.init is not committed to the "
                             "device, the state returned by the first step is).")
            if backend == "JAX" and "first" in e:
                fastest = min((s["first"] for n, s in stats.items() if "first" in s and n != "emitted"
                               and "second" not in s), default=None)
                if fastest and e["first"] > 3 * fastest:
                    lines.append(f"* JAX {dtype}: the emitted step's first call (tracing + XLA "
                                 f"compilation) takes {e['first']:.1f} s, {e['first'] / fastest:.0f}x "
                                 "the fastest other variant: the 40 RK4 steps are unrolled in the jitted "
                                 "function.")
    return (["### Notes", ""] + lines + [""]) if lines else []


def check_table(info, backend):
    lines = [f"| {backend}: float64, initial weights, first batch | loss | rel. diff. to emitted | "
             "max rel. diff. of a gradient |", "|---|---:|---:|---:|",
             f"| emitted | {info['loss_e']:.15g} | – | – |"]
    for name, c in info["checks"].items():
        lines.append(f"| {name} | {c['loss']:.15g} | {c['loss_rel']:.1e} | {c['grad_rel']:.1e} |")
    return lines


def compile_table(rows, meta):
    lines = ["| spec | CLI torch s | CLI jax s | CLI CPU s (torch / jax) | ≤ 0.3 s | "
             "in-process torch ms | in-process jax ms |", "|---|---:|---:|---:|:---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['spec']} | – | – | – | – | does not compile: {r['error'][:70]} | |")
            continue
        ok = "yes" if max(r["cli_torch"], r["cli_jax"]) <= 0.3 else "**no**"
        lines.append(f"| {r['spec']} | {r['cli_torch']:.3f} | {r['cli_jax']:.3f} | "
                     f"{r['cli_cpu_torch']:.2f} / {r['cli_cpu_jax']:.2f} | {ok} | "
                     f"{r['inproc_torch'] * 1e3:.1f} | {r['inproc_jax'] * 1e3:.1f} |")
    lines += ["", "Where one CLI call goes (benchmarks/node_rk4.sciml, torch; each part measured in a "
              "fresh interpreter, median of the runs):", "",
              "| part | s |", "|---|---:|"]
    parts = {k: v for k, v in meta["breakdown"].items() if k != "warm compile"}
    lines += [f"| {name} | {value:.3f} |" for name, value in parts.items()]
    lines.append(f"| total of the above | {sum(parts.values()):.3f} |")
    cli = next((r["cli_torch"] for r in rows if r["spec"] == SPEC.relative_to(ROOT).as_posix()
                and "cli_torch" in r), None)
    if cli is not None:
        lines.append(f"| the rest of a CLI call (its wall time {cli:.3f} s above, less the total): "
                     f"interpreter set-up beyond `python -c pass` and shutdown, argument handling, "
                     f"writing the file | {cli - sum(parts.values()):.3f} |")
    lines.append(f"| (a second, warm compile in the same process) | {meta['breakdown']['warm compile']:.3f} |")
    return lines


def command_line():
    def short(path):
        path = Path(path).absolute()
        return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
    return " ".join([short(sys.executable), short(sys.argv[0])] + sys.argv[1:])


def source_version():
    """The commit of the working tree, and whether the compiler has uncommitted changes (read only)."""
    def git(*words):
        done = subprocess.run(["git", *words], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""
    commit = git("rev-parse", "--short", "HEAD") or "unknown commit"
    dirty = git("status", "--porcelain", "--", "sciml")
    return f"commit {commit}" + (" with uncommitted changes in sciml/ (the emitted code is that of the "
                                 "working tree at the time of the run)" if dirty else "")


def machine_info(args, torch_info, jax_info):
    import numpy as np

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    lines = [f"* date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
             f"* command: `{command_line()}`",
             f"* machine: {platform.machine()}, {cpu}, {os.cpu_count()} logical CPUs, "
             f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())} at the end; "
             f"{platform.platform()}",
             f"* sciml: {source_version()}",
             f"* Python {platform.python_version()}, numpy {np.__version__}"]
    if torch_info:
        lines.append(f"* torch {torch_info['version']} (torch.set_num_threads({torch_info['threads']})), "
                     f"torchdiffeq {torch_info['torchdiffeq']}")
    if jax_info:
        lines.append(f"* jax {jax_info['version']}, optax {jax_info['optax']}, diffrax {jax_info['diffrax']} "
                     f"(XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r})")
    if torch_info or jax_info:
        lines.append(f"* timed steps per variant and dtype: {args.samples}, in {5 if args.quick else 10} "
                     "interleaved rounds after warm-up; median and interquartile range of single steps "
                     "(time.perf_counter; JAX: jax.block_until_ready on parameters, optimizer state and loss)")
    return lines


def main(argv=None):
    args = parse_args(argv)
    if args.threads == 1:  # must be set before jax is imported
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
    sys.path.insert(0, str(ROOT))
    report = ["# Benchmark results", "",
              "Written by `benchmarks/run.py` (see `benchmarks/README.md`)."
              + (" Spec: `benchmarks/node_rk4.sciml` — RK4, 40 fixed steps, MLP 2 → 64 → 64 → 2 (tanh), "
                 "batch 256, Adam (lr 1e-3); one step = forward + backward + optimizer step."
                 if args.parts & {"torch", "jax"} else ""), ""]
    torch_results = torch_info = jax_results = jax_info = None
    with tempfile.TemporaryDirectory() as folder:
        if "torch" in args.parts:
            log("torch")
            torch_results, torch_info = bench_torch(args, folder)
        if "jax" in args.parts:
            log("jax")
            jax_results, jax_info = bench_jax(args, folder)
        cross = None
        if torch_info and jax_info:
            cross = abs(torch_info["loss_e"] - jax_info["loss_e"]) / abs(torch_info["loss_e"])
    sde_sections = bench_sde_scripts(args)
    compile_rows = compile_meta = None
    if "compile" in args.parts:
        log("compile")
        compile_rows, compile_meta = bench_compile(args)

    report += ["## Machine", ""] + machine_info(args, torch_info, jax_info) + [""]
    if torch_results:
        report += ["## (a) torch: training step", ""] + step_table(torch_results, "torch") + [""]
        report += check_table(torch_info, "torch") + [""]
    if jax_results:
        report += ["## (b) JAX: jitted training step", ""] + step_table(jax_results, "JAX") + [""]
        report += check_table(jax_info, "JAX") + [""]
    report += notes(torch_results, jax_results)
    if cross is not None:
        report += [f"Emitted torch vs emitted JAX module, float64 loss at the initial weights: "
                   f"relative difference {cross:.1e}.", ""]
    if compile_rows:
        report += ["## (c) `sciml compile` wall time", "",
                   f"CLI: `{compile_meta['cli']} compile SPEC --backend B -o FILE` in a subprocess, "
                   f"median of {compile_meta['runs']} runs; in-process: "
                   f"`sciml.pipeline.compile_spec`, median of {compile_meta['runs']} warm calls. "
                   f"Floor of any CLI call on this machine: `python -c pass` "
                   f"{compile_meta['python_floor']:.3f} s, `python -c 'import sciml.cli'` "
                   f"{compile_meta['import_floor']:.3f} s.", ""] + compile_table(compile_rows, compile_meta) + [""]
    report += sde_sections
    text = "\n".join(report)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
        print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
