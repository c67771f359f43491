"""Eigenvalues of explicit matrices (literals and constants): exact where sympy finds a short
closed form, numeric otherwise, none rather than wrong ones."""
from __future__ import annotations

import mpmath
import sympy


def eigenvalues(value: sympy.ImmutableMatrix):
    """The eigenvalues with multiplicity, or None (symbolic beyond 3x3, numeric beyond 8x8)."""
    n = value.shape[0]
    lam = sympy.Symbol("lambda")
    if value.free_symbols:
        if n > 3:
            return None
        # no Cardano: the cubic formula of a symbolic 3x3 matrix is pages long and takes sympy
        # minutes to factor; a characteristic polynomial that factors (a circulant, a block
        # form) still gives its roots
        roots = sympy.roots(sympy.Poly(value.charpoly(lam).as_expr(), lam), cubics=False, quartics=False)
        if sum(roots.values()) != n:
            return None
        return tuple(sympy.expand(r) for r, m in sorted(roots.items(), key=lambda p: sympy.default_sort_key(p[0]))
                     for _ in range(m))
    if n > 8 or any(not v.is_finite for v in value):
        return None
    try:
        poly = sympy.Poly(value.charpoly(lam).as_expr(), lam)
        if n <= 2 or all(v.is_Rational and _small(v) for v in value):   # closed forms
            roots = sympy.roots(poly)
            if sum(roots.values()) == n and all(r.is_number for r in roots):
                return tuple(r for r, m in sorted(roots.items(), key=lambda p: sympy.default_sort_key(p[0]))
                             for _ in range(m))
        return tuple(sympy.Float(r, 6) if r.is_real else r for r in poly.nroots(n=6))
    except (mpmath.libmp.libhyper.NoConvergence, sympy.polys.polyerrors.PolynomialError,
            ArithmeticError, ValueError):
        return None   # badly scaled numbers: no eigenvalues rather than wrong ones


def _small(v: sympy.Rational) -> bool:
    """A rational of at most 64 bits above and below: the closed-form roots of a characteristic
    polynomial with 300-digit coefficients take sympy seconds, and print as pages."""
    return max(int(v.p).bit_length(), int(v.q).bit_length()) <= 64


def smallest_lower_bound(value: sympy.ImmutableMatrix) -> sympy.Expr:
    """lambda_min of a symmetric positive semi-definite matrix, or a number a little below it:
    exact where it has rational entries and sympy finds a short closed form; else from floating
    point (relative error ~ 1e-16 norm2/lambda_min), lowered by 1e-5 relative and taken as 0 below
    1e-6 norm2."""
    if all(v.is_Rational for v in value):
        eigen = eigenvalues(value)
        if eigen is not None and not any(e.has(sympy.Float) for e in eigen):
            low = min(eigen, key=lambda e: float(sympy.re(e)))
            if low.is_real and not low.has(sympy.I) and sympy.count_ops(low) <= 6:
                return low if low.is_nonnegative else sympy.S.Zero
    import numpy as np  # a symmetric eigenvalue problem in floating point, as lowering's check
    matrix = np.array(value.tolist(), dtype=float)
    if not np.all(np.isfinite(matrix)):
        return sympy.S.Zero
    numeric = np.linalg.eigvalsh(matrix)
    top, low = float(np.abs(numeric).max()), float(numeric.min())
    if not low > 1e-6 * top:
        return sympy.S.Zero
    return sympy.Float(float(f"{low * (1 - 1e-5):.6g}"))
