"""u_taylor through the runtime's Taylor layers (torch: backends/common/taylor_layers_code.py,
sciml/runtime/torch.py TaylorLayer and TaylorInputLayer): the same derivatives as nested autodiff
and as the written-out route, in float64 to 1e-10, and the same weight gradients; the
hand-written backward passes torch.autograd.gradcheck for every kind of stream (first order,
a second derivative, a mixed one, a Laplacian) and every smooth activation; sigma''' as written
is sympy's.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch

from sciml.backends import jax as jax_backend
from sciml.backends import torch as torch_backend
from sciml.backends.common.taylor_autodiff_code import autodiff_function
from sciml.backends.common.taylor_code import Laplacian, activation_derivatives, taylor_function
from sciml.backends.common.taylor_layers_code import (derivative_count, derivatives_function,
                                                      taylor_layers_function, third_derivative)
from sciml.lowering import symbols as S
from sciml.runtime.torch import TaylorInputLayer, TaylorLayer
from test_taylor_derivatives import (ORDERS, SMOOTH, TOLERANCE, WIDTHS, assert_close, explicit, field,
                                     network_lines, points, run, weights)

SPELLING = torch_backend.SPELLING


def compiled(activation, orders=ORDERS, widths=WIDTHS):
    """The namespace with u, u_autodiff, u_plain (every product written out) and u_taylor (the
    layers), as a torch module holds them."""
    net = field(activation, widths)
    count = derivative_count(net, orders, SPELLING)
    assert count == 4 - (max(2 if isinstance(k, Laplacian) else len(k) for k in orders) == 1)
    text = (network_lines(net, SPELLING) + autodiff_function(net, {"u": "u"}, SPELLING, orders, "torch")
            + [""] + taylor_function(net, {"u": "u"}, SPELLING, orders, "u_plain")
            + [""] + derivatives_function(activation, count, f"{activation}_derivatives", SPELLING)
            + [""] + taylor_layers_function(net, {"u": "u"}, SPELLING, orders, "u_taylor",
                                            f"{activation}_derivatives"))
    namespace = {"torch": torch, "TaylorLayer": TaylorLayer, "TaylorInputLayer": TaylorInputLayer}
    exec(compile("\n".join(text), f"<taylor layers {activation}>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("activation", SMOOTH)
@pytest.mark.parametrize("widths", [WIDTHS, (2, 7, 1), (2, 4, 5, 3, 1)], ids=["2-6-5-1", "2-7-1", "2-4-5-3-1"])
def test_layers_equal_autodiff(activation, widths):
    namespace = compiled(activation, widths=widths)
    p, (x, t) = weights(widths), points()
    layers = run("torch", namespace["u_taylor"], p, x, t)
    assert_close(layers, run("torch", namespace["u_autodiff"], p, x, t), list(ORDERS.values()))
    assert_close(layers, run("torch", namespace["u_plain"], p, x, t), list(ORDERS.values()))
    values = dict(zip(ORDERS.values(), layers))
    assert np.max(np.abs(values["u_xt"])) > 1e-5 and np.max(np.abs(values["u_xx"])) > 1e-5  # not vacuous


@pytest.mark.parametrize("activation", SMOOTH)
def test_first_order_layers_equal_autodiff(activation):
    orders = {(): "u", (1,): "u_t", (0,): "u_x"}
    namespace = compiled(activation, orders)
    p, (x, t) = weights(seed=2), points()
    assert_close(run("torch", namespace["u_taylor"], p, x, t), run("torch", namespace["u_autodiff"], p, x, t),
                 list(orders.values()))


@pytest.mark.parametrize("activation", SMOOTH)
def test_weight_gradients_agree(activation):
    """The layers' hand-written backward gives the gradient autograd gives through nested autodiff."""
    namespace = compiled(activation)
    p, (x, t) = weights(seed=6), points()
    X, T = torch.tensor(x), torch.tensor(t)
    grads = []
    for route in ("u_taylor", "u_autodiff", "u_plain"):
        q = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
        u, u_x, u_t, u_xx, u_tt, u_xt, lap, lap_x = namespace[route](q, X, T)
        loss = ((u_t + u * u_x - 0.01 * u_xx) ** 2).mean() + (u_xt * lap).mean() + (u_tt + lap_x).pow(2).mean()
        grads.append(torch.autograd.grad(loss, list(q.values())))
    for layers, autodiff, plain in zip(*grads):
        scale = max(1.0, float(autodiff.abs().max()))
        assert float((layers - autodiff).abs().max()) <= TOLERANCE * scale
        assert float((layers - plain).abs().max()) <= TOLERANCE * scale
    assert max(float(g.abs().max()) for g in grads[0]) > 1e-6


JETS = [((0, 1), (((0, 0),),)),                       # u_x, u_t, u_xx (Burgers)
        ((0, 1), (((0, 1),), ((0, 0), (1, 1)))),      # a mixed pair, a Laplacian
        ((1,), ()),                                    # first order only
        ((0, 2, 1), (((0, 2),), ((1, 1),), ((2, 2), (0, 0))))]


def torch_derivatives(activation, count):
    namespace = {"torch": torch}
    exec("\n".join(derivatives_function(activation, count, "sigma", SPELLING)), namespace)
    return namespace["sigma"]


