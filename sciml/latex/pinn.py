"""`sciml latex` of a pinn model (PINN or Deep Ritz): the PDE on its domain, the conditions with
their points, the collocation, each loss term as a formula, and the report.

    model           each pde as written (lhs = rhs), the domain x in [-1, 1], t in [0, 1], the constants
    conditions      u(x, 0) = -sin(pi x), u(-1, t) = 0, d_x u(0, t) = 0, u(0, y) = u(1, y), ...,
                    each with its face or slice, point count, sampler and weight
    discretization  collocation at N_r interior points (sampler), fixed or redrawn every k steps
    loss            L = the terms as written; L_r = 1/N_r sum_i r(x_i, t_i)^2 with r spelled out;
                    L_section = sum over its conditions of w 1/N sum_k (lhs - value)^2 at the points
                    (periodic: one end minus the other); E = the integral of the density over the
                    box, approximated by |Omega| times the mean at the interior points, and its
                    Euler-Lagrange equation (sciml.analysis.ritz, the A505 finding's); a data fit
                    mean(...) over a data set as 1/N_obs sum_k
    report          rel_l2 = ||u - u*|| / ||u*|| on the report grid, u* the exact solution

The maths is printed by FieldLatexPrinter (fields.py); this module only lays the lines out.
Deterministic: everything is read from the IR in its order.
"""
from __future__ import annotations

import sympy

from sciml.analysis import pde_fields, ritz
from sciml.analysis.pinn_ansatz import uses_ansatz
from sciml.latex.fields import (DomainIntegral, Evaluated, FieldLatexPrinter, PointMean, at_points, derivatives,
                                number)
from sciml.latex.writer import _align, _text, document, symbol_latex
from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.lowering import symbols as S

SAMPLER_NAMES = {"uniform": "uniform", "latin_hypercube": "Latin hypercube", "sobol": "Sobol"}
REFERENCE_WORDS = {"burgers_cole_hopf": "the exact solution by the Cole--Hopf transform"}
INTERIOR_COUNT = sympy.Symbol("N_r")
VOLUME = sympy.Symbol("~volume")     # no spec name has a '~': |Omega|


