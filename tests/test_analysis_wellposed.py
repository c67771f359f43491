"""Deliverable 4 of issue 3: well-posedness findings that are not lowering errors (A3xx), and
the activation-smoothness machinery."""
import sympy

from analysis_specs import by_code, data, findings, one_state
from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.analysis.wellposed import rough_functions

x, y, b = sympy.symbols("x y b")


def net(name, activation):
    return ir.Network(name=name, inputs=("x",), widths=(1, 8, 1), activation=activation)


# -- smoothness ----------------------------------------------------------------------------------

def test_relu_has_a_first_but_no_second_derivative():
    expr = S.Relu(2 * x + b)
    assert rough_functions(expr, 1, [x]) == ()
    (rough,) = rough_functions(expr, 2, [x])
    assert rough.function == "relu" and rough.smoothness == 0 and rough.order == 2
    assert rough.text == "relu is only C^0 (Lipschitz), so relu(b + 2*x) has no derivative of order 2"


def test_smooth_activations_have_every_derivative():
    expr = sympy.tanh(x) + S.Sigmoid(x) + S.Softplus(x) + sympy.sin(x) * sympy.exp(x)
    assert rough_functions(expr, 6, [x]) == ()


def test_only_functions_of_the_variables_count():
    assert rough_functions(S.Relu(b) * x, 4, [x]) == ()
    assert rough_functions(sympy.Abs(y) + x, 2, [x]) == ()
    assert [r.function for r in rough_functions(sympy.Abs(y) + x, 2, [x, y])] == ["abs"]


def test_networks_count_as_their_activation_and_grad_takes_one_derivative():
    relu_net, tanh_net = net("N", "relu"), net("M", "tanh")
    call = S.NetCall(sympy.Symbol("N"), x)
    assert rough_functions(call, 1, [x], [relu_net]) == ()
    (rough,) = rough_functions(call, 2, [x], [relu_net])          # a residual with u_xx
    assert rough.function == "network N (relu)"
    assert rough_functions(S.NetCall(sympy.Symbol("M"), x), 5, [x], [tanh_net]) == ()
    if hasattr(S, "NetGrad"):                                      # grad(N, x), differentiated once more
        (rough,) = rough_functions(S.NetGrad(sympy.Symbol("N"), x), 1, [x], [relu_net])
        assert rough.order == 2


def test_scheme_order_against_smoothness_in_a_spec():
    (d,) = by_code(findings(one_state("-K^T * relu(K * Y + b)", scheme="rk4")), "A304")
    assert d.severity == "note" and "RK4 has order 4" in d.message and "relu" in d.message
    assert by_code(findings(one_state("-K^T * relu(K * Y + b)", scheme="euler")), "A304") == []
    assert by_code(findings(one_state("-K^T * tanh(K * Y + b)", scheme="rk4")), "A304") == []


# -- unused parameters and networks --------------------------------------------------------------

def test_unused_parameter_and_network_are_warnings():
    source = one_state("-K^T * tanh(K * Y + b)", params="\nparam unused : R[n]\nnet G(x) = mlp(2 -> 2, tanh)")
    items = by_code(findings(source), "A30")
    assert sorted((d.code, data(d)["name"]) for d in items) == [("A301", "unused"), ("A302", "G")]
    assert all(d.severity == "warning" for d in items)
    (param,) = [d for d in items if d.code == "A301"]
    assert param.message == "parameter 'unused' is declared but never used"
    assert param.span.line == 6


def test_parameter_read_only_by_a_report_does_not_affect_the_loss():
    source = one_state("-K^T * tanh(K * Y + b)", params="\nparam c : R[2]") + "report accuracy(W * Y(T) + c, train.label)\n"
    (d,) = by_code(findings(source), "A303")
    assert data(d)["name"] == "c" and "training never changes it" in d.message


def test_the_zoo_has_no_unused_parameters():
    from helpers import zoo_specs
    from sciml.frontend.diagnostics import SpecError
    from sciml.pipeline import front_end
    for spec in zoo_specs("ode"):
        try:
            items = front_end(spec.read_text(), str(spec))[2]
        except SpecError:
            continue
        assert by_code(items, "A30") == [], spec.name
