"""Lower syntax-tree expressions to sympy, checking names and shapes on the way.

A lowered expression is a `Typed`: the sympy expression, its per-sample shape, and its sample
axis: None (one value), the name of a data set (one value per sample of it), `paths` (SDE
paths), `points` (collocation points), `nodes` (grid nodes), `draws` (posterior draws), or
SAMPLES, the axis of an ODE's states, which takes the axis of the data it is combined with.
Combining two different axes elementwise is an error (E250); reductions say over which axis.  Shapes follow the maths:
`*` is the matrix product when its left factor is a matrix and elementwise otherwise.
No user text is ever handed to sympy's parser: numbers come from the NUMBER token, names
become `sympy.Symbol`s, and every operator is built explicitly.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

import sympy

from sciml.frontend import ast
from sciml.lowering import axes, limits
from sciml.lowering.axes import SAMPLES
from sciml.lowering import symbols as S
from sciml.frontend.diagnostics import DiagnosticSink, Span, SpecError, suggestion_pool
from sciml.lowering.arithmetic import Arithmetic
from sciml.lowering.calls import Calls
from sciml.lowering.family_calls import FamilyCalls




def _axis(value):
    """True (the old flag) is SAMPLES, False is no axis."""
    return SAMPLES if value is True else (None if value is False else value)


@dataclass(frozen=True, slots=True)
class Typed:
    expr: sympy.Basic
    shape: tuple
    axis: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "axis", _axis(self.axis))

    @property
    def batched(self) -> bool:
        return self.axis is not None

    @property
    def is_scalar(self) -> bool:
        return self.shape == () or self.shape == (1,)


class Unsupported(Exception):
    """A construct that the language has but this compiler does not generate yet."""

    def __init__(self, what: str, span: Span, help: str = ""):
        super().__init__(what)
        self.what, self.span, self.help = what, span, help


def number(text: str) -> sympy.Number:
    """The value of a NUMBER token (digits, optional fraction, optional exponent); the caller
    has checked it with `limits.literal_problem` (a 5000-digit integer cannot be converted)."""
    if text.isdigit():
        return sympy.Integer(int(text.lstrip("0") or "0"))
    return sympy.Float(float(text))


def _numeric(expr) -> bool:
    """A number, or a written-out vector or matrix of numbers."""
    if isinstance(expr, sympy.MatrixBase):
        return all(e.is_number for e in expr)
    return bool(getattr(expr, "is_number", False))


def fmt_shape(shape) -> str:
    return "scalar" if shape in ((), (1,)) else "R[" + ", ".join(str(d) for d in shape) + "]"


# what a name can be, as the scope sees it
@dataclass(frozen=True, slots=True)
class Entry:
    kind: str  # const state param net data time builtin
    shape: tuple = ()
    axis: str | None = None
    node: object = None

    def __post_init__(self):
        object.__setattr__(self, "axis", _axis(self.axis))

    @property
    def batched(self) -> bool:
        return self.axis is not None


FUNCTIONS = sorted(set(S.ELEMENTWISE) | {
    "softmax", "cross_entropy", "mse", "mean", "sum", "dot", "pad", "smooth_in_time", "accuracy",
    "dt", "d", "lap", "grad", "div", "jacobian", "linspace", "normal", "uniform", "fit", "nll",
    "elbo", "iwae", "kl", "dsm", "ritz_energy", "rel_l2", "std", "covariance", "trace", "argmax", "conv"})


class ExpressionLowering(Arithmetic, Calls, FamilyCalls):
    """Turns `ast` expressions into `Typed` sympy expressions against a scope of names."""

    def __init__(self, scope: dict, sink: DiagnosticSink, networks: dict, lowering=None, kind="ode"):
        self.scope = scope
        self.sink = sink
        self.networks = networks
        self.lowering = lowering
        self.kind = kind
        self.failed: set[str] = set()  # names whose declaration was rejected (already reported)
        self.state_at_spans: dict = {}  # StateAt -> where it is first written
        self.layer_index: str | None = None  # the index j while a flow's lines are lowered

    def skip_if_failed(self, name):
        """A use of a name whose declaration was rejected: skip it without a follow-on error."""
        if name in self.failed and name not in self.scope:
            raise SpecError(self.sink.items)

    # -- entry point -------------------------------------------------------------------------
    def lower(self, node) -> Typed:
        return NODES[type(node)](self, node)

    def fail(self, code, message, span, help=""):
        self.sink.error(code, message, span, help)
        raise SpecError(self.sink.items)

    # -- atoms -------------------------------------------------------------------------------
    def _Number(self, node):
        problem = limits.literal_problem(node.text)
        if problem:
            text = node.text
            shown = text if len(text) <= 24 else f"{text[:12]}... ({len(text)} characters)"
            self.fail("E230", limits.out_of_range_message(shown, problem), node.span,
                      limits.range_help(problem))
        return Typed(number(node.text), ())

    def _Name(self, node):
        entry = self.scope.get(node.id)
        if node.id == "pi" and entry is None:
            return Typed(sympy.pi, ())
        if node.id == "I" and entry is None:
            return Typed(S.IdentityMatrix(0), (0, 0))  # its size comes from the term it is added to
        family = self.family_name(node)
        if family is not None:
            return family
        if node.id == "t" and entry is None:
            self.fail("E217", "t is the time of a right-hand side (ode, sde) or a coordinate of "
                      "the domain", node.span, "declare it in the domain: domain x in [0, 1], t in [0, 1]")
        if entry is None:
            self.skip_if_failed(node.id)
            close = difflib.get_close_matches(node.id, suggestion_pool(self.scope), n=1)
            self.fail("E101", f"unknown name '{node.id}'", node.span,
                      f"did you mean '{close[0]}'?" if close else
                      "declare it with const, state, param, net or data")
        if entry.kind == "net":
            self.fail("E104", f"network '{node.id}' is used without arguments", node.span,
                      f"call it: {node.id}({', '.join(entry.node.inputs)})")
        if entry.kind == "data":
            self.fail("E106", f"data set '{node.id}' is used without a field", node.span,
                      "write e.g. " + node.id + "." + entry.node.fields[0].name)
        if entry.kind == "index":
            self.fail("E608", f"the layer index '{node.id}' only selects a network's weights",
                      node.span, f"pass it as a network's first argument: s({node.id}, x1)")
        if entry.kind == "flow":
            self.fail("E609", f"flow '{node.id}' is used in a likelihood: nll({node.id}, data.x)",
                      node.span, f"write nll({node.id}, train.x, latent = normal(0, 1))")
        return Typed(sympy.Symbol(node.id), entry.shape, entry.axis)

    def _Attribute(self, node):
        if isinstance(node.base, ast.Name):
            self.skip_if_failed(node.base.id)
        if not isinstance(node.base, ast.Name) or self.scope.get(node.base.id, Entry("")).kind != "data":
            self.fail("E106", "only data sets have fields (as in train.x)", node.span,
                      "for an inner product write dot(a, b)")
        dataset = self.scope[node.base.id].node
        field = dataset.field(node.name)
        if field is None:
            names = ", ".join(f.name for f in dataset.fields)
            self.fail("E105", f"data set '{dataset.name}' has no field '{node.name}'", node.span,
                      "its file is outside the folder of the spec (W101), so its fields are not listed"
                      if dataset.outside else f"its fields are: {names}")
        per_sample = dataset.batched and not (dataset.generator in ("ode", "ou_paths") and field.name == "t")
        return Typed(sympy.Symbol(f"{dataset.name}.{field.name}"), field.shape,
                     dataset.name if per_sample else None)

    def _ListLiteral(self, node):
        rows = [item for item in node.items if isinstance(item, ast.ListLiteral)]
        entries = sum(len(row.items) for row in rows) + len(node.items) - len(rows)
        if entries > limits.MAX_LITERAL_ENTRIES:   # counted before a single entry is lowered
            what = "matrix" if rows else "vector"
            self.fail("E231", f"this written-out {what} has {entries:,} entries, more than the limit "
                      f"of {limits.MAX_LITERAL_ENTRIES:,}", node.span,
                      "a constant this large belongs in a data file: data d = load \"d.npz\"")
        if all(isinstance(item, ast.ListLiteral) for item in node.items):
            entries = [[self.lower(x) for x in item.items] for item in node.items]
            widths = {len(r) for r in entries}
            if len(widths) != 1:
                self.fail("E211", "the rows of this matrix have different lengths", node.span)
            flat = [e for r in entries for e in r]
            if any(e.shape not in ((), (1,)) or e.batched for e in flat):
                self.fail("E211", "matrix entries must be scalars", node.span)
            values = [e.expr for r in entries for e in r]
            n_rows, n_cols = len(entries), widths.pop()
            if all(v.is_number for v in values):
                return Typed(sympy.ImmutableMatrix(n_rows, n_cols, values), (n_rows, n_cols))
            return Typed(S.MatrixOf(n_rows, n_cols, *values), (n_rows, n_cols))
        rows = [self.lower(item) for item in node.items]
        if any(r.shape not in ((), (1,)) or r.batched for r in rows):
            self.fail("E211", "vector entries must be scalars", node.span)
        values = [r.expr for r in rows]
        if not all(v.is_number for v in values):
            raise Unsupported("vectors built from parameters", node.span,
                              "declare the vector as a param")
        return Typed(sympy.ImmutableMatrix(len(values), 1, values), (len(values),))

    # -- operators ---------------------------------------------------------------------------
    def _Neg(self, node):
        x = self.lower(node.operand)
        return Typed(-x.expr, x.shape, x.axis)

    def _Transpose(self, node):
        x = self.lower(node.operand)
        if len(x.shape) != 2:
            self.fail("E210", f"only matrices can be transposed; this is {fmt_shape(x.shape)}",
                      node.span, "for an inner product of vectors write dot(a, b)")
        return Typed(S.Transposed(x.expr), (x.shape[1], x.shape[0]), x.axis)

    def _Norm(self, node):
        x = self.lower(node.operand)
        if x.batched:
            return Typed(S.SampleNorm(x.expr), (), x.axis)
        if _numeric(x.expr):   # |3|, |[3, 4]|: a number the emitted module can hold
            return self._in_range(Typed(S.numeric_form(S.FrobeniusNorm(x.expr)), ()), node, "this norm")
        return Typed(S.FrobeniusNorm(x.expr), (), False)

    @staticmethod
    def fmt(shape) -> str:
        return fmt_shape(shape)

    def join(self, node, *values: Typed) -> str | None:
        """The sample axes of an elementwise combination of `values` (E250 when two differ)."""
        try:
            return axes.join(*(v.axis for v in values))
        except axes.AxisConflict as exc:
            self.fail("E250", f"this combines values over two different sample axes, "
                      f"'{exc.first}' and '{exc.second}', entry by entry", node.span,
                      f"reduce one of them first, e.g. mean(..., over = {exc.second})")

    @staticmethod
    def _scalar(x: Typed) -> bool:
        return x.shape in ((), (1,))

    def _identity_shape(self, node, left, right):
        for mine, other in ((left, right), (right, left)):
            if mine.expr.has(S.IdentityMatrix) and len(other.shape) == 2:
                return other.shape
        return None

    def _fill_identity(self, x: Typed, shape, span):
        if not x.expr.has(S.IdentityMatrix):
            return x
        if shape[0] != shape[1]:
            self.fail("E202", f"the identity I is square but the other term is {fmt_shape(shape)}",
                      span, "I + A needs a square matrix A")
        expr = x.expr.replace(lambda e: isinstance(e, S.IdentityMatrix) and e.args[0] == 0,
                              lambda e: S.IdentityMatrix(shape[0]))
        return Typed(expr, shape, x.axis)

    def _broadcast(self, node, left, right, verb):
        if self._scalar(left):
            return right.shape
        if self._scalar(right) or left.shape == right.shape:
            return left.shape
        self.fail("E201", f"cannot {verb} {fmt_shape(left.shape)} and {fmt_shape(right.shape)}",
                  node.span, "both sides need the same shape (or one of them a scalar)")

    # -- calls -------------------------------------------------------------------------------
    def _Call(self, node):
        entry = self.scope.get(node.func)
        if entry is not None and entry.kind == "net":
            return self._network_call(node, entry.node)
        if entry is not None and entry.kind == "state":
            return self._state_at(node, entry)
        if entry is not None and entry.kind in ("param", "const", "data", "local", "index", "flow"):
            self.fail("E107", f"'{node.func}' is a {entry.kind}, not a function", node.func_span)
        if entry is None:
            self.skip_if_failed(node.func)
        method = CALLS.get(node.func)
        if method is not None:
            return method(self, node)
        if node.func in S.ELEMENTWISE:
            (x,) = self._positional(node, 1)
            function = S.ELEMENTWISE[node.func]
            if isinstance(x.expr, sympy.MatrixBase):   # a written-out vector: entry by entry
                value = x.expr.applyfunc(lambda entry: S.numeric_form(function(entry)))
            else:
                # a symbolic argument: no automatic evaluation (sympy's tanh(tanh(...)) asks
                # is_real of its argument through as_real_imag, exponential in the nesting)
                value = S.numeric_form(function(x.expr)) if _numeric(x.expr) else function(x.expr, evaluate=False)
            if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I):
                self.fail("E209", f"{node.func}(...) of this value is not a finite real number", node.span)
            return self._in_range(Typed(value, x.shape, x.axis), node, f"{node.func}(...) of this value")
        close = difflib.get_close_matches(node.func, FUNCTIONS + suggestion_pool(self.networks), n=1)
        self.fail("E103", f"unknown function '{node.func}'", node.func_span,
                  f"did you mean '{close[0]}'?" if close else "see docs/language.md for the functions")

    def _positional(self, node, count, keywords=()):
        for kw in node.keywords:
            if kw.name not in keywords:
                self.fail("E206", f"{node.func}() takes no argument '{kw.name}'", kw.span)
        args = node.positional
        if len(args) != count:
            self.fail("E206", f"{node.func}() takes {count} argument{'s' if count != 1 else ''}, "
                      f"got {len(args)}", node.span)
        return [self.lower(a) for a in args]

    def _network_call(self, node, net):
        if len(node.positional) != len(net.inputs) or node.keywords:
            self.fail("E206", f"network '{net.name}' takes {len(net.inputs)} input(s) "
                      f"({', '.join(net.inputs)}), got {len(node.args)}", node.span)
        arguments = node.positional
        if net.index:   # one network per time step, picked by the step index
            index = arguments[0] if arguments else None
            if self.context not in ("ode", "sde") or not isinstance(index, ast.Name) or index.id != net.index:
                where = "in an equation" if self.context in ("ode", "sde") else "in its equations only"
                self.fail("E608", f"network '{net.name}' has one set of weights per time step: it is called "
                          f"{where}, as {net.name}({net.index}, ...)", node.span,
                          f"the step index {net.index} exists inside the time loop; the loss reads states, "
                          "such as Y(T)")
            arguments = arguments[1:]
        if net.layers:   # one set of weights per coupling layer, picked by the layer index
            index = arguments[0]
            if self.layer_index is None or not isinstance(index, ast.Name) or index.id != self.layer_index:
                self.fail("E608", f"network '{net.name}' has one set of weights per coupling layer: "
                          f"it is called inside its flow, as {net.name}({net.inputs[0]}, ...)", node.span)
            arguments = arguments[1:]
        inputs = [self.lower(a) for a in arguments]
        size = sum(1 if self._scalar(x) else x.shape[0] for x in inputs)
        if any(len(x.shape) > 1 for x in inputs) or size != net.widths[0]:
            got = " + ".join(fmt_shape(x.shape) for x in inputs)
            self.fail("E205", f"network '{net.name}' expects {net.widths[0]} input features, "
                      f"got {got}", node.span, f"its first width is {net.widths[0]}")
        axis = self.join(node, *inputs)
        if net.posterior or net.ensemble:   # one output per posterior draw, or per member
            axis = axes.join(axis, axes.DRAWS)
        return Typed(S.NetCall(sympy.Symbol(net.name), *(x.expr for x in inputs)),
                     (net.widths[-1],), axis)

    # -- forms valid elsewhere only ------------------------------------------------------------
    def _Index(self, node):
        raise Unsupported("indexing", node.span)

    def _Arrows(self, node):
        self.fail("E218", "'->' lists layer widths and belongs inside mlp(...)", node.span)

    def _CallOfCall(self, node):
        self.fail("E217", "a derivative at a time belongs in an initial condition", node.span)

    def _SectionRef(self, node):
        self.fail("E254", f"'{node.section}' names a section of conditions inside fit({node.section})",
                  node.span)

    def _Keyword(self, node):
        self.fail("E206", f"unexpected keyword argument '{node.name}'", node.span)

    def _Equation(self, node):
        self.fail("E219", "an equation cannot stand inside an expression", node.span)


# What lowers each kind of syntax-tree node, and each function by name.
E = ExpressionLowering
NODES = {ast.Number: E._Number, ast.Name: E._Name, ast.Attribute: E._Attribute,
         ast.ListLiteral: E._ListLiteral, ast.Neg: E._Neg, ast.Transpose: E._Transpose,
         ast.Norm: E._Norm, ast.BinOp: E._BinOp, ast.Call: E._Call, ast.Index: E._Index,
         ast.Arrows: E._Arrows, ast.CallOfCall: E._CallOfCall, ast.SectionRef: E._SectionRef,
         ast.Keyword: E._Keyword, ast.Equation: E._Equation}
CALLS = {
    # the ODE family and flows (calls.py)
    "softmax": E._call_softmax, "cross_entropy": E._call_cross_entropy, "accuracy": E._call_accuracy,
    "mse": E._call_mse, "mean": E._call_mean, "sum": E._call_sum, "min": E._call_min,
    "max": E._call_max, "div": E._call_div,
    "dot": E._call_dot, "pad": E._call_pad, "smooth_in_time": E._call_smooth_in_time,
    "grad": E._call_grad, "nll": E._call_nll, "linspace": E._call_linspace,
    "normal": E._call_normal, "dt": E._call_dt,
    # the other families (family_calls.py)
    "d": E._call_d, "lap": E._call_lap, "conv": E._call_conv, "jacobian": E._call_jacobian,
    "std": E._call_std,
    "covariance": E._call_covariance, "trace": E._call_trace, "argmax": E._call_argmax,
    "fit": E._call_fit, "ritz_energy": E._call_ritz_energy, "rel_l2": E._call_rel_l2,
    "dsm": E._call_dsm, "elbo": E._call_elbo, "iwae": E._call_iwae, "kl": E._call_kl, "uniform": E._call_uniform,
    "bernoulli": E._call_bernoulli,
}
