"""Benchmark: the emitted deep BSDE training step against the same method written by hand in torch
and in JAX, side by side in one run (issue 12, item 6).

    .venv/bin/python benchmarks/bsde_step.py                     # about 3-5 minutes on 2 shared cores
    .venv/bin/python benchmarks/bsde_step.py --dtypes float32,float64
    .venv/bin/python benchmarks/bsde_step.py --rounds 2 --steps 2 --warmup 1   # smoke run (run.py --quick)

The model is specs/sde/deep_bsde.sciml (Han, Jentzen & E 2018): the HJB equation in d = 100 as a
forward-backward SDE, X = sqrt(2) W, Euler-Maruyama on N = 20 steps, 64 paths; Z a network per step
n = 1..19, mlp(100 -> 110 -> 110 -> 100, relu) without biases, batch normalization over the paths at
the input and after every layer (batch statistics, variance + 1e-6); z0 and y0 trainable; the loss
mean((Y_T - log((1 + |X_T|^2) / 2))^2).  One training step is one Adam step (lr 1e-2): the loss, its
gradient in every weight, the update, the loss read back.  float32 unless --dtypes, CPU.

  emitted                 the module sciml compiles, its step as the runtime's train() runs it
                          (TorchRuntime / JaxRuntime .training_step: torch.optim.Adam(fused=True), or the jitted
                          value_and_grad + optax update), on increments placed beforehand
  emitted + draws         the same with the runtime's with_draws: draw_batch(seed, step) in numpy
                          and its conversion every step, as train() does (the others leave it out)
  torch nn.Module         by hand, idiomatic torch: paths on axis 0 ((64, 100) states), a ModuleList
                          of 19 subnets, each nn.BatchNorm1d(eps=1e-6, track_running_stats=False:
                          batch statistics, as the method normalizes in training) and
                          nn.Linear(bias=False) as in the paper's code, a Python loop over the steps,
                          torch.optim.Adam over the module's parameters
  torch functional        by hand, plain per-step leaf tensors, F.linear and F.batch_norm(training=True),
                          torch.optim.Adam(foreach=True) over them
  ..., fused Adam         each of the two with torch.optim.Adam(fused=True), as the emitted step has it
  ... + running statistics  and with running means and variances kept per step and layer (BatchNorm1d's
                          track_running_stats, F.batch_norm's running buffers; momentum as the spec's),
                          which the method reports with and the emitted step keeps: the same work
  jax scan                by hand in JAX: (in, out) kernels stacked over the steps and scanned over
                          with the increments (jax.lax.scan, weights as its xs), paths on axis 0,
                          optax.adam, value_and_grad and the update jitted together
  jax scan+checkpoint     the same with jax.checkpoint on the scanned step (as the emitted scan does)
  jax unrolled            a Python loop over the 19 steps inside the jitted loss (XLA sees them all)

All variants start from the emitted init_params(0) (Z.W: (19, out, in), Z.gamma/beta: (19, n, 1))
and cycle through the same `--batches` sets of Brownian increments, the emitted draw_batch(0, k)
(dW (20, 100, 64); transposed to (20, 64, 100) for the variants that keep the paths on axis 0).
Timing as benchmarks/mol_step.py does it: each variant's first step apart (JAX: tracing and
compiling), warm-up steps, then `--rounds` rounds in rotating order of `--steps` steps per variant;
the median wall and process CPU time of single steps, one torch and one XLA thread unless
--threads.  Ratios emitted / hand-written are taken per round (the median step of each in that
round, where both ran close together in time) and summed up by their median and range over the
rounds.  Correctness: in float64 at the initial weights on the first set of increments, each
hand-written loss must equal the emitted one's to 1e-12 (relative; asserted) and its gradients
to 1e-9 (each against its largest entry, or 1e-6 of the largest gradient entry when smaller: the
gradient in Z.beta0 is 0 in exact arithmetic, rounding noise of 1e-17 here); and the emitted torch
and JAX modules each other's.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "sde" / "deep_bsde.sciml"
sys.path.insert(0, str(ROOT))
from benchmarks.environment import cores_note, set_threads  # noqa: E402
LOSS_TOLERANCE, GRADIENT_TOLERANCE = 1e-12, 1e-9


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads; with 1 (the default) XLA's too, on one core")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds (default 10)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per variant and round (default 5)")
    parser.add_argument("--warmup", type=int, default=3, help="steps after the first, not timed (default 3)")
    parser.add_argument("--batches", type=int, default=8, help="sets of increments cycled through (default 8)")
    parser.add_argument("--dtypes", default="float32", help="comma-separated: float32, float64 (default float32)")
    parser.add_argument("--only", default="", help="comma-separated variant labels or backends (default: all)")
    parser.add_argument("--json", default=None, help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    args.dtype_names = [name.strip() for name in args.dtypes.split(",") if name.strip()]
    args.chosen = {label.strip() for label in args.only.split(",") if label.strip()}
    return args


def set_environment(threads):
    """Before torch and jax are imported: one thread and one core, or `threads` (environment.py)."""
    set_threads(threads)


# ---------------------------------------------------------------------------------- the problem
class Problem:
    """The emitted modules (torch and JAX), the initial weights, the increments and the settings."""

    def __init__(self, folder, batches):
        from sciml.modules import compile_and_import

        self.folder, self.compile_and_import, self.modules = folder, compile_and_import, {}
        reference = self.module("torch")
        self.params = reference.init_params(0)                     # numpy float64
        self.draws = [reference.draw_batch(0, k)["dW"] for k in range(batches)]   # (N, d, paths) each
        self.d, self.steps, self.h, self.paths = reference.d, reference.N_STEPS, reference.h, reference.PATHS
        self.lam = reference.lambda_
        self.widths = [self.params["Z.W1"].shape[2]] + [self.params[f"Z.W{k}"].shape[1] for k in (1, 2, 3)]
        assert self.widths == [100, 110, 110, 100] and self.params["Z.W1"].shape[0] == self.steps - 1
        assert reference.STAGES[0][0] == "adam"
        self.lr = reference.STAGES[0][1]
        self.momentum = reference.BATCH_NORM_MOMENTUM   # running statistics: this much of the last

    def module(self, backend):
        """The emitted module of the backend."""
        if backend not in self.modules:
            self.modules[backend] = self.compile_and_import(SPEC, backend, self.folder, name=f"bsde_{backend}")
        return self.modules[backend]

    def layer(self, name, n):
        """The emitted weight `name` of step n = 1..19 (numpy): W (out, in), gamma / beta (n,)."""
        value = self.params[name][n - 1]
        return value[:, 0] if value.ndim == 2 and value.shape[1] == 1 else value

    def paths_first(self, k):
        """Increments k with the paths on axis 1: (N, paths, d)."""
        import numpy as np
        return np.ascontiguousarray(self.draws[k].transpose(0, 2, 1))


class Variant:
    """One training loop: `step()` runs one Adam step and returns the loss before it (a float)."""

    def __init__(self, label, backend, step, note=""):
        self.label, self.backend, self.step, self.note = label, backend, step, note
        self.wall, self.cpu, self.rounds = [], [], []   # rounds: [(wall list, cpu list)] per round
        self.first = self.first_loss = self.last_loss = None

    def timed(self, steps):
        wall_round, cpu_round = [], []
        for _ in range(steps):
            wall, cpu = time.perf_counter(), time.process_time()
            self.step()
            cpu_round.append(time.process_time() - cpu)
            wall_round.append(time.perf_counter() - wall)
        self.wall += wall_round
        self.cpu += cpu_round
        self.rounds.append((wall_round, cpu_round))


# ---------------------------------------------------------------------------------- emitted
def emitted(problem, backend, dtype_name, draws=False):
    """The emitted module's training step as the runtime's train() runs it; with `draws`, the
    increments drawn (draw_batch) and converted every step, as train() does."""
    module = problem.module(backend)
    runtime = module._runtime
    dtype = runtime.DTYPES[dtype_name]
    p, device = runtime.place_params(problem.params, dtype, "cpu")
    how = runtime.prepare_step(False)
    optimizer = runtime.new_optimizer("adam", problem.lr, p, device)
    placed = [runtime.to_arrays({"dW": dW}, dtype, device) for dW in problem.draws]
    state = {"p": p, "step": 0}

    def step():
        if draws:
            batch = runtime.with_draws({}, 0, state["step"], dtype, device)
        else:
            batch = placed[state["step"] % len(placed)]
        state["p"], value = runtime.training_step(optimizer, state["p"], batch)
        state["step"] += 1
        if backend == "jax":
            import jax
            jax.block_until_ready((state["p"], optimizer["state"]))
        return value

    return Variant("emitted + draws" if draws else "emitted", backend, step, note=how)


# ---------------------------------------------------------------------------------- torch by hand
def torch_model(problem, dtype, running=False):
    """The deep BSDE as a torch nn.Module, paths on axis 0, with the emitted initial weights."""
    import torch
    from torch import nn

    d, width = problem.d, problem.widths[1]
    h, lam, steps, root2 = problem.h, problem.lam, problem.steps, math.sqrt(2.0)
    momentum = 1 - problem.momentum   # torch's momentum: the batch's share

    class Subnet(nn.Module):
        """Han, Jentzen & E's subnetwork: BN, then (dense, BN, relu) twice, dense, BN."""

        def __init__(self):
            super().__init__()
            self.norms = nn.ModuleList(nn.BatchNorm1d(n, eps=1e-6, momentum=momentum, dtype=dtype,
                                                      track_running_stats=running)
                                       for n in (d, width, width, d))
            self.dense = nn.ModuleList(nn.Linear(a, b, bias=False, dtype=dtype)
                                       for a, b in ((d, width), (width, width), (width, d)))

        def forward(self, x):
            z = self.norms[0](x)
            for k, dense in enumerate(self.dense):
                z = self.norms[k + 1](dense(z))
                if k < 2:
                    z = torch.relu(z)
            return z

    class DeepBSDE(nn.Module):
        def __init__(self):
            super().__init__()
            self.y0 = nn.Parameter(torch.tensor(problem.params["y0"], dtype=dtype))
            self.z0 = nn.Parameter(torch.tensor(problem.params["z0"][:, 0], dtype=dtype))
            self.subnets = nn.ModuleList(Subnet() for _ in range(steps - 1))

        def forward(self, dW):   # dW (N, paths, d)
            z = self.z0 / d
            x = root2 * dW[0]
            y = self.y0 + h * lam * torch.sum(z * z) + root2 * (dW[0] @ z)
            for n in range(1, steps):
                z = self.subnets[n - 1](x) / d
                y = y + h * lam * torch.sum(z * z, dim=1) + root2 * torch.sum(z * dW[n], dim=1)
                x = x + root2 * dW[n]
            return torch.mean((y - torch.log((1 + torch.sum(x * x, dim=1)) / 2)) ** 2)

    model = DeepBSDE()
    with torch.no_grad():
        for n, subnet in enumerate(model.subnets, start=1):
            for k, norm in enumerate(subnet.norms):
                norm.weight.copy_(torch.as_tensor(problem.layer(f"Z.gamma{k}", n)))
                norm.bias.copy_(torch.as_tensor(problem.layer(f"Z.beta{k}", n)))
            for k, dense in enumerate(subnet.dense, start=1):
                dense.weight.copy_(torch.as_tensor(problem.layer(f"Z.W{k}", n)))
    return model


