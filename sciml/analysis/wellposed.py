"""Well-posedness findings that lowering does not already refuse.

Lowering guarantees one equation per state and an initial value per time derivative (E304,
E307, E308).  Here:

* A301 / A302: a parameter or network that is declared but read nowhere (warning);
* A303: a parameter or network that is read, but not by the loss, directly or through a state
  the loss reads: training never changes it (warning);
* smoothness: `rough_functions(expr, order, wrt)` lists the activations and functions in an
  expression that are not smooth enough for `order` derivatives in the variables `wrt` (ReLU is
  Lipschitz but has no second derivative).  A304 uses it for the order of the scheme (RK4 is
  fourth order for a C^4 right side); a loss that takes derivatives of a network (a physics
  residual, once the language has them) will use it with that order, as an error.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.frontend.diagnostics import Diagnostic, finding
from sciml.lowering.mathtext import expr_text
from sciml.schemes import registry

# The smoothness k of a function: C^k, and no more.  A Lipschitz function (relu, abs) also has
# a derivative almost everywhere, so derivatives up to order k + 1 are meaningful; order k + 2
# and beyond are zero almost everywhere with Dirac masses at the kinks.
INFINITE = 10**9
SMOOTHNESS = {
    "relu": 0, "abs": 0,
    "tanh": INFINITE, "sigmoid": INFINITE, "softplus": INFINITE, "sin": INFINITE,
    "cos": INFINITE, "exp": INFINITE, "tan": INFINITE,
}
_NODES = {S.Relu: "relu", sympy.Abs: "abs", sympy.tanh: "tanh", S.Sigmoid: "sigmoid",
          S.Softplus: "softplus", sympy.sin: "sin", sympy.cos: "cos", sympy.exp: "exp",
          sympy.tan: "tan"}


@dataclass(frozen=True)
class Rough:
    """A function in an expression with too few derivatives for the order asked."""

    function: str        # 'relu', or 'network F (relu)'
    smoothness: int      # it is C^smoothness
    order: int           # the derivative order asked
    where: str           # the subexpression, in the spec's notation

    @property
    def text(self) -> str:
        return (f"{self.function} is only C^{self.smoothness}"
                + (" (Lipschitz)" if self.smoothness == 0 else "")
                + f", so {self.where} has no derivative of order {self.order}")


def rough_functions(expr, order: int, wrt, networks=()) -> tuple[Rough, ...]:
    """The functions in `expr` that are too rough for `order` derivatives in the symbols `wrt`.

    A function f(u) of an argument that depends on `wrt` needs order - 1 <= smoothness(f)
    (derivatives up to k + 1 exist almost everywhere for a C^k Lipschitz function).  A network
    N(u) counts as its activation; grad(N, u) has already taken one derivative of N.
    `networks` are the model's `ir.Network`s."""
    wrt = {sympy.Symbol(w) if isinstance(w, str) else w for w in wrt}
    by_name = {n.name: n for n in networks}
    found: dict = {}

    def visit(e, extra):
        if not (e.free_symbols & wrt):
            return
        name = _NODES.get(e.func)
        if name is not None:
            k = SMOOTHNESS[name]
            if order + extra > k + 1:
                found.setdefault((name, expr_text(e)), Rough(name, k, order + extra, expr_text(e)))
        net_grad = getattr(S, "NetGrad", None)
        if isinstance(e, S.NetCall) or (net_grad is not None and isinstance(e, net_grad)):
            net = by_name.get(str(e.args[0]))
            taken = 1 if not isinstance(e, S.NetCall) else 0
            if net is not None:
                k = SMOOTHNESS.get(net.activation, INFINITE)
                if order + extra + taken > k + 1:
                    label = f"network {net.name} ({net.activation})"
                    found.setdefault((label, expr_text(e)),
                                     Rough(label, k, order + extra + taken, expr_text(e)))
        for a in e.args:
            if isinstance(a, sympy.Basic):
                visit(a, extra)

    visit(sympy.sympify(expr), 0)
    return tuple(found.values())


def findings(model: ir.Model) -> list[Diagnostic]:
    return _unused(model) + _scheme_smoothness(model)


def _names(expr) -> set:
    return {s.name for s in expr.free_symbols} if isinstance(expr, sympy.Basic) else set()


def _unused(model: ir.Model) -> list[Diagnostic]:
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
                               f"remove it, or use it in an equation or the loss", name=name, kind=what))
        elif name not in reached:
            out.append(finding("A303", "warning", f"{what} '{name}' does not affect the loss, so "
                               "training never changes it", span,
                               "it is read only where the loss does not look (a report, or a state "
                               "the loss does not read); use it in the loss or make it a const",
                               name=name, kind=what))
    return out


def _scheme_smoothness(model: ir.Model) -> list[Diagnostic]:
    if model.scheme is None:
        return []
    definition = registry.definition_of(model.scheme)
    order = definition.order
    if order < 2:
        return []
    out = []
    states = [s.name for s in model.states]
    for eq in model.equations:
        for rough in rough_functions(eq.rhs, order, states, model.networks):
            lhs = f"dt(dt({eq.state}))" if eq.order == 2 else f"dt({eq.state})"
            out.append(finding(
                "A304", "note", f"{definition.short} has order {order} for a right side with "
                f"{order} continuous derivatives, but in {lhs} {rough.text}", eq.span,
                "expect a lower order of convergence; a smooth activation (tanh, softplus) keeps it",
                function=rough.function, smoothness=rough.smoothness, order=order))
    return out
