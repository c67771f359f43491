"""Lower a syntax tree to the IR `Model`: resolve names, evaluate constants, check shapes,
and check that the model is complete (one equation and initial condition per state, a scheme
that fits the equations, a scalar loss, a training plan).

All errors of a statement are collected; a statement with an error is skipped so that later
statements still get checked against the rest.  A name whose declaration failed is marked, and
its uses are skipped silently (no follow-on "unknown name").  Constructs that are not supported
yet (E901) are reported together with the real errors.

The model's kind (`model NAME : KIND`, sciml/lowering/kinds.py) says which statements it
takes and what it needs; the families' statements are lowered in fields.py (PDEs),
stochastic.py (noise, SDEs, latents), and their expressions in family_calls.py.
"""
from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from pathlib import Path

import sympy

from sciml.frontend import ast
from sciml.lowering import ir
from sciml.lowering import limits
from sciml.lowering import symbols as S
from sciml.frontend.diagnostics import DiagnosticSink, Span, SpecError, TooManyErrors
from sciml.lowering.expressions import Entry, ExpressionLowering, Typed, Unsupported
from sciml.lowering import discretizations, fields, kinds, randomness, stochastic

RESERVED = {"pi": "the constant pi", "I": "the identity matrix", "t": "time", "dt": "the time derivative"}
# Declarations first (in written order), then the statements that use them.  Equations come
# in two passes: conditions (initial, boundary) after the equations, so fit(...) and the grid's
# boundary know them; the scheme before the loss, which may read its options (dsm's T).
ORDER = (ast.ModelStmt, ast.ConstStmt, ast.DomainStmt, ast.DataStmt, ast.NoiseStmt, ast.StateStmt,
         ast.ParamStmt, ast.NetStmt, ast.LatentStmt, ast.FlowStmt, ast.EquationStmt, ast.SchemeStmt,
         ast.LossStmt, ast.TrainStmt, ast.ReportStmt)
CONDITIONS = ("initial", "boundary")


