"""Lower the `scheme` line and check that the scheme fits the equations.

The options, their defaults and which may be given by position come from the scheme's definition
(sciml/schemes/registry.py), and so do the equations it integrates:
    first-order system    dt(Y) = f(Y), one state or several
    separable pair        dt(Y) = f(Z), dt(Z) = g(Y)
    second-order state    dt(dt(Y)) = f(Y)
"""
from __future__ import annotations

import difflib

import sympy

from sciml.frontend import ast
from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.lowering.datasets import on_grid
from sciml.lowering.expressions import fmt_shape
from sciml.schemes import registry
from sciml.schemes.registry import (CHOICE, FIRST_ORDER, FLAG, MATRIX, NETWORK, REAL, SECOND_ORDER,
                                   SEPARABLE_PAIR, STEPS)

def lower_scheme(call: ast.Call, lowering, grid_operator: bool = False) -> ir.Scheme:
    """The scheme of `call`; `grid_operator` (the time integrator of the method of lines): a matrix
    option (an IMEX scheme's L) is the grid's diffusion operator, not written."""
    if call.func not in registry.NAMES:
        close = difflib.get_close_matches(call.func, registry.NAMES, n=1)
        lowering.fail("E401", f"unknown scheme '{call.func}'", call.func_span,
                      f"did you mean '{close[0]}'?" if close else "schemes: " + ", ".join(registry.NAMES))
    options = registry.family(call.func)[0].options
    names = [o.name for o in options]
    positional = [o.name for o in options if o.positional]
    given = {}
    for position, arg in enumerate(call.positional):
        if position >= len(positional):
            lowering.fail("E402", f"{call.func}() takes at most ({', '.join(positional)}) "
                          "positionally; name the other options", arg.span)
        given[positional[position]] = arg
    for kw in call.keywords:
        if kw.name not in names:
            lowering.fail("E402", f"{call.func}() has no option '{kw.name}'", kw.span,
                          "options: " + ", ".join(names))
        if kw.name in given:
            lowering.fail("E402", f"option '{kw.name}' is given twice", kw.span)
        given[kw.name] = kw.value
    for option in options:
        if grid_operator and option.kind == MATRIX:
            if option.name in given:
                lowering.fail("E402", f"on a grid the implicit operator {option.name} is the diffusion term "
                              f"of the pde: {call.func}() takes no {option.name} here", given[option.name].span,
                              f"write {call.func}(steps, T): the method of lines takes D * lap(u) implicitly")
            continue
        if option.default is None and option.name not in given:
            code, message, help = option.missing or (
                "E402", f"{call.func}() needs {option.name}",
                f"write e.g. {registry.family(call.func)[0].example}")
            lowering.fail(code, message, call.span, help)
    steps = lowering.integer(given["steps"], "the number of steps") if "steps" in given else 0
    t_end = lowering.real(given["T"], "the final time T")
    if t_end <= 0:
        lowering.fail("E402", "the final time T must be positive", given["T"].span)
    if steps and t_end / steps == 0:
        lowering.fail("E230", f"the step h = T/steps = {t_end:g}/{steps} is too small for a "
                      "floating-point number: it would round to 0", given["T"].span,
                      "a step is at least about 5e-324; use a larger T or fewer steps")
    values = {}
    for option in options:
        if not option.grid and not (grid_operator and option.kind == MATRIX):
            values[option.name] = _option_value(option, given.get(option.name), lowering)
    return ir.Scheme(kind=call.func, steps=steps, t_end=t_end, options=tuple(sorted(values.items())),
                     span=call.span)


def _option_value(option, node, lowering):
    if node is None:
        return option.default
    if option.kind == REAL:
        return lowering.real(node, option.name)
    if option.kind == FLAG:
        return _flag(node, lowering, option.name)
    if option.kind == CHOICE:
        if not (isinstance(node, ast.Name) and node.id in option.choices):
            lowering.fail("E402", f"{option.name} is {' or '.join(option.choices)}", node.span)
        return node.id
    if option.kind == MATRIX:
        return _matrix_option(node, lowering)
    if option.kind == STEPS:
        return lowering.integer(node, f"the number of {option.name}")
    if option.kind == NETWORK:
        return _network_option(option, node, lowering)
    raise AssertionError(f"an option of kind {option.kind} outside the grid")


