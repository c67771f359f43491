r"""`sciml latex` of a grid_pde model (the method of lines): the PDE on its domain with its
conditions, the grid, the semi-discrete system the code is written from, the time scheme on the
nodes' values, and the loss.

    model          dt(c) = D lap(c) + div(U(c) c) + R(c), x in [0, 1], t in [0, T], the constants;
                   c(x, 0) = ..., c(0, t) = c(1, t) (periodic), u(0, y, t) = 0, d_x u(1, t) = g
    grid           x_i = a + i dx, dx = L / N (periodic: x_N is x_0) or L / (N - 1), i = 0..N-1;
                   each end as the boundary line makes it: periodic (c_{-1} = c_{N-1}, c_N = c_0),
                   Dirichlet (c_0 holds the value), Neumann (a ghost node c_{-1}: the central
                   difference at the end is the slope)
    semi-discrete  dc_i/dt = the right side of semi_discrete (lowering/method_of_lines.py), every
                   stencil printed at node i from the values it reads: D (c_{i-1} - 2 c_i + c_{i+1})
                   / dx^2 + (c_{i+1} U(c_{i+1}) - c_{i-1} U(c_{i-1})) / (2 dx) + R(c_i); upwind
                   fluxes and differences as grid_pieces.py computes them
    scheme         the time scheme's stages (stages.py) on the vector c of the unknown nodes, F(c)
                   the semi-discrete right side; IMEX with L = -D Delta_h, Delta_h the second
                   differences as a matrix
    loss           as written: c at the data's nodes and times

The same semi-discrete form the code writer prints, so LaTeX and code cannot disagree.
"""
from __future__ import annotations

import dataclasses

import sympy
from sympy.printing.precedence import PRECEDENCE

from sciml.latex.fields import FieldLatexPrinter, number
from sciml.latex.pinn import domain_lines
from sciml.latex.writer import (SpecLatexPrinter, _align, _loss_lines, _text, _Writer, document, spec_names,
                                symbol_latex)
from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.lowering.method_of_lines import grid_of, semi_discrete, with_ends
from sciml.schemes import registry

INDICES = ("i", "k", "l", "m", "p", "q")   # node indices, the first two the spec does not name (j: the time step)
ENDS = with_ends("").name   # the suffix of a state read with its end nodes


