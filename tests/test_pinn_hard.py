"""Hard conditions (issue 10, item 1): `with enforce = hard` builds the field as u = G + D N
(pinn_ansatz.py).  The conditions hold to rounding at any weights, the Taylor route's product
rule equals nested autodiff of the emitted field in float64 in both backends, torch equals JAX,
and a condition that cannot be hard is an error at its line."""
from __future__ import annotations

import numpy as np
import pytest

from sciml import pipeline
from sciml.frontend.diagnostics import SpecError
from sciml.modules import compile_and_import

torch = pytest.importorskip("torch")
pytest.importorskip("jax")

BURGERS = """model burgers_hard : pinn
const nu = 0.01 / pi
domain x in [-1, 1], t in [0, 1]
net u(x, t) = mlp(2 -> 8 -> 8 -> 1, tanh)
pde      dt(u) + u * d(u, x) - nu * d(u, x, x) = 0
initial  u(x, 0) = -sin(pi * x)            with enforce = hard
boundary u(-1, t) = 0, u(1, t) = 0         with enforce = hard
scheme collocation(interior = sobol(64){route})
loss   residual
train  adam(lr = 1e-2, steps = 20)
"""

# a box in 2-D with data that differ face by face (compatible at the corners), one face soft
POISSON = """model poisson_hard : pinn
domain x in [0, 1], y in [0, 2]
net u(x, y) = mlp(2 -> 8 -> 8 -> 1, tanh)
pde      -lap(u) = 1
boundary u(0, y) = y, u(1, y) = y + 1, u(x, 0) = x   with enforce = hard
boundary u(x, 2) = x + 2                               with points = 16
scheme collocation(interior = sobol(64){route})
loss   residual + fit(boundary)
train  adam(lr = 1e-2, steps = 20)
"""


def module(text, name, backend="torch", route=""):
    return compile_and_import(f"{name}.sciml", backend, source=text.format(route=route),
                              name=f"{name}_{backend}_{'autodiff' if route else 'taylor'}")


def test_the_conditions_hold_exactly_at_any_weights():
    mod = module(BURGERS, "burgers_hard")
    p = {k: torch.as_tensor(v) for k, v in mod.init_params(4).items()}
    s = torch.linspace(-1, 1, 41, dtype=torch.float64)[None, :]
    ones = torch.ones_like(s)
    assert torch.max(torch.abs(mod.u(p, -ones, (s + 1) / 2))) < 1e-15
    assert torch.max(torch.abs(mod.u(p, ones, (s + 1) / 2))) < 1e-15
    assert torch.max(torch.abs(mod.u(p, s, 0 * s) + torch.sin(np.pi * s))) < 1e-15
    assert torch.max(torch.abs(mod.u(p, s, 0.5 * ones) + torch.sin(np.pi * s))) > 1e-3   # N is used
    text = pipeline.compile_spec(BURGERS.format(route=""), "b.sciml", "torch")
    assert "def fit_initial" not in text and "initial_t_0" not in text   # no points, no penalty
    assert "    return -1 / 4*t*(x - 1)*(x + 1)*u_net(p, x, t) - torch.sin(np.pi*x)" in text


def test_the_2d_box_interpolates_every_hard_face():
    mod = module(POISSON, "poisson_hard")
    p = {k: torch.as_tensor(v) for k, v in mod.init_params(2).items()}
    s = torch.linspace(0, 1, 21, dtype=torch.float64)[None, :]
    zero, one = torch.zeros_like(s), torch.ones_like(s)
    assert torch.max(torch.abs(mod.u(p, zero, 2 * s) - 2 * s)) < 1e-14
    assert torch.max(torch.abs(mod.u(p, one, 2 * s) - (2 * s + 1))) < 1e-14
    assert torch.max(torch.abs(mod.u(p, s, zero) - s)) < 1e-14
    assert torch.max(torch.abs(mod.u(p, s, 2 * one) - (s + 2))) > 1e-3   # the soft face is free
    assert list(mod.POINT_SETS) == ["interior", "boundary_y_2"]


@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("spec", [BURGERS, POISSON], ids=["burgers", "poisson"])
def test_the_product_rule_equals_nested_autodiff(spec, backend):
    import jax.numpy as jnp
    name = spec.split()[1]
    taylor, autodiff = (module(spec, f"{name}_routes", backend, route) for route in ("", ", derivatives = autodiff"))
    batch = taylor.draw_batch(1, 0)
    dtype = torch.float64 if backend == "torch" else jnp.float64
    params = taylor.init_params(0)
    (value_t, grads_t), (value_a, grads_a) = (m.loss_and_grad(params, batch, dtype) for m in (taylor, autodiff))
    assert value_t > 1e-6 and abs(value_t - value_a) <= 1e-10 * value_t
    for key in grads_t:
        scale = max(1.0, np.max(np.abs(grads_t[key])))
        assert np.max(np.abs(grads_t[key] - grads_a[key])) <= 1e-10 * scale, key


def test_torch_equals_jax_and_training_lowers_the_loss():
    import jax.numpy as jnp
    mods = {b: module(BURGERS, "burgers_hard_agree", b) for b in ("torch", "jax")}
    batch, params = mods["torch"].draw_batch(0, 0), mods["torch"].init_params(0)
    value_t, grads_t = mods["torch"].loss_and_grad(params, batch, torch.float64)
    value_j, grads_j = mods["jax"].loss_and_grad(params, batch, jnp.float64)
    assert abs(value_t - value_j) <= 1e-10 * value_t
    for key in grads_t:
        assert np.max(np.abs(grads_t[key] - grads_j[key])) <= 1e-10 * max(1.0, np.max(np.abs(grads_t[key])))
    losses = []
    mods["torch"].train(params, {}, steps=20, seed=0, log_every=0, losses=losses)
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("change, code, line", [
    ("boundary u(-1, t) = 0, u(1, t) = 0         with enforce = hard",
     "boundary d(u, x)(-1, t) = 0, u(1, t) = 0         with enforce = hard", 7),
    ("with enforce = hard\nboundary", "with enforce = hard, points = 10\nboundary", 6),
    ("loss   residual", "loss   residual + fit(boundary)", 9),
    ("with enforce = hard\nboundary", "with enforce = firm\nboundary", 6),
])
def test_a_condition_that_cannot_be_hard_is_an_error(change, code, line):
    source = BURGERS.format(route="").replace(change, code)
    assert code in source
    with pytest.raises(SpecError) as caught:
        pipeline.front_end(source, "m.sciml")
    (found,) = caught.value.diagnostics
    assert found.code in ("E267", "E254") and found.span.line == line, found