@pytest.mark.parametrize("activation", SMOOTH)
@pytest.mark.parametrize("jet", JETS, ids=["burgers", "mixed-laplacian", "first-order", "three-inputs"])
def test_gradcheck(activation, jet):
    directions, pairs = jet
    sigma = torch_derivatives(activation, 4 if pairs else 3)
    generator = torch.Generator().manual_seed(len(directions) + 7 * len(pairs))

    def tensor(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.float64).requires_grad_()

    streams = [tensor(4, 6) for _ in range(1 + len(directions) + len(pairs))]
    assert torch.autograd.gradcheck(lambda W, b, *s: TaylorLayer.apply(W, b, *s, sigma, jet),
                                    (tensor(5, 4), tensor(5, 1), *streams))
    assert torch.autograd.gradcheck(lambda W, b, h: TaylorInputLayer.apply(W, b, h, sigma, jet),
                                    (tensor(5, 3), tensor(5, 1), tensor(3, 6)))


def test_third_derivative_is_sympys():
    a, h, slope, curvature = sympy.symbols("a h slope curvature")
    for activation in SMOOTH:
        sigma, first, second = activation_derivatives(activation)
        exact = S.ACTIVATIONS[activation](a)
        first_a = first.xreplace({h: exact})
        second_a = second.xreplace({slope: first_a}).xreplace({h: exact})
        third_a = third_derivative(activation).xreplace({curvature: second_a, slope: first_a}).xreplace({h: exact})
        for value in (-1.3, 0.2, 2.1):
            assert abs(float(explicit(third_a - exact.diff(a, 3)).subs(a, value))) < 1e-13
    assert str(third_derivative("tanh")) == "slope*(4 - 6*slope)"


def test_the_layers_read_one_call_each():
    lines = taylor_layers_function(field("tanh", (2, 20, 20, 20, 1)), {"u": "u"}, SPELLING,
                                   {(): "u", (0,): "u_x", (1,): "u_t", (0, 0): "u_xx"}, "u_taylor",
                                   "tanh_derivatives")
    assert "    jet = ((0, 1), (((0, 0),),))" in lines
    assert "    h1, h1_x, h1_t, h1_xx = TaylorInputLayer.apply(W1, b1, h0, tanh_derivatives, jet)" in lines
    assert ("    h3, h3_x, h3_t, h3_xx = TaylorLayer.apply(W3, b3, h2, h2_x, h2_t, h2_xx, tanh_derivatives, jet)"
            in lines)
    assert lines[-5:] == ["    u = W4 @ h3 + b4", "    u_x = W4 @ h3_x", "    u_t = W4 @ h3_t",
                          "    u_xx = W4 @ h3_xx", "    return u, u_x, u_t, u_xx"]
    assert all(len(line) <= 110 for line in lines)
    long = taylor_layers_function(field("sin"), {"u": "u"}, SPELLING, ORDERS, "u_taylor", "sin_derivatives")
    assert all(len(line) <= 110 for line in long)


def test_where_the_layers_are_not_taken():
    tanh = field("tanh")
    assert derivative_count(tanh, {(): "u", (0,): "u_x"}, jax_backend.SPELLING) == 0   # JAX: XLA fuses
    assert derivative_count(field("tanh", (2, 1)), {(): "u", (0,): "u_x"}, SPELLING) == 0   # affine
    assert derivative_count(field("relu"), {(): "u", (0,): "u_x"}, SPELLING) == 0   # relu'' is no function
    assert derivative_count(tanh, {(): "u"}, SPELLING) == 0                          # nothing to carry
    assert derivative_count(tanh, {(0,): "u_x"}, SPELLING) == 3
    assert derivative_count(tanh, {Laplacian((0, 1)): "lap"}, SPELLING) == 4


def test_the_modules_import_or_paste_the_layers():
    """A torch PINN module imports the classes beside TorchRuntime; --standalone pastes them in
    (sciml/runtime/torch.py is pasted whole); the JAX module writes every product out."""
    from sciml.pipeline import compile_spec
    from test_pinn import small_burgers

    thin = compile_spec(small_burgers(), "burgers.sciml", "torch")
    assert "from sciml.runtime.torch import TaylorInputLayer, TaylorLayer, TorchRuntime" in thin
    assert "TaylorLayer.apply(W2, b2, h1, h1_x, h1_t, h1_xx, tanh_derivatives, jet)" in thin
    alone = compile_spec(small_burgers(), "burgers.sciml", "torch", standalone=True)
    assert "\nclass TaylorLayer(torch.autograd.Function):" in alone and "from sciml" not in alone
    assert "TaylorLayer" not in compile_spec(small_burgers(), "burgers.sciml", "jax")


def test_a_network_of_one_input():
    """u(x): h0 = x itself, one direction, u_xx and the Laplacian over x."""
    from sciml.lowering import ir

    net = ir.Network(name="u", inputs=("x",), widths=(1, 5, 4, 1), activation="softplus", field=True)
    orders = {(): "u", (0,): "u_x", (0, 0): "u_xx", Laplacian((0,)): "lap_u"}
    text = (network_lines(net, SPELLING) + autodiff_function(net, {"u": "u"}, SPELLING, orders, "torch")
            + [""] + derivatives_function("softplus", 4, "softplus_derivatives", SPELLING)
            + [""] + taylor_layers_function(net, {"u": "u"}, SPELLING, orders, "u_taylor", "softplus_derivatives"))
    namespace = {"torch": torch, "TaylorLayer": TaylorLayer, "TaylorInputLayer": TaylorInputLayer}
    exec(compile("\n".join(text), "<one input>", "exec"), namespace)
    p = {k: torch.tensor(v) for k, v in weights((1, 5, 4, 1), seed=9).items()}
    x = torch.tensor(points()[0])
    layers, autodiff = namespace["u_taylor"](p, x), namespace["u_autodiff"](p, x)
    for name, a, b in zip(orders.values(), layers, autodiff):
        assert float((a - b).detach().abs().max()) <= TOLERANCE, name
