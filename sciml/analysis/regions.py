"""The schemes' stability regions, derived from their stages (sciml/schemes/derive.py evaluates
the stages on the test equation y' = lambda y): R(z), its real and imaginary limits, the largest
half-disc inside, the oscillation limit of the symplectic schemes, IMEX's bound.  Read by the
verdicts of stability.py."""
from __future__ import annotations

import cmath
import math
from functools import lru_cache

import sympy

from sciml.schemes import derive, registry
from sciml.schemes.definition import FIRST_ORDER, SECOND_ORDER, SEPARABLE_PAIR, Region, SchemeDefinition

z = derive.z

# -- the schemes' stability regions, derived from their stages ----------------------------------
# The compiler uses the constants of each definition's Region where it gives them (a derivation
# costs sympy a few hundred milliseconds); tests/test_analysis_stability.py checks that they
# equal what the derivations below give.

_a, _b = sympy.symbols("a b", positive=True)
DISC_BOUND = 2 * _a / (_a**2 + _b**2)             # |1 + h(-a + ib)| <= 1 for h <= this
_r, _l = sympy.Symbol("r", positive=True), sympy.Symbol("l", nonnegative=True)
IMEX_BOUND = 2 / (_r - 2 * _l)                     # h r <= 2 (1 + h l), for r > 2 l


def definition(scheme) -> SchemeDefinition:
    """A SchemeDefinition, or the definition of the scheme of that name (its first form)."""
    return scheme if isinstance(scheme, SchemeDefinition) else registry.lookup(scheme)


def stability_function(scheme) -> sympy.Expr:
    """R(z) with y_{j+1} = R(h lambda) y_j for y' = lambda y, from the scheme's stages."""
    return derive.stability_function(definition(scheme))


def derive_real_limit(scheme) -> sympy.Expr:
    """x* > 0 with |R(-x)| <= 1 exactly for x in [0, x*]: the negative real interval."""
    x = sympy.Symbol("x", real=True)
    R = stability_function(scheme).subs(z, -x)
    candidates = []
    for side in (1, -1):            # |R| = 1 at the interval's end: R = 1 or R = -1
        for root in sympy.Poly(sympy.expand(R - side), x).real_roots():
            if root.is_positive:
                candidates.append(root)
    return min(candidates, key=float)


def derive_imaginary_limit(scheme) -> sympy.Expr:
    """y* >= 0 with |R(i y)| <= 1 exactly for |y| <= y* (0: only the origin)."""
    y = sympy.Symbol("y", real=True)
    re, im = sympy.expand(stability_function(scheme).subs(z, sympy.I * y)).as_real_imag()
    excess = sympy.Poly(sympy.expand(re**2 + im**2 - 1), y)   # |R(iy)|^2 - 1
    positive = sorted((r for r in excess.real_roots() if r.is_positive), key=float)
    if not positive:
        return sympy.oo if excess.eval(sympy.Rational(1, 10**6)) <= 0 else sympy.S.Zero
    return positive[0] if excess.eval(positive[0] / 2) <= 0 else sympy.S.Zero


def derive_half_disc(scheme) -> sympy.Expr:
    """The radius of the largest half-disc {|z| <= r, Re z <= 0} inside the region, rounded down
    to one decimal, on a polar grid (0 where the region meets the imaginary axis only at 0)."""
    inside = region_test(scheme)
    rays = [cmath.exp(1j * (math.pi / 2 + math.pi * k / 360)) for k in range(361)]

    def fits(r):
        return all(inside(r * s * ray) for ray in rays for s in (0.25, 0.5, 0.75, 1.0))
    lo, hi = 0.0, 16.0
    for _ in range(40):
        lo, hi = ((lo + hi) / 2, hi) if fits((lo + hi) / 2) else (lo, (lo + hi) / 2)
    return sympy.Rational(math.floor(lo * 10), 10)