class _Lowering:
    def __init__(self, spec: ast.Spec, spec_dir: Path):
        self.spec = spec
        self.spec_dir = spec_dir
        self.sink = DiagnosticSink()
        self.scope: dict[str, Entry] = {}
        self.networks: dict[str, ir.Network] = {}
        self.kind = kinds.KINDS[kinds.kind_of(spec, self.sink)]
        self.exprs = ExpressionLowering(self.scope, self.sink, self.networks, self, self.kind.name)
        self.domain, self.noises, self.latents, self.residuals, self.conditions = [], [], [], [], []
        self.loss_has_energy = False
        self.current_statement = None
        self.model_name = None
        self.constants, self.datasets, self.states, self.parameters = [], [], [], []
        self.equations, self.initials, self.reports, self.training = [], [], [], []
        self.scheme = None
        self.flows = []
        self.loss = None
        self.loss_terms = ()
        self.unsupported: list = []

    # -- driver -------------------------------------------------------------------------------
    def run(self) -> ir.Model:
        try:
            return self._run()
        except TooManyErrors:  # the sink took its error MAX_ERRORS + 1: stop there (E008)
            raise SpecError(self.unsupported + self.sink.items) from None

    def _run(self) -> ir.Model:
        statements = self.spec.statements
        if not statements or not isinstance(statements[0], ast.ModelStmt):
            span = statements[0].span if statements else Span.unknown()
            self.sink.error("E301", "a spec starts with `model NAME`", span,
                            "add a first line such as: model my_model")
        for kind in ORDER:
            for statement in statements:
                if isinstance(statement, kind) and not (kind is ast.EquationStmt
                                                        and statement.kind in CONDITIONS):
                    self._guarded(statement)
            if kind is ast.EquationStmt:   # then the conditions, which may read the equations
                for statement in statements:
                    if isinstance(statement, kind) and statement.kind in CONDITIONS:
                        self._guarded(statement)
        if self.unsupported or self.sink.has_errors:  # E901 alongside the real errors, by position
            raise SpecError(self.unsupported + self.sink.items)
        self._check_complete()
        self.sink.raise_if_errors()
        return self._model()

    def _guarded(self, statement):
        self.current_statement = statement
        self.exprs.context = ""
        with self._checking(*_declared_names(statement)):
            kinds.check_statement_fits(self.kind, statement, self)
            self.HANDLERS[type(statement)](self, statement)

    def checking(self, *names):
        return self._checking(*names)

    @contextmanager
    def _checking(self, *names):
        """Check one statement, declaration or equation.  Its errors are already in the sink (or,
        for E901, are kept here); the names it declares are marked failed, so that their uses
        are skipped instead of reported again as unknown names."""
        try:
            yield
            return
        except SpecError:
            pass
        except Unsupported as exc:
            self.unsupported.append(_unsupported(exc.what, exc.span, exc.help))
        self.exprs.failed.update(n for n in names if n not in self.scope and n not in RESERVED)

    def fail(self, code, message, span, help=""):
        self.sink.error(code, message, span, help)
        raise SpecError(self.sink.items)

    def lower(self, node) -> Typed:
        return self.exprs.lower(node)

    def declare(self, name: str, entry: Entry, span: Span):
        if name in self.scope:
            self.fail("E102", f"'{name}' is declared twice", span, "every name is declared once")
        if name in RESERVED:
            self.fail("E108", f"'{name}' is reserved for {RESERVED[name]}", span, "choose another name")
        self.scope[name] = entry

    def compile_time(self, node, what: str) -> Typed:
        """The value of `node`, which must be known at compile time, with its shape."""
        value = self.lower(node)
        if value.expr.free_symbols:
            names = {str(s) for s in value.expr.free_symbols}
            if all(self.scope.get(n, Entry("")).kind == "const" for n in names):
                subs = {s: self.scope[str(s)].node.value for s in value.expr.free_symbols}  # not all: linear
                arrays = [n for n in names if isinstance(subs.get(sympy.Symbol(n)), sympy.MatrixBase)]
                if arrays and not isinstance(value.expr, sympy.Symbol):
                    self.fail("E211", f"{what} is computed from the vector or matrix constant "
                              f"'{sorted(arrays)[0]}'", node.span,
                              "write vector and matrix constants out: const v2 = [0, 1]")
                try:   # every power judged before it is computed: 9^(9^n), n = 1000
                    expr = S.numeric_form(limits.substitute(value.expr, subs))
                except limits.OutOfRange as exc:
                    self.exprs.out_of_range(exc, node.span)
                return self._finite(Typed(expr, value.shape), node, what)
            self.fail("E211", f"{what} must be a number known at compile time", node.span,
                      "use numbers and constants only")
        if isinstance(value.expr, sympy.MatrixBase) or value.expr.is_number:
            return value
        self.fail("E211", f"{what} must be a number known at compile time", node.span)

    def _finite(self, value: Typed, node, what: str) -> Typed:
        """A value computed from constants, checked as each written number is (E230)."""
        problem = limits.range_problem(value.expr)
        if problem:
            self.fail("E230", limits.out_of_range_message(what, problem), node.span,
                      limits.range_help(problem))
        return value

    def constant(self, node, what: str) -> Typed:
        """A compile-time value whose entries are finite real numbers, with its shape."""
        value = self.compile_time(node, what)
        entries = value.expr if isinstance(value.expr, sympy.MatrixBase) else (value.expr,)
        if value.expr.has(sympy.I, sympy.oo, -sympy.oo, sympy.zoo, sympy.nan) \
                or any(limits.to_float(e) is None for e in entries):
            self.fail("E211", f"{what} must be finite and real", node.span,
                      "complex and infinite values (as sqrt(-1) or 1e400) have no place in a model")
        return value

    def constant_value(self, node, what: str) -> sympy.Basic:
        return self.constant(node, what).expr

    def integer(self, node, what: str, minimum: int = 1) -> int:
        value = self.compile_time(node, what).expr
        number = limits.to_float(value) if getattr(value, "is_number", False) else None
        if number is not None and number > limits.MAX_INTEGER:
            self.fail("E230", f"{what} is {number:.3g}, more than the largest count or size the "
                      f"compiler takes, 2^53 = {limits.MAX_INTEGER:,}", node.span,
                      "counts and sizes are whole numbers exact in float64; see Limits in "
                      "docs/language.md")
        if not (number is not None and value.is_real and value == int(value)
                and int(value) >= minimum):
            self.fail("E203", f"{what} must be an integer >= {minimum}", node.span,
                      "write a whole number, such as 4, or a constant that holds one")
        return int(value)

    def real(self, node, what: str) -> float:
        value = self.compile_time(node, what).expr
        number = limits.to_float(value) if getattr(value, "is_number", False) else None
        if number is None or not value.is_real:
            self.fail("E211", f"{what} must be a real number", node.span)
        return number

    def t_end(self) -> float:
        """The final time of the model's scheme (1 when it has none yet)."""
        scheme = getattr(self.scheme, "time", self.scheme)
        return scheme.t_end if scheme is not None else 1.0

    def shape_of(self, type_: ast.TypeExpr) -> tuple:
        if type_.base != "R":
            self.fail("E204", f"unknown type '{type_.base}'", type_.span,
                      "types are R (a real scalar), R[n] (a vector) or R[m, n] (a matrix)")
        if len(type_.dims) > 2:
            self.fail("E204", "arrays of more than two dimensions are not supported", type_.span)
        return tuple(self.integer(d, "a dimension") for d in type_.dims)

    # -- completeness -----------------------------------------------------------------------
    def _check_complete(self):
        # what is missing is missing from the model: point at its `model` line
        end = next((st.span for st in self.spec.statements if isinstance(st, ast.ModelStmt)),
                   Span(1, 1, 1, 2))
        kinds.check_complete(self.kind, self, end)
        equation = {"ode": "ode dt({}) = ...", "sde": "sde d({}) = f * dt + g * dW",
                    "pde": "pde dt({}) = ..."}.get(self.kind.equations, "")
        for state in self.states if self.kind.states else ():
            if not any(e.state == state.name for e in self.equations):
                self.sink.error("E307", f"state '{state.name}' has no equation", state.span,
                                "add: " + equation.format(state.name))
                continue
            order = next(e.order for e in self.equations if e.state == state.name)
            for initial in self.initials:
                if initial.state == state.name and initial.order >= order:
                    takes = " and ".join(_at_zero(state.name, k) for k in range(order))
                    self.sink.error("E311", f"an initial value for {_at_zero(state.name, initial.order)}"
                                    f", but the equation of '{state.name}' is of order {order}",
                                    initial.span, f"an equation of order {order} starts from {takes} "
                                    "only; remove this initial value")
            for k in range(order):
                if not any(i.state == state.name and i.order == k for i in self.initials):
                    what = _at_zero(state.name, k)
                    self.sink.error("E308", f"state '{state.name}' needs an initial value {what}",
                                    state.span, f"add: initial {what} = ...")
        for net in self.networks.values():
            if net.index and net.steps[0] == 1 and not net.start:
                self.sink.error("E308", f"the network per step '{net.name}' starts at step 1: step 0 "
                                "needs its value", net.span, f"add: initial {net.name}(0) = z0, with "
                                f"param z0 : R[{net.widths[-1]}]")
        if isinstance(self.scheme, ir.MethodOfLines) and not self.sink.has_errors:
            self.scheme = dataclasses.replace(self.scheme, boundary=discretizations.grid_boundary(self))
        if isinstance(self.scheme, ir.Scheme) and self.kind.equations == "ode" and not self.sink.has_errors:
            from sciml.lowering.scheme_line import check_scheme_fits
            check_scheme_fits(self)
        if self.unsupported:
            raise SpecError(self.unsupported + self.sink.items)

    def _model(self) -> ir.Model:
        loss_expr, loss_span = self.loss
        names = {str(s).split(".")[0] for s in loss_expr.free_symbols if "." in str(s)}
        for i in self.initials:
            names |= {str(s).split(".")[0] for s in i.value.free_symbols if "." in str(s)}
        read = sorted(names)
        if len(read) > 1:
            self.fail("E503", "the loss reads more than one data set: " + ", ".join(read), loss_span,
                      "train on one data set; evaluate the others on the report line")
        training_set = read[0] if read else ""
        return ir.Model(
            name=self.model_name, constants=tuple(self.constants), datasets=tuple(self.datasets),
            states=tuple(self.states), parameters=tuple(self.parameters),
            networks=tuple(self.networks.values()), equations=tuple(self.equations),
            initials=tuple(self.initials), scheme=self.scheme, loss=loss_expr, loss_span=loss_span,
            training=tuple(self.training), reports=tuple(self.reports), training_set=training_set,
            flows=tuple(self.flows), loss_terms=self.loss_terms, kind=self.kind.name,
            domain=tuple(self.domain), noises=tuple(self.noises), latents=tuple(self.latents),
            residuals=tuple(self.residuals), conditions=tuple(self.conditions), span=self.spec.span)


