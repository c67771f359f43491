"""The grid half of a method-of-lines module: each grid state with its end nodes, and its
values at every node for the data (lowering/method_of_lines.py makes the ODE of the nodes).

    def u_with_ends(u):      u with one node more at each end, as the stencils read it:
                             periodic, the nodes wrapped around; Dirichlet, the end's value;
                             Neumann, a ghost node u[1] - 2 dx g (left), u[-2] + 2 dx g (right)
    def u_on_grid(path):     (times, unknowns, 1) states -> (times, nodes): the values at every
                             node of the grid, a Dirichlet end's value included

A right-hand side that reads a stencil starts with `u_ends = u_with_ends(u)`.
"""
from __future__ import annotations

import sympy

from sciml.lowering import ir
from sciml.lowering.method_of_lines import Grid, grid_of, with_ends


def concat_along(spelling, items: list, axis: int) -> str:
    """The backend's concatenation of `items` along axis 0 or 1 (its spelling is axis 0's)."""
    text = spelling.concat.format(", ".join(items))
    assert text.endswith("=0)"), text
    return text if axis == 0 else text[:-2] + f"{axis})"


class GridWriter:
    """Names and functions of a grid model, with the module's ModelWriter."""

    def __init__(self, writer, grid_model: ir.Model):
        self.w = writer
        self.grid: Grid = grid_of(grid_model)
        self.states = [s.name for s in writer.m.states]
        self.ends_function = {}
        for state in self.states:
            code = writer.names[state]
            writer.names[with_ends(state).name] = writer.fresh(f"{code}_ends")
            writer.names[f"on grid {state}"] = writer.fresh(f"{code}_on_grid")
            self.ends_function[state] = writer.fresh(f"{code}_with_ends")
        writer.rhs_preamble = self.rhs_preamble

    def rhs_preamble(self, eq: ir.Equation) -> list[str]:
        """`u_ends = u_with_ends(u)` for each state the stencils of eq read."""
        used = {s.name for s in eq.rhs.free_symbols}
        return [f"    {self.w.names[with_ends(s).name]} = {self.ends_function[s]}({self.w.names[s]})"
                for s in self.states if with_ends(s).name in used]

    def functions(self) -> list[str]:
        lines = []
        for state in self.states:
            lines += self.with_ends_function(state) + ["", ""] + self.on_grid_function(state) + ["", ""]
        return lines

    def _end(self, value, slope_from: str, sign: str, u: str, kind: str, spacing: float) -> str:
        if kind == "dirichlet":
            return f"0 * {u}[{slope_from}] + {self.w.code(sympy.sympify(value))}"
        return f"{u}[{slope_from}] {sign} 2 * {spacing!r} * ({self.w.code(sympy.sympify(value))})"

    def _ends(self, axis, u: str, before: str = "") -> list:
        """The items of the concatenation that adds an end node to each side of `u` along `axis`
        (`before`: the slices of the axes before it, as "[:, " for axis 1)."""
        if axis.periodic:
            return [f"{u}[{before}-1:]", u, f"{u}[{before}:1]"]
        left = self._end(axis.left.value, before + ("1:2" if axis.left.kind == "neumann" else ":1"), "-", u,
                         axis.left.kind, axis.spacing)
        right = self._end(axis.right.value, before + ("-2:-1" if axis.right.kind == "neumann" else "-1:"), "+", u,
                          axis.right.kind, axis.spacing)
        return [left, u, right]

    def _said_ends(self, axis) -> str:
        if axis.periodic:
            return f"{axis.coordinate} periodic"
        return (f"{axis.coordinate} = {axis.lower:g}: {self._said(axis.left)}; {axis.coordinate} = {axis.upper:g}: "
                f"{self._said(axis.right)}")

    def _concat(self, items: list, axis: int) -> str:
        return concat_along(self.w.sp, items, axis)

    def with_ends_function(self, state: str) -> list[str]:
        g, u = self.grid, self.w.names[state]
        name = self.ends_function[state]
        if len(g.axes) == 1:
            (axis,) = g.axes
            said = ("periodic: the last node before the first, the first after the last" if axis.periodic
                    else self._said_ends(axis))
            return [f"def {name}({u}):",
                    f'    """{u} with one node more at each end ({said})."""',
                    f"    return {self._concat(self._ends(axis, u), 0)}"]
        x, y = g.axes
        return [f"def {name}({u}):",
                f'    """{u} on the {x.unknowns} x {y.unknowns} unknown nodes with one node more at each end of '
                f'both axes',
                f'    ({self._said_ends(x)}; {self._said_ends(y)})."""',
                f"    {u} = {u}.reshape({x.unknowns}, {y.unknowns}, -1)",
                f"    {u} = {self._concat(self._ends(x, u), 0)}",
                f"    return {self._concat(self._ends(y, u, before=':, '), 1)}"]

    @staticmethod
    def _said(end) -> str:
        if end.kind == "dirichlet":
            return f"Dirichlet, the value {end.value}"
        return f"Neumann, a ghost node for the slope {end.value}"

    def on_grid_function(self, state: str) -> list[str]:
        g = self.grid
        cuts = [(0 if a.left.kind == "dirichlet" else 1, a.unknowns + (2 if a.right.kind == "dirichlet" else 1))
                for a in g.axes]
        name = self.w.names[f"on grid {state}"]
        if len(g.axes) == 1:
            ((low, high),) = cuts
            (axis,) = g.axes
            return [f"def {name}(path):",
                    f'    """(times, {g.unknowns}, 1) states -> (times, {g.nodes}): the values at every node '
                    f'{axis.coordinate}_i of the grid."""',
                    f"    return {self.ends_function[state]}(path[:, :, 0].T)[{low}:{high}].T"]
        x, y = g.axes
        (xl, xh), (yl, yh) = cuts
        each = f"[{self.ends_function[state]}(u)[{xl}:{xh}, {yl}:{yh}, 0] for u in path]"
        return [f"def {name}(path):",
                f'    """(times, {g.unknowns}, 1) states -> (times, {x.nodes}, {y.nodes}): the values at every '
                f'node ({x.coordinate}_i, {y.coordinate}_j) of the grid."""',
                f"    return {self.w.sp.stack.format(each)}"]


