"""Taylor-mode input derivatives of a field network (backends/common/taylor_code.py) equal nested
autodiff's (taylor_autodiff_code.py) in float64, in torch and in JAX, and torch equals JAX.

The emitted text is executed as a module would: the network function as model_code writes it,
then `u_taylor` and `u_autodiff`, in one namespace with the weights dict p.  A 3-layer MLP
(2 -> 6 -> 5 -> 1) with random weights and biases, so that every layer rule is exercised: the
first layer's columns of W1, a hidden layer's sigma'' a_i a_j + sigma' a_ij, the affine output.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402

from sciml.backends import jax as jax_backend  # noqa: E402
from sciml.backends import torch as torch_backend  # noqa: E402
from sciml.backends.common.model_code import ModelWriter  # noqa: E402
from sciml.backends.common.taylor_autodiff_code import autodiff_function  # noqa: E402
from sciml.backends.common.taylor_code import (Laplacian, activation_derivatives,  # noqa: E402
                                               taylor_function)
from sciml.lowering import ir  # noqa: E402
from sciml.lowering import symbols as S  # noqa: E402

SMOOTH = ["tanh", "sin", "softplus", "sigmoid"]
WIDTHS = (2, 6, 5, 1)
ORDERS = {(): "u", (0,): "u_x", (1,): "u_t", (0, 0): "u_xx", (1, 1): "u_tt", (1, 0): "u_xt",
          Laplacian((0, 1)): "lap_u", Laplacian((0,)): "lap_x_u"}
TOLERANCE = 1e-10
BACKENDS = {"torch": (torch_backend.SPELLING, {"torch": torch}),
            "jax": (jax_backend.SPELLING, {"jax": jax, "jnp": jnp})}


def field(activation, widths=WIDTHS) -> ir.Network:
    return ir.Network(name="u", inputs=("x", "t"), widths=widths, activation=activation, field=True)


def network_lines(net, spelling) -> list[str]:
    """`def u(p, x0, x1)` as the emitted modules write it (model_code.ModelWriter.networks)."""
    model = ir.Model(name="m", constants=(), datasets=(), states=(), parameters=(), networks=(net,),
                     equations=(), initials=(), scheme=None, loss=sympy.S.Zero, loss_span=None,
                     training=(), reports=(), training_set="")
    return ModelWriter(model, {"u": "u"}, spelling, []).networks()


def weights(widths=WIDTHS, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    p = {}
    for layer, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:]), start=1):
        p[f"u.W{layer}"] = rng.normal(size=(fan_out, fan_in)) / np.sqrt(fan_in)
        p[f"u.b{layer}"] = 0.5 * rng.normal(size=(fan_out, 1))
    return p


def points(n=9, seed=1) -> tuple:
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, size=(1, n)), rng.uniform(0, 1, size=(1, n))


def compiled(backend, activation, orders=ORDERS, widths=WIDTHS):
    """The namespace with u, u_taylor (None where Taylor mode refuses) and u_autodiff."""
    spelling, namespace = BACKENDS[backend]
    namespace = dict(namespace)
    net = field(activation, widths)
    text = network_lines(net, spelling) + autodiff_function(net, {"u": "u"}, spelling, orders, backend)
    if max(2 if isinstance(k, Laplacian) else len(k) for k in orders) <= 2:
        text += [""] + taylor_function(net, {"u": "u"}, spelling, orders)
    exec(compile("\n".join(text), f"<taylor {backend} {activation}>", "exec"), namespace)
    return namespace


def run(backend, function, p, x, t):
    if backend == "torch":
        out = function({k: torch.tensor(v) for k, v in p.items()}, torch.tensor(x), torch.tensor(t))
        return [v.detach().numpy() for v in out]
    out = function({k: jnp.asarray(v) for k, v in p.items()}, jnp.asarray(x), jnp.asarray(t))
    return [np.asarray(v) for v in out]


def assert_close(got, expected, what):
    for name, a, b in zip(what, got, expected):
        assert a.shape == b.shape == (1, 9), (name, a.shape, b.shape)
        error = np.max(np.abs(a - b))
        assert error <= TOLERANCE * max(1.0, np.max(np.abs(b))), f"{name}: {error:.3e}"


@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("activation", SMOOTH)
def test_taylor_equals_autodiff(backend, activation):
    namespace = compiled(backend, activation)
    p, (x, t) = weights(), points()
    taylor = run(backend, namespace["u_taylor"], p, x, t)
    autodiff = run(backend, namespace["u_autodiff"], p, x, t)
    assert_close(taylor, autodiff, list(ORDERS.values()))
    values = dict(zip(ORDERS.values(), taylor))
    assert np.max(np.abs(values["u_xt"])) > 1e-3 and np.max(np.abs(values["u_xx"])) > 1e-3  # not vacuous
    assert np.allclose(values["lap_u"], values["u_xx"] + values["u_tt"], rtol=0, atol=1e-12)
    assert np.allclose(values["lap_x_u"], values["u_xx"], rtol=0, atol=1e-12)


@pytest.mark.parametrize("activation", SMOOTH)
def test_torch_equals_jax(activation):
    p, (x, t) = weights(seed=3), points(seed=4)
    for route in ("u_taylor", "u_autodiff"):
        in_torch = run("torch", compiled("torch", activation)[route], p, x, t)
        in_jax = run("jax", compiled("jax", activation)[route], p, x, t)
        assert_close(in_torch, in_jax, list(ORDERS.values()))


def test_taylor_equals_the_closed_form():
    """One hidden tanh layer by hand: u = w2 tanh(W1 x + b1) + b2, u_xt = w2 (tanh'' W1_x W1_t)."""
    widths = (2, 7, 1)
    p, (x, t) = weights(widths, seed=5), points()
    namespace = compiled("torch", "tanh", widths=widths)
    u, u_x, u_t, u_xx, u_tt, u_xt, lap, lap_x = run("torch", namespace["u_taylor"], p, x, t)
    W1, b1, W2, b2 = p["u.W1"], p["u.b1"], p["u.W2"], p["u.b2"]
    h = np.tanh(W1 @ np.vstack([x, t]) + b1)
    slope, curvature = 1 - h**2, -2 * h * (1 - h**2)
    assert np.allclose(u, W2 @ h + b2, rtol=0, atol=1e-13)
    assert np.allclose(u_t, W2 @ (slope * W1[:, 1:2]), rtol=0, atol=1e-13)
    assert np.allclose(u_xt, W2 @ (curvature * W1[:, 0:1] * W1[:, 1:2]), rtol=0, atol=1e-13)
    assert np.allclose(lap, W2 @ (curvature * (W1[:, 0:1]**2 + W1[:, 1:2]**2)), rtol=0, atol=1e-13)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_weight_gradients_agree(backend):
    """Training differentiates the derivatives in the weights: both routes give the same gradient."""
    namespace = compiled(backend, "tanh")
    p, (x, t) = weights(seed=6), points()

    def residual(route):
        def loss(q):
            u, u_x, u_t, u_xx, _, _, lap, _ = route(q, X, T)
            return (u_t + u * u_x - 0.01 * u_xx).pow(2).mean() + lap.mean() if backend == "torch" \
                else jnp.mean((u_t + u * u_x - 0.01 * u_xx) ** 2) + jnp.mean(lap)
        return loss

    if backend == "torch":
        X, T = torch.tensor(x), torch.tensor(t)
        grads = []
        for route in ("u_taylor", "u_autodiff"):
            q = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
            grads.append(torch.autograd.grad(residual(namespace[route])(q), list(q.values())))
        pairs = [(a.numpy(), b.numpy()) for a, b in zip(*grads)]
    else:
        X, T = jnp.asarray(x), jnp.asarray(t)
        q = {k: jnp.asarray(v) for k, v in p.items()}
        taylor, autodiff = (jax.grad(residual(namespace[r]))(q) for r in ("u_taylor", "u_autodiff"))
        pairs = [(np.asarray(taylor[k]), np.asarray(autodiff[k])) for k in q]
    for a, b in pairs:
        assert np.max(np.abs(a - b)) <= TOLERANCE * max(1.0, np.max(np.abs(b)))
    assert max(np.max(np.abs(a)) for a, _ in pairs) > 1e-6


def test_third_order_by_autodiff_in_both_backends():
    orders = {(0, 0, 1): "u_xxt", (1, 1, 1): "u_ttt"}
    p, (x, t) = weights(seed=7), points()
    in_torch = run("torch", compiled("torch", "sin", orders)["u_autodiff"], p, x, t)
    in_jax = run("jax", compiled("jax", "sin", orders)["u_autodiff"], p, x, t)
    assert_close(in_torch, in_jax, list(orders.values()))
    with pytest.raises(ValueError, match="order 2.*derivatives = autodiff"):
        taylor_function(field("sin"), {"u": "u"}, torch_backend.SPELLING, orders)


def test_relu_at_second_order_is_an_error():
    net = field("relu")
    for write in (lambda o: taylor_function(net, {"u": "u"}, torch_backend.SPELLING, o),
                  lambda o: autodiff_function(net, {"u": "u"}, jax_backend.SPELLING, o, "jax")):
        with pytest.raises(ValueError, match=r"relu.*order 2.*smooth activation"):
            write({(): "u", (0, 0): "u_xx"})
        with pytest.raises(ValueError, match=r"relu"):
            write({Laplacian((0, 1)): "lap_u"})


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_relu_at_first_order_equals_autodiff(backend):
    orders = {(): "u", (0,): "u_x", (1,): "u_t"}
    namespace = compiled(backend, "relu", orders)
    p, (x, t) = weights(seed=8), points()
    taylor = run(backend, namespace["u_taylor"], p, x, t)
    assert_close(taylor, run(backend, namespace["u_autodiff"], p, x, t), list(orders.values()))


def test_one_line_per_layer_quantity():
    lines = taylor_function(field("tanh"), {"u": "u"}, torch_backend.SPELLING, ORDERS)
    assignments = [line.strip().split(" = ")[0] for line in lines if " = " in line and "#" not in line]
    per_hidden_layer = ["a{}", "h{}", "slope{}", "curvature{}", "h{}_x", "h{}_t", "h{}_xx", "h{}_tt",
                        "h{}_xt", "lap_h{}", "lap_x_h{}"]
    for layer in (1, 2):
        for quantity in per_hidden_layer:
            assert assignments.count(quantity.format(layer)) == 1, quantity.format(layer)
    for quantity in ("a2_x", "a2_xt", "lap_a2", "lap_x_a2"):   # W h_i, W h_ij, W lap h
        assert assignments.count(quantity) == 1, quantity
    assert "a1_xt" not in assignments          # h0_ij = 0: nothing written for it
    for name in ORDERS.values():               # the outputs, once each, in the affine last layer
        assert assignments.count(name) == 1
    assert "    h2_xt = curvature2*a2_x*a2_t + slope2*a2_xt" in lines
    assert "    curvature1 = -2*h1*slope1" in lines     # sympy's tanh'' in h and tanh'
    assert lines[-1] == "    return u, u_x, u_t, u_xx, u_tt, u_xt, lap_u, lap_x_u"
    assert all(len(line) <= 110 for line in lines)


def test_only_what_is_asked_is_written():
    lines = taylor_function(field("sin"), {"u": "u"}, torch_backend.SPELLING, {(): "u", (1,): "u_t"})
    body = lines[next(k for k, line in enumerate(lines) if line.endswith('"""')) + 1:]
    text = "\n".join(body)
    assert "curvature" not in text and "_x" not in text and "lap" not in text
    assert lines[-1] == "    return u, u_t"


