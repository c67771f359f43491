"""The model half of a PINN (or Deep Ritz) module: the loss terms at the collocation points.

    residual        the mean over the interior points of each PDE residual squared, the field's
                    derivatives by Taylor mode (u_taylor, taylor_code.py), the residual printed
                    in their names: mean((u_t + u*u_x - nu*u_xx)**2)
    fit(section)    sum over the section's conditions of weight * mean((lhs - value)^2) at the
                    condition's points (periodic: lhs at one end minus lhs at the other end)
    ritz_energy(f)  the volume of the domain box times the mean of the density f at the
                    interior points (|grad u|^2 in the first derivatives)

Each term is one function of (p, batch); `loss` adds them as the loss line writes them, and
`loss_terms` gives them by their text.  The points come from draw_points (points_code.py) in
batch[set name], one column per coordinate; `coordinates(points)` gives the rows (1, n) the
networks take.  `evaluate_reports` measures rel_l2 on a fixed grid of the domain (pinn_numpy.py).
"""
from __future__ import annotations

import sympy

from sciml.backends.common.divergence_code import term_text
from sciml.backends.common.pinn_fields import (FieldTerms, equation_order, field_symbol, ordered_keys,
                                              quantity_name)
from sciml.backends.common.points_code import point_sets
from sciml.backends.common.quoting import literal
from sciml.backends.common.taylor_code import Locals, taylor_function
from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.lowering import symbols as S

LIBRARY_NAMES = {"p", "batch", "data", "np", "torch", "jax", "jnp", "coordinates", "values"}


def box_volume(model: ir.Model) -> float:
    volume = 1.0
    for c in model.domain:
        volume *= float(c.upper) - float(c.lower)
    return volume


