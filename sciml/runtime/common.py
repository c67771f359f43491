"""The numpy half of the training runtime: what both backends do the same way.

`Runtime(model)` reads the emitted module `model` (its STAGES, TRAIN_SET, SAMPLE_FIELDS, MODEL,
BACKEND, make_data, init_params, ...) when a method runs, not when it is made.  Here: the
training loop (stages, mini-batches, resuming, checkpoints, progress, the loss history) and the
divergence message; the command line is command.py (RuntimeCommandLine, a base of Runtime).
A backend subclass (torch.py, jax.py) supplies the arrays and the step: DTYPES, OPTIMIZERS,
CHECKPOINT_KIND, seed, to_arrays, to_numpy, place_params, fits, take, prepare_step,
new_optimizer, training_step, optimizer_arrays, restore_optimizer, loss_value, terms,
loss_and_grad and reports.
"""
import math
import sys
import time

import numpy as np

from sciml.runtime.checkpoint import CheckpointFiles
from sciml.runtime.command import RuntimeCommandLine
from sciml.runtime.progress import TrainingProgress


class Runtime(RuntimeCommandLine):
    """Training for the emitted module `model`; the module binds the methods to its own names."""

    DTYPES = {}  # "float32"/"float64" -> the backend's dtype
    CHECKPOINT_KIND = "npz"  # the file format of --checkpoint: 'safetensors' or 'npz'
    Refused = CheckpointFiles.Refused  # a checkpoint that cannot be resumed from

    def __init__(self, model):
        self.model = model
        self.last_run = {}  # how the last train() went: first step's seconds, data placement, compile

    # ---- mini-batches
    @staticmethod
    def sample_index(fields, sample_names, size, rng):
        """The samples (last axis) of a mini-batch of `size`, drawn with numpy's `rng`; None: all."""
        count = next((fields[name].shape[-1] for name in sample_names), 0)
        if not sample_names or size == 0 or size >= count:
            return None
        return rng.choice(count, size, replace=False)

    @staticmethod
    def pick(fields, sample_names, index):
        """The samples `index` (None: all) of every per-sample field; the other fields as they are."""
        if index is None:
            return fields
        return {name: value[..., index] if name in sample_names else value for name, value in fields.items()}

    @staticmethod
    def sample(fields, sample_names, size, rng):
        """A mini-batch: the same random samples (last axis) of every per-sample field."""
        return Runtime.pick(fields, sample_names, Runtime.sample_index(fields, sample_names, size, rng))

    def place_fields(self, fields, dtype, device):
        """The training fields as backend arrays on the device, converted once; None when they
        do not fit there (each mini-batch is then converted from numpy as it is drawn)."""
        name = self.dtype_name(dtype)
        size = np.dtype(name).itemsize if name in self.DTYPES else 8
        nbytes = sum(value.size * (8 if value.dtype.kind in "iu" else size) for value in fields.values())
        return self.to_arrays(fields, dtype, device) if self.fits(nbytes, device) else None

    def batch(self, fields, placed, names, size, rng, dtype, device):
        """The next mini-batch as backend arrays: indexed on the device when the fields are
        placed there, else drawn in numpy and converted; the same rng draws either way."""
        index = self.sample_index(fields, names, size, rng)
        if placed is not None:
            return placed if index is None else self.take(placed, names, index, device)
        return self.to_arrays(self.pick(fields, names, index), dtype, device)

    def with_draws(self, batch, seed, step, dtype, device):
        """The batch with the random draws of training step `step` (0-based), when the module draws
        any: `draw_batch(seed, step)` returns numpy arrays drawn from default_rng([seed, step]) (the
        IR's RandomDraw nodes: collocation points, Brownian increments, a VAE's epsilon, ...), the
        same for every backend, so the loss stays a pure function of (parameters, batch)."""
        draw = getattr(self.model, "draw_batch", None)
        if draw is None:
            return batch
        drawn = draw(seed, step)
        cached = getattr(self, "_placed_draws", None)
        if cached is None or cached[0] is not drawn or cached[1] != (dtype, device):
            # the same draw as the last step (fixed points): placed on the device once
            self._placed_draws = cached = (drawn, (dtype, device), self.to_arrays(drawn, dtype, device))
        return {**batch, **cached[2]}

    def report_draws(self, dtype, device) -> dict:
        """The random draws the reports read, under the key ' draws' (no data set has a space in its
        name): draw_batch(0, 0) where the module's reports read them (REPORTS_READ_DRAWS: Hutchinson's
        probes), else nothing."""
        if not getattr(self.model, "REPORTS_READ_DRAWS", False):
            return {}
        return {" draws": self.to_arrays(self.model.draw_batch(0, 0), dtype, device)}

    def running_statistics(self, p, statistics):
        """Batch normalization's running means and variances after a training step: momentum
        BATCH_NORM_MOMENTUM of those in p, the rest the step's batch `statistics` (same names)."""
        momentum = self.model.BATCH_NORM_MOMENTUM
        return {name: momentum * p[name] + (1 - momentum) * value for name, value in statistics.items()}

    def evaluation_loss(self, p, batch):
        """The loss reported after training: with batch normalization, its running statistics."""
        if hasattr(self.model, "loss_and_statistics"):
            return self.model.loss(p, batch, running=True)
        return self.model.loss(p, batch)

    @staticmethod
    def report_value(value):
        """A reported array as a Python number (one entry, whatever its shape) or nested lists."""
        array = np.asarray(value)
        return array.item() if array.size == 1 else array.tolist()

    def dtype_name(self, dtype):
        """'float32' or 'float64' for the backend's dtype (another dtype: its own name)."""
        return next((name for name, value in self.DTYPES.items() if value == dtype), str(dtype))

    # ---- stages
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

    # ---- the training loop
    def train(self, params, data, steps=None, seed=0, device="cpu", dtype=None, log_every=100, monitor=None,
              checkpoints=None, resume=None, losses=None, compile=False):
        """Train from numpy `params`; return (numpy params, loss on the evaluation batch).

        log_every: steps between log lines (a progress bar instead when stderr is a terminal;
        0: quiet); monitor(step, numpy params), if given (or each of a list of them), sees the
        weights at the start and every monitor.every steps; checkpoints: a CheckpointFiles
        written every checkpoints.every steps and at the end; resume: a CheckpointFiles.Saved to continue from (its parameters, optimizer state,
        random state and step; `params` and `seed` are then not used); losses: a list that gets
        the loss of every step (a resumed run's earlier steps first); compile: torch.compile
        the loss of the training step (torch; JAX always jit-compiles it)."""
        dtype = self.DTYPES["float64"] if dtype is None else dtype
        losses = [] if losses is None else losses
        monitors = list(monitor) if isinstance(monitor, (list, tuple)) else [] if monitor is None else [monitor]
        plan, rng, done = self.stages(steps), np.random.default_rng(seed), 0
        if resume is not None:
            params, done = resume.params, resume.step
            rng.bit_generator.state = resume.rng
            losses.extend(resume.losses)
        p, device = self.place_params(params, dtype, device)
        fields, names = self.training_fields(data)
        placed = self.place_fields(fields, dtype, device)
        self.last_run = {"data_on_device": placed is not None, "compile": self.prepare_step(compile),
                         "first_step_seconds": None}
        self.say_nothing_to_train()
        for watch in monitors:
            watch(done, params)
        total = sum(stage[2] for stage in plan)
        if resume is not None and done >= total:
            print(f"{self.model.MODEL}: the checkpoint is at step {done}, {total} steps are asked for: "
                  "nothing to train", file=sys.stderr)
        progress = TrainingProgress(total, log_every, first=done)
        stage, optimizer, end = (resume.stage if resume is not None else 0), None, 0
        try:
            for index, (optimizer_name, lr, count, batch_size) in enumerate(plan):
                begin, end = end, end + count
                if done >= end:
                    continue
                stage, optimizer = index, self.new_optimizer(optimizer_name, lr, p, device)
                if done > begin:  # resumed inside this stage: its optimizer goes on where it was
                    if resume.stage != index:
                        raise self.Refused(f"the checkpoint's optimizer state is of stage {resume.stage + 1}, "
                                           f"step {done} is in stage {index + 1}: not resumed")
                    optimizer = self.restore_optimizer(optimizer, resume.optimizer, p)
                for _ in range(done - begin, count):
                    started = time.perf_counter()
                    batch = self.batch(fields, placed, names, batch_size, rng, dtype, device)
                    batch = self.with_draws(batch, seed, done, dtype, device)
                    updated, value = self.training_step(optimizer, p, batch)
                    if not math.isfinite(value):
                        raise self.diverged(done + 1, value, p, batch)
                    p, done = updated, done + 1
                    if self.last_run["first_step_seconds"] is None:
                        self.last_run["first_step_seconds"] = round(time.perf_counter() - started, 3)
                    losses.append(value)
                    watching = [watch for watch in monitors if done % watch.every == 0]
                    if watching:
                        numpy_params = self.to_numpy(p)
                        for watch in watching:
                            watch(done, numpy_params)
                    progress(done, value)
                    if checkpoints is not None and done % checkpoints.every == 0:
                        self.write_checkpoint(checkpoints, done, stage, p, optimizer, rng, losses, seed, dtype)
        finally:
            progress.close()
        if checkpoints is not None and checkpoints.written != done:
            self.write_checkpoint(checkpoints, done, stage, p, optimizer, rng, losses, seed, dtype, resume)
        batch = self.with_draws(self.to_arrays(self.evaluation_batch(data), dtype, device), seed, done,
                                dtype, device)
        value = self.loss_value(p, batch)
        if not math.isfinite(value):
            raise self.diverged(done, value, p, batch)
        return self.to_numpy(p), value

    def write_checkpoint(self, checkpoints, done, stage, p, optimizer, rng, losses, seed, dtype, resume=None):
        """optimizer: the backend's optimizer of `stage`; None: none made in this run (the
        resumed checkpoint's optimizer state is kept, if any)."""
        if optimizer is not None:
            arrays = self.optimizer_arrays(optimizer, p)
        else:
            arrays = resume.optimizer if resume is not None else {}
        checkpoints.write(done, stage, self.to_numpy(p), arrays, rng.bit_generator.state, losses, seed,
                          self.dtype_name(dtype))

    def observed_terms(self, params, batch, dtype, device="cpu"):
        """The loss terms and observed states (loss_terms) at numpy `params` on the numpy `batch`, as numpy."""
        p, device = self.place_params(params, dtype, device)
        return self.terms(p, self.to_arrays(batch, dtype, device))

    # ---- divergence
    class Diverged(Exception):
        """The training loss stopped being finite; the message says where and why."""

        def __init__(self, message, step):
            super().__init__(message)
            self.step = step

    def diverged(self, step, value, p, batch):
        """The Diverged error for a loss `value` that is not finite at training `step` (1-based),
        at the backend's parameters `p` on the backend's `batch`."""
        return self.diverged_error(step, value, self.terms(p, batch), self.to_numpy(p))

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


def _not_finite(what, array):
    """['  what is nan'] or ['  what: k of n values are not finite'], or [] when all are finite."""
    array = np.asarray(array, dtype=float)
    bad = int(array.size - np.count_nonzero(np.isfinite(array)))
    if not bad:
        return []
    if array.size == 1:
        return [f"  {what} is {array.item()}"]
    return [f"  {what}: {bad} of {array.size} values are not finite"]