def _network_option(option, node, lowering) -> str:
    """A network of the spec, by name (a reverse sampler's score network)."""
    if isinstance(node, ast.Name):
        lowering.exprs.skip_if_failed(node.id)
    entry = lowering.scope.get(node.id) if isinstance(node, ast.Name) else None
    if entry is None or entry.kind != "net":
        what = f"'{node.id}' is not a network" if isinstance(node, ast.Name) else "this is not a network"
        lowering.fail("E263", f"{option.name} = ... names a network of the spec; {what}", node.span,
                      f"name a network declared with net, as {option.name} = s")
    return node.id


def _flag(node, lowering, name):
    if not isinstance(node, ast.Name) or node.id not in ("true", "false"):
        lowering.fail("E402", f"{name} is true or false", node.span)
    return node.id == "true"


def _matrix_option(node, lowering) -> str:
    """A symmetric positive semi-definite constant matrix, by name (IMEX's L)."""
    if isinstance(node, ast.Name):
        lowering.exprs.skip_if_failed(node.id)
    if not isinstance(node, ast.Name) or lowering.scope.get(node.id) is None \
            or lowering.scope[node.id].kind != "const":
        lowering.fail("E405", "L must name a constant matrix", node.span,
                      "declare it: const L = [[2, -1], [-1, 2]]")
    value = lowering.scope[node.id].node.value
    if not isinstance(value, sympy.MatrixBase) or value.shape[0] != value.shape[1]:
        lowering.fail("E405", f"L must be a square matrix", node.span)
    if value != value.T:
        lowering.fail("E405", "L must be symmetric", node.span,
                      "IMEX treats L Y implicitly; (I + h L) is then invertible for every h > 0")
    import numpy as np  # a symmetric eigenvalue problem in floating point: any size, any scale
    matrix = np.array(value.tolist(), dtype=float)
    scale = max(1.0, float(np.abs(matrix).max()))   # entries near 1e308 would overflow in LAPACK
    smallest = float(np.linalg.eigvalsh(matrix / scale).min())
    if not smallest >= -1e-12:
        lowering.fail("E405", "L must be positive semi-definite", node.span,
                      f"its smallest eigenvalue is {smallest * scale:.3g}")
    return node.id


def check_scheme_fits(lowering):
    """Errors when the scheme cannot integrate these equations."""
    scheme, equations, sink = lowering.scheme, lowering.equations, lowering.sink
    definition = registry.definition_of(scheme)
    if definition.forms == (SECOND_ORDER,):
        if len(equations) != 1 or equations[0].order != 2:
            sink.error("E403", f"{scheme.kind} integrates one second-order equation dt(dt(Y)) = f(Y)",
                       scheme.span, f"for first-order systems use {_either(registry.accepting(FIRST_ORDER))}")
    elif definition.forms == (SEPARABLE_PAIR,):
        _check_separable(lowering)
    else:
        for eq in equations:
            if eq.order != 1:
                sink.error("E403", f"{scheme.kind} integrates first-order equations, but "
                           f"dt(dt({eq.state})) is second order", eq.span,
                           f"use scheme {_call(registry.recommended(SECOND_ORDER))}")
    for name in definition.matrix_options:
        _check_stacked_size(lowering, name)
    _check_times(lowering)
    _check_recompute(lowering)


def _call(definition) -> str:
    """`name(steps, T)`: the scheme with its positional options."""
    return f"{definition.name}({', '.join(o.name for o in definition.positional)})"


