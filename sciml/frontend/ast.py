"""The syntax tree of a .sciml spec: what was written, with a span on every node.

Nodes are frozen; spans do not take part in equality, so two specs that differ only in
layout have equal trees.  The parser (`sciml.frontend.parser.parse`) is the only producer.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from sciml.frontend.diagnostics import Span

_node = dataclass(frozen=True, slots=True, kw_only=True)


def _span():
    return field(default=Span.unknown(), compare=False, repr=False)


def walk(node):
    """`node` and every node below it, in written order (depth first)."""
    yield node
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        for child in value if isinstance(value, tuple) else (value,):
            if dataclasses.is_dataclass(child) and not isinstance(child, Span):
                yield from walk(child)


# ---- expressions -------------------------------------------------------------------------

@_node
class Number:
    text: str
    span: Span = _span()


@_node
class Name:
    id: str
    span: Span = _span()


@_node
class BinOp:
    op: str  # one of + - * / ^
    left: "Expr"
    right: "Expr"
    span: Span = _span()


@_node
class Neg:
    operand: "Expr"
    span: Span = _span()


@_node
class Transpose:
    operand: "Expr"
    span: Span = _span()


@_node
class Norm:
    operand: "Expr"
    span: Span = _span()


@_node
class Attribute:
    base: "Expr"
    name: str
    span: Span = _span()


@_node
class Index:
    base: "Expr"
    indices: tuple
    span: Span = _span()


@_node
class ListLiteral:
    items: tuple
    span: Span = _span()


@_node
class Arrows:
    """`a -> b -> c`, the layer widths of a network."""

    items: tuple
    span: Span = _span()


@_node
class Keyword:
    """`name = value` inside a call."""

    name: str
    value: "Expr"
    span: Span = _span()


@_node
class Equation:
    lhs: "Expr"
    rhs: "Expr"
    span: Span = _span()


@_node
class Call:
    func: str
    args: tuple  # positional expressions, Equations and Keywords, in written order
    span: Span = _span()
    func_span: Span = _span()

    @property
    def positional(self) -> tuple:
        return tuple(a for a in self.args if not isinstance(a, Keyword))

    @property
    def keywords(self) -> tuple:
        return tuple(a for a in self.args if isinstance(a, Keyword))


@_node
class CallOfCall:
    """`dt(Y)(0)`: a derivative evaluated at a time."""

    inner: Call
    args: tuple
    span: Span = _span()


@_node
class SectionRef:
    """`initial` or `boundary` used as an argument, as in `fit(initial)`."""

    section: str
    span: Span = _span()


Expr = (Number, Name, BinOp, Neg, Transpose, Norm, Attribute, Index, ListLiteral, Arrows,
        Call, CallOfCall, SectionRef)


# ---- statements --------------------------------------------------------------------------

@_node
class ModelStmt:
    name: str
    kind: str = ""          # `model NAME : KIND`; "" when not written (an ode)
    kind_span: Span = _span()
    span: Span = _span()


@_node
class Binding:
    name: str
    value: "Expr"
    span: Span = _span()


@_node
class ConstStmt:
    bindings: tuple
    span: Span = _span()


@_node
class Interval:
    name: str
    low: "Expr"
    high: "Expr"
    span: Span = _span()


@_node
class DomainStmt:
    intervals: tuple
    span: Span = _span()


@_node
class DataStmt:
    name: str
    kind: str  # "generate" or "load"
    call: Call | None = None
    path: str = ""
    span: Span = _span()


@_node
class TypeExpr:
    base: str
    dims: tuple
    span: Span = _span()


@_node
class Declaration:
    name: str
    time_dependent: str | None  # the variable in `K(t)`, or None
    type: TypeExpr
    init_draw: Call | None = None
    init_value: "Expr | None" = None
    span: Span = _span()


@_node
class StateStmt:
    declarations: tuple
    span: Span = _span()


@_node
class ParamStmt:
    declarations: tuple
    span: Span = _span()


@_node
class NetHead:
    name: str
    inputs: tuple
    span: Span = _span()


@_node
class NetStmt:
    heads: tuple
    body: Call
    index: "Interval | None" = None   # `for n in 1..N-1`: one network per step n
    span: Span = _span()


@_node
class NoiseStmt:
    """`noise W : R[m]`: Brownian motions; dW is the increment over a step."""

    declarations: tuple
    span: Span = _span()


@_node
class LatentStmt:
    """`latent z : R[k] ~ normal(mean, std)`: reparameterized latent variables."""

    declarations: tuple
    span: Span = _span()


@_node
class EquationStmt:
    kind: str  # ode pde sde initial boundary
    equations: tuple
    options: tuple = ()   # the Keywords of `with points = 50, weight = 10`
    span: Span = _span()


@_node
class SchemeStmt:
    call: Call
    span: Span = _span()


@_node
class LossStmt:
    expr: "Expr"
    span: Span = _span()


@_node
class TrainStmt:
    stages: tuple
    span: Span = _span()


@_node
class ReportStmt:
    items: tuple
    options: tuple = ()   # the Keywords of `with data = test`: the data set the items are evaluated on
    span: Span = _span()


@_node
class NamedReport:
    """`name = expr` on a report line: the value's label in the results."""

    name: str
    expr: "Expr"
    span: Span = _span()


@_node
class FlowStmt:
    name: str
    index: str
    low: "Expr"
    high: "Expr"
    body: tuple
    span: Span = _span()


@_node
class Spec:
    statements: tuple
    span: Span = _span()
