"""Benchmark: the emitted Euler-Maruyama neural SDE training step against torchsde (torch) and
diffrax (JAX) on the same nets, weights and Brownian increments, side by side in one run (issue 12,
item 6).

    .venv/bin/python benchmarks/sde_step.py                      # about 3-5 minutes on 2 shared cores
    .venv/bin/python benchmarks/sde_step.py --dtypes float32,float64
    .venv/bin/python benchmarks/sde_step.py --rounds 2 --steps 2 --warmup 1   # smoke run (run.py --quick)

The model is specs/sde/neural_sde.sciml with `scheme euler_maruyama(N, T, paths = 1000)` in place of
milstein: dX = f(X) dt + g(X) dW, f = mlp(1 -> 32 -> 32 -> 1, tanh), g = mlp(1 -> 32 -> 1, tanh),
X(0) = 1.5, 50 steps on [0, 1], 1000 paths, diagonal (here scalar) noise; the loss the spec's moment
matching at every one of the 51 times: mse of the mean over the paths against the data's mean plus
mse of the standard deviation (the square root of at least the smallest normal number, as the
emitted std_over) against the data's.  One training step is one Adam step (lr 1e-2): the loss, its
gradient, the update, the loss read back.  float32 unless --dtypes, CPU.

  emitted                  the module sciml compiles, its step as the runtime's train() runs it
                           (TorchRuntime / JaxRuntime .training_step), on increments placed beforehand
  emitted + draws          the same drawing the increments every step (draw_batch, with_draws), as
                           train() does (the others leave that out)
  torchsde                 torchsde.sdeint(sde, X0, ts, bm, method="euler", dt=h) on an SDE module
                           (noise_type="diagonal", sde_type="ito", f and g nn.Sequential), the states
                           (1000, 1); bm a torchsde.BaseBrownian that returns the emitted increments
                           dW[n] for the step from t_n (the same increments: the losses agree);
                           ts built by adding h as torchsde's loop does, so that its steps land on
                           them; backpropagation through the solver (not sdeint_adjoint), torch.optim.Adam
  torchsde BrownianInterval  the same with torchsde's own Brownian motion (bm=None: a new
                           BrownianInterval every step): other increments, the library's usual way
  diffrax                  diffrax.diffeqsolve(MultiTerm(ODETerm(f), ControlTerm(g, control)), Euler(),
                           StepTo(ts = the 51 times), SaveAt(t0=True, steps=True), max_steps=50), the
                           state the 1000 paths (a vector), g a lineax.DiagonalLinearOperator (diagonal
                           noise), the control (t0, t1) -> dW[round(t0 / h)] the emitted increments;
                           default RecursiveCheckpointAdjoint (about log(50) checkpoints: part of the
                           forward pass recomputed); optax.adam, value_and_grad and update jitted
  diffrax all checkpoints  the same with RecursiveCheckpointAdjoint(checkpoints=50)
  diffrax VirtualBrownianTree  the same (default adjoint) with diffrax's VirtualBrownianTree(0, 1,
                           tol=h/2, shape=(1000,) in the dtype) as the control, a fresh key every step: other
                           increments, the library's usual way

All start from the emitted init_params(0) (W (out, in), b (out, 1); kernels (in, out) for the
libraries) and fit the emitted make_data() (the 1000 Ornstein-Uhlenbeck paths); the variants fed
the emitted increments cycle through the same `--batches` sets draw_batch(0, k) (dW (50, 1, 1000)).
Timing, ratios and correctness as benchmarks/bsde_step.py: interleaved rounds, medians of wall and
CPU time, ratios emitted / library per round; in float64 at the initial weights on the first set of
increments torchsde's loss must equal the emitted torch module's and diffrax's the emitted JAX
module's to 1e-12 (relative; asserted), their gradients to 1e-9.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "sde" / "neural_sde.sciml"
sys.path.insert(0, str(ROOT))
from benchmarks.bsde_step import (Variant, measure_dtypes, report_agreement, report_steps, run,  # noqa: E402
                                  set_environment, LOSS_TOLERANCE, GRADIENT_TOLERANCE)

MILSTEIN = "scheme  milstein(N, T, paths = 1000)"
EULER = "scheme  euler_maruyama(N, T, paths = 1000)"


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


# ---------------------------------------------------------------------------------- the problem
class Problem:
    """The emitted Euler-Maruyama modules (torch and JAX), the weights, data, increments, settings."""

    def __init__(self, folder, batches):
        from sciml.modules import compile_and_import

        text = SPEC.read_text(encoding="utf-8")
        assert MILSTEIN in text, "the spec's scheme changed: update the benchmark"
        self.source = text.replace(MILSTEIN, EULER)
        self.folder, self.compile_and_import, self.modules = folder, compile_and_import, {}
        reference = self.module("torch")
        self.params = reference.init_params(0)
        self.data = reference.make_data()                               # train: t (51,), x (51, 1, 1000)
        self.fields = reference._runtime.training_fields(self.data)[0]
        self.draws = [reference.draw_batch(0, k)["dW"] for k in range(batches)]   # (50, 1, 1000) each
        self.steps, self.h, self.paths, self.x0 = reference.N_STEPS, reference.h, reference.PATHS, reference.x0
        assert reference.OBSERVED_STEPS == tuple(range(self.steps + 1)), "the loss reads X at every step"
        assert reference.STAGES[0][0] == "adam"
        self.lr = reference.STAGES[0][1]
        x = self.data["train"]["x"][:, 0, :]                            # (51, 1000)
        self.data_mean = x.mean(axis=-1)
        self.data_var = ((x - x.mean(axis=-1, keepdims=True)) ** 2).mean(axis=-1)

    def module(self, backend):
        if backend not in self.modules:
            self.modules[backend] = self.compile_and_import(SPEC, backend, self.folder, source=self.source,
                                                            name=f"neural_sde_em_{backend}")
        return self.modules[backend]

    def layers(self, net):
        """[(W (out, in), b (out,))] of network `net` ('f' or 'g_'), numpy float64."""
        count = len([k for k in self.params if k.startswith(f"{net}.W")])
        return [(self.params[f"{net}.W{k}"], self.params[f"{net}.b{k}"][:, 0]) for k in range(1, count + 1)]

    def batch(self, k):
        """The emitted module's batch with increments k (numpy)."""
        return {**self.fields, "dW": self.draws[k]}