def torch_module_grads(model):
    """{emitted name: numpy gradient} of the nn.Module version, in the emitted layout."""
    import numpy as np
    grads = {"y0": model.y0.grad.numpy(), "z0": model.z0.grad.numpy()[:, None]}
    for k in range(4):
        grads[f"Z.gamma{k}"] = np.stack([s.norms[k].weight.grad.numpy()[:, None] for s in model.subnets])
        grads[f"Z.beta{k}"] = np.stack([s.norms[k].bias.grad.numpy()[:, None] for s in model.subnets])
    for k in range(3):
        grads[f"Z.W{k + 1}"] = np.stack([s.dense[k].weight.grad.numpy() for s in model.subnets])
    return grads


def torch_functional(problem, dtype, running=False):
    """(loss(dW), {emitted name: [leaf tensor per step]}, y0, z0): plain tensors, F.linear and
    F.batch_norm with batch statistics, paths on axis 0; with `running`, F.batch_norm also keeps
    running means and variances (in buffers of its own per step and layer), as the emitted step does."""
    import torch
    import torch.nn.functional as F

    d, h, lam, steps, root2 = problem.d, problem.h, problem.lam, problem.steps, math.sqrt(2.0)
    leaf = lambda value: torch.tensor(value, dtype=dtype, requires_grad=True)   # noqa: E731
    y0, z0 = leaf(problem.params["y0"]), leaf(problem.params["z0"][:, 0])
    nets = {name: [leaf(problem.layer(name, n)) for n in range(1, steps)]
            for name in ["Z.W1", "Z.W2", "Z.W3"] + [f"Z.{w}{k}" for k in range(4) for w in ("gamma", "beta")]}
    layers = [tuple(nets[name][n] for name in ["Z.W1", "Z.W2", "Z.W3"] + [f"Z.{w}{k}" for k in range(4)
                                                                            for w in ("gamma", "beta")])
              for n in range(steps - 1)]

    momentum = 1 - problem.momentum
    buffers = [[(torch.zeros(n, dtype=dtype), torch.ones(n, dtype=dtype)) if running else (None, None)
                for n in problem.widths] for _ in range(steps - 1)]

    def subnet(x, W1, W2, W3, g0, b0, g1, b1, g2, b2, g3, b3, running):
        z = F.batch_norm(x, *running[0], g0, b0, training=True, momentum=momentum, eps=1e-6)
        z = torch.relu(F.batch_norm(F.linear(z, W1), *running[1], g1, b1, training=True, momentum=momentum, eps=1e-6))
        z = torch.relu(F.batch_norm(F.linear(z, W2), *running[2], g2, b2, training=True, momentum=momentum, eps=1e-6))
        return F.batch_norm(F.linear(z, W3), *running[3], g3, b3, training=True, momentum=momentum, eps=1e-6)

    def loss(dW):
        z = z0 / d
        x = root2 * dW[0]
        y = y0 + h * lam * torch.sum(z * z) + root2 * (dW[0] @ z)
        for n in range(1, steps):
            z = subnet(x, *layers[n - 1], buffers[n - 1]) / d
            y = y + h * lam * torch.sum(z * z, dim=1) + root2 * torch.sum(z * dW[n], dim=1)
            x = x + root2 * dW[n]
        return torch.mean((y - torch.log((1 + torch.sum(x * x, dim=1)) / 2)) ** 2)

    return loss, nets, y0, z0