def test_sympy_derivatives_of_each_activation():
    """sigma' and sigma'' as written (in h = sigma(a) and slope = sigma'(a)) are sympy's."""
    a, h, slope = sympy.symbols("a h slope")
    for activation in SMOOTH:
        sigma, first, second = activation_derivatives(activation)
        exact = S.ACTIVATIONS[activation](a)
        first_a = first.xreplace({h: exact})
        second_a = second.xreplace({slope: first_a}).xreplace({h: exact})
        for value in (-1.3, 0.2, 2.1):
            assert abs(float(explicit(first_a - exact.diff(a)).subs(a, value))) < 1e-14
            assert abs(float(explicit(second_a - exact.diff(a, 2)).subs(a, value))) < 1e-14


def explicit(expr):
    """sigmoid and softplus written out, so that sympy evaluates them at a number."""
    return (expr.replace(S.Sigmoid, lambda z: 1 / (1 + sympy.exp(-z)))
            .replace(S.Softplus, lambda z: sympy.log(1 + sympy.exp(z))))


def test_bad_requests_are_refused():
    net = field("tanh")
    write = lambda o: taylor_function(net, {"u": "u"}, torch_backend.SPELLING, o)  # noqa: E731
    with pytest.raises(ValueError, match="2 inputs"):
        write({(2,): "u_z"})
    with pytest.raises(ValueError, match="each quantity once"):
        write({(0, 1): "u_xt", (1, 0): "u_tx"})
    with pytest.raises(ValueError, match="not a name"):
        write({(0,): "u x"})
    with pytest.raises(ValueError, match="'h1' names a quantity"):
        write({(0,): "h1"})


def test_inputs_named_like_the_layer_quantities():
    """A coordinate named a1 or h0 is renamed in the function, and the derivatives still agree."""
    net = ir.Network(name="u", inputs=("a1", "h0"), widths=WIDTHS, activation="tanh", field=True)
    spelling, namespace = BACKENDS["torch"]
    namespace = dict(namespace)
    orders = {(0, 1): "u_xy", Laplacian((0, 1)): "lap"}
    taylor = taylor_function(net, {"u": "u"}, spelling, orders)
    assert taylor[0] == "def u_taylor(p, in_x0, in_x1):"
    text = network_lines(net, spelling) + autodiff_function(net, {"u": "u"}, spelling, orders, "torch")
    exec("\n".join(text + [""] + taylor), namespace)
    p, (x, t) = weights(), points()
    assert_close(run("torch", namespace["u_taylor"], p, x, t), run("torch", namespace["u_autodiff"], p, x, t),
                 ["u_xy", "lap"])
