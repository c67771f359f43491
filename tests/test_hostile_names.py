"""Hostile identifiers compile to code that runs and gives the same loss as plain names."""
import numpy as np
import pytest

from helpers import load_module
from sciml.pipeline import compile_spec

SPEC = """
model hostile
const {n} = 2, {steps} = 4, T = 1.0
data {train} = generate spirals(samples = 64, seed = 0)
state {Y} : R[{n}]
param {K}(t) : R[{n}, {n}], {b}(t) : R[{n}]
param {W} : R[2, {n}], {mu} : R[2]
ode     dt({Y}) = tanh({K} * {Y} + {b})
initial {Y}(0) = {train}.x
scheme  rk4({steps}, T)
loss    cross_entropy(softmax({W} * {Y}(T) + {mu}), {train}.label)
train   adam(lr = 1e-2, steps = 2, batch = 0)
"""
PLAIN = dict(n="n", steps="steps", train="train", Y="Y", K="K", b="b", W="W", mu="mu")
HOSTILE = dict(n="lambda", steps="import", train="self", Y="torch", K="jnp", b="print",
               W="__import__", mu="\u0430")  # the last is a Cyrillic a
# names shaped like the ones the emitted code derives (stage slopes, rhs functions, results)
DERIVED = dict(n="k1", steps="h", train="batch", Y="q", K="k1_q", b="dq_dt", W="q_T", mu="trajectory")


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_hostile_names_give_the_same_loss(backend, tmp_path):
    losses = []
    for label, names in (("plain", PLAIN), ("hostile", HOSTILE), ("derived", DERIVED)):
        text = compile_spec(SPEC.format(**names), "hostile.sciml", backend)
        module = load_module(text, f"{label}_{backend}", tmp_path)
        params = module.init_params(0)
        batch = module.evaluation_batch(module.make_data())
        losses.append(module.loss_and_grad(params, batch)[0])
    assert np.isfinite(losses[0]) and losses[0] == losses[1] == losses[2]


FILE_SPEC = """
model hostile_file
const {n} = 2, T = 1.0
data {train} = load "points.csv"
state {Y} : R[{n}]
param {K} : R[{n}, {n}], {b} : R[{n}]
param {W} : R[2, {n}], {mu} : R[2]
ode     dt({Y}) = tanh({K} * {Y} + {b})
initial {Y}(0) = {train}.x
scheme  euler(4, T)
loss    cross_entropy(softmax({W} * {Y}(T) + {mu}), {train}.label)
train   adam(lr = 1e-2, steps = 2, batch = 0)
"""
# the names that the data-file code of a module defines or imports
FILE_NAMES = dict(n="csv", train="os", Y="DataError", K="data_path", b="SPEC_FOLDER", W="data_dir",
                  mu="data_values")


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_names_of_the_data_file_code_are_safe(backend, tmp_path):
    rng = np.random.default_rng(0)
    rows = "".join(f"{float(a)!r},{float(c)!r},{int(a > 0)}\n" for a, c in rng.normal(size=(16, 2)))
    (tmp_path / "points.csv").write_text("x[0],x[1],label\n" + rows)
    losses = []
    for label, names in (("plain", PLAIN), ("file", FILE_NAMES)):
        text = compile_spec(FILE_SPEC.format(**{**PLAIN, **names}), str(tmp_path / "spec.sciml"), backend)
        module = load_module(text, f"{label}_file_{backend}", tmp_path)
        losses.append(module.loss_and_grad(module.init_params(0), module.evaluation_batch(module.make_data()))[0])
    assert np.isfinite(losses[0]) and losses[0] == losses[1]
