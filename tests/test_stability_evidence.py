"""Evidence, not only algebra (issue 3, deliverable 8): for each stability verdict class, compile
a small spec, set its weights by hand (constant in time, with a known spectral norm), run the
emitted `solve` over many steps in float64 and check that the state does what the analysis says.

    1. forward Euler on undamped antisymmetric weights: A201, and the state norm grows;
       with the damping gamma that A201's help prescribes, it does not.
    2. parabolic forward Euler: bounded for h below 2/norm2(K)^2, growing from near 0 at 3x it.
    3. leapfrog on the second-order model: bounded for h below 2/norm2(K).
    4. IMEX with the parabolic f: bounded for h below 2/(norm2(K)^2 - 2 lambda_min(L)), growing
       above it when norm2(K) is along L's eigenvector for lambda_min; and A201 on the undamped
       antisymmetric f, whose state grows.

Run alone with `pytest tests/test_stability_evidence.py -s` to see the measured ratios.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from sciml.pipeline import compile_spec, front_end

from helpers import load_module

torch = pytest.importorskip("torch")

N = 2                                   # state dimension of every spec below
# Initial states: 8 samples (columns), small so that tanh is in its linear regime at t = 0
Y0 = 1e-2 * np.random.default_rng(0).standard_normal((N, 8))


def spec_text(name, ode, scheme, steps, T, gamma=None, initial="Y(0) = train.x"):
    consts = f"n = {N}, classes = 2, steps = {steps}, T = {float(T)!r}"
    if gamma is not None:
        consts += f", gamma = {float(gamma)!r}"
    return f"""model {name}

const {consts}
data train = generate two_moons(samples = 20, seed = 0, noise = 0.05)
data test  = generate two_moons(samples = 20, seed = 1, noise = 0.05)

state Y : R[n]
param K(t) : R[n, n], b(t) : R[n]
param W : R[classes, n], mu : R[classes]

ode     {ode}
initial {initial}
scheme  {scheme}(steps, T)

