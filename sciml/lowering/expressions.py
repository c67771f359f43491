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
from sciml.lowering import family_symbols as F
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
    "elbo", "kl", "dsm", "ritz_energy", "rel_l2", "std", "covariance", "trace", "argmax"})


class ExpressionLowering(FamilyCalls):
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
        method = getattr(self, "_" + type(node).__name__)
        return method(node)

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

    def _BinOp(self, node):
        left, right = self.lower(node.left), self.lower(node.right)
        if node.op != "^" and _numeric(left.expr) and _numeric(right.expr):
            what = {"+": "this sum", "-": "this difference", "*": "this product", "/": "this quotient"}
            return self._in_range(self._binop(node, left, right), node, what[node.op])
        return self._binop(node, left, right)

    def _binop(self, node, left: Typed, right: Typed) -> Typed:
        batched = self.join(node, left, right)
        if node.op in "+-*" and isinstance(left.expr, sympy.MatrixBase) != isinstance(right.expr, sympy.MatrixBase):
            return self._mix_constant(node, left, right)
        if node.op in "+-":
            shape = self._identity_shape(node, left, right)
            if shape is not None:
                left, right = (self._fill_identity(x, shape, node.span) for x in (left, right))
            shape = self._broadcast(node, left, right, "add" if node.op == "+" else "subtract")
            expr = left.expr + right.expr if node.op == "+" else left.expr - right.expr
            return Typed(expr, shape, batched)
        if node.op == "*":
            if len(left.shape) == 2 and len(right.shape) in (1, 2) and not self._scalar(right):
                if left.shape[1] != right.shape[0]:
                    self.fail("E202", f"matrix product of {fmt_shape(left.shape)} and "
                              f"{fmt_shape(right.shape)}: inner dimensions {left.shape[1]} and "
                              f"{right.shape[0]} differ", node.span,
                              "check the shapes in the param and state declarations")
                shape = (left.shape[0],) + tuple(right.shape[1:])
                return Typed(S.MatProduct(left.expr, right.expr), shape, batched)
            if len(right.shape) == 2 and not self._scalar(left) and len(left.shape) == 1:
                self.fail("E202", f"a vector ({fmt_shape(left.shape)}) times a matrix "
                          f"({fmt_shape(right.shape)})", node.span,
                          "vectors are columns: write the matrix first, or transpose it")
            shape = self._broadcast(node, left, right, "multiply")
            if isinstance(left.expr, sympy.MatrixBase) and isinstance(right.expr, sympy.MatrixBase):
                return Typed(left.expr.multiply_elementwise(right.expr), shape, batched)
            return Typed(left.expr * right.expr, shape, batched)
        if node.op == "/":
            if not self._scalar(right) and right.shape != left.shape:
                self.fail("E212", f"division by {fmt_shape(right.shape)}: the divisor must be a "
                          "scalar or have the same shape", node.span)
            if isinstance(right.expr, sympy.MatrixBase) or right.expr.is_zero:
                self.fail("E212", "division by zero" if right.expr.is_zero else "division by a "
                          "written-out vector", node.right.span, "divide by a nonzero scalar")
            shape = left.shape if not self._scalar(left) else right.shape
            return Typed(left.expr / right.expr, shape, batched)
        # power
        if not self._scalar(right) or right.batched or isinstance(right.expr, sympy.MatrixBase):
            self.fail("E209", "the exponent must be a scalar", node.right.span)
        if len(left.shape) == 2:
            self.fail("E209", f"power of a matrix ({fmt_shape(left.shape)})", node.span,
                      "powers act elementwise on vectors; write A * A for a matrix product")
        if isinstance(left.expr, sympy.MatrixBase):  # a constant vector, elementwise
            value = left.expr.applyfunc(lambda entry: self._power(node, entry, right.expr))
        else:
            value = self._power(node, left.expr, right.expr)
        if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I):
            self.fail("E209", "this power is not a finite real number", node.span)
        return self._in_range(Typed(value, left.shape, batched), node, "this power")

    def _power(self, node, base, exponent):
        """base^exponent, its size judged before it is computed: 9^9^9 would take sympy hours
        (and 2^2^2^2^2^2 forever)."""
        try:
            return limits.guarded_power(base, exponent)
        except limits.OutOfRange as exc:
            self.out_of_range(exc, node.span, "this power")

    def out_of_range(self, exc: "limits.OutOfRange", span, what: str = "this value"):
        what = f"{what} (about {limits.magnitude_text(exc.digits)})"
        self.fail("E230", limits.out_of_range_message(what, exc.problem), span,
                  limits.range_help(exc.problem))

    def _in_range(self, value: Typed, node, what: str) -> Typed:
        """`value` when it is not a number, or a number a float64 holds; else E230 at `node`."""
        if _numeric(value.expr):
            problem = limits.range_problem(value.expr)
            if problem:
                self.fail("E230", limits.out_of_range_message(what, problem), node.span,
                          limits.range_help(problem))
        return value

    @staticmethod
    def _mix_constant(node, left: Typed, right: Typed) -> Typed:
        """A constant vector or matrix written out, combined with a number (folded entry by
        entry) or with anything else (not supported yet: sympy would expand it wrongly)."""
        matrix, other = (left, right) if isinstance(left.expr, sympy.MatrixBase) else (right, left)
        if not other.expr.is_number:
            raise Unsupported("sums and products of written-out vectors with states or parameters",
                              node.span, "declare the vector as a const and use its name")
        value = {"+": lambda e: e + other.expr, "*": lambda e: e * other.expr,
                 "-": (lambda e: e - other.expr) if matrix is left else (lambda e: other.expr - e)}[node.op]
        return Typed(matrix.expr.applyfunc(value), matrix.shape, matrix.axis)

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
        method = getattr(self, "_call_" + node.func, None)
        if method is not None:
            return method(node)
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
                self.fail("E608", f"network '{net.name}' has one set of weights per time step: it is called "
                          f"in an equation, as {net.name}({net.index}, ...)", node.span)
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
        if net.posterior:   # one output per posterior draw of the weights
            axis = axes.join(axis, axes.DRAWS)
        return Typed(S.NetCall(sympy.Symbol(net.name), *(x.expr for x in inputs)),
                     (net.widths[-1],), axis)

    def _state_at(self, node, entry):
        """Y(T): the state at a time known at compile time; Y(obs.t): at a data set's times;
        on a grid, u(data.x, data.t): at a data set's nodes and times."""
        if self.kind == "grid_pde":
            return self._grid_state_at(node, entry)
        (time,) = self._positional(node, 1)
        value = self._const_value(time.expr, node.span)
        if value.is_number and value.is_real:
            at = Typed(S.StateAt(sympy.Symbol(node.func), value), entry.shape, True)
        elif self._data_times(time):
            shape = entry.shape if self._scalar(time) else time.shape + entry.shape
            at = Typed(S.StateAt(sympy.Symbol(node.func), time.expr), shape, True)
        else:
            self.fail("E213", f"{node.func}(...) is taken at a number known at compile time or at "
                      "the times of a data set", node.span, f"write {node.func}(T) for the final "
                      f"state, or {node.func}(obs.t) with obs = generate ode(..., t = linspace(...))")
        self.state_at_spans.setdefault(at.expr, node.span)
        return at

    def _data_times(self, time: Typed) -> bool:
        """Whether `time` is the field t (the times, shared by all samples) of generate ode(...)."""
        name = str(time.expr) if isinstance(time.expr, sympy.Symbol) else ""
        entry = self.scope.get(name.split(".")[0]) if name.endswith(".t") else None
        return (entry is not None and entry.kind == "data" and entry.node.generator in ("ode", "ou_paths")
                and not time.axis)

    def _grid_state_at(self, node, entry):
        """u(data.x, data.t): the grid state at the nodes and times of a data set on the grid."""
        x, time = self._positional(node, 2)
        names = [str(v.expr) for v in (x, time)]
        sets = {n.split(".")[0] for n in names if "." in n}
        if len(sets) != 1 or [n.split(".")[-1] for n in names] != ["x", "t"]:
            self.fail("E213", f"{node.func}(...) on a grid is taken at a data set's nodes and times: "
                      f"{node.func}(data.x, data.t)", node.span)
        shape = (time.shape[0] if time.shape else 1, x.shape[0] if x.shape else 1)
        at = Typed(S.StateAt(sympy.Symbol(node.func), time.expr), shape, None)
        self.state_at_spans.setdefault(at.expr, node.span)
        return at

    def _const_value(self, expr, span):
        values = {s: self.scope[str(s)].node.value for s in getattr(expr, "free_symbols", ())
                  if self.scope.get(str(s), Entry("")).kind == "const"}   # not the whole scope: linear
        try:
            return S.numeric_form(limits.substitute(expr, values))
        except limits.OutOfRange as exc:
            self.out_of_range(exc, span)

    def _call_softmax(self, node):
        (x,) = self._positional(node, 1)
        return Typed(S.SoftmaxOf(x.expr), x.shape, x.axis)

    def _call_cross_entropy(self, node):
        probabilities, labels = self._positional(node, 2)
        if isinstance(probabilities.expr, F.MeanOver) and isinstance(probabilities.expr.args[0], S.SoftmaxOf):
            # probabilities averaged over posterior draws (seed 000): -log of the averaged probability
            return Typed(S.SoftmaxCrossEntropy(probabilities.expr, labels.expr), ())
        if not isinstance(probabilities.expr, S.SoftmaxOf):
            self.fail("E214", "cross_entropy expects softmax(...) as its first argument",
                      node.positional[0].span, "write cross_entropy(softmax(W * Y(T) + mu), labels)")
        return Typed(S.SoftmaxCrossEntropy(probabilities.expr.args[0], labels.expr), ())

    def _call_accuracy(self, node):
        logits, labels = self._positional(node, 2)
        inner = logits.expr.args[0] if isinstance(logits.expr, S.SoftmaxOf) else logits.expr
        return Typed(S.Accuracy(inner, labels.expr), ())

    def _call_mse(self, node):
        a, b = self._positional(node, 2)
        if a.shape != b.shape:
            self.fail("E201", f"mse of {fmt_shape(a.shape)} and {fmt_shape(b.shape)}", node.span,
                      "both arguments need the same shape")
        return Typed(S.MeanSquaredError(a.expr, b.expr), ())

    def _call_mean(self, node):
        if any(kw.name == "over" for kw in node.keywords):
            return self.reduction(node, F.MeanOver)
        (x,) = self._positional(node, 1)
        return Typed(S.MeanOf(x.expr), ())

    def _call_sum(self, node):
        (x,) = self._positional(node, 1)
        return Typed(S.SumOf(x.expr), ())

    def _call_div(self, node):
        first = node.positional[0] if node.positional else None
        entry = self.scope.get(first.func) if isinstance(first, ast.Call) else None
        if entry is not None and entry.kind == "net":
            return self.network_divergence(node)
        return self.space_divergence(node)

    @staticmethod
    def fmt(shape) -> str:
        return fmt_shape(shape)

    def _call_dot(self, node):
        a, b = self._positional(node, 2)
        if a.shape != b.shape or len(a.shape) != 1:
            self.fail("E201", f"dot of {fmt_shape(a.shape)} and {fmt_shape(b.shape)}", node.span,
                      "dot takes two vectors of the same length")
        return Typed(S.InnerProduct(a.expr, b.expr), (), a.batched or b.axis)

    def _call_pad(self, node):
        x, n = self._positional(node, 2)
        n = Typed(self._const_value(n.expr, node.span), n.shape)
        if not n.expr.is_Integer or len(x.shape) != 1 or x.shape[0] > int(n.expr):
            self.fail("E215", "pad(x, n) needs a vector x of length at most the integer n", node.span)
        return Typed(S.PadTo(x.expr, n.expr), (int(n.expr),), x.axis)

    def _call_smooth_in_time(self, node):
        if node.keywords or not node.positional:
            self.fail("E206", "smooth_in_time takes one or more per-step parameters", node.span)
        for arg in node.positional:
            if isinstance(arg, ast.Name):
                self.skip_if_failed(arg.id)
            entry = self.scope.get(arg.id) if isinstance(arg, ast.Name) else None
            if entry is None or entry.kind != "param" or not entry.node.per_step:
                self.fail("E216", "smooth_in_time takes parameters declared per step, as K(t)",
                          arg.span)
        return Typed(S.SmoothInTime(*(sympy.Symbol(a.id) for a in node.positional)), ())

    def _call_grad(self, node):
        """grad(N, x): the gradient of a scalar network N of one input, evaluated at x."""
        first = node.positional[0] if node.positional else None
        entry = self.scope.get(first.id) if isinstance(first, ast.Name) else None
        if len(node.positional) == 1 and not (entry is not None and entry.kind == "net" and not entry.node.field):
            return self.space_gradient(node)
        if entry is None or entry.kind != "net" or len(node.positional) != 2:
            self.fail("E240", "grad(u) is the gradient of a field in the space coordinates; grad(V, q) "
                      "the gradient of a network V of one input at q", node.span)
        net = entry.node
        if node.keywords:
            self.fail("E206", f"grad() takes no argument '{node.keywords[0].name}'", node.keywords[0].span)
        if len(net.inputs) != 1 or net.widths[-1] != 1:
            self.fail("E240", f"grad({net.name}, x) needs a network of one input with one output; "
                      f"'{net.name}' has {len(net.inputs)} input(s) and {net.widths[-1]} output(s)",
                      node.span, f"declare it as: net {net.name}(x) = mlp({net.widths[0]} -> ... -> 1, ...)")
        x = self.lower(node.positional[1])
        size = 1 if self._scalar(x) else x.shape[0]
        if len(x.shape) > 1 or size != net.widths[0]:
            self.fail("E205", f"network '{net.name}' expects {net.widths[0]} input features, "
                      f"got {fmt_shape(x.shape)}", node.positional[1].span)
        return Typed(S.NetGrad(sympy.Symbol(net.name), x.expr), (net.widths[0],), x.axis)

    def _call_nll(self, node):
        """nll(g_inv, data.x, latent = normal(mean, std)): the flow's negative log-likelihood."""
        args = node.positional
        entry = self.scope.get(args[0].id) if args and isinstance(args[0], ast.Name) else None
        if len(args) != 2 or entry is None or entry.kind != "flow":
            if args and isinstance(args[0], ast.Name):
                self.skip_if_failed(args[0].id)
            self.fail("E609", "nll takes a flow and the data it maps to the latent space",
                      node.span, "write nll(g_inv, train.x, latent = normal(0, 1))")
        flow = entry.node
        x = self.lower(args[1])
        if x.shape != (flow.size,):
            self.fail("E207", f"flow '{flow.name}' maps R[{flow.size}] (two halves of {flow.half}), "
                      f"but this is {fmt_shape(x.shape)}", args[1].span)
        mean, std = sympy.S.Zero, sympy.S.One
        for kw in node.keywords:
            if kw.name != "latent":
                self.fail("E206", f"nll() takes no argument '{kw.name}'", kw.span,
                          "the one option is latent = normal(mean, std)")
            value = kw.value
            if not isinstance(value, ast.Call) or value.func != "normal" or len(value.positional) != 2 \
                    or value.keywords:
                self.fail("E610", "the latent distribution is normal(mean, std)", value.span)
            mean, std = (self._const_value(self.lower(a).expr, a.span) for a in value.positional)
            if not (mean.is_number and std.is_number and mean.is_real and std.is_positive):
                self.fail("E610", "normal(mean, std) takes numbers, std > 0", value.span)
        return Typed(S.FlowNll(sympy.Symbol(flow.name), x.expr, mean, std), ())

    def _call_linspace(self, node):
        self.fail("E103", "linspace(...) may appear only as the times of a generated data set, "
                  "in generate ode(..., t = linspace(start, stop, count))", node.func_span,
                  "generate the data set, then use its times: Y(obs.t)")

    def _call_normal(self, node):
        self.fail("E103", "normal(...) may appear only after '~' in a param declaration or as the "
                  "initial value in generate ode(...)", node.func_span,
                  "write e.g. param K : R[n, n] ~ normal(0, 0.1)")

    def _call_dt(self, node):
        if self.context in ("pde", "condition") and self.kind == "pinn":
            return self.pde_time_derivative(node)
        self.fail("E217", "dt(...) may appear only on the left of an ode equation", node.span,
                  "write: ode dt(Y) = ...")

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
