"""The IMEX step's explicit part (issue 3): Y_{j+1} = (I + hL)^-1 (Y_j + h L Y_j + h f(Y_j)).

Linearised it multiplies perturbations by M = I + h P^-1 J, P = I + hL.  The verdicts
(`stability.imex_verdict`): J symmetric negative semi-definite with eigenvalues in [-r, 0]
(parabolic) is stable while h r <= 2 (1 + h l), l = lambda_min(L): for every h when r <= 2 l,
else for h <= 2/(r - 2 l); J undamped antisymmetric is unstable for every h; anything else gets
no verdict.  Checked here three ways: the bound against sympy's derivation, the findings of small
specs, and M's spectral radius for random matrices just below and above the bound.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy

from analysis_specs import by_code, data, findings, one_state
from sciml.analysis import stability as st
from sciml.pipeline import compile_spec, front_end
from sciml.analysis.stability import Spectrum, verdict
from sciml.modules import import_text

RNG = np.random.default_rng(7)

L_ZERO = ", L = [[1, -1], [-1, 1]]"        # eigenvalues 0, 2: l = 0
L_ONE = ", L = [[2, -1], [-1, 2]]"         # eigenvalues 1, 3: l = 1


# -- the bound, derived ------------------------------------------------------------------------

def test_the_bound_is_what_sympy_derives():
    root, slope = st.derive_imex_bound("imex")
    assert sympy.simplify(root - st.IMEX_BOUND) == 0
    assert sympy.expand(slope - (2 * st._l - st._r)) == 0     # every h is stable when r <= 2 l


def test_verdicts_on_spectra():
    r = sympy.Symbol("norm2(K)", positive=True) ** 2
    assert verdict("imex", Spectrum(st.NEGATIVE_REAL, radius=r)).bound == 2 / r
    v = verdict("imex", Spectrum(st.NEGATIVE_REAL, radius=r), implicit_min=sympy.S.One)
    assert v.kind == st.BOUNDED and v.sharp and isinstance(v.bound, sympy.Piecewise)
    assert v.bound.subs(r, 3) == 2 and v.bound.subs(r, 1) == sympy.oo
    v = verdict("imex", Spectrum(st.NEGATIVE_REAL, radius=sympy.Integer(2)), implicit_min=sympy.S.One)
    assert v.kind == st.STABLE
    assert verdict("imex", Spectrum(st.NEGATIVE_REAL, radius=sympy.Integer(5)),
                   implicit_min=sympy.S.One).bound == sympy.Rational(2, 3)
    # a damping shift -a adds to the radius; a positive shift is growth
    v = verdict("imex", Spectrum(st.NEGATIVE_REAL, radius=r, shift=-sympy.Integer(3)))
    assert v.bound == 2 / (r + 3)
    assert verdict("imex", Spectrum(st.NEGATIVE_REAL, shift=sympy.Integer(1))).kind == st.UNSTABLE
    assert verdict("imex", Spectrum(st.IMAGINARY, radius=sympy.Symbol("w", positive=True)),
                   implicit_min=sympy.Integer(5)).kind == st.UNSTABLE
    for spectrum in (Spectrum(st.DAMPED, radius=sympy.S.One, damping=sympy.S.Half),
                     Spectrum(st.IMAGINARY, radius=sympy.S.One, shift=-sympy.S.Half),
                     Spectrum(st.EXPLICIT, eigenvalues=(-sympy.S.One,)), Spectrum(st.OPAQUE)):
        assert verdict("imex", spectrum).kind == st.UNKNOWN
    assert verdict("imex", Spectrum(st.GROWING)).kind == st.UNSTABLE
    assert verdict("imex", Spectrum(st.NEGATIVE_REAL)).kind == st.STABLE      # J = 0


# -- in specs -------------------------------------------------------------------------------------

def explicit_part(rhs, consts=L_ZERO, params="", allow_unstable=True, steps=10):
    source = one_state(rhs, scheme="imex", consts=consts, options=", L = L", params=params, steps=steps)
    items = [d for d in by_code(findings(source, allow_unstable=allow_unstable), "A2")
             if dict(d.data).get("part") != "implicit"]
    assert len(items) == 1, items
    return items[0], data(items[0])


def test_parabolic_with_a_singular_L_is_forward_eulers_bound():
    d, info = explicit_part("-K^T * tanh(K * Y + b)")
    assert d.code == "A202" and d.severity == "warning" and info["part"] == "explicit"
    assert info["bound"] == "2/norm2(K)^2" and info["lambda_min_L"] == "0"
    assert abs(info["weight_limit_value"] - math.sqrt(2 / 0.1)) < 1e-9
    assert info["runtime_check"] is True
    assert "IMEX is stable only for h <= 2/norm2(K)^2" in d.message


def test_parabolic_with_a_definite_L_gains_2_l():
    d, info = explicit_part("-K^T * tanh(K * Y + b)", consts=L_ONE)
    assert d.code == "A202" and info["lambda_min_L"] == "1"
    assert info["bound"] == "2/(norm2(K)^2 - 2) (every h where norm2(K)^2 <= 2)"
    assert abs(info["weight_limit_value"] - math.sqrt(2 / 0.1 + 2)) < 1e-9   # h r <= 2 + 2 h l


def test_a_trained_damping_is_a_condition():
    d, info = explicit_part("-K^T * tanh(K * Y + b) - g * Y", params="\nparam g : R = 0.1")
    assert d.code == "A202" and info["bound"] == "2/(g + norm2(K)^2)" and info["requires"] == "g >= 0"


@pytest.mark.parametrize("rhs,consts,code,bound", [
    ("-2 * Y + b", L_ONE, "A203", None),            # r = 2 <= 2 l: every h
    ("-3 * Y + b", L_ONE, "A204", 2.0),             # 2/(3 - 2) = 2 >= h = 0.1
    ("-30 * Y + b", L_ZERO, "A201", 1 / 15),        # 2/30 < 0.1
    ("b", L_ONE, "A203", None),                     # J = 0
])
def test_bounds_known_from_constants(rhs, consts, code, bound):
    d, info = explicit_part(rhs, consts=consts, allow_unstable=False)
    assert d.code == code, d.message
    if bound is not None:
        assert info["bound_value"] == pytest.approx(bound)
    if code == "A201":
        assert d.severity == "error" and "use at least 15 steps" in d.help
    if code == "A203":
        assert d.message.startswith("the explicit part of the IMEX step is stable for every h")


def test_undamped_antisymmetric_is_unstable_for_every_h_and_says_add_damping():
    d, info = explicit_part("tanh((K - K^T) * Y + b)", consts=L_ONE, allow_unstable=False)
    assert d.code == "A201" and d.severity == "error" and info["verdict"] == "unstable"
    assert "for every h" in d.message and "add damping" in d.help and "--allow-unstable" in d.help
    d, info = explicit_part("tanh((K - K^T) * Y + b)", allow_unstable=True)
    assert d.code == "A201" and d.severity == "warning" and info["allowed"] is True


@pytest.mark.parametrize("rhs,consts,reason", [
    ("tanh((K - K^T - gamma * I) * Y + b)", L_ZERO, "damped antisymmetric"),
    ("tanh((K - K^T) * Y + b) - gamma * Y", L_ZERO, "damped antisymmetric"),
    ("tanh(K * Y + b)", L_ZERO, "not constrained"),
    ("A * Y + b", L_ZERO + ", A = [[-3, 1], [-1, -3]]", "explicit matrix"),
])
def test_no_verdict_says_why(rhs, consts, reason):
    d, info = explicit_part(rhs, consts=consts)
    assert d.code == "A205" and info["verdict"] == "unknown" and reason in d.message


def test_anti_diffusion_grows():
    d, _ = explicit_part("K^T * tanh(K * Y + b)", allow_unstable=False)
    assert d.code == "A201" and "grows" in d.message


def test_lambda_min_of_L_is_a_lower_bound():
    """Exact for rational L; a little below the floating-point value for float entries; 0 where
    floating point cannot resolve it (a huge entry)."""
    _, info = explicit_part("-K^T * tanh(K * Y + b)", consts=", L = [[1.5, 0], [0, 0.5]]")
    value = float(info["lambda_min_L"])
    assert 0.49 < value <= 0.5
    _, info = explicit_part("-K^T * tanh(K * Y + b)", consts=", L = [[1e30, -1], [-1, 2]]")
    assert info["lambda_min_L"] == "0"


# -- numbers: M's spectral radius just below and above the bound ---------------------------------

def periodic_laplacian(n):
    return 2 * np.eye(n) - np.roll(np.eye(n), 1, axis=1) - np.roll(np.eye(n), -1, axis=1)


def random_psd(n, smallest):
    """A symmetric L with lambda_min(L) = smallest exactly."""
    Q, _ = np.linalg.qr(RNG.standard_normal((n, n)))
    values = np.concatenate([[smallest], smallest + RNG.uniform(0, 5, n - 1)])
    return Q @ np.diag(values) @ Q.T


def amplification(L, J, h):
    n = L.shape[0]
    return np.eye(n) + h * np.linalg.solve(np.eye(n) + h * L, J)


def spectral_radius(M):
    return float(np.abs(np.linalg.eigvals(M)).max())


def imex_bound(r, l):
    """The analysis' own bound for eigenvalues in [-r, 0] and lambda_min(L) = l (inf: every h)."""
    v = verdict("imex", Spectrum(st.NEGATIVE_REAL, radius=sympy.Float(r)), implicit_min=sympy.Float(l))
    return math.inf if v.kind == st.STABLE else float(v.bound)