def _either(names) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def _check_stacked_size(lowering, option):
    """A matrix option (IMEX's L) acts on the stacked state: the states in the order they are
    declared, each a vector (a scalar state is one entry)."""
    scheme = lowering.scheme
    L = lowering.scope[scheme.option(option)].node
    states = lowering.states
    if len(states) == 1:
        (state,) = states
        if state.shape != (L.shape[0],):
            lowering.sink.error("E405", f"{option} is {fmt_shape(L.shape)} but state '{state.name}' is "
                                f"{fmt_shape(state.shape)}", scheme.span)
        return
    not_vectors = [state for state in states if len(state.shape) != 1]
    for state in not_vectors:
        lowering.sink.error("E405", f"{option} acts on the stacked state, but state '{state.name}' is "
                            f"{fmt_shape(state.shape)}", scheme.span,
                            "every state of the stack is a vector R[n] (a single number: R[1])")
    if not_vectors:
        return
    sizes = [state.shape[0] for state in states]
    if L.shape[0] != sum(sizes):
        names = ", ".join(s.name for s in states)
        lowering.sink.error("E405", f"{option} is {fmt_shape(L.shape)} but the states {names} stack "
                            f"to {sum(sizes)} entries", scheme.span,
                            f"{option} acts on the stacked state ({names}), "
                            f"{' + '.join(map(str, sizes))} entries in the order of the state "
                            "declarations; a block diagonal matrix treats each state on its own")


def _check_recompute(lowering):
    """memory = recompute keeps only the final states: nothing may be observed on the way."""
    scheme = lowering.scheme
    if scheme.option("memory") != "recompute":
        return
    for expr in [lowering.loss[0]] + [r.expr for r in lowering.reports]:
        for at in expr.atoms(S.StateAt):
            if not at.args[1].is_number:
                lowering.sink.error(
                    "E407", "memory = recompute keeps only the states at T, but the loss observes "
                    f"{at.args[0]} at data times", scheme.span,
                    "observe the states at T only, or use memory = store")
                return


def _check_separable(lowering):
    scheme, equations, sink = lowering.scheme, lowering.equations, lowering.sink
    if len(equations) != 2 or any(e.order != 1 for e in equations):
        sink.error("E404", f"{scheme.kind} integrates a pair dt(Y) = f(Z), dt(Z) = g(Y)", scheme.span,
                   f"for a single state use {registry.recommended(FIRST_ORDER).name}, for dt(dt(Y)) use "
                   f"{registry.recommended(SECOND_ORDER).name}")
        return
    first, second = equations
    state_names = {first.state, second.state}
    for eq, other in ((first, second.state), (second, first.state)):
        used = {str(s) for s in eq.rhs.free_symbols} & state_names
        if used - {other}:
            sink.error("E404", f"{scheme.kind} needs dt({eq.state}) to depend on {other} only, but it reads "
                       f"{', '.join(sorted(used))}", eq.span,
                       "the update is explicit only for separable systems; use "
                       + registry.recommended(FIRST_ORDER).name)


def _check_times(lowering):
    """A state is asked for at the final time T, or at observation times in [0, T] (on the grid
    of a fixed-step scheme).  Errors point at where the state is asked for."""
    scheme, sink = lowering.scheme, lowering.sink
    asked = []
    for expr in [lowering.loss[0]] + [r.expr for r in lowering.reports]:
        asked += [a for a in sorted(expr.atoms(S.StateAt), key=sympy.default_sort_key) if a not in asked]
    off_grid = set()
    for at in asked:
        state, time = at.args
        span = lowering.exprs.state_at_spans.get(at, lowering.loss[1])
        if time.is_number:
            if abs(float(time) - scheme.t_end) > 1e-12 * max(1.0, scheme.t_end):
                sink.error("E406", f"{state}({float(time):g}) is asked for, but the scheme "
                           f"ends at T = {scheme.t_end:g}", span,
                           f"write {state}(T) or observe at data times")
            continue
        dataset = lowering.scope[str(time).split(".")[0]].node  # Y(obs.t), see _state_at
        times = dataset.option("times", ())
        if times and times[-1] > scheme.t_end * (1 + 1e-12):
            sink.error("E406", f"observations run to t = {times[-1]:g}, past the scheme's "
                       f"T = {scheme.t_end:g}", span,
                       f"observe at times up to T, or run the scheme to T = {times[-1]:g}")
        elif registry.definition_of(scheme).fixed_step and dataset.name not in off_grid:
            h = scheme.t_end / scheme.steps
            if not all(on_grid(t, h) for t in times):
                off_grid.add(dataset.name)
                sink.error("E406", f"observation times are not on the grid of step h = {h:g}",
                           scheme.span, "choose steps so that every observation time is a "
                           "multiple of T/steps, or use " + _either(registry.adaptive()))