def torch_variants(problem, dtype_name):
    """The hand-written torch steps, each with torch.optim.Adam as written by hand (the module's
    default, the functional foreach=True) and with fused=True (one pass over each parameter),
    as the emitted runtime steps."""
    import torch

    dtype = getattr(torch, dtype_name)
    draws = [torch.as_tensor(problem.paths_first(k), dtype=dtype) for k in range(len(problem.draws))]
    out = []
    for fused, running in ((False, False), (True, False), (True, True)):
        suffix = FUSED * fused + KEEPS_RUNNING * running
        model = torch_model(problem, dtype, running)
        out.append(Variant("torch nn.Module" + suffix, "torch",
                           adam_step(model, list(model.parameters()), {"fused": True} if fused else {}, draws, problem.lr)))
        loss, nets, y0, z0 = torch_functional(problem, dtype, running)
        leaves = [y0, z0] + [t for ts in nets.values() for t in ts]
        out.append(Variant("torch functional" + suffix, "torch",
                           adam_step(loss, leaves, {"fused": True} if fused else {"foreach": True}, draws, problem.lr)))
    return out


FUSED, KEEPS_RUNNING = ", fused Adam", " + running statistics"


def adam_step(loss, leaves, options, draws, lr):
    """One Adam step of `loss(dW)` in `leaves`, cycling through `draws`."""
    import torch

    optimizer = torch.optim.Adam(leaves, lr=lr, **options)
    count = [0]

    def step():
        optimizer.zero_grad()
        value = loss(draws[count[0] % len(draws)])
        value.backward()
        optimizer.step()
        count[0] += 1
        return value.item()
    return step


