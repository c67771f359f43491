"""The data generators of the families beyond the ODE: `digits` (scikit-learn's 8x8 digits),
`ou_paths` (Ornstein-Uhlenbeck sample paths), `field` (a closed form on a grid of x and t) and
`pde` (a known PDE solved on a grid).  Lowering fixes their fields and options; the emitted
numpy half draws them."""
from __future__ import annotations


from sciml.frontend import ast
from sciml.lowering import ir, limits
from sciml.lowering.expressions import Entry, fmt_shape

DIGITS = 1797            # images in scikit-learn's digits
PIXELS = 64


def digits(st, call, lowering) -> ir.DataSet:
    """scikit-learn's 8x8 digits, pixels in [0, 1]: all of them, or the training or test part of
    one shuffle by `seed` (test_fraction of the images held out; the two parts of one seed are
    disjoint); pairs = true adds y, an image of the next digit (9 -> 0)."""
    from sciml.lowering.datasets import _options
    options = _options(call, lowering, {"seed": ("int", 0), "pairs": ("flag", False),
                                         "part": ("choice", "all", ("all", "train", "test")),
                                         "test_fraction": ("real", 0.2)})
    if not 0 < options["test_fraction"] < 1:
        lowering.fail("E505", "test_fraction is between 0 and 1", call.span, "write e.g. test_fraction = 0.2")
    fields = [ir.DataField(name="x", shape=(PIXELS,)), ir.DataField(name="label", shape=(), integer=True)]
    if options["pairs"]:   # x a digit k, y an image of the digit k + 1 (9 -> 0)
        fields.insert(1, ir.DataField(name="y", shape=(PIXELS,)))
    options["samples"] = digits_in_part(options["part"], options["test_fraction"])
    return ir.DataSet(name=st.name, generator="digits", options=tuple(sorted(options.items())),
                      fields=tuple(fields), batched=True, span=st.span)


def digits_in_part(part: str, test_fraction: float) -> int:
    """Images in a part: the test part is round(test_fraction * 1797) of them (the emitted
    generator splits the same way)."""
    test = int(round(test_fraction * DIGITS))
    return {"all": DIGITS, "train": DIGITS - test, "test": test}[part]


def ou_paths(st, call, lowering) -> ir.DataSet:
    """Paths of dX = -theta (X - mu) dt + sigma dW from X(0) = x0: fields t (the steps + 1
    times) and x (one path per sample)."""
    from sciml.lowering.datasets import _options
    options = _options(call, lowering, {"theta": ("real", 1.0), "mu": ("real", 0.0), "sigma": ("real", 1.0),
                                         "x0": ("real", 0.0), "paths": ("int", 1000), "steps": ("int", 100),
                                         "T": ("real", 1.0), "seed": ("int", 0)})
    if options["T"] <= 0 or options["sigma"] < 0 or options["steps"] < 1 or options["paths"] < 1:
        lowering.fail("E505", "ou_paths() needs T > 0, sigma >= 0, steps >= 1 and paths >= 1", call.span)
    options["samples"] = options["paths"]
    times = options["steps"] + 1
    options["times"] = tuple(options["T"] * k / options["steps"] for k in range(times))
    fields = (ir.DataField(name="t", shape=(times,)), ir.DataField(name="x", shape=(times,)))
    return ir.DataSet(name=st.name, generator="ou_paths", options=tuple(sorted(options.items())),
                      fields=fields, batched=True, span=st.span)


def space_of(lowering) -> tuple:
    """The space coordinates of a grid model's domain (one or two), in its order."""
    return tuple(c.name for c in lowering.domain if c.name != "t")


def _grid_axes(call, lowering) -> tuple:
    """(((coordinate, nodes), ...) for each space coordinate, the times) of field() or pde():
    each written coordinate = linspace(start, stop, count), and t = linspace(...)."""
    from sciml.lowering.datasets import _times
    given = {kw.name: kw.value for kw in call.keywords}
    for name in space_of(lowering) + ("t",):
        if name not in given:
            lowering.fail("E505", f"{call.func}() needs {name} = linspace(start, stop, count)", call.span)
    nodes = tuple((name, _nodes(given[name], lowering)) for name in space_of(lowering))
    return nodes, _times(given["t"], lowering)