def nsd(R, D):
    """J = -R^T D R: the parabolic Jacobian -K^T diag(sigma') K with sigma' = D in [0, 1]."""
    return -R.T @ np.diag(D) @ R


@pytest.mark.parametrize("n", [3, 6])
@pytest.mark.parametrize("smallest", [0.0, 0.4, 3.0])
def test_random_parabolic_jacobians_are_stable_just_below_the_bound(n, smallest):
    worst = 0.0
    for _ in range(200):
        L = random_psd(n, smallest) if smallest or n % 2 else periodic_laplacian(n)
        l = float(np.linalg.eigvalsh(L).min())
        R = RNG.standard_normal((n, n)) * RNG.uniform(0.2, 3)
        J = nsd(R, RNG.uniform(0, 1, n))
        r = float(np.linalg.norm(R, 2)) ** 2            # the analysis' radius: max sigma' norm2(K)^2
        bound = imex_bound(r, max(l, 0.0))
        hs = [0.999 * bound] if math.isfinite(bound) else [1e-2, 1.0, 1e2, 1e4]
        for h in hs:
            M = amplification(L, J, h)
            worst = max(worst, spectral_radius(M))
            # and the P-norm of M, not only its spectral radius, is <= 1
            P_half = _sqrtm(np.eye(n) + h * L)
            assert np.linalg.norm(P_half @ M @ np.linalg.inv(P_half), 2) <= 1 + 1e-9
    assert worst <= 1 + 1e-9