# One handler per statement, in declarations.py, equations.py and training.py (they use the
# helpers at the end of this module, so they are imported here, after the class).
from sciml.lowering import declarations, equations, training  # noqa: E402

_Lowering.HANDLERS = {
    ast.ModelStmt: declarations.lower_model, ast.ConstStmt: declarations.lower_const,
    ast.DomainStmt: lambda lowering, st: fields.lower_domain(st, lowering),
    ast.DataStmt: declarations.lower_data,
    ast.NoiseStmt: lambda lowering, st: stochastic.lower_noise(st, lowering),
    ast.StateStmt: declarations.lower_states, ast.ParamStmt: declarations.lower_params,
    ast.NetStmt: declarations.lower_net,
    ast.LatentStmt: lambda lowering, st: stochastic.lower_latent(st, lowering),
    ast.FlowStmt: declarations.lower_flow_statement,
    ast.EquationStmt: equations.lower_equations, ast.SchemeStmt: equations.lower_scheme_line,
    ast.LossStmt: training.lower_loss, ast.TrainStmt: training.lower_training,
    ast.ReportStmt: training.lower_reports,
}


def _additive_terms(node) -> list:
    """The terms of a sum as written, with their signs: a - (b + c) gives a, -(b + c).
    Iterative: a long sum is a deep left-leaning tree."""
    terms, todo = [], [(1, node)]
    while todo:
        sign, n = todo.pop()
        if isinstance(n, ast.BinOp) and n.op in ("+", "-"):
            todo += [(sign if n.op == "+" else -sign, n.right), (sign, n.left)]
        else:
            terms.append((sign, n))
    return terms