def _grid_fields(nodes, times, name) -> tuple:
    """The fields of data on a grid: each coordinate's nodes, t, and the field (times, nodes of
    each coordinate)."""
    return (tuple(ir.DataField(name=c, shape=(len(values),)) for c, values in nodes)
            + (ir.DataField(name="t", shape=(len(times),)),
               ir.DataField(name=name, shape=(len(times),) + tuple(len(values) for _, values in nodes))))


def _check_grid_domain(call, lowering):
    """E505 unless the domain is one or two space coordinates and then t."""
    space = space_of(lowering)
    if not 1 <= len(space) <= 2 or lowering.domain[-1].name != "t":
        lowering.fail("E505", f"{call.func}() on a grid is a function of one or two space coordinates "
                      "and t: declare domain x in [a, b], t in [0, T] (or x, y and t)", call.span)


def _nodes(node, lowering) -> tuple:
    if not (isinstance(node, ast.Call) and node.func == "linspace" and len(node.positional) == 3):
        lowering.fail("E505", "the nodes are x = linspace(start, stop, count)", node.span)
    import numpy as np
    a, b = (lowering.real(v, "linspace()") for v in node.positional[:2])
    count = lowering.integer(node.positional[2], "the number of nodes", 2)
    if b <= a:
        lowering.fail("E505", "the nodes must increase", node.span)
    return tuple((a + (b - a) * (np.arange(count) / (count - 1))).tolist())


def _with_locals(lowering, names, context, lower):
    """Lower with `names` as the data set's own values on its grid (removed afterwards)."""
    for name in names:
        if name in lowering.scope:
            lowering.fail("E102", f"'{name}' is already declared; the generated field is local", lowering.current_statement.span)
    saved = lowering.exprs.context
    for name in names:
        lowering.scope[name] = Entry("local", (), "nodes")
    lowering.exprs.context = context
    try:
        return lower()
    finally:
        lowering.exprs.context = saved
        for name in names:
            del lowering.scope[name]


def field(st, call, lowering) -> ir.DataSet:
    """field(u(x, t) = closed form, x = linspace(...), t = linspace(...)): u on the grid."""
    lowering.exprs.require_domain()
    if lowering.kind.name == "pinn":
        return field_samples(st, call, lowering)
    _check_grid_domain(call, lowering)
    coordinates = space_of(lowering) + ("t",)
    written = ", ".join(coordinates)
    equations = [a for a in call.args if isinstance(a, ast.Equation)]
    if len(equations) != 1 or not isinstance(equations[0].lhs, ast.Call) or \
            tuple(getattr(a, "id", None) for a in equations[0].lhs.args) != coordinates:
        lowering.fail("E505", f"field() takes one closed form: field(u({written}) = ..., "
                      + ", ".join(f"{c} = ..." for c in coordinates) + ")", call.span)
    _check_keywords(call, coordinates, lowering)
    name = equations[0].lhs.func
    lowering.exprs.context = "data"
    value = lowering.lower(equations[0].rhs)
    if not value.is_scalar:
        lowering.fail("E207", f"the field is a scalar function, but this is {fmt_shape(value.shape)}",
                      equations[0].rhs.span)
    nodes, times = _grid_axes(call, lowering)
    options = {"nodes": nodes, "t": times, "field": name}
    return ir.DataSet(name=st.name, generator="field", options=tuple(sorted(options.items())),
                      fields=_grid_fields(nodes, times, name), batched=False, rhs=(value.expr,), span=st.span)


