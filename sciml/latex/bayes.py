r"""`sciml latex` of a Bayesian network (kind bayes): the weight posterior and its draws (or the
members of a deep ensemble), the prior and the KL in closed form (elbo_terms.py derives it), the
loss with the draws axis written as the sum it is, and each report (the predictive covariance and
the acquisition rule of active learning).

    posterior   q(w) = N(mu, diag sigma^2), sigma = log(1 + e^rho);  w^(i) = mu + sigma * eps^(i)
    ensemble    F^(i) = F(.; w^(i)), i = 1..M, each w^(i) initialised from its own draws
    prior, KL   p(w) = N(m0, s0^2 I);  KL(q || p) = sum_j KL(N(mu_j, sigma_j^2) || N(m0, s0^2))
    loss        over the draws: a mean left to the loss is (1/N) sum_i; a covariance is
                1/(N-1) sum_i (p^(i) - p_bar)(p^(i) - p_bar)^T
"""
from __future__ import annotations

import sympy

from sciml.latex.writer import SpecLatexPrinter, _align, _loss_lines, _text, _Writer, document
from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.lowering.elbo_terms import gaussian_kl

DRAW = "i"   # the index over posterior draws or ensemble members


class BayesLatexPrinter(SpecLatexPrinter):
    """The draws axis written out: F(x; w^(i)), (1/N) sum_i ..., Cov_i[...]."""

    def __init__(self, draws: dict[str, int], **kwargs):
        super().__init__(**kwargs)
        self.draws = draws           # network name: draws (posterior) or members (ensemble)

    def _count(self, expr) -> int:
        return max((self.draws.get(str(c.args[0]), 0) for c in expr.atoms(S.NetCall)), default=0)

    def _print_NetCall(self, expr):
        name, *inputs = expr.args
        args = ", ".join(self._print(x) for x in inputs)
        if str(name) in self.draws:
            return self._print(name) + r"\left(" + args + r"; w^{(" + DRAW + r")}\right)"
        return super()._print_NetCall(expr)

    def _print_MeanOver(self, expr):
        x, axis = expr.args
        if str(axis) != "draws":
            return super()._print_MeanOver(expr)
        n = self._count(x)
        return rf"\frac{{1}}{{{n}}} \sum_{{{DRAW}=1}}^{{{n}}} " + self._print(x)

    def _print_CovarianceOver(self, expr):
        x, axis = expr.args
        return r"\operatorname{Cov}_{" + (DRAW if str(axis) == "draws" else self._axis(axis)) + \
            r"}\left[" + self._print(x) + r"\right]"

    def _print_Trace(self, expr):
        return r"\operatorname{tr} " + self._print(expr.args[0])

    def _print_ArgMax(self, expr):
        return r"\operatorname*{arg\,max}_{k} \left(" + self._print(expr.args[0]) + r"\right)_{k}"

    def _print_KlToPrior(self, expr):
        w = "w_{" + self._print(expr.args[0]) + "}"
        return rf"\mathrm{{KL}}\left(q({w}) \,\|\, p({w})\right)"

    def _print_SoftmaxCrossEntropy(self, expr):
        """CE of the averaged probabilities, or (members left on the draws axis) the members' mean CE."""
        text = super()._print_SoftmaxCrossEntropy(expr)
        n = _left_on_draws(expr.args[0], self.draws)
        return rf"\frac{{1}}{{{n}}} \sum_{{{DRAW}=1}}^{{{n}}} " + text if n else text


def _left_on_draws(expr, draws: dict[str, int]) -> int:
    """How many draws an expression still has on its draws axis (0: none, reduced or absent)."""
    if isinstance(expr, (F.MeanOver, F.StdOver, F.CovarianceOver)) and str(expr.args[1]) == "draws":
        return 0
    if isinstance(expr, S.NetCall):
        return draws.get(str(expr.args[0]), 0)
    return max((_left_on_draws(a, draws) for a in expr.args), default=0)


def bayes_document(model: ir.Model, standalone: bool) -> str:
    w = _Writer(model)
    draws = {n.name: n.draws for n in model.networks if n.posterior or n.ensemble}
    w.p = BayesLatexPrinter(draws, names=w.p.names, t_end=w.p.t_end)
    title = _text(model.name)
    blocks = [(f"{title}: the networks and their weights", "Model", _align(_network_lines(w, model)))]
    priors = _prior_lines(w, model)
    if priors:
        blocks.append(("the prior and the KL divergence in closed form", "Prior", _align(priors)))
    blocks.append(("loss", "Loss", _align(_loss_lines(w, model.loss))))
    for report in model.reports:
        lines = [rf"\mathrm{{{_text(report.label)}}} &= " + w.tex(report.expr)]
        if report.expr.atoms(F.CovarianceOver):
            n = max(draws.values())
            lines.append(rf"\operatorname{{Cov}}_{{{DRAW}}}\left[p^{{({DRAW})}}\right] &= \frac{{1}}{{{n - 1}}} "
                         rf"\sum_{{{DRAW}=1}}^{{{n}}} \left(p^{{({DRAW})}} - \bar p\right)"
                         rf"\left(p^{{({DRAW})}} - \bar p\right)^{{\top}}, \quad "
                         rf"\bar p = \frac{{1}}{{{n}}} \sum_{{{DRAW}=1}}^{{{n}}} p^{{({DRAW})}}")
        blocks.append((f"report {report.label}", f"Report {_text(report.label)}", _align(lines)))
    return document(title, blocks, standalone)


def _network_lines(w: _Writer, model: ir.Model) -> list[str]:
    lines = []
    for net in model.networks:
        name = w.p.names[net.name]
        widths = r" \to ".join(str(n) for n in net.widths)
        sigma = "\\" + net.activation if net.activation in ("tanh", "sin", "cos") else \
            rf"\mathrm{{{_text(net.activation)}}}"
        lines.append(rf"{name} &: \text{{an MLP }} {widths} \text{{ with }} {sigma}")
        if net.posterior:
            lines.append(rf"q(w_{{{name}}}) &= \mathcal{{N}}\left(\mu, \operatorname{{diag}} \sigma^2\right), "
                         r"\quad \sigma = \log\left(1 + e^{\rho}\right)")
            lines.append(rf"w^{{({DRAW})}} &= \mu + \sigma \odot \varepsilon^{{({DRAW})}}, \quad "
                         rf"\varepsilon^{{({DRAW})}} \sim \mathcal{{N}}(0, I), \quad {DRAW} = 1, \dots, {net.draws}")
        elif net.ensemble:
            lines.append(rf"{name}^{{({DRAW})}} &= {name}\left(\cdot\,; w^{{({DRAW})}}\right), \quad "
                         rf"{DRAW} = 1, \dots, {net.draws}, \text{{ each }} w^{{({DRAW})}} "
                         r"\text{ initialised independently}")
    return lines


def _prior_lines(w: _Writer, model: ir.Model) -> list[str]:
    lines = []
    for atom in sorted(model.loss.atoms(F.KlToPrior), key=str):
        net, m0, s0 = atom.args
        name = w.p.names[str(net)]
        covariance = "I" if s0 == 1 else f"{w.tex(s0 ** 2)} I"
        closed = gaussian_kl(sympy.Symbol("mu_j"), sympy.Symbol("sigma_j"), m0, s0)
        lines.append(rf"p(w_{{{name}}}) &= \mathcal{{N}}\left({w.tex(m0)}, {covariance}\right)")
        lines.append(w.tex(atom) + rf" &= \sum_{{j}} \left({w.tex(closed)}\right)")
    return lines
