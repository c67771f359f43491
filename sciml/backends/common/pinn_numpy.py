"""The numpy half of a PINN module beyond the ODE modules': the collocation points and the
draws of each step (`draw_batch`), the reference solutions and the grid `rel_l2` is measured on;
and `evaluate_reports`, which compares the network on that grid with the exact solution.

The grid: for a domain (x, t) the paper's 256 x 100 grid (Raissi et al. 2019: x =
linspace(lower, upper, 256), t = lower + (upper - lower) k / 100, k = 0..99); for a box without
t, 101 points per coordinate, ends included.  Computed once in numpy when the module loads.
"""
from __future__ import annotations

import sympy

from sciml.backends.common.numpy_code import NumpyCodePrinter
from sciml.backends.common.pinn_fields import TIME
from sciml.backends.common.points_code import emit_points_section
from sciml.backends.common.quoting import literal
from sciml.backends.common.reference_code import reference_functions
from sciml.backends.common.taylor_code import Locals
from sciml.lowering import family_symbols as F
from sciml.lowering import ir

SPACE_POINTS_WITH_TIME, TIME_POINTS, POINTS_PER_COORDINATE = (
    F.REPORT_SPACE_POINTS_WITH_TIME, F.REPORT_TIME_POINTS, F.REPORT_POINTS_PER_COORDINATE)


def references_used(model: ir.Model) -> list[str]:
    return sorted({str(a.args[0]) for r in model.reports for a in r.expr.atoms(F.Reference)})


def emit_pinn_numpy(model: ir.Model) -> list[str]:
    lines = emit_points_section(model) + ["", ""]
    lines += ["def draw_batch(seed, step):",
              '    """The random draws of training step `step`: the collocation points (draw_points)."""',
              "    return draw_points(seed, step)", "", ""]
    if not model.reports:
        return lines
    lines += ["# ---- the reference solutions and the grid the reports are measured on"]
    for text in reference_functions(references_used(model)):
        lines += text.splitlines() + ["", ""]
    return lines + reference_grid(model)


def reference_grid(model: ir.Model) -> list[str]:
    local = Locals({"np"})
    names = [local.fresh(c.name) for c in model.domain]
    timed = any(c.name == TIME for c in model.domain)
    axes, said = [], []
    for c in model.domain:
        lower, upper = float(c.lower), float(c.upper)
        if c.name == TIME:
            axes.append(f"{lower!r} + ({upper!r} - {lower!r}) * np.arange({TIME_POINTS}) / {TIME_POINTS}")
            said.append(f"{c.name}: {TIME_POINTS} steps from {lower:g}")
        else:
            count = SPACE_POINTS_WITH_TIME if timed else POINTS_PER_COORDINATE
            axes.append(f"np.linspace({lower!r}, {upper!r}, {count})")
            said.append(f"{c.name}: {count} points of [{lower:g}, {upper:g}]")
    targets = ", ".join(names) + ("," if len(names) == 1 else "")
    return ["def reference_grid():",
            f'    """The grid of the reports ({"; ".join(said)}): rows (1, n), the grid flattened."""',
            f"    {targets} = np.meshgrid({', '.join(axes)}, indexing=\"ij\")",
            "    return tuple(column.reshape(1, -1) for column in (" + targets + "))",
            "",
            "",
            "REFERENCE_GRID = reference_grid()",
            "", ""]


def reports_function(pinn) -> list[str]:
    """`evaluate_reports(p, data)`: rel_l2 = |u - exact| / |exact| on REFERENCE_GRID, the exact
    solution in numpy, the network in the backend."""
    w, m = pinn.w, pinn.m
    lines = ["def evaluate_reports(p, data):",
             '    """The values on the report line, on the grid REFERENCE_GRID of the domain."""',
             "    values = {}"]
    local = pinn.locals({"REFERENCE_GRID"})
    norm = w.sp.printer.SPELLING["norm"]
    for report in m.reports:
        field, exact = report.expr.args
        net = pinn.nets[str(field)]
        like = f"p[{literal(w.names[net.name] + '.b1')}]"
        coordinates = {c.name: local.fresh(c.name) for c in m.domain}
        targets = ", ".join(coordinates.values()) + ("," if len(coordinates) == 1 else "")
        exact_name, value = local.fresh("exact"), local.fresh("value")
        lines += w.spec_comment(report.span)
        lines.append(f"    {targets} = REFERENCE_GRID")
        lines.append(f"    {exact_name} = {_exact_code(exact, {**w.names, **coordinates}, m)}   # numpy")
        arrays = f"{targets.rstrip(',')}, {exact_name}"
        converted = w.sp.as_const.format(value=value, like=like)
        lines.append(f"    {arrays} = ({converted} for {value} in ({arrays}))")
        call = f"{w.names[net.name]}(p, {', '.join(coordinates[c] for c in net.inputs)})"
        lines.append(f"    values[{literal(report.label)}] = {norm.format(f'{call} - {exact_name}')} / "
                     f"{norm.format(exact_name)}")
    return lines + ["    return values", "", ""]


def _exact_code(exact, names: dict, model: ir.Model) -> str:
    """The exact solution at the grid, in numpy: a reference of the library, or a closed form."""
    printer = NumpyCodePrinter(names)
    if isinstance(exact, F.Reference):
        reference, *arguments = exact.args
        grid = ", ".join(names[c.name] for c in model.domain)
        given = ", ".join(printer.doprint(a) for a in arguments)
        return f"{reference}({given}, {grid})"
    text = printer.doprint(exact)
    if not exact.free_symbols & {sympy.Symbol(c.name) for c in model.domain}:   # a constant field
        text = f"np.full_like({names[model.domain[0].name]}, {text})"
    return text