def field_samples(st, call, lowering) -> ir.DataSet:
    """In a pinn model: field(u(x, t) = closed form, x = linspace(...), t = linspace(...),
    noise = s, seed = k) is a data set of observations, one sample per node of the grid (fields
    x, t and u, one number each), Gaussian noise of standard deviation s added to u."""
    equations = [a for a in call.args if isinstance(a, ast.Equation)]
    coordinates = [c.name for c in lowering.domain]
    lhs = equations[0].lhs if len(equations) == 1 else None
    arguments = [getattr(a, "id", None) for a in getattr(lhs, "args", ())]
    if not isinstance(lhs, ast.Call) or sorted(map(str, arguments)) != sorted(coordinates):
        example = ", ".join(coordinates)
        lowering.fail("E505", f"field() takes one closed form of the domain's coordinates: "
                      f"field(u({example}) = ..., " + ", ".join(f"{c} = linspace(...)" for c in coordinates)
                      + ")", call.span)
    _check_keywords(call, tuple(coordinates) + ("noise", "seed"), lowering)
    given = {kw.name: kw.value for kw in call.keywords}
    nodes = {}
    for name in arguments:
        if name not in given:
            lowering.fail("E505", f"field() needs {name} = linspace(start, stop, count), the nodes "
                          "the field is observed at", call.span)
        nodes[name] = _nodes(given[name], lowering)
    samples = 1
    for values in nodes.values():
        samples *= len(values)
    if samples > limits.MAX_SAMPLES:
        lowering.fail("E231", f"the grid of field() has {samples:,} nodes, more than the limit of "
                      f"{limits.MAX_SAMPLES:,} samples", call.span, "observe at fewer nodes")
    noise = lowering.real(given["noise"], "the noise") if "noise" in given else 0.0
    if noise < 0:
        lowering.fail("E505", f"the noise is a standard deviation, at least 0, but this is {noise:g}",
                      given["noise"].span)
    seed = lowering.integer(given["seed"], "the seed", 0) if "seed" in given else 0
    name = lhs.func
    lowering.exprs.context = "data"
    value = lowering.lower(equations[0].rhs)
    if not value.is_scalar:
        lowering.fail("E207", f"the field is a scalar function, but this is {fmt_shape(value.shape)}",
                      equations[0].rhs.span)
    options = {"nodes": tuple(nodes.items()), "field": name, "noise": noise, "seed": seed}
    fields = tuple(ir.DataField(name=c, shape=()) for c in nodes) + (ir.DataField(name=name, shape=()),)
    return ir.DataSet(name=st.name, generator="field_samples", options=tuple(sorted(options.items())),
                      fields=fields, batched=True, rhs=(value.expr,), span=st.span)


def pde(st, call, lowering) -> ir.DataSet:
    """pde(dt(c) = ..., c(x, 0) = ..., boundary = periodic | dirichlet, x = ..., t = ...)."""
    lowering.exprs.require_domain()
    equations = [a for a in call.args if isinstance(a, ast.Equation)]
    derivative = [e for e in equations if isinstance(e.lhs, ast.Call) and e.lhs.func == "dt"]
    if len(derivative) != 1 or len(equations) != 2 or not isinstance(derivative[0].lhs.args[0], ast.Name):
        lowering.fail("E505", "pde() takes the equation and the initial values: "
                      "pde(dt(c) = ..., c(x, 0) = ..., boundary = periodic, x = ..., t = ...)", call.span)
    name = derivative[0].lhs.args[0].id
    start = next(e for e in equations if e is not derivative[0])
    if not (isinstance(start.lhs, ast.Call) and start.lhs.func == name):
        lowering.fail("E505", f"the initial values of pde() read {name}(x, 0) = ...", start.lhs.span)
    _check_grid_domain(call, lowering)
    _check_keywords(call, space_of(lowering) + ("t", "boundary"), lowering)
    boundary = next((kw.value for kw in call.keywords if kw.name == "boundary"), None)
    if not isinstance(boundary, ast.Name) or boundary.id not in ("periodic", "dirichlet"):
        lowering.fail("E505", "pde() needs boundary = periodic or boundary = dirichlet (zero at both ends)",
                      boundary.span if boundary is not None else call.span)
    rhs = _with_locals(lowering, [name], "pde", lambda: lowering.lower(derivative[0].rhs))
    lowering.exprs.context = "data"
    initial = lowering.lower(start.rhs)
    nodes, times = _grid_axes(call, lowering)
    options = {"nodes": nodes, "t": times, "boundary": boundary.id, "field": name}
    return ir.DataSet(name=st.name, generator="pde", options=tuple(sorted(options.items())),
                      fields=_grid_fields(nodes, times, name), batched=False, states=(name,), rhs=(rhs.expr, initial.expr), span=st.span)


def _check_keywords(call, allowed, lowering):
    for kw in call.keywords:
        if kw.name not in allowed:
            lowering.fail("E505", f"{call.func}() has no option '{kw.name}'", kw.span,
                          "options: " + ", ".join(allowed))


GENERATORS = {"digits": digits, "ou_paths": ou_paths, "field": field, "pde": pde}