loss   cross_entropy(softmax(W * Y(T) + mu), train.label)
train  adam(lr = 1e-2, steps = 10, batch = 0)
report accuracy(W * Y(T) + mu, test.label)
"""


def findings(text, name):
    _, _, found = front_end(text, f"{name}.sciml", allow_unstable=True)
    return {d.code: d for d in found}


def build(text, name, tmp_path):
    return load_module(compile_spec(text, f"{name}.sciml", "torch", allow_unstable=True),
                       name, tmp_path)


def params(module, K, steps):
    """Hand-set weights: the same K at every step, b = 0 (W, mu are not used by solve)."""
    p = module.init_params(0)
    p["K"] = np.broadcast_to(np.asarray(K, dtype=np.float64), (steps, N, N)).copy()
    p["b"] = np.zeros((steps, N, 1))
    return {k: torch.as_tensor(v, dtype=torch.float64) for k, v in p.items()}


def norm(Y):
    return float(torch.linalg.norm(Y))


def ratio(Y_T):
    return norm(Y_T) / float(np.linalg.norm(Y0))


def y0():
    return torch.as_tensor(Y0, dtype=torch.float64)


# ---- 1. antisymmetric: forward Euler without damping grows (A201); with the prescribed gamma
# it does not.  K - K^T = [[0, -1], [1, 0]]: norm2 = 1, the reference bound of A201's help.
K_ANTI = np.array([[0.0, -0.5], [0.5, 0.0]])
ANTI_STEPS, ANTI_T = 2000, 200.0        # h = 0.1, as in specs/ode/antisym.sciml


def test_antisym_euler_undamped_grows_and_prescribed_damping_stops_it(tmp_path):
    text = spec_text("ev_antisym0", "dt(Y) = tanh((K - K^T) * Y + b)", "euler",
                     ANTI_STEPS, ANTI_T)
    found = findings(text, "ev_antisym0")
    assert "A201" in found and dict(found["A201"].data)["verdict"] == "unstable"
    match = re.search(r"needs ([0-9.]+) <= gamma <= ([0-9.]+)", found["A201"].help)
    assert match, found["A201"].help
    gamma_low, gamma_high = float(match.group(1)), float(match.group(2))

    mod = build(text, "ev_antisym0", tmp_path)
    grown = ratio(mod.solve(params(mod, K_ANTI, ANTI_STEPS), y0()))
    print(f"\nantisym euler, gamma = 0: |Y(T)|/|Y(0)| = {grown:.3g}")
    assert grown > 20.0                 # linear regime alone: (1 + h^2)^(1000) = e^5 ~ 146

    # the prescribed range: its low end (the edge) and its geometric middle (= 1/h-ish, here 1.0)
    for gamma in (gamma_low, float(np.sqrt(gamma_low * gamma_high))):
        name = f"ev_antisym_g{str(gamma).replace('.', '_')}"
        damped = spec_text(name, "dt(Y) = tanh((K - K^T - gamma * I) * Y + b)", "euler",
                           ANTI_STEPS, ANTI_T, gamma=gamma)
        assert "A201" not in findings(damped, name)
        mod = build(damped, name, tmp_path)
        r = ratio(mod.solve(params(mod, K_ANTI, ANTI_STEPS), y0()))
        print(f"antisym euler, gamma = {gamma:.4g}: |Y(T)|/|Y(0)| = {r:.3g}")
        assert r <= 1.0


# ---- 2. parabolic forward Euler: norm2(K) = 2, so the bound is h <= 2/4 = 0.5
K_PARA = np.diag([2.0, 1.0])
PARA_BOUND = 2.0 / float(np.linalg.norm(K_PARA, 2)) ** 2
PARA_STEPS = 500


@pytest.mark.parametrize("factor", [0.9, 3.0])
def test_parabolic_euler_step_bound(tmp_path, factor):
    h = factor * PARA_BOUND
    name = f"ev_parabolic_{str(factor).replace('.', '_')}"
    text = spec_text(name, "dt(Y) = -K^T * tanh(K * Y + b)", "euler", PARA_STEPS,
                     PARA_STEPS * h)
    found = findings(text, name)
    assert "A103" in found and "A202" in found          # parabolic, bound in norm2(K)
    # the check's own prediction for these weights: stable iff norm2(K) <= the limit at this h
    limit = dict(found["A202"].data)["weight_limit_value"]
    assert (np.linalg.norm(K_PARA, 2) <= limit) == (factor < 1)
    mod = build(text, name, tmp_path)
    p = params(mod, K_PARA, PARA_STEPS)
    r = ratio(mod.solve(p, y0()))
    # one step more flips the sign of the dominant component when unstable (1 - h*4 < -1)
    mod.N_STEPS = PARA_STEPS - 1
    Y_prev = mod.solve(p, y0())
    mod.N_STEPS = PARA_STEPS
    flips = bool(torch.all(torch.sign(Y_prev[0]) != torch.sign(mod.solve(p, y0())[0])))
    print(f"\nparabolic euler, h = {factor} x 2/norm2(K)^2 = {h:.3g}: "
          f"|Y(T)|/|Y(0)| = {r:.3g}, sign flips each step: {flips}")
    if factor < 1:
        assert r < 1.0
    else:
        assert r > 20.0 and flips        # grows out of the linear regime, oscillating


# ---- 3. leapfrog, second order: norm2(K) = 2, so h < 2/2 = 1
K_SECOND = np.diag([2.0, 1.0])
SECOND_BOUND = 2.0 / float(np.linalg.norm(K_SECOND, 2))
SECOND_STEPS = 2000


@pytest.mark.parametrize("factor", [0.5, 0.9, 1.2])
def test_second_order_leapfrog_step_bound(tmp_path, factor):
    h = factor * SECOND_BOUND
    name = f"ev_second_{str(factor).replace('.', '_')}"
    text = spec_text(name, "dt(dt(Y)) = -K^T * tanh(K * Y + b)", "leapfrog", SECOND_STEPS,
                     SECOND_STEPS * h, initial="Y(0) = train.x, dt(Y)(0) = 0")
    found = findings(text, name)
    assert "A105" in found and "A202" in found
    limit = dict(found["A202"].data)["weight_limit_value"]      # norm2(K) < limit at this h
    assert (np.linalg.norm(K_SECOND, 2) < limit) == (factor < 1)
    mod = build(text, name, tmp_path)
    p = params(mod, K_SECOND, SECOND_STEPS)
    v0 = torch.zeros_like(y0())
    worst = 0.0                          # largest |Y| / |Y(0)| seen at 20 times along the way
    for steps in range(SECOND_STEPS // 20, SECOND_STEPS + 1, SECOND_STEPS // 20):
        mod.N_STEPS = steps
        worst = max(worst, ratio(mod.solve(p, y0(), v0)))
    print(f"\nleapfrog, h = {factor} x 2/norm2(K) = {h:.3g}: max |Y(t)|/|Y(0)| = {worst:.3g}")
    if factor < 1:
        # linear leapfrog amplitude bound 1/sqrt(1 - (h w/2)^2): 1.15 at 0.5, 2.29 at 0.9
        assert worst < 1.0 / np.sqrt(1.0 - factor ** 2) + 0.1
    else:
        assert worst > 20.0


# ---- 4. IMEX with the parabolic f and the periodic Laplacian of specs/ode/imex.sciml (l = 0),
# and with that Laplacian + I (l = 1).  K = 2 e1 v^T + e2 w^T with v = (1, 1, 1, 1)/2, L's
# eigenvector for l, and w = (1, -1, 1, -1)/2, its eigenvector for l + 4: norm2(K) = 2 along v,
# so the bound h <= 2/(norm2(K)^2 - 2 l) is 0.5 (forward Euler's) for l = 0 and 1 for l = 1.
# K_HIGH puts the norm along w instead, where (I + hL)^-1 damps the step: stable far above the
# bound, which is a worst case over the directions of K.
N_IMEX = 4
IMEX_STEPS = 500
V_KERNEL = np.ones(N_IMEX) / 2
W_HIGH = np.array([1.0, -1.0, 1.0, -1.0]) / 2
E1, E2 = np.eye(N_IMEX)[0], np.eye(N_IMEX)[1]
K_IMEX = 2 * np.outer(E1, V_KERNEL) + np.outer(E2, W_HIGH)
K_HIGH = 2 * np.outer(E1, W_HIGH) + np.outer(E2, V_KERNEL)
Y0_IMEX = 1e-2 * np.random.default_rng(1).standard_normal((N_IMEX, 8))


def imex_spec_text(name, steps, T, shift):
    d = 2 + shift
    return f"""model {name}