# ---------------------------------------------------------------------------------- emitted
def emitted(problem, backend, dtype_name, draws=False):
    """The emitted step as the runtime's train() runs it (the data placed once)."""
    module = problem.module(backend)
    runtime = module._runtime
    dtype = runtime.DTYPES[dtype_name]
    p, device = runtime.place_params(problem.params, dtype, "cpu")
    how = runtime.prepare_step(False)
    optimizer = runtime.new_optimizer("adam", problem.lr, p, device)
    fields, names = runtime.training_fields(problem.data)
    placed = runtime.place_fields(fields, dtype, device)
    data = runtime.batch(fields, placed, names, 0, None, dtype, device)   # batch size 0: every sample
    increments = [runtime.to_arrays({"dW": dW}, dtype, device) for dW in problem.draws]
    state = {"p": p, "step": 0}

    def step():
        if draws:
            batch = runtime.with_draws(data, 0, state["step"], dtype, device)
        else:
            batch = {**data, **increments[state["step"] % len(increments)]}
        state["p"], value = runtime.training_step(optimizer, state["p"], batch)
        state["step"] += 1
        if backend == "jax":
            import jax
            jax.block_until_ready((state["p"], optimizer["state"]))
        return value

    return Variant("emitted + draws" if draws else "emitted", backend, step, note=how)


