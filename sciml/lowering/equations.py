"""Lower the equation lines (ode, sde, pde and the conditions) and the scheme line; the
families' own forms are in stochastic.py and fields.py."""
from __future__ import annotations

import dataclasses
import difflib


from sciml.frontend import ast
from sciml.lowering import discretizations, fields, ir, kinds, stochastic
from sciml.lowering import symbols as S
from sciml.lowering import lower as common
from sciml.lowering.expressions import Entry, fmt_shape
from sciml.schemes import registry


def lower_equations(lowering, st):
    if st.options and st.kind not in common.CONDITIONS:
        lowering.fail("E267", f"`with` options belong to initial and boundary lines, not to {st.kind} "
                  "lines", st.options[0].span, "the interior points are the scheme's: "
                  "collocation(interior = sobol(2000))")
    pde_model = lowering.kind.domain
    for equation in st.equations:
        with lowering.checking():
            lowering.exprs.context = st.kind
            if st.kind == "ode":
                _ode(lowering, equation)
            elif st.kind == "sde":
                stochastic.lower_sde(equation, lowering)
            elif st.kind == "pde":
                fields.lower_pde(equation, lowering)
            elif pde_model:
                fields.lower_condition(equation, st.kind, st.options, lowering)
            elif st.options:
                lowering.fail("E267", "`with` options belong to the conditions of a PDE model",
                          st.options[0].span)
            else:
                _initial(lowering, equation)


def _ode(lowering, eq):
    state, order = common._derivative_of(eq.lhs)
    if state is None:
        lowering.fail("E302", "the left side of an ode is dt(state) or dt(dt(state))", eq.lhs.span)
    lowering.exprs.skip_if_failed(state)
    entry = lowering.scope.get(state)
    if entry is None or entry.kind != "state":
        lowering.fail("E303", f"'{state}' is not a state", eq.lhs.span, f"declare it: state {state} : R[n]")
    if any(e.state == state for e in lowering.equations):
        lowering.fail("E304", f"state '{state}' has two equations", eq.span, "keep one of them")
    rhs = lowering.lower(eq.rhs)
    if rhs.shape != entry.shape and not (rhs.shape in ((), (1,)) and entry.shape in ((), (1,))):
        lowering.fail("E207", f"dt({state}) is {fmt_shape(entry.shape)} but the right side is "
                  f"{fmt_shape(rhs.shape)}", eq.rhs.span)
    if rhs.expr.has(S.StateAt):
        lowering.fail("E217", "an ode right side cannot evaluate a state at a time", eq.rhs.span)
    data = next(common._data_fields(eq.rhs, lowering.scope), None)
    if data is not None:
        lowering.fail("E217", f"an ode right side cannot read data ({common._dotted(data)})", data.span,
                  "a right side depends on states, parameters, networks, constants and t only; "
                  "data enter through the initial values and the loss")
    lowering.equations.append(ir.Equation(state=state, order=order, rhs=rhs.expr, span=eq.span))


def _initial(lowering, eq):
    lhs = eq.lhs
    order = 0
    if isinstance(lhs, ast.CallOfCall):
        state, order = common._derivative_of(lhs.inner)
        time_args = lhs.args
    elif isinstance(lhs, ast.Call):
        state, time_args = lhs.func, lhs.args
    else:
        state = None
    lowering.exprs.skip_if_failed(state)
    if state is not None and lowering.scope.get(state, Entry("")).kind == "net" and order == 0:
        return _initial_network(lowering, eq, state, time_args)
    if state is None or lowering.scope.get(state, Entry("")).kind != "state":
        lowering.fail("E305", "an initial condition reads: initial Y(0) = value", eq.lhs.span)
    if len(time_args) != 1 or lowering.constant_value(time_args[0], "the initial time") != 0:
        lowering.fail("E306", "initial conditions are given at t = 0", eq.lhs.span)
    if any(i.state == state and i.order == order for i in lowering.initials):
        lowering.fail("E304", f"'{state}' has two initial conditions", eq.span)
    value = lowering.lower(eq.rhs)
    shape = lowering.scope[state].shape
    if value.shape != shape and value.shape not in ((), (1,)):
        lowering.fail("E207", f"{state}(0) is {fmt_shape(shape)} but the value is "
                  f"{fmt_shape(value.shape)}", eq.rhs.span)
    if value.batched and value.is_scalar and shape not in ((), (1,)):  # a number fills a
        # vector state; one value per sample does not (a .csv column x is a scalar field)
        lowering.fail("E509", f"{state}(0) is {fmt_shape(shape)} but the value has one entry per "
                  "sample", eq.rhs.span, f"a per-sample value has the {shape[0]} entries of the "
                  "state: a .csv gives a vector field x as the columns x[0], x[1], ..., a .npz "
                  f"as an array of shape (samples, {shape[0]})")
    lowering.initials.append(ir.InitialCondition(state=state, order=order, value=value.expr, span=eq.span))


def _initial_network(lowering, eq, name, time_args):
    """initial Z(0) = z0: the parameter that stands for a per-step network at step 0."""
    net = lowering.networks[name]
    if not net.index:
        lowering.fail("E305", f"'{name}' is a network; an initial value belongs to a state or to a "
                  "network per step (initial Z(0) = z0)", eq.lhs.span)
    if len(time_args) != 1 or lowering.integer(time_args[0], "the step", 0) != 0 or net.steps[0] != 1:
        lowering.fail("E306", f"a network per step takes an initial value at step 0, when its steps "
                      f"start at 1 (for {net.index} in 1..{net.steps[1]})", eq.lhs.span,
                      f"write initial {name}(0) = z0, with the network declared for "
                      f"{net.index} in 1..{net.steps[1]}")
    value = eq.rhs
    entry = lowering.scope.get(value.id) if isinstance(value, ast.Name) else None
    if entry is None or entry.kind != "param" or entry.shape != (net.widths[-1],):
        lowering.fail("E305", f"{name}(0) is a parameter of the network's output size, "
                  f"R[{net.widths[-1]}]", value.span, f"declare it: param z0 : R[{net.widths[-1]}]")
    if net.start:
        lowering.fail("E304", f"'{name}' has two initial values", eq.span)
    lowering.networks[name] = dataclasses.replace(net, start=value.id)


def _article(families: str) -> str:
    return families if families in ("collocation", "no scheme") else "the " + families if \
        families == "method of lines" else "a " + families


def lower_scheme_line(lowering, st):
    if lowering.scheme is not None:
        lowering.fail("E310", "a spec has one scheme", st.span)
    call = st.call
    handlers = {"collocation": discretizations.lower_collocation, "method_of_lines": discretizations.lower_method_of_lines}
    known = registry.NAMES + tuple(handlers)
    if call.func not in known:
        close = difflib.get_close_matches(call.func, known, n=1)
        lowering.fail("E401", f"unknown scheme '{call.func}'", call.func_span,
                  f"did you mean '{close[0]}'?" if close else "schemes: " + ", ".join(known))
    family = kinds.scheme_family(call.func)
    if family not in lowering.kind.schemes:
        takes = ", ".join(lowering.kind.schemes) or "no scheme"
        what = family if family == call.func else f"the {family} {call.func}"
        lowering.fail("E403", f"a model of kind {lowering.kind.name} takes {_article(takes)}, not {what}",
                      call.func_span, ("e.g. " + lowering.kind.suggestion) if lowering.kind.schemes
                  else "remove the scheme line")
    if call.func in handlers:
        lowering.scheme = handlers[call.func](call, lowering)
        return
    from sciml.lowering.scheme_line import lower_scheme
    lowering.scheme = lower_scheme(call, lowering)