const n = {N_IMEX}, classes = 2, steps = {steps}, T = {float(T)!r}
const L = [[{d}, -1, 0, -1], [-1, {d}, -1, 0], [0, -1, {d}, -1], [-1, 0, -1, {d}]]
data train = generate spirals(samples = 20, seed = 0, noise = 0.05)

state Y : R[n]
param K(t) : R[n, n], b(t) : R[n]
param W : R[classes, n], mu : R[classes]

ode     dt(Y) = -K^T * tanh(K * Y + b)
initial Y(0) = pad(train.x, n)
scheme  imex(steps, T, L = L)

loss   cross_entropy(softmax(W * Y(T) + mu), train.label)
train  adam(lr = 1e-2, steps = 10, batch = 0)
"""


def imex_params(module, K, steps):
    p = module.init_params(0)
    p["K"] = np.broadcast_to(np.asarray(K, dtype=np.float64), (steps, N_IMEX, N_IMEX)).copy()
    p["b"] = np.zeros((steps, N_IMEX, 1))
    return {k: torch.as_tensor(v, dtype=torch.float64) for k, v in p.items()}


def mode(Y, direction):
    """The amplitude of the samples' component along a unit direction."""
    return float(np.linalg.norm(direction @ np.asarray(Y)))


@pytest.mark.parametrize("shift", [0, 1])
@pytest.mark.parametrize("factor", [0.9, 1.2, 3.0])
def test_imex_parabolic_step_bound(tmp_path, shift, factor):
    assert float(np.linalg.norm(K_IMEX, 2)) == pytest.approx(2.0)
    bound = 2.0 / (4.0 - 2 * shift)
    h = factor * bound
    name = f"ev_imex_{shift}_{str(factor).replace('.', '_')}"
    text = imex_spec_text(name, IMEX_STEPS, IMEX_STEPS * h, shift)
    found = findings(text, name)
    assert "A103" in found and "A202" in found
    info = dict(found["A202"].data)
    assert info["lambda_min_L"] == str(shift)
    assert (np.linalg.norm(K_IMEX, 2) <= info["weight_limit_value"]) == (factor < 1)
    mod = build(text, name, tmp_path)
    y0_imex = torch.as_tensor(Y0_IMEX, dtype=torch.float64)
    p = imex_params(mod, K_IMEX, IMEX_STEPS)
    Y_T = mod.solve(p, y0_imex).numpy()
    r = float(np.linalg.norm(Y_T)) / float(np.linalg.norm(Y0_IMEX))
    r_v = mode(Y_T, V_KERNEL) / mode(Y0_IMEX, V_KERNEL)      # the mode the bound is about
    mod.N_STEPS = IMEX_STEPS - 1
    Y_prev = mod.solve(p, y0_imex).numpy()
    mod.N_STEPS = IMEX_STEPS
    flips = bool(np.all(np.sign(V_KERNEL @ Y_prev) != np.sign(V_KERNEL @ Y_T)))
    Y_high = mod.solve(imex_params(mod, K_HIGH, IMEX_STEPS), y0_imex).numpy()
    r_w = mode(Y_high, W_HIGH) / mode(Y0_IMEX, W_HIGH)
    print(f"\nimex, l = {shift}, h = {factor} x {bound:g} = {h:.3g} (forward Euler's bound 0.5): "
          f"|Y(T)|/|Y(0)| = {r:.3g}, along v {r_v:.3g}" + (f", sign flips each step: {flips}" if factor > 1 else "")
          + f"; norm2(K) along w instead: along w {r_w:.3g}")
    assert r_w < 1e-3                      # L damps the w direction: stable even at 3x
    if factor < 1:
        assert r < 1.0 and r_v < 1e-3
    else:
        assert r > 1.0 and r_v > 20.0 and flips   # grows out of the linear regime, oscillating