EIGENBASIS = '''
def eigenbasis(matrix):
    """(eigenvalues, eigenvectors, their inverse) of a second-difference matrix: real, for it is
    symmetric or (a Neumann end) similar to a symmetric matrix."""
    values, vectors = np.linalg.eig(matrix)
    return values.real, vectors.real, np.linalg.inv(vectors.real)
'''


def second_difference_matrix(m: int, dx: float, left: str, right: str) -> str:
    """The numpy text of the second difference on m unknowns with these ends, divided by dx^2."""
    text = f"np.eye({m}, k=-1) - 2 * np.eye({m}) + np.eye({m}, k=1)"
    if left == "periodic":
        text += f" + np.eye({m}, k={m - 1}) + np.eye({m}, k={-(m - 1)})"
    if left == "neumann":   # the ghost node: row 0 reads 2 u_1
        text += f" + np.eye({m}, k=1) * (np.arange({m}) == 0)[:, None]"
    if right == "neumann":
        text += f" + np.eye({m}, k=-1) * (np.arange({m}) == {m - 1})[:, None]"
    return f"({text}) / {dx!r}**2"


def derived_constant(c: ir.Constant, names: dict, printer) -> str:
    """The numpy text of a constant the method of lines derives (ir.Constant.derived)."""
    if c.derived[0] == "laplacian" and len(c.derived) == 3:   # a 2-D grid: each axis' eigenbasis
        matrices = [second_difference_matrix(*axis) for axis in c.derived[1:]]
        (mx, *_), (my, *_) = c.derived[1:]
        return (f"(eigenbasis({matrices[0]}), eigenbasis({matrices[1]}))   # T_x and T_y: lap = T_x (+) T_y "
                f"on the {mx} x {my} unknowns")
    if c.derived[0] == "laplacian":   # the second difference on the unknowns, as a matrix
        _, (m, dx, left, right) = c.derived
        return f"{second_difference_matrix(m, dx, left, right)}   # the second difference on the {m} unknowns, ends {left}, {right}"
    if c.derived[0] == "nodes":
        _, lower, spacing, first, stop = c.derived
        return f"{lower!r} + {spacing!r} * np.arange({first}, {stop})[:, None]   # the nodes"
    if c.derived[0] == "mesh":   # a coordinate at every node of a 2-D grid
        _, k, ranges, which = c.derived
        axes = ", ".join(f"{lower!r} + {spacing!r} * np.arange({first}, {stop})" for lower, spacing, first, stop in ranges)
        mesh = f"np.meshgrid({axes}, indexing=\"ij\")[{k}]"
        if which == "unknowns":
            return f"{mesh}.reshape(-1, 1)   # at the unknown nodes, a column (x-major)"
        return f"{mesh}[:, :, None]   # at the nodes with one added at each end of both axes"
    _, expr, coordinate = c.derived
    return f"{printer(names).doprint(expr)}   # at the nodes {names[coordinate]}"


