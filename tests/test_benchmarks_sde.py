"""The agreement checks of benchmarks/bsde_step.py and benchmarks/sde_step.py hold: in float64 at
the initial weights, on the same Brownian increments, the deep BSDE written by hand (torch and JAX)
and the neural SDE solved by diffrax (and torchsde, where it is installed: the bench extra) give the
emitted modules' loss to 1e-12 and their gradients to 1e-9.  The scripts assert it themselves (in
`agreement`); this keeps the benchmarks from drifting away from the emitted code unnoticed.
Cheap: a few float64 evaluations, no timing."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("torch")
pytest.importorskip("jax")
pytest.importorskip("diffrax")


def script(name):
    path = ROOT / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_deep_bsde_by_hand_agrees_with_the_emitted_modules(tmp_path):
    bsde = script("bsde_step")
    problem = bsde.Problem(tmp_path, batches=1)
    rows = bsde.agreement(problem, [("torch", "torch functional"), ("jax", "jax scan")])
    labels = [row[0] for row in rows]
    assert labels[:2] == ["emitted torch", "emitted jax (against emitted torch)"]
    assert all(loss <= 1e-12 and grads <= 1e-9 for _, _, loss, grads in rows)


def test_neural_sde_libraries_agree_with_the_emitted_modules(tmp_path):
    sde = script("sde_step")
    problem = sde.Problem(tmp_path, batches=1)
    if importlib.util.find_spec("torchsde") is not None:
        rows = sde.agreement(problem, ["diffrax"])   # asserts torchsde and diffrax against the emitted modules
        assert [row[0] for row in rows][2:] == ["torchsde (the emitted increments)", "diffrax (the emitted increments)"]
        return
    value, grads = sde.diffrax_gradients(problem, "diffrax")   # without the bench extra: diffrax alone
    reference, reference_grads = problem.module("jax").loss_and_grad(problem.params, problem.batch(0))
    assert abs(value - reference) <= 1e-12 * abs(reference)
    for name, grad in reference_grads.items():
        assert abs(grads[name] - grad).max() <= 1e-9 * abs(grad).max(), name
