"""The forms of a pair of first-order equations that drive each other, dY/dt = f(Z), dZ/dt = g(Y):

    Hamiltonian blocks      blocks +P, -Q with P and Q >= 0         (seed 002)
                            or D1 A and -D2 A^T                     (seed 003)
    canonical Hamiltonian   dq/dt = v, dv/dt = -grad V(q)           (seed 003)
    unknown                 anything else
"""
from __future__ import annotations

import sympy

from sciml.analysis.jacobian.forms import Structure, max_slope, psd_form, sign_of, split_shift
from sciml.analysis.jacobian.matpoly import MatPoly
from sciml.analysis.jacobian.terms import NOT_MONOTONE, Opaque, Reader, Term
from sciml.analysis.jacobian.texts import terms_text
from sciml.analysis.stability import IMAGINARY, OPAQUE, Spectrum
from sciml.lowering import ir
from sciml.lowering.mathtext import expr_text


def pair_structure(reader: Reader, first: ir.Equation, second: ir.Equation) -> Structure | None:
    """dY/dt = f(Z), dZ/dt = g(Y): the Hamiltonian block form of seed 002, if certified."""
    y, zed = sympy.Symbol(first.state), sympy.Symbol(second.state)
    if y in first.rhs.free_symbols or zed in second.rhs.free_symbols:
        return None
    if zed not in first.rhs.free_symbols or y not in second.rhs.free_symbols:
        return None
    ny = reader.states[first.state][0] if reader.states[first.state] else 1
    nz = reader.states[second.state][0] if reader.states[second.state] else 1
    span = first.span.merge(second.span)
    states = (first.state, second.state)
    lhs = f"dt({first.state}), dt({second.state})"
    try:
        top = reader.jacobian(first.rhs, zed, nz)
        bottom = reader.jacobian(second.rhs, y, ny)
    except Opaque as exc:
        return _pair_unknown(states, span, lhs, str(exc))
    shift_top, top = split_shift(top)
    shift_bottom, bottom = split_shift(bottom)
    if shift_top != 0:
        top = top + [Term(MatPoly.identity(nz), None, MatPoly.identity(nz, shift_top))]
    if shift_bottom != 0:
        bottom = bottom + [Term(MatPoly.identity(ny), None, MatPoly.identity(ny, shift_bottom))]
    if len(top) != 1 or len(bottom) != 1:
        return _pair_unknown(states, span, lhs, "a block is a sum of several terms")
    t, b = top[0], bottom[0]
    blocks = f"[[0, {terms_text([t])}], [{terms_text([b])}, 0]]"
    grads = [x for x in (t, b) if x.activation and x.activation.startswith("grad ")]
    if grads:
        return _canonical(reader, states, span, lhs, t, b, blocks)
    if any(x.activation in NOT_MONOTONE for x in (t, b)):
        return _pair_unknown(states, span, lhs, "an activation is not monotone")
    ft, fb = psd_form(t), psd_form(b)
    weights = sorted((t.right.letters() | b.right.letters()) & reader.per_step)
    if ft is not None and fb is not None:
        (k1, r1), (k2, r2) = ft, fb
        if {sign_of(k1, reader), sign_of(k2, reader)} == {1, -1}:
            radius = sympy.sqrt(max_slope(t.activation) * max_slope(b.activation) * sympy.Abs(k1 * k2)) \
                * reader.norm(r1) * reader.norm(r2)
            meaning = ("both blocks are positive semi-definite, with opposite signs: lambda^2 is an "
                       "eigenvalue of -P Q with P, Q >= 0, so the eigenvalues of J are imaginary "
                       "(seed 002): conservative, reversible dynamics")
            return _hamiltonian(states, span, lhs, blocks, radius, meaning, weights)
    k_top, k_bottom = t.left.identity_multiple(), b.left.identity_multiple()
    if k_top is not None and k_bottom is not None:
        a1, a2 = t.right.scale(k_top), b.right.scale(k_bottom)
        q = a2.ratio_to(a1.T)
        if q is not None and sign_of(q, reader) == -1:
            radius = sympy.sqrt(max_slope(t.activation) * max_slope(b.activation) * sympy.Abs(q)) * reader.norm(a1)
            meaning = (f"the blocks are D1 A and -D2 A^T with A = {a1.text()}: lambda^2 is an "
                       "eigenvalue of -D1 A D2 A^T, which is <= 0, so the eigenvalues of J are "
                       "imaginary (seed 003): conservative, reversible dynamics")
            return _hamiltonian(states, span, lhs, blocks, radius, meaning, weights)
    return _pair_unknown(states, span, lhs, f"the blocks {blocks} are not of a certified form")


def _hamiltonian(states, span, lhs, blocks, radius, meaning, weights) -> Structure:
    return Structure(
        form="hamiltonian", states=states, order=1, span=span,
        summary=f"{lhs}: Hamiltonian block form ({states[0]} driven by {states[1]}, {states[1]} by "
        f"{states[0]}): J = {blocks}",
        meaning=meaning, spectrum=Spectrum(IMAGINARY, radius=radius), jacobian=blocks,
        weights=tuple(weights), data={"frequency_bound": expr_text(radius)})


def _canonical(reader, states, span, lhs, t, b, blocks) -> Structure | None:
    """dq/dt = a v, dv/dt = -c grad V(q): H = a |v|^2 / 2 + c V(q)."""
    grad, other = (t, b) if t.activation and t.activation.startswith("grad ") else (b, t)
    name = grad.activation[5:]
    k_grad = grad.left.identity_multiple()
    r_grad = grad.right.identity_multiple()
    k_other = other.right.identity_multiple() if other.activation is None else None
    if None in (k_grad, r_grad, k_other) or other.left.identity_multiple() != 1:
        return _pair_unknown(states, span, lhs, f"grad({name}, ...) in a form that is not canonical")
    product = sympy.expand(k_grad * r_grad * k_other)
    if sign_of(product, reader) != -1:
        return _pair_unknown(states, span, lhs, "the signs are not those of a Hamiltonian system")
    hess = sympy.Symbol(f"lambda_max(Hess {name})", positive=True)
    radius = sympy.sqrt(sympy.Abs(product) * hess)
    return Structure(
        form="canonical_hamiltonian", states=states, order=1, span=span,
        summary=f"{lhs}: canonical Hamiltonian form: J = {blocks.replace(f'grad {name}', f'Hess {name}')}",
        meaning=f"the energy |v|^2/2 + {name}(q) (suitably scaled) is conserved (seed 003); the "
        f"eigenvalues of J are imaginary where {name} is convex (Hess {name} >= 0) and real where "
        "it is not",
        spectrum=Spectrum(IMAGINARY, radius=radius, condition=f"where {name} is convex"),
        jacobian=blocks, data={"frequency_bound": expr_text(radius), "requires": f"Hess {name} >= 0"})


def _pair_unknown(states, span, lhs, reason) -> Structure:
    return Structure(
        form="unknown", states=states, order=1, span=span,
        summary=f"{lhs}: structure unknown: {reason}",
        meaning="the Jacobian is not known to the compiler, so there is no stability verdict",
        spectrum=Spectrum(OPAQUE, reason=f"the structure of {lhs} is unknown"),
        data={"reason": reason})
