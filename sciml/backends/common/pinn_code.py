"""The model half of a PINN (or Deep Ritz) module: the loss terms at the collocation points.

    residual        the mean over the interior points of each PDE residual squared, the field's
                    derivatives by Taylor mode (u_taylor, taylor_code.py) or by nested autodiff
                    (u_autodiff, taylor_autodiff_code.py; collocation(derivatives = ...), else
                    Taylor mode up to second order), the residual printed in their names:
                    mean((u_t + u*u_x - nu*u_xx)**2)
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
from sciml.analysis.pinn_ansatz import network_quantity, uses_ansatz
from sciml.backends.common.pinn_ansatz import field_function
from sciml.backends.common.pinn_fields import (FieldTerms, equation_order, field_symbol, ordered_keys,
                                              quantity_name)
from sciml.backends.common.points_code import point_sets
from sciml.backends.common.quoting import literal
from sciml.backends.common.taylor_autodiff_code import autodiff_function
from sciml.backends.common.taylor_code import TAYLOR_ORDER, Laplacian, Locals, taylor_function
from sciml.backends.common.taylor_layers_code import (derivative_count, derivatives_function,
                                                      taylor_layers_function)
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

    def __init__(self, writer, model: ir.Model, backend: str):
        self.w = writer
        self.m = model
        self.backend = backend
        self.sets = {id(s.condition): s.name for s in point_sets(model) if s.condition is not None}
        self.nets = {n.name: n for n in self.m.networks}
        self.fields = FieldTerms(self.m)
        self.residuals = [self.fields.read(r.expr) for r in self.m.residuals]
        self.energies = {atom: self.fields.read(atom.args[0])
                         for atom in sorted(self.m.loss.atoms(F.RitzEnergy), key=sympy.default_sort_key)}
        self.conditions = {id(c): self._condition_terms(c) for c in self.m.conditions}
        self.ansatz = uses_ansatz(model)      # fields with hard conditions: u = G + D u_net
        for net in self.ansatz:
            writer.network_functions[net] = writer.fresh(f"{writer.names[net]}_net")
        self.network_taylor = {}              # {(net, network keys): u_net_taylor}
        self.activation_functions = {}        # {activation: tanh_derivatives} (taylor_layers_code.py)
        self.runtime_classes = set()          # the runtime's classes the functions call (TaylorLayer)
        # {(net, keys): function name}: one per field for the interior (u_taylor), and one for
        # each other set of derivatives a condition reads (u_x_taylor for a Neumann condition)
        self.derivative_functions, self.derivative_routes = {}, {}
        for terms in [self.fields] + [t for t in self.conditions.values() if t is not None]:
            for net, keys in terms.used.items():
                self._derivative_function(net, tuple(ordered_keys(keys)), terms is self.fields)
        self.term_functions = self._term_functions()

    def _condition_terms(self, condition) -> FieldTerms | None:
        """The field quantities a condition reads, where it reads a derivative (None: values only)."""
        if not condition.lhs.has(F.Partial, F.Laplacian):
            return None
        terms = FieldTerms(self.m)
        terms.read(condition.lhs)
        return terms

    def _derivative_function(self, net: str, keys: tuple, interior: bool) -> str:
        if (net, keys) not in self.derivative_functions:
            route = derivative_route(keys, self.m.scheme.derivatives)
            stem = self.w.names[net] if interior else "_".join(
                quantity_name(self.nets[net], self.w.names[net], k) for k in keys if k != ())
            self.derivative_functions[net, keys] = self.w.fresh(f"{stem}_{route}")
            self.derivative_routes[net, keys] = route
        return self.derivative_functions[net, keys]

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
        return Locals(LIBRARY_NAMES | constants | set(self.derivative_functions.values())
                      | set(self.term_functions.values()) | set(extra))

    def unpack_points(self, set_name: str, local) -> tuple[list[str], dict]:
        """`x, t = coordinates(batch['interior'])` and the names table for the coordinates
        (`local`: a Locals to take them from, or the table itself)."""
        names = (dict(local) if isinstance(local, dict)
                 else {c.name: local.fresh(c.name) for c in self.m.domain})
        row = ", ".join(names.values()) + ("," if len(names) == 1 else "")
        return [f"    {row} = coordinates(batch[{literal(set_name)}])"], names

    def unpack_fields(self, local: Locals, coordinates: dict, terms: FieldTerms | None = None,
                      suffix: str = "") -> tuple[list[str], dict]:
        """One derivative call per field: `u, u_t, u_x, u_xx = u_taylor(p, x, t)` (the quantities
        `terms` reads, by default those of the interior; `coordinates`: the argument text of
        each coordinate; `suffix` tells the placeholders of a second call apart: the values at
        the other end of a periodic pair, u_x_end)."""
        terms = terms or self.fields
        lines, names = [], {}
        for net_name, keys in terms.used.items():
            net = self.nets[net_name]
            keys = tuple(ordered_keys(keys))
            targets = []
            for key in keys:
                symbol = field_symbol(net_name, key).name + suffix
                base = quantity_name(net, self.w.names[net_name], key) + ("_end" if suffix else "")
                names[symbol] = local.fresh(base)
                targets.append(names[symbol])
            arguments = ", ".join(coordinates[c] for c in net.inputs)
            function = self.derivative_functions[net_name, keys]
            lines.append(f"    {', '.join(targets)}{',' if len(targets) == 1 else ''} = "
                         f"{function}(p, {arguments})")
        return lines, names

    def mean(self, text: str) -> str:
        return self.w.sp.printer.SPELLING["mean"].format(text)

    def spec_names(self) -> dict:
        """The module's names, the trainable parameters read from p (p['c']) and the training
        set's fields from the batch (batch['u'])."""
        names = self.w.field_names(self.m.training_set, "batch")
        for q in self.m.parameters:
            names[q.name] = f"p[{literal(self.w.names[q.name])}]"
        return names

    def code(self, expr, names: dict) -> str:
        return self.w.code(expr, {**self.spec_names(), **names})

    def ordered_code(self, expr, names: dict) -> str:
        """expr printed with its terms in the order it holds them (equation_order's)."""
        printer = self.w.sp.printer({**self.spec_names(), **names})
        printer._settings["order"] = "none"
        text = printer.doprint(expr)
        self.w.helpers |= printer.helpers
        return text

    # -- the functions ----------------------------------------------------------------------
    def lines(self) -> list[str]:
        lines = self.coordinates_function()
        for net_name in self.ansatz:
            lines += field_function(self.ansatz[net_name], self.w.names, self.code,
                                    self.w.network_functions[net_name]) + ["", ""]
        for (net_name, keys), function in self.derivative_functions.items():
            net = self.nets[net_name]
            orders = {key: quantity_name(net, self.w.names[net_name], key) for key in keys}
            if net_name in self.ansatz and self.derivative_routes[net_name, keys] == "taylor":
                lines += self.ansatz_taylor_lines(net, keys, function)
            elif self.derivative_routes[net_name, keys] == "taylor":
                lines += self.taylor_lines(net, orders, function)
            else:
                lines += autodiff_function(net, self.w.names, self.w.sp, orders, self.backend,
                                           function) + ["", ""]
        for atom, name in self.term_functions.items():
            if isinstance(atom, F.Residual):
                lines += self.residual_function(name)
            elif isinstance(atom, F.ConditionFit):
                lines += self.fit_function(name, str(atom.args[0]))
            else:
                lines += self.energy_function(name, atom)
        return lines + self.loss_function() + self.loss_terms_function()

    def taylor_lines(self, net: ir.Network, orders: dict, function: str) -> list[str]:
        """u_taylor: each hidden layer one call of the runtime's Taylor layers where the backend
        has them (taylor_layers_code.py), after the activation's derivatives function where no
        function before wrote it; else every product written out (taylor_code.py)."""
        if not derivative_count(net, orders, self.w.sp):
            return taylor_function(net, self.w.names, self.w.sp, orders, function) + ["", ""]
        lines, activation = [], net.activation
        if activation not in self.activation_functions:
            self.activation_functions[activation] = self.w.fresh(f"{activation}_derivatives")
            lines += derivatives_function(activation, self.derivative_counts()[activation],
                                          self.activation_functions[activation], self.w.sp) + ["", ""]
        self.runtime_classes |= {"TaylorInputLayer"} | ({"TaylorLayer"} if len(net.widths) > 3 else set())
        return lines + taylor_layers_function(net, self.w.names, self.w.sp, orders, function,
                                              self.activation_functions[activation]) + ["", ""]

    def derivative_counts(self) -> dict:
        """{activation: how many of sigma, sigma', ... its derivatives function returns}: the most
        any Taylor function of the module takes (one function per activation)."""
        counts = {}
        for (net_name, keys), route in self.derivative_routes.items():
            net = self.nets[net_name]
            if route != "taylor":
                continue
            if net_name in self.ansatz:
                keys = tuple(self.ansatz[net_name].network_keys(keys))
            count = derivative_count(net, {key: f"q{k}" for k, key in enumerate(keys)}, self.w.sp)
            counts[net.activation] = max(count, counts.get(net.activation, 0))
        return counts

    def ansatz_taylor_lines(self, net: ir.Network, keys: tuple, function: str) -> list[str]:
        """The field's derivatives by the product rule from the network's Taylor-mode ones:
        `u_net, u_net_x = u_net_taylor(p, x, t)`, then `u_x = G_x + D_x*u_net + D*u_net_x`."""
        ansatz, network = self.ansatz[net.name], self.w.network_functions[net.name]
        network_keys = tuple(ansatz.network_keys(keys))
        lines = []
        if (net.name, network_keys) not in self.network_taylor:
            name = self.w.fresh(f"{network}_taylor")
            self.network_taylor[net.name, network_keys] = name
            orders = {key: quantity_name(net, network, key) for key in network_keys}
            lines += self.taylor_lines(net, orders, name)
        local = self.locals()
        arguments = {c: local.fresh(c) for c in net.inputs}
        quantities = {network_quantity(key).name: local.fresh(quantity_name(net, network, key))
                      for key in network_keys}
        field = {key: local.fresh(quantity_name(net, self.w.names[net.name], key)) for key in keys}
        returned = ", ".join(field.values())
        lines += [f"def {function}(p, {', '.join(arguments.values())}):",
                  f'    """{self.w.names[net.name]} = G + D * {network} (its hard conditions): '
                  f'{returned},',
                  f'    by the product rule from {network}\'s derivatives in Taylor mode."""',
                  f"    {', '.join(quantities.values())}{',' if len(quantities) == 1 else ''} = "
                  f"{self.network_taylor[net.name, network_keys]}(p, {', '.join(arguments.values())})"]
        for key in keys:
            lines.append(f"    {field[key]} = {self.code(ansatz.derivative(key), {**arguments, **quantities})}")
        return lines + [f"    return {returned}", "", ""]

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
        conditions = [c for c in self.m.conditions if c.section == section and not c.hard]
        lines = [f"def {name}(p, batch):",
                 f'    """The {section} conditions: weight * mean((lhs - value)^2) at each one\'s points."""']
        local = self.locals()
        total = local.fresh("total")
        coordinates = {c.name: local.fresh(c.name) for c in self.m.domain}
        for k, condition in enumerate(conditions):
            lines += self.w.spec_comment(condition.span)
            unpack, names = self.unpack_points(self.sets[id(condition)], coordinates)
            fields, mismatch = self.condition_quantities(condition, local, names)
            unpack += fields
            term = self.mean(self.code(mismatch ** 2, names))
            if condition.weight != 1:
                term = f"{self.code(condition.weight, names)} * {term}"
            lines += unpack + [f"    {total} = {term}" if k == 0 else f"    {total} = {total} + {term}"]
        return lines + [f"    return {total}", "", ""]

    def condition_quantities(self, condition, local: Locals, names: dict) -> tuple[list[str], sympy.Basic]:
        """(the derivative calls a condition needs, lhs - value in the names they bind); `names`
        (the coordinates) is extended with theirs.  A periodic condition reads the field at the
        other end too: the points' coordinate shifted by the interval's length."""
        terms = self.conditions[id(condition)]
        if terms is None:
            return [], condition_mismatch(self.m, condition)
        lhs = terms.read(condition.lhs)
        lines, found = self.unpack_fields(local, names, terms)
        if condition.kind == "periodic":
            (coordinate, here), = condition.fixed
            shifted = {**names, coordinate: f"{names[coordinate]} + {float(condition.value) - here!r}"}
            there, found_there = self.unpack_fields(local, shifted, terms, " there")
            lines += there
            found.update(found_there)
            value = lhs.xreplace({s: sympy.Symbol(s.name + " there") for s in lhs.free_symbols
                                  if s.name in terms.placeholders})
        else:
            value = condition.value
        names.update(found)
        return lines, lhs - value

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


def derivative_order(key) -> int:
    return 2 if isinstance(key, Laplacian) else len(key)


def derivative_route(keys, asked: str) -> str:
    """taylor or autodiff: as the spec asks (collocation(derivatives = ...)), else Taylor mode
    where it is written (orders up to TAYLOR_ORDER) and nested autodiff above."""
    if asked:
        return asked
    return "taylor" if max(map(derivative_order, keys), default=0) <= TAYLOR_ORDER else "autodiff"


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
