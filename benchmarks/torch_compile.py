"""Benchmark: the emitted torch training step eager against --compile (torch.compile), and the
emitted JAX step (jax.jit), side by side in one run, on specs/ode/classifier.sciml.

    .venv/bin/python benchmarks/torch_compile.py                    # float32, about 1-2 minutes on 2 cores
    .venv/bin/python benchmarks/torch_compile.py --dtypes float32,float64 --rounds 10 --steps 20

Each variant is the runtime's own training step (sciml.runtime: TorchRuntime/JaxRuntime
.training_step on mini-batches from .batch, data placed on the device once), as train() runs
it: forward + backward + Adam, the loss read back (which waits for the step).  Variants:

  torch eager              the module's loss, eager PyTorch (the default)
  torch --compile          torch.compile of the loss (forward and backward graphs; Adam eager)
  torch --compile + Adam   the same, and torch.compile of optimizer.step too (not in the runtime:
                           measured here to see whether it would pay)
  jax                      the jax.jit-compiled update (value_and_grad + optax Adam)

"first step" is the wall time of the first call (trace + compile + one step).  Then every variant
gets warm-up steps, and the variants are timed in interleaved rounds (rotating order), so that
load from other processes falls on all of them alike; reported: median and interquartile range
of the per-step wall time, and the median CPU time (process_time) over all rounds, also as a
ratio to eager's (CPU time is the steadier figure on a shared machine).  One torch
thread and one XLA thread (as the tests pin them).  Correctness: the loss after the timed steps
of each torch variant against eager's (the same mini-batches, float rounding apart).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "ode" / "classifier.sciml"
sys.path.insert(0, str(ROOT))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dtypes", default="float32", help="comma-separated: float32, float64")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved timing rounds")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per variant and round")
    parser.add_argument("--warmup", type=int, default=10, help="steps after the first, not timed")
    return parser.parse_args(argv)


class Variant:
    """One training loop: the runtime's place/batch/step, its own parameters and optimizer."""

    def __init__(self, label, module, dtype_name, compile_loss=False, compile_adam=False):
        self.label, self.module = label, module
        runtime = self.runtime = module._runtime
        self.dtype = runtime.DTYPES[dtype_name]
        self.data = module.make_data()
        self.fields, self.names = runtime.training_fields(self.data)
        self.p, self.device = runtime.place_params(module.init_params(0), self.dtype, "cpu")
        self.placed = runtime.place_fields(self.fields, self.dtype, self.device)
        self.how = runtime.prepare_step(compile_loss)
        optimizer_name, lr, _, self.batch_size = module.STAGES[0]
        self.optimizer = runtime.new_optimizer(optimizer_name, lr, self.p, self.device)
        if compile_adam:
            import torch
            self.optimizer.step = torch.compile(self.optimizer.step)
            self.how += " + Adam compiled"
        import numpy as np
        self.rng = np.random.default_rng(0)
        self.wall, self.cpu, self.value = [], [], None

    def step(self):
        runtime = self.runtime
        batch = runtime.batch(self.fields, self.placed, self.names, self.batch_size, self.rng, self.dtype, self.device)
        self.p, self.value = runtime.training_step(self.optimizer, self.p, batch)

    def timed(self, steps):
        for _ in range(steps):
            wall, cpu = time.perf_counter(), time.process_time()
            self.step()
            self.wall.append(time.perf_counter() - wall)
            self.cpu.append(time.process_time() - cpu)


def quartiles(values):
    q1, median, q3 = statistics.quantiles(values, n=4)
    return median, q1, q3


def main(argv=None):
    args = parse_args(argv)
    import torch
    torch.set_num_threads(1)
    import jax
    from sciml.modules import compile_and_import

    folder = Path(tempfile.mkdtemp(prefix="sciml-bench-compile-"))
    rows = []
    for dtype_name in [d.strip() for d in args.dtypes.split(",") if d.strip()]:
        torch_module = compile_and_import(SPEC, "torch", folder, name=f"classifier_torch_{dtype_name}")
        variants = []
        for label, compile_loss, compile_adam, module in (
                ("torch eager", False, False, torch_module),
                ("torch --compile", True, False, torch_module),
                ("torch --compile + Adam", True, True, torch_module),
                ("jax", False, False, compile_and_import(SPEC, "jax", folder, name=f"classifier_jax_{dtype_name}"))):
            if module is torch_module and compile_loss:   # a module of its own: its own compiled loss
                module = compile_and_import(SPEC, "torch", folder, name=f"classifier_torch_{dtype_name}_"
                                            f"{'adam' if compile_adam else 'loss'}")
            variant = Variant(label, module, dtype_name, compile_loss, compile_adam)
            start = time.perf_counter()
            variant.step()
            variant.first = time.perf_counter() - start
            print(f"{dtype_name} {label}: first step {variant.first:.2f} s ({variant.how})", file=sys.stderr, flush=True)
            for _ in range(args.warmup):
                variant.step()
            variants.append(variant)
        for round_index in range(args.rounds):
            for variant in variants[round_index % len(variants):] + variants[:round_index % len(variants)]:
                variant.timed(args.steps)
        eager = variants[0]
        for variant in variants:
            median, q1, q3 = quartiles(variant.wall)
            same = ("–" if variant.label == "jax" else
                    f"{abs(variant.value - eager.value) / abs(eager.value):.1e}")
            rows.append((dtype_name, variant.label, variant.first, median, q1, q3,
                         statistics.median(variant.cpu), statistics.median(variant.cpu) / statistics.median(eager.cpu),
                         same))
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
             f"torch {torch.__version__}, jax {jax.__version__}; one torch thread, one XLA thread; "
             f"{args.rounds} rounds x {args.steps} steps per variant.", "",
             "| dtype | variant | first step s | step median ms | IQR ms | CPU ms | CPU vs eager | loss vs eager |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for dtype_name, label, first, median, q1, q3, cpu, ratio, same in rows:
        lines.append(f"| {dtype_name} | {label} | {first:.2f} | {median * 1e3:.2f} | {q1 * 1e3:.2f}–{q3 * 1e3:.2f} | "
                     f"{cpu * 1e3:.2f} | {ratio:.2f}x | {same} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