# IMEX on the undamped antisymmetric form: A201 for every h, and the state grows; K - K^T rotates
# in the plane of v (L's kernel) and u = (1, 0, -1, 0)/sqrt(2) (L's eigenvalue 2), which
# (I + hL)^-1 only slows down: |1 + i h mu| with mu = norm2(K - K^T)/sqrt(1 + 2h) at each step.
U_MID = np.array([1.0, 0.0, -1.0, 0.0]) / np.sqrt(2)


def test_imex_antisymmetric_grows(tmp_path):
    steps, T = 2000, 200.0                      # h = 0.1
    name = "ev_imex_antisym"
    text = imex_spec_text(name, steps, T, 0).replace(
        "-K^T * tanh(K * Y + b)", "tanh((K - K^T) * Y + b)")
    found = findings(text, name)
    assert "A101" in found and "A201" in found and "add damping" in found["A201"].help
    K = 0.5 * (np.outer(V_KERNEL, U_MID) - np.outer(U_MID, V_KERNEL))   # norm2(K - K^T) = 1
    mod = build(text, name, tmp_path)
    y0_imex = torch.as_tensor(Y0_IMEX, dtype=torch.float64)
    r = norm(mod.solve(imex_params(mod, K, steps), y0_imex)) / float(np.linalg.norm(Y0_IMEX))
    linear = (1 + (0.1 / np.sqrt(1 + 0.2)) ** 2) ** (steps / 2)
    print(f"\nimex, antisymmetric, h = 0.1: |Y(T)|/|Y(0)| = {r:.3g} (linear regime alone: {linear:.3g} "
          "for the rotating plane)")
    assert r > 20.0