# ---------------------------------------------------------------------------------- torchsde
def torchsde_model(problem, dtype):
    """(sde module, loss(dW or None)): torchsde on the emitted weights; dW (N, 1, paths) numpy-layout
    tensor, or None for torchsde's own BrownianInterval."""
    import torch
    import torchsde
    from torch import nn

    h, steps, paths = problem.h, problem.steps, problem.paths

    def mlp(layers):
        modules = []
        for k, (W, b) in enumerate(layers):
            linear = nn.Linear(W.shape[1], W.shape[0], dtype=dtype)
            with torch.no_grad():
                linear.weight.copy_(torch.as_tensor(W))
                linear.bias.copy_(torch.as_tensor(b))
            modules += [linear] if k == len(layers) - 1 else [linear, nn.Tanh()]
        return nn.Sequential(*modules)

    class SDE(nn.Module):
        noise_type, sde_type = "diagonal", "ito"

        def __init__(self):
            super().__init__()
            self.drift, self.diffusion = mlp(problem.layers("f")), mlp(problem.layers("g_"))

        def f(self, t, y):
            return self.drift(y)

        def g(self, t, y):
            return self.diffusion(y)

    class Increments(torchsde.BaseBrownian):
        """The given increments as a Brownian motion for fixed steps of h from 0: the increment
        over [t_n, t_n+1] is dW[n] (asked for any other interval, it refuses)."""

        def __init__(self, dW):
            self.dW = dW                                      # (N, paths, 1)

        def __call__(self, ta, tb=None, return_U=False, return_A=False):
            n = round(float(ta) / h)
            assert tb is not None and round(float(tb) / h) == n + 1, "not a step of the grid"
            return self.dW[n]

        def __repr__(self):
            return f"Increments({tuple(self.dW.shape)})"

        dtype = property(lambda self: self.dW.dtype)
        device = property(lambda self: self.dW.device)
        shape = property(lambda self: tuple(self.dW.shape[1:]))
        levy_area_approximation = property(lambda self: "none")

    t, times = torch.zeros((), dtype=dtype), [torch.zeros((), dtype=dtype)]
    for _ in range(steps):   # as torchsde's loop steps: t + dt, so that every step ends on a time of ts
        t = t + h
        times.append(t)
    ts = torch.stack(times)
    x0 = torch.full((paths, 1), problem.x0, dtype=dtype)
    data_mean = torch.as_tensor(problem.data_mean, dtype=dtype)
    data_std = torch.sqrt(torch.clamp(torch.as_tensor(problem.data_var, dtype=dtype), min=torch.finfo(dtype).tiny))
    sde = SDE()

    def loss(dW):
        bm = None if dW is None else Increments(dW)
        xs = torchsde.sdeint(sde, x0, ts, bm=bm, method="euler", dt=h)[..., 0]     # (51, paths)
        mean = xs.mean(dim=1)
        std = torch.sqrt(torch.clamp(((xs - mean[:, None]) ** 2).mean(dim=1), min=torch.finfo(dtype).tiny))
        return torch.mean((mean - data_mean) ** 2) + torch.mean((std - data_std) ** 2)

    return sde, loss


def torch_paths_first(problem, dtype):
    import torch
    return [torch.as_tensor(dW.transpose(0, 2, 1).copy(), dtype=dtype) for dW in problem.draws]   # (N, paths, 1)


def torchsde_variants(problem, dtype_name):
    import torch

    dtype = getattr(torch, dtype_name)
    draws = torch_paths_first(problem, dtype)
    out = []
    for label, own in (("torchsde", False), ("torchsde BrownianInterval", True)):
        sde, loss = torchsde_model(problem, dtype)
        optimizer = torch.optim.Adam(sde.parameters(), lr=problem.lr)
        count = [0]

        def step(sde=sde, loss=loss, optimizer=optimizer, count=count, own=own):
            optimizer.zero_grad()
            value = loss(None if own else draws[count[0] % len(draws)])
            value.backward()
            optimizer.step()
            count[0] += 1
            return value.item()
        out.append(Variant(label, "torch", step))
    return out


def torchsde_gradients(problem, label):
    import torch

    sde, loss = torchsde_model(problem, torch.float64)
    value = loss(torch_paths_first(problem, torch.float64)[0])
    value.backward()
    grads = {}
    for net, module in (("f", sde.drift), ("g_", sde.diffusion)):
        linears = [m for m in module if isinstance(m, torch.nn.Linear)]
        for k, linear in enumerate(linears, start=1):
            grads[f"{net}.W{k}"] = linear.weight.grad.numpy()
            grads[f"{net}.b{k}"] = linear.bias.grad.numpy()[:, None]
    return value.item(), grads


# ---------------------------------------------------------------------------------- diffrax
DIFFRAX = ("diffrax", "diffrax all checkpoints", "diffrax VirtualBrownianTree")


