"""The ELBO of a variational autoencoder (kind vae): A114 notes.

At the loss: the bound's two parts and how each is computed (lowering/elbo_terms.py):

    ELBO(x) = E_{e(z|x)} log p(x | z) - KL(e(z | x) || p(z)) <= log p(x)
              (the gap is KL(e(z | x) || p(z | x)), the encoder's distance to the true posterior)

    reconstruction  the decoder's log-likelihood, summed over the entries of x: a normal decoder's
                    -|x - g|^2 / (2 s^2) - n log s - n/2 log(2 pi) (a fixed s weighs the fit by
                    1 / (2 s^2) against the KL); a Bernoulli decoder's x a - softplus(a)
    KL              in closed form, derived by sympy, or by Monte Carlo at the same draws
    draws           z = mean + std * eps, eps ~ N(0, I) (the reparameterization: gradients pass
                    through mean and std), L per sample

At each iwae(...) report: the importance-weighted bound with K draws, above the ELBO and rising
to log p(x) as K grows (Burda et al. 2016).
"""
from __future__ import annotations

import sympy

from sciml.analysis.found import Found, Options
from sciml.frontend.diagnostics import finding
from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.lowering.elbo_terms import gaussian_kl
from sciml.lowering.mathtext import expr_text


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    found = []
    for elbo in sorted(model.loss.atoms(F.Elbo), key=str):
        found.append(_elbo_note(model, elbo))
    for report in model.reports:
        for bound in sorted(report.expr.atoms(F.ImportanceBound), key=str):
            K = int(bound.args[1])
            found.append(finding("A114", "note", f"{report.label}: the importance-weighted bound of the elbo "
                                 f"with K = {K} draws of the latent, log (1/K) sum_k p(x, z_k) / e(z_k | x): "
                                 "above the ELBO (K = 1), rising to log p(x) as K grows", report.span,
                                 "more draws tighten it; its cost is K decoder passes a sample"))
    return Found(tuple(found))


def _elbo_note(model: ir.Model, elbo) -> object:
    x, latent, decoder, mean, scale, prior_mean, prior_std, kl, draws = elbo.args
    z = model.latents[0]
    if str(decoder) == "normal":
        fixed = not scale.free_symbols
        reconstruction = (f"the normal decoder's log-likelihood -|x - {expr_text(mean)}|^2 / (2 s^2) - n log s "
                          f"- n/2 log(2 pi), s = {expr_text(scale)}"
                          + (f" (fixed: it weighs the fit by 1 / (2 s^2) = {float(1 / (2 * scale ** 2)):.4g} "
                             "against the KL)" if fixed else " (learned)"))
    else:
        reconstruction = (f"the Bernoulli decoder's log-likelihood sum x a - softplus(a) from the logits "
                          f"a = {expr_text(mean.args[0])}")
    if str(kl) == "analytic":
        mean_j, std_j = sympy.Symbol("mean_j"), sympy.Symbol("std_j")
        closed = expr_text(gaussian_kl(mean_j, std_j, prior_mean, prior_std))
        divergence = f"in closed form (derived by sympy), sum over the entries of {closed}"
    else:
        divergence = "by Monte Carlo, log e(z | x) - log p(z) at the same draws"
    count = int(draws)
    return finding("A114", "note",
                   f"-elbo({x}): ELBO = E_e log p(x | {latent}) - KL(e({latent} | x) || p({latent})) <= log p(x), "
                   f"the gap the encoder's KL to the true posterior; the first term is {reconstruction}; the KL "
                   f"{divergence}; {latent} = {expr_text(z.mean)} + {expr_text(z.std)} * eps, eps ~ N(0, I) "
                   f"(reparameterized), {count} draw{'s' if count > 1 else ''} a sample", model.loss_span,
                   "samples = L averages L draws; iwae(x, samples = K) on a report line tightens the bound")