def _sqrtm(P):
    w, V = np.linalg.eigh(P)
    return V @ np.diag(np.sqrt(w)) @ V.T


@pytest.mark.parametrize("smallest", [0.0, 0.5])
def test_the_bound_is_sharp(smallest):
    """Some J with the same radius, J = -R^T D R with R's top right singular vector along L's
    eigenvector for l, is unstable at 1.05 x the bound; random J are, some of them, at 1.5 x
    when l = 0 (L's kernel is what bounds the step)."""
    n = 5
    L = periodic_laplacian(n) + smallest * np.eye(n)
    w, V = np.linalg.eigh(L)
    v = V[:, 0]
    assert abs(w[0] - smallest) < 1e-12
    for _ in range(20):
        Q, _ = np.linalg.qr(np.column_stack([v, RNG.standard_normal((n, n - 1))]))
        s = np.sort(RNG.uniform(0.5, 3, n))[::-1]
        U, _ = np.linalg.qr(RNG.standard_normal((n, n)))
        R = U @ np.diag(s) @ Q.T                                 # top right singular vector v
        r = float(s[0] ** 2)
        if r <= 2 * smallest:
            continue
        bound = imex_bound(r, smallest)
        J = nsd(R, np.ones(n))
        assert spectral_radius(amplification(L, J, 0.999 * bound)) <= 1 + 1e-9
        assert spectral_radius(amplification(L, J, 1.05 * bound)) > 1 + 1e-3
    if smallest == 0.0:
        above = 0
        for _ in range(200):
            R = RNG.standard_normal((n, n))
            J = nsd(R, RNG.uniform(0, 1, n))
            bound = imex_bound(float(np.linalg.norm(R, 2)) ** 2, 0.0)
            above += spectral_radius(amplification(L, J, 1.5 * bound)) > 1 + 1e-9
        assert above > 0