def torch_gradients(problem, label):
    """float64 on the first increments: (loss, {emitted name: gradient}) of a hand-written torch variant."""
    import numpy as np
    import torch

    dW = torch.as_tensor(problem.paths_first(0), dtype=torch.float64)
    if label == "torch nn.Module":
        model = torch_model(problem, torch.float64)
        value = model(dW)
        value.backward()
        return value.item(), torch_module_grads(model)
    loss, nets, y0, z0 = torch_functional(problem, torch.float64)
    value = loss(dW)
    value.backward()
    grads = {"y0": y0.grad.numpy(), "z0": z0.grad.numpy()[:, None]}
    for name, tensors in nets.items():
        grads[name] = np.stack([t.grad.numpy() if t.grad.dim() == 2 else t.grad.numpy()[:, None] for t in tensors])
    return value.item(), grads


# ---------------------------------------------------------------------------------- JAX by hand
JAX_LAYOUTS = ("scan", "scan+checkpoint", "unrolled")


def jax_loss(problem, layout, dtype):
    """(loss(params, dW), params) by hand in JAX: params {y0, z0 (d,), W1..W3 (19, in, out),
    gamma0..3 / beta0..3 (19, n)}; dW (N, paths, d)."""
    import jax
    import jax.numpy as jnp

    d, h, lam, steps, root2 = problem.d, problem.h, problem.lam, problem.steps, math.sqrt(2.0)

    def batch_norm(z, gamma, beta):
        mean = jnp.mean(z, axis=0)
        variance = jnp.mean((z - mean) ** 2, axis=0)
        return (z - mean) * jax.lax.rsqrt(variance + 1e-6) * gamma + beta

    def subnet(x, w):
        z = batch_norm(x, w["gamma0"], w["beta0"])
        z = jax.nn.relu(batch_norm(z @ w["W1"], w["gamma1"], w["beta1"]))
        z = jax.nn.relu(batch_norm(z @ w["W2"], w["gamma2"], w["beta2"]))
        return batch_norm(z @ w["W3"], w["gamma3"], w["beta3"])

    def advance(carry, w, dW_n):
        x, y = carry
        z = subnet(x, w) / d
        y = y + h * lam * jnp.sum(z * z, axis=1) + root2 * jnp.sum(z * dW_n, axis=1)
        return (x + root2 * dW_n, y)

    def loss(params, dW):
        z = params["z0"] / d
        x = root2 * dW[0]
        y = params["y0"] + h * lam * jnp.sum(z * z) + root2 * (dW[0] @ z)
        nets = {name: value for name, value in params.items() if name not in ("y0", "z0")}
        if layout == "unrolled":
            for n in range(1, steps):
                x, y = advance((x, y), {name: value[n - 1] for name, value in nets.items()}, dW[n])
        else:
            def step(carry, xs):
                return advance(carry, *xs), None
            (x, y), _ = jax.lax.scan(jax.checkpoint(step) if layout == "scan+checkpoint" else step,
                                     (x, y), (nets, dW[1:]))
        return jnp.mean((y - jnp.log((1 + jnp.sum(x * x, axis=1)) / 2)) ** 2)

    p = problem.params
    params = {"y0": jnp.asarray(p["y0"], dtype=dtype), "z0": jnp.asarray(p["z0"][:, 0], dtype=dtype)}
    for k in (1, 2, 3):
        params[f"W{k}"] = jnp.asarray(p[f"Z.W{k}"].transpose(0, 2, 1), dtype=dtype)   # (19, in, out)
    for k in range(4):
        params[f"gamma{k}"] = jnp.asarray(p[f"Z.gamma{k}"][:, :, 0], dtype=dtype)
        params[f"beta{k}"] = jnp.asarray(p[f"Z.beta{k}"][:, :, 0], dtype=dtype)
    return loss, params


