"""Checkpoints (--checkpoint DIR, --checkpoint-every N, --resume DIR), issue 9 item 4: what a
checkpoint holds, that it is written atomically, that N/2 steps and N/2 resumed steps end
exactly where N straight steps do (float64, both backends, across the stage boundary of a
two-stage adam-then-sgd run on mini-batches), and that a checkpoint of another spec is refused
in one line with exit status 2."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import sciml
from helpers import ROOT, SPECS
from sciml.modules import compile_and_import
from sciml.runtime.checkpoint import CheckpointFiles

# Two stages (Adam, then SGD), mini-batches of 16 of 64 samples: the random state, the stage
# and Adam's moments all have to be carried over for a resumed run to end where a straight one does.
TWO_STAGES = """\
model two_stages

const n = 2, classes = 2, steps = 3, T = 1.0
data train = generate spirals(samples = 64, seed = 0, noise = 0.02)

state Y : R[n]
param K(t) : R[n, n], b(t) : R[n]
param W : R[classes, n], mu : R[classes]

ode     dt(Y) = -K^T * tanh(K * Y + b)
initial Y(0) = train.x
scheme  euler(steps, T)

loss  cross_entropy(softmax(W * Y(T) + mu), train.label)
train adam(lr = {lr}, steps = 4, batch = 16) then sgd(lr = 5e-2, steps = 4, batch = 16)
"""
SUFFIX = {"torch": "safetensors", "jax": "npz"}


def _module(tmp_path, backend, lr="2e-2", name=None):
    source = TWO_STAGES.format(lr=lr)
    module = compile_and_import(tmp_path / "two_stages.sciml", backend, tmp_path, source=source,
                                name=name or f"two_stages_{backend}")
    return module, source


def _main(module, capsys, *args):
    """(exit status, the JSON result or None, stderr) of module.main with args, in-process."""
    capsys.readouterr()
    status = 0
    try:
        module.main(["--dtype", "float64", "--json", *args])
    except SystemExit as stop:
        status = stop.code
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    return status, (json.loads(lines[-1]) if lines else None), captured.err


def _params(folder, module):
    with np.load(folder / f"{module.MODEL}_{module.BACKEND}_params.npz") as file:
        return {name: file[name] for name in file.files}


@pytest.mark.parametrize("half", [3, 4, 6], ids=["inside_adam", "at_the_stage_boundary", "inside_sgd"])
@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_half_then_resumed_half_ends_where_the_straight_run_does(tmp_path, capsys, backend, half):
    module, _ = _module(tmp_path, backend)
    straight, first, second, saved = (tmp_path / name for name in ("straight", "first", "second", "saved"))
    status, whole, _ = _main(module, capsys, "--steps", "8", "--out", str(straight))
    assert status == 0 and whole["steps"] == 8
    status, part, _ = _main(module, capsys, "--steps", str(half), "--out", str(first), "--checkpoint", str(saved))
    assert status == 0 and part["loss"] != whole["loss"]
    status, resumed, _ = _main(module, capsys, "--steps", "8", "--resume", str(saved), "--out", str(second))
    assert status == 0 and resumed["resumed_from"] == half
    assert resumed["loss"] == whole["loss"] and resumed["reports"] == whole["reports"]
    expected, got = _params(straight, module), _params(second, module)
    assert sorted(expected) == sorted(got)
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_resuming_needs_the_random_state_and_the_optimizer_state(tmp_path, backend):
    """The test above can fail: a resumed run with other mini-batch draws, or without Adam's
    moments, does not end where the straight run does."""
    module, _ = _module(tmp_path, backend)
    data, dtype = module.make_data(), module._runtime.DTYPES["float64"]
    files = CheckpointFiles(module, tmp_path / "c", kind=SUFFIX[backend])
    _, straight = module.train(module.init_params(0), data, 8, 0, "cpu", dtype, log_every=0)
    module.train(module.init_params(0), data, 3, 0, "cpu", dtype, log_every=0, checkpoints=files)
    saved = files.read()
    assert module.train(None, data, 8, 0, "cpu", dtype, log_every=0, resume=saved)[1] == straight
    other_draws = dataclasses.replace(saved, rng=np.random.default_rng(1).bit_generator.state)
    assert module.train(None, data, 8, 0, "cpu", dtype, log_every=0, resume=other_draws)[1] != straight
    no_moments = dataclasses.replace(saved, optimizer={})
    if backend == "torch":   # an empty state dict: a fresh Adam
        assert module.train(None, data, 8, 0, "cpu", dtype, log_every=0, resume=no_moments)[1] != straight
    else:                    # the optax state has a fixed tree: refused
        with pytest.raises(module._runtime.Refused, match="optimizer state has 0 arrays"):
            module.train(None, data, 8, 0, "cpu", dtype, log_every=0, resume=no_moments)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_resuming_past_the_steps_asked_for_trains_nothing_and_keeps_the_optimizer_state(tmp_path, capsys, backend):
    module, _ = _module(tmp_path, backend)
    data, dtype = module.make_data(), module._runtime.DTYPES["float64"]
    files = CheckpointFiles(module, tmp_path / "c", kind=SUFFIX[backend])
    _, straight = module.train(module.init_params(0), data, 8, 0, "cpu", dtype, log_every=0)
    module.train(module.init_params(0), data, 3, 0, "cpu", dtype, log_every=0, checkpoints=files)
    capsys.readouterr()
    again = CheckpointFiles(module, tmp_path / "c", kind=SUFFIX[backend])
    module.train(None, data, 2, 0, "cpu", dtype, log_every=0, resume=files.read(), checkpoints=again)
    assert "the checkpoint is at step 3, 2 steps are asked for: nothing to train" in capsys.readouterr().err
    rewritten = again.read()
    assert rewritten.step == 3 and rewritten.optimizer.keys() == files.read().optimizer.keys() != set()
    assert module.train(None, data, 8, 0, "cpu", dtype, log_every=0, resume=rewritten)[1] == straight


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_a_checkpoint_holds_parameters_optimizer_random_state_step_and_the_spec_hash(tmp_path, capsys, backend):
    module, source = _module(tmp_path, backend)
    folder = tmp_path / "saved"
    status, result, _ = _main(module, capsys, "--steps", "6", "--checkpoint", str(folder), "--out", str(tmp_path))
    assert status == 0
    path = folder / f"two_stages_{backend}_checkpoint.{SUFFIX[backend]}"
    assert result["checkpoint"] == str(path) and sorted(os.listdir(folder)) == [path.name]   # no leftovers
    head = path.read_bytes()[:8]
    if backend == "torch":   # safetensors: a little-endian header length, then the JSON header
        assert path.read_bytes()[8:9] == b"{" and int.from_bytes(head, "little") < 1 << 20
    else:
        assert head[:2] == b"PK"   # npz: a zip file
    assert module.SPEC_SHA256 == hashlib.sha256(source.encode()).hexdigest()
    assert module.SCIML_VERSION == sciml.__version__
    saved = CheckpointFiles(module, folder, kind=SUFFIX[backend]).read()
    meta = saved.metadata
    assert (meta["spec_sha256"], meta["sciml_version"], meta["model"], meta["backend"]) == \
        (module.SPEC_SHA256, sciml.__version__, "two_stages", backend)
    assert (saved.step, saved.stage, meta["seed"], meta["dtype"]) == (6, 1, 0, "float64")
    rng = np.random.default_rng(0)   # six mini-batches of 16 of the 64 samples drawn
    for _ in range(6):
        rng.choice(64, 16, replace=False)
    assert saved.rng == rng.bit_generator.state
    trained = _params(tmp_path, module)
    assert sorted(saved.params) == sorted(trained)
    for name in trained:
        np.testing.assert_array_equal(saved.params[name], trained[name])
    assert len(saved.losses) == 6 and all(np.isfinite(saved.losses))
    assert saved.optimizer == {}   # plain SGD keeps no state (torch: a None buffer; optax: empty states)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_adam_state_is_in_the_checkpoint_inside_the_first_stage(tmp_path, backend):
    module, _ = _module(tmp_path, backend)
    files = CheckpointFiles(module, tmp_path, kind=SUFFIX[backend])
    module.train(module.init_params(0), module.make_data(), 3, 0, "cpu", module._runtime.DTYPES["float64"],
                 log_every=0, checkpoints=files)
    saved = files.read()
    assert saved.step == 3 and saved.stage == 0
    moments = [value for value in saved.optimizer.values() if value.shape == saved.params["W"].shape]
    assert len(moments) == 2 and all(np.any(value != 0) for value in moments)   # Adam's first and second moments of W
    steps = [value for value in saved.optimizer.values() if value.size == 1]
    assert steps and all(float(value.reshape(())) == 3 for value in steps)       # its step count


def test_checkpoints_are_written_every_n_steps_and_at_the_end(tmp_path, capsys, monkeypatch):
    module, _ = _module(tmp_path, "torch")
    written = []
    real = CheckpointFiles.write

    def spy(self, step, *rest):
        written.append(step)
        return real(self, step, *rest)

    monkeypatch.setattr(CheckpointFiles, "write", spy)
    status, _, _ = _main(module, capsys, "--steps", "7", "--checkpoint", str(tmp_path / "c"), "--checkpoint-every", "3")
    assert status == 0 and written == [3, 6, 7]
    written.clear()
    _main(module, capsys, "--steps", "6", "--checkpoint", str(tmp_path / "c"), "--checkpoint-every", "3")
    assert written == [3, 6]   # the end is not written twice


def test_a_checkpoint_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    target = tmp_path / "file.bin"
    CheckpointFiles.write_atomically(target, b"old contents")

    def broken_fsync(descriptor):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        CheckpointFiles.write_atomically(target, b"new contents that never fully arrive")
    assert target.read_bytes() == b"old contents" and os.listdir(tmp_path) == ["file.bin"]   # no partial file
    monkeypatch.undo()
    CheckpointFiles.write_atomically(target, b"new contents")
    assert target.read_bytes() == b"new contents" and os.listdir(tmp_path) == ["file.bin"]


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_a_checkpoint_of_another_spec_is_refused_in_one_line(tmp_path, capsys, backend):
    module, _ = _module(tmp_path, backend)
    other, _ = _module(tmp_path, backend, lr="3e-2", name=f"two_stages_other_{backend}")   # same model name, other spec
    assert other.SPEC_SHA256 != module.SPEC_SHA256
    folder = tmp_path / "saved"
    assert _main(other, capsys, "--steps", "2", "--checkpoint", str(folder))[0] == 0
    status, result, stderr = _main(module, capsys, "--steps", "4", "--resume", str(folder))
    assert status == 2 and result is None
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    assert stderr.startswith("two_stages: error: ") and "is a checkpoint of another spec" in stderr
    assert other.SPEC_SHA256[:12] in stderr and module.SPEC_SHA256[:12] in stderr
    status, _, stderr = _main(module, capsys, "--resume", str(tmp_path / "nothing here"))
    assert status == 2 and "no checkpoint of two_stages" in stderr and stderr.count("\n") == 1
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / f"two_stages_{backend}_checkpoint.{SUFFIX[backend]}").write_bytes(b"\x00" * 40)
    status, _, stderr = _main(module, capsys, "--resume", str(damaged))
    assert status == 2 and "is not a readable checkpoint" in stderr and stderr.count("\n") == 1


def test_refused_checkpoint_from_the_command_line_exits_2_without_a_traceback(tmp_path, capsys):
    module, _ = _module(tmp_path, "torch")
    other, _ = _module(tmp_path, "torch", lr="3e-2", name="two_stages_other_cli")
    folder = tmp_path / "saved"
    assert _main(other, capsys, "--steps", "2", "--checkpoint", str(folder))[0] == 0
    done = subprocess.run([sys.executable, module.__file__, "--steps", "4", "--resume", str(folder)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().count("\n") == 0 and "another spec" in done.stderr and "Traceback" not in done.stderr


def test_without_safetensors_checkpoint_says_what_to_install(tmp_path, capsys, monkeypatch):
    module, _ = _module(tmp_path, "torch")
    monkeypatch.setitem(sys.modules, "safetensors", None)   # import safetensors raises ImportError
    status, result, stderr = _main(module, capsys, "--steps", "2", "--checkpoint", str(tmp_path / "c"))
    assert status == 2 and result is None and not (tmp_path / "c").exists()
    assert "--checkpoint needs the safetensors package" in stderr and "pip install safetensors" in stderr


def test_sciml_run_passes_checkpoint_and_resume_on(tmp_path):
    """`sciml run` compiles to a new temporary module each time; the spec's hash is the same, so
    a later `sciml run --resume` continues the earlier run."""
    spec = str(SPECS / "ode" / "resnet.sciml")

    def run(*args):
        done = subprocess.run([sys.executable, "-m", "sciml", "run", spec, "--backend", "torch", "--dtype", "float64",
                               "--json", *args], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(
                                  filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))})
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    first = run("--steps", "2", "--checkpoint", "saved", "--checkpoint-every", "1")
    assert first["checkpoint"] == "saved/resnet_torch_checkpoint.safetensors"
    resumed = run("--steps", "4", "--resume", "saved")
    assert resumed["resumed_from"] == 2 and resumed["loss"] == run("--steps", "4")["loss"]