def diffrax_loss(problem, label, dtype):
    """(loss(params, dW or key), params): diffrax on the emitted weights, the state the paths."""
    import diffrax
    import jax
    import jax.numpy as jnp
    import lineax
    import numpy as np

    h, steps, paths = problem.h, problem.steps, problem.paths
    grid = np.linspace(0.0, steps * h, steps + 1)
    times = jnp.asarray(grid, dtype=dtype)
    data_mean = jnp.asarray(problem.data_mean, dtype=dtype)
    tiny = jnp.finfo(dtype).tiny
    data_std = jnp.sqrt(jnp.maximum(jnp.asarray(problem.data_var, dtype=dtype), tiny))
    adjoint = diffrax.RecursiveCheckpointAdjoint(checkpoints=steps if "all checkpoints" in label else None)

    def mlp(layers, x):
        z = x[:, None]
        for W, b in layers[:-1]:
            z = jnp.tanh(z @ W + b)
        W, b = layers[-1]
        return (z @ W + b)[:, 0]

    def loss(params, noise):
        drift = diffrax.ODETerm(lambda t, y, args: mlp(args["f"], y))
        if label == "diffrax VirtualBrownianTree":
            control = diffrax.VirtualBrownianTree(times[0], times[-1], tol=h / 2, key=noise,
                                                  shape=jax.ShapeDtypeStruct((paths,), dtype))
        else:
            def control(t0, t1):   # the emitted increments: the step from t0 = t_n takes dW[n]
                return noise[jnp.round(t0 / h).astype(jnp.int32)]
        diffusion = diffrax.ControlTerm(lambda t, y, args: lineax.DiagonalLinearOperator(mlp(args["g_"], y)), control)
        # the times in the state's dtype: with float64 ones (jax_enable_x64 is on, the emitted
        # module turns it on) diffrax would promote a float32 state to float64
        solution = diffrax.diffeqsolve(
            diffrax.MultiTerm(drift, diffusion), diffrax.Euler(), t0=times[0], t1=times[-1], dt0=None,
            y0=jnp.full((paths,), problem.x0, dtype=dtype), args=params,
            stepsize_controller=diffrax.StepTo(ts=times), saveat=diffrax.SaveAt(t0=True, steps=True),
            max_steps=steps, adjoint=adjoint)
        xs = solution.ys                                                  # (51, paths)
        mean = jnp.mean(xs, axis=1)
        std = jnp.sqrt(jnp.maximum(jnp.mean((xs - mean[:, None]) ** 2, axis=1), tiny))
        return jnp.mean((mean - data_mean) ** 2) + jnp.mean((std - data_std) ** 2)

    params = {net: [(jnp.asarray(W.T, dtype=dtype), jnp.asarray(b, dtype=dtype)) for W, b in problem.layers(net)]
              for net in ("f", "g_")}
    return loss, params


def diffrax_variants(problem, dtype_name, labels):
    import jax
    import jax.numpy as jnp
    import optax

    dtype = getattr(jnp, dtype_name)
    cpu = jax.devices("cpu")[0]
    draws = [jax.device_put(jnp.asarray(dW[:, 0, :], dtype=dtype), cpu) for dW in problem.draws]   # (N, paths)
    keys = jax.random.split(jax.random.PRNGKey(0), 64)
    out = []
    for label in labels:
        loss, params = diffrax_loss(problem, label, dtype)
        optimizer = optax.adam(problem.lr)

        @jax.jit
        def update(params, state, noise, loss=loss, optimizer=optimizer):
            value, grads = jax.value_and_grad(loss)(params, noise)
            updates, state = optimizer.update(grads, state, params)
            return optax.apply_updates(params, updates), state, value

        state = {"params": jax.device_put(params, cpu), "opt": jax.device_put(optimizer.init(params), cpu), "step": 0}
        noises = keys if label == "diffrax VirtualBrownianTree" else draws
        assert jax.eval_shape(loss, params, noises[0]).dtype == dtype, f"{label}: not computed in {dtype_name}"

        def step(update=update, state=state, noises=noises):
            state["params"], state["opt"], value = jax.block_until_ready(
                update(state["params"], state["opt"], noises[state["step"] % len(noises)]))
            state["step"] += 1
            return float(value)
        out.append(Variant(label, "jax", step))
    return out