def jax_variants(problem, dtype_name):
    import jax
    import jax.numpy as jnp
    import optax

    dtype = getattr(jnp, dtype_name)
    cpu = jax.devices("cpu")[0]
    draws = [jax.device_put(jnp.asarray(problem.paths_first(k), dtype=dtype), cpu) for k in range(len(problem.draws))]
    out = []
    for layout in JAX_LAYOUTS:
        loss, params = jax_loss(problem, layout, dtype)
        optimizer = optax.adam(problem.lr)
        assert jax.eval_shape(loss, params, draws[0]).dtype == dtype, f"jax {layout}: not computed in {dtype_name}"

        @jax.jit
        def update(params, state, dW, loss=loss, optimizer=optimizer):
            value, grads = jax.value_and_grad(loss)(params, dW)
            updates, state = optimizer.update(grads, state, params)
            return optax.apply_updates(params, updates), state, value

        # device_put: optax's step count is created uncommitted, the update's outputs are committed
        state = {"params": jax.device_put(params, cpu), "opt": jax.device_put(optimizer.init(params), cpu), "step": 0}

        def step(update=update, state=state):
            state["params"], state["opt"], value = jax.block_until_ready(
                update(state["params"], state["opt"], draws[state["step"] % len(draws)]))
            state["step"] += 1
            return float(value)
        out.append(Variant(f"jax {layout}", "jax", step))
    return out


