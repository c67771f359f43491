"""The time integrator against the spectrum of the semi-discrete operator (grid_operator.py):
the step bounds of the method of lines, in closed form, symbolic in dx and the spec's quantities.

Each space axis i contributes the ellipse lambda_i(phi) = -A_i (1 - cos phi) + i B_i sin phi, and
the operator's eigenvalues are the sums over the axes (phi_i independent).  With w = 1 - cos phi:

* forward Euler, |1 + h lambda| <= 1.  One axis: h <= -2 Re(lambda)/|lambda|^2 = 2A/(A^2 w +
  B^2 (2 - w)) for w in (0, 2], smallest at an end: h <= min(1/A, A/B^2) (sharp).  Diffusion:
  A = 2D/dx^2, h <= dx^2/(2D); central transport with diffusion adds h <= 2D/b^2; central
  transport alone (A = 0) is unstable for every h; upwind has A = |B|: h <= 1/A, dx/|b| without
  diffusion, dx^2/(2D + |b| dx) with it.  Several axes, every one with A_i >= |B_i| (diffusion,
  upwind): the step is a convex combination of the neighbours' values for h <= 1/sum A_i, and at
  phi_i = pi it is 1 - 2h sum A_i, so h <= 1/sum A_i is sharp (dx^2/(4D) for D lap(u) on a
  square grid); otherwise, by Cauchy-Schwarz, |lambda|^2 <= 2 (sum A_i + sum B_i^2/A_i)
  (-Re lambda), so h <= 1/(sum A_i + sum B_i^2/A_i) suffices.
* a polynomial region (Runge-Kutta 4): real spectra [-2 sum A_i, 0]: h <= real_limit/(2 sum A_i) (2.785);
  imaginary ones up to sum |B_i|: h <= imaginary_limit/sum |B_i| (2 sqrt 2); else the half-disc
  of radius half_disc (2.6) around |lambda| <= sqrt((2 sum A)^2 + (sum |B|)^2), sufficient; with
  numbers, the ellipses are sampled and the bound found by bisection (sharp to the sampling).
* IMEX, the diffusion implicit: a mode is multiplied by (1 + h lambda_E)/(1 + h mu), mu = A_D w.
  Central transport (lambda_E = i B sin phi): |1 + h lambda_E|^2 <= (1 + h mu)^2 reads
  h B^2 (2 - w) <= 2 A_D + h A_D^2 w, smallest at w -> 0: h <= A_D/B^2 = 2D/b^2 (sharp in 1-D,
  and h <= 1/sum(B_i^2/A_D,i) with several axes); unstable without diffusion.  Otherwise
  |1 + h lambda_E| <= 1 suffices (1 + h mu >= 1): upwind h <= dx/|b|.  No diffusion bound.
* the two-step recursion for second order in t, on dt(dt(u)) = c^2 d(u, x, x): y'' = lambda y with lambda in [-2 sum A_i, 0] is
  stable for h sqrt(-lambda) < 2, so h < 2/sqrt(2 sum A_i) = dx/|c| (dx/(sqrt(2) |c|) on a square
  grid); first derivatives make lambda complex, and no verdict is given.
"""
from __future__ import annotations

import itertools
import math

import sympy

from sciml.analysis.grid_operator import GridOperator
from sciml.analysis.regions import definition, region, stability_function, z
from sciml.analysis.stability import (BOUNDED, STABLE, UNKNOWN, UNSTABLE, Verdict, _nonneg,
                                      _sign, has_disc_region)
from sciml.schemes.definition import FIRST_ORDER, SECOND_ORDER


def verdict(op: GridOperator, scheme, upwind: bool, values: dict) -> Verdict:
    """`values`: {symbol: number} for the constants and the spacings, to decide signs and,
    where every quantity is a number, to find a sharp bound numerically."""
    d = definition(scheme)
    if op.opaque:
        return Verdict(UNKNOWN, reason=f"the grid operator is not read: {op.opaque}")
    if d.adaptive:
        return Verdict(UNKNOWN, reason=f"{d.short} chooses its steps")
    if op.order == 2:
        if SECOND_ORDER not in d.forms:
            return Verdict(UNKNOWN, reason=f"{d.short} integrates first-order equations, and "
                           f"dt(dt({op.state})) is of second order")
        return _oscillation(d, op, values)
    if FIRST_ORDER not in d.forms:
        return Verdict(UNKNOWN, reason=f"{d.short} does not integrate a first-order equation alone")
    growing = _growing(op, upwind, values)
    if growing is not None:
        return growing
    requires = _requires(op, values)
    if all(_zero(a.dissipation(upwind), values) and _zero(a.transport(), values) for a in op.axes):
        return Verdict(STABLE, reason="no term differentiates the state in space (with this spec's "
                       "constants), so the grid adds no eigenvalue")
    if d.matrix_options:
        v = _imex(d, op, upwind, values)
    elif has_disc_region(d):
        v = _euler(op, upwind, values)
    else:
        v = _polynomial(d, op, upwind, values)
    return Verdict(v.kind, v.bound, v.strict, v.sharp, v.requires + requires, v.reason)


