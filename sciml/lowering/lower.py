"""Lower a syntax tree to the IR `Model`: resolve names, evaluate constants, check shapes,
and check that the model is complete (one equation and initial condition per state, a scheme
that fits the equations, a scalar loss, a training plan).

All errors of a statement are collected; a statement with an error is skipped so that later
statements still get checked against the rest.  A name whose declaration failed is marked, and
its uses are skipped silently (no follow-on "unknown name").  Constructs that are not supported
yet (E901) are reported together with the real errors.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import sympy

from sciml.frontend import ast
from sciml.lowering import ir
from sciml.lowering import limits
from sciml.lowering import symbols as S
from sciml.frontend.diagnostics import DiagnosticSink, Span, SpecError, TooManyErrors
from sciml.lowering.expressions import Entry, ExpressionLowering, Typed, Unsupported, fmt_shape
from sciml.lowering.datasets import lower_dataset

RESERVED = {"pi": "the constant pi", "I": "the identity matrix", "t": "time", "dt": "the time derivative"}
OPTIMIZERS = ("adam", "sgd")
PLANNED_SCHEMES = ("euler_maruyama", "milstein", "collocation", "method_of_lines", "monte_carlo")
PLANNED_NET_OPTIONS = ("bayes",)
# Declarations first (in written order), then the statements that use them.
ORDER = (ast.ModelStmt, ast.ConstStmt, ast.DomainStmt, ast.DataStmt, ast.StateStmt, ast.ParamStmt,
         ast.NetStmt, ast.FlowStmt, ast.EquationStmt, ast.SchemeStmt, ast.LossStmt, ast.TrainStmt,
         ast.ReportStmt)
# What a spec of a planned family (PDE, SDE, flow) is checked for: the statements whose meaning
# does not depend on that family (the others use functions and names of the family).
FAMILY_INDEPENDENT = (ast.ModelStmt, ast.ConstStmt, ast.DataStmt, ast.StateStmt, ast.TrainStmt)


class _Lowering:
    def __init__(self, spec: ast.Spec, spec_dir: Path):
        self.spec = spec
        self.spec_dir = spec_dir
        self.sink = DiagnosticSink()
        self.scope: dict[str, Entry] = {}
        self.networks: dict[str, ir.Network] = {}
        self.exprs = ExpressionLowering(self.scope, self.sink, self.networks)
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
        planned = self._planned_family_constructs()
        self.unsupported.extend(planned)
        for kind in FAMILY_INDEPENDENT if planned else ORDER:
            for statement in statements:
                if isinstance(statement, kind):
                    self._guarded(statement)
        if self.unsupported or self.sink.has_errors:  # E901 alongside the real errors, by position
            raise SpecError(self.unsupported + self.sink.items)
        self._check_complete()
        self.sink.raise_if_errors()
        return self._model()

    def _planned_family_constructs(self) -> list:
        """PDE, SDE, flow and likelihood specs parse today but generate no code yet: E901 at the
        constructs that need the missing support (the rest of such a spec is checked only where
        it cannot depend on them, see FAMILY_INDEPENDENT)."""
        found = []
        for st in self.spec.statements:
            if isinstance(st, ast.DomainStmt):
                found.append(_unsupported("spatial domains (PDEs)", st.span))
            elif isinstance(st, ast.EquationStmt) and st.kind in ("pde", "sde", "boundary"):
                what = {"pde": "PDE equations", "sde": "SDE equations", "boundary": "boundary conditions"}
                found.append(_unsupported(what[st.kind], st.span))
            elif isinstance(st, ast.SchemeStmt) and st.call.func in PLANNED_SCHEMES:
                found.append(_unsupported(f"the {st.call.func} scheme", st.call.func_span))
            elif isinstance(st, ast.NetStmt) and st.body.func == "mlp":
                found += [_unsupported(f"the mlp() option '{k.name}'", k.span)
                          for k in st.body.keywords if k.name in PLANNED_NET_OPTIONS]
        return found

    def _guarded(self, statement):
        with self._checking(*_declared_names(statement)):
            getattr(self, "_" + type(statement).__name__)(statement)

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

    # -- declarations ---------------------------------------------------------------------------
    def _ModelStmt(self, st):
        if self.model_name is not None:
            self.fail("E301", "a spec has one `model` line", st.span)
        self.model_name = st.name

    def _ConstStmt(self, st):
        for binding in st.bindings:
            with self._checking(binding.name):
                value = self.constant(binding.value, f"constant '{binding.name}'")
                constant = ir.Constant(name=binding.name, value=value.expr, span=binding.span)
                # the shape as written: [1, 2] is a vector R[2], a column as states are
                self.declare(binding.name, Entry("const", value.shape, node=constant), binding.span)
                self.constants.append(constant)

    def _DomainStmt(self, st):
        raise Unsupported("spatial domains (PDEs)", st.span)

    def _FlowStmt(self, st):
        from sciml.lowering.flows import lower_flow
        flow = lower_flow(st, self)
        self.declare(st.name, Entry("flow", node=flow), st.span)
        self.flows.append(flow)

    def _DataStmt(self, st):
        dataset = lower_dataset(st, self)
        self.declare(st.name, Entry("data", node=dataset), st.span)
        self.datasets.append(dataset)

    def shape_of(self, type_: ast.TypeExpr) -> tuple:
        if type_.base != "R":
            self.fail("E204", f"unknown type '{type_.base}'", type_.span,
                      "types are R (a real scalar), R[n] (a vector) or R[m, n] (a matrix)")
        if len(type_.dims) > 2:
            self.fail("E204", "arrays of more than two dimensions are not supported", type_.span)
        return tuple(self.integer(d, "a dimension") for d in type_.dims)

    def _StateStmt(self, st):
        for decl in st.declarations:
            with self._checking(decl.name):
                if decl.time_dependent or decl.init_draw or decl.init_value is not None:
                    self.fail("E220", f"state '{decl.name}' takes its start from an initial line",
                              decl.span, f"write: initial {decl.name}(0) = ...")
                shape = self.shape_of(decl.type)
                if len(shape) > 1:
                    self.fail("E204", "a state is a scalar or a vector", decl.type.span)
                state = ir.State(name=decl.name, shape=shape, span=decl.span)
                self.declare(decl.name, Entry("state", shape, True, state), decl.span)
                self.states.append(state)

    def _ParamStmt(self, st):
        for decl in st.declarations:
            with self._checking(decl.name):
                shape = self.shape_of(decl.type)
                init = self._init(decl, shape)
                param = ir.Parameter(name=decl.name, shape=shape, per_step=decl.time_dependent is not None,
                                     init=init, span=decl.span)
                if decl.time_dependent not in (None, "t"):
                    self.fail("E221", f"a per-step parameter depends on t, not '{decl.time_dependent}'",
                              decl.span, f"write {decl.name}(t)")
                self.declare(decl.name, Entry("param", shape, node=param), decl.span)
                self.parameters.append(param)

    def _init(self, decl, shape) -> ir.Init:
        if decl.init_value is not None:
            value = self.constant_value(decl.init_value, "an initial value")
            value_shape = tuple(value.shape) if isinstance(value, sympy.MatrixBase) else ()
            if value_shape not in ((), _column(shape)):
                self.fail("E207", f"initial value of shape {fmt_shape(value_shape)} for a "
                          f"{fmt_shape(shape)} parameter", decl.init_value.span)
            return ir.Init(kind="value", value=value)
        if decl.init_draw is not None:
            call = decl.init_draw
            if call.func != "normal" or len(call.positional) != 2 or call.keywords:
                self.fail("E222", "parameters are drawn from normal(mean, std)", call.span)
            mean, std = (self.real(a, "a normal() argument") for a in call.positional)
            if std < 0:
                self.fail("E222", "the standard deviation must be >= 0", call.positional[1].span)
            return ir.Init(kind="normal", mean=mean, std=std)
        if len(shape) == 2:
            return ir.Init(kind="normal", std=float(1 / sympy.sqrt(shape[1])))
        return ir.Init(kind="zeros")

    def _NetStmt(self, st):
        body = st.body
        if body.func != "mlp":
            raise Unsupported(f"networks of kind '{body.func}' (only mlp)", body.func_span)
        args = body.positional
        if len(args) != 2 or not isinstance(args[0], ast.Arrows) or not isinstance(args[1], ast.Name):
            self.fail("E223", "write a network as mlp(in -> hidden -> ... -> out, activation)",
                      body.span)
        widths = tuple(self.integer(w, "a layer width") for w in args[0].items)
        activation = args[1].id
        if activation not in S.ACTIVATIONS:
            self.fail("E224", f"unknown activation '{activation}'", args[1].span,
                      "activations: " + ", ".join(sorted(S.ACTIVATIONS)))
        per_step = False
        for kw in body.keywords:
            if kw.name != "per_step":
                self.fail("E223", f"mlp() has no option '{kw.name}'", kw.span,
                          "the one option is per_step = true (one network per time step)")
            if not isinstance(kw.value, ast.Name) or kw.value.id not in ("true", "false"):
                self.fail("E223", "per_step is true or false", kw.value.span,
                          "write per_step = true for one network per time step")
            per_step = kw.value.id == "true"
        if per_step:
            raise Unsupported("per-step networks", kw.span)
        for head in st.heads:
            net = ir.Network(name=head.name, inputs=head.inputs, widths=widths, activation=activation,
                             per_step=per_step, span=head.span)
            self.declare(head.name, Entry("net", node=net), head.span)
            self.networks[head.name] = net

    # -- the model ------------------------------------------------------------------------------
    def _EquationStmt(self, st):
        if st.kind in ("pde", "sde", "boundary"):
            what = {"pde": "PDE equations", "sde": "SDE equations", "boundary": "boundary conditions"}
            raise Unsupported(what[st.kind], st.span)
        for equation in st.equations:
            with self._checking():
                (self._ode if st.kind == "ode" else self._initial)(equation)

    def _ode(self, eq):
        state, order = _derivative_of(eq.lhs)
        if state is None:
            self.fail("E302", "the left side of an ode is dt(state) or dt(dt(state))", eq.lhs.span)
        self.exprs.skip_if_failed(state)
        entry = self.scope.get(state)
        if entry is None or entry.kind != "state":
            self.fail("E303", f"'{state}' is not a state", eq.lhs.span, f"declare it: state {state} : R[n]")
        if any(e.state == state for e in self.equations):
            self.fail("E304", f"state '{state}' has two equations", eq.span, "keep one of them")
        rhs = self.lower(eq.rhs)
        if rhs.shape != entry.shape and not (rhs.shape in ((), (1,)) and entry.shape in ((), (1,))):
            self.fail("E207", f"dt({state}) is {fmt_shape(entry.shape)} but the right side is "
                      f"{fmt_shape(rhs.shape)}", eq.rhs.span)
        if rhs.expr.has(S.StateAt):
            self.fail("E217", "an ode right side cannot evaluate a state at a time", eq.rhs.span)
        data = next(_data_fields(eq.rhs, self.scope), None)
        if data is not None:
            self.fail("E217", f"an ode right side cannot read data ({_dotted(data)})", data.span,
                      "a right side depends on states, parameters, networks, constants and t only; "
                      "data enter through the initial values and the loss")
        self.equations.append(ir.Equation(state=state, order=order, rhs=rhs.expr, span=eq.span))

    def _initial(self, eq):
        lhs = eq.lhs
        order = 0
        if isinstance(lhs, ast.CallOfCall):
            state, order = _derivative_of(lhs.inner)
            time_args = lhs.args
        elif isinstance(lhs, ast.Call):
            state, time_args = lhs.func, lhs.args
        else:
            state = None
        self.exprs.skip_if_failed(state)
        if state is None or self.scope.get(state, Entry("")).kind != "state":
            self.fail("E305", "an initial condition reads: initial Y(0) = value", eq.lhs.span)
        if len(time_args) != 1 or self.constant_value(time_args[0], "the initial time") != 0:
            self.fail("E306", "initial conditions are given at t = 0", eq.lhs.span)
        if any(i.state == state and i.order == order for i in self.initials):
            self.fail("E304", f"'{state}' has two initial conditions", eq.span)
        value = self.lower(eq.rhs)
        shape = self.scope[state].shape
        if value.shape != shape and value.shape not in ((), (1,)):
            self.fail("E207", f"{state}(0) is {fmt_shape(shape)} but the value is "
                      f"{fmt_shape(value.shape)}", eq.rhs.span)
        if value.batched and value.is_scalar and shape not in ((), (1,)):  # a number fills a
            # vector state; one value per sample does not (a .csv column x is a scalar field)
            self.fail("E509", f"{state}(0) is {fmt_shape(shape)} but the value has one entry per "
                      "sample", eq.rhs.span, f"a per-sample value has the {shape[0]} entries of the "
                      "state: a .csv gives a vector field x as the columns x[0], x[1], ..., a .npz "
                      f"as an array of shape (samples, {shape[0]})")
        self.initials.append(ir.InitialCondition(state=state, order=order, value=value.expr, span=eq.span))

    def _SchemeStmt(self, st):
        if self.scheme is not None:
            self.fail("E310", "a spec has one scheme", st.span)
        from sciml.schemes.lower_scheme import lower_scheme
        self.scheme = lower_scheme(st.call, self)   # its options from the scheme's definition

    def _LossStmt(self, st):
        if self.loss is not None:
            self.fail("E310", "a spec has one loss (add terms with +)", st.span)
        loss = self.lower(st.expr)
        if loss.shape not in ((), (1,)) or loss.batched:
            what = "per sample" if loss.batched else fmt_shape(loss.shape)
            self.fail("E208", f"the loss must be one number, but this is {what}", st.expr.span,
                      "reduce it with mean(...), sum(...) or mse(...)")
        self.loss = (loss.expr, st.span)
        self.loss_terms = tuple((sign * self.lower(term).expr, term.span)
                                for sign, term in _additive_terms(st.expr))

    def _TrainStmt(self, st):
        if self.training:
            self.fail("E310", "a spec has one train line (chain stages with then)", st.span)
        for stage in st.stages:
            if stage.func == "lbfgs":
                raise Unsupported("the lbfgs optimizer", stage.func_span)
            if stage.func not in OPTIMIZERS:
                self.fail("E501", f"unknown optimizer '{stage.func}'", stage.func_span,
                          "optimizers: " + ", ".join(OPTIMIZERS))
            options = {"lr": 1e-3, "steps": 1000, "batch": 0}
            for kw in stage.keywords:
                if kw.name not in options:
                    self.fail("E502", f"{stage.func}() has no option '{kw.name}'", kw.span,
                              "options: lr, steps, batch")
                options[kw.name] = (self.real(kw.value, "lr") if kw.name == "lr"
                                    else self.integer(kw.value, kw.name, 0 if kw.name == "batch" else 1))
                if kw.name == "lr" and options["lr"] <= 0:
                    self.fail("E507", f"the learning rate must be positive, but lr = {options['lr']:g}",
                              kw.value.span, "typical values lie between 1e-4 and 1e-1")
            if stage.positional:
                self.fail("E502", "optimizer options are named, as adam(lr = 1e-3, steps = 1000)",
                          stage.positional[0].span)
            self.training.append(ir.TrainStage(optimizer=stage.func, span=stage.span, **options))

    def _ReportStmt(self, st):
        for item in st.items:
            value = self.lower(item)
            if value.shape not in ((), (1,)) and not isinstance(item, ast.Name):
                self.fail("E208", "a report is a number or a parameter", item.span)
            datasets = sorted({str(s).split(".")[0] for s in value.expr.free_symbols if "." in str(s)})
            label = _label(item)
            self.reports.append(ir.Report(label=label, expr=value.expr,
                                          dataset=datasets[0] if datasets else "", span=item.span))

    # -- completeness -----------------------------------------------------------------------
    def _check_complete(self):
        # what is missing is missing from the model: point at its `model` line
        end = next((st.span for st in self.spec.statements if isinstance(st, ast.ModelStmt)),
                   Span(1, 1, 1, 2))
        for state in self.states:
            if not any(e.state == state.name for e in self.equations):
                self.sink.error("E307", f"state '{state.name}' has no equation", state.span,
                                f"add: ode dt({state.name}) = ...")
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
        if self.flows and (self.states or self.scheme is not None):
            what = self.states[0].span if self.states else self.scheme.span
            self.unsupported.append(_unsupported("a flow together with states and a scheme (a "
                                                 "continuous normalizing flow)", what))
        elif self.flows:
            pass   # a flow is the whole model: no states, equations or scheme
        elif not self.states:
            self.sink.error("E309", "the model has no state", end, "declare one: state Y : R[n]")
        if self.scheme is None and not self.flows:
            self.sink.error("E309", "the spec has no scheme", end, "add e.g.: scheme " + _scheme_example())
        if self.loss is None:
            self.sink.error("E309", "the spec has no loss", end, "add e.g.: loss mse(Y(T), train.y)")
        if not self.training:
            self.sink.error("E309", "the spec has no train line", end,
                            "add e.g.: train adam(lr = 1e-3, steps = 1000)")
        if self.scheme is not None and not self.sink.has_errors:
            from sciml.schemes.lower_scheme import check_scheme_fits
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
            flows=tuple(self.flows), loss_terms=self.loss_terms, span=self.spec.span)


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
    if warnings is not None:
        warnings.extend(d for d in lowering.sink.items if d.severity == "warning")
    return model


def _scheme_example() -> str:
    from sciml.schemes import registry
    return registry.recommended(registry.FIRST_ORDER).example
