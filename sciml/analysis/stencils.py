"""Convolution stencils as differential operators (seed 002, "Convolutions and PDEs").

On a 1-D grid of spacing h_x, the 3-tap stencil theta = [theta1 theta2 theta3] is written in the
basis of the averaging, central-difference and second-difference stencils,

    theta = beta1/4 [1 2 1] + beta2/(2 h_x) [-1 0 1] + beta3/h_x^2 [-1 2 -1],

that is, the seed's 3x3 system

    [ 1/4  -1/(2h_x)  -1/h_x^2 ] [beta1]   [theta1]
    [ 1/2   0          2/h_x^2 ] [beta2] = [theta2]
    [ 1/4   1/(2h_x)  -1/h_x^2 ] [beta3]   [theta3]

`stencil_betas` solves it with sympy (the matrix has determinant -1/h_x^3, so the betas are unique
for every h_x > 0).  In the limit h_x -> 0 the stencil acts as beta1 + beta2 d/dx + c2 d2/dx2;
`stencil_operator` derives the coefficients from the Taylor expansion of the stencil applied to a
smooth u (cross-correlation: (K u)_i = theta1 u_{i-1} + theta2 u_i + theta3 u_{i+1}, as a CNN
computes it).  Note the sign the seed leaves implicit: its third basis stencil [-1 2 -1]/h_x^2 is
*minus* the second difference, so c2 = -beta3 (plus beta1 h_x^2/4, which vanishes in the limit);
the seed's "beta1 + beta2 d/dx + beta3 d2/dx2" holds with beta3 read as the coefficient of
-d2/dx2.

A spec holds a stencil as `conv(K, c)` in the pde line of a grid model (a learned `param K :
R[3]`, or fixed taps such as `conv([1, -2, 1] * (grid - 1)^2, c)`); `sciml check` reports the
operator each one approximates with these functions (`grid_convolutions.py`, A509), and the
step bound of its eigenvalues (`grid_verdict.py`).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

hx = sympy.Symbol("h_x", positive=True)


def seed_matrix(h=hx) -> sympy.Matrix:
    """The seed's 3x3 matrix: its columns are the basis stencils."""
    return sympy.Matrix([[sympy.Rational(1, 4), -1 / (2 * h), -1 / h**2],
                         [sympy.Rational(1, 2), 0, 2 / h**2],
                         [sympy.Rational(1, 4), 1 / (2 * h), -1 / h**2]])


def stencil_betas(theta, h=hx) -> tuple:
    """(beta1, beta2, beta3) with seed_matrix(h) * beta = theta, solved by sympy."""
    t = sympy.Matrix([sympy.sympify(x) for x in theta])
    if t.shape != (3, 1):
        raise ValueError("a 3-tap stencil has three entries")
    b = sympy.symbols("beta1:4")
    (solution,) = sympy.linsolve((seed_matrix(h), t), *b)
    return tuple(sympy.simplify(x) for x in solution)


@dataclass(frozen=True)
class Operator:
    """c0 + c1 d/dx + c2 d2/dx2 (+ O(h_x^2) terms that vanish in the limit)."""

    c0: sympy.Expr
    c1: sympy.Expr
    c2: sympy.Expr

    def text(self, coordinate: str = "x") -> str:
        from sciml.lowering.mathtext import expr_text
        parts = []
        for coeff, op in ((self.c0, ""), (self.c1, f" d/d{coordinate}"),
                          (self.c2, f" d2/d{coordinate}2")):
            if coeff != 0:
                c = expr_text(coeff)
                if op and coeff in (1, -1):
                    parts.append(("-" if coeff == -1 else "") + op.strip())
                else:
                    parts.append((f"({c})" if coeff.is_Add else c) + op)
        return " + ".join(parts).replace("+ -", "- ") if parts else "0"


def taylor_operator(theta, h=hx) -> Operator:
    """The stencil's Taylor expansion to second order: theta1 u(x - h) + theta2 u(x) +
    theta3 u(x + h) = c0 u + c1 u' + c2 u'' + O(h^3 u^(3))."""
    x = sympy.Symbol("x")
    u = sympy.Function("u")
    derivatives = [u(x).diff(x, k) for k in range(3)]
    # u(x + s h) = sum_k (s h)^k / k! u^(k)(x)
    expansion = sympy.expand(sum(
        sympy.sympify(t) * sum((s * h) ** k / sympy.factorial(k) * derivatives[k] for k in range(3))
        for t, s in zip(theta, (-1, 0, 1))))
    c2 = expansion.coeff(derivatives[2])
    c1 = sympy.expand(expansion - c2 * derivatives[2]).coeff(derivatives[1])
    c0 = sympy.expand(expansion - c2 * derivatives[2] - c1 * derivatives[1]).coeff(u(x))
    return Operator(*(sympy.simplify(c) for c in (c0, c1, c2)))


def stencil_operator(theta, h=hx) -> Operator:
    """The differential operator the stencil approximates as h_x -> 0 with its betas held fixed:
    the Taylor coefficients of seed_matrix(h) * beta in that limit, at the stencil's betas."""
    b = sympy.symbols("b1:4")
    general = taylor_operator(list(seed_matrix(hx) * sympy.Matrix(b)), hx)
    limit = [sympy.limit(c, hx, 0) for c in (general.c0, general.c1, general.c2)]
    betas = dict(zip(b, stencil_betas(theta, h)))
    return Operator(*(sympy.simplify(c.subs(betas)) for c in limit))


def describe(theta, h=hx) -> str:
    """One line: the betas and the operator, e.g. for a finding about a stencil."""
    from sciml.lowering.mathtext import expr_text
    b1, b2, b3 = stencil_betas(theta, h)
    return (f"beta1 = {expr_text(b1)}, beta2 = {expr_text(b2)}, beta3 = {expr_text(b3)}: "
            f"the stencil approximates {stencil_operator(theta, h).text()}")
