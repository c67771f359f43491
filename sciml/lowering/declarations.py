"""Lower the declarations: model, const, data, state, param, net and flow lines (the noise,
latent and domain lines are in stochastic.py and fields.py)."""
from __future__ import annotations

import sympy

from sciml.frontend import ast
from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.lowering.datasets import lower_dataset
from sciml.lowering import lower as common
from sciml.lowering.expressions import Entry, Unsupported, fmt_shape


def lower_model(lowering, st):
    if lowering.model_name is not None:
        lowering.fail("E301", "a spec has one `model` line", st.span)
    lowering.model_name = st.name


def lower_const(lowering, st):
    for binding in st.bindings:
        with lowering.checking(binding.name):
            value = lowering.constant(binding.value, f"constant '{binding.name}'")
            constant = ir.Constant(name=binding.name, value=value.expr, span=binding.span)
            # the shape as written: [1, 2] is a vector R[2], a column as states are
            lowering.declare(binding.name, Entry("const", value.shape, node=constant), binding.span)
            lowering.constants.append(constant)


def lower_flow_statement(lowering, st):
    from sciml.lowering.flows import lower_flow
    flow = lower_flow(st, lowering)
    lowering.declare(st.name, Entry("flow", node=flow), st.span)
    lowering.flows.append(flow)


def lower_data(lowering, st):
    dataset = lower_dataset(st, lowering)
    lowering.declare(st.name, Entry("data", node=dataset), st.span)
    lowering.datasets.append(dataset)


def lower_states(lowering, st):
    for decl in st.declarations:
        with lowering.checking(decl.name):
            if decl.time_dependent or decl.init_draw or decl.init_value is not None:
                lowering.fail("E220", f"state '{decl.name}' takes its start from an initial line",
                          decl.span, f"write: initial {decl.name}(0) = ...")
            shape = lowering.shape_of(decl.type)
            if len(shape) > 1:
                lowering.fail("E204", "a state is a scalar or a vector", decl.type.span)
            state = ir.State(name=decl.name, shape=shape, span=decl.span)
            lowering.declare(decl.name, Entry("state", shape, lowering.kind.state_axis, state), decl.span)
            lowering.states.append(state)


def lower_params(lowering, st):
    for decl in st.declarations:
        with lowering.checking(decl.name):
            shape = lowering.shape_of(decl.type)
            init = _init(lowering, decl, shape)
            param = ir.Parameter(name=decl.name, shape=shape, per_step=decl.time_dependent is not None,
                                 init=init, span=decl.span)
            if decl.time_dependent not in (None, "t"):
                lowering.fail("E221", f"a per-step parameter depends on t, not '{decl.time_dependent}'",
                          decl.span, f"write {decl.name}(t)")
            lowering.declare(decl.name, Entry("param", shape, node=param), decl.span)
            lowering.parameters.append(param)


def _init(lowering, decl, shape) -> ir.Init:
    if decl.init_value is not None:
        value = lowering.constant_value(decl.init_value, "an initial value")
        value_shape = tuple(value.shape) if isinstance(value, sympy.MatrixBase) else ()
        if value_shape not in ((), common._column(shape)):
            lowering.fail("E207", f"initial value of shape {fmt_shape(value_shape)} for a "
                      f"{fmt_shape(shape)} parameter", decl.init_value.span)
        return ir.Init(kind="value", value=value)
    if decl.init_draw is not None:
        call = decl.init_draw
        if call.func not in ("normal", "uniform") or len(call.positional) != 2 or call.keywords:
            lowering.fail("E222", "parameters are drawn from normal(mean, std) or uniform(low, high)",
                      call.span)
        first, second = (lowering.real(a, f"a {call.func}() argument") for a in call.positional)
        if call.func == "uniform":
            if not first < second:
                lowering.fail("E222", "uniform(low, high) needs low < high", call.span)
            return ir.Init(kind="uniform", mean=first, std=second)
        if second < 0:
            lowering.fail("E222", "the standard deviation must be >= 0", call.positional[1].span)
        return ir.Init(kind="normal", mean=first, std=second)
    if len(shape) == 2:
        return ir.Init(kind="normal", std=float(1 / sympy.sqrt(shape[1])))
    return ir.Init(kind="zeros")


