"""Deliverable 1 of issue 3: the structure of each right-hand side (A1xx).

The structural rules are checked twice: on specs (the form found, its message and data), and
numerically (what a form claims about the Jacobian holds for random weights and random
sigma' >= 0), so a wrong rule cannot hide behind a matching message.
"""
import numpy as np
import pytest
import sympy

from analysis_specs import by_code, data, findings, one_state, pair
from sciml.analysis.jacobian.matpoly import MatPoly
from sciml.analysis.jacobian.terms import MAX_SLOPE

RNG = np.random.default_rng(0)


def structure_of(source):
    (d,) = by_code(findings(source), "A10")   # A101-A109: the Jacobian structure (A11x: reversibility, flows)
    return d, data(d)


# -- the matrix algebra is sound -----------------------------------------------------------------

def _evaluate(p: MatPoly, values):
    total = np.zeros((p.rows, p.cols))
    for word, coeff in p.terms:
        m = np.eye(p.rows)
        for name, transposed in word:
            m = m @ (values[name].T if transposed else values[name])
        total += float(coeff) * m
    return total


def test_matpoly_agrees_with_matrices():
    K, L = MatPoly.letter("K", 3, 3), MatPoly.letter("L", 3, 3)
    values = {"K": RNG.normal(size=(3, 3)), "L": RNG.normal(size=(3, 3))}
    k, l_ = values["K"], values["L"]
    expr = (K - K.T) @ L + L.T @ K.scale(2) - MatPoly.identity(3, sympy.Rational(1, 2))
    expected = (k - k.T) @ l_ + 2 * l_.T @ k - 0.5 * np.eye(3)
    assert np.allclose(_evaluate(expr, values), expected)
    assert np.allclose(_evaluate(expr.T, values), expected.T)


def test_matpoly_proves_antisymmetry_and_refuses_what_it_cannot_prove():
    K = MatPoly.letter("K", 4, 4)
    gamma = sympy.Symbol("gamma", real=True)
    A = K - K.T
    assert (A + A.T).is_zero
    damped = A - MatPoly.identity(4, gamma)
    assert (damped + damped.T).identity_multiple() == -2 * gamma
    assert not (K + K.T).is_zero                      # K is free: not antisymmetric
    assert (K.T @ K - (K.T @ K).T).is_zero             # K^T K is symmetric
    assert (-K.T).ratio_to(K.T) == -1
    assert K.ratio_to(K.T) is None


# -- the forms, found in specs ----------------------------------------------------------------

def test_antisymmetric():
    d, info = structure_of(one_state("tanh((K - K^T) * Y + b)", scheme="rk4"))
    assert d.code == "A101" and d.severity == "note"
    assert info["structure"] == "antisymmetric" and info["antisymmetric"] == "K - K^T"
    assert "J = diag(tanh') (K - K^T)" in d.message and "imaginary" in d.help


def test_antisymmetric_with_damping():
    d, info = structure_of(one_state("tanh((K - K^T - gamma * I) * Y + b)"))
    assert d.code == "A102" and info["damping"] == "gamma"
    assert d.message == ("dt(Y): antisymmetric with damping gamma = 0.1: "
                         "J = diag(tanh') (K - K^T - gamma*I)")


def test_damping_outside_the_activation_is_found_too():
    d, info = structure_of(one_state("(K - K^T) * Y - gamma * Y + 0 * b"))
    assert d.code == "A102" and info["damping"] == "gamma"


def test_negative_damping_is_a_growing_model():
    d, _ = structure_of(one_state("tanh((K - K^T + gamma * I) * Y + b)"))
    assert d.code == "A109" and d.severity == "warning"


def test_parabolic_written_two_ways():
    for rhs in ("-K^T * tanh(K * Y + b)", "-(K^T * tanh(K * Y + b))", "-2 * K^T * sigmoid(K * Y + b)"):
        d, info = structure_of(one_state(rhs))
        assert d.code == "A103", rhs
        assert "symmetric negative semi-definite" in d.message and "seed 002" in d.help


def test_anti_diffusion_is_a_growing_model():
    d, _ = structure_of(one_state("K^T * tanh(K * Y + b)"))
    assert d.code == "A109" and "positive semi-definite" in d.message


def test_two_layer_resnet_has_no_structure():
    d, info = structure_of(one_state("K * tanh(K * Y + b)"))
    assert d.code == "A106" and info["jacobian"] == "K diag(tanh') K"


def test_opaque_network_is_structure_unknown():
    source = one_state("F(Y)", params="\nnet F(u) = mlp(2 -> 8 -> 2, tanh)",
                       loss=" + 0 * sum(b)")
    d, info = structure_of(source)
    assert d.code == "A108" and "the network F is opaque" in d.message


