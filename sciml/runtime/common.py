"""The numpy half of the training runtime: what both backends do the same way.

`Runtime(model)` reads the emitted module `model` (its STAGES, TRAIN_SET, SAMPLE_FIELDS, MODEL,
BACKEND, make_data, init_params, StabilityMonitor, DataError) when a method runs, not
when it is made.  A backend subclass supplies to_arrays, train, loss_and_grad, reports, DTYPES
and seed.  Mirror of nothing: torch.py and jax.py build on it.
"""
import argparse
import json
import pathlib
import sys
import time

import numpy as np


class Runtime:
    """Training for the emitted module `model`; the module binds the methods to its own names."""

    DTYPES = {}  # "float32"/"float64" -> the backend's dtype

    def __init__(self, model):
        self.model = model

    @staticmethod
    def sample(fields, sample_names, size, rng):
        """A mini-batch: the same random samples (last axis) of every per-sample field."""
        count = next((fields[name].shape[-1] for name in sample_names), 0)
        if not sample_names or size == 0 or size >= count:
            return fields
        index = rng.choice(count, size, replace=False)
        return {name: value[..., index] if name in sample_names else value for name, value in fields.items()}

    @staticmethod
    def cut_stages(written, steps):
        """The stages `written` [(optimizer, lr, steps, batch)], cut or extended to `steps` steps
        in all (None: as written); the last stage goes on for the extra steps."""
        if steps is None:
            return list(written)
        out, left = [], steps
        for optimizer, lr, count, batch in written:
            take = min(count, left)
            if take:
                out.append((optimizer, lr, take, batch))
            left -= take
        if left and written:  # no stages: nothing to train, however many steps are asked for
            optimizer, lr, _, batch = written[-1]
            out.append((optimizer, lr, left, batch))
        return out

    def stages(self, steps):
        """The spec's training stages, cut or extended to `steps` steps in all (None: as written)."""
        return self.cut_stages(self.model.STAGES, steps)

    def evaluation_batch(self, data):
        """The fixed batch that the reported loss is measured on: the first samples."""
        m = self.model
        if not m.TRAIN_SET:
            return {}
        fields, names = data[m.TRAIN_SET], m.SAMPLE_FIELDS.get(m.TRAIN_SET, ())
        size = max((stage[3] for stage in m.STAGES), default=0)
        return {name: value[..., :size] if name in names and size else value for name, value in fields.items()}

    def training_fields(self, data):
        """(the fields of the training set, the names of its per-sample fields)."""
        m = self.model
        return data.get(m.TRAIN_SET, {}), m.SAMPLE_FIELDS.get(m.TRAIN_SET, ())

    def say_nothing_to_train(self):
        if not self.model.STAGES:
            print(f"{self.model.MODEL}: no trainable parameter; 0 training steps", file=sys.stderr)

    @staticmethod
    def log(done, value, log_every):
        if log_every and done % log_every == 0:
            print(f"step {done:6d}  loss {value:.6e}", file=sys.stderr)

    class Diverged(Exception):
        """The training loss stopped being finite; the message says where and why."""

        def __init__(self, message, step):
            super().__init__(message)
            self.step = step

    def diverged_error(self, step, value, terms, params):
        """The Diverged error for a loss `value` that is not finite at `step`, from the numpy
        loss terms (and observed states) and parameters."""
        return self.Diverged(self.divergence_message(step, value, terms, params), step)

    def divergence_message(self, step, value, terms, params):
        """What went wrong at training `step` (1-based): which loss term, state and parameter is
        not finite, and the stability finding of sciml check that predicted it."""
        m = self.model
        lines = [f"training diverged at step {step}: the loss is {value}"]
        for text, array in terms.items():
            kind = "state" if text in m.OBSERVED_STATES else "loss term"
            lines += _not_finite(f"{kind} {text}", array)
        for name, array in params.items():
            lines += _not_finite(f"parameter {name}", array)
        finite = all(np.all(np.isfinite(array)) for array in params.values())
        broken = [(text, bound) for text, bound, holds in (m.check_stability(params) if finite else [])
                  if not holds]
        for text, bound in broken:
            lines.append(f"  predicted by sciml check (A202): {text} fails with these weights: "
                         f"the bound is {bound:.6g}, h = {m.h:.6g}")
        if not broken:
            findings = [f for f in m.STABILITY_FINDINGS if f[1] in ("A201", "A202", "A205")]
            for where, code, severity, message in findings:
                lines.append(f"  sciml check said at {where}: {severity}[{code}]: {message}")
            if not findings:
                lines.append("  no stability finding of sciml check predicted it: try a smaller learning rate")
        return "\n".join(lines)

    def seed(self, seed):
        """Seed the backend's own generator (the data and weights are drawn with numpy)."""

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
        return parser.parse_args(argv)

    def save(self, folder, params):
        """Save `params` to folder/MODEL_BACKEND_params.npz: written whole, then renamed."""
        m = self.model
        folder = pathlib.Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{m.MODEL}_{m.BACKEND}_params.npz"
        partial = target.with_name(target.name + ".partial")
        with open(partial, "wb") as file:
            np.savez(file, **params)
        partial.replace(target)

    def main(self, argv=None):
        """The command line: train, print the result (one JSON line with --json), save with --out.
        Exit status 2: a data file that does not fit; 3: training diverged."""
        m = self.model
        args = self.arguments(argv)
        self.seed(args.seed)
        dtype = self.DTYPES[args.dtype]
        try:
            data = m.make_data(args.data_dir)
        except m.DataError as exc:  # a data file that does not fit the model: which file, which field
            print(f"{m.MODEL}: error: {exc}", file=sys.stderr)
            sys.exit(2)
        start = time.perf_counter()
        monitor = m.StabilityMonitor(args.check_every) if args.check_stability else None
        try:
            params, final = self.train(m.init_params(args.seed), data, args.steps, args.seed, args.device,
                                       dtype, monitor=monitor)
        except self.Diverged as exc:  # nothing is saved; the message says the step, the term and the cause
            print(f"{m.MODEL}: error: {exc}", file=sys.stderr)
            if args.json:
                print(json.dumps({"model": m.MODEL, "backend": m.BACKEND, "status": "diverged", "step": exc.step,
                                  "seed": args.seed, "dtype": args.dtype, "message": str(exc)}))
            sys.exit(3)
        result = {"model": m.MODEL, "backend": m.BACKEND, "status": "ok", "loss": final, "seed": args.seed,
                  "steps": sum(stage[2] for stage in self.stages(args.steps)), "dtype": args.dtype,
                  "device": args.device, "seconds": round(time.perf_counter() - start, 3),
                  "reports": self.reports(params, data, dtype, args.device)}
        if monitor is not None:
            result["stability"] = monitor.summary()
        if args.out:
            self.save(args.out, params)
        print(json.dumps(result) if args.json else f"{m.MODEL}: loss {final:.6e}  reports {result['reports']}")


def _not_finite(what, array):
    """['  what is nan'] or ['  what: k of n values are not finite'], or [] when all are finite."""
    array = np.asarray(array, dtype=float)
    bad = int(array.size - np.count_nonzero(np.isfinite(array)))
    if not bad:
        return []
    if array.size == 1:
        return [f"  {what} is {array.item()}"]
    return [f"  {what}: {bad} of {array.size} values are not finite"]
