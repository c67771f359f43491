"""Scheme against spectrum: where each time integrator is stable, and a verdict for a spectrum.

A fixed-step scheme applied to the test equation y' = lambda y multiplies y by R(h lambda) each
step; it is stable when |R(z)| <= 1 for every z = h lambda.  R(z) is derived with sympy from the
stages of the scheme's definition (sciml/schemes/derive.py applies them to y' = lambda y); a
separable pair and a second-order equation are judged by the amplification matrix of the same
stages on y' = w z, z' = -w y (y'' = -w^2 y).  The limits the verdicts use (the real and
imaginary intervals of R's region, the largest half-disc inside it, h w < 2) are the constants of
the definition's `Region`, derived here where a definition leaves one out; the tests re-derive
every one.

A `Spectrum` says where the eigenvalues of the right side's Jacobian lie (`structure.py` finds
it); `verdict(scheme, spectrum)` compares it with the region and answers one of
    STABLE      stable for every h
    BOUNDED     stable for h <= bound (h < bound when `strict`), the bound in the spec's own
                quantities (gamma, norm2(K), max sigma')
    UNSTABLE    unstable for every h
    UNKNOWN     the spectrum is not known, or the scheme has no fixed step.
The analysis is the linearised, frozen-coefficient one of seed 000 (weights that change slowly
in time, sigma monotone): J = diag(sigma') A with sigma' in [0, max sigma'].

A scheme with a matrix option (IMEX, `imex_verdict`) is forward Euler preconditioned by the
implicit part: its step Y_{j+1} = (I + hL)^-1 (Y_j + h L Y_j + h f(Y_j)) has the amplification
M = I + h P^-1 J with P = I + hL (L symmetric positive semi-definite, lambda_min(L) = l >= 0), so
it is judged on J together with l; see there.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from sciml.lowering.mathtext import expr_text
from sciml.schemes.definition import FIRST_ORDER

STABLE, BOUNDED, UNSTABLE, UNKNOWN = "stable", "bounded", "unstable", "unknown"

# Spectrum kinds
IMAGINARY = "imaginary"        # shift + i*beta, |beta| <= radius (shift <= 0 is damping)
NEGATIVE_REAL = "negative_real"  # [shift - radius, shift]
DAMPED = "damped"              # s*(-damping + i*w), |w| <= radius, s in [0, slope]
EXPLICIT = "explicit"          # s*mu for mu in eigenvalues, s in [0, slope]
OSCILLATION = "oscillation"    # y'' = -Omega y, Omega >= 0 with sqrt(|Omega|) <= radius
GROWING = "growing"            # some eigenvalue has Re > 0: the continuous model grows
OPAQUE = "unknown"             # nothing known

@dataclass(frozen=True)
class Spectrum:
    kind: str
    radius: sympy.Expr = sympy.S.Zero
    shift: sympy.Expr = sympy.S.Zero
    damping: sympy.Expr = sympy.S.Zero
    slope: sympy.Expr = sympy.S.One
    eigenvalues: tuple = ()
    reason: str = ""
    condition: str = ""   # where the description holds, in words ("where V is convex")


@dataclass(frozen=True)
class Verdict:
    kind: str
    bound: sympy.Expr | None = None   # the largest stable h, in the spec's quantities
    strict: bool = False              # h < bound (the limit itself is only marginally stable)
    sharp: bool = True                # False: the bound is sufficient, the region is larger
    requires: tuple = ()              # sympy relations that must hold as well (gamma > 0)
    reason: str = ""


# the regions, derived from the stages: regions.py (the verdicts read them; re-exported for the tests)
from sciml.analysis.regions import (derive_disc_bound, derive_half_disc, derive_imaginary_limit,  # noqa: E402,F401
                                    derive_imex_bound, derive_oscillation_limit, derive_real_limit)
from sciml.analysis.regions import (DISC_BOUND, IMEX_BOUND, _a, _b, _l, _r, definition, region_test,  # noqa: E402
                                    region, stability_function, z)

# -- verdicts -----------------------------------------------------------------------------------

def verdict(scheme, spectrum: Spectrum, *, implicit_min=sympy.S.Zero) -> Verdict:
    """`scheme`: a SchemeDefinition or a scheme's name.  `implicit_min`: lambda_min(L) of the
    implicit part of a scheme with a matrix option (0, always a lower bound, when not known);
    the other schemes ignore it."""
    d = definition(scheme)
    common = _common(spectrum)
    if common is not None:
        return common
    if d.adaptive:
        return Verdict(UNKNOWN, reason=f"{d.short} chooses its steps")
    if d.matrix_options:
        return imex_verdict(spectrum, implicit_min)
    if FIRST_ORDER in d.forms:
        if has_disc_region(d):   # R = 1 + z: the disc, in closed form
            return _disc(d, spectrum)
        return _polynomial(d, spectrum)
    return _symplectic(d, spectrum)


def has_disc_region(scheme) -> bool:
    """Whether the scheme's region is the disc |1 + z| <= 1 (R(z) = 1 + z, forward Euler's)."""
    d = definition(scheme)
    return FIRST_ORDER in d.forms and not d.adaptive and not d.matrix_options \
        and sympy.degree(stability_function(d), z) == 1


def _common(spectrum: Spectrum) -> Verdict | None:
    """The verdicts that hold whatever the scheme: a growing model, nothing known, J = 0."""
    kind = spectrum.kind
    if kind == GROWING:
        return Verdict(UNSTABLE, reason="the continuous model grows (an eigenvalue with "
                       "positive real part); a scheme that follows it grows too")
    if kind == OPAQUE:
        return Verdict(UNKNOWN, reason=spectrum.reason)
    if kind in (IMAGINARY, NEGATIVE_REAL, OSCILLATION, DAMPED) and spectrum.radius == 0 \
            and spectrum.shift == 0 and (kind != DAMPED or spectrum.damping == 0):
        return Verdict(STABLE, reason="the Jacobian is 0 (the right side does not depend on the "
                       "state), so every step is the identity on perturbations")
    return None


def _sign(expr) -> int | None:
    """-1, 0, 1, or None when the sign is not determined."""
    expr = sympy.sympify(expr)
    if expr.is_zero:
        return 0
    if expr.is_positive:
        return 1
    if expr.is_negative:
        return -1
    return None


def _disc(d, sp: Spectrum) -> Verdict:
    # |1 + h(-a + i b)|^2 <= 1  <=>  h (a^2 + b^2) <= 2 a   (solved below with sympy)
    if sp.kind == IMAGINARY:
        return _damped_disc(-sp.shift, sp.radius, sympy.S.One, sp)
    if sp.kind == DAMPED:
        return _damped_disc(sp.damping, sp.radius, sp.slope, sp)
    if sp.kind == NEGATIVE_REAL:
        alpha = -sp.shift
        if _sign(alpha) == -1:
            return Verdict(UNSTABLE, reason="every eigenvalue has positive real part")
        bound = _disc_bound(alpha + sp.radius, sympy.S.Zero)
        return Verdict(BOUNDED, bound=bound, requires=_nonneg(alpha))
    if sp.kind == EXPLICIT:
        return _explicit(d, sp, _disc_bound, sharp=True)
    return Verdict(UNKNOWN, reason=f"{d.short} integrates first-order equations")


def _disc_bound(a, b):
    """The largest h with |1 + h(-a + i b)| <= 1, for a > 0."""
    return sympy.factor(DISC_BOUND.xreplace({_a: a, _b: b}))


def _damped_disc(alpha, omega, slope, sp: Spectrum) -> Verdict:
    """Eigenvalues s(-alpha + i w), |w| <= omega, s in [0, slope] under forward Euler."""
    sign_alpha, sign_omega = _sign(alpha), _sign(omega)
    if sign_alpha == 0 and sign_omega != 0:
        return Verdict(UNSTABLE, reason="its region |1 + z| <= 1 meets the imaginary axis only at "
                       "0, so every imaginary eigenvalue is amplified")
    if sign_alpha == -1:
        return Verdict(UNSTABLE, reason="negative damping: the eigenvalues have positive real part")
    bound = DISC_BOUND.xreplace({_a: alpha, _b: omega}) / slope
    return Verdict(BOUNDED, bound=bound, requires=_positive(alpha))


def _positive(expr):
    """() when expr > 0 is known, else the condition itself, a positive factor divided out."""
    if _sign(expr) == 1:
        return ()
    coeff, rest = sympy.factor(expr).as_coeff_Mul()
    if coeff.is_negative:
        return (sympy.StrictLessThan(rest, 0),)
    return (sympy.StrictGreaterThan(rest, 0),)


def _nonneg(expr):
    if _sign(expr) in (0, 1):
        return ()
    coeff, rest = sympy.factor(expr).as_coeff_Mul()
    if coeff.is_negative:
        return (sympy.LessThan(rest, 0),)
    return (sympy.GreaterThan(rest, 0),)


def _polynomial(d, sp: Spectrum) -> Verdict:
    """A one-step scheme whose region is R's: its imaginary and real intervals, and inside it a
    half-disc (a sufficient bound where the eigenvalues are damped)."""
    limits = region(d)
    if sp.kind == IMAGINARY and _sign(sp.shift) == 0:
        return Verdict(BOUNDED, bound=limits.imaginary_limit / sp.radius)
    if sp.kind == IMAGINARY:
        alpha = -sp.shift
        if _sign(alpha) == -1:
            return Verdict(UNSTABLE, reason="negative damping: the eigenvalues have positive real part")
        return Verdict(BOUNDED, bound=limits.half_disc / sympy.sqrt(alpha**2 + sp.radius**2),
                       sharp=False, requires=_nonneg(alpha))
    if sp.kind == NEGATIVE_REAL:
        alpha = -sp.shift
        if _sign(alpha) == -1:
            return Verdict(UNSTABLE, reason="every eigenvalue has positive real part")
        return Verdict(BOUNDED, bound=limits.real_limit / (alpha + sp.radius), requires=_nonneg(alpha))
    if sp.kind == DAMPED:
        if _sign(sp.damping) == 0:
            return Verdict(BOUNDED, bound=limits.imaginary_limit / (sp.slope * sp.radius))
        if _sign(sp.damping) == -1:
            return Verdict(UNSTABLE, reason="negative damping: the eigenvalues have positive real part")
        return Verdict(BOUNDED, bound=limits.half_disc / (sp.slope * sympy.sqrt(sp.damping**2 + sp.radius**2)),
                       sharp=False, requires=_nonneg(sp.damping))
    if sp.kind == EXPLICIT:
        return _explicit(d, sp, None, sharp=False)
    return Verdict(UNKNOWN, reason=f"{d.short} integrates first-order equations")


def _symplectic(d, sp: Spectrum) -> Verdict:
    if sp.kind in (OSCILLATION,) or (sp.kind == IMAGINARY and _sign(sp.shift) == 0):
        return Verdict(BOUNDED, bound=region(d).oscillation_limit / sp.radius, strict=True)
    return Verdict(UNKNOWN, reason=f"{d.short} is analysed on imaginary (oscillatory) spectra only")


def _explicit(d, sp: Spectrum, closed_form, sharp: bool) -> Verdict:
    """Eigenvalues s*mu, s in [0, slope], mu given (numbers or expressions in the spec's scalars)."""
    bounds, requires, seen = [], [], set()
    for mu in sp.eigenvalues:
        if mu == 0:
            continue
        a, b = -sympy.re(mu), sympy.im(mu)
        key = (a, sympy.expand(b**2))        # a conjugate pair has one bound
        if key in seen:
            continue
        seen.add(key)
        sa = _sign(a)
        if sa == -1 or (sa == 0 and _sign(b) not in (0, None)):
            return Verdict(UNSTABLE, reason=f"the eigenvalue {expr_text(mu)} is in its region for "
                           "no h > 0")
        if closed_form is not None:
            bound = closed_form(a, b) / sp.slope
        elif mu.is_number:
            bound = sympy.Float(_ray_limit(d, complex(mu) * float(sp.slope)), 6)
        else:
            bound = region(d).half_disc / (sp.slope * sympy.sqrt(sympy.factor(a**2 + b**2)))
        bounds.append(bound)
        requires.extend(_positive(a) if sa is None else ())
    if not bounds:
        return Verdict(STABLE, reason="every eigenvalue is 0")
    unique = list(dict.fromkeys(bounds))
    bound = unique[0] if len(unique) == 1 else sympy.Min(*unique)
    return Verdict(BOUNDED, bound=bound, sharp=sharp or all(b.is_number for b in unique),
                   requires=tuple(dict.fromkeys(requires)))


def _ray_limit(d, mu: complex) -> float:
    """The largest h with h*s*mu inside the region for every s in [0, 1] (sampled rays)."""
    inside = region_test(d)
    if mu == 0:
        return float("inf")
    lo, hi = 0.0, 10.0 / abs(mu)
    for _ in range(60):
        mid = (lo + hi) / 2
        if all(inside(mid * mu * k / 200) for k in range(1, 201)):
            lo = mid
        else:
            hi = mid
    return lo


# -- IMEX: forward Euler preconditioned by (I + hL)^-1 ------------------------------------------

def imex_verdict(sp: Spectrum, smallest=sympy.S.Zero) -> Verdict:
    """The explicit part of Y_{j+1} = (I + hL)^-1 (Y_j + h L Y_j + h f(Y_j)), L symmetric
    positive semi-definite with lambda_min(L) = l = `smallest` (0 is always a lower bound).

    Linearised, the step multiplies a perturbation by M = P^-1 (P + h J) = I + h P^-1 J with
    P = I + hL, symmetric positive definite with eigenvalues >= 1 + h l.  M is similar to
    P^(1/2) M P^(-1/2) = I + h P^(-1/2) J P^(-1/2), and congruence by P^(-1/2) keeps J's kind:

    * J symmetric, eigenvalues in [-rho, -alpha] (NEGATIVE_REAL, alpha = -shift >= 0, rho =
      alpha + radius; the parabolic -K^T diag(sigma') K, any sigma' >= 0): T = P^(-1/2) (-J)
      P^(-1/2) is symmetric positive semi-definite with lambda_max(T) <= norm2(P^-1) rho =
      rho/(1 + h l), so M's eigenvalues lie in [1 - h rho/(1 + h l), 1] and the step does not
      grow in the P-norm |x|_P = |P^(1/2) x| when h rho <= 2 (1 + h l) (`derive_imex_bound`
      solves it with sympy): for every h when rho <= 2 l, else for h <= 2/(rho - 2 l).  The
      bound is sharp for the description: J = -rho v v^T with v L's eigenvector for l gives
      M v = (1 - h rho/(1 + h l)) v, which is < -1 beyond it.  Since P does not depend on the
      step, the P-norm contraction holds at every step whatever J (and the weights) do there.
      With l = 0 (a Laplacian with periodic or Neumann ends) this is forward Euler's 2/rho:
      L damps only the modes outside its kernel.  When the sign of rho - 2 l is not known the
      bound is Piecewise((2/(rho - 2 l), rho > 2 l), (oo, True)).
    * J = s A, A antisymmetric, s >= 0 (IMAGINARY, no shift: sigma((K - K^T) Y + b) at a common
      slope sigma' = s, exactly so in the linear regime K Y + b = 0 where tanh' = 1):
      P^(-1/2) A P^(-1/2) is antisymmetric and not 0 (congruent to A), so M has eigenvalues
      1 + i h mu with mu real, not all 0, and |1 + i h mu| > 1: unstable for every h, whatever L.
    * anything else (damped antisymmetric, explicit matrices, opaque networks): P^-1 J mixes
      J's parts with L's eigenvectors and no bound is proved (UNKNOWN).
    """
    kind = sp.kind
    common = _common(sp)                                # J = 0: M = I
    if common is not None:
        return common
    l = sympy.sympify(smallest)
    if kind == NEGATIVE_REAL:
        alpha = -sp.shift
        if _sign(alpha) == -1:
            return Verdict(UNSTABLE, reason="every eigenvalue has positive real part")
        rho = sympy.expand(alpha + sp.radius)
        requires = _nonneg(alpha)
        where = ("J is symmetric negative semi-definite with eigenvalues >= -" + _paren(rho))
        if not requires and _sign(rho - 2 * l) in (-1, 0):
            return Verdict(STABLE, reason=f"{where} and {expr_text(rho)} <= 2*lambda_min(L) = "
                           f"{expr_text(2 * l)}, so (I + h*L)^-1 J keeps h*lambda in [-2, 0] "
                           "for every h")
        bound = IMEX_BOUND.xreplace({_r: rho, _l: l})
        if _sign(rho - 2 * l) != 1 and _sign(sp.radius - 2 * l) != 1:
            bound = sympy.Piecewise((bound, sympy.StrictGreaterThan(rho, 2 * l)), (sympy.oo, True))
        return Verdict(BOUNDED, bound=bound, requires=requires,
                       reason=f"{where}: stable while h*{_paren(rho)} <= 2*(1 + h*lambda_min(L))")
    if kind == IMAGINARY and _sign(sp.shift) == 0:
        return Verdict(UNSTABLE, reason="where sigma' is the same in every component (as where "
                       "K Y + b = 0), (I + h*L)^-1 J is similar to (I + h*L)^-1/2 J (I + h*L)^-1/2, "
                       "which is antisymmetric and not 0, so the step multiplies some mode by "
                       "1 + i*h*mu with |1 + i*h*mu| > 1; L only rescales the imaginary eigenvalues")
    if kind in (IMAGINARY, DAMPED):
        return Verdict(UNKNOWN, reason="f's Jacobian J is damped antisymmetric; (I + h*L)^-1 J "
                       "mixes its damping and its rotation with L's eigenvectors, and no bound is "
                       "proved for that")
    if kind == EXPLICIT:
        return Verdict(UNKNOWN, reason="f's Jacobian J is an explicit matrix, not certified "
                       "symmetric negative semi-definite; the eigenvalues of (I + h*L)^-1 J are not "
                       "J's, and no bound is derived for them")
    return Verdict(UNKNOWN, reason="IMEX integrates first-order equations")


def _paren(expr) -> str:
    text = expr_text(expr)
    return f"({text})" if (" + " in text or " - " in text) else text