def jax_gradients(problem, label):
    import jax
    import jax.numpy as jnp
    import numpy as np

    loss, params = jax_loss(problem, label.split(" ", 1)[1], jnp.float64)
    value, grads = jax.value_and_grad(loss)(params, jnp.asarray(problem.paths_first(0)))
    out = {"y0": np.asarray(grads["y0"]), "z0": np.asarray(grads["z0"])[:, None]}
    for k in (1, 2, 3):
        out[f"Z.W{k}"] = np.asarray(grads[f"W{k}"]).transpose(0, 2, 1)
    for k in range(4):
        out[f"Z.gamma{k}"] = np.asarray(grads[f"gamma{k}"])[:, :, None]
        out[f"Z.beta{k}"] = np.asarray(grads[f"beta{k}"])[:, :, None]
    return float(value), out


# ---------------------------------------------------------------------------------- correctness
RUNNING = re.compile(r"\.(mean|var)\d+$")   # batch normalization's running statistics in the parameters

def agreement(problem, labels):
    """float64, initial weights, first increments: [(label, loss, rel. diff. of the loss to the
    emitted one's, largest rel. diff. of a gradient)]; the first rows are the emitted modules'
    (torch against JAX).  Asserts the tolerances."""
    import numpy as np
    import jax.numpy as jnp
    import torch

    reference = {}
    for backend, dtype in (("torch", torch.float64), ("jax", jnp.float64)):
        module = problem.module(backend)
        reference[backend] = module.loss_and_grad(problem.params, {"dW": problem.draws[0]}, dtype)

    def compare(value, grads, ref):
        # Z.beta0's gradient is 0 in exact arithmetic (the shift of the input's normalization passes
        # through W1 as the same shift on every path, which the next normalization takes off again):
        # it is rounding noise (1e-17), so each gradient is measured against at least 1e-6 of the largest
        ref_value, ref_grads = ref
        floor = 1e-6 * max(float(np.max(np.abs(g))) for g in ref_grads.values())
        worst = max(float(np.max(np.abs(np.asarray(grads[k]).reshape(ref_grads[k].shape) - ref_grads[k]))
                          / max(np.max(np.abs(ref_grads[k])), floor)) for k in ref_grads
                    if k in grads or not RUNNING.search(k))   # running statistics: gradient 0, kept by hand by none
        return abs(value - ref_value) / abs(ref_value), worst

    rows = [("emitted jax (against emitted torch)", reference["jax"][0],
             *compare(*reference["jax"], reference["torch"]))]
    for backend, label in labels:
        value, grads = (torch_gradients if backend == "torch" else jax_gradients)(problem, label)
        rows.append((label, value, *compare(value, grads, reference[backend])))
    rows.insert(0, ("emitted torch", reference["torch"][0], 0.0, 0.0))
    for label, value, loss_diff, grad_diff in rows:
        assert loss_diff <= LOSS_TOLERANCE, f"{label}: loss {value!r} differs from the emitted one's by {loss_diff:.1e}"
        assert grad_diff <= GRADIENT_TOLERANCE, f"{label}: a gradient differs from the emitted one by {grad_diff:.1e}"
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