def diffrax_gradients(problem, label):
    import jax
    import jax.numpy as jnp
    import numpy as np

    loss, params = diffrax_loss(problem, label, jnp.float64)
    value, grads = jax.value_and_grad(loss)(params, jnp.asarray(problem.draws[0][:, 0, :]))
    out = {}
    for net in ("f", "g_"):
        for k, (W, b) in enumerate(grads[net], start=1):
            out[f"{net}.W{k}"], out[f"{net}.b{k}"] = np.asarray(W).T, np.asarray(b)[:, None]
    return float(value), out


# ---------------------------------------------------------------------------------- correctness
def agreement(problem, diffrax_labels=DIFFRAX[:2]):
    """float64, initial weights, first increments: rows as bsde_step's (diffrax: those of
    `diffrax_labels` fed the emitted increments); asserts the tolerances."""
    import jax.numpy as jnp
    import numpy as np
    import torch

    reference = {backend: problem.module(backend).loss_and_grad(problem.params, problem.batch(0), dtype)
                 for backend, dtype in (("torch", torch.float64), ("jax", jnp.float64))}

    def compare(value, grads, ref):
        ref_value, ref_grads = ref
        worst = max(float(np.max(np.abs(np.asarray(grads[k]).reshape(ref_grads[k].shape) - ref_grads[k]))
                          / max(np.max(np.abs(ref_grads[k])), 1e-300)) for k in ref_grads)
        return abs(value - ref_value) / abs(ref_value), worst

    rows = [("emitted torch", reference["torch"][0], 0.0, 0.0),
            ("emitted jax (against emitted torch)", reference["jax"][0], *compare(*reference["jax"], reference["torch"]))]
    value, grads = torchsde_gradients(problem, "torchsde")
    rows.append(("torchsde (the emitted increments)", value, *compare(value, grads, reference["torch"])))
    for label in diffrax_labels:
        value, grads = diffrax_gradients(problem, label)
        rows.append((f"{label} (the emitted increments)", value, *compare(value, grads, reference["jax"])))
    for label, value, loss_diff, grad_diff in rows:
        assert loss_diff <= LOSS_TOLERANCE, f"{label}: loss {value!r} differs from the emitted one's by {loss_diff:.1e}"
        assert grad_diff <= GRADIENT_TOLERANCE, f"{label}: a gradient differs from the emitted one by {grad_diff:.1e}"
    return rows


# ---------------------------------------------------------------------------------- the run
def wanted(args, label, backend):
    """Whether --only asks for variant `label` of `backend` (the emitted step comes with any of its backend's)."""
    return not args.chosen or label in args.chosen or backend in args.chosen


def training_steps(args, problem, dtype_name):
    import torch
    torch.set_num_threads(args.threads)
    variants = []
    others = {"torch": ("emitted + draws", "torchsde", "torchsde BrownianInterval"), "jax": ("emitted + draws",) + DIFFRAX}
    for backend in ("torch", "jax"):
        if not any(wanted(args, label, backend) for label in others[backend]):
            continue
        variants.append(emitted(problem, backend, dtype_name))
        if wanted(args, "emitted + draws", backend):
            variants.append(emitted(problem, backend, dtype_name, draws=True))
        if backend == "torch":
            variants += [v for v in torchsde_variants(problem, dtype_name) if wanted(args, v.label, backend)]
        else:
            variants += diffrax_variants(problem, dtype_name, [label for label in DIFFRAX if wanted(args, label, backend)])
    load_before = os.getloadavg()
    run(variants, args)
    return variants, (load_before, os.getloadavg())


def main(argv=None, echo=True):
    """Run; print the markdown (unless not `echo`); return (its lines, the figures)."""
    args = parse_args(argv)
    set_environment(args.threads)
    problem = Problem(Path(tempfile.mkdtemp(prefix="sciml-bench-sde-")), args.batches)
    checks = agreement(problem)
    import diffrax
    import torchsde
    lines = [f"Neural SDE training step (specs/sde/neural_sde.sciml with euler_maruyama: f mlp(1 -> 32 -> 32 -> 1), "
             f"g mlp(1 -> 32 -> 1), tanh; 50 steps, 1000 paths; Adam); torchsde {torchsde.__version__}, "
             f"diffrax {diffrax.__version__}."] + report_agreement(checks)
    measure = lambda dtype_name: report_steps(*training_steps(args, problem, dtype_name), args, dtype_name,  # noqa: E731
                                              others="library")
    return measure_dtypes(args, lines, checks, measure, echo)


if __name__ == "__main__":
    main()
