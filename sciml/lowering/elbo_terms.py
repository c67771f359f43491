"""The terms of a VAE's ELBO per entry, derived once and read by the code writer (vae_code.py),
`sciml latex` and the analysis (analysis/elbo.py):

    log N(x; mean, std)        -((x - mean) / std)^2 / 2 - log(std) - log(2 pi) / 2
    log Bernoulli(x; sigmoid(a))   x a - softplus(a)   (from the logits a: no log of 0)
    KL(N(m, s^2) || N(m0, s0^2))   E_q[log q(z) - log p(z)], derived by sympy: log q - log p is a
                                   quadratic in z, and E_q z = m, E_q z^2 = m^2 + s^2 put in
"""
from __future__ import annotations

import sympy

from sciml.lowering import symbols as S


def log_normal(x, mean, std):
    """log N(x; mean, std^2) of one entry."""
    return -((x - mean) / std) ** 2 / 2 - _log(std) - sympy.log(2 * sympy.pi) / 2


def log_bernoulli_logits(x, logits):
    """log Bernoulli(x; sigmoid(logits)) of one entry, x log p + (1 - x) log(1 - p) written in the
    logits: log sigmoid(a) = a - softplus(a), log(1 - sigmoid(a)) = -softplus(a)."""
    return x * logits - S.Softplus(logits)


def gaussian_kl(mean, std, prior_mean, prior_std):
    """KL(N(mean, std^2) || N(prior_mean, prior_std^2)) of one entry, derived: the expectation
    under q of log q(z) - log p(z), a polynomial of degree 2 in z, with q's first two moments."""
    z = sympy.Dummy("z")
    m, s = sympy.Dummy("m", real=True), sympy.Dummy("s", positive=True)
    m0, s0 = sympy.Dummy("m0", real=True), sympy.Dummy("s0", positive=True)
    log_ratio = sympy.expand(log_normal(z, m, s) - log_normal(z, m0, s0))
    moments = {2: m ** 2 + s ** 2, 1: m, 0: 1}
    polynomial = sympy.Poly(log_ratio, z)
    expectation = sum(coefficient * moments[power[0]] for power, coefficient in polynomial.terms())
    kl = _tidy(sympy.expand(expectation), m, s, m0, s0)
    return kl.xreplace({m: mean, s: std, m0: prior_mean, s0: prior_std})


def _tidy(kl, m, s, m0, s0):
    """log(s0 / s) + (s^2 + (m - m0)^2) / (2 s0^2) - 1/2: the derived sum, checked equal to it."""
    form = sympy.log(s0) - sympy.log(s) + (s ** 2 + (m - m0) ** 2) / (2 * s0 ** 2) - sympy.Rational(1, 2)
    if sympy.simplify(sympy.expand_log(kl - form, force=True)) != 0:
        raise AssertionError(f"the derived Gaussian KL {kl} is not the closed form")
    return form


def _log(value):
    """log(value), a logarithm of a product or power taken apart: log(exp(log_s)) is log_s."""
    return sympy.expand_log(sympy.log(value), force=True)
