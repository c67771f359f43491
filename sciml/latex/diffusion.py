"""`sciml latex` of a diffusion model (kind diffusion): the forward SDE, its transition kernel, the
reverse-time SDE and the probability-flow ODE derived from it, the two samplers' stages, and the
denoising score-matching loss.

    model    d x = f dt + g(t) dW (Itô), x(0) = the data; x(t) | x(0) ~ N(m x(0) + b, v I), m, b, v
             by sympy (lowering/reverse_sde.py)
    reverse  d x = [f - g^2 s(x, t)] dt + g d\\bar{W}, from t = T down to 0, and the probability-
             flow ODE dx/dt = f - 1/2 g^2 s
    scheme   t_j = T - j h, x_0 ~ N(b(T), v(T) I); the reverse sampler's stage (Euler-Maruyama) and
             the flow option's scheme run backwards (h -> -h: RK4's k_2 at t_j - h/2)
    loss     E lambda(t) |s(x(t), t) + eps / sqrt(v(t))|^2, x(t) = m x(0) + b + sqrt(v) eps
"""
from __future__ import annotations

import sympy

from sciml.latex.sde import SdeWriter
from sciml.latex.stages import StageLatex, _scale
from sciml.latex.writer import _align, _text, document, symbol_latex
from sciml.lowering import ir
from sciml.lowering import family_symbols as F
from sciml.lowering import symbols as S
from sciml.lowering.reverse_sde import TIME, diffusion_parts, weight_of
from sciml.schemes import registry
from sciml.schemes.algebra import t