def _column(shape):
    return (shape[0], 1) if len(shape) == 1 else shape


def _label(node) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call):
        return node.func
    return "report"


def _at_zero(state: str, order: int) -> str:
    """Y(0), dt(Y)(0), dt(dt(Y))(0)."""
    return "dt(" * order + state + ")" * order + "(0)"


def _declared_names(statement) -> tuple:
    """The names a statement declares as a whole (declarations in lists are checked one by one)."""
    if isinstance(statement, ast.DataStmt):
        return (statement.name,)
    if isinstance(statement, ast.NetStmt):
        return tuple(head.name for head in statement.heads)
    if isinstance(statement, ast.FlowStmt):
        return (statement.name,)
    return ()


def _data_fields(node, scope):
    """The `data.field` nodes in an expression tree, in written order."""
    return (n for n in ast.walk(node) if isinstance(n, ast.Attribute) and isinstance(n.base, ast.Name)
            and scope.get(n.base.id, Entry("")).kind == "data")


def _dotted(node) -> str:
    return f"{node.base.id}.{node.name}"


def _derivative_of(node):
    """('Y', 1) for dt(Y), ('Y', 2) for dt(dt(Y)); (None, 0) otherwise."""
    order = 0
    while isinstance(node, ast.Call) and node.func == "dt" and len(node.args) == 1:
        node, order = node.args[0], order + 1
    if order and isinstance(node, ast.Name):
        return node.id, order
    return None, 0


def _unsupported(what, span, help=""):
    from sciml.frontend.diagnostics import error
    plural = what.split(" (")[0].endswith("s")  # "spatial domains (PDEs)" are, "the divergence (PDEs)" is
    return error("E901", f"{what} {'are' if plural else 'is'} not supported yet", span,
                 help or "this construct parses; code generation for it is planned (see README)")


def lower(spec: ast.Spec, spec_dir: Path, warnings: list | None = None) -> ir.Model:
    """Return the IR of `spec`; raise `SpecError` with every error found (and the warnings).
    The warnings of a spec without errors (W1xx: a data file outside the spec's folder) are
    added to `warnings` when it is given."""
    lowering = _Lowering(spec, spec_dir)
    model = lowering.run()
    model = dataclasses.replace(model, draws=randomness.draws(model))   # every random draw, as nodes
    if warnings is not None:
        warnings.extend(d for d in lowering.sink.items if d.severity == "warning")
    return model
