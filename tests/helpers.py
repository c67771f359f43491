"""Shared test helpers: compile a spec and import the emitted module."""
from __future__ import annotations

from pathlib import Path

from sciml.pipeline import compile_spec
from sciml.modules import compile_and_import, import_text

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def zoo_specs(folder: str = "ode") -> list[Path]:
    return sorted((SPECS / folder).glob("*.sciml"))


def compile_file(spec: Path, backend: str) -> str:
    return compile_spec(spec.read_text(), str(spec), backend)


def load_module(text: str, name: str, tmp_path: Path):
    return import_text(text, name, tmp_path)


def compile_and_load(spec: Path, backend: str, tmp_path: Path):
    return compile_and_import(spec, backend, tmp_path)


# A classifier trained on a data file: `DATA_FILE_SPEC.format(file="points.csv")`.
DATA_FILE_SPEC = """
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


def assert_backends_agree(mods: dict, seed: int = 0, rtol: float = 1e-10):
    """The torch and the JAX module of one spec give the same loss and gradients in float64 from
    the same initial weights and batch; (the loss, the torch gradients)."""
    import jax.numpy as jnp
    import numpy as np
    import torch
    params = mods["torch"].init_params(seed)
    batch = mods["torch"].evaluation_batch(mods["torch"].make_data())
    value_t, grads_t = mods["torch"].loss_and_grad(params, batch, torch.float64)
    value_j, grads_j = mods["jax"].loss_and_grad(params, batch, jnp.float64)
    assert value_t > 0 and abs(value_t - value_j) <= rtol * value_t, (value_t, value_j)
    for key in grads_t:
        scale = max(1.0, np.max(np.abs(grads_t[key])))
        assert np.max(np.abs(grads_t[key] - grads_j[key])) <= rtol * scale, key
    return value_t, grads_t