class DiffusionWriter(SdeWriter):
    def __init__(self, model: ir.Model):
        super().__init__(model)
        self.sde, self.kernel, self.reverse = diffusion_parts(model)
        (self.equation,) = model.equations
        self.time = "t"    # how t prints in a right side: t, or t_{j} - \frac{h}{2} in a stage

    def tex(self, expr, names=None) -> str:
        return super().tex(expr, {"t": self.time, **(names or {})})

    def noise(self, eq, values=None, step="j") -> str:
        r"""g(t_j) \Delta W_j: the noise slot at the step's time."""
        saved, self.time = self.time, f"t_{{{step}}}"
        try:
            return super().noise(eq, values, step)
        finally:
            self.time = saved

    def _equation(self, drift) -> ir.Equation:
        """The equation a sampler steps: `drift` and the forward sde's noise."""
        increment = F.Increment(sympy.Symbol(self.sde.noise))
        return ir.Equation(state=self.sde.state, order=1, rhs=drift, diffusion=self.sde.diffusion * increment,
                           span=self.equation.span)

    def kernel_lines(self) -> list[str]:
        x = self.state(self.sde.state)
        start = sympy.Symbol("start")
        mean = self.tex(self.kernel.mean(start), {"start": f"{x}(0)"})
        return [rf"{x}(t) \mid {x}(0) &\sim \mathcal{{N}}\left({mean}, v(t) I\right), \quad "
                rf"v(t) = {self.tex(self.kernel.variance)}"]

    def reverse_lines(self) -> list[str]:
        x = self.state(self.sde.state)
        noise = symbol_latex(self.sde.noise)
        g = self._factor(self.sde.diffusion, {})
        return [rf"d {x} &= \left({self.tex(self.reverse.drift)}\right) dt + {g} \, d\bar{{{noise}}} "
                r"\quad \text{(reverse time, from } t = T \text{ down to } 0\text{)}",
                rf"\frac{{d {x}}}{{dt}} &= {self.tex(self.reverse.flow)} \quad \text{{(probability flow)}}"]

    def sampler_lines(self) -> list[str]:
        x = self.state(self.sde.state)
        # the start: x(T)'s mean and covariance over the data (mean mu, covariance C), prior(data)
        at_T = {TIME: sympy.Symbol("T")}
        mu, covariance, identity = sympy.symbols("mu C I", commutative=False)
        mean = self.tex(self.kernel.mean(mu).subs(at_T))
        spread = self.tex(self.kernel.scale.subs(at_T)**2 * covariance + self.kernel.variance.subs(at_T) * identity)
        size = self.m.states[0].shape[0] if self.m.states[0].shape else 1
        lines = [self.grid_line(),
                 rf"t_{{j}} &= T - j {self.p.step}, \quad {x}_{{0}} \sim \mathcal{{N}}\left({mean}, {spread}\right), "
                 rf"\quad {x}_{{N}} \text{{ the samples}}",
                 rf"&\mu, C \text{{: the mean and covariance of }} {self.tex(self.m.loss.args[1])}"]
        lines += [r"&\text{" + registry.definition_of(self.m.scheme).latex + ":}"]
        lines += TimedStages(self, registry.definition_of(self.m.scheme), (self._equation(self.reverse.drift),)).lines()
        lines.append(rf"\Delta {symbol_latex(self.sde.noise, 'j')} &\sim "
                     rf"\mathcal{{N}}\left(0, {self.p.step} I_{{{size}}}\right)")
        flow = registry.probability_flow(self.m.scheme)
        lines += [r"&\text{probability flow, " + flow.latex + r" backwards:}"]
        lines += TimedStages(self, flow, (self._equation(self.reverse.flow),)).lines()
        return lines

    def dsm_lines(self) -> list[str]:
        x = self.state(self.sde.state)
        score, data, low, high, weight = self.m.loss.args
        noisy = self.tex(self.kernel.mean(sympy.Symbol("start")), {"start": f"{x}(0)"}) + r" + \sqrt{v(t)} \, \epsilon"
        lam = weight_of(str(weight) if isinstance(weight, sympy.Symbol) else weight, self.sde, self.kernel)
        call = self.tex(S.NetCall(score, sympy.Symbol(self.sde.state), TIME), {self.sde.state: f"{x}(t)"})
        return [rf"{x}(t) &= {noisy}, \quad \epsilon \sim \mathcal{{N}}(0, I), \quad t \sim "
                rf"\mathcal{{U}}\left({self.tex(low)}, {self.tex(high)}\right), \quad {x}(0) \sim "
                rf"\mathrm{{{_text(str(data))}}}",
                rf"\mathcal{{L}} &= \mathbb{{E}}\left[\lambda(t) \left\| {call} + \frac{{\epsilon}}"
                rf"{{\sqrt{{v(t)}}}} \right\|^{{2}}\right], \quad \lambda(t) = {self.tex(lam)}"]


class TimedStages(StageLatex):
    """StageLatex whose right sides read the stage's time: t_{j}, t_{j} - \\frac{h}{2}."""

    def _rate(self, rate, k, base):
        offset = sympy.expand(rate.args[1] - t)
        text = f"t_{{{base}}}"
        if offset != 0:
            negative = offset.could_extract_minus_sign()
            scale = _scale(-offset if negative else offset, self.w.p.step)
            text = r"\left(" + text + (" - " if negative else " + ") + scale + r"\right)"
        saved, self.w.time = self.w.time, text
        try:
            return super()._rate(rate, k, base)
        finally:
            self.w.time = saved


def diffusion_document(model: ir.Model, standalone: bool) -> str:
    """The forward and reverse SDEs, the samplers and the loss, as `align*` blocks."""
    w = DiffusionWriter(model)
    title = _text(model.name)
    blocks = [(f"{title}: the forward sde and its transition kernel", "Model",
               _align(w.model_lines() + w.kernel_lines())),
              ("the reverse-time sde and the probability-flow ode", "Reverse time", _align(w.reverse_lines())),
              (f"samplers: {registry.definition_of(model.scheme).latex}", "Samplers", _align(w.sampler_lines())),
              ("loss: denoising score matching", "Loss", _align(w.dsm_lines()))]
    return document(title, blocks, standalone)
