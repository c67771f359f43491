"""Lower the two PDE discretizations: `collocation(...)` (PINN / Deep Ritz points and the
route of the fields' derivatives) and `method_of_lines(grid = N, time = ..., advection = ...)`,
with the grid's boundary handling and the check that the data sit on its nodes and steps
(the statements they discretize are fields.py)."""
from __future__ import annotations

import sympy

from sciml.frontend import ast
from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.lowering.family_calls import SAMPLERS
from sciml.schemes import registry


#: how the input derivatives of the fields are computed (collocation(derivatives = ...))
DERIVATIVE_ROUTES = ("taylor", "autodiff")


def lower_collocation(call: ast.Call, lowering) -> ir.Collocation:
    given = {kw.name: kw for kw in call.keywords}
    if call.positional:
        lowering.fail("E402", "collocation() options are named: interior = sobol(2000), resample = k",
                      call.positional[0].span)
    for name, kw in given.items():
        if name not in ("interior", "resample", "derivatives"):
            lowering.fail("E402", f"collocation() has no option '{name}'", kw.span,
                          "options: interior = sampler(count), resample = k, derivatives = "
                          + " | ".join(DERIVATIVE_ROUTES) + "; conditions carry their own points "
                          "(with points = N)")
    if "interior" not in given:
        lowering.fail("E402", "collocation() needs interior = sampler(count)", call.span,
                      "write e.g. collocation(interior = latin_hypercube(10000))")
    value = given["interior"].value
    if isinstance(value, ast.Call) and value.func not in SAMPLERS:
        lowering.fail("E402", f"unknown sampler '{value.func}'", value.func_span,
                      "samplers: " + ", ".join(SAMPLERS))
    if not isinstance(value, ast.Call) or len(value.positional) != 1 or value.keywords:
        lowering.fail("E402", "the interior points are " + ", ".join(f"{s}(count)" for s in SAMPLERS),
                      value.span, "write e.g. interior = sobol(2000)")
    count = lowering.integer(value.positional[0], "the number of interior points")
    resample = lowering.integer(given["resample"].value, "resample", 0) if "resample" in given else 0
    derivatives = ""
    if "derivatives" in given:
        route = given["derivatives"].value
        if not isinstance(route, ast.Name) or route.id not in DERIVATIVE_ROUTES:
            lowering.fail("E402", "derivatives = " + " or ".join(DERIVATIVE_ROUTES), route.span,
                          "taylor: pushed forward through the network (orders up to 2); autodiff: "
                          "nested reverse mode, any order; unwritten: taylor where it applies")
        derivatives = route.id
    return ir.Collocation(interior=ir.PointSet(sampler=value.func, count=count, span=value.span),
                          resample=resample, derivatives=derivatives, span=call.span)


ADVECTION = ("central", "upwind")   # how a method of lines differences first derivatives


def lower_method_of_lines(call: ast.Call, lowering) -> ir.MethodOfLines:
    from sciml.lowering.scheme_line import lower_scheme
    given = {kw.name: kw for kw in call.keywords}
    for name, kw in given.items():
        if name not in ("grid", "time", "advection"):
            lowering.fail("E402", f"method_of_lines() has no option '{name}'", kw.span,
                          "options: grid = nodes, time = " + _time_example() + ", advection = "
                          + " or ".join(ADVECTION) + "; the boundary lines say how the ends are handled")
    if call.positional or set(given) - {"advection"} != {"grid", "time"}:
        missing = [name for name in ("grid", "time") if name not in given]
        lowering.fail("E402", f"method_of_lines() needs {' and '.join(missing)}" if missing else
                      "method_of_lines() options are named", call.positional[0].span if
                      call.positional and not missing else call.span,
                      "write e.g. method_of_lines(grid = 64, time = " + _time_example() + ")")
    nodes = lowering.integer(given["grid"].value, "the number of grid nodes", 3)
    time = given["time"].value
    fixed = [d.name for d in registry.DEFINITIONS if not d.adaptive and not d.stochastic]
    if not isinstance(time, ast.Call) or time.func not in fixed:
        lowering.fail("E401", "the time integrator of the method of lines is one of "
                      + ", ".join(dict.fromkeys(fixed)), time.span, "the grid's values follow an ode: write e.g. "
                      "time = " + _time_example() + "; stochastic integrators belong to sde models")
    scheme = lower_scheme(time, lowering, grid_operator=True)
    end = next((c.upper for c in lowering.domain if c.name == "t"), None)
    if end is not None and abs(scheme.t_end - end) > 1e-12 * max(1.0, abs(end)):
        lowering.fail("E268", f"the time integrator runs to T = {scheme.t_end:g} but the domain's t "
                      f"ends at {end:g}", time.span, "they are the same time: write the same T")
    advection = "central"
    if "advection" in given:
        value = given["advection"].value
        if not isinstance(value, ast.Name) or value.id not in ADVECTION:
            lowering.fail("E402", "advection = " + " or ".join(ADVECTION), value.span,
                          "central: (u_{i+1} - u_{i-1}) / (2 dx), second order; upwind: the "
                          "one-sided difference against the flow, first order")
        advection = value.id
    return ir.MethodOfLines(nodes=nodes, boundary="", time=scheme, advection=advection, span=call.span)


