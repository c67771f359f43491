"""`sciml latex` of an SDE model (kind sde): the sde lines, the scheme's stages with the noise,
the increments' law, and the loss.

    model   d X = f(X) dt + g(X) dW, Itô (or g(X) \\circ dW, Stratonovich, with its Itô form
            d X = (f + 1/2 g g') dt + g dW, the correction by sympy: analysis/sde_terms.py), and
            the initial values
    scheme  h = T/N, the definition's stages (stages.py), whose noise slot prints g(X_j) \\Delta W_j
            and whose correction (Milstein's) prints 1/2 g g' (\\Delta W_j^2 - h), g g' by sympy
            (g'(X_j) for a network); then \\Delta W_j ~ N(0, h), independent over j and the paths
    loss    as written (mean_paths(...), std_paths(...) over the sample paths)

The stage with the Stratonovich reading evaluates the Itô drift where the spec's drift is.
Deterministic: everything is read from the IR in its order.
"""
from __future__ import annotations

import dataclasses

import sympy

from sciml.analysis import sde_terms as terms
from sciml.latex.writer import _align, _loss_lines, _text, _Writer, document, symbol_latex
from sciml.lowering import ir
from sciml.schemes import registry

ITO, STRATONOVICH = r"\text{(It\^{o})}", r"\text{(Stratonovich)}"