def wanted(args, label, backend):
    """Whether --only asks for variant `label` of `backend` (the emitted step comes with any of its backend's)."""
    return not args.chosen or label in args.chosen or backend in args.chosen


def training_steps(args, problem, dtype_name):
    import torch
    torch.set_num_threads(args.threads)
    variants = []
    others = {"torch": ["emitted + draws"] + [f"torch {way}{suffix}" for way in ("nn.Module", "functional")
                                               for suffix in ("", FUSED, FUSED + KEEPS_RUNNING)],
              "jax": ["emitted + draws"] + [f"jax {layout}" for layout in JAX_LAYOUTS]}
    for backend in ("torch", "jax"):
        if not any(wanted(args, label, backend) for label in others[backend]):
            continue
        variants.append(emitted(problem, backend, dtype_name))
        if wanted(args, "emitted + draws", backend):
            variants.append(emitted(problem, backend, dtype_name, draws=True))
        hand = torch_variants(problem, dtype_name) if backend == "torch" else jax_variants(problem, dtype_name)
        variants += [v for v in hand if wanted(args, v.label, backend)]
    load_before = os.getloadavg()
    run(variants, args)
    return variants, (load_before, os.getloadavg())


def _quartiles(values):
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def round_ratios(mine, other):
    """Per round: (emitted median / other median) of wall and of CPU time."""
    return ([statistics.median(a[0]) / statistics.median(b[0]) for a, b in zip(mine.rounds, other.rounds)],
            [statistics.median(a[1]) / statistics.median(b[1]) for a, b in zip(mine.rounds, other.rounds)])


