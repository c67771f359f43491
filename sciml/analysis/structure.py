"""The structure pass: the Jacobian of each right side, networks kept symbolic (A101-A109).

A layer sigma(A X + b) of a state X has the Jacobian diag(sigma'(A X + b)) A, so the Jacobian of
a right side is a sum of terms L diag(sigma') R (`jacobian/terms.py`), matched against the forms
of the lecture notes:

    antisymmetric           J = diag(sigma') A,  A = -A^T          (seed 000: K - K^T)
    antisymmetric, damped   J = diag(sigma') (S - gamma I), S = -S^T
    parabolic               J = -R^T diag(sigma') R                 (seed 002)
    Hamiltonian blocks      dY/dt = f(Z), dZ/dt = g(Y) with blocks +P, -Q, P and Q >= 0 (seed 002)
    canonical Hamiltonian   dq/dt = v, dv/dt = -grad V(q)           (seed 003)
    second order            d2Y/dt2 = F(Y), dF/dY = -R^T diag(sigma') R (seed 002)
    explicit                A a matrix literal or constant: its eigenvalues, computed
    general / unknown       anything else (an opaque network F(u) is "structure unknown")

Each form comes with where the Jacobian's eigenvalues lie (a `stability.Spectrum`), which the
stability verdict reads.  The forms live in `jacobian/`: `first_order.py` (one equation),
`second_order.py`, `pairs.py` (two equations that drive each other); the matrix algebra that
proves them is `jacobian/matpoly.py`.  A pair is tried first; an equation coupled to another
state in any other way is "structure unknown".
"""
from __future__ import annotations

from dataclasses import replace

import sympy

from sciml.analysis.found import Found, Options
from sciml.analysis.jacobian.first_order import first_order
from sciml.analysis.jacobian.forms import FORMS, Structure, general, split_shift, unknown
from sciml.analysis.jacobian.pairs import pair_structure
from sciml.analysis.jacobian.second_order import second_order
from sciml.analysis.jacobian.terms import NOT_MONOTONE, Opaque, Reader
from sciml.analysis.jacobian.texts import terms_text
from sciml.frontend.diagnostics import Diagnostic, finding
from sciml.lowering import ir


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    """One finding per structure, and the structures for the stability verdict."""
    found = structures(model)
    return Found(diagnostics=tuple(_finding(s) for s in found), structures=found)


def structures(model: ir.Model) -> tuple[Structure, ...]:
    reader = Reader(model)
    equations = list(model.equations)
    found = []
    paired = set()
    if len(equations) == 2 and all(e.order == 1 for e in equations):
        pair = pair_structure(reader, *equations)
        if pair is not None:
            found.append(pair)
            paired = {e.state for e in equations}
    state_names = {s.name for s in model.states}
    for eq in equations:
        if eq.state in paired:
            continue
        others = {s.name for s in eq.rhs.free_symbols} & (state_names - {eq.state})
        if others:
            found.append(unknown(eq, f"it is coupled to {', '.join(sorted(others))}", eq.order))
            continue
        found.append(_single(reader, eq))
    return tuple(_with_norms(s, reader) for s in found)


def _with_norms(s: Structure, reader: Reader) -> Structure:
    """Attach the matrices behind the norm2(...) symbols the spectrum reads (for the runtime
    stability check, which evaluates them with the current weights)."""
    sp = s.spectrum
    used = set().union(*(sympy.sympify(x).free_symbols for x in (sp.radius, sp.shift, sp.damping, sp.slope)))
    norms = tuple((sym, m) for sym, m in sorted(reader.norms.items(), key=lambda kv: kv[0].name) if sym in used)
    letters = set().union(set(), *(m.letters() for _, m in norms))
    literals = tuple((n, v) for n, v in sorted(reader.literals.items()) if n in letters)
    return replace(s, norms=norms, literals=literals)


def _single(reader: Reader, eq: ir.Equation) -> Structure:
    x = sympy.Symbol(eq.state)
    n = reader.states[eq.state][0] if reader.states[eq.state] else 1
    try:
        terms = reader.jacobian(eq.rhs, x, n)
    except Opaque as exc:
        return unknown(eq, str(exc), eq.order)
    for t in terms:
        if t.activation in NOT_MONOTONE:
            return general(eq, f"{t.activation} is not monotone ({NOT_MONOTONE[t.activation]}), "
                           "so sigma' >= 0 does not hold", terms_text(terms))
        if t.activation is not None and t.activation.startswith("grad "):
            return unknown(eq, f"the Hessian of {t.activation[5:]} has no known sign", eq.order)
    shift, rest = split_shift(terms)
    if eq.order == 2:
        return second_order(reader, eq, shift, rest)
    return first_order(reader, eq, shift, rest)


def _finding(s: Structure) -> Diagnostic:
    data = {"structure": s.form, "states": ", ".join(s.states), "jacobian": s.jacobian,
            "spectrum": s.spectrum.kind}
    data.update(s.data)
    return finding(FORMS[s.form], s.severity, s.summary, s.span, s.meaning, **data)
