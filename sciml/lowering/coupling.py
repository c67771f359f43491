"""The maths of a coupling layer, with sympy (seed 000; Dinh et al., NICE and RealNVP).

A coupling line updates one half of the input from the other:

    x2 <- x2 * a(x1) + b(x1)

Its Jacobian is block triangular, [[I, 0], [db/dx1 + x2 da/dx1, diag(a(x1))]], so
log|det| = sum log|a(x1)|, and it is inverted in closed form: x2 = (y2 - b(y1)) / a(y1), since
y1 = x1.  `affine_split` proves that a right side has this form (elementwise affine in its
target, the rest reading only the other half) and returns a, b, log|a| and the inverse; anything
else is refused with the reason, since its inverse or log-det would need an iterative solve.
Networks are opaque: a NetCall is replaced by a real symbol while sympy reasons about signs and
logarithms, and put back afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.frontend.diagnostics import finding
from sciml.lowering.mathtext import expr_text


class NotCoupling(Exception):
    """The line is not an invertible affine coupling (the reason)."""


@dataclass(frozen=True)
class AffineCoupling:
    scale: sympy.Basic
    shift: sympy.Basic
    log_scale: sympy.Basic
    inverse: sympy.Basic


def affine_split(rhs: sympy.Basic, target: sympy.Symbol, other: sympy.Symbol,
                 index: str = "j") -> AffineCoupling:
    """scale, shift, log|scale| and the inverse of `target <- rhs`; raises NotCoupling."""
    if target not in rhs.free_symbols:
        raise NotCoupling(f"the new {target} does not depend on {target}, so the layer cannot be "
                          "inverted")
    if any(target in op.free_symbols for op in rhs.atoms(S.ArrayOp)):
        raise NotCoupling(f"{target} enters a network or an array operation; scale and shift "
                              f"may read only the other half, {other}")
    opaque = {call: sympy.Dummy(f"n{k}", real=True)
              for k, call in enumerate(sorted(rhs.atoms(S.NetCall), key=sympy.default_sort_key))}
    restore = {d: call for call, d in opaque.items()}
    plain = rhs.xreplace(opaque)
    scale = sympy.diff(plain, target)
    if target in scale.free_symbols or scale.has(sympy.Derivative):
        raise NotCoupling(f"the new {target} is not affine in {target} (x2 * a(x1) + b(x1)), so "
                          "the layer has no closed-form inverse")
    shift = plain.xreplace({target: sympy.S.Zero})
    others = scale.free_symbols - {other} - set(restore)
    if others:
        raise NotCoupling(f"the scale reads {', '.join(sorted(map(str, others)))}; a scale reads only "
                          f"the other half, {other}, through networks, and numbers (a learned "
                          "scale is a network's output)")
    sign = _sign(scale.xreplace({other: sympy.Dummy(other.name, real=True)}))
    if sign is None:
        shown = expr_text(with_index(scale.xreplace(restore), index))
        raise NotCoupling(f"the scale {shown} may be zero, and the layer is invertible only where "
                          f"it is not; write exp(s({index}, {other})) for a scale that is positive "
                          "for every weight")
    log_scale = sympy.expand_log(sympy.log(sign * scale), force=True)
    inverse = (target - shift) / scale
    return AffineCoupling(scale=scale.xreplace(restore), shift=shift.xreplace(restore),
                          log_scale=log_scale.xreplace(restore), inverse=inverse.xreplace(restore))


def _sign(expr: sympy.Basic) -> int | None:
    """1 or -1 when expr is positive or negative for every value of its (real) symbols."""
    if expr.is_positive:
        return 1
    if expr.is_negative:
        return -1
    return None


# -- findings -------------------------------------------------------------------------------

def flow_findings(model: ir.Model) -> list:
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
    return out


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


def with_index(expr, index):
    """NetCall(s, x1) printed as the spec writes it inside a flow: s(j, x1)."""
    return expr.replace(lambda e: isinstance(e, S.NetCall),
                        lambda e: S.NetCall(e.args[0], sympy.Symbol(index), *e.args[1:]))