def report_steps(variants, loads, args, dtype_name, others="hand-written"):
    import jax
    import torch

    lines = [f"Machine: {platform.machine()}, {cores_note()}, load average {loads[0][0]:.1f} "
             f"before and {loads[1][0]:.1f} after the timed rounds; Python {platform.python_version()}, torch "
             f"{torch.__version__} ({torch.get_num_threads()} thread), jax {jax.__version__} "
             f"(XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}); {dtype_name}; {args.rounds} rounds x {args.steps} "
             f"steps per variant after {args.warmup} warm-up steps.", "",
             "| variant | backend | first step s | wall ms (median) | IQR ms | CPU ms (median) | "
             "emitted / this (wall) | emitted / this (CPU) | loss at end |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    rows, emitted_of = {}, {v.backend: v for v in variants if v.label == "emitted"}
    for v in variants:
        q1, median, q3 = _quartiles(v.wall)
        rows[f"{v.backend} {v.label}"] = {"wall": 1e3 * median, "q1": 1e3 * q1, "q3": 1e3 * q3,
                                          "cpu": 1e3 * statistics.median(v.cpu), "first": v.first,
                                          "first_loss": v.first_loss, "last_loss": v.last_loss}
    for v in variants:
        row, mine = rows[f"{v.backend} {v.label}"], rows[f"{v.backend} emitted"]
        lines.append(f"| {v.label} | {v.backend} | {v.first:.2f} | {row['wall']:.2f} | {row['q1']:.2f}–{row['q3']:.2f} | "
                     f"{row['cpu']:.2f} | {mine['wall'] / row['wall']:.2f} | {mine['cpu'] / row['cpu']:.2f} | "
                     f"{v.last_loss:.6g} |")
    lines += ["", f"Ratios emitted / {others}, one per round (the median step of each in that round): "
              "median [min–max] over the rounds.", "",
              "| emitted / | backend | wall | CPU |", "|---|---|---:|---:|"]
    ratios = {}
    for v in variants:
        if v.label in ("emitted", "emitted + draws"):
            continue
        wall, cpu = round_ratios(emitted_of[v.backend], v)
        ratios[f"{v.backend} {v.label}"] = {"wall": wall, "cpu": cpu}
        lines.append(f"| {v.label} | {v.backend} | {statistics.median(wall):.2f} [{min(wall):.2f}–{max(wall):.2f}] | "
                     f"{statistics.median(cpu):.2f} [{min(cpu):.2f}–{max(cpu):.2f}] |")
    return lines, rows, ratios


def report_agreement(rows):
    return ["", "| float64, initial weights, first increments | loss | rel. diff. to emitted | "
            "max rel. diff. of a gradient |", "|---|---:|---:|---:|"] + \
           [f"| {label} | {value:.15g} | {loss_diff:.1e} | {grad_diff:.1e} |" for label, value, loss_diff, grad_diff in rows]


def main(argv=None, echo=True):
    """Run; print the markdown (unless not `echo`); return (its lines, the figures)."""
    args = parse_args(argv)
    set_environment(args.threads)
    problem = Problem(Path(tempfile.mkdtemp(prefix="sciml-bench-bsde-")), args.batches)
    labels = [("torch", "torch nn.Module"), ("torch", "torch functional")] + \
             [("jax", f"jax {layout}") for layout in JAX_LAYOUTS]
    checks = agreement(problem, labels)
    lines = ["Deep BSDE training step (specs/sde/deep_bsde.sciml: d = 100, N = 20, 64 paths, 19 nets "
             "mlp(100 -> 110 -> 110 -> 100, relu, batch normalization), Adam)."] + report_agreement(checks)
    measure = lambda dtype_name: report_steps(*training_steps(args, problem, dtype_name), args, dtype_name)  # noqa: E731
    return measure_dtypes(args, lines, checks, measure, echo)


def measure_dtypes(args, lines, checks, measure, echo):
    """The step tables of every --dtypes entry after `lines` (measure(dtype_name) -> (table, rows,
    ratios)); printed unless not `echo`, written to --json; returns (the lines, the figures)."""
    out = {"args": {k: v if not isinstance(v, set) else sorted(v) for k, v in vars(args).items()},
           "agreement": checks, "steps": {}, "ratios": {}}
    for dtype_name in args.dtype_names:
        table, rows, ratios = measure(dtype_name)
        lines = lines + ["", f"**{dtype_name}**", ""] + table
        out["steps"][dtype_name], out["ratios"][dtype_name] = rows, ratios
    if echo:
        print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return lines, out


if __name__ == "__main__":
    main()
