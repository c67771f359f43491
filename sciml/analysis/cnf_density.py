"""The log-density of a continuous normalizing flow (kind cnf): A113 notes.

At each equation dt(l) = -div(F(z, t), z, trace = ...): the instantaneous change of variables
(Chen et al. 2018), d log p(z(t)) / dt = -trace(dF/dz), so the state l integrates -log|det| of
the flow's map and -log p(x) = -log p_T(z(T)) + l(T), with the estimator of the trace said:

    exact           the trace of the Jacobian, from one forward-mode pass along each of the n
                    unit vectors of R^n (n passes of the network's derivative: fine for small n)
    hutchinson(k)   v . (dF/dz) v averaged over k probes per sample, one draw per solve: unbiased
                    (E v v^T = I); its variance per probe 2 sum_{i != j} J_ij^2 for Rademacher
                    probes, 2 |J|_F^2 for normal ones (Hutchinson 1989; FFJORD), one pass each

At each equation that integrates |jacobian(F(z, t), z)|^2 or |F(z, t)|^2: RNODE's regularizers
(Finlay et al. 2020), which the loss weighs to keep the paths straight and the flow cheap to solve.
"""
from __future__ import annotations

import sympy

from sciml.analysis.found import Found, Options
from sciml.frontend.diagnostics import finding
from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.lowering import symbols as S


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    found = []
    for equation in model.equations:
        for divergence in sorted(equation.rhs.atoms(F.NetDivergence), key=str):
            found.append(_log_density(model, equation, divergence))
        regularizer = _regularizer(equation)
        if regularizer:
            found.append(finding("A113", "note", f"dt({equation.state}): {regularizer}", equation.span,
                                 "its weight in the loss trades the likelihood against the cost of the solve",
                                 state=equation.state))
    return Found(tuple(found))


def _log_density(model, equation, divergence):
    call, wrt, estimator, probes, kind = divergence.args
    net = str(call.args[0])
    size = next((s.shape[0] if s.shape else 1 for s in model.states if s.name == str(wrt)), 1)
    if str(estimator) == "exact":
        how = (f"the exact trace of d{net}/d{wrt}, from {size} forward-mode passes of {net}'s derivative "
               f"(one along each unit vector of R^{size})")
    else:
        variance = ("2 sum_(i != j) J_ij^2 (Rademacher)" if str(kind) == "rademacher"
                    else "2 |J|_F^2 (normal)")
        how = (f"Hutchinson's estimate v . (d{net}/d{wrt}) v over {int(probes)} {kind} probe"
               f"{'s' if int(probes) > 1 else ''} per sample, drawn once per solve: unbiased, its "
               f"variance per probe {variance}, one forward-mode pass each")
    return finding("A113", "note", f"dt({equation.state}) is the log-density's ODE: d log p / dt = "
                   f"-trace(d{net}/d{wrt}) (the instantaneous change of variables), so -log p(x) = "
                   f"-log p_T({wrt}(T)) + {equation.state}(T); {how}", equation.span,
                   "trace = exact for a small state, trace = hutchinson(k) for a large one",
                   state=equation.state)


def _regularizer(equation) -> str:
    rhs = equation.rhs
    if isinstance(rhs, sympy.Pow) and rhs.exp == 2 and isinstance(rhs.base, S.SampleNorm):
        inner = rhs.base.args[0]
        if isinstance(inner, F.NetJacobian):
            return ("RNODE's Jacobian regularizer, the integral of the squared Frobenius norm of the "
                    f"network's Jacobian in {inner.args[1]} (Finlay et al. 2020)")
        if isinstance(inner, S.NetCall):
            return "RNODE's kinetic energy, the integral of the squared speed |F|^2 (Finlay et al. 2020)"
    return ""