@pytest.mark.parametrize("smallest", [0.0, 1.0, 10.0])
def test_antisymmetric_jacobians_are_unstable_for_every_h(smallest):
    """J = s A, A = K - K^T, at a common slope s: |eigenvalues of M| > 1 for every h tried."""
    n = 4
    hs = np.logspace(-3, 3, 25)
    for _ in range(20):
        L = random_psd(n, smallest)
        K = RNG.standard_normal((n, n))
        for s in (1.0, 0.25):
            J = s * (K - K.T)
            radii = [spectral_radius(amplification(L, J, h)) for h in hs]
            assert min(radii) > 1, (smallest, min(radii))


# -- the runtime check evaluates the IMEX bound ---------------------------------------------------

IMEX_SPEC = """model {name}
const n = 4, steps = 10, T = 1.0
const L = [[{d}, -1, 0, -1], [-1, {d}, -1, 0], [0, -1, {d}, -1], [-1, 0, -1, {d}]]
data train = generate spirals(samples = 20, seed = 0, noise = 0.05)
state Y : R[n]
param K(t) : R[n, n], b(t) : R[n]
param W : R[2, n], mu : R[2]
ode     dt(Y) = -K^T * tanh(K * Y + b)
initial Y(0) = pad(train.x, n)
scheme  imex(steps, T, L = L)
loss   cross_entropy(softmax(W * Y(T) + mu), train.label)
train  adam(lr = 1e-2, steps = 10, batch = 0)
"""


@pytest.mark.parametrize("diagonal,smallest", [(2, 0.0), (3, 1.0)])
def test_the_runtime_check_evaluates_the_imex_bound(diagonal, smallest, tmp_path):
    name = f"imex_guard_{diagonal}"
    text = IMEX_SPEC.format(name=name, d=diagonal)
    _, model, _ = front_end(text, f"{name}.sciml")
    (guard,) = model.guards
    module = import_text(compile_spec(text, f"{name}.sciml", "torch"), name, tmp_path)
    params = module.init_params(3)

    def by_hand(p):
        return min((2 / (np.linalg.norm(K, 2) ** 2 - 2 * smallest)
                    if np.linalg.norm(K, 2) ** 2 > 2 * smallest else math.inf) for K in p["K"])

    (text_, value, holds), = module.check_stability(params)
    assert text_ == guard.text and value == pytest.approx(by_hand(params), rel=1e-12) and holds
    params["K"] = params["K"] * 0.05                 # small weights: every h when l > 0
    (_, value, holds), = module.check_stability(params)
    assert holds and value == pytest.approx(by_hand(params), rel=1e-12)
    if smallest:
        assert value == math.inf
