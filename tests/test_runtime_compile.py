"""--compile (issue 9 item 4): torch.compile of the training step's loss, its compile time in the
JSON result (`compile_seconds`), the same training as eager; where torch.compile is missing or
fails, a message and eager training, never a crash.  JAX accepts the option (its step is
always jax.jit-compiled) and reports its first step's compile time too."""
from __future__ import annotations

import json

import pytest
import torch

from sciml.modules import compile_and_import

SMALL = """\
model small
const n = 2, classes = 2, steps = 2, T = 1.0
data train = generate spirals(samples = 64, seed = 0, noise = 0.02)
state Y : R[n]
param K(t) : R[n, n], b(t) : R[n]
param W : R[classes, n], mu : R[classes]
ode     dt(Y) = -K^T * tanh(K * Y + b)
initial Y(0) = train.x
scheme  euler(steps, T)
loss  cross_entropy(softmax(W * Y(T) + mu), train.label)
train adam(lr = 2e-2, steps = 4, batch = 16)
"""


def _module(tmp_path, backend, name):
    return compile_and_import(tmp_path / "small.sciml", backend, tmp_path, source=SMALL, name=name)


def _main(module, capsys, *args):
    capsys.readouterr()
    module.main(["--steps", "4", "--dtype", "float64", "--json", *args])
    captured = capsys.readouterr()
    return json.loads(captured.out.strip().splitlines()[-1]), captured.err


def test_compiled_training_matches_eager_and_reports_its_compile_time(tmp_path, capsys):
    module = _module(tmp_path, "torch", "small_compiled")
    eager, _ = _main(module, capsys)
    compiled, stderr = _main(module, capsys, "--compile")
    assert compiled["compile"] == "torch.compile", stderr
    assert isinstance(compiled["compile_seconds"], float) and compiled["compile_seconds"] > 0
    assert compiled["loss"] == pytest.approx(eager["loss"], rel=1e-12, abs=0)
    assert "compile" not in eager and "compile_seconds" not in eager


@pytest.mark.parametrize("how", ["raises", "fails_when_called", "missing"])
def test_without_a_working_torch_compile_training_goes_on_eagerly(tmp_path, capsys, monkeypatch, how):
    module = _module(tmp_path, "torch", f"small_fallback_{how}")
    eager, _ = _main(module, capsys)

    def compile_raises(function, **options):
        raise RuntimeError("Python 3.99 is not supported yet\nmore detail")

    def compile_fails_when_called(function, **options):
        def compiled(*args):
            raise OSError("InductorError: no working C++ compiler found")
        return compiled

    if how == "missing":
        monkeypatch.delattr(torch, "compile")
    else:
        monkeypatch.setattr(torch, "compile", compile_raises if how == "raises" else compile_fails_when_called)
    result, stderr = _main(module, capsys, "--compile")
    why = {"raises": "RuntimeError: Python 3.99 is not supported yet", "missing": "this torch has no torch.compile",
           "fails_when_called": "OSError: InductorError: no working C++ compiler found"}[how]
    assert stderr == f"small: --compile: torch.compile is not available here ({why}); training eagerly\n"
    assert result["compile"] == f"eager (torch.compile failed: {why})" and result["compile_seconds"] is None
    assert result["loss"] == eager["loss"]   # the same training, eagerly


def test_jax_accepts_compile_and_reports_the_jit_compile_time(tmp_path, capsys):
    module = _module(tmp_path, "jax", "small_jax_compiled")
    plain, _ = _main(module, capsys)
    result, _ = _main(module, capsys, "--compile")
    assert result["compile"] == "jax.jit" and result["compile_seconds"] >= 0
    assert result["loss"] == plain["loss"]