class PinnLatex:
    def __init__(self, model: ir.Model):
        self.m = model
        self.coordinates = tuple(c.name for c in model.domain)
        self.symbols = tuple(sympy.Symbol(c) for c in self.coordinates)
        self.nets = {n.name: n for n in model.networks}
        self.atoms = self._loss_atoms()
        names = {VOLUME.name: r"\left|\Omega\right|"}
        for d in model.datasets:
            names[f"~count {d.name}"] = "N_{" + _data_set(d.name) + "}"
            for f in d.fields:   # a data fit sums over the samples k: x_k^{obs}
                names[f"{d.name}.{f.name}"] = symbol_latex(f.name, "k") + "^{" + _data_set(d.name) + "}"
        self.p = FieldLatexPrinter(self.coordinates, names, self._term_names())

    def tex(self, expr) -> str:
        return self.p.doprint(expr)

    def interval(self, c: ir.Coordinate) -> str:
        return f"[{self.tex(number(c.lower))}, {self.tex(number(c.upper))}]"

    def box(self, coordinates) -> str:
        """[-1, 1] \\times [0, 1]"""
        return r" \times ".join(self.interval(c) for c in coordinates)

    # -- the loss atoms and their names -------------------------------------------------------
    def _terms(self) -> list:
        """The loss term by term, as written (the whole loss when the terms do not add up to it)."""
        terms = [term for term, _ in self.m.loss_terms]
        return terms if terms and sympy.Add(*terms) == self.m.loss else [self.m.loss]

    def _loss_atoms(self) -> list:
        """Residual, ConditionFit, RitzEnergy and data-fit means, in the order the loss names them."""
        out = []
        for term in self._terms():
            out += [atom for atom in self._outer_atoms(term) if atom not in out]
        return out

    def _outer_atoms(self, expr) -> list:
        """The loss atoms of expr, not those inside another (sympy's order of the arguments)."""
        if isinstance(expr, (F.Residual, F.ConditionFit, F.RitzEnergy)) or \
                isinstance(expr, S.MeanOf) and self.data_set_of(expr) is not None:
            return [expr]
        return [atom for a in expr.args if isinstance(a, sympy.Basic) for atom in self._outer_atoms(a)]

    def data_set_of(self, mean) -> str | None:
        """The data set a mean(...) of the loss sums over (a data fit), or None."""
        sets = {s.name.split(".")[0] for s in mean.free_symbols if "." in s.name}
        sets = {name for name in sets if self.m.dataset(name) is not None}
        return sets.pop() if len(sets) == 1 else None

    def _term_names(self) -> dict:
        energies = [a for a in self.atoms if isinstance(a, F.RitzEnergy)]
        fits: dict = {}
        names = {}
        for atom in self.atoms:
            if isinstance(atom, F.RitzEnergy):
                names[atom] = r"\mathcal{E}" + ("" if len(energies) == 1 else
                                                "_{" + str(energies.index(atom) + 1) + "}")
            elif isinstance(atom, S.MeanOf):
                data = self.data_set_of(atom)
                fits.setdefault(data, []).append(atom)
        for data, means in fits.items():
            for k, atom in enumerate(means):
                index = "" if len(means) == 1 else f",{k + 1}"
                names[atom] = r"\mathcal{L}_{" + _data_set(data) + index + "}"
        return names

    # -- blocks ----------------------------------------------------------------------------------
    def model_lines(self) -> list[str]:
        lines = [f"{self.tex(lhs)} &= {self.tex(rhs)}" for lhs, rhs in (r.sides for r in self.m.residuals)]
        return lines + domain_lines(self.m, self.tex)

    def condition_lines(self) -> list[str]:
        return [self.condition_line(c) for c in self.m.conditions] + self.ansatz_lines()

    def ansatz_lines(self) -> list[str]:
        """u(x, t) = G + D N(x, t) for a field with hard conditions (analysis/pinn_ansatz.py)."""
        lines = []
        for name, ansatz in uses_ansatz(self.m).items():
            field = sympy.Function(name)(*ansatz.coordinates)
            network = sympy.Function(f"N_{name}")(*ansatz.coordinates)
            expr = sympy.Mul(ansatz.distance, network, evaluate=False)
            if ansatz.value != 0:
                expr = sympy.Add(ansatz.value, expr, evaluate=False)
            lines.append(f"{self.tex(field)} &= {self.tex(expr)}, \\quad {self.tex(network)} "
                         r"\text{ the network}")
        return lines

    def condition_line(self, c: ir.Condition) -> str:
        lhs = self.on_face(c)
        here = {s: s for s in self.symbols}
        left = self.tex(self.at(lhs, c, here))
        if c.kind == "periodic":
            right = self.tex(self.at(lhs, c, here, other_end=True))
        else:
            right = self.tex(c.value)
        (name, value), *_ = c.fixed
        face = f"{symbol_latex(name)} = {self.tex(number(value))}"
        if c.kind == "periodic":
            face += rf" \text{{ and }} {symbol_latex(name)} = {self.tex(number(c.value))}"
        words = {"initial": "initial", "dirichlet": "boundary", "neumann": "Neumann",
                 "periodic": "periodic"}[c.kind]
        if c.kind == "initial" and _time_order(c.lhs) == 1:
            words = "initial velocity"
        text = rf"\text{{{words}, }} {face}"
        if c.hard:
            text += r"\text{: hard (the field is built to satisfy it)}"
        elif c.points is not None:
            text += (rf"\text{{: {c.points.count} {SAMPLER_NAMES[c.points.sampler]} points, weight }} "
                     f"{self.tex(number(c.weight))}")
        return f"{left} &= {right}, \\quad {text}"

    def discretization_lines(self) -> list[str]:
        collocation = self.m.scheme
        interior, resample = collocation.interior, collocation.resample
        points = "(" + ", ".join(symbol_latex(c, "i") for c in self.coordinates) + ")"
        when = ("drawn once" if resample == 0 else "redrawn every step" if resample == 1
                else f"redrawn every {resample} steps")
        if self.m.conditions:
            when += " (the conditions' points too)"
        return [rf"&\text{{collocation at }} {self.tex(INTERIOR_COUNT)} = {interior.count} "
                rf"\text{{ interior points }} {points} \in {self.box(self.m.domain)}",
                rf"&\text{{{SAMPLER_NAMES[interior.sampler]} points, {when}}}"]

    def loss_lines(self) -> list[str]:
        terms = self._terms()
        line = r"\mathcal{L} &= " + self.tex(terms[0])
        for term in terms[1:]:   # the terms as written, each a short name defined below
            line += " - " + self.tex(-term) if term.could_extract_minus_sign() else " + " + self.tex(term)
        lines = [line]
        for atom in self.atoms:
            if isinstance(atom, F.Residual):
                lines += self.residual_lines(atom)
            elif isinstance(atom, F.ConditionFit):
                lines += self.fit_lines(atom)
            elif isinstance(atom, F.RitzEnergy):
                lines += self.energy_lines(atom)
            else:
                lines += self.data_fit_lines(atom)
        return lines

    def residual_lines(self, atom) -> list[str]:
        several = len(self.m.residuals) > 1
        names = [sympy.Function(f"r_{k + 1}" if several else "r") for k in range(len(self.m.residuals))]
        here = {s: s for s in self.symbols}
        lines = [f"{self.tex(Evaluated(r(*self.symbols), _point(here)))} &= {self.tex(residual.expr)}"
                 for r, residual in zip(names, self.m.residuals)]
        at_i = list(at_points(self.coordinates, "i").values())
        squares = sympy.Add(*(r(*at_i) ** 2 for r in names))
        mean = PointMean(squares, INTERIOR_COUNT, sympy.Symbol("i"), sympy.S.One)
        return lines + [f"{self.tex(atom)} &= {self.tex(mean)}"]

    def fit_lines(self, atom) -> list[str]:
        section = str(atom.args[0])
        means = []
        for c in (c for c in self.m.conditions if c.section == section and not c.hard):
            free = {s: (s if s.name in dict(c.fixed) else sympy.Symbol(f"{s.name}_k")) for s in self.symbols}
            lhs = self.on_face(c)
            if c.kind == "periodic":
                mismatch = sympy.Add(self.at(lhs, c, free), -self.at(lhs, c, free, other_end=True),
                                     evaluate=False)
            else:
                value = c.value.xreplace({s: number(v) for s, v in self._fixed(c).items()}).xreplace(free)
                mismatch = self.at(lhs, c, free)
                if value != 0:
                    mismatch = sympy.Add(mismatch, -value, evaluate=False)
            count = sympy.Integer(c.points.count) if c.points is not None else sympy.Symbol("N")
            means.append(PointMean(mismatch ** 2, count, sympy.Symbol("k"), number(c.weight)))
        if not means:
            return [f"{self.tex(atom)} &= 0"]
        return [f"{self.tex(atom)} &= {self.tex(means[0])}"] + [r"&\quad + " + self.tex(m) for m in means[1:]]

    def energy_lines(self, atom) -> list[str]:
        """W(x, y) = the density; E = the integral of W over the box, |Omega| times the mean of W
        at the interior points (Monte Carlo); the Euler-Lagrange equation of E."""
        energies = [a for a in self.atoms if isinstance(a, F.RitzEnergy)]
        density = sympy.Function("W" if len(energies) == 1 else f"W_{energies.index(atom) + 1}")
        here = _point({s: s for s in self.symbols})
        at_i = list(at_points(self.coordinates, "i").values())
        integral = DomainIntegral(density(*self.symbols), *self.symbols)
        mean = PointMean(density(*at_i), INTERIOR_COUNT, sympy.Symbol("i"), VOLUME)
        volume = 1.0
        for c in self.m.domain:
            volume *= float(c.upper) - float(c.lower)
        box = self.box(self.m.domain)
        lines = [f"{self.tex(Evaluated(density(*self.symbols), here))} &= {self.tex(atom.args[0])}",
                 f"{self.tex(atom)} &= {self.tex(integral)} \\approx {self.tex(mean)}",
                 rf"&\quad \Omega = {box}, \ {self.tex(VOLUME)} = {self.tex(number(volume))}"]
        return lines + self.euler_lagrange_lines(atom)

    def euler_lagrange_lines(self, atom) -> list[str]:
        """The equation the minimizer solves (ritz.derived, as finding A505) and its natural
        condition where no Dirichlet penalty holds the field."""
        try:
            density = pde_fields.as_calculus(atom.args[0], self.m)
        except pde_fields.NotCalculus:
            return []
        for el in ritz.derived(self.m):
            if el.density != density:
                continue
            lhs, rhs = ritz.equation_sides(el, self.m)
            energy = self.tex(atom)
            lines = [rf"{self.tex(lhs)} &= {self.tex(rhs)} \qquad "
                     rf"\text{{(the Euler--Lagrange equation of }} {energy}\text{{)}}"]
            _, natural = ritz.natural_conditions(el, self.m)
            if natural:
                if ritz.has_plain_flux(el, self.m):
                    condition = r"\partial_{n} " + symbol_latex(el.field) + " = 0"
                else:
                    flux = [self.tex(sympy.factor(p)) for p in el.flux]
                    condition = r"\left(" + ", ".join(flux) + r"\right) \cdot n = 0"
                faces = ", ".join(self._face_tex(face) for face in natural)
                lines.append(rf"{condition} &\text{{ on }} {faces} \qquad "
                             r"\text{(its natural boundary condition)}")
            return lines
        return []

    def data_fit_lines(self, atom) -> list[str]:
        data = self.data_set_of(atom)
        count = sympy.Symbol(f"~count {data}")
        mean = PointMean(atom.args[0], count, sympy.Symbol("k"), sympy.S.One)
        return [rf"{self.tex(atom)} &= {self.tex(mean)}, && {self.tex(count)} \text{{ samples of }} "
                rf"\mathrm{{{_text(data)}}}"]

    def report_lines(self) -> list[str]:
        lines = []
        for report in self.m.reports:
            label = r"\mathrm{" + _text(report.label) + "}"
            if not isinstance(report.expr, F.RelativeL2):
                lines.append(f"{label} &= {self.tex(report.expr)}")
                continue
            field, exact = report.expr.args
            u, star = symbol_latex(str(field)), symbol_latex(str(field)) + r"^{\star}"
            exact = exact.xreplace({f: number(f) for f in exact.atoms(sympy.Float)})
            ratio = (r"\frac{\left\|" + u + " - " + star + r"\right\|_{2}}{\left\|" + star + r"\right\|_{2}}")
            lines.append(f"{label} &= {ratio}, \\quad {star} = {self.tex(exact)}")
            if isinstance(exact, F.Reference) and str(exact.args[0]) in REFERENCE_WORDS:
                lines.append(rf"&\text{{{REFERENCE_WORDS[str(exact.args[0])]}}}")
            lines.append(r"&\text{on the grid } " + self.grid_text())
        return lines

    def grid_text(self) -> str:
        """The report grid (the emitted module's REFERENCE_GRID): with t, the paper's 256 x 100."""
        timed = any(c.name == "t" for c in self.m.domain)
        space = [c for c in self.m.domain if c.name != "t"]
        count = F.REPORT_SPACE_POINTS_WITH_TIME if timed else F.REPORT_POINTS_PER_COORDINATE
        counts = r" \times ".join(str(count) for _ in space)
        text = rf"{counts} \text{{ points of }} {self.box(space)} \text{{ (ends included)}}" if space else ""
        for c in self.m.domain:
            if c.name == "t":
                lower, upper = float(c.lower), float(c.upper)
                step = (upper - lower) / F.REPORT_TIME_POINTS
                times = (rf"t = {self.tex(number(lower))}, {self.tex(number(lower + step))}, \dots, "
                         f"{self.tex(number(lower + (F.REPORT_TIME_POINTS - 1) * step))}")
                text = text + r", \ " + times if text else times
        return text

    # -- conditions at their points ----------------------------------------------------------------
    def _fixed(self, c: ir.Condition) -> dict:
        return {sympy.Symbol(name): value for name, value in c.fixed}

    def on_face(self, c: ir.Condition):
        """The condition's lhs with each field's fixed argument back to its coordinate (u(-1, t)
        as u(x, t)), so that `at` can put it at either end or at the points."""
        fixed = dict(c.fixed)

        def restore(call):
            net = self.nets.get(str(call.args[0]))
            if net is None:
                return call
            args = [sympy.Symbol(name) if name in fixed and a.is_number and float(a) == fixed[name] else a
                    for name, a in zip(net.inputs, call.args[1:])]
            return S.NetCall(call.args[0], *args)
        return c.lhs.replace(lambda e: isinstance(e, S.NetCall), restore)

    def at(self, lhs, c: ir.Condition, free: dict, other_end=False):
        """lhs on the condition's face (its other end, for periodic), the free coordinates at `free`."""
        point = dict(free)
        for s, value in self._fixed(c).items():
            point[s] = number(c.value if other_end else value)
        return Evaluated(lhs, _point(point))

    def _face_tex(self, face: str) -> str:
        name, value = face.split(" = ")
        return f"{symbol_latex(name)} = {self.tex(number(float(value)))}"


