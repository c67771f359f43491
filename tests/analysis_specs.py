"""Small specs for the analysis tests: one state (or a pair), one equation, one scheme."""
from __future__ import annotations

from sciml.frontend.diagnostics import SpecError
from sciml.pipeline import front_end

ONE_STATE = """model m
const n = 2, gamma = 0.1, steps = {steps}, T = 1.0{consts}
data train = generate two_moons(samples = 100, seed = 0)
state Y : R[n]
param K(t) : R[n, n], b(t) : R[n]{params}
param W : R[2, n], mu : R[2]
ode     {lhs} = {rhs}
initial Y(0) = train.x{initial}
scheme  {scheme}(steps, T{options})
loss   cross_entropy(softmax(W * Y(T) + mu), train.label){loss}
train  adam(lr = 1e-2, steps = 10, batch = 32)
"""

PAIR = """model m
const n = 2, steps = {steps}, T = 1.0
data train = generate two_moons(samples = 100, seed = 0)
state Y : R[n], Z : R[n]
param K1(t) : R[n, n], b1(t) : R[n], K2(t) : R[n, n], b2(t) : R[n]
param W : R[2, n], mu : R[2]
ode     dt(Y) = {f}
ode     dt(Z) = {g}
initial Y(0) = train.x, Z(0) = 0
scheme  {scheme}(steps, T)
loss   cross_entropy(softmax(W * Y(T) + mu), train.label)
train  adam(lr = 1e-2, steps = 10, batch = 32)
"""


def one_state(rhs, scheme="euler", steps=10, consts="", params="", second_order=False,
              options="", loss=""):
    return ONE_STATE.format(
        rhs=rhs, scheme=scheme, steps=steps, consts=consts, params=params, options=options,
        lhs="dt(dt(Y))" if second_order else "dt(Y)", loss=loss,
        initial=", dt(Y)(0) = 0" if second_order else "")


def pair(f, g, scheme="verlet", steps=10):
    return PAIR.format(f=f, g=g, scheme=scheme, steps=steps)


def findings(source, allow_unstable=True):
    """Every finding of `source` (errors included: a SpecError's diagnostics)."""
    try:
        return front_end(source, "spec.sciml", allow_unstable=allow_unstable)[2]
    except SpecError as exc:
        return exc.diagnostics


def by_code(items, prefix):
    return [d for d in items if d.code.startswith(prefix)]


def data(d):
    return dict(d.data)