def _growing(op, upwind, values):
    for axis in op.axes:
        for part, what in ((2 * axis.diffusion, "the diffusion coefficient"),
                           (sum((k1 + k3 for k1, _, k3 in axis.kernels), sympy.S.Zero),
                            "the kernel's K1 + K3")):
            if _sign(sympy.sympify(part).xreplace(values)) == -1:
                return Verdict(UNSTABLE, reason=f"{what} along {axis.coordinate} is negative: the "
                               "shortest waves grow, faster the finer the grid (backward diffusion)")
    return None


def _requires(op, values):
    """D >= 0 (and K1 + K3 >= 0) where the sign is not known from constants."""
    out = []
    for axis in op.axes:
        for part in (axis.diffusion, sum((k1 + k3 for k1, _, k3 in axis.kernels), sympy.S.Zero)):
            if _sign(sympy.sympify(part).xreplace(values)) is None:
                out += _nonneg(part)
    return tuple(dict.fromkeys(out))


def _zero(expr, values) -> bool:
    return bool(sympy.sympify(expr).xreplace(values).is_zero)


def _euler(op: GridOperator, upwind: bool, values) -> Verdict:
    A = [a.dissipation(upwind) for a in op.axes]
    B = [a.transport() for a in op.axes]
    total = sympy.Add(*A)
    moving = [(a, b) for a, b in zip(A, B) if b != 0]
    if not moving:
        return _positive_bound(1 / total)
    if any(_zero(a, values) for a, _ in moving):
        return Verdict(UNSTABLE, reason="forward Euler's region |1 + z| <= 1 meets the imaginary "
                       "axis only at 0, so every such mode grows")
    monotone = all(not a.kernels and (upwind or a.speed == 0) for a in op.axes)
    if monotone:
        return _positive_bound(1 / total)
    if len(op.axes) == 1:
        ((a, b),) = moving
        return _positive_bound(sympy.Min(1 / a, a / b**2))
    return Verdict(BOUNDED, bound=_simplify(1 / (total + sympy.Add(*(b**2 / a for a, b in moving)))),
                   sharp=False)


def _positive_bound(bound) -> Verdict:
    return Verdict(BOUNDED, bound=_simplify(bound))


def _simplify(bound):
    if isinstance(bound, sympy.Min):
        return sympy.Min(*(sympy.factor(a) for a in bound.args))
    return sympy.factor(bound)


def _polynomial(d, op: GridOperator, upwind: bool, values) -> Verdict:
    limits = region(d)
    A = [a.dissipation(upwind) for a in op.axes]
    B = [a.transport() for a in op.axes]
    real, imaginary = sympy.Add(*A), sympy.Add(*B)
    if imaginary == 0:   # kept as 2.785 * (the interval's inverse length), as the docs write it
        limit = sympy.Float(float(limits.real_limit), 4)
        return Verdict(BOUNDED, bound=sympy.Mul(limit, sympy.factor(1 / (2 * real)), evaluate=False))
    if _zero(real, values):
        return _positive_bound(limits.imaginary_limit / imaginary)
    number = _numeric(d, op, upwind, values, implicit=False)
    if number is not None:
        return Verdict(BOUNDED, bound=number, reason=SAMPLED)
    return Verdict(BOUNDED, bound=limits.half_disc / sympy.sqrt(4 * real**2 + imaginary**2), sharp=False)


