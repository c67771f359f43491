"""The divergence stop (issue 8): a loss that stops being finite ends the run at that step with a
message naming the step, the loss term, the state, and the stability finding of `sciml check`
that predicted it; nothing is saved; exit status 3; the JSON result says "diverged".

The spec: linear decay at a learned rate a^2, whose initial a (about 10^16) breaks forward
Euler's bound h <= 2/a^2 (A202) by a factor of 10^31: the state grows past float64's range
in 10 steps, on both backends.
"""
from __future__ import annotations

import json
import re

import pytest

from sciml.pipeline import compile_spec
from sciml.modules import import_text

DECAY = """\
# linear decay at a learned rate a^2; the initial a breaks forward Euler's bound h <= 2/a^2
model decay

const n = 2, steps = 10, T = 1.0
data train = generate spirals(samples = 16, seed = 0, noise = 0.02)

state Y : R[n]
param a : R ~ normal({mean}, 1)

ode     dt(Y) = -a^2 * Y
initial Y(0) = train.x
scheme  euler(steps, T)

loss  mse(Y(T), train.x) + 1e-3 * a^2
train adam(lr = 1e-2, steps = 5)
"""


def _module(tmp_path, backend, mean):
    text = compile_spec(DECAY.format(mean=mean), str(tmp_path / "decay.sciml"), backend)
    return import_text(text, f"decay_{backend}_{str(mean).replace('.', '_')}", tmp_path)


def _main(module, capsys, *args):
    with pytest.raises(SystemExit) as stop:
        module.main(["--steps", "3", "--dtype", "float64", "--json", *args])
    captured = capsys.readouterr()
    return stop.value.code, captured.out, captured.err


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_a_run_that_diverges_stops_and_says_why(tmp_path, capsys, backend):
    module = _module(tmp_path, backend, 1e16)
    out = tmp_path / "out"
    status, stdout, stderr = _main(module, capsys, "--out", str(out))
    assert status == 3
    result = json.loads(stdout)
    assert result["status"] == "diverged" and result["step"] == 1
    message = result["message"]
    assert message.startswith("training diverged at step 1: the loss is ")
    assert "loss term mse(Y(T), train.x) is " in message          # the term, as written
    assert re.search(r"\n  state Y\(t = 1\): [1-9]\d* of 32 values are not finite\n", message)
    assert "predicted by sciml check (A202): h <= 2/a^2 fails with these weights" in message
    assert "h = 0.1" in message
    assert message in stderr and "Traceback" not in stderr
    assert not out.exists()                                        # nothing partial written


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_both_backends_say_the_same(tmp_path, capsys, backend):
    module = _module(tmp_path, backend, 1e16)
    params = module.init_params(0)
    batch = module.make_data()["train"]
    with pytest.raises(module.Diverged) as caught:
        module.train(params, module.make_data(), steps=2)
    reference = _module(tmp_path, "torch" if backend == "jax" else "jax", 1e16)
    with pytest.raises(reference.Diverged) as other:
        reference.train(params, reference.make_data(), steps=2)
    assert str(caught.value) == str(other.value)
    assert batch["x"].shape == (2, 16)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_a_run_within_the_bound_trains(tmp_path, capsys, backend):
    module = _module(tmp_path, backend, 0.5)
    out = tmp_path / "out"
    module.main(["--steps", "3", "--dtype", "float64", "--json", "--out", str(out)])
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "ok" and result["steps"] == 3
    assert any(out.iterdir())
