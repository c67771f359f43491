"""Convolutions as operators (seed 002): what each `conv(K, u)` of a grid equation approximates
(A509, a note at the pde line).

A 3-tap kernel run along x as a CNN runs it, K1 u_{i-1} + K2 u_i + K3 u_{i+1}, acts on a smooth u
as its Taylor expansion (`stencils.taylor_operator`),

    (K1 + K2 + K3) u + dx (K3 - K1) u_x + dx^2 (K1 + K3)/2 u_xx + dx^3 (K3 - K1)/6 u_xxx + ...,

reported in the weights for a learned kernel, with seed 002's betas (`stencils.stencil_betas`:
the operator beta1 + beta2 d/dx - beta3 d2/dx2 that the kernel tends to as dx -> 0 with its betas
held fixed).  A kernel of numbers is identified with the grid's own dx: [1, -2, 1]/dx^2 is the
second difference, d2/dx2 to second order; [-1, 0, 1]/(2 dx) the central difference, d/dx to
second order; a one-sided difference d/dx to first order; anything else its expansion.
"""
from __future__ import annotations

import sympy

from sciml.analysis import stencils
from sciml.analysis.found import Found, Options
from sciml.analysis.grid import kernel_taps, spacings
from sciml.frontend.diagnostics import finding
from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.lowering.mathtext import expr_text, number_text

CODE = "A509"


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    grid = {s.coordinate: s for s in spacings(model)}
    out = []
    for eq in model.equations:
        for conv in sorted(eq.rhs.atoms(F.Convolution), key=str):
            kernel, _, coordinate = conv.args
            taps = kernel_taps(kernel, model)
            if taps is None:
                continue
            spacing = grid[str(coordinate)]
            text, data = describe(taps, spacing)
            out.append(finding(CODE, "note", f"{expr_text(conv)} {text}", eq.span,
                               _help(taps), state=eq.state, kernel=expr_text(kernel),
                               spacing=f"{spacing.symbol} = {expr_text(spacing.value)}", **data))
    return Found(tuple(out))


def describe(taps, spacing) -> tuple[str, dict]:
    """The operator a kernel acts as on this grid, as text, and the finding's data."""
    dx, x = spacing.symbol, spacing.coordinate
    expansion = stencils.taylor_operator(taps, dx)
    where = f"({dx} = {expr_text(spacing.value)})"
    if all(sympy.sympify(t).is_number for t in taps):
        return _identified(taps, spacing, where)
    betas = stencils.stencil_betas(taps, dx)
    beta_text = ", ".join(f"beta{k} = {expr_text(b)}" for k, b in enumerate(betas, 1))
    return (f"acts on smooth values as {expansion.text(x)} + O({dx}^3) "
            f"{where}; in seed 002's basis {beta_text}: beta1 + beta2 d/d{x} - beta3 d2/d{x}2 as "
            f"{dx} -> 0 with the betas held fixed", {
                "operator": expansion.text(x), "betas": [expr_text(b) for b in betas]})


def _identified(taps, spacing, where) -> tuple[str, dict]:
    dx, x = spacing.symbol, spacing.coordinate
    value = spacing.value
    k1, k2, k3 = (sympy.nsimplify(t, rational=True) for t in taps)
    c0, c1, c2 = k1 + k2 + k3, value * (k3 - k1), value**2 * (k1 + k3) / 2
    shown = "[" + ", ".join(expr_text(t) for t in (k1, k2, k3)) + "]"
    operator = stencils.Operator(*(sympy.nsimplify(c) for c in (c0, c1, c2))).text(x)
    small = 1e-12 * float(max(abs(k1), abs(k2), abs(k3)))
    # c_k is dx^k/k! times the sum (k = 0), the difference (1) or the sum of the ends (2)
    z0, z1, z2 = (abs(float(s)) <= small for s in (k1 + k2 + k3, k3 - k1, k1 + k3))
    if z0 and z1 and not z2:
        name = f"{_scaled(c2)}[1, -2, 1]/{dx}^2, the second difference"
        order = 2
    elif z0 and z2 and not z1:
        name = f"{_scaled(c1)}[-1, 0, 1]/(2 {dx}), the central difference"
        order = 2
    elif z0 and not z1 and (k1 == 0 or k3 == 0):
        side = "backward" if k3 == 0 else "forward"
        name = f"{_scaled(c1)}{'[-1, 1, 0]' if k3 == 0 else '[0, -1, 1]'}/{dx}, the {side} difference"
        order = 1
    else:
        return (f"is {shown} {where}: it acts on smooth values as {operator} + O({dx}^3)",
                {"operator": operator, "taps": shown})
    leading = sympy.nsimplify(c2 if z1 else c1)
    term = f"d2/d{x}2" if z1 else f"d/d{x}"
    main = term if leading == 1 else f"{expr_text(leading)} {term}"
    return (f"is {shown} = {name} {where}: it approximates {main} to order {order} in {dx}",
            {"operator": main, "taps": shown, "order": order})


def _scaled(c) -> str:
    c = sympy.nsimplify(c)
    return "" if c == 1 else ("-" if c == -1 else f"{number_text(float(c))}*")


def _help(taps) -> str:
    if all(sympy.sympify(t).is_number for t in taps):
        return "a fixed stencil: the step bound of its eigenvalues is the integrator's finding"
    return ("a learned kernel: training moves its weights, and the operator with them; "
            "K1 + K2 + K3 acts like a reaction, (K3 - K1) dx like a transport speed, "
            "(K1 + K3) dx^2/2 like a diffusion coefficient")