class PinnWriter:
    """Writes the PINN functions with the module's ModelWriter (names, spelling, printer)."""

    def __init__(self, writer, model: ir.Model):
        self.w = writer
        self.m = model      # the writer's model has no scheme (its points are no time grid)
        self.sets = {id(s.condition): s.name for s in point_sets(model) if s.condition is not None}
        self.nets = {n.name: n for n in self.m.networks}
        self.fields = FieldTerms(self.m)
        self.residuals = [self.fields.read(r.expr) for r in self.m.residuals]
        self.energies = {atom: self.fields.read(atom.args[0])
                         for atom in sorted(self.m.loss.atoms(F.RitzEnergy), key=sympy.default_sort_key)}
        self.taylor = {net: writer.fresh(f"{writer.names[net]}_taylor") for net in self.fields.used}
        self.term_functions = self._term_functions()

    def _term_functions(self) -> dict:
        """{loss atom: the name of the function that computes it}."""
        out = {}
        if self.m.loss.has(F.Residual):
            out[F.Residual()] = self.w.fresh("residual")
        for section in sorted({str(a.args[0]) for a in self.m.loss.atoms(F.ConditionFit)}):
            out[F.ConditionFit(sympy.Symbol(section))] = self.w.fresh(f"fit_{section}")
        for atom in self.energies:
            out[atom] = self.w.fresh("ritz_energy")
        return out

    # -- shared pieces --------------------------------------------------------------------
    def locals(self, extra=()) -> Locals:
        constants = {self.w.names[c.name] for c in self.m.constants}
        return Locals(LIBRARY_NAMES | constants | set(self.taylor.values())
                      | set(self.term_functions.values()) | set(extra))

    def unpack_points(self, set_name: str, local) -> tuple[list[str], dict]:
        """`x, t = coordinates(batch['interior'])` and the names table for the coordinates
        (`local`: a Locals to take them from, or the table itself)."""
        names = (dict(local) if isinstance(local, dict)
                 else {c.name: local.fresh(c.name) for c in self.m.domain})
        row = ", ".join(names.values()) + ("," if len(names) == 1 else "")
        return [f"    {row} = coordinates(batch[{literal(set_name)}])"], names

    def unpack_fields(self, local: Locals, coordinates: dict) -> tuple[list[str], dict]:
        """One Taylor call per field: `u, u_t, u_x, u_xx = u_taylor(p, x, t)`."""
        lines, names = [], {}
        for net_name, keys in self.fields.used.items():
            net = self.nets[net_name]
            keys = ordered_keys(keys)
            targets = []
            for key in keys:
                symbol = field_symbol(net_name, key).name
                names[symbol] = local.fresh(quantity_name(net, self.w.names[net_name], key))
                targets.append(names[symbol])
            arguments = ", ".join(coordinates[c] for c in net.inputs)
            lines.append(f"    {', '.join(targets)}{',' if len(targets) == 1 else ''} = "
                         f"{self.taylor[net_name]}(p, {arguments})")
        return lines, names

    def mean(self, text: str) -> str:
        return self.w.sp.printer.SPELLING["mean"].format(text)

    def code(self, expr, names: dict) -> str:
        return self.w.code(expr, {**self.w.names, **names})

    def ordered_code(self, expr, names: dict) -> str:
        """expr printed with its terms in the order it holds them (equation_order's)."""
        printer = self.w.sp.printer({**self.w.names, **names})
        printer._settings["order"] = "none"
        text = printer.doprint(expr)
        self.w.helpers |= printer.helpers
        return text

    # -- the functions ----------------------------------------------------------------------
    def lines(self) -> list[str]:
        lines = self.coordinates_function()
        for net_name in self.fields.used:
            orders = {key: quantity_name(self.nets[net_name], self.w.names[net_name], key)
                      for key in ordered_keys(self.fields.used[net_name])}
            lines += taylor_function(self.nets[net_name], self.w.names, self.w.sp, orders,
                                     self.taylor[net_name]) + ["", ""]
        for atom, name in self.term_functions.items():
            if isinstance(atom, F.Residual):
                lines += self.residual_function(name)
            elif isinstance(atom, F.ConditionFit):
                lines += self.fit_function(name, str(atom.args[0]))
            else:
                lines += self.energy_function(name, atom)
        return lines + self.loss_function() + self.loss_terms_function()

    def coordinates_function(self) -> list[str]:
        columns = ", ".join(c.name for c in self.m.domain)
        return ["def coordinates(points):",
                f'    """The columns of (count, {len(self.m.domain)}) points ({columns}) as the rows '
                '(1, count) the networks take."""',
                "    return tuple(points[:, k][None, :] for k in range(points.shape[1]))", "", ""]

    def residual_function(self, name: str) -> list[str]:
        local = self.locals()
        lines = [f"def {name}(p, batch):",
                 '    """The mean over the interior points of each PDE residual squared."""']
        for r in self.m.residuals:
            lines += self.w.spec_comment(r.span)
        unpack, names = self.unpack_points("interior", local)
        fields, field_names = self.unpack_fields(local, names)
        names.update(field_names)
        squares = [sympy.Pow(equation_order(self.fields, r), 2, evaluate=False) for r in self.residuals]
        means = [self.mean(self.ordered_code(square, names)) for square in squares]
        return lines + unpack + fields + [f"    return {' + '.join(means)}", "", ""]

    def fit_function(self, name: str, section: str) -> list[str]:
        conditions = [c for c in self.m.conditions if c.section == section]
        lines = [f"def {name}(p, batch):",
                 f'    """The {section} conditions: weight * mean((lhs - value)^2) at each one\'s points."""']
        local = self.locals()
        total = local.fresh("total")
        coordinates = {c.name: local.fresh(c.name) for c in self.m.domain}
        for k, condition in enumerate(conditions):
            lines += self.w.spec_comment(condition.span)
            unpack, names = self.unpack_points(self.sets[id(condition)], coordinates)
            mismatch = condition_mismatch(self.m, condition)
            term = self.mean(self.code(mismatch ** 2, names))
            if condition.weight != 1:
                term = f"{self.code(condition.weight, names)} * {term}"
            lines += unpack + [f"    {total} = {term}" if k == 0 else f"    {total} = {total} + {term}"]
        return lines + [f"    return {total}", "", ""]

    def energy_function(self, name: str, atom) -> list[str]:
        volume = box_volume(self.m)
        box = " x ".join(f"[{c.lower:g}, {c.upper:g}]" for c in self.m.domain)
        lines = [f"def {name}(p, batch):",
                 f'    """The energy: the volume of the box {box} ({volume:g}) times the mean of the',
                 '    density at the interior points (Monte Carlo)."""']
        local = self.locals()
        unpack, names = self.unpack_points("interior", local)
        fields, field_names = self.unpack_fields(local, names)
        names.update(field_names)
        value = self.mean(self.code(self.energies[atom], names))
        if volume != 1.0:
            value = f"{volume!r} * {value}"
        return lines + unpack + fields + [f"    return {value}", "", ""]

    def _term_calls(self) -> dict:
        return {f"loss term {k}": f"{name}(p, batch)" for k, name in enumerate(self.term_functions.values())}

    def _with_calls(self, expr):
        replace = {atom: sympy.Symbol(f"loss term {k}") for k, atom in enumerate(self.term_functions)}
        return expr.xreplace(replace)

    def loss_function(self) -> list[str]:
        lines = ["def loss(p, batch):"] + self.w.spec_comment(self.m.loss_span)
        terms = [expr for expr, _ in self.m.loss_terms]
        if terms and sympy.Add(*terms) == self.m.loss:
            expr = sympy.Add(*(self._with_calls(t) for t in terms), evaluate=False)
            text = self.ordered_code(expr, self._term_calls())
        else:
            text = self.code(self._with_calls(self.m.loss), self._term_calls())
        return lines + [f"    return {text}", "", ""]

    def loss_terms_function(self) -> list[str]:
        lines = ["def loss_terms(p, batch):",
                 '    """The loss term by term, as written."""',
                 "    return {"]
        for expr, span in self.m.loss_terms or ((self.m.loss, self.m.loss_span),):
            text = self.code(self._with_calls(expr), self._term_calls())
            lines.append(f"        {term_text(self.w.source_lines, span)!r}: {text},")
        return lines + ["    }", "", ""]


