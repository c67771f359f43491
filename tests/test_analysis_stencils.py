"""Deliverable 5 of issue 3: a 3-tap stencil as beta1 + beta2 d/dx + beta3 d2/dx2 (seed 002).

The library functions; `sciml check` uses them for conv(K, u) in grid models (A509), tested in
tests/test_analysis_mol.py."""
import numpy as np
import sympy

from sciml.analysis.stencils import (describe, hx, seed_matrix, stencil_betas, stencil_operator,
                                     taylor_operator)

h = hx
half, quarter = sympy.Rational(1, 2), sympy.Rational(1, 4)


def test_the_seed_basis_stencils_give_the_unit_betas():
    assert stencil_betas([quarter, half, quarter]) == (1, 0, 0)
    assert stencil_betas([-1 / (2 * h), 0, 1 / (2 * h)]) == (0, 1, 0)
    assert stencil_betas([-1 / h**2, 2 / h**2, -1 / h**2]) == (0, 0, 1)


def test_the_relation_is_invertible_for_every_spacing():
    assert sympy.simplify(seed_matrix().det() + 1 / h**3) == 0


def test_general_betas_solve_the_seed_relation():
    theta = sympy.symbols("theta1:4")
    betas = stencil_betas(theta)
    assert betas == (theta[0] + theta[1] + theta[2], h * (theta[2] - theta[0]),
                     h**2 * (-theta[0] + theta[1] - theta[2]) / 4)
    back = seed_matrix() * sympy.Matrix(betas)
    assert sympy.simplify(back - sympy.Matrix(theta)) == sympy.zeros(3, 1)


def test_operator_in_the_limit():
    """beta1 + beta2 d/dx + c2 d2/dx2 with c2 = -beta3: the seed's [-1 2 -1]/h^2 is minus the
    second difference."""
    assert stencil_operator([1 / h**2, -2 / h**2, 1 / h**2]).text() == "d2/dx2"
    assert stencil_operator([-1 / (2 * h), 0, 1 / (2 * h)]).text() == "d/dx"
    assert stencil_operator([quarter, half, quarter]).text() == "1"
    theta = sympy.symbols("theta1:4")
    b1, b2, b3 = stencil_betas(theta)
    op = stencil_operator(theta)
    assert (op.c0, op.c1, sympy.simplify(op.c2 + b3)) == (b1, b2, 0)


def test_the_operator_matches_the_stencil_on_a_smooth_function():
    """Apply the stencil [1, -2, 1]/h^2 + [-1, 0, 1]/(2h) to sin on a fine grid and compare with
    the operator u'' + u' the analysis derives."""
    step = 1e-3
    theta = [1 / step**2 - 1 / (2 * step), -2 / step**2, 1 / step**2 + 1 / (2 * step)]
    op = stencil_operator([sympy.Float(t) for t in theta], sympy.Float(step))
    xs = np.linspace(0.1, 1.0, 10)
    applied = theta[0] * np.sin(xs - step) + theta[1] * np.sin(xs) + theta[2] * np.sin(xs + step)
    predicted = float(op.c0) * np.sin(xs) + float(op.c1) * np.cos(xs) - float(op.c2) * np.sin(xs)
    assert np.allclose(applied, predicted, atol=1e-4)
    assert abs(float(op.c1) - 1) < 1e-9 and abs(float(op.c2) - 1) < 1e-6


def test_taylor_coefficients_and_description():
    theta = sympy.symbols("theta1:4")
    t = taylor_operator(theta)
    assert (t.c0, t.c1, t.c2) == (sum(theta), h * (theta[2] - theta[0]), h**2 * (theta[0] + theta[2]) / 2)
    assert describe([1, 2, 3], sympy.Rational(1, 10)) == (
        "beta1 = 6, beta2 = 1/5, beta3 = -1/200: the stencil approximates 6 + 1/5 d/dx + 1/200 d2/dx2")
