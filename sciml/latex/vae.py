r"""`sciml latex` of a variational autoencoder (kind vae): the encoder, decoder and prior, the
reparameterization, the ELBO's two terms (each as elbo_terms.py derives it: the decoder's
log-likelihood, the Gaussian KL in closed form or by Monte Carlo), and the importance-weighted
bound of an iwae(...) report.

    model    e(z | x) = N(mu(x), diag sigma(x)^2), p(x | z) = N(g(z), s^2 I) or Bernoulli(sigmoid(a(z))),
             p(z) = N(m0, s0^2 I)
    draws    z_l = mu(x) + sigma(x) * eps_l, eps_l ~ N(0, I), l = 1..L
    loss     L = -ELBO = -(1/L) sum_l log p(x | z_l) + KL(e(z | x) || p(z)), both summed over entries
    report   L_K = log (1/K) sum_k p(x | z_k) p(z_k) / e(z_k | x)
"""
from __future__ import annotations

import sympy

from sciml.latex.writer import _align, _text, _Writer, document, symbol_latex
from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.lowering.elbo_terms import gaussian_kl, log_bernoulli_logits, log_normal


def vae_document(model: ir.Model, standalone: bool = False) -> str:
    w = _Writer(model)
    (elbo,) = model.loss.atoms(F.Elbo)
    x_data, latent, decoder, mean, scale, m0, s0, kl, draws = elbo.args
    z = model.latents[0]
    on_x = {str(x_data): "x"}
    zt, L = symbol_latex(z.name), int(draws)
    encoder = (rf"e({zt} \mid x) &= \mathcal{{N}}\left(\mu(x), \operatorname{{diag}} \sigma(x)^2\right), \quad "
               rf"\mu(x) = {w.tex(z.mean, on_x)}, \quad \sigma(x) = {w.tex(z.std, on_x)}")
    if str(decoder) == "normal":
        likelihood = (rf"p(x \mid {zt}) &= \mathcal{{N}}\left({w.tex(mean)}, s^2 I\right), \quad s = {w.tex(scale)}")
        entry = log_normal(sympy.Symbol("x_i"), sympy.Symbol("g_i"), sympy.Symbol("s"))
        term = rf"\log p(x \mid {zt}) &= \sum_{{i=1}}^{{n}} \left({w.tex(entry)}\right), \quad g = {w.tex(mean)}"
    else:
        likelihood = rf"p(x \mid {zt}) &= \prod_{{i=1}}^{{n}} \mathrm{{Bernoulli}}\left(x_i; \sigma(a_i)\right), \quad a = {w.tex(mean.args[0])}"
        entry = log_bernoulli_logits(sympy.Symbol("x_i"), sympy.Symbol("a_i"))
        term = rf"\log p(x \mid {zt}) &= \sum_{{i=1}}^{{n}} \left({w.tex(entry)}\right)"
    covariance = "I" if s0 == 1 else f"{w.tex(s0 ** 2)} I"
    prior = rf"p({zt}) &= \mathcal{{N}}\left({w.tex(m0)}, {covariance}\right)"
    eps = r"\varepsilon_l" if L > 1 else r"\varepsilon"
    zl = rf"{zt}_l" if L > 1 else zt
    draw = (rf"{zl} &= \mu(x) + \sigma(x) \odot {eps}, \quad {eps} \sim \mathcal{{N}}(0, I)"
            + (rf", \quad l = 1, \dots, {L}" if L > 1 else ""))
    average = rf"\frac{{1}}{{{L}}} \sum_{{l=1}}^{{{L}}} \log p(x \mid {zt}_l)" if L > 1 else rf"\log p(x \mid {zt})"
    if str(kl) == "analytic":
        closed = gaussian_kl(sympy.Symbol("mu_j"), sympy.Symbol("sigma_j"), m0, s0)
        divergence = (rf"\mathrm{{KL}}\left(e({zt} \mid x) \,\|\, p({zt})\right) &= \sum_{{j=1}}^{{k}} "
                      rf"\left({w.tex(closed)}\right)")
    else:
        divergence = (rf"\mathrm{{KL}}\left(e({zt} \mid x) \,\|\, p({zt})\right) &\approx "
                      + (rf"\frac{{1}}{{{L}}} \sum_{{l=1}}^{{{L}}} " if L > 1 else "")
                      + rf"\log e({zl} \mid x) - \log p({zl})")
    loss = [rf"\mathcal{{L}} &= -\mathrm{{ELBO}}(x) = -{average} + \mathrm{{KL}}\left(e({zt} \mid x) \,\|\, p({zt})\right)"
            r", \quad x = " + w.tex(x_data), term, divergence]
    parts = [("The model", _align([encoder, likelihood, prior])),
             ("The reparameterization", _align([draw])),
             ("Loss: the negative ELBO, averaged over the batch", _align(loss))]
    for report in model.reports:
        for bound in sorted(report.expr.atoms(F.ImportanceBound), key=str):
            K = int(bound.args[1])
            parts.append((f"Report {_text(report.label)}: the importance-weighted bound",
                          _align([rf"\mathcal{{L}}_{{{K}}} &= \log \frac{{1}}{{{K}}} \sum_{{k=1}}^{{{K}}} "
                                  rf"\frac{{p(x \mid {zt}_k)\, p({zt}_k)}}{{e({zt}_k \mid x)}}, \quad "
                                  rf"{zt}_k = \mu(x) + \sigma(x) \odot \varepsilon_k"])))
    return document(_text(model.name), [(heading, heading, block) for heading, block in parts], standalone)