# ---- data from a known PDE (generate pde(...)): solved in numpy on a finer grid ----------------
REFINE = 4   # the data's grid is this many times finer than its nodes
PDE_DATA_PIECES = ("pde_on_grid", "second_difference", "central_difference")
PDE_DATA_PIECES_2D = ("pde_on_grid", "second_difference_2d", "central_difference_2d")


def pde_data_pieces(d: ir.DataSet) -> tuple:
    """The numpy pieces the known PDE of a `pde` data set is solved with."""
    return PDE_DATA_PIECES_2D if len(d.option("nodes")) == 2 else PDE_DATA_PIECES


def _fine_grid(d: ir.DataSet, k: int = 0):
    """(count, spacing, first node) of the fine grid of a `pde` data set along coordinate k."""
    x = d.option("nodes")[k][1]
    spacing = (x[1] - x[0]) / REFINE
    count = len(x) * REFINE if d.option("boundary") == "periodic" else (len(x) - 1) * REFINE + 1
    return count, spacing, x[0]


def _fine_shape(d: ir.DataSet) -> tuple:
    return tuple(_fine_grid(d, k)[0] for k in range(len(d.option("nodes"))))


def pde_data_rhs(d: ir.DataSet, names: dict) -> list[str]:
    """`def pde_rhs_train(c)` (the known right-hand side on the fine grid, stencils as the
    model's) and `def pde_start_train()` (the initial values there), in numpy."""
    from sciml.backends.common.names import MODULE_NAMES, safe_names
    from sciml.backends.common.numpy_code import NumpyCodePrinter
    from sciml.lowering.method_of_lines import stencil_form
    if len(d.option("nodes")) == 2:
        return _pde_data_rhs_2d(d, names)
    (state,) = d.states
    ((coordinate, _),) = d.option("nodes")
    count, spacing, first = _fine_grid(d)
    local = safe_names([state, coordinate, "rate"], reserved=MODULE_NAMES | set(names.values()))
    ends_name, x_ends = f"{local[state]}_ends", sympy.Symbol(f"{coordinate} with ends")
    x = sympy.Symbol(coordinate)
    printer = NumpyCodePrinter({**names, **local, with_ends(state).name: ends_name, x_ends.name: "x_ends"})
    rhs = stencil_form(d.rhs[0], {state}, {x: x_ends}, {x: sympy.Float(spacing)})
    nodes = f"{first!r} + {spacing!r} * np.arange({count})[:, None]"
    u = local[state]
    periodic = d.option("boundary") == "periodic"
    ends = f"[{u}[-1:], {u}, {u}[:1]]" if periodic else f"[{u}[:1], {u}, {u}[-1:]]"
    lines = [f"def pde_rhs_{names[d.name]}({u}):",
             f'    """The known right-hand side of data set {d.name} on its grid of {count} nodes '
             f'({REFINE} times finer than the data\'s),',
             f'    {"periodic" if periodic else "the end nodes held at their values"}."""',
             f"    {ends_name} = np.concatenate({ends})"]
    if {coordinate, x_ends.name} & {s.name for s in rhs.free_symbols}:
        lines += [f"    {local[coordinate]} = {nodes}",
                  f"    x_ends = {first - spacing!r} + {spacing!r} * np.arange({count + 2})[:, None]"]
    lines.append(f"    {local['rate']} = {printer.doprint(rhs)}")
    if not periodic:
        lines.append(f"    {local['rate']}[[0, -1]] = 0")
    lines += [f"    return {local['rate']}", "", "",
              f"def pde_start_{names[d.name]}():",
              f'    """The initial values of data set {d.name} on its fine grid."""',
              f"    {local[coordinate]} = {nodes}",
              f"    return {printer.doprint(d.rhs[1])} + 0 * {local[coordinate]}"]
    return lines