class SdeWriter(_Writer):
    def __init__(self, model: ir.Model):
        super().__init__(model)
        self.diffusions = {d.state: d for d in terms.diffusions(model)}
        self.ito = model.scheme.option("ito", True)
        self.ito_equations = tuple(self._ito_form(eq) for eq in model.equations)

    def _ito_form(self, eq: ir.Equation) -> ir.Equation:
        """The equation with the drift the step evaluates: f, or f + 1/2 g g' for Stratonovich."""
        if self.ito:
            return eq
        correction = terms.ito_correction(self.m, eq, tuple(self.diffusions.values()), formal=True)
        if correction is None:
            raise NotImplementedError(f"the Itô form of d({eq.state})")
        return dataclasses.replace(eq, rhs=eq.rhs + correction)

    def at_step(self, values=None, step="j") -> dict:
        """The names of the states (at `values`) and of the per-step weights at step `step`."""
        names = {s.name: (values or {}).get(s.name, self.state(s.name, step)) for s in self.m.states}
        for n in self.per_step:
            names[n] = (r"\mathrm{" + _text(n) + "}_{" + step + "}") if n in self.nets else symbol_latex(n, step)
        return names

    # -- the noise slots of the stages (stages.py) --------------------------------------------
    def noise(self, eq: ir.Equation, values=None, step="j") -> str:
        r"""g(X_j) \Delta W_j: the diffusion with the states at `values`."""
        return self._diffusion(eq, self.at_step(values, step), step)

    def noise_correction(self, eq: ir.Equation, values=None, step="j") -> str:
        r"""Milstein's \frac{1}{2} g g' (\Delta W_j^2 - h), g' each entry's derivative in its own state."""
        d = self.diffusions[eq.state]
        names = self.at_step(values, step)
        if not d.columns:
            return r"\frac{1}{2} g g' \left(\Delta W_{" + step + r"}^{2} - " + self.p.step + r"\right)"
        parts = []
        for noise, g in d.columns:
            derivative = terms.derivative(g, eq.state)
            if d.closed_form:    # 1/2 g g' as one closed form: 1/2 b^2 X for g = b X
                half = sympy.factor(g * derivative) / 2
                number, rest = half.as_coeff_Mul()
                product = (r"\frac{1}{2} " + self._factor(2 * half, names) if number == sympy.Rational(1, 2)
                           else self._factor(half, names))
            else:                # 1/2 g(X) g'(X) of a network
                product = r"\frac{1}{2} " + self._factor(g, names) + " " + self._factor(derivative, names)
            increment = r"\Delta " + symbol_latex(noise, step)
            parts.append(product + r" \left(" + increment + r"^{2} - " + self.p.step + r"\right)")
        return _joined(parts)

    def _diffusion(self, eq: ir.Equation, names: dict, step, stratonovich=False) -> str:
        r"""g \, dW (step None), g \circ dW (`stratonovich`) or g \Delta W_j (at step `step`)."""
        d = self.diffusions[eq.state]
        self.p.increment_step = step
        try:
            if not d.columns:
                return self.tex(eq.diffusion, names)
            parts = []
            for noise, g in d.columns:
                increment = (r"\Delta " + symbol_latex(noise, step)) if step else "d" + symbol_latex(noise)
                times = r" \circ " if stratonovich else " " if step else r" \, "
                if g == 1 or g == -1:
                    parts.append(("- " if g == -1 else "") + (r"\circ " if stratonovich else "") + increment)
                else:
                    parts.append(self._factor(g, names) + times + increment)
            return _joined(parts)
        finally:
            self.p.increment_step = None

    def _factor(self, expr, names) -> str:
        text = self.tex(expr, names)
        return r"\left(" + text + r"\right)" if isinstance(expr, sympy.Add) else text

    # -- blocks ------------------------------------------------------------------------------
    def model_lines(self) -> list[str]:
        lines = []
        sense = ITO if self.ito else STRATONOVICH
        for eq, ito_eq in zip(self.m.equations, self.ito_equations):
            noise = self._diffusion(eq, {}, None, stratonovich=not self.ito)
            lines.append(f"d {self.state(eq.state)} &= {self._drift(eq.rhs)}{noise} \\quad {sense}")
            if not self.ito:
                lines.append(rf"&\text{{its It\^{{o}} form: }} d {self.state(eq.state)} = "
                             f"{self._drift(ito_eq.rhs)}{self._diffusion(eq, {}, None)}")
        for init in self.m.initials:
            lines.append(f"{self.state(init.state)}(0) &= {self.tex(init.value)}")
        return lines

    def _drift(self, drift) -> str:
        """`f \\, dt + ` (nothing for a zero drift)."""
        if drift == 0:
            return ""
        return self._factor(drift, {}) + r" \, dt + "

    def network_lines(self) -> list[str]:
        """A network per step n = first..last, and the parameter standing for it at step 0."""
        lines = []
        for net in self.m.networks:
            if net.per_step and net.steps:
                first, last = net.steps
                z = r"\mathrm{" + _text(net.name) + "}"
                start = (rf"{z}_{{0}} &\equiv {symbol_latex(net.start)}, \quad " if net.start else "&")
                lines.append(rf"{start}{z}_{{j}} \text{{ a network for each }} j = {first}, \dots, {last}")
        return lines

    def increment_lines(self) -> list[str]:
        paths = self.m.scheme.option("paths", 1)
        over = f"j \\text{{ and the {paths} paths}}" if paths > 1 else "j"
        lines = []
        for noise in self.m.noises:
            size = noise.shape[0] if noise.shape else 1
            variance = self.p.step if size == 1 else f"{self.p.step} I_{{{size}}}"
            lines.append(rf"\Delta {symbol_latex(noise.name, 'j')} &\sim \mathcal{{N}}\left(0, {variance}\right), "
                         rf"\quad \text{{independent over }} {over}")
        return lines


def _joined(parts) -> str:
    text = ""
    for part in parts:
        if not text:
            text = part
        elif part.startswith("- "):
            text += " - " + part[2:]
        else:
            text += " + " + part
    return text


def sde_document(model: ir.Model, standalone: bool) -> str:
    """The model, the scheme with its noise and the loss, as `align*` blocks (a whole document if asked)."""
    w = SdeWriter(model)
    title = _text(model.name)
    scheme = registry.definition_of(model.scheme).latex
    blocks = [(f"{title}: the stochastic model", "Model", _align(w.model_lines())),
              (f"scheme: {scheme}", f"Scheme: {scheme}",
               _align([w.grid_line(), *w.scheme_lines(w.ito_equations), *w.increment_lines(),
                       *w.network_lines()])),
              ("loss", "Loss", _align(_loss_lines(w, model.loss)))]
    return document(title, blocks, standalone)
