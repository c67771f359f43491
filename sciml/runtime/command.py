"""The command line of an emitted module: its options, the run, the JSON result, saving, plots.

`RuntimeCommandLine` is a base of `Runtime` (common.py): `main` parses the options, trains with
`self.train` and prints the result.  Exit status 0; 2: a data file that does not fit, a
checkpoint that cannot be resumed from, a missing optional package; 3: training diverged.
"""
import argparse
import io
import json
import os
import sys
import time

import numpy as np

from sciml.runtime.checkpoint import CheckpointFiles
from sciml.runtime.plot import TrainingPlots


class RuntimeCommandLine:
    """main(argv): the emitted module's command line (a base of Runtime)."""

    class ReportHistory:
        """--report-every N: a monitor of train() that evaluates the reports at the start and
        every N steps; rows: [{step, seconds, reports}], seconds since it was made (the start of
        training) less the time spent evaluating reports, so a row says when training got there."""

        def __init__(self, every, evaluate, clock=time.perf_counter, stream=None):
            self.every, self.evaluate, self.clock = max(1, every), evaluate, clock
            self.rows, self.start, self.spent = [], clock(), 0.0
            self.stream = stream  # where each row is said as it comes (None: nowhere)

        def __call__(self, step, params):
            began = self.clock()
            reports = self.evaluate(params)
            self.rows.append({"step": step, "seconds": round(began - self.start - self.spent, 3), "reports": reports})
            self.spent += self.clock() - began
            if self.stream is not None:
                said = "  ".join(f"{name} {value:.6g}" if isinstance(value, float) else f"{name} {value}"
                                 for name, value in reports.items())
                print(f"step {step:6d}  {self.rows[-1]['seconds']:.1f} s  {said}", file=self.stream, flush=True)

    COMPILE_HELP = "torch.compile the training step; its compile time goes in the JSON result"

    def arguments(self, argv=None):
        m = self.model
        parser = argparse.ArgumentParser(description=f"Train {m.MODEL} ({m.BACKEND}).")
        parser.add_argument("--steps", type=int, default=None, help="training steps (default: the spec's)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--device", default="cpu")
        parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
        parser.add_argument("--json", action="store_true", help="print one JSON line with the results")
        parser.add_argument("--out", help="folder to save the trained parameters in")
        parser.add_argument("--check-stability", action="store_true",
                            help="check the step-size bounds of the analysis with the weights during training")
        parser.add_argument("--check-every", type=int, default=10, help="training steps between checks")
        parser.add_argument("--data-dir", help="the folder of the data files (default: $SCIML_DATA_DIR, "
                            "then beside this file, then the spec's folder)")
        parser.add_argument("--checkpoint", metavar="DIR", help="write a checkpoint to DIR while training "
                            "(parameters, optimizer state, random state, step)")
        parser.add_argument("--checkpoint-every", type=int, default=100, metavar="N",
                            help="training steps between checkpoints (default 100; the end is written too)")
        parser.add_argument("--resume", metavar="DIR", help="continue from the checkpoint in DIR")
        parser.add_argument("--plot", metavar="DIR", help="draw the loss curve (and the fit to observed "
                            "trajectories) as PNG files in DIR; needs matplotlib")
        parser.add_argument("--compile", action="store_true", help=self.COMPILE_HELP)
        parser.add_argument("--report-every", type=int, default=0, metavar="N",
                            help="evaluate the reports every N training steps (and at the start), said on "
                            "standard error as they come; the JSON result gets them as report_history: [{step, seconds, reports}], seconds of "
                            "training so far, not counting the reports' own time (0: only at the end)")
        parser.add_argument("--threads", type=int, default=None, metavar="N",
                            help="CPU threads for the backend (default: $SCIML_THREADS, else the CPUs this "
                            "process may run on, not every core of the machine; 1 is fastest for small "
                            "models and when several runs share the cores)")
        return parser.parse_args(argv)

    @staticmethod
    def thread_count(asked):
        """The threads to use: as asked, else $SCIML_THREADS, else the CPUs this process may run on
        (its affinity mask: a container or `taskset` gives fewer than the machine has)."""
        if asked is None and os.environ.get("SCIML_THREADS", "").isdigit():
            asked = int(os.environ["SCIML_THREADS"])
        if asked is None:
            asked = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return max(1, asked)

    def set_threads(self, count):
        """Use `count` CPU threads; returns the number the backend now uses."""
        return count

    @staticmethod
    def keep_freed_memory():
        """Have glibc's malloc keep the memory a training step frees for the next step.  By
        default it maps each block above its threshold afresh and hands it back when freed, so
        a step whose buffers are that large page-faults on every page of them, every step: the
        Burgers PINN's jitted JAX step on a CPU spent half its time so (XLA's temporary buffers;
        docs/results.md, "Benchmark: the PINN training step").  Large blocks then come from the
        heap (M_MMAP_MAX 0; glibc still maps when the heap cannot grow) and up to 1 GiB freed at
        its top is kept (M_TRIM_THRESHOLD).  Returns what was set, or None where the C library is
        not glibc (nothing changes)."""
        import ctypes
        try:
            mallopt = ctypes.CDLL(None).mallopt
        except (OSError, AttributeError, TypeError):   # not glibc (macOS, Windows, ...)
            return None
        m_trim_threshold, m_mmap_max = -1, -4   # glibc's malloc.h
        if mallopt(m_trim_threshold, 1 << 30) != 1 or mallopt(m_mmap_max, 0) != 1:
            return None
        return "kept (glibc: M_MMAP_MAX 0, M_TRIM_THRESHOLD 1 GiB)"

    def fail(self, message):
        """`MODEL: error: message` on standard error, exit status 2."""
        print(f"{self.model.MODEL}: error: {message}", file=sys.stderr)
        sys.exit(2)

    def save(self, folder, params):
        """Save `params` to folder/MODEL_BACKEND_params.npz: written whole, then renamed."""
        m = self.model
        buffer = io.BytesIO()
        np.savez(buffer, **params)
        CheckpointFiles.write_atomically(f"{folder}/{m.MODEL}_{m.BACKEND}_params.npz", buffer.getvalue())

    def plot(self, plots, params, data, losses, dtype, device):
        """Draw the loss curve and, where the spec observes trajectories, the fit; their paths."""
        m, write = self.model, CheckpointFiles.write_atomically
        paths = [plots.loss_curve(losses, write)]
        batch = self.evaluation_batch(data)
        if any(".t)" in state for state in m.OBSERVED_STATES):
            terms = self.observed_terms(params, batch, dtype, device)
            pairs = plots.observed_pairs(list(terms), m.OBSERVED_STATES, {m.TRAIN_SET: batch})
            times = batch["t"] if "t" in batch else getattr(m, "OBSERVED_TIMES", ())
            if getattr(m, "GRID_COORDINATES", ()):   # a grid state: its values over the grid
                path, _ = plots.grid_fit(pairs, terms, batch, np.asarray(times), m.GRID_COORDINATES, write)
            else:
                path, _ = plots.fit(pairs, terms, batch, np.asarray(times), write)
            paths += [path] if path is not None else []
        return [str(path) for path in paths]

    def options_in_place(self, args):
        """(plots, checkpoints, resumed checkpoint) of the options; fail() on what cannot work."""
        m = self.model
        plots = TrainingPlots(m, args.plot) if args.plot else None
        checkpoints = (CheckpointFiles(m, args.checkpoint, args.checkpoint_every, self.CHECKPOINT_KIND)
                       if args.checkpoint else None)
        reader = CheckpointFiles(m, args.resume, kind=self.CHECKPOINT_KIND) if args.resume else None
        for option, needs in (("--plot", plots), ("--checkpoint", checkpoints), ("--resume", reader)):
            missing = needs.missing_package() if needs is not None else None
            if missing:
                self.fail(f"{option} needs the {missing} package, which is not installed "
                          f"(pip install {missing})")
        try:
            resume = reader.read() if reader is not None else None
        except CheckpointFiles.Refused as exc:
            self.fail(str(exc))
        return plots, checkpoints, resume

    def main(self, argv=None):
        """The command line: train, print the result (one JSON line with --json), save with --out,
        checkpoint, resume, plot.  Exit status 2: a data file that does not fit, a checkpoint
        that cannot be resumed from, a missing optional package; 3: training diverged."""
        m = self.model
        args = self.arguments(argv)
        threads = self.set_threads(self.thread_count(args.threads))  # before the backend computes anything
        freed_memory = self.keep_freed_memory()
        self.seed(args.seed)
        dtype = self.DTYPES[args.dtype]
        plots, checkpoints, resume = self.options_in_place(args)
        try:
            data = m.make_data(args.data_dir)
        except m.DataError as exc:  # a data file that does not fit the model: which file, which field
            self.fail(exc)
        start = time.perf_counter()
        monitor = m.StabilityMonitor(args.check_every) if args.check_stability else None
        history = (self.ReportHistory(args.report_every, lambda params: self.reports(params, data, dtype, args.device),
                                      stream=sys.stderr) if args.report_every > 0 else None)
        losses = []
        try:
            params, final = self.train(m.init_params(args.seed), data, args.steps, args.seed, args.device,
                                       dtype, monitor=[watch for watch in (monitor, history) if watch is not None],
                                       checkpoints=checkpoints, resume=resume, losses=losses, compile=args.compile)
        except self.Diverged as exc:  # nothing is saved; the message says the step, the term and the cause
            print(f"{m.MODEL}: error: {exc}", file=sys.stderr)
            if args.json:
                print(json.dumps({"model": m.MODEL, "backend": m.BACKEND, "status": "diverged", "step": exc.step,
                                  "seed": args.seed, "dtype": args.dtype, "message": str(exc)}))
            sys.exit(3)
        except CheckpointFiles.Refused as exc:
            self.fail(str(exc))
        result = {"model": m.MODEL, "backend": m.BACKEND, "status": "ok", "loss": final, "seed": args.seed,
                  "steps": sum(stage[2] for stage in self.stages(args.steps)), "dtype": args.dtype,
                  "device": args.device, "seconds": round(time.perf_counter() - start, 3),
                  "reports": self.reports(params, data, dtype, args.device)}
        result["threads"] = threads
        result["freed_memory"] = freed_memory or "as the C library does"
        if monitor is not None:
            result["stability"] = monitor.summary()
        if history is not None:
            result["report_history"] = history.rows
        if args.compile:
            result["compile"] = self.last_run["compile"]
            compiled = not self.last_run["compile"].startswith("eager")
            result["compile_seconds"] = self.last_run["first_step_seconds"] if compiled else None
        if resume is not None:
            result["resumed_from"] = resume.step
        if checkpoints is not None:
            result["checkpoint"] = str(checkpoints.path)
        if args.out:
            self.save(args.out, params)
        if plots is not None:
            result["plots"] = self.plot(plots, params, data, losses, dtype, args.device)
        print(json.dumps(result) if args.json else f"{m.MODEL}: loss {final:.6e}  reports {result['reports']}")
