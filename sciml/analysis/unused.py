"""The unused-declaration pass (warnings):

* A301 / A302: a parameter or network that is declared but read nowhere;
* A303: a parameter or network that is read, but not by the loss, directly or through a state
  the loss reads: training never changes it.
"""
from __future__ import annotations

import sympy

from sciml.analysis.found import Found, Options
from sciml.frontend.diagnostics import finding
from sciml.lowering import ir


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    equations = {e.state: _names(e.rhs) for e in model.equations}
    for flow in model.flows:   # a flow reads what its coupling lines read
        equations[flow.name] = set().union(*(_names(line.rhs) for line in flow.lines
                                             if isinstance(line, ir.Coupling)))
    initials: dict = {}
    for i in model.initials:
        initials.setdefault(i.state, set()).update(_names(i.value))
    everywhere = set().union(*equations.values(), *initials.values(), _names(model.loss),
                             *(_names(r.expr) for r in model.reports))
    # what the loss reads: its names, and through each state it reads, that state's equation
    # and initial values, transitively
    states = {s.name for s in model.states} | {f.name for f in model.flows}
    reached, todo = set(), list(_names(model.loss))
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        if name in states:
            todo.extend(equations.get(name, ()))
            todo.extend(initials.get(name, ()))
    out = []
    declared = [(p.name, p.span, "parameter", "A301") for p in model.parameters]
    declared += [(n.name, n.span, "network", "A302") for n in model.networks]
    for name, span, what, code in declared:
        if name not in everywhere:
            out.append(finding(code, "warning", f"{what} '{name}' is declared but never used", span,
                               "remove it, or use it in an equation or the loss", name=name, kind=what))
        elif name not in reached:
            out.append(finding("A303", "warning", f"{what} '{name}' does not affect the loss, so "
                               "training never changes it", span,
                               "it is read only where the loss does not look (a report, or a state "
                               "the loss does not read); use it in the loss or make it a const",
                               name=name, kind=what))
    return Found(tuple(out))


def _names(expr) -> set:
    return {s.name for s in expr.free_symbols} if isinstance(expr, sympy.Basic) else set()