def condition_mismatch(model: ir.Model, condition: ir.Condition):
    """lhs - value at the condition's points: the field's calls read the points' columns (the
    fixed coordinates hold their values there); periodic: lhs here minus lhs at the other end."""
    nets = {n.name: n for n in model.networks}
    fixed = dict(condition.fixed)

    def at_points(call):
        net = nets[str(call.args[0])]
        args = [sympy.Symbol(name) if value.is_number and name in fixed else value
                for name, value in zip(net.inputs, call.args[1:])]
        return S.NetCall(call.args[0], *args)

    lhs = condition.lhs.replace(lambda e: isinstance(e, S.NetCall), at_points)
    if condition.kind == "periodic":
        (name, here), = condition.fixed
        coordinate = sympy.Symbol(name)
        return lhs - lhs.xreplace({coordinate: coordinate + (float(condition.value) - here)})
    return lhs - condition.value


def unsupported(model: ir.Model) -> list:
    """[(what, span)] of what the PINN writer cannot write yet (E901)."""
    found = []
    for d in model.datasets:
        found.append(("data sets in a PINN model (observations of the field)", d.span))
    for q in model.parameters:
        found.append(("trainable parameters in a PINN model (inverse problems)", q.span))
    for net in model.networks:
        if not net.field or net.layers or net.index or net.batchnorm or net.widths[-1] != 1:
            found.append(("a network in a PINN model that is not a scalar field MLP", net.span))
    for residual in model.residuals:
        terms = FieldTerms(model)
        terms.read(residual.expr)
        found += [(what, residual.span) for what in dict.fromkeys(terms.problems)]
    for condition in model.conditions:
        if condition.kind == "neumann" or condition.lhs.has(F.Partial):
            found.append(("derivative (Neumann) conditions in a PINN model", condition.span))
        elif condition.points is None:
            found.append(("a condition without points", condition.span))
        elif condition.lhs.has(F.Laplacian, F.SpaceGradient):
            found.append(("a condition on a derivative of a field", condition.span))
    allowed = (F.Residual, F.ConditionFit, F.RitzEnergy)
    kinds = {type(a) for a in model.loss.atoms(sympy.Function)}
    inside = set()
    for atom in model.loss.atoms(F.RitzEnergy):
        terms = FieldTerms(model)
        terms.read(atom.args[0])
        found += [(what, model.loss_span) for what in dict.fromkeys(terms.problems)]
        inside |= {type(a) for a in atom.args[0].atoms(sympy.Function)}
    outside = {k for k in kinds - inside if issubclass(k, S.ArrayOp) and k not in allowed}
    for kind in sorted(outside, key=lambda k: k.__name__):
        found.append((f"{kind.__name__} in the loss of a PINN model", model.loss_span))
    for report in model.reports:
        if not isinstance(report.expr, F.RelativeL2):
            found.append(("reports other than rel_l2(u, exact) in a PINN model", report.span))
    return found
