"""What to change when a scheme is unstable on the model, or when its bound reads learned
weights: the help lines of the stability verdicts (A201, A202)."""
from __future__ import annotations

import math

import sympy

from sciml.analysis.jacobian.forms import Structure
from sciml.analysis.jacobian.terms import MAX_SLOPE
from sciml.analysis.stability import DAMPED, IMAGINARY, has_disc_region, region
from sciml.lowering.mathtext import expr_text, number_text
from sciml.schemes import registry
from sciml.schemes.registry import FIRST_ORDER, SEPARABLE_PAIR


def remedy(ctx, s: Structure) -> str:
    """What to change: the damping gamma that forward Euler needs at this h, or another scheme
    (`ctx`: the stability verdict's context, with the scheme and h)."""
    h = ctx.h
    sp = s.spectrum
    explicit, pair = registry.recommended(FIRST_ORDER), registry.recommended(SEPARABLE_PAIR)
    on_axis = expr_text(region(explicit).imaginary_limit)
    if ctx.definition.matrix_options and sp.kind == IMAGINARY:
        inside = f" or inside sigma, ({s.hint} - gamma*I)" if s.hint else ""
        stable = f" (stable for h*norm2({s.hint}) <= {on_axis})" if s.hint else ""
        return (f"add damping: a term -gamma*{s.states[0]} with gamma > 0{inside}; the explicit part "
                "is a forward Euler step, which amplifies undamped rotations, and L cannot damp "
                f"them; or use {explicit.name}{stable}")
    if has_disc_region(ctx.definition) and sp.kind in (IMAGINARY, DAMPED) and s.hint:
        slope = sp.slope if sp.kind == DAMPED else sympy.S.One
        activation = _activation(s)
        c = float(MAX_SLOPE.get(activation, 1)) if activation else float(slope)
        # h c (gamma^2 + w^2) <= 2 gamma at the reference bound w = norm2(hint) = 1
        disc = 1 - (h * c) ** 2
        if disc >= 0:
            low = (1 - math.sqrt(disc)) / (h * c)
            high = (1 + math.sqrt(disc)) / (h * c)
            damping = (f"add damping inside sigma: ({s.hint} - gamma*I), for which forward Euler "
                       f"is stable when h <= 2*gamma/({_slope_text(c)}gamma^2 + norm2({s.hint})^2)); at h = "
                       f"{number_text(h)} and norm2({s.hint}) <= 1 that needs "
                       f"{number_text(low)} <= gamma <= {number_text(high)}")
        else:
            damping = f"use more steps (h*norm2({s.hint}) <= 1), then add damping gamma*I"
        swing = expr_text(region(pair).oscillation_limit)
        alternative = (f"or use {pair.name} (stable for h*norm2 < {swing})" if len(s.states) == 2 else
                       f"or use {explicit.name} (stable for h*norm2({s.hint}) <= {on_axis})")
        return f"{damping}; {alternative}"
    if sp.kind == IMAGINARY and len(s.states) == 2:
        return (f"use {pair.name}, which is stable on imaginary spectra for h*norm2 < "
                f"{expr_text(region(pair).oscillation_limit)}")
    return "add damping (a term -gamma*I with gamma > 0) or use a scheme whose region contains the spectrum"


def _slope_text(c: float) -> str:
    return "" if c == 1 else f"{number_text(c)}*"


def _activation(s: Structure):
    for name in MAX_SLOPE:
        if f"diag({name}')" in s.jacobian:
            return name
    return None


def norm_help(s: Structure, quantity: str) -> str:
    if "lambda_max(" in quantity:
        return ("lambda_max(Hess V) is the largest eigenvalue of the Hessian of the learned V on "
                "the trajectory; more steps keep the bound")
    per_step = f" of {', '.join(s.weights)} at each step" if s.weights else ""
    return (f"norm2 is the spectral norm (the largest singular value){per_step}; the weights are "
            "learned, so the compiler cannot check the bound: more steps or a smaller weight norm "
            "keep it")
