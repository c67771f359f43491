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
import difflib
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
from sciml.lowering import axes, fields, kinds, randomness, stochastic

RESERVED = {"pi": "the constant pi", "I": "the identity matrix", "t": "time", "dt": "the time derivative"}
OPTIMIZERS = ("adam", "sgd", "lbfgs")
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
        fields.lower_domain(st, self)

    def _NoiseStmt(self, st):
        stochastic.lower_noise(st, self)

    def _LatentStmt(self, st):
        stochastic.lower_latent(st, self)

    def t_end(self) -> float:
        """The final time of the model's scheme (1 when it has none yet)."""
        scheme = getattr(self.scheme, "time", self.scheme)
        return scheme.t_end if scheme is not None else 1.0

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
                axis = {"sde": axes.PATHS, "bsde": axes.PATHS, "diffusion": axes.PATHS,
                        "grid_pde": axes.NODES}.get(self.kind.name, axes.SAMPLES)
                self.declare(decl.name, Entry("state", shape, axis, state), decl.span)
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
            if call.func not in ("normal", "uniform") or len(call.positional) != 2 or call.keywords:
                self.fail("E222", "parameters are drawn from normal(mean, std) or uniform(low, high)",
                          call.span)
            first, second = (self.real(a, f"a {call.func}() argument") for a in call.positional)
            if call.func == "uniform":
                if not first < second:
                    self.fail("E222", "uniform(low, high) needs low < high", call.span)
                return ir.Init(kind="uniform", mean=first, std=second)
            if second < 0:
                self.fail("E222", "the standard deviation must be >= 0", call.positional[1].span)
            return ir.Init(kind="normal", mean=first, std=second)
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
        options = self._net_options(body)
        index, steps = "", ()
        if st.index is not None:
            index = st.index.name
            steps = (self.integer(st.index.low, "the first step", 0), self.integer(st.index.high, "the last step", 0))
            if steps[1] < steps[0]:
                self.fail("E225", f"the steps {steps[0]}..{steps[1]} are empty", st.index.span)
            if any(head.inputs[0] != index for head in st.heads):
                self.fail("E225", f"a network per step takes the step index first: "
                          f"{st.heads[0].name}({index}, ...)", st.heads[0].span)
        coordinates = set(self.exprs.coordinates)
        for head in st.heads:
            field = bool(coordinates) and set(head.inputs) <= coordinates and not index
            net = ir.Network(name=head.name, inputs=head.inputs, widths=widths, activation=activation,
                             per_step=bool(index), index=index, steps=steps, field=field,
                             span=head.span, **options)
            self.declare(head.name, Entry("net", node=net), head.span)
            self.networks[head.name] = net

    def _net_options(self, body) -> dict:
        """batchnorm = true, posterior = normal, draws = N."""
        options = {}
        for kw in body.keywords:
            if kw.name == "batchnorm":
                if not isinstance(kw.value, ast.Name) or kw.value.id not in ("true", "false"):
                    self.fail("E223", "batchnorm is true or false", kw.value.span)
                options["batchnorm"] = kw.value.id == "true"
            elif kw.name == "posterior":
                if not isinstance(kw.value, ast.Name) or kw.value.id != "normal":
                    self.fail("E223", "the weight posterior is normal (mean-field Gaussian)", kw.value.span)
                options["posterior"] = "normal"
            elif kw.name == "draws":
                options["draws"] = self.integer(kw.value, "the number of posterior draws", 2)
            elif kw.name == "per_step":
                self.fail("E223", "a network per time step is declared with its steps: "
                          "net Z(n, X) = mlp(...) for n in 0..N-1", kw.span)
            else:
                self.fail("E223", f"mlp() has no option '{kw.name}'", kw.span,
                          "options: batchnorm = true, posterior = normal, draws = N")
        if ("draws" in options) != ("posterior" in options):
            self.fail("E223", "a weight posterior goes with its number of draws: posterior = normal, "
                      "draws = 16", body.span)
        return options

    # -- the model ------------------------------------------------------------------------------
    def _EquationStmt(self, st):
        if st.options and st.kind not in CONDITIONS:
            self.fail("E267", f"`with` options belong to initial and boundary lines, not to {st.kind} "
                      "lines", st.options[0].span, "the interior points are the scheme's: "
                      "collocation(interior = sobol(2000))")
        pde_model = self.kind.domain
        for equation in st.equations:
            with self._checking():
                self.exprs.context = st.kind
                if st.kind == "ode":
                    self._ode(equation)
                elif st.kind == "sde":
                    stochastic.lower_sde(equation, self)
                elif st.kind == "pde":
                    fields.lower_pde(equation, self)
                elif pde_model:
                    fields.lower_condition(equation, st.kind, st.options, self)
                elif st.options:
                    self.fail("E267", "`with` options belong to the conditions of a PDE model",
                              st.options[0].span)
                else:
                    self._initial(equation)

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
        if state is not None and self.scope.get(state, Entry("")).kind == "net" and order == 0:
            return self._initial_network(eq, state, time_args)
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

    def _initial_network(self, eq, name, time_args):
        """initial Z(0) = z0: the parameter that stands for a per-step network at step 0."""
        net = self.networks[name]
        if not net.index:
            self.fail("E305", f"'{name}' is a network; an initial value belongs to a state or to a "
                      "network per step (initial Z(0) = z0)", eq.lhs.span)
        if len(time_args) != 1 or self.integer(time_args[0], "the step", 0) != 0 or net.steps[0] != 1:
            self.fail("E306", f"a network per step takes an initial value at step 0, when its steps "
                      f"start at 1 (for {net.index} in 1..{net.steps[1]})", eq.lhs.span)
        value = eq.rhs
        entry = self.scope.get(value.id) if isinstance(value, ast.Name) else None
        if entry is None or entry.kind != "param" or entry.shape != (net.widths[-1],):
            self.fail("E305", f"{name}(0) is a parameter of the network's output size, "
                      f"R[{net.widths[-1]}]", value.span, f"declare it: param z0 : R[{net.widths[-1]}]")
        if net.start:
            self.fail("E304", f"'{name}' has two initial values", eq.span)
        self.networks[name] = dataclasses.replace(net, start=value.id)

    def _SchemeStmt(self, st):
        if self.scheme is not None:
            self.fail("E310", "a spec has one scheme", st.span)
        call = st.call
        handlers = {"collocation": fields.lower_collocation, "method_of_lines": fields.lower_method_of_lines,
                    **{name: stochastic.lower_stochastic_scheme for name in stochastic.STOCHASTIC_SCHEMES}}
        known = ir.SCHEMES + tuple(handlers)
        if call.func not in known:
            close = difflib.get_close_matches(call.func, known, n=1)
            self.fail("E401", f"unknown scheme '{call.func}'", call.func_span,
                      f"did you mean '{close[0]}'?" if close else "schemes: " + ", ".join(known))
        family = {"collocation": "collocation", "method_of_lines": "method of lines",
                  "reverse_sampler": "reverse sampler", "euler_maruyama": kinds.STOCHASTIC,
                  "milstein": kinds.STOCHASTIC}.get(call.func, kinds.TIME)
        if family not in self.kind.schemes:
            takes = ", ".join(self.kind.schemes) or "no scheme"
            self.fail("E403", f"a model of kind {self.kind.name} takes {takes}, not the {family} "
                      f"{call.func}", call.func_span, ("e.g. " + self.kind.example) if self.kind.example
                      else "remove the scheme line")
        if call.func in handlers:
            self.scheme = handlers[call.func](call, self)
            return
        from sciml.schemes.lower_scheme import lower_scheme
        self.scheme = lower_scheme(call, self)

    def _LossStmt(self, st):
        if self.loss is not None:
            self.fail("E310", "a spec has one loss (add terms with +)", st.span)
        self.exprs.context = "loss"
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
        self.exprs.context = "report"
        for item in st.items:
            value = self.lower(item)
            samples = self.kind.noise and isinstance(value.expr, S.StateAt)   # sampled paths
            if value.shape not in ((), (1,)) and not isinstance(item, ast.Name) and not samples:
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
            self.scheme = dataclasses.replace(self.scheme, boundary=fields.grid_boundary(self))
        if isinstance(self.scheme, ir.Scheme) and self.kind.equations == "ode" and not self.sink.has_errors:
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
            flows=tuple(self.flows), loss_terms=self.loss_terms, kind=self.kind.name,
            domain=tuple(self.domain), noises=tuple(self.noises), latents=tuple(self.latents),
            residuals=tuple(self.residuals), conditions=tuple(self.conditions), span=self.spec.span)


_Lowering.HANDLERS = {
    ast.ModelStmt: _Lowering._ModelStmt, ast.ConstStmt: _Lowering._ConstStmt,
    ast.DomainStmt: _Lowering._DomainStmt, ast.DataStmt: _Lowering._DataStmt,
    ast.NoiseStmt: _Lowering._NoiseStmt, ast.StateStmt: _Lowering._StateStmt,
    ast.ParamStmt: _Lowering._ParamStmt, ast.NetStmt: _Lowering._NetStmt,
    ast.LatentStmt: _Lowering._LatentStmt, ast.FlowStmt: _Lowering._FlowStmt,
    ast.EquationStmt: _Lowering._EquationStmt, ast.SchemeStmt: _Lowering._SchemeStmt,
    ast.LossStmt: _Lowering._LossStmt, ast.TrainStmt: _Lowering._TrainStmt,
    ast.ReportStmt: _Lowering._ReportStmt,
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
