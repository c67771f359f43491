"""A scheme's stages (sciml/schemes/) as LaTeX lines, `target &= formula`, in the spec's names.

The same formulas the code writer prints (sciml/backends/common/scheme_code.py): a state at
step j + o is Y_{j+o}, an auxiliary is k_{1} (k_{1}^{u} for a system), a right side is the
spec's own right-hand side with its arguments in place; a formula with a matrix acts on the
stacked state, shown as a column, and a linear solve A x = b is written as A x = b.  A
stochastic scheme's noise slot and Milstein's correction are the writer's (`noise`,
`noise_correction`: latex/sde.py), printed after the deterministic terms.
"""
from __future__ import annotations

import sympy

from sciml.latex.writer import symbol_latex
from sciml.schemes.algebra import (Auxiliary, Identity, InitialRate, LinearSolve, MatrixOption, Noise,
                                   NoiseCorrection, Rate, Value, argument_role, is_matrix_expression, rate_role,
                                   split_term, step_scale, term_order, h, t)
from sciml.schemes.definition import SEPARABLE_PAIR


class StageLatex:
    def __init__(self, writer, definition, equations=None):
        self.w, self.d, self.m = writer, definition, writer.m
        if definition.forms == (SEPARABLE_PAIR,):
            first, second = self.m.equations
            self.roles = {"y": [first.state], "z": [second.state]}
        else:
            self.roles = {"y": [s.name for s in self.m.states]}
        self.equations = {e.state: e for e in (equations or self.m.equations)}
        self.aux_roles = {s.target: rate_role(s.value) for s in definition.step + definition.start
                          if isinstance(s.target, Auxiliary)}

    def lines(self) -> list[str]:
        out = [line for stage in self.d.start for line in self.stage(stage, "0")]
        steps = [line for stage in self.d.step for line in self.stage(stage, "j")]
        if self.d.start_steps and steps:
            steps[-1] += rf", \quad j \ge {self.d.start_steps}"
        out += steps
        out += [line + r" \quad \text{(at the grid times)}"
                for stage in self.d.readout for line in self.stage(stage, "j")]
        return out

    # -- one stage ---------------------------------------------------------------------------
    def stage(self, stage, base) -> list[str]:
        target, value = stage.target, stage.value
        role = target.role if isinstance(target, Value) else self.aux_roles[target]
        if is_matrix_expression(value):
            left = self._stacked(target, base)
            if isinstance(value, LinearSolve):      # A x = b written as such
                matrix, rhs = value.args
                a = self._sum(matrix, lambda e: self._stacked(e, base))
                a = r"\left(" + a + r"\right)" if isinstance(matrix, sympy.Add) else a
                return [f"{a} {left} &= {self._sum(rhs, lambda e: self._stacked(e, base))}"]
            return [f"{left} &= {self._sum(value, lambda e: self._stacked(e, base))}"]
        return [f"{self._atom(target, k, base)} &= {self._sum(value, lambda e, k=k: self._atom(e, k, base), k)}"
                for k in range(len(self.roles[role]))]

    # -- atoms -------------------------------------------------------------------------------
    def label(self, offset, base) -> str:
        offset = sympy.Rational(offset)
        if base == "0":
            return str(offset)
        return base if offset == 0 else f"{base}+{offset}" if offset > 0 else f"{base}{offset}"

    def _atom(self, e, k, base) -> str:
        if isinstance(e, Value):
            return self.w.state(self.roles[e.role][k], self.label(e.offset, base))
        if isinstance(e, Auxiliary):
            states = self.roles[self.aux_roles[e]]
            text = symbol_latex(e.name)
            return text if len(states) == 1 else text + "^{" + self.w.state(states[k]) + "}"
        if isinstance(e, InitialRate):
            return r"\dot{" + self.w.state(self.roles[e.role][k]) + "}(0)"
        if isinstance(e, Rate):
            return self._rate(e, k, base)
        if isinstance(e, (Noise, NoiseCorrection)):
            eq = self.equations[self.roles[e.role][k]]
            values = self._arguments(e.args[2], base)
            slot = self.w.noise if isinstance(e, Noise) else self.w.noise_correction
            return slot(eq, values, step=base)
        raise AssertionError(f"cannot print {e} per state")

    def _stacked(self, e, base) -> str:
        if isinstance(e, MatrixOption):
            return symbol_latex(str(self.m.scheme.option(e.name)))
        if isinstance(e, Identity):
            return "I"
        role = e.role if isinstance(e, (Value, Rate)) else self.aux_roles[e]
        entries = [self._atom(e, k, base) for k in range(len(self.roles[role]))]
        if len(entries) == 1:
            return entries[0]
        return r"\begin{pmatrix} " + r" \\ ".join(entries) + r" \end{pmatrix}"

    def _rate(self, rate, k, base) -> str:
        eq = self.equations[self.roles[rate.role][k]]
        values = self._arguments(rate.args[2], base)
        if sympy.Symbol("t") in eq.rhs.free_symbols:   # a right side of t: at the stage's time
            values["t"] = self._time(rate.args[1], base, self.w.p.step)
        return self.w.f(eq, values, step=base)

    @staticmethod
    def _time(time, base, step) -> str:
        """t_j, t_{j} + \\frac{h}{2}, t_{j} + h: the time t + c h of a stage at step `base`."""
        offset = sympy.nsimplify(sympy.expand((time - t) / h))
        at = "t_{" + base + "}"
        if offset == 0:
            return at
        sign, size = (" - ", -offset) if offset < 0 else (" + ", offset)
        p, q = sympy.fraction(size)
        top = step if p == 1 else f"{p} {step}"
        scale = top if q == 1 else r"\frac{" + top + "}{" + str(q) + "}"
        return r"\left(" + at + sign + scale + r"\right)"

    def _arguments(self, argument, base) -> dict:
        """{state: its value in LaTeX} where a right side (or a noise slot) is evaluated at `argument`."""
        role = argument_role(argument)
        values = {}
        for i, state in enumerate(self.roles[role]):
            text = self._sum(argument, lambda e, i=i: self._atom(e, i, base), i)
            values[state] = r"\left(" + text + r"\right)" if isinstance(argument, sympy.Add) else text
        return values

    # -- sums --------------------------------------------------------------------------------
    def _sum(self, expr, atom, k=None) -> str:
        """`expr` with `atom` printing its leaves; k: the state (None: the stacked state)."""
        terms = sorted(sympy.Add.make_args(expr), key=lambda t: (_noise_rank(t), term_order(t)))
        text = ""
        for term in terms:
            coefficient, vector = split_term(term)
            negative = coefficient.could_extract_minus_sign()
            if negative:
                coefficient = -coefficient
            if isinstance(vector, Rate) and k is not None:
                rhs = self.equations[self.roles[vector.role][k]].rhs
                if rhs == 0:                       # d(X) = sqrt(2) dW: no h f term
                    continue
                body = atom(vector)
                if len(terms) > 1 or coefficient != 1:
                    if isinstance(rhs, sympy.Add):
                        body = r"\left(" + body + r"\right)"
                    elif body.startswith("-"):     # y - h f, not y + h (-f)
                        negative, body = not negative, body[1:].lstrip()
                body = f"{_scale(coefficient, self.w.p.step)} {body}" if coefficient != 1 else body
            else:
                body = self._product(coefficient, vector, atom, k)
            text += f" {'-' if negative else '+'} {body}" if text else ("- " if negative else "") + body
        return text or "0"

    def _product(self, coefficient, vector, atom, k) -> str:
        scale = _scale(coefficient, self.w.p.step)
        if vector == 1:
            return scale or "1"
        factors = sympy.Mul.make_args(vector)
        matrices = [f for f in factors if isinstance(f, (MatrixOption, Identity))]
        rest = [f for f in factors if f not in matrices]
        parts = ([scale] if scale else []) + [atom(m) for m in matrices]
        if rest and isinstance(rest[0], sympy.Add):
            return " ".join(parts) + r"\left(" + self._sum(rest[0], atom, k) + r"\right)"
        return " ".join(parts + [atom(f) for f in rest])


def _noise_rank(term) -> int:
    """The deterministic terms first, then the noise g dW, then Milstein's correction."""
    return 2 if term.has(NoiseCorrection) else 1 if term.has(Noise) else 0


def _scale(coefficient, step) -> str:
    """\\frac{h}{2}, h^{2}, 2, or '' for 1 (`step`: how h prints)."""
    p, q, power = step_scale(coefficient)
    powers = [] if power == 0 else [step if power == 1 else f"{step}^{{{power}}}"]
    top = " ".join(([] if p == 1 else [str(p)]) + powers)
    if q == 1:
        return top
    return r"\frac{" + (top or "1") + "}{" + str(q) + "}"