class NodeLatexPrinter(SpecLatexPrinter):
    """Prints the semi-discrete right side at node (i) or (i, k): a state or coordinate read
    with its end nodes at the current shift of the index (c_{i+1} inside a stencil), a stencil
    as its difference quotient, a network at the node."""

    def __init__(self, states, coordinates, indices, names=None):
        super().__init__(names)
        self.indices = tuple(indices)             # the node index along each space coordinate
        self.states = tuple(states)
        self.coordinates = tuple(coordinates)     # the space coordinates in the grid's order
        self.nodes = {}                           # the semi-discrete names of x at the nodes: x
        self.shift = [0] * len(self.coordinates)
        self.definitions = []                     # lines a stencil's quantities are defined on

    def offset(self, axis: int) -> str:
        """The index along `axis` at the current shift: i, i+1, i-1."""
        s = self.shift[axis]
        return self.indices[axis] + ("" if s == 0 else f"+{s}" if s > 0 else str(s))

    def at_node(self, name: str) -> str:
        return symbol_latex(name, ",".join(self.offset(k) for k in range(len(self.indices))))

    def _print_Symbol(self, expr, style="plain"):
        name = expr.name[:-len(ENDS)] if expr.name.endswith(ENDS) else expr.name
        if name in self.states:
            return self.at_node(name)
        if name in self.nodes:   # a coordinate at the nodes: x_{i}
            return symbol_latex(self.nodes[name], self.offset(self.coordinates.index(self.nodes[name])))
        return super()._print_Symbol(expr, style)

    def shifted(self, expr, axis: int, by: int) -> str:
        """expr read `by` nodes along `axis` from the current node."""
        self.shift[axis] += by
        try:
            text = self._print(expr)
        finally:
            self.shift[axis] -= by
        return text if _atomic(expr) else r"\left(" + text + r"\right)"

    def spacing(self, axis: int) -> str:
        return r"\Delta " + symbol_latex(self.coordinates[axis])

    @staticmethod
    def axis_of(expr, count: int) -> int:
        return int(expr.args[count]) if len(expr.args) > count else 0

    def _print_GridStencil(self, expr):
        values, kind, _ = expr.args[:3]
        k = self.axis_of(expr, 3)
        if str(kind) == "second":
            top = (f"{self.shifted(values, k, -1)} - 2 {self.shifted(values, k, 0)} + "
                   f"{self.shifted(values, k, 1)}")
            return r"\frac{" + top + "}{" + self.spacing(k) + "^{2}}"
        return r"\frac{" + f"{self.shifted(values, k, 1)} - {self.shifted(values, k, -1)}" + \
            "}{2 " + self.spacing(k) + "}"

    def _print_GridConvolution(self, expr):
        """K_{1} u_{i-1} + K_{2} u_{i} + K_{3} u_{i+1}, the kernel's taps (a 3-tap cross-correlation)."""
        kernel, values = expr.args[:2]
        k = self.axis_of(expr, 2)
        terms = []
        for tap, by in enumerate((-1, 0, 1), start=1):
            if isinstance(kernel, sympy.Symbol):
                weight = symbol_latex(kernel.name, str(tap))
            elif isinstance(kernel, sympy.MatrixBase):
                weight = self.parenthesize(kernel[tap - 1], PRECEDENCE["Mul"])
            else:
                weight = r"\left(" + self._print(kernel) + r"\right)_{" + str(tap) + "}"
            terms.append(f"{weight} {self.shifted(values, k, by)}")
        return r"\left(" + " + ".join(terms) + r"\right)"

    def _print_UpwindDivergence(self, expr):
        """(F_{i+1/2} - F_{i-1/2}) / dx, the upwind flux F defined on a line of its own
        (grid_pieces.upwind_divergence): max(a, 0) u_{i+1} + min(a, 0) u_i, a = (v_i + v_{i+1}) / 2."""
        v, u = expr.args[:2]
        k = self.axis_of(expr, 3)
        name = r"\hat{F}" + ("" if not self.definitions else "^{(" + str(len(self.definitions) + 1) + ")}")
        up, down = self.indices[k] + r"+\frac{1}{2}", self.indices[k] + r"-\frac{1}{2}"
        a = "a" + ("" if not self.definitions else "^{(" + str(len(self.definitions) + 1) + ")}")
        self.definitions.append(
            f"{name}_{{{up}}} &= \\max({a}_{{{up}}}, 0)\\, {self.shifted(u, k, 1)} + \\min({a}_{{{up}}}, 0)\\, "
            f"{self.shifted(u, k, 0)}, \\quad {a}_{{{up}}} = \\tfrac{{1}}{{2}}\\left({self.shifted(v, k, 0)} + "
            f"{self.shifted(v, k, 1)}\\right) \\quad \\text{{(upwind)}}")
        return r"\frac{" + f"{name}_{{{up}}} - {name}_{{{down}}}" + "}{" + self.spacing(k) + "}"

    def _print_UpwindDerivative(self, expr):
        a, u, _ = expr.args[:3]
        k = self.axis_of(expr, 3)
        speed = self._print(a)   # an argument of min and max: no parentheses
        backward, forward = (f"{self.shifted(u, k, 0)} - {self.shifted(u, k, -1)}",
                             f"{self.shifted(u, k, 1)} - {self.shifted(u, k, 0)}")
        return (r"\frac{\min(" + speed + r", 0) \left(" + backward + r"\right) + \max(" + speed
                + r", 0) \left(" + forward + r"\right)}{" + self.spacing(k) + "}")

    def _print_NodeCall(self, expr):
        name, *inputs = expr.args
        return self._print(name) + r"\left(" + ", ".join(self._print(x) for x in inputs) + r"\right)"