def _time_example() -> str:
    return registry.recommended(registry.FIRST_ORDER).example


def grid_boundary(lowering) -> str:
    """The boundary handling of a grid model, from its boundary lines; E269 for an end without
    a condition, and E406 for data off the grid (once the model is complete)."""
    conditions = [c for c in lowering.conditions if c.section == "boundary"]
    for coordinate in lowering.domain:
        if coordinate.name == "t":
            continue
        missing = [end for end in (coordinate.lower, coordinate.upper)
                   if not any(c.fixed[0] == (coordinate.name, end) or
                              (c.kind == "periodic" and c.fixed[0][0] == coordinate.name) for c in conditions)]
        if missing:   # one error for the coordinate, however many of its ends lack a condition
            state = lowering.states[0].name if lowering.states else "u"
            ends = " and ".join(f"{coordinate.name} = {end:g}" for end in missing)

            def at(end, state=state, held=coordinate.name):
                point = ", ".join(f"{end:g}" if c.name == held else c.name for c in lowering.domain)
                return f"{state}({point})"
            values = ", ".join(f"{at(end)} = 0" for end in missing)
            lowering.sink.error("E269", f"the grid has no boundary condition at {ends}", lowering.scheme.span,
                                f"add e.g.: boundary {values}" + (f" (or periodic: {at(coordinate.lower)} "
                                f"= {at(coordinate.upper)})" if len(missing) == 2 else ""))
    kinds = {c.kind for c in conditions}
    boundary = kinds.pop() if len(kinds) == 1 else "mixed"
    _check_observations(lowering, boundary)
    return boundary


def grid_nodes(coordinate: ir.Coordinate, count: int, periodic: bool) -> list:
    """The grid's nodes: both ends and count - 2 between (Dirichlet, Neumann); on a periodic
    grid the start and count - 1 more, the end being the start again."""
    width = coordinate.upper - coordinate.lower
    return [coordinate.lower + width * i / (count if periodic else count - 1) for i in range(count)]


def periodic_coordinates(conditions) -> set:
    """The space coordinates a periodic boundary line wraps."""
    return {c.fixed[0][0] for c in conditions if c.section == "boundary" and c.kind == "periodic"}


def _check_observations(lowering, boundary: str):
    """E406: the data a grid state is compared with, u(data.x, data.t), sit on the grid's nodes
    (along each space coordinate) and on the time integrator's steps, up to its final time."""
    from sciml.lowering.datasets import on_grid
    space = [c for c in lowering.domain if c.name != "t"]
    periodic = periodic_coordinates(lowering.conditions)
    scheme = lowering.scheme
    time, reported = scheme.time, set()
    for expr in [lowering.loss[0]] + [r.expr for r in lowering.reports]:
        for at in sorted(expr.atoms(S.StateAt), key=sympy.default_sort_key):
            entry = lowering.scope.get(str(at.args[1]).split(".")[0])
            if entry is None or entry.kind != "data" or entry.node.name in reported:
                continue
            data, span = entry.node, lowering.exprs.state_at_spans.get(at, lowering.loss[1])
            nodes, times = dict(data.option("nodes", ())), data.option("t", ())
            error = None
            for coordinate in space:
                if error is None and nodes.get(coordinate.name):
                    error = _off_the_grid(data, coordinate, nodes[coordinate.name], scheme.nodes,
                                          coordinate.name in periodic)
            if error is None and times and times[-1] > time.t_end * (1 + 1e-12):
                error = (f"the data '{data.name}' run to t = {times[-1]:g}, past the time integrator's "
                         f"T = {time.t_end:g}", f"observe at times up to T, or run to T = {times[-1]:g}")
            elif error is None and times and time.kind not in registry.adaptive() and \
                    not all(on_grid(t, time.t_end / time.steps) for t in times):
                error = (f"the times of the data '{data.name}' are not on the steps of h = "
                         f"{time.t_end / time.steps:g}", "choose steps so that every observation time "
                         "is a multiple of T/steps")
            if error is not None:
                reported.add(data.name)
                lowering.sink.error("E406", error[0], span, error[1])


def _off_the_grid(data, coordinate: ir.Coordinate, nodes, count: int, periodic: bool):
    """(message, help) where a node of the data is not a node of the grid along `coordinate`,
    the nearest grid node named; else None."""
    close = lambda a, b: abs(a - b) <= 1e-9 * max(1.0, abs(b))   # noqa: E731
    grid = grid_nodes(coordinate, count, periodic)
    off = [x for x in nodes if not any(close(x, g) for g in grid)]
    if not off:
        return None
    fits = all(close(x, g) for x, g in zip(nodes, grid_nodes(coordinate, len(nodes), periodic)))
    nearest = min(grid, key=lambda g: abs(g - off[0]))
    name = coordinate.name
    return (f"the data '{data.name}' sit at {name} = {off[0]:g}, not a node of the grid of {count} nodes "
            f"(the nearest is {name} = {nearest:g})",
            "the data share the grid's nodes: " + (f"write grid = {len(nodes)}, their nodes" if fits else
                                                   f"choose grid so that each of their {name} values is a node"))
