"""The reversible-scheme pass (A111): Verlet and leapfrog undo each step exactly (seed 002)."""
from __future__ import annotations

from sciml.analysis.found import Found, Options
from sciml.analysis.stability import NAMES
from sciml.frontend.diagnostics import finding
from sciml.lowering import ir


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    """Verlet and leapfrog are reversible (seed 002): each step is undone exactly, in closed form,
    and the backends emit that inverse step."""
    scheme = model.scheme
    if scheme is None or scheme.kind not in ("verlet", "leapfrog"):
        return Found()
    if scheme.kind == "verlet":
        y, z = (e.state for e in model.equations)
        undo = (f"{z} -= h/2*dt({z}), then {y} -= h*dt({y}), then {z} -= h/2*dt({z}): each stage "
                "changes one state by a function of the other, so it is undone exactly")
        emitted = f"inverse_step(p, j, {y}, {z})"
    else:
        (eq,) = model.equations
        y = eq.state
        undo = (f"{y}_(j-1) = 2*{y}_j - {y}_(j+1) + h^2*f_j({y}_j): the two-step recursion run "
                "backwards")
        emitted = f"inverse_step(p, j, {y}_previous, {y})"
    recompute = scheme.option("memory") == "recompute"
    backward = "; with memory = recompute the backward pass uses it instead of stored states"
    found = finding("A111", "note", f"{NAMES[scheme.kind]} is reversible: {undo}", scheme.span,
                    f"the inverse step is emitted as {emitted}" + (backward if recompute else ""),
                    structure="reversible", scheme=scheme.kind, reversible=True)
    return Found((found,))