def derive_oscillation_limit(scheme) -> sympy.Expr:
    """w* with the scheme stable exactly for 0 < h w < w* on y' = w z, z' = -w y (a separable
    pair) or y'' = -w^2 y (a second-order equation): the amplification matrix of its step has
    determinant 1, and a negative discriminant of its characteristic polynomial puts both roots,
    distinct, on the unit circle."""
    d = definition(scheme)
    w, xi = sympy.Symbol("w", positive=True), sympy.Symbol("xi")
    rates = (("y", -w**2),) if d.forms == (SECOND_ORDER,) else (("y", w), ("z", -w))
    A = derive.amplification_matrix(d, rates).subs(derive.h, 1)
    assert sympy.expand(A.det()) == 1
    char = A.charpoly(xi).as_expr()
    discriminant = sympy.Poly(sympy.discriminant(char, xi), w)
    roots = sorted((r for r in discriminant.real_roots() if r.is_positive), key=float)
    assert discriminant.eval(roots[0] / 2) < 0
    return roots[0]


def derive_imex_bound(scheme) -> tuple[sympy.Expr, sympy.Expr]:
    """(h*, c) for the IMEX step on a symmetric Jacobian with eigenvalues in [-r, 0] and
    lambda_min(L) = l: the worst mode is L's eigenvector for l with J's eigenvalue -r, multiplied
    each step by m(h) = R(-h r) with L = l (from the stages: 1 - h r/(1 + h l) <= 1);
    m >= -1 <=> (m + 1)(1 + h l) = 2 + c h >= 0 with c = 2 l - r, so every h is stable when
    c >= 0 and h <= h* = 2/(r - 2 l) otherwise."""
    h = derive.h
    (matrix,) = definition(scheme).matrix_options
    m = derive.stability_function(definition(scheme), **{matrix: _l}).subs(z, -h * _r)
    numerator, denominator = sympy.fraction(sympy.together(m + 1))
    assert sympy.expand(denominator - (1 + h * _l)) == 0
    poly = sympy.Poly(sympy.expand(numerator), h)
    assert poly.degree() == 1 and poly.coeff_monomial(1) == 2
    (root,) = sympy.solve(poly.as_expr(), h)
    return sympy.factor(root), poly.coeff_monomial(h)


def derive_disc_bound(scheme) -> sympy.Expr:
    """For R(z) = 1 + z: |R(h(-a + i b))|^2 - 1 = h (h (a^2 + b^2) - 2 a), its positive root in h."""
    h = sympy.Symbol("h", positive=True)
    R = stability_function(scheme).subs(z, h * (-_a + sympy.I * _b))
    re, im = sympy.expand(R).as_real_imag()
    roots = sympy.roots(sympy.Poly(sympy.expand(re**2 + im**2 - 1), h))
    (root,) = [r for r in roots if r != 0]
    return sympy.factor(root)


@lru_cache(maxsize=None)
def region(scheme) -> Region:
    """The definition's Region, every constant it leaves out derived."""
    d = definition(scheme)
    given = d.stability
    if FIRST_ORDER in d.forms and not d.matrix_options:
        return Region(real_limit=_or(given.real_limit, derive_real_limit, d),
                      imaginary_limit=_or(given.imaginary_limit, derive_imaginary_limit, d),
                      half_disc=_or(given.half_disc, derive_half_disc, d))
    if d.forms in ((SEPARABLE_PAIR,), (SECOND_ORDER,)):
        return Region(oscillation_limit=_or(given.oscillation_limit, derive_oscillation_limit, d))
    return given


def _or(value, derivation, d):
    return value if value is not None else derivation(d)


@lru_cache(maxsize=None)
def region_test(scheme):
    """inside(z): |R(z)| <= 1 (to 1e-12), R evaluated in floating point."""
    coefficients = [complex(c) for c in sympy.Poly(stability_function(scheme), z).all_coeffs()]

    def inside(value: complex) -> bool:
        total = 0j
        for c in coefficients:
            total = total * value + c
        return abs(total) <= 1 + 1e-12
    return inside