def domain_lines(model: ir.Model, tex) -> list[str]:
    """x in [-1, 1], t in [0, 1]; then the constants that are numbers, each line led by &."""
    lines = ["&" + r", \quad ".join(f"{symbol_latex(c.name)} \\in [{tex(number(c.lower))}, {tex(number(c.upper))}]"
                                    for c in model.domain)]
    constants = [f"{symbol_latex(c.name)} = {tex(c.value)}" for c in model.constants
                 if not isinstance(c.value, sympy.MatrixBase)]
    return lines + (["&" + r", \quad ".join(constants)] if constants else [])


def _point(mapping: dict) -> sympy.Tuple:
    return sympy.Tuple(*(sympy.Tuple(s, v) for s, v in mapping.items()))


def _data_set(name: str) -> str:
    return r"\mathrm{" + _text(name) + "}"


def _time_order(expr) -> int:
    """The order of the t-derivative an initial condition holds: 1 for dt(u)(x, 0)."""
    return max((chain.count("t") for chain in derivatives(expr)), default=0)


def pinn_document(model: ir.Model, standalone: bool) -> str:
    """The blocks of a pinn model, as `align*` environments (a whole document if asked)."""
    w = PinnLatex(model)
    title = _text(model.name)
    parts = [(f"{title}: the PDE on its domain", "Model", w.model_lines()),
             ("conditions", "Conditions", w.condition_lines()),
             ("discretization: collocation", "Discretization: collocation", w.discretization_lines()),
             ("loss", "Loss", w.loss_lines()),
             ("report", "Report", w.report_lines())]
    parts = [(comment, heading, _align(lines)) for comment, heading, lines in parts if lines]
    return document(title, parts, standalone)
