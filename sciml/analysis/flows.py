"""The flow pass: what the analysis says about each coupling flow (seed 000; NICE, RealNVP).

Lowering has proved every coupling line affine in its target, x2 <- x2 * a(x1) + b(x1)
(`sciml/lowering/coupling.py`); here each line gets its triangular Jacobian and log-determinant
(A110), the flow its closed-form inverse (A111), and a half that no layer changes a warning (A112).
"""
from __future__ import annotations

from sciml.analysis.found import Found, Options
from sciml.frontend.diagnostics import finding
from sciml.lowering import ir
from sciml.lowering.coupling import with_index
from sciml.lowering.mathtext import expr_text


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    """What the analysis says about each flow: every coupling line's triangular Jacobian and
    log-determinant (A110), the flow's inverse (A111), and a half that no layer changes (A112)."""
    out = []
    for flow in model.flows:
        for line in flow.lines:
            if isinstance(line, ir.Coupling):
                out.append(_triangular(flow, line))
        out.append(_inverse(flow))
        untouched = _untouched_halves(flow)
        if untouched:
            half = untouched[0]
            out.append(finding("A112", "warning", f"{flow.name} never changes the half that enters "
                               f"as {half}: every layer updates the other one, so {half} passes through "
                               "unchanged and the flow models no dependence on it", flow.span,
                               "add swap(x1, x2) at the end of the layer, or a line that updates "
                               f"{half}", flow=flow.name, half=half))
    return Found(tuple(out))


def _triangular(flow, line):
    other = "x1" if line.target == "x2" else "x2"
    j = flow.index
    scale, log_scale = with_index(line.scale, j), with_index(line.log_scale, j)
    first, second = ("x1", "x2") if line.target == "x2" else ("x2", "x1")
    if line.log_scale == 0:
        what = "additive (NICE): volume preserving, log|det| = 0"
    else:
        what = f"log|det| = sum({expr_text(log_scale)}) over the {flow.half} feature{'s' if flow.half > 1 else ''} of {line.target}"
    return finding("A110", "note", f"{line.target} = {expr_text(with_index(line.rhs, j))}: a coupling "
                   f"layer; its Jacobian in ({first}, {second}) is triangular, [[I, 0], [*, "
                   f"diag({expr_text(scale)})]], so {what}", line.span,
                   f"the scale and shift read only {other}, which the line leaves unchanged: the "
                   "log-determinant is a sum, not a determinant (seed 000)",
                   structure="triangular", flow=flow.name, target=line.target,
                   log_det=expr_text(log_scale), scale=expr_text(scale))


def _inverse(flow):
    undo = []
    for line in reversed(flow.lines):
        if isinstance(line, ir.Swap):
            undo.append("swap(x1, x2)")
        else:
            undo.append(f"{line.target} = {expr_text(with_index(line.inverse, flow.index))}")
    stem = flow.name[:-4] if flow.name.endswith("_inv") and len(flow.name) > 4 else f"{flow.name}_inverse"
    return finding("A111", "note", f"{flow.name} is invertible in closed form ({flow.layers} layers "
                   f"of couplings and swaps, each undone exactly): layer by layer in reverse, "
                   f"{'; '.join(undo)}", flow.span,
                   f"the inverse is emitted as {stem}(p, z), which maps latent samples to data",
                   structure="triangular", flow=flow.name, reversible=True, inverse=stem,
                   layers=flow.layers)


def _untouched_halves(flow) -> list:
    """The halves of the input (x1, x2 as they enter) that no line of any layer updates."""
    where = {"x1": "x1", "x2": "x2"}         # current slot -> which input half sits there
    changed = set()
    for _ in range(min(flow.layers, 2)):      # the pattern repeats; two layers show every slot
        for line in flow.lines:
            if isinstance(line, ir.Swap):
                where = {"x1": where["x2"], "x2": where["x1"]}
            else:
                changed.add(where[line.target])
    return [half for half in ("x1", "x2") if half not in changed]
