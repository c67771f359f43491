"""The functions of a flow (coupling layers): the map the spec declares and its inverse.

    def g_inv(p, x):   the latent z and log|det dz/dx| per sample, layer by layer as written
    def g(p, z):       the inverse, the layers undone in reverse order (coupling.py derives each
                       line's inverse and log|scale| with sympy; nothing is solved numerically)

Each coupling line binds the networks it calls once (`s_j = s(p, j, x1)`), then updates its
half in one line, then adds its log-determinant, so the code reads like the spec line above it.
"""
from __future__ import annotations

import sympy

from sciml.backends.common.names import MODULE_NAMES
from sciml.backends.common.quoting import comment, docstring
from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.lowering.coupling import with_index
from sciml.lowering.mathtext import expr_text

# module names that are only ever local variables, free for an inverse named after its flow
_LOCAL_ONLY = {"g", "x"}


def inverse_name(flow: ir.Flow, names: dict, taken: set) -> str:
    """g for a flow named g_inv (the spec's own notation), else <name>_inverse."""
    mine = names[flow.name]
    stem = mine[:-4] if mine.endswith("_inv") and len(mine) > 4 else f"{mine}_inverse"
    while stem in taken or (stem in MODULE_NAMES and stem not in _LOCAL_ONLY) or not stem.isidentifier():
        stem += "_"
    taken.add(stem)
    return stem


class FlowWriter:
    def __init__(self, writer, flow: ir.Flow):
        self.w, self.flow = writer, flow
        self.name = writer.names[flow.name]
        self.inverse = writer.names[f"inverse {flow.name}"]

    def functions(self) -> list[str]:
        return self._forward() + self._backward()

    def _split(self, source: str) -> str:
        half = self.flow.half
        return f"    x1, x2 = {source}[:{half}], {source}[{half}:]"

    def _layers(self) -> str:
        return f"{self.flow.index} = {self.flow.first}..{self.flow.first + self.flow.layers - 1}"

    def _forward(self) -> list[str]:
        flow = self.flow
        lines = [f"def {self.name}(p, x):",
                 f'    """{docstring(flow.name)}: {flow.layers} coupling layers ({docstring(self._layers())} in the spec, j from 0 '
                 'here); the latent z and log|det dz/dx| of each sample."""',
                 *self.w.spec_comment(flow.span),
                 self._split("x"),
                 "    log_det = 0 * x[0]  # log|det| of each sample",
                 f"    for j in range({flow.layers}):"]
        for line in flow.lines:
            lines.append(f"        # {comment(_line_text(line, flow))}")
            if isinstance(line, ir.Swap):
                lines.append("        x1, x2 = x2, x1")
                continue
            bindings, names, bound = self._bindings(line)
            lines += bindings
            lines.append(f"        {line.target} = {self._affine(line, bound, names)}")
            lines += self._log_det(line.log_scale.xreplace(bound), names)
        lines += [f"    return {self.w.sp.concat.format('x1, x2')}, log_det", "", ""]
        return lines

    def _backward(self) -> list[str]:
        flow = self.flow
        lines = [f"def {self.inverse}(p, z):",
                 f'    """The inverse of {docstring(flow.name)}: x = {self.inverse}(z), its layers undone in reverse '
                 'order (data from latent samples)."""',
                 self._split("z"),
                 f"    for j in reversed(range({flow.layers})):"]
        for line in reversed(flow.lines):
            lines.append(f"        # undo {comment(_line_text(line, flow))}")
            if isinstance(line, ir.Swap):
                lines.append("        x1, x2 = x2, x1")
                continue
            bindings, names, bound = self._bindings(line)
            lines += bindings
            lines.append(f"        {line.target} = {self._undo(line, bound, names)}")
        lines += [f"    return {self.w.sp.concat.format('x1, x2')}", "", ""]
        return lines

    def _affine(self, line: ir.Coupling, bound, names) -> str:
        """target * scale + shift, in that order (the spec's x2 * exp(s) + m)."""
        scale, shift = line.scale.xreplace(bound), line.shift.xreplace(bound)
        text = line.target if scale == 1 else f"{line.target} * {self._factor(scale, names)}"
        return text + self._plus(shift, names)

    def _undo(self, line: ir.Coupling, bound, names) -> str:
        """(target - shift) / scale, written as a product when 1/scale simplifies (exp(-s))."""
        scale, shift = line.scale.xreplace(bound), line.shift.xreplace(bound)
        text = line.target if shift == 0 else f"({line.target}{self._plus(-shift, names)})"
        if scale == 1:
            return text
        inverse = 1 / scale
        if scale.is_number or (inverse.is_Pow and inverse.exp == -1):
            return f"{text} / {self._factor(scale, names)}"
        return f"{text} * {self._factor(inverse, names)}"

    def _factor(self, expr, names) -> str:
        code = self.w.code(expr, names)
        return f"({code})" if isinstance(expr, sympy.Add) else code

    def _plus(self, expr, names) -> str:
        if expr == 0:
            return ""
        if expr.could_extract_minus_sign():
            return f" - {self._factor(-expr, names)}"
        return f" + {self.w.code(expr, names)}"

    def _bindings(self, line: ir.Coupling):
        """`s_j, m_j = s(p, j, x1), m(p, j, x1)`: each network of the line evaluated once.
        Returns the line, the name table and {network call: the symbol of its local}."""
        order = [n.name for n in self.w.m.networks]   # as declared: s before m
        calls = sorted(line.rhs.atoms(S.NetCall),
                       key=lambda c: (order.index(str(c.args[0])), sympy.default_sort_key(c)))
        names = dict(self.w.names, x1="x1", x2="x2")
        targets, values, bound = [], [], {}
        for call in calls:
            net = self.w.names[str(call.args[0])]
            local = f"{net}_j"
            while local in names.values() or local in targets:
                local += "_"
            bound[call] = sympy.Symbol(f"value of {call}")
            names[bound[call].name] = local
            targets.append(local)
            inputs = ", ".join(self.w.code(a, names) for a in call.args[1:])
            values.append(f"{net}(p, j, {inputs})")
        lines = [f"        {', '.join(targets)} = {', '.join(values)}"] if calls else []
        return lines, names, bound

    def _log_det(self, log_scale, names) -> list[str]:
        """log_det += sum over the features of log|scale| (nothing for an additive layer).  A
        scale reads only the other half and numbers (coupling.py), so log|scale| is a number or
        has the shape of a half."""
        if log_scale == 0:
            return []   # additive: volume preserving
        if log_scale.is_number:   # a constant scale: its log-det, summed over the features, now
            total = repr(float(self.flow.half * log_scale))
        else:
            total = self.w.sp.printer.SPELLING["feature_sum"].format(self.w.code(log_scale, names))
        return [f"        log_det = log_det + {total}"]


def _line_text(line, flow) -> str:
    if isinstance(line, ir.Swap):
        return "swap(x1, x2)"
    return f"{line.target} = {expr_text(with_index(line.rhs, flow.index))}"
