"""The loss and the reports of an emitted module (a part of ModelWriter, model_code.py): the
data fields as the batch holds them, the states' starts, the solve's call, the constant vectors
bound to names, and the loss and report lines in the spec's words."""
from __future__ import annotations

import sympy

from sciml.backends.common.jacobian_code import PROBES
from sciml.backends.common.numpy_code import number_literal
from sciml.backends.common.quoting import literal
from sciml.lowering import family_symbols as F
from sciml.lowering import symbols as S


DRAWS = " draws"   # the reports' data entry of the random draws (no data set name has a space)


class LossWriter:
    """The loss(...) and evaluate_reports(...) functions; a mixin of ModelWriter, whose names,
    printer and model it reads."""

    def field_names(self, dataset: str, batch: str) -> dict:
        """The code of each data field, `batch[...]` for the data set evaluated on; under the key
        ' like' (no user name has a space) its first per-sample float field, if it has one."""
        names = dict(self.names)
        for d in self.m.datasets:
            for f in d.fields:
                if d.name in (dataset, self.m.training_set):
                    names[f"{d.name}.{f.name}"] = f"{batch}[{literal(f.name)}]"
                else:
                    names[f"{d.name}.{f.name}"] = f"data[{literal(d.name)}][{literal(f.name)}]"
        evaluated = next((d for d in self.m.datasets if d.name == dataset), None)
        if evaluated is not None:
            per_sample = [f for f in evaluated.fields if not f.integer
                          and not (evaluated.generator in ("ode", "ou_paths") and f.name == "t")]
            if per_sample:
                names[" like"] = names[f"{evaluated.name}.{per_sample[0].name}"]
        return names

    def _like(self, names) -> str:
        """An array whose dtype and device (and samples, where it has them) new arrays take: a
        value the initial states read, a parameter, a network's bias, a data field; a model with
        none of them makes a float64 scalar."""
        constants = {c.name for c in self.m.constants}
        for init in self.m.initials:
            for s in sorted(init.value.free_symbols, key=str):
                if s.name not in constants:   # a constant is numpy or a number: not a like
                    return names[str(s)]
        if self.m.parameters:
            return f"p[{literal(self.names[self.m.parameters[0].name])}]"
        if self.m.networks:
            return f"p[{literal(self.names[self.m.networks[0].name] + '.b1')}]"
        return names.get(" like", self.sp.default_like)

    def _initial_code(self, state, order, names) -> str:
        init = self.m.initial(state.name, order)
        start = next((c for c in self.m.constants if c.derived and sympy.Symbol(c.name) == init.value), None)
        if start is not None:   # a grid state's initial values at its nodes (method_of_lines.py)
            self.helpers.add("initial_state")
            return f"initial_state({self.names[start.name]}, {state.shape[0]}, {self._like(names)})"
        constants = {c.name for c in self.m.constants}
        parameters = {q.name for q in self.m.parameters}
        if self.noise is not None and init.value.free_symbols and all(
                s.name in constants | parameters for s in init.value.free_symbols) and init.value.free_symbols & {
                sympy.Symbol(q) for q in parameters}:   # a learned start (the deep BSDE's y0), on every path
            self.helpers.add("on_paths")
            read = {**names, **{q: f"p[{literal(self.names[q])}]" for q in parameters}}
            return f"on_paths({self.code(init.value, read)}, {self.noise.like()})"
        if self.noise is not None and all(s.name in constants for s in init.value.free_symbols):
            size = state.shape[0] if state.shape else 1   # the same start on every path
            value = self.code(init.value, names) if init.value.free_symbols else number_literal(init.value)
            self.helpers.add("initial_state")
            return f"initial_state({value}, {size}, {self.noise.like()})"
        if init.value.free_symbols:
            return self.code(init.value, names)
        size = state.shape[0] if state.shape else 1
        self.helpers.add("initial_state")
        return f"initial_state({number_literal(init.value)}, {size}, {self._like(names)})"

    def _solve_call(self, names, statistics: str = "_", running: str = "") -> str:
        """`X_T = solve(p, <starts>)`; with batch normalization the solve's statistics too, into
        `statistics`, with `running` passed on."""
        args = [self._initial_code(s, 0, names) for s in self.m.states]
        if self.m.order == 2:
            args.append(self._initial_code(self.m.states[0], 1, names))
        if self.noise is not None:
            args += self.noise.batch_arguments()
        if self.derivatives is not None and self.derivatives.probes:   # Hutchinson's, as many as samples
            args.append(self.derivatives.probe_argument(names))
        targets = [self.names[str(a)] for a in self.observed]
        if self.normalized:
            targets.append(statistics)
            args += [running] if running else []
        return f"    {', '.join(targets)} = solve(p, {', '.join(args)})"

    @property
    def normalized(self) -> bool:
        """Whether a network normalizes over the batch: the solve returns its statistics."""
        return self.steps is not None and bool(self.steps.statistics)

    def _unpack(self, expr) -> list[str]:
        # a vae's elbo and bound are functions that read the parameters from p themselves
        expr = expr.replace(lambda e: isinstance(e, (F.Elbo, F.ImportanceBound)), lambda e: sympy.Symbol("~vae"))
        used = {str(s) for s in expr.free_symbols} | {str(s) for a in expr.atoms(S.SmoothInTime) for s in a.args}
        params = [self.names[p.name] for p in self.m.parameters if p.name in used]
        if not params:
            return []
        return [f"    {', '.join(params)} = "
                + ", ".join(f"p[{literal(n)}]" for n in params)]

    def _literals(self, expr, names) -> tuple:
        """Bind the constant vectors and matrices written in `expr` to names, one line each:
        (expr with symbols in their place, names, the binding lines)."""
        lines, replacements, names = [], {}, dict(names)
        like = self.names[str(self.observed[0])] if self.observed and expr.has(S.StateAt) else self._like(names)
        for matrix in sorted(expr.atoms(sympy.ImmutableMatrix), key=str):
            symbol = sympy.Symbol(f"literal {number_literal(matrix)}")
            if symbol.name not in self.names:  # one name per distinct value in the module
                self.names[symbol.name] = self.fresh(f"value{sum(k.startswith('literal ') for k in self.names) + 1}")
            names[symbol.name] = self.names[symbol.name]
            replacements[matrix] = symbol
            value = self.sp.as_const.format(value=number_literal(matrix), like=like)
            lines.append(f"    {names[symbol.name]} = {value}")
        for name in sorted(str(s) for s in expr.free_symbols if self._const_shape(str(s))):
            # a constant array of the numpy half, as an array of the backend here
            if f"array {name}" not in self.names:
                self.names[f"array {name}"] = self.fresh(f"{self.names[name]}_array")
            names[name] = self.names[f"array {name}"]
            lines.append(f"    {names[name]} = {self.sp.as_const.format(value=self.names[name], like=like)}")
        return expr.xreplace(replacements), names, lines

    def loss(self) -> list[str]:
        names = self.field_names(self.m.training_set, "batch")
        normalized = self.normalized and self.observed
        lines = ["def loss_and_statistics(p, batch, running=False):",
                 '    """The loss and the batch-normalization statistics it used (batch_norm_code.py)."""'] \
            if normalized else ["def loss(p, batch):"]
        lines += self.spec_comment(self.m.loss_span)
        lines += self._unpack(self.m.loss)
        if self.observed:
            lines.append(self._solve_call(names, "statistics", "running") if normalized else self._solve_call(names))
        expr, names, bindings = self._literals(_scalar(self.m.loss), names)
        value = self.code(expr, names)
        lines += bindings + [f"    return {value}, statistics" if normalized else f"    return {value}", "", ""]
        if normalized:
            lines += ["def loss(p, batch, running=False):",
                      '    """The loss: with the batch\'s statistics (training), or the running ones (`running`)."""',
                      "    return loss_and_statistics(p, batch, running)[0]", "", ""]
        return lines

    def _value_ranges(self, expr, names):
        """Bind each ValueRange(data.field) of a report to a name, one line each (`c_range =
        value_range(batch['c'])`): (expr with symbols in their place, names, the lines)."""
        lines, replace = [], {}
        taken = set(names.values()) | set(self.names.values())
        for atom in sorted(expr.atoms(F.ValueRange), key=str):
            base = _value_range_name(atom.args[0])
            while base in taken:
                base += "_"
            taken.add(base)
            symbol = sympy.Symbol(f"range of {atom.args[0]}")   # no spec name has a space
            replace[atom] = symbol
            lines.append(f"    {base} = {self.code(atom, names)}")
            names = {**names, symbol.name: base}
        return (expr.xreplace(replace) if replace else expr), names, lines

    def reports(self) -> list[str]:
        lines = ["def evaluate_reports(p, data):",
                 '    """The values on the report line, each on the data set it names."""',
                 "    values = {}"]
        for report in self.m.reports:
            names = self.field_names(report.dataset, "batch")
            names[" probes"] = f"data[{literal(DRAWS)}][{literal(PROBES)}]"   # the runtime's draw_batch(0, 0)
            if self.bayes is not None:   # a weight posterior's draws, those of draw_batch(0, 0) too
                names.update(self.bayes.draw_names(f"data[{literal(DRAWS)}]"))
            lines += self.spec_comment(report.span)
            lines += self._unpack(report.expr)
            if report.dataset:
                lines.append(f"    batch = data[{literal(report.dataset)}]")
            if report.expr.has(S.StateAt):
                lines.append(self._solve_call(names))
            expr, names, bindings = self._literals(_numbers_as_columns(report.expr), names)
            expr, names, ranges = self._value_ranges(expr, names)
            lines += bindings + ranges + [f"    values[{literal(report.label)}] = {self.code(expr, names)}"]
        lines += ["    return values", "", ""]
        return lines


REDUCED = (S.MeanSquaredError, S.MeanOf, S.SumOf, S.FrobeniusNorm, S.SoftmaxCrossEntropy, S.Accuracy, S.FlowNll)


def _scalar(loss):
    """The loss as one number: a reduction over the paths or samples (mean(X(T), over = paths))
    keeps an axis of length 1 for each, so a loss built on one outside a full reduction is
    taken as the mean of its one entry."""
    outside = loss.replace(lambda e: isinstance(e, REDUCED), lambda e: sympy.Symbol("~reduced"))
    return S.MeanOf(loss) if outside.has(F.MeanOver, F.StdOver) else loss


def _numbers_as_columns(expr):
    """A network at a number (f(1.0) on a report line) takes it as a column of one sample."""
    def column(call):
        net, *inputs = call.args
        return S.NetCall(net, *[sympy.ImmutableMatrix([[a]]) if a.is_number else a for a in inputs])
    return expr.replace(lambda e: isinstance(e, S.NetCall) and any(a.is_number for a in e.args[1:]), column)


def _value_range_name(field) -> str:
    """c_range for the data field train.c."""
    return f"{str(field).split('.')[-1]}_range"
