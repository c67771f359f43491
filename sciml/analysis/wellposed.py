"""The smoothness pass: is each right side smooth enough for the scheme's order (A304, a note)?

Lowering guarantees one equation per state and an initial value per time derivative (E304,
E307, E308); declarations that nothing reads are `unused.py`'s.  Here
`rough_functions(expr, order, wrt)` lists the activations and functions in an expression that are
not smooth enough for `order` derivatives in the variables `wrt` (ReLU is Lipschitz but has no
second derivative).  A304 uses it for the order of the scheme (RK4 is fourth order for a C^4
right side); a loss that takes derivatives of a network (a physics residual, once the language
has them) will use it with that order, as an error.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from sciml.analysis.found import Found, Options
from sciml.frontend.diagnostics import finding
from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.lowering.mathtext import expr_text
from sciml.schemes import registry

# The smoothness k of a function: C^k, and no more.  A Lipschitz function (relu, abs) also has
# a derivative almost everywhere, so derivatives up to order k + 1 are meaningful; order k + 2
# and beyond are zero almost everywhere with Dirac masses at the kinks.
INFINITE = 10**9
SMOOTHNESS = {
    "relu": 0, "abs": 0,
    "tanh": INFINITE, "sigmoid": INFINITE, "softplus": INFINITE, "sin": INFINITE,
    "cos": INFINITE, "exp": INFINITE, "tan": INFINITE, "sinh": INFINITE, "cosh": INFINITE,
}
_NODES = {S.Relu: "relu", sympy.Abs: "abs", sympy.tanh: "tanh", S.Sigmoid: "sigmoid",
          S.Softplus: "softplus", sympy.sin: "sin", sympy.cos: "cos", sympy.exp: "exp",
          sympy.tan: "tan", sympy.sinh: "sinh", sympy.cosh: "cosh"}


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
        if isinstance(e, (S.NetCall, S.NetGrad)):
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


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    """A304 for each right side too rough for the scheme's order."""
    if model.scheme is None:
        return Found()
    definition = registry.definition_of(model.scheme)
    order = definition.order
    if order < 2:
        return Found()
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
    return Found(tuple(out))
