"""Scheme against spectrum: where each time integrator is stable, and a verdict for a spectrum.

A fixed-step scheme applied to the test equation y' = lambda y multiplies y by R(h lambda) each
step; it is stable when |R(z)| <= 1 for every z = h lambda.  The stability functions below are
derived with sympy from the schemes' own stages (forward Euler, classical RK4) or from the
two-step recurrence (leapfrog, Stormer-Verlet on y'' = -w^2 y), not typed in, and the limits that
the verdicts use (RK4's real and imaginary intervals, the leapfrog/Verlet limit h w < 2) are
computed from them once per process.

A `Spectrum` says where the eigenvalues of the right side's Jacobian lie (`structure.py` finds
it); `verdict(scheme, spectrum)` compares it with the region and answers one of
    STABLE      stable for every h
    BOUNDED     stable for h <= bound (h < bound when `strict`), the bound in the spec's own
                quantities (gamma, norm2(K), max sigma')
    UNSTABLE    unstable for every h
    UNKNOWN     the spectrum is not known, or the scheme has no fixed step.
The analysis is the linearised, frozen-coefficient one of seed 000 (weights that change slowly
in time, sigma monotone): J = diag(sigma') A with sigma' in [0, max sigma'].

IMEX (`imex_verdict`) is forward Euler preconditioned by the implicit part: its step
Y_{j+1} = (I + hL)^-1 (Y_j + h L Y_j + h f(Y_j)) has the amplification M = I + h P^-1 J with
P = I + hL (L symmetric positive semi-definite, lambda_min(L) = l >= 0), so it is judged on J
together with l; see there.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from sciml.lowering.mathtext import expr_text

STABLE, BOUNDED, UNSTABLE, UNKNOWN = "stable", "bounded", "unstable", "unknown"

# Spectrum kinds
IMAGINARY = "imaginary"        # shift + i*beta, |beta| <= radius (shift <= 0 is damping)
NEGATIVE_REAL = "negative_real"  # [shift - radius, shift]
DAMPED = "damped"              # s*(-damping + i*w), |w| <= radius, s in [0, slope]
EXPLICIT = "explicit"          # s*mu for mu in eigenvalues, s in [0, slope]
OSCILLATION = "oscillation"    # y'' = -Omega y, Omega >= 0 with sqrt(|Omega|) <= radius
GROWING = "growing"            # some eigenvalue has Re > 0: the continuous model grows
OPAQUE = "unknown"             # nothing known

z = sympy.Symbol("z")
ORDER = {"euler": 1, "rk4": 4, "verlet": 2, "leapfrog": 2, "imex": 1, "dopri5": 5}
NAMES = {"euler": "forward Euler", "rk4": "RK4", "verlet": "Stormer-Verlet",
         "leapfrog": "leapfrog", "imex": "IMEX", "dopri5": "Dormand-Prince (adaptive)"}
# The radius of the largest half-disc {|z| <= r, Re z <= 0} inside RK4's region: 2.6156...
# (tests/test_analysis_stability.py checks it against the region on a fine polar grid).
RK4_HALF_DISC = sympy.Rational(26, 10)


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


# -- the schemes' stability functions, derived -------------------------------------------------
# The derivations below run in the tests (tests/test_analysis_stability.py), which check that the
# constants used by the verdicts equal what they derive; the compiler itself uses the constants,
# since a derivation costs sympy a few hundred milliseconds.

RK4_REAL_LIMIT = sympy.Float("2.785293563405282")   # |R(-x)| <= 1 for x in [0, 2.7853]
RK4_IMAGINARY_LIMIT = 2 * sympy.sqrt(2)            # |R(iy)| <= 1 for |y| <= 2 sqrt(2)
OSCILLATION_LIMIT = sympy.Integer(2)               # leapfrog / Verlet: h w < 2
_a, _b = sympy.symbols("a b", positive=True)
EULER_BOUND = 2 * _a / (_a**2 + _b**2)             # |1 + h(-a + ib)| <= 1 for h <= this
_r, _l = sympy.Symbol("r", positive=True), sympy.Symbol("l", nonnegative=True)
IMEX_BOUND = 2 / (_r - 2 * _l)                     # h r <= 2 (1 + h l), for r > 2 l


def stability_function(scheme: str) -> sympy.Expr:
    """R(z) with y_{j+1} = R(h lambda) y_j for y' = lambda y, from the scheme's stages."""
    if scheme == "euler":
        return 1 + z                                       # y + h (lambda y)
    if scheme == "rk4":
        k1 = z
        k2 = z * (1 + k1 / 2)
        k3 = z * (1 + k2 / 2)
        k4 = z * (1 + k3)
        return sympy.expand(1 + (k1 + 2 * k2 + 2 * k3 + k4) / 6)
    raise ValueError(scheme)


def derive_real_limit(scheme: str) -> sympy.Expr:
    """x* > 0 with |R(-x)| <= 1 exactly for x in [0, x*]: the negative real interval."""
    x = sympy.Symbol("x", real=True)
    R = stability_function(scheme).subs(z, -x)
    candidates = []
    for side in (1, -1):            # |R| = 1 at the interval's end: R = 1 or R = -1
        for root in sympy.Poly(sympy.expand(R - side), x).real_roots():
            if root.is_positive:
                candidates.append(root)
    return min(candidates, key=float)


def derive_imaginary_limit(scheme: str) -> sympy.Expr:
    """y* >= 0 with |R(i y)| <= 1 exactly for |y| <= y* (0: only the origin)."""
    y = sympy.Symbol("y", real=True)
    re, im = sympy.expand(stability_function(scheme).subs(z, sympy.I * y)).as_real_imag()
    excess = sympy.Poly(sympy.expand(re**2 + im**2 - 1), y)   # |R(iy)|^2 - 1
    positive = sorted((r for r in excess.real_roots() if r.is_positive), key=float)
    if not positive:
        return sympy.oo if excess.eval(sympy.Rational(1, 10**6)) <= 0 else sympy.S.Zero
    return positive[0] if excess.eval(positive[0] / 2) <= 0 else sympy.S.Zero


def derive_oscillation_limit() -> sympy.Expr:
    """w* with Stormer-Verlet on y' = v, v' = -y (step w; also leapfrog on y'' = -y, whose
    recurrence y_{j+1} - (2 - w^2) y_j + y_{j-1} = 0 has the same characteristic polynomial)
    stable exactly for 0 < w < w*: a negative discriminant puts both roots, distinct, on the
    unit circle (their product is the determinant, 1)."""
    w, xi = sympy.Symbol("w", positive=True), sympy.Symbol("xi")
    A = sympy.Matrix([[1, w], [-w, 1 - w**2]])   # y += w v, then v -= w y (the new y)
    char = A.charpoly(xi).as_expr()
    assert sympy.expand(char - (xi**2 - (2 - w**2) * xi + 1)) == 0
    discriminant = sympy.Poly(sympy.discriminant(char, xi), w)
    roots = sorted((r for r in discriminant.real_roots() if r.is_positive), key=float)
    assert discriminant.eval(roots[0] / 2) < 0
    return roots[0]


def derive_imex_bound() -> tuple[sympy.Expr, sympy.Expr]:
    """(h*, c) for IMEX on a symmetric Jacobian with eigenvalues in [-r, 0] and lambda_min(L) = l:
    the worst mode is L's eigenvector for l with J's eigenvalue -r, multiplied by
    m(h) = 1 - h r/(1 + h l) <= 1 each step; m >= -1 <=> (m + 1)(1 + h l) = 2 + c h >= 0 with
    c = 2 l - r, so every h is stable when c >= 0 and h <= h* = 2/(r - 2 l) otherwise."""
    h = sympy.Symbol("h", positive=True)
    m = 1 - h * _r / (1 + h * _l)
    numerator, denominator = sympy.fraction(sympy.together(m + 1))
    assert sympy.expand(denominator - (1 + h * _l)) == 0
    poly = sympy.Poly(sympy.expand(numerator), h)
    assert poly.degree() == 1 and poly.coeff_monomial(1) == 2
    (root,) = sympy.solve(poly.as_expr(), h)
    return sympy.factor(root), poly.coeff_monomial(h)


def derive_euler_bound() -> sympy.Expr:
    """|1 + h(-a + i b)|^2 - 1 = h (h (a^2 + b^2) - 2 a): its positive root in h."""
    h = sympy.Symbol("h", positive=True)
    roots = sympy.roots(sympy.Poly(sympy.expand((1 - h * _a)**2 + (h * _b)**2 - 1), h))
    (root,) = [r for r in roots if r != 0]
    return sympy.factor(root)


def rk4_inside(value: complex) -> bool:
    return abs(_rk4_numeric(value)) <= 1 + 1e-12


def _rk4_numeric(value: complex) -> complex:
    return 1 + value + value**2 / 2 + value**3 / 6 + value**4 / 24


# -- verdicts -----------------------------------------------------------------------------------

def verdict(scheme: str, spectrum: Spectrum, *, implicit_min=sympy.S.Zero) -> Verdict:
    """`implicit_min`: lambda_min(L) of IMEX's implicit part (0, always a lower bound, when not
    known); the other schemes ignore it."""
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
    if scheme == "euler":
        return _euler(spectrum)
    if scheme == "rk4":
        return _rk4(spectrum)
    if scheme in ("verlet", "leapfrog"):
        return _symplectic(scheme, spectrum)
    if scheme == "imex":
        return imex_verdict(spectrum, implicit_min)
    return Verdict(UNKNOWN, reason="no verdict for this scheme")


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


def _euler(sp: Spectrum) -> Verdict:
    # |1 + h(-a + i b)|^2 <= 1  <=>  h (a^2 + b^2) <= 2 a   (solved below with sympy)
    if sp.kind == IMAGINARY:
        return _damped_disc(-sp.shift, sp.radius, sympy.S.One, sp)
    if sp.kind == DAMPED:
        return _damped_disc(sp.damping, sp.radius, sp.slope, sp)
    if sp.kind == NEGATIVE_REAL:
        alpha = -sp.shift
        if _sign(alpha) == -1:
            return Verdict(UNSTABLE, reason="every eigenvalue has positive real part")
        bound = _euler_bound(alpha + sp.radius, sympy.S.Zero)
        return Verdict(BOUNDED, bound=bound, requires=_nonneg(alpha))
    if sp.kind == EXPLICIT:
        return _explicit(sp, _euler_bound, sharp=True)
    return Verdict(UNKNOWN, reason="forward Euler integrates first-order equations")


def _euler_bound(a, b):
    """The largest h with |1 + h(-a + i b)| <= 1, for a > 0."""
    return sympy.factor(EULER_BOUND.xreplace({_a: a, _b: b}))


def _damped_disc(alpha, omega, slope, sp: Spectrum) -> Verdict:
    """Eigenvalues s(-alpha + i w), |w| <= omega, s in [0, slope] under forward Euler."""
    sign_alpha, sign_omega = _sign(alpha), _sign(omega)
    if sign_alpha == 0 and sign_omega != 0:
        return Verdict(UNSTABLE, reason="its region |1 + z| <= 1 meets the imaginary axis only at "
                       "0, so every imaginary eigenvalue is amplified")
    if sign_alpha == -1:
        return Verdict(UNSTABLE, reason="negative damping: the eigenvalues have positive real part")
    bound = EULER_BOUND.xreplace({_a: alpha, _b: omega}) / slope
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


def _rk4(sp: Spectrum) -> Verdict:
    if sp.kind == IMAGINARY and _sign(sp.shift) == 0:
        return Verdict(BOUNDED, bound=RK4_IMAGINARY_LIMIT / sp.radius)
    if sp.kind == IMAGINARY:
        alpha = -sp.shift
        if _sign(alpha) == -1:
            return Verdict(UNSTABLE, reason="negative damping: the eigenvalues have positive real part")
        return Verdict(BOUNDED, bound=RK4_HALF_DISC / sympy.sqrt(alpha**2 + sp.radius**2),
                       sharp=False, requires=_nonneg(alpha))
    if sp.kind == NEGATIVE_REAL:
        alpha = -sp.shift
        if _sign(alpha) == -1:
            return Verdict(UNSTABLE, reason="every eigenvalue has positive real part")
        return Verdict(BOUNDED, bound=RK4_REAL_LIMIT / (alpha + sp.radius), requires=_nonneg(alpha))
    if sp.kind == DAMPED:
        if _sign(sp.damping) == 0:
            return Verdict(BOUNDED, bound=RK4_IMAGINARY_LIMIT / (sp.slope * sp.radius))
        if _sign(sp.damping) == -1:
            return Verdict(UNSTABLE, reason="negative damping: the eigenvalues have positive real part")
        return Verdict(BOUNDED, bound=RK4_HALF_DISC / (sp.slope * sympy.sqrt(sp.damping**2 + sp.radius**2)),
                       sharp=False, requires=_nonneg(sp.damping))
    if sp.kind == EXPLICIT:
        return _explicit(sp, None, sharp=False)
    return Verdict(UNKNOWN, reason="RK4 integrates first-order equations")


def _symplectic(scheme: str, sp: Spectrum) -> Verdict:
    if sp.kind in (OSCILLATION,) or (sp.kind == IMAGINARY and _sign(sp.shift) == 0):
        return Verdict(BOUNDED, bound=OSCILLATION_LIMIT / sp.radius, strict=True)
    return Verdict(UNKNOWN, reason=f"{NAMES[scheme]} is analysed on imaginary (oscillatory) spectra only")


def _explicit(sp: Spectrum, closed_form, sharp: bool) -> Verdict:
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
            bound = sympy.Float(_rk4_ray_limit(complex(mu) * float(sp.slope)), 6)
        else:
            bound = RK4_HALF_DISC / (sp.slope * sympy.sqrt(sympy.factor(a**2 + b**2)))
        bounds.append(bound)
        requires.extend(_positive(a) if sa is None else ())
    if not bounds:
        return Verdict(STABLE, reason="every eigenvalue is 0")
    unique = list(dict.fromkeys(bounds))
    bound = unique[0] if len(unique) == 1 else sympy.Min(*unique)
    return Verdict(BOUNDED, bound=bound, sharp=sharp or all(b.is_number for b in unique),
                   requires=tuple(dict.fromkeys(requires)))


def _rk4_ray_limit(mu: complex) -> float:
    """The largest h with h*s*mu inside RK4's region for every s in [0, 1] (sampled rays)."""
    if mu == 0:
        return float("inf")
    lo, hi = 0.0, 10.0 / abs(mu)
    for _ in range(60):
        mid = (lo + hi) / 2
        if all(rk4_inside(mid * mu * k / 200) for k in range(1, 201)):
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
    if kind in (GROWING, OPAQUE):
        return verdict("euler", sp)
    if kind in (IMAGINARY, NEGATIVE_REAL, OSCILLATION, DAMPED) and sp.radius == 0 \
            and sp.shift == 0 and (kind != DAMPED or sp.damping == 0):
        return verdict("euler", sp)                     # J = 0: M = I
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