def test_non_monotone_activation_gives_no_structure():
    d, info = structure_of(one_state("sin((K - K^T) * Y + b)"))
    assert d.code == "A106" and "not monotone" in d.help


def test_explicit_matrix_eigenvalues_in_the_spec_quantities():
    source = one_state("tanh([[-a, a], [-a, -a]] * Y) + 0 * b", params="\nparam a : R = 0.5")
    d, info = structure_of(source)
    assert d.code == "A107"
    assert info["eigenvalues"] == "-a +- i*a"
    assert "holds when a >= 0" in d.help


def test_hamiltonian_block_form():
    d, info = structure_of(pair("K1^T * tanh(K1 * Z + b1)", "-K2^T * tanh(K2 * Y + b2)"))
    assert d.code == "A104" and info["structure"] == "hamiltonian"
    assert info["jacobian"] == "[[0, K1^T diag(tanh') K1], [-K2^T diag(tanh') K2, 0]]"
    assert info["frequency_bound"] == "norm2(K1)*norm2(K2)"


def test_hamiltonian_form_of_seed_003():
    d, info = structure_of(pair("tanh(K1 * Z + b1)", "-tanh(K1^T * Y + b2)"))
    assert d.code == "A104" and info["frequency_bound"] == "norm2(K1)"


def test_pair_with_equal_signs_is_not_hamiltonian():
    d, _ = structure_of(pair("K1^T * tanh(K1 * Z + b1)", "K2^T * tanh(K2 * Y + b2)"))
    assert d.code == "A108"


def test_second_order_form():
    d, info = structure_of(one_state("-K^T * tanh(K * Y + b)", scheme="leapfrog", second_order=True))
    assert d.code == "A105" and info["frequency"] == "norm2(K)"


# -- the claims, checked numerically ---------------------------------------------------------

def _sigma_prime(n):
    return np.diag(RNG.uniform(0, 1, size=n) * (RNG.uniform(size=n) > 0.2))


@pytest.mark.parametrize("trial", range(20))
def test_claims_hold_for_random_weights_and_slopes(trial):
    n = 5
    K, K1, K2 = (RNG.normal(size=(n, n)) for _ in range(3))
    D, D1, D2 = _sigma_prime(n), _sigma_prime(n), _sigma_prime(n)
    gamma = 0.3
    # antisymmetric: diag(sigma') (K - K^T) has imaginary eigenvalues, |lambda| <= norm2
    ev = np.linalg.eigvals(D @ (K - K.T))
    assert np.allclose(ev.real, 0, atol=1e-9)
    assert np.abs(ev).max() <= np.linalg.norm(K - K.T, 2) + 1e-9
    # damped: Re(lambda) <= 0
    assert np.linalg.eigvals(D @ (K - K.T - gamma * np.eye(n))).real.max() <= 1e-9
    # parabolic: -K^T D K symmetric, eigenvalues in [-norm2(K)^2, 0]
    J = -K.T @ D @ K
    ev = np.linalg.eigvalsh(J)
    assert ev.max() <= 1e-9 and ev.min() >= -np.linalg.norm(K, 2) ** 2 - 1e-9
    # Hamiltonian blocks: imaginary, |lambda| <= norm2(K1) norm2(K2)
    zero = np.zeros((n, n))
    J = np.block([[zero, K1.T @ D1 @ K1], [-K2.T @ D2 @ K2, zero]])
    ev = np.linalg.eigvals(J)
    assert np.allclose(ev.real, 0, atol=1e-6)
    assert np.abs(ev).max() <= np.linalg.norm(K1, 2) * np.linalg.norm(K2, 2) + 1e-9
    # seed 003's form: [[0, D1 K], [-D2 K^T, 0]]
    ev = np.linalg.eigvals(np.block([[zero, D1 @ K], [-D2 @ K.T, zero]]))
    assert np.allclose(ev.real, 0, atol=1e-6)


def test_max_slopes_are_the_activations_own():
    x = sympy.Symbol("x", real=True)
    for name, f in (("tanh", sympy.tanh(x)), ("sigmoid", 1 / (1 + sympy.exp(-x))),
                    ("softplus", sympy.log(1 + sympy.exp(x)))):
        slope = sympy.diff(f, x)
        assert sympy.simplify(slope.subs(x, 0) - MAX_SLOPE[name]) == 0 or name == "softplus"
        assert sympy.limit(slope, x, sympy.oo) == (1 if name == "softplus" else 0)
        samples = [float(slope.subs(x, v)) for v in np.linspace(-8, 8, 161)]
        assert min(samples) >= 0 and max(samples) <= float(MAX_SLOPE[name]) + 1e-12
    assert MAX_SLOPE["relu"] == 1  # relu' is 0 or 1