def _pde_data_rhs_2d(d: ir.DataSet, names: dict) -> list[str]:
    """pde_data_rhs on a 2-D grid: the state a column of the fine grid's nodes, x-major."""
    from sciml.backends.common.names import MODULE_NAMES, safe_names
    from sciml.backends.common.numpy_code import NumpyCodePrinter
    from sciml.lowering.method_of_lines import stencil_form
    (state,) = d.states
    coordinates = [c for c, _ in d.option("nodes")]
    grids = [_fine_grid(d, k) for k in range(2)]
    (cx, *_), (cy, *_) = grids
    local = safe_names([state, *coordinates, "rate"], reserved=MODULE_NAMES | set(names.values()))
    u, rate = local[state], local["rate"]
    ends = {sympy.Symbol(c): sympy.Symbol(f"{c} with ends") for c in coordinates}
    spacing = {sympy.Symbol(c): sympy.Float(step) for c, (_, step, _) in zip(coordinates, grids)}
    ends_names = {e.name: f"{local[c]}_ends" for c, e in zip(coordinates, ends.values())}
    printer = NumpyCodePrinter({**names, **local, with_ends(state).name: f"{u}_ends", **ends_names})
    rhs = stencil_form(d.rhs[0], {state}, ends, spacing)
    periodic = d.option("boundary") == "periodic"

    def mesh(k, extra):   # coordinate k at the fine nodes (extra = 1: one more at each end)
        axes = ", ".join(f"{first - extra * step!r} + {step!r} * np.arange({count + 2 * extra})"
                         for count, step, first in grids)
        shape = ".reshape(-1, 1)" if not extra else "[:, :, None]"
        return f"np.meshgrid({axes}, indexing=\"ij\")[{k}]{shape}"
    pad = (("{v}[-1:]", "{v}[:1]"), ("{v}[:, -1:]", "{v}[:, :1]")) if periodic else \
        (("{v}[:1]", "{v}[-1:]"), ("{v}[:, :1]", "{v}[:, -1:]"))
    v = f"{u}_ends"
    lines = [f"def pde_rhs_{names[d.name]}({u}):",
             f'    """The known right-hand side of data set {d.name} on its grid of {cx} x {cy} nodes '
             f'({REFINE} times finer than the data\'s),',
             f'    {"periodic" if periodic else "the sides held at their values"}; the state a column, x-major."""',
             f"    {v} = {u}.reshape({cx}, {cy}, -1)"]
    for axis, (left, right) in enumerate(pad):
        lines.append(f"    {v} = np.concatenate([{left.format(v=v)}, {v}, {right.format(v=v)}], axis={axis})")
    used = {s.name for s in rhs.free_symbols}
    for k, c in enumerate(coordinates):
        if c in used:
            lines.append(f"    {local[c]} = {mesh(k, 0)}")
        if ends[sympy.Symbol(c)].name in used:
            lines.append(f"    {ends_names[ends[sympy.Symbol(c)].name]} = {mesh(k, 1)}")
    lines.append(f"    {rate} = {printer.doprint(rhs)}")
    if not periodic:
        lines += [f"    {rate} = {rate}.reshape({cx}, {cy}, -1)",
                  f"    {rate}[[0, -1]] = 0",
                  f"    {rate}[:, [0, -1]] = 0",
                  f"    {rate} = {rate}.reshape({cx * cy}, -1)"]
    lines += [f"    return {rate}", "", "",
              f"def pde_start_{names[d.name]}():",
              f'    """The initial values of data set {d.name} on its fine grid, a column (x-major)."""']
    lines += [f"    {local[c]} = {mesh(k, 0)}" for k, c in enumerate(coordinates)]
    lines.append(f"    return {printer.doprint(d.rhs[1])} + 0 * {local[coordinates[0]]}")
    return lines


def pde_data_call(d: ir.DataSet, names: dict) -> str:
    from sciml.backends.common.quoting import literal
    nodes = ", ".join(f"{literal(c)}: {linspace_text(values)}" for c, values in d.option("nodes"))
    return (f"pde_on_grid(pde_rhs_{names[d.name]}, pde_start_{names[d.name]}(), {{{nodes}}}, "
            f"{linspace_text(d.option('t'))}, {literal(d.option('field'))}, {REFINE}, {_fine_shape(d)})")


def linspace_text(values) -> str:
    """np.linspace(a, b, n) where the values are that, else the numbers."""
    import numpy as np
    if len(values) > 1 and np.array_equal(np.linspace(values[0], values[-1], len(values)), np.array(values)):
        return f"np.linspace({values[0]!r}, {values[-1]!r}, {len(values)})"
    if len(values) > 1 and np.allclose(np.linspace(values[0], values[-1], len(values)), values, rtol=0, atol=1e-15):
        return f"np.linspace({values[0]!r}, {values[-1]!r}, {len(values)})"
    return f"np.array({list(values)!r})"