def lower_net(lowering, st):
    body = st.body
    if body.func != "mlp":
        raise Unsupported(f"networks of kind '{body.func}' (only mlp)", body.func_span)
    args = body.positional
    if len(args) != 2 or not isinstance(args[0], ast.Arrows) or not isinstance(args[1], ast.Name):
        lowering.fail("E223", "write a network as mlp(in -> hidden -> ... -> out, activation)",
                  body.span)
    widths = tuple(lowering.integer(w, "a layer width") for w in args[0].items)
    activation = args[1].id
    if activation not in S.ACTIVATIONS:
        lowering.fail("E224", f"unknown activation '{activation}'", args[1].span,
                  "activations: " + ", ".join(sorted(S.ACTIVATIONS)))
    options = _net_options(lowering, body)
    index, steps = "", ()
    if st.index is not None:
        index = st.index.name
        steps = (lowering.integer(st.index.low, "the first step", 0), lowering.integer(st.index.high, "the last step", 0))
        if steps[1] < steps[0]:
            lowering.fail("E225", f"the steps {steps[0]}..{steps[1]} are empty", st.index.span,
                          "write the first step, then the last: for n in 1..N-1")
        if any(head.inputs[0] != index for head in st.heads):
            lowering.fail("E225", f"a network per step takes the step index first: "
                          f"{st.heads[0].name}({index}, ...)", st.heads[0].span,
                          f"the index of `for {index} in ...` picks the weights: write "
                          f"net {st.heads[0].name}({index}, {', '.join(i for i in st.heads[0].inputs if i != index) or 'x'})")
    coordinates = set(lowering.exprs.coordinates)
    for head in st.heads:
        field = bool(coordinates) and set(head.inputs) <= coordinates and not index
        net = ir.Network(name=head.name, inputs=head.inputs, widths=widths, activation=activation,
                         per_step=bool(index), index=index, steps=steps, field=field,
                         span=head.span, **options)
        lowering.declare(head.name, Entry("net", node=net), head.span)
        lowering.networks[head.name] = net


def _net_options(lowering, body) -> dict:
    """batchnorm = true, posterior = normal, draws = N, ensemble = M."""
    options = {}
    for kw in body.keywords:
        if kw.name == "batchnorm":
            if not isinstance(kw.value, ast.Name) or kw.value.id not in ("true", "false"):
                lowering.fail("E223", "batchnorm is true or false", kw.value.span,
                              "write batchnorm = true (batch statistics while training)")
            options["batchnorm"] = kw.value.id == "true"
        elif kw.name == "posterior":
            if not isinstance(kw.value, ast.Name) or kw.value.id != "normal":
                lowering.fail("E223", "the weight posterior is normal (mean-field Gaussian)", kw.value.span,
                              "write posterior = normal, draws = 16")
            options["posterior"] = "normal"
        elif kw.name == "draws":
            options["posterior draws"] = lowering.integer(kw.value, "the number of posterior draws", 2)
        elif kw.name == "ensemble":   # M independently initialised networks: the draws axis
            options["members"] = lowering.integer(kw.value, "the number of ensemble members", 2)
        elif kw.name == "per_step":
            lowering.fail("E223", "a network per time step is declared with its steps: "
                          "net Z(n, X) = mlp(...) for n in 0..N-1", kw.span,
                          "remove per_step and add `for n in 0..N-1` after mlp(...)")
        else:
            lowering.fail("E223", f"mlp() has no option '{kw.name}'", kw.span,
                      "options: batchnorm = true, posterior = normal, draws = N, ensemble = M")
    if "members" in options and ("posterior" in options or "posterior draws" in options):
        lowering.fail("E223", "a network is either an ensemble or has a weight posterior", body.span,
                      "ensemble = M trains M networks; posterior = normal, draws = N one weight posterior")
    if "members" in options:
        options["draws"], options["ensemble"] = options.pop("members"), True
    elif ("posterior draws" in options) != ("posterior" in options):
        lowering.fail("E223", "a weight posterior goes with its number of draws: posterior = normal, "
                      "draws = 16", body.span, "draws is the size of the draws axis that "
                      "mean(..., over = draws) averages")
    elif "posterior" in options:
        options["draws"] = options.pop("posterior draws")
    return options

# -- the model ------------------------------------------------------------------------------