class RightSide(sympy.Function):
    """F(c): the semi-discrete right side in the time scheme's stages, F(c_{j} + h/2 k_{1})."""

    def _latex(self, printer):
        inputs = [printer._print(a) for a in self.args]
        inputs = [text[len(r"\left("):-len(r"\right)")] if text.startswith(r"\left(") and text.endswith(r"\right)")
                  else text for text in inputs]   # the stage's argument comes parenthesized
        return r"F\left(" + ", ".join(inputs) + r"\right)"


def _atomic(expr) -> bool:
    return isinstance(expr, (sympy.Symbol, F.NodeCall)) or expr.is_number


class GridLatex:
    def __init__(self, model: ir.Model):
        self.m = model
        self.grid = grid_of(model)
        self.semi = semi_discrete(model)
        self.states = [s.name for s in model.states]
        self.coordinates = [a.coordinate for a in self.grid.axes]
        self.field = FieldLatexPrinter([c.name for c in model.domain],
                                       {n.name: r"\mathrm{" + _text(n.name) + "}" for n in model.networks})
        self.indices = [i for i in INDICES if i not in spec_names(model)][:len(self.coordinates)]
        self.node = NodeLatexPrinter(self.states, self.coordinates, self.indices, dict(self.field.names))
        for constant in self.semi.constants:   # x_nodes, x_ends (semi_discrete's names): x at the nodes
            kind = constant.derived[0] if constant.derived else None
            for coordinate in self.coordinates:
                if kind in ("nodes", "mesh") and constant.name.rstrip("_") in (f"{coordinate}_nodes",
                                                                                f"{coordinate}_ends"):
                    self.node.nodes[constant.name] = coordinate
        self.writer = self.time_writer()

    def tex(self, expr) -> str:
        return self.field.doprint(expr)

    def call(self, state: str, point: dict) -> str:
        """u(0, y, t): the state at the domain's coordinates, some fixed by `point`."""
        arguments = [self.tex(number(point[c.name])) if c.name in point else symbol_latex(c.name)
                     for c in self.m.domain]
        return symbol_latex(state) + "(" + ", ".join(arguments) + ")"

    # -- blocks ----------------------------------------------------------------------------------
    def model_lines(self) -> list[str]:
        lines = []
        for e in self.m.equations:
            u = symbol_latex(e.state)
            dt = r"\frac{\partial " + u + r"}{\partial t}" if e.order == 1 else \
                r"\frac{\partial^{" + str(e.order) + "} " + u + r"}{\partial t^{" + str(e.order) + "}}"
            lines.append(f"{dt} &= {self.tex(e.rhs)}")
        lines += domain_lines(self.m, self.tex)
        for i in self.m.initials:
            start = self.call(i.state, {"t": 0})
            lhs = start if i.order == 0 else r"\partial_{t} " + start
            lines.append(f"{lhs} &= {self.tex(i.value)}")
        for c in self.m.conditions:
            if c.section != "boundary":
                continue
            (name, at), = c.fixed
            here = self.call(c.target, {name: at})
            if c.kind == "periodic":
                lines.append(f"{here} &= {self.call(c.target, {name: c.value})}"
                             r", \quad \text{periodic}")
            elif c.kind == "neumann":
                lines.append(rf"\partial_{{{symbol_latex(name)}}} {here} &= {self.tex(c.value)}")
            else:
                lines.append(f"{here} &= {self.tex(c.value)}")
        return lines

    def grid_lines(self) -> list[str]:
        lines = []
        for k, axis in enumerate(self.grid.axes):
            x, i, n = symbol_latex(axis.coordinate), self.indices[k], axis.nodes
            dx = self.node.spacing(k)
            length = self.tex(number(axis.upper - axis.lower))
            count = str(n if axis.periodic else n - 1)
            start = "" if axis.lower == 0 else self.tex(number(axis.lower)) + " + "
            lines.append(rf"{x}_{{{i}}} &= {start}{i} {dx}, \quad {dx} = \frac{{{length}}}{{{count}}}, "
                         rf"\quad {i} = 0, \dots, {n - 1}")
            lines.append("&" + r", \quad ".join(self.end_lines(axis, k)))
        return lines

    def end_lines(self, axis, k) -> list[str]:
        i, n, out = self.indices[k], axis.nodes, []
        for u in self.states:
            at = lambda position: symbol_latex(u, ",".join(position if m == k else self.indices[m]   # noqa: E731
                                                            for m in range(len(self.grid.axes))))
            if axis.periodic:
                out.append(rf"{at('-1')} = {at(str(n - 1))}, \ {at(str(n))} = {at('0')} \text{{ (periodic)}}")
                continue
            for end, node, ghost, inner in ((axis.left, "0", "-1", "1"), (axis.right, str(n - 1), str(n), str(n - 2))):
                if end.kind == "neumann":
                    slope = (f"{at(inner)} - {at(ghost)}" if node == "0" else f"{at(ghost)} - {at(inner)}")
                    out.append(r"\frac{" + slope + "}{2 " + self.node.spacing(k) + "} = " + self.tex(end.value))
                else:
                    out.append(f"{at(node)} = {self.tex(end.value)}")
        return out

    def semi_discrete_lines(self) -> list[str]:
        lines = []
        for e in self.semi.equations:
            u = self.node.at_node(e.state)
            dt = r"\frac{d " + u + "}{dt}" if e.order == 1 else \
                r"\frac{d^{" + str(e.order) + "} " + u + "}{dt^{" + str(e.order) + "}}"
            lines.append(f"{dt} &= {self.node.doprint(e.rhs)}")
        return lines + self.node.definitions

    def time_writer(self) -> _Writer:
        """The ODE writer of the nodes' values: the time scheme (IMEX's L printed as L), each right
        side F(c); it prints the loss too."""
        time = self.m.scheme.time
        for option in registry.definition_of(time).matrix_options:
            time = dataclasses.replace(time, options=tuple(sorted(time.options + ((option, option),))))
        equations = tuple(dataclasses.replace(e, rhs=RightSide(*(sympy.Symbol(s) for s in self.states)))
                          for e in self.m.equations)
        return _Writer(dataclasses.replace(self.m, scheme=time, equations=equations, kind="ode"))

    def scheme_lines(self) -> list[str]:
        """The time scheme's stages on the unknown nodes' vector, F its semi-discrete right side."""
        w, definition = self.writer, registry.definition_of(self.m.scheme.time)
        unknowns = ", ".join(symbol_latex(u) for u in self.states)
        lines = [w.grid_line(), *w.scheme_lines(),
                 rf"&{unknowns} \text{{ the values at the {self.grid.unknowns} unknown nodes, }} F "
                 r"\text{ the semi-discrete right side}"]
        for option in definition.matrix_options:
            coefficient = self.semi.scheme.implicit   # the diffusion coefficient kappa of kappa lap(u)
            lines.append(rf"{symbol_latex(option)} &= -{self.field.parenthesize(coefficient, PRECEDENCE['Mul'])} "
                         r"\Delta_{h}, "
                         r"\quad \Delta_{h} \text{ the second differences as a matrix (the diffusion implicit)}")
        return lines


def grid_document(model: ir.Model, standalone: bool = False) -> str:
    g = GridLatex(model)
    title = _text(model.name)
    scheme = registry.definition_of(model.scheme.time).latex
    return document(title, [
        (f"{title}: the PDE", "Model", _align(g.model_lines())),
        ("the method of lines: the grid", "Grid", _align(g.grid_lines())),
        ("the semi-discrete system", "The semi-discrete system", _align(g.semi_discrete_lines())),
        (f"time scheme: {scheme}", f"Time scheme: {scheme}", _align(g.scheme_lines())),
        ("loss", "Loss", _align(_loss_lines(g.writer, model.loss)))], standalone)
