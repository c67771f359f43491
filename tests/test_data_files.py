"""Data read from files beside the spec: .npz and .csv give the same fields, and the torch and
JAX modules the same loss; malformed files are positioned errors."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import load_module
from sciml.compiler.diagnostics import SpecError
from sciml.compiler.pipeline import compile_spec

SPEC = """
model from_file
const n = 2, T = 1.0
data train = load "{file}"
state Y : R[n]
param K(t) : R[n, n], b(t) : R[n]
param W : R[2, n], mu : R[2]
ode dt(Y) = -K^T * tanh(K * Y + b)
initial Y(0) = train.x
scheme euler(4, T)
loss cross_entropy(softmax(W * Y(T) + mu), train.label)
train adam(lr = 1e-2, steps = 3)
"""


def write_files(folder):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    label = (x[:, 0] * x[:, 1] > 0).astype(int)
    np.savez(folder / "points.npz", x=x, label=label)
    lines = ["x[1], x[0],label"] + [f"{float(b)!r},{float(a)!r},{int(c)}" for (a, b), c in zip(x, label)]
    (folder / "points.csv").write_text("\n".join(lines) + "\n")  # columns out of order on purpose
    return x, label


def test_npz_and_csv_give_the_same_data_and_loss(tmp_path):
    x, label = write_files(tmp_path)
    losses = []
    for file in ("points.npz", "points.csv"):
        for backend in ("torch", "jax"):
            text = compile_spec(SPEC.format(file=file), str(tmp_path / "spec.sciml"), backend)
            module = load_module(text, f"from_{file.replace('.', '_')}_{backend}", tmp_path)
            data = module.make_data()["train"]
            np.testing.assert_array_equal(data["x"], x.T)   # samples last
            np.testing.assert_array_equal(data["label"], label)
            assert data["label"].dtype.kind == "i"
            losses.append(module.loss_and_grad(module.init_params(0), module.evaluation_batch(module.make_data()))[0])
    assert np.isfinite(losses[0]) and max(losses) - min(losses) <= 1e-12 * abs(losses[0])


@pytest.mark.parametrize("content, message", [
    ("x[0],x[2],label\n1,2,0\n", "numbered 0, 1"),
    ("x,x[0],label\n1,2,0\n", "repeats or mixes"),
    ("x[0],label\n1,zero\n", "not a finite number"),
    ("x[0],label\n", "header row and at least one row"),
    ("x-y,label\n1,0\n", "not a name"),
])
def test_malformed_csv_is_a_positioned_error(tmp_path, content, message):
    (tmp_path / "bad.csv").write_text(content)
    with pytest.raises(SpecError) as info:
        compile_spec(SPEC.format(file="bad.csv"), str(tmp_path / "spec.sciml"), "torch")
    (diagnostic,) = info.value.diagnostics
    assert diagnostic.code == "E506" and message in diagnostic.message
    assert (diagnostic.span.line, diagnostic.span.column) == (4, 1)


def test_the_csv_example_compiles_and_both_backends_agree(tmp_path):
    from helpers import ROOT, compile_and_load
    spec = ROOT / "examples" / "from_csv" / "classifier_from_csv.sciml"
    losses = []
    for backend in ("torch", "jax"):
        module = compile_and_load(spec, backend, tmp_path)
        losses.append(module.loss_and_grad(module.init_params(1), module.evaluation_batch(module.make_data()))[0])
    assert abs(losses[0] - losses[1]) <= 1e-10 * abs(losses[0])
