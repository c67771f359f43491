"""Checkpoints of a training run (--checkpoint DIR, --resume DIR), and files written atomically.

A checkpoint is one file, DIR/MODEL_BACKEND_checkpoint.safetensors (torch) or .npz (JAX): the
parameters (`param.NAME`), the optimizer state of the current stage (`optimizer.KEY`), the loss
of every step so far (`losses`) and, as JSON metadata, the step, the stage, the numpy random
state that draws the mini-batches, the seed, the dtype, the sha256 of the spec's source and the
version of sciml.  Resuming from it continues the run exactly: N/2 steps then N/2 resumed steps
end where N straight steps do.  A checkpoint of another spec (another hash) is refused.

Every file is written whole to a hidden temporary file in the same folder, flushed to disk, then
renamed over the target: a reader sees the old file or the new one, never part of one.
"""
import dataclasses
import io
import json
import os
import pathlib
import sys

import numpy as np


class CheckpointFiles:
    """The checkpoint of the emitted module `model` in `folder`, in format `kind` ('safetensors'
    or 'npz'); `every`: training steps between two writes (the end of training is written too)."""

    LAYOUT = 1  # the version of what a checkpoint holds
    SUFFIXES = {"safetensors": ".safetensors", "npz": ".npz"}

    class Refused(Exception):
        """A checkpoint that cannot be resumed from: missing, unreadable, or of another spec.
        The message is one line."""

    @dataclasses.dataclass(frozen=True)
    class Saved:
        """What a checkpoint holds, as numpy."""
        step: int                 # training steps done
        stage: int                # the index of the stage the optimizer state belongs to
        params: dict              # {name: array}
        optimizer: dict           # {key: array}, the backend's own keys
        rng: dict                 # numpy bit generator state of the mini-batch rng
        losses: list              # the loss of every step so far
        metadata: dict

    def __init__(self, model, folder, every=100, kind="npz"):
        self.model, self.folder, self.every, self.kind = model, pathlib.Path(folder), max(1, every), kind
        self.path = self.folder / f"{model.MODEL}_{model.BACKEND}_checkpoint{self.SUFFIXES[kind]}"
        self.written = None  # the step of the last write

    def missing_package(self):
        """The package this format needs and lacks (None: all there)."""
        if self.kind != "safetensors":
            return None
        try:
            import safetensors.numpy  # noqa: F401
        except ImportError:
            return "safetensors"
        return None

    # ---- writing
    def write(self, step, stage, params, optimizer, rng, losses, seed, dtype):
        """Write the checkpoint of training `step` (atomically)."""
        m = self.model
        metadata = {"layout": self.LAYOUT, "model": m.MODEL, "backend": m.BACKEND, "spec_sha256": m.SPEC_SHA256,
                    "sciml_version": m.SCIML_VERSION, "step": int(step), "stage": int(stage), "seed": seed,
                    "dtype": dtype, "rng": rng, "params": list(params)}
        arrays = {f"param.{name}": value for name, value in params.items()}
        arrays.update({f"optimizer.{key}": value for key, value in optimizer.items()})
        arrays["losses"] = np.asarray(losses, dtype=np.float64)
        arrays = {key: np.require(np.asarray(value), requirements="C") for key, value in arrays.items()}
        self.write_atomically(self.path, self.encode(arrays, json.dumps(metadata, sort_keys=True)))
        self.written = step

    def encode(self, arrays, metadata):
        if self.kind == "safetensors":
            import safetensors.numpy
            return safetensors.numpy.save(arrays, metadata={"sciml": metadata})
        buffer = io.BytesIO()
        np.savez(buffer, __metadata__=np.array(metadata), **arrays)
        return buffer.getvalue()

    @staticmethod
    def write_atomically(path, data):
        """Write the bytes `data` to `path`: whole to a temporary file beside it, then renamed."""
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.urandom(4).hex()}.partial")
        try:
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        try:  # the rename itself on disk too (not on every system)
            folder = os.open(path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(folder)
        except OSError:
            pass
        finally:
            os.close(folder)

    # ---- reading
    def read(self):
        """The Saved checkpoint in the folder; Refused when there is none, it cannot be read, or
        it is of another spec."""
        m = self.model
        if not self.path.is_file():
            raise self.Refused(f"no checkpoint of {m.MODEL} ({m.BACKEND}) in {self.folder} "
                               f"(looked for {self.path.name})")
        try:
            metadata, arrays = self.decode(self.path)
        except Exception as exc:  # a damaged or foreign file: say so in one line
            raise self.Refused(f"{self.path} is not a readable checkpoint ({self.first_line(exc)})") from None
        if metadata.get("spec_sha256") != m.SPEC_SHA256:
            raise self.Refused(f"{self.path} is a checkpoint of another spec (its sha256 "
                               f"{str(metadata.get('spec_sha256'))[:12]}..., this module's {m.SPEC_SHA256[:12]}...): "
                               "not resumed")
        if metadata.get("sciml_version") != m.SCIML_VERSION:
            print(f"{m.MODEL}: note: {self.path.name} was written by sciml {metadata.get('sciml_version')}, "
                  f"this module by sciml {m.SCIML_VERSION}", file=sys.stderr)
        try:
            return self.Saved(step=int(metadata["step"]), stage=int(metadata["stage"]),
                              params={name: arrays[f"param.{name}"] for name in metadata["params"]},
                              optimizer={key[10:]: value for key, value in arrays.items() if key.startswith("optimizer.")},
                              rng=metadata["rng"], losses=arrays["losses"].tolist(), metadata=metadata)
        except (KeyError, TypeError, ValueError) as exc:
            raise self.Refused(f"{self.path} is not a whole checkpoint ({self.first_line(exc)})") from None

    @staticmethod
    def first_line(exc):
        text = str(exc).strip()
        return f"{type(exc).__name__}: {text.splitlines()[0][:200] if text else 'no detail'}"

    def decode(self, path):
        """(metadata, {key: numpy array}) of the file at `path`."""
        if self.kind == "safetensors":
            from safetensors import safe_open
            with safe_open(str(path), framework="np") as file:
                metadata = json.loads((file.metadata() or {})["sciml"])
                return metadata, {key: file.get_tensor(key) for key in file.keys()}
        with np.load(path, allow_pickle=False) as file:
            metadata = json.loads(str(file["__metadata__"]))
            return metadata, {key: file[key] for key in file.files if key != "__metadata__"}