def _imex(d, op: GridOperator, upwind: bool, values) -> Verdict:
    implicit = [a.dissipation(upwind, implicit=True) for a in op.axes]
    explicit = [a.dissipation(upwind) - i for a, i in zip(op.axes, implicit)]
    B = [a.transport() for a in op.axes]
    if all(b == 0 for b in B) and all(_zero(e, values) for e in explicit):
        return Verdict(STABLE, reason="the diffusion is implicit, and no explicit term "
                       "differentiates the state")
    central = all(not a.kernels for a in op.axes) and not upwind
    if central:
        moving = [(i, b) for i, b in zip(implicit, B) if b != 0]
        if any(_zero(i, values) for i, _ in moving):
            return Verdict(UNSTABLE, reason="IMEX's explicit part is forward Euler there, whose "
                           "region meets the imaginary axis only at 0, and no implicit diffusion "
                           "damps those modes")
        return Verdict(BOUNDED, bound=_simplify(1 / sympy.Add(*(b**2 / i for i, b in moving))),
                       sharp=len(op.axes) == 1)
    number = _numeric(d, op, upwind, values, implicit=True)
    if number is not None:
        return Verdict(BOUNDED, bound=number, reason=SAMPLED)
    alone = _euler_part(op, upwind, explicit, B)
    if alone.kind == BOUNDED:
        return Verdict(BOUNDED, bound=alone.bound, sharp=False,
                       reason="the explicit part's own bound: the implicit diffusion only widens it")
    return Verdict(UNKNOWN, reason="the explicit part of the IMEX step has no bound of its own")


def _euler_part(op, upwind, A, B) -> Verdict:
    """Forward Euler on the explicit stencils alone (dissipation A, transport B per axis)."""
    moving = [(a, b) for a, b in zip(A, B) if b != 0]
    if any(a.is_zero for a, _ in moving) or not moving:
        return Verdict(UNKNOWN)
    if all(not a.kernels for a in op.axes) and upwind:
        return _positive_bound(1 / sympy.Add(*A))
    if len(A) == 1:
        ((a, b),) = moving
        return _positive_bound(sympy.Min(1 / a, a / b**2))
    return Verdict(UNKNOWN)


def _oscillation(d, op: GridOperator, values) -> Verdict:
    if op.has_transport:
        return Verdict(UNKNOWN, reason=f"first derivatives make the eigenvalues of dt(dt({op.state})) "
                       f"= L u complex; {d.short} is judged on waves, real L <= 0")
    if not op.has_diffusion and not any(a.kernels for a in op.axes):
        return Verdict(STABLE, reason="no term differentiates the state in space")
    limit = region(d).oscillation_limit
    growing = _growing(op, False, values)
    if growing is not None:
        return growing
    real = sympy.Add(*(a.dissipation(False) for a in op.axes))
    return Verdict(BOUNDED, bound=_simplify(limit / sympy.sqrt(2 * real)), strict=True,
                   requires=_requires(op, values))


# -- numbers: the sampled spectrum against the region -----------------------------------------

SAMPLES_1D, SAMPLES_2D = 721, 91
SAMPLED = "found on the sampled spectrum"


def _numeric(d, op: GridOperator, upwind: bool, values, implicit: bool):
    """The largest h (6 digits) with every sampled mode stable, when every A_i, B_i is a number;
    None otherwise.  B's sign is kept where it is known (with a kernel beside the transport)."""
    parts = []
    for axis in op.axes:
        total = axis.dissipation(upwind)
        diffusion = axis.dissipation(upwind, implicit=True) if implicit else sympy.S.Zero
        dx = axis.spacing.symbol
        signed = axis.speed / dx + sum((k3 - k1 for k1, _, k3 in axis.kernels), sympy.S.Zero)
        numbers = [sympy.sympify(e).xreplace(values) for e in (total - diffusion, diffusion, signed)]
        if not all(n.is_number and n.is_real for n in numbers):
            return None
        parts.append(tuple(float(n) for n in numbers))
    samples = SAMPLES_1D if len(parts) == 1 else SAMPLES_2D
    phis = [2 * math.pi * k / (samples - 1) for k in range(samples)]
    modes = []
    for point in itertools.product(phis, repeat=len(parts)):
        explicit = sum(complex(-a * (1 - math.cos(p)), b * math.sin(p)) for (a, _, b), p in zip(parts, point))
        damping = sum(i * (1 - math.cos(p)) for (_, i, _), p in zip(parts, point))
        modes.append((explicit, damping))
    if all(abs(e) < 1e-300 for e, _ in modes):
        return None
    amplification = _amplification(d, implicit)

    def stable(h):
        return all(abs(amplification(h, e, m)) <= 1 + 1e-12 for e, m in modes)
    scale = max(abs(e) + m for e, m in modes)
    lo, hi = 0.0, 64.0 / scale
    if stable(hi):
        return None
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if stable(mid) else (lo, mid)
    return sympy.Float(f"{lo:.6g}") if lo > 0 else sympy.S.Zero


def _amplification(d, implicit: bool):
    if implicit:
        return lambda h, e, m: (1 + h * e) / (1 + h * m)
    coefficients = [complex(c) for c in sympy.Poly(stability_function(d), z).all_coeffs()]

    def amplify(h, e, m):
        total = 0j
        for c in coefficients:
            total = total * (h * e) + c
        return total
    return amplify

