"""Issue 11, item 4: the analysis of method-of-lines models (docs/analysis.md, "Grids").

The step bound of the time integrator on the semi-discrete operator (A201-A205 at `time = ...`),
each checked against the spectral radius of the actual step matrix on a small grid: explicit
diffusion dx^2/(2D) (dx^2/(4D) in 2-D), upwind transport dx/|a|, central transport under
forward Euler unstable, rk4's 2.785 dx^2/(4D) and 2.828 dx/|a|, leapfrog's dx/c, IMEX with the
diffusion implicit 2D/a^2; the runtime guards of a learned D and of a network's speed; the
operator of a convolution conv(K, u) (A509), its errors (E272, E273); the PDE type of a
grid equation."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import sympy

from analysis_specs import by_code, data, findings
from sciml.analysis.passes import analyse
from sciml.frontend.diagnostics import SpecError
from sciml.frontend.parser import parse
from sciml.lowering import family_symbols as F
from sciml.lowering import symbols as S
from sciml.lowering.lower import lower
from sciml.pipeline import emit, front_end

ROOT = Path(__file__).resolve().parent.parent

GRID = """model m : grid_pde
const a = 0.5, nu = 0.01, c = 2, grid = {grid}, steps = {steps}, T = 1.0
domain {domain}, t in [0, T]
state u : R
param D : R = 0.02
param K : R[3]
net U(u) = mlp(1 -> 8 -> 1, tanh)
pde      {pde}
initial  {initial}
boundary {boundary}
scheme   method_of_lines(grid = grid, time = {time}(steps, T){options})
loss   (D - 0.01)^2 + sum(K * K)
train  adam(lr = 1e-3, steps = 10)
"""


def grid(pde, time="euler", steps=400, nodes=33, options="", two=False, periodic=True,
         initial=None):
    domain = "x in [0, 1], y in [0, 1]" if two else "x in [0, 1]"
    if initial is None:
        initial = "u(x, y, 0) = sin(pi * x) * sin(pi * y)" if two else "u(x, 0) = sin(pi * x)"
    if two:
        boundary = "u(0, y, t) = 0, u(1, y, t) = 0, u(x, 0, t) = 0, u(x, 1, t) = 0"
    else:
        boundary = "u(0, t) = u(1, t)" if periodic else "u(0, t) = 0, u(1, t) = 0"
    return GRID.format(pde=pde, time=time, steps=steps, grid=nodes, options=options,
                       domain=domain, initial=initial, boundary=boundary)


def verdict_of(source):
    """The one step-bound finding of a single-equation grid spec."""
    (d,) = [d for d in findings(source) if d.code in ("A201", "A202", "A203", "A204", "A205")]
    return d


def bound(d) -> float:
    return data(d)["bound_value"]


def with_time(source, kind):
    """The lowered model with its time integrator replaced: imex on a grid (the diffusion
    implicit, the rest explicit) is lowered by the method of lines itself."""
    model = lower(parse(source), ".", [])
    time = dataclasses.replace(model.scheme.time, kind=kind, options=())
    return dataclasses.replace(model, scheme=dataclasses.replace(model.scheme, time=time))


# -- the step matrices of small periodic grids -----------------------------------------------

def shift(n, k):
    return np.roll(np.eye(n), k, axis=1)    # (S u)_i = u_{i+k}, periodic


def second_difference(n, dx):
    return (shift(n, 1) - 2 * np.eye(n) + shift(n, -1)) / dx**2


def central(n, dx):
    return (shift(n, 1) - shift(n, -1)) / (2 * dx)


def radius(matrix) -> float:
    return max(abs(np.linalg.eigvals(matrix)))


def rk4_step(J, h):
    Z = h * J
    eye = np.eye(len(J))
    return eye + Z + Z @ Z / 2 + Z @ Z @ Z / 6 + Z @ Z @ Z @ Z / 24


# -- forward Euler ------------------------------------------------------------------------------

def test_heat_neural_source_satisfies_the_diffusion_bound():
    source = (ROOT / "specs" / "pde" / "heat_neural_source.sciml").read_text()
    d = verdict_of(source)
    assert (d.code, d.severity) == ("A204", "note")
    assert data(d)["bound"] == "dx^2/(2*nu)" and data(d)["h"] == 0.002
    assert bound(d) == pytest.approx((1 / 32) ** 2 / (2 * 0.1), rel=1e-12)   # 0.0049
    assert "N(x)" in d.message      # the source, of order zero, is left out and said so


def test_explicit_diffusion_bound_is_sharp_on_the_grid():
    d = verdict_of(grid("dt(u) = nu * d(u, x, x)", nodes=32))
    dx = 1 / 32
    assert data(d)["bound"] == "dx^2/(2*nu)" and bound(d) == pytest.approx(dx**2 / 0.02)
    L = 0.01 * second_difference(32, dx)
    assert radius(np.eye(32) + 0.999 * bound(d) * L) <= 1 + 1e-12
    assert radius(np.eye(32) + 1.01 * bound(d) * L) > 1.01


def test_a_step_beyond_the_diffusion_bound_is_an_error_with_the_steps_it_needs():
    (d,) = by_code(findings(grid("dt(u) = nu * d(u, x, x)", steps=10, nodes=65), allow_unstable=False),
                   "A201")
    assert d.severity == "error" and data(d)["bound_value"] == pytest.approx((1 / 65) ** 2 / 0.02)
    assert "use at least 85 steps" in d.help and "imex" in d.help


def test_two_dimensional_diffusion_with_a_learned_coefficient_is_a_runtime_guard():
    source = grid("dt(u) = D * lap(u)", two=True, nodes=33)
    d = verdict_of(source)
    assert (d.code, data(d)["bound"], data(d)["requires"]) == ("A202", "dx^2/(4*D)", "D >= 0")
    assert "at the initial values (D = 0.02) the bound is 0.01221" in d.message
    (guard,) = front_end(source, "m.sciml")[1].guards
    D = sympy.Symbol("D", real=True)
    assert float(guard.bound.subs(D, 0.02)) == pytest.approx((1 / 32) ** 2 / (4 * 0.02))
    assert guard.requires == (sympy.GreaterThan(D, 0),) and not guard.extrema
    # the 2-D step matrix on a periodic 16 x 16 grid of the same spacing: sharp
    n, dx = 16, 1 / 32
    lap = np.kron(second_difference(n, dx), np.eye(n)) + np.kron(np.eye(n), second_difference(n, dx))
    h = dx**2 / (4 * 0.02)
    assert radius(np.eye(n * n) + 0.999 * h * 0.02 * lap) <= 1 + 1e-12
    assert radius(np.eye(n * n) + 1.01 * h * 0.02 * lap) > 1.01


def test_upwind_transport_bound():
    d = verdict_of(grid("dt(u) = -a * d(u, x)", options=", advection = upwind", nodes=32))
    dx = 1 / 32
    assert (d.code, data(d)["bound"]) == ("A204", "dx/|a|")
    assert bound(d) == pytest.approx(dx / 0.5)
    M = -0.5 * (np.eye(32) - shift(32, -1)) / dx        # a > 0: the backward difference
    assert radius(np.eye(32) + 0.999 * bound(d) * M) <= 1 + 1e-12
    assert radius(np.eye(32) + 1.05 * bound(d) * M) > 1.05


def test_central_transport_under_forward_euler_is_an_error_naming_upwind_and_rk4():
    (d,) = by_code(findings(grid("dt(u) = -a * d(u, x)", nodes=32), allow_unstable=False), "A201")
    assert d.severity == "error" and "unstable for every h" in d.message
    assert "advection = upwind): h <= dx/|a| (here 0.0625)" in d.help
    assert "rk4" in d.help and "h <= 2*sqrt(2)*dx/|a| (here 0.1768)" in d.help
    C = -0.5 * central(32, 1 / 32)
    assert radius(np.eye(32) + 1e-4 * C) > 1     # every h: the smallest tried grows too


def test_central_transport_with_diffusion_under_euler():
    """h <= min(dx^2/(2 nu), 2 nu/a^2): the cell Peclet number decides which one binds."""
    d = verdict_of(grid("dt(u) = nu * d(u, x, x) - a * d(u, x)", nodes=32))
    assert data(d)["bound"] == "min(2*nu/a^2, dx^2/(2*nu))"
    dx, J = 1 / 32, 0.01 * second_difference(32, 1 / 32) - 0.5 * central(32, 1 / 32)
    assert bound(d) == pytest.approx(min(dx**2 / 0.02, 0.02 / 0.25))
    assert radius(np.eye(32) + 0.999 * bound(d) * J) <= 1 + 1e-12
    assert radius(np.eye(32) + 1.05 * bound(d) * J) > 1


# -- rk4, leapfrog, imex ----------------------------------------------------------------------

def test_rk4_diffusion_and_central_transport_bounds():
    d = verdict_of(grid("dt(u) = nu * d(u, x, x)", time="rk4", nodes=32))
    dx = 1 / 32
    assert data(d)["bound"] == "2.785*dx^2/(4*nu)"
    assert bound(d) == pytest.approx(2.785293563 * dx**2 / 0.04, rel=1e-4)
    L = 0.01 * second_difference(32, dx)
    assert radius(rk4_step(L, 0.999 * bound(d))) <= 1 + 1e-9
    assert radius(rk4_step(L, 1.01 * bound(d))) > 1
    d = verdict_of(grid("dt(u) = -a * d(u, x)", time="rk4", nodes=32))
    assert data(d)["bound"] == "2*sqrt(2)*dx/|a|" and bound(d) == pytest.approx(2 * 2**0.5 * dx / 0.5)
    C = -0.5 * central(32, dx)
    assert radius(rk4_step(C, 0.999 * bound(d))) <= 1 + 1e-9
    assert radius(rk4_step(C, 1.02 * bound(d))) > 1


def test_leapfrog_on_the_wave_equation():
    source = grid("dt(dt(u)) = c^2 * d(u, x, x)", time="leapfrog", nodes=32,
                  initial="u(x, 0) = sin(pi * x), dt(u)(x, 0) = 0")
    d = verdict_of(source)
    dx = 1 / 32
    assert (d.code, data(d)["bound"], data(d)["strict"]) == ("A204", "dx/|c|", True)
    assert bound(d) == pytest.approx(dx / 2)
    assert not by_code(findings(source), "A504")      # u(x, 0) and dt(u)(x, 0): both given
    L, n = 4 * second_difference(32, dx), 32

    def step(h):   # (u_{j+1}, u_j) from (u_j, u_{j-1}): u_{j+1} = 2 u_j - u_{j-1} + h^2 L u_j
        return np.block([[2 * np.eye(n) + h**2 * L, -np.eye(n)], [np.eye(n), np.zeros((n, n))]])
    assert radius(step(0.99 * bound(d))) <= 1 + 1e-6
    assert radius(step(1.01 * bound(d))) > 1.05


def test_imex_takes_the_diffusion_implicitly():
    """(I - h nu L) u_{j+1} = u_j + h C u_j: no diffusion bound; central transport needs
    h <= 2 nu/a^2, diffusion alone is stable for every h, transport alone for none."""
    n, dx = 33, 1 / 33
    source = grid("dt(u) = nu * d(u, x, x) - a * d(u, x)", nodes=n)
    d = verdict_of(grid("dt(u) = nu * d(u, x, x) - a * d(u, x)", nodes=n, time="imex"))
    assert data(d)["bound"] == "2*nu/a^2" and data(d)["bound_value"] == pytest.approx(0.08)
    implicit, C = np.eye(n) - 0.01 * second_difference(n, dx), -0.5 * central(n, dx)

    def step(h):
        return np.linalg.solve(np.eye(n) - h * 0.01 * second_difference(n, dx), np.eye(n) + h * C)
    assert implicit.shape == (n, n)
    assert radius(step(0.99 * 0.08)) <= 1 + 1e-12 and radius(step(1.05 * 0.08)) > 1
    assert verdict_of(grid("dt(u) = nu * d(u, x, x)", time="imex")).code == "A203"
    assert verdict_of(grid("dt(u) = -a * d(u, x)", time="imex")).code == "A201"
    # rk4 on the same mixed spectrum: its bound found on the sampled ellipse, sharp
    (rk4,) = by_code(analyse(with_time(source, "rk4")).findings, "A204")
    J = 0.01 * second_difference(n, dx) + C
    assert radius(rk4_step(J, 0.999 * data(rk4)["bound_value"])) <= 1 + 1e-9
    assert radius(rk4_step(J, 1.01 * data(rk4)["bound_value"])) > 1


# -- learned and network speeds -------------------------------------------------------------

def test_network_velocity_is_a_guard_over_the_data_range():
    source = (ROOT / "specs" / "pde" / "reaction_diffusion.sciml").read_text()
    spec, model, found = front_end(source, "reaction_diffusion.sciml")
    (d,) = by_code(found, "A202")
    assert data(d)["bound"] == "min(2*D/max|a|^2, dx^2/(2*D))" and data(d)["runtime_check"]
    assert "max|a| = max |c*grad(U, c) + U(c)| over the values of train.c" in d.message
    assert "at the initial values (D = 0.02) it is min(0.006104, 0.04/max|a|^2)" in d.message
    speed_guard, diffusion_guard = model.guards      # one per part of the min
    assert (speed_guard.text, diffusion_guard.text) == ("h <= 2*D/max|a|^2 and D >= 0",
                                                        "h <= dx^2/(2*D) and D >= 0")
    assert not diffusion_guard.extrema
    D = sympy.Symbol("D", real=True)
    assert float(diffusion_guard.bound.subs(D, 0.01)) == pytest.approx((1 / 64) ** 2 / 0.02)
    ((symbol, speed, state, over),) = speed_guard.extrema
    c, U = sympy.Symbol("c"), sympy.Symbol("U")
    assert (state, over) == ("c", ("data", "train.c"))
    assert sympy.simplify(speed - (c * S.NetGrad(U, c) + S.NetCall(U, c))) == 0
    value = speed_guard.bound.subs({D: 0.01, symbol: 1.0})   # the true D, and U = 0.5 c: a = c <= 1
    assert float(value) == pytest.approx(0.02)
    # the module checks both, max|a| by largest_speed (tests/test_stability_guard.py runs it)
    text = emit(model, source, "reaction_diffusion.sciml", "torch")
    assert "STABILITY_BOUNDS = ('h <= 2*D/max|a|^2 and D >= 0', 'h <= dx^2/(2*D) and D >= 0')" in text
    assert "largest_speed(params, ('train', 'c'), lambda p, c: c*grad_U(p, c) + U(p, c))" in text


# -- convolutions as operators --------------------------------------------------------------

def test_a_learned_kernel_is_reported_in_its_weights():
    (d,) = by_code(findings(grid("dt(u) = conv(K, u)")), "A509")
    assert data(d)["operator"] == ("(K[1] + K[2] + K[3]) + dx*(-K[1] + K[3]) d/dx "
                                   "+ dx^2*(K[1] + K[3])/2 d2/dx2")
    assert data(d)["betas"] == ["K[1] + K[2] + K[3]", "dx*(-K[1] + K[3])",
                                "dx^2*(-K[1] + K[2] - K[3])/4"]
    # the operator as reported, against the kernel run along a periodic grid on sin(2 pi x)
    k1, k2, k3, n = 0.3, -0.5, 0.4, 256
    dx, x = 1 / n, np.arange(n) / n
    u = np.sin(2 * np.pi * x)
    run = k1 * np.roll(u, 1) + k2 * u + k3 * np.roll(u, -1)
    w = 2 * np.pi
    operator = ((k1 + k2 + k3) * u + dx * (k3 - k1) * w * np.cos(w * x)
                - dx**2 * (k1 + k3) / 2 * w**2 * u)
    assert np.max(abs(run - operator)) < 2 * dx**3 * w**3 * max(k1, k3)
    assert np.max(abs(run - operator)) > 0.1 * dx**3 * w**3 / 6 * abs(k3 - k1)   # the next term


def test_fixed_kernels_are_identified():
    source = grid("dt(u) = 0.01 * conv([1, -2, 1] * grid^2, u) - a * conv([-1, 0, 1] * grid / 2, u)"
                  " + conv([0, -1, 1] * grid, u)", nodes=32)
    notes = {data(d)["taps"]: d for d in by_code(findings(source), "A509")}
    second = notes["[1024, -2048, 1024]"]
    assert "= [1, -2, 1]/dx^2, the second difference" in second.message
    assert (data(second)["operator"], data(second)["order"]) == ("d2/dx2", 2)
    first = notes["[-16, 0, 16]"]
    assert (data(first)["operator"], data(first)["order"]) == ("d/dx", 2)
    forward = notes["[0, -32, 32]"]
    assert "the forward difference" in forward.message and data(forward)["order"] == 1


def test_a_fixed_kernel_gets_the_bound_of_its_eigenvalues():
    """0.01 [1, -2, 1]/dx^2 as a kernel is the diffusion nu = 0.01: the same Euler bound."""
    kernel = verdict_of(grid("dt(u) = conv([1, -2, 1] * grid^2 / 100, u)", nodes=32))
    written = verdict_of(grid("dt(u) = nu * d(u, x, x)", nodes=32))
    assert bound(kernel) == pytest.approx(bound(written)) == pytest.approx((1 / 32) ** 2 / 0.02)


def test_the_pde_type_of_grid_equations():
    types = {pde: data(d)["type"] for pde in ("dt(u) = nu * d(u, x, x)", "dt(u) = -a * d(u, x)",
                                              "dt(u) = conv([1, -2, 1] * grid^2, u)")
             for d in by_code(findings(grid(pde, nodes=32)), "A501")}
    assert types == {"dt(u) = nu * d(u, x, x)": "parabolic", "dt(u) = -a * d(u, x)": "hyperbolic",
                     "dt(u) = conv([1, -2, 1] * grid^2, u)": "parabolic"}
    (d,) = by_code(findings(grid("dt(dt(u)) = c^2 * d(u, x, x)", time="leapfrog",
                                 initial="u(x, 0) = sin(pi * x), dt(u)(x, 0) = 0")), "A501")
    assert data(d)["type"] == "hyperbolic"


def test_convolution_errors():
    def codes(source):
        try:
            front_end(source, "m.sciml")
        except SpecError as exc:
            return [d.code for d in exc.diagnostics if d.severity == "error"]
        return []
    assert codes(grid("dt(u) = conv([1, 1], u)")) == ["E273"]
    assert codes(grid("dt(u) = conv(K, 1)")) == ["E272"]
    assert codes(grid("dt(u) = conv(K, u)", two=True)) == ["E206"]
    ode = (ROOT / "specs" / "ode" / "resnet.sciml").read_text()
    assert "E272" in codes(ode.replace("ode ", "ode dt(Y) = conv(K, Y) #", 1))
    source = grid("dt(u) = conv(K, u)")   # written (tests/test_method_of_lines.py runs it)
    assert "convolution(K, u_ends)" in emit(front_end(source, "m.sciml")[1], source, "m.sciml", "torch")
    source = grid("dt(u) = -a * d(u, x)", options=", advection = upwind")   # written: no E901
    assert "upwind_derivative(" in emit(front_end(source, "m.sciml")[1], source, "m.sciml", "torch")


def test_the_convolution_node_keeps_kernel_state_and_axis():
    model = front_end(grid("dt(u) = conv(K, u, y)", two=True), "m.sciml")[1]
    (conv,) = model.equations[0].rhs.atoms(F.Convolution)
    assert conv.args == (sympy.Symbol("K"), sympy.Symbol("u"), sympy.Symbol("y"))


def test_what_the_reader_cannot_judge_gets_no_verdict_and_a_zero_operator_every_h():
    mixed = verdict_of(grid("dt(u) = nu * d(u, x, y)", two=True))
    varying = verdict_of(grid("dt(u) = x * d(u, x, x)"))
    assert (mixed.code, varying.code) == ("A205", "A205")
    assert "the mixed derivative d(d(u, x), y)" in mixed.message
    assert "the coefficient x of a second derivative varies" in varying.message
    assert verdict_of(grid("dt(u) = 0 * a * d(u, x) + sin(x)")).code == "A203"
