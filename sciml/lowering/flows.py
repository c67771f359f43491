"""Lower a `flow` statement: coupling layers (seed 000; NICE, RealNVP).

    net  s(j, x1), m(j, x1) = mlp(1 -> 64 -> 64 -> 1, tanh)
    flow g_inv for j in 1..8 { x2 = x2 * exp(s(j, x1)) + m(j, x1); swap(x1, x2) }

declares an invertible map g_inv of R[2 * half]: its input is split into the halves x1 and x2,
and each of the layers j = 1..8 runs the lines in the braces.  A network whose first input is
the layer index (s(j, x1)) has one set of weights per layer.  Each line is a coupling
(`x2 = ...` or `x1 = ...`, affine in its target, see coupling.py) or swap(x1, x2).  The half
size comes from the networks: their feature input is one half.
"""
from __future__ import annotations

import dataclasses

import sympy

from sciml.frontend import ast
from sciml.lowering import ir
from sciml.lowering.coupling import NotCoupling, affine_split, with_index
from sciml.lowering.expressions import Entry, fmt_shape
from sciml.lowering.mathtext import expr_text

HALVES = ("x1", "x2")


def lower_flow(st: ast.FlowStmt, lowering) -> ir.Flow:
    first = lowering.integer(st.low, "the first layer index", minimum=0)
    last = lowering.integer(st.high, "the last layer index", minimum=0)
    if last < first:
        lowering.fail("E601", f"the layers run from {first} to {last}: none", st.span,
                      f"write for {st.index} in 1..8 for eight layers")
    layers = last - first + 1
    if st.index in lowering.scope or st.index in HALVES:
        lowering.fail("E602", f"the layer index '{st.index}' is already a name", st.span,
                      "choose another index name, such as j")
    networks = _layer_networks(st, lowering)
    if not networks:
        lowering.fail("E603", f"a coupling layer reads the other half through a network whose "
                      f"first input is the layer index, as s({st.index}, x1)", st.span,
                      f"declare e.g.: net s({st.index}, x1), m({st.index}, x1) = mlp(1 -> 64 -> 1, tanh)")
    half = networks[0].widths[0]
    for net in networks:
        if len(net.inputs) != 2 or net.widths[0] != half or net.widths[-1] != half:
            lowering.fail("E604", f"network '{net.name}' of the coupling layers maps one half to "
                          f"one half ({half} -> ... -> {half} features, inputs ({st.index}, x1)); "
                          f"it is mlp({net.widths[0]} -> ... -> {net.widths[-1]}) with inputs "
                          f"({', '.join(net.inputs)})", net.span,
                          "both halves have the size of the first network's input")
    for net in networks:
        if net.layers and net.layers != layers:
            lowering.fail("E604", f"network '{net.name}' already has {net.layers} sets of weights, "
                          f"for the layers of another flow; this flow has {layers}", st.span,
                          "declare one set of networks per flow")
    for net in networks:   # one set of weights per layer
        per_layer = dataclasses.replace(net, layers=layers)
        lowering.networks[net.name] = per_layer
        lowering.scope[net.name] = Entry("net", node=per_layer)
    lines = _lines(st, lowering, half)
    if not any(isinstance(line, ir.Coupling) for line in lines):
        lowering.fail("E605", "a flow needs at least one coupling line, as x2 = x2 * exp(s(j, x1)) + m(j, x1)",
                      st.span)
    return ir.Flow(name=st.name, index=st.index, first=first, layers=layers, half=half, lines=tuple(lines),
                   span=st.span)


def _layer_networks(st, lowering) -> list:
    """The networks called with the layer index as first argument, in order of first use."""
    found = []
    for node in (n for line in st.body for n in ast.walk(line)):
        entry = lowering.scope.get(node.func) if isinstance(node, ast.Call) else None
        if entry is None or entry.kind != "net" or entry.node.inputs[0] != st.index:
            continue
        args = node.positional
        if args and isinstance(args[0], ast.Name) and args[0].id == st.index \
                and entry.node not in found:
            found.append(entry.node)
    return found


def _lines(st, lowering, half) -> list:
    exprs = lowering.exprs
    saved = {name: lowering.scope.get(name) for name in HALVES + (st.index,)}
    for name in HALVES:
        lowering.scope[name] = Entry("local", (half,), True)
    lowering.scope[st.index] = Entry("index")
    exprs.layer_index = st.index
    try:
        return [_line(line, lowering, half, st.index) for line in st.body]
    finally:
        exprs.layer_index = None
        for name, entry in saved.items():
            if entry is None:
                lowering.scope.pop(name, None)
            else:
                lowering.scope[name] = entry


def _line(line, lowering, half, index):
    if isinstance(line, ast.Call):
        names = [a.id for a in line.positional if isinstance(a, ast.Name)]
        if line.func != "swap" or line.keywords or sorted(names) != list(HALVES) or len(line.args) != 2:
            lowering.fail("E606", "a line of a flow is a coupling (x2 = ...) or swap(x1, x2)", line.span)
        return ir.Swap(span=line.span)
    if not isinstance(line.lhs, ast.Name) or line.lhs.id not in HALVES:
        lowering.fail("E606", "a coupling line sets one half: x2 = ... or x1 = ...", line.lhs.span)
    target, other = line.lhs.id, HALVES[1 - HALVES.index(line.lhs.id)]
    rhs = lowering.lower(line.rhs)
    if rhs.shape not in ((half,), (), (1,)):
        lowering.fail("E207", f"{target} is {fmt_shape((half,))} but the right side is "
                      f"{fmt_shape(rhs.shape)}", line.rhs.span)
    try:
        split = affine_split(rhs.expr, sympy.Symbol(target), sympy.Symbol(other), index)
    except NotCoupling as exc:
        written = expr_text(with_index(rhs.expr, index))
        lowering.fail("E607", f"{target} = {written} is not an invertible coupling: {exc}",
                      line.rhs.span, f"a coupling line reads {target} = {target} * exp(s(j, {other})) "
                      f"+ m(j, {other}) (RealNVP) or {target} = {target} + m(j, {other}) (NICE)")
    return ir.Coupling(target=target, rhs=rhs.expr, scale=split.scale, shift=split.shift,
                       log_scale=split.log_scale, inverse=split.inverse, span=line.span)
