"""The analysis pass: what the compiler says about a model, as diagnostics (docs/analysis.md).

It runs on the typed IR, after lowering has proved the spec complete and well-typed, and
returns findings; it never changes the model.  In order:

1. structure (`structure.py`): the Jacobian of each right side, networks kept symbolic as
   sigma(K u + b), matched against the forms of the lecture notes (A1xx, notes);
2. stability (`stability.py`): the scheme's stability region against that spectrum: stable for
   every h (A203), stable at this h with a bound known from constants (A204), stable for h up
   to a bound in the spec's own quantities (A202, warning), no verdict (A205), or unstable
   (A201, an error unless `allow_unstable`, which makes it a warning);
3. coupling layers (`coupling.py`): triangular Jacobians, log-determinants, inverses (A11x);
4. well-posedness (`wellposed.py`): unused parameters and networks, parameters the loss never
   sees, activations too rough for the scheme's order (A3xx);
5. sizes (`sizes.py`): the parameter count and the memory of a batch of states (A401), and what
   no machine could run (E231).  It runs first: a model too large to run gets only its size
   errors (the other passes would be slow on sizes nobody can run).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import sympy

from sciml.lowering import ir
from sciml.frontend.diagnostics import Diagnostic, by_position, finding
from sciml.lowering.mathtext import expr_text, number_text
from sciml.analysis.stability import (BOUNDED, DAMPED, GROWING, IMAGINARY, STABLE, UNKNOWN, UNSTABLE, Verdict,
                                      has_disc_region, region, verdict)
from sciml.analysis.structure import FORMS, MAX_SLOPE, Structure, _eigenvalues, structures
from sciml.lowering.coupling import flow_findings
from sciml.analysis.wellposed import findings as wellposedness
from sciml.analysis.sizes import findings as sizes
from sciml.analysis.reversible import reversible_findings
from sciml.schemes import registry
from sciml.schemes.registry import FIRST_ORDER, SEPARABLE_PAIR

UNSTABLE_CODE = "A201"


@dataclass(frozen=True)
class Analysis:
    findings: tuple[Diagnostic, ...]      # sorted by position
    guards: tuple[ir.StabilityGuard, ...]  # bounds a runtime check can evaluate (A202)


def analyse(model: ir.Model, *, allow_unstable: bool = False) -> Analysis:
    """Every finding about `model`, and the step-size bounds that read learned weights."""
    found: list[Diagnostic] = sizes(model)
    if any(d.severity == "error" for d in found):
        return Analysis(by_position(found), ())
    context = _Context(model)
    for s in structures(model):
        found.append(_structure_finding(s))
        found.extend(_stability_findings(context, s, allow_unstable))
    found.extend(_implicit_part(model))
    found.extend(reversible_findings(model))
    found.extend(flow_findings(model))
    found.extend(wellposedness(model))
    return Analysis(by_position(found), tuple(context.guards))


class _Context:
    """The numbers the messages evaluate bounds with: constants, initial values, h; and the
    runtime guards collected on the way."""

    def __init__(self, model: ir.Model):
        self.model = model
        self.guards: list[ir.StabilityGuard] = []
        self.scalar_params = {sympy.Symbol(p.name, real=True) for p in model.parameters
                              if p.shape in ((), (1,))}
        self.scheme = model.scheme
        self.definition = registry.definition_of(model.scheme) if model.scheme else None
        self.h = model.scheme.t_end / model.scheme.steps if model.scheme and model.scheme.steps else None
        self.constants = {sympy.Symbol(c.name, real=True): c.value for c in model.constants
                          if not isinstance(c.value, sympy.MatrixBase)}
        self.initial = {sympy.Symbol(p.name, real=True): p.init.value for p in model.parameters
                        if p.init.kind == "value" and p.init.value is not None
                        and not isinstance(p.init.value, sympy.MatrixBase)}
        self.initial.update({sympy.Symbol(p.name, real=True): sympy.S.Zero for p in model.parameters
                             if p.init.kind == "zeros" and p.shape in ((), (1,))})


def _structure_finding(s: Structure) -> Diagnostic:
    data = {"structure": s.form, "states": ", ".join(s.states), "jacobian": s.jacobian,
            "spectrum": s.spectrum.kind}
    data.update(s.data)
    return finding(FORMS[s.form], s.severity, s.summary, s.span, s.meaning, **data)


# -- scheme against spectrum -------------------------------------------------------------------

def _stability_findings(ctx: _Context, s: Structure, allow_unstable: bool) -> list[Diagnostic]:
    scheme, definition = ctx.scheme, ctx.definition
    name = definition.short
    base = {"scheme": scheme.kind, "structure": s.form, "states": ", ".join(s.states),
            "h": ctx.h}
    if definition.adaptive:
        if s.spectrum.kind == GROWING:
            return [_unstable(ctx, s, verdict(definition, s.spectrum), allow_unstable, base)]
        return [finding("A205", "note", f"no fixed-step verdict for {name}: it chooses each step "
                        "by error control, which also keeps h*lambda inside its stability region",
                        scheme.span, "stiff dynamics show up as many small steps, not as growth",
                        verdict=UNKNOWN, **base)]
    if definition.matrix_options:
        return _explicit_part(ctx, s, allow_unstable, base)
    v = verdict(definition, s.spectrum)
    if v.kind == UNSTABLE:
        return [_unstable(ctx, s, v, allow_unstable, base)]
    if v.kind == STABLE:
        return [finding("A203", "note", f"{name} is stable for every h: {v.reason}", scheme.span,
                        verdict=STABLE, **base)]
    if v.kind == UNKNOWN:
        reason = v.reason or s.spectrum.reason
        return [finding("A205", "note", f"no stability verdict for {name}: {_lower(reason)}",
                        scheme.span, "a structured form (parabolic, antisymmetric, Hamiltonian) "
                        "gets one; see docs/analysis.md", verdict=UNKNOWN, **base)]
    return [_bounded(ctx, s, v, allow_unstable, base)]


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


def _bound_text(bound) -> str:
    """A bound in the spec's notation; Piecewise((b, c), (oo, True)) (IMEX with lambda_min(L) > 0)
    reads `b (every h where not c)`."""
    if isinstance(bound, sympy.Piecewise) and len(bound.args) == 2 and bound.args[1] == (sympy.oo, True):
        (expr, condition), _ = bound.args
        return f"{expr_text(expr)} (every h where {expr_text(condition.negated)})"
    return expr_text(bound)


def _bounded(ctx: _Context, s: Structure, v, allow_unstable, base) -> Diagnostic:
    scheme, h = ctx.scheme, ctx.h
    name = ctx.definition.short
    rel = "<" if v.strict else "<="
    bound_text = _bound_text(v.bound)
    qualifier = "" if v.sharp else " (a sufficient bound)"
    requires = [r.xreplace(ctx.constants) for r in v.requires]
    requires = [r for r in requires if r is not sympy.true]
    req_text = (" and " + " and ".join(expr_text(r) for r in requires)) if requires else ""
    data = dict(base, verdict=BOUNDED, bound=bound_text, strict=v.strict, sharp=v.sharp,
                requires=", ".join(expr_text(r) for r in requires) or None)
    value = v.bound.xreplace(ctx.constants)
    if any(r is sympy.false for r in requires):
        return _unstable(ctx, s, v.__class__(UNSTABLE, reason="the condition " + ", ".join(
            expr_text(r) for r in v.requires) + " fails"), allow_unstable, base)
    if value.is_number and not (value.is_extended_real and value.is_finite):
        return finding("A205", "note", f"no stability verdict for {name}: the bound {bound_text} "
                       f"is {expr_text(value)} with this spec's constants", scheme.span,
                       verdict=UNKNOWN, **base)
    if value.is_number:
        limit = float(value)
        data.update(bound_value=limit)
        ok = h < limit if v.strict else h <= limit
        shown = number_text(limit) if value == v.bound else f"{bound_text} = {number_text(limit)}"
        if ok:
            return finding("A204", "note", f"{name} is stable at this step: h = {number_text(h)} "
                           f"{rel} {shown}{qualifier}", scheme.span,
                           "the bound depends only on constants of the spec", **data)
        steps = _steps_needed(scheme.t_end, limit, v.strict) if limit > 0 else None
        help = (f"use at least {steps} steps (h = T/steps {rel} {number_text(limit)})" if steps
                else "no step size is stable")
        return _unstable_at_h(ctx, s, f"{name} is unstable at this step: h = {number_text(h)} but "
                              f"it needs h {rel} {shown}", help,
                              allow_unstable, dict(data, verdict=UNSTABLE))
    message = f"{name} is stable only for h {rel} {bound_text}{req_text}{qualifier}; here h = {number_text(h)}"
    guard = _guard(ctx, s, value, v.strict, requires, f"h {rel} {bound_text}{req_text}", scheme.span)
    if guard is not None:
        ctx.guards.append(guard)
        data.update(runtime_check=True)
    help = ""
    limit = _weight_limit(value, h, v.strict)
    per_step = " at every step" if s.weights else ""
    if limit is not None:
        quantity, at_most = limit
        if at_most == float("inf"):
            limit = None
        elif at_most is None:
            return _unstable_at_h(ctx, s, f"{name} is unstable at this step for any weights: h = "
                                  f"{number_text(h)} exceeds {bound_text}", "use more steps",
                                  allow_unstable, dict(data, verdict=UNSTABLE))
        else:
            message += f", which holds while {quantity} {rel} {number_text(at_most)}{per_step}"
            data.update(weight_limit=f"{quantity} {rel} {number_text(at_most)}",
                        weight_limit_value=at_most)
            help = _norm_help(s, quantity)
    if s.spectrum.condition:
        message += f" ({s.spectrum.condition})"
    at_init = value.xreplace(ctx.initial)
    names = sorted((p for p in value.free_symbols if p in ctx.initial), key=lambda p: p.name)
    shown = ", ".join(f"{p} = {expr_text(ctx.initial[p])}" for p in names)
    if not limit and names and at_init is sympy.oo:
        message += f"; at the initial values ({shown}) every h is stable"
        help = "it holds there; training moves the parameters"
    elif not limit and names and at_init.is_number:
        init = float(at_init)
        holds = h < init if v.strict else h <= init
        message += f"; at the initial values ({shown}) the bound is {number_text(init)}"
        help = ("it holds there; training moves the parameters" if holds else
                "it fails there already: change the initial values or use more steps")
        data.update(bound_at_initial_values=init)
    elif not limit and names:
        init_limit = _weight_limit(at_init, h, v.strict)
        if init_limit is not None and init_limit[1] not in (None, float("inf")):
            quantity, at_most = init_limit
            message += (f"; at the initial values ({shown}) it holds while {quantity} {rel} "
                        f"{number_text(at_most)}{per_step}")
            help = "training moves the parameters, and the bound with them"
    if guard is not None:
        help = (help + "; " if help else "") + "run the emitted module with --check-stability to check the bound during training"
    return finding("A202", "warning", message, scheme.span, help, **data)


def _guard(ctx: _Context, s: Structure, bound, strict, requires, text, span):
    """The runtime check of a bound that reads only spectral norms of weight matrices and
    scalar parameters (a Hessian on the trajectory, lambda_max(Hess V), cannot be checked)."""
    norms = dict(s.norms)
    readable = set(norms) | ctx.scalar_params
    symbols = bound.free_symbols.union(*(r.free_symbols for r in requires))
    if not symbols or not symbols <= readable:
        return None
    used = tuple((sym, m.rows, m.terms) for sym, m in s.norms if sym in symbols)
    return ir.StabilityGuard(text=text, bound=bound, strict=strict, requires=tuple(requires),
                             norms=used, literals=s.literals, span=span)


def _steps_needed(t_end: float, limit: float, strict: bool) -> int:
    """The fewest steps with h = t_end/steps <= limit (< limit when strict)."""
    steps = max(1, math.ceil(t_end / limit - 1e-12))
    while (t_end / steps >= limit) if strict else (t_end / steps > limit * (1 + 1e-12)):
        steps += 1
    return steps


def _norm_help(s: Structure, quantity: str) -> str:
    if "lambda_max(" in quantity:
        return ("lambda_max(Hess V) is the largest eigenvalue of the Hessian of the learned V on "
                "the trajectory; more steps keep the bound")
    per_step = f" of {', '.join(s.weights)} at each step" if s.weights else ""
    return (f"norm2 is the spectral norm (the largest singular value){per_step}; the weights are "
            "learned, so the compiler cannot check the bound: more steps or a smaller weight norm "
            "keep it")


def _weight_limit(bound, h: float, strict: bool):
    """(quantity, limit) with h <= bound  <=>  quantity <= limit, for a bound that depends on
    the weights only through a product of norms (norm2(K) <= 5.657); limit None when no weights
    satisfy it, inf when all do.  Every bound here decreases as the weights grow, so the limit
    is found by bracketing and bisection on the numbers (a symbolic solve costs ~0.2 s)."""
    norms = sorted((s for s in bound.free_symbols if s.name.startswith(("norm2(", "lambda_max("))),
                   key=lambda s: s.name)
    if not norms or bound.free_symbols - set(norms):
        return None
    w = sympy.Dummy("w", positive=True)
    reduced = bound.xreplace({norms[0]: w / sympy.Mul(*norms[1:])})
    if len(norms) > 1:
        reduced = sympy.cancel(reduced)
    if reduced.free_symbols - {w}:
        return None
    f = sympy.lambdify(w, reduced, "math")
    quantity = expr_text(sympy.Mul(*norms))
    try:
        return quantity, _bisect(f, h)
    except (OverflowError, ZeroDivisionError):   # gamma = 2^1023: gamma^2 is beyond float64
        pass
    import mpmath   # no exponent range: the same bisection on arbitrary-range floats
    g = sympy.lambdify(w, reduced, "mpmath")
    try:
        return quantity, _bisect(lambda x: g(mpmath.mpf(x)), h)
    except (OverflowError, ZeroDivisionError, ValueError, TypeError):
        return None


def _bisect(f, h: float):
    """The largest w with f(w) >= h for a decreasing f: None when none, inf when every w."""
    lo = 1e-12
    if f(lo) < h:
        return None
    hi = 1.0
    while f(hi) >= h:
        hi *= 2
        if hi > 1e12:
            return float("inf")
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) >= h else (lo, mid)
        if hi - lo <= 1e-14 * hi:
            break
    return float(f"{lo:.12g}")


def _unstable(ctx, s: Structure, v, allow_unstable, base) -> Diagnostic:
    name = ctx.definition.short
    if s.spectrum.kind == GROWING:
        message = f"{name} cannot be stable here: {v.reason}"
        help = s.meaning
    else:
        message = f"{name} is unstable for every h on {' and '.join(s.states)}: {v.reason}"
        help = _remedy(ctx, s)
    return _unstable_at_h(ctx, s, message, help, allow_unstable, dict(base, verdict=UNSTABLE))


def _unstable_at_h(ctx, s, message, help, allow_unstable, data) -> Diagnostic:
    if allow_unstable:
        return finding(UNSTABLE_CODE, "warning", message, ctx.scheme.span,
                       "allowed by --allow-unstable; " + help, allowed=True, **data)
    return finding(UNSTABLE_CODE, "error", message, ctx.scheme.span,
                   help + "; or pass --allow-unstable to compile anyway", allowed=False, **data)


def _remedy(ctx, s: Structure) -> str:
    """What to change: the damping gamma that forward Euler needs at this h, or another scheme."""
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


# -- IMEX: the explicit part against L, and the implicit part ------------------------------------

def _explicit_part(ctx: _Context, s: Structure, allow_unstable: bool, base) -> list[Diagnostic]:
    """IMEX's explicit part: forward Euler preconditioned by (I + h*L)^-1, judged on f's Jacobian
    together with lambda_min(L) (`stability.imex_verdict`)."""
    scheme = ctx.scheme
    block = _implicit_block(ctx.model, s.states)
    smallest = _implicit_smallest(block) if block is not None else sympy.S.Zero
    base = dict(base, part="explicit", lambda_min_L=expr_text(smallest))
    if block is None:   # L acts on the stacked state; this structure is part of it, not cut off
        every = ", ".join(state.name for state in ctx.model.states)
        (option,) = ctx.definition.matrix_options
        v = Verdict(UNKNOWN, reason=f"the implicit operator {scheme.option(option)} acts on the "
                    f"stacked state ({every}) and couples {' and '.join(s.states)} with the other "
                    "states, so the step does not split along the structures")
    else:
        v = verdict(ctx.definition, s.spectrum, implicit_min=smallest)
    if v.kind == UNSTABLE:
        return [_unstable(ctx, s, v, allow_unstable, base)]
    if v.kind == STABLE:
        return [finding("A203", "note", f"the explicit part of the IMEX step is stable for every h: "
                        f"{v.reason}", scheme.span, "the step does not grow in the norm "
                        "|x|_P = |(I + h*L)^(1/2) x|, whatever h", verdict=STABLE, **base)]
    if v.kind == UNKNOWN:
        return [finding("A205", "note", "no verdict for the explicit part f(Y) + L*Y of the IMEX "
                        f"step: {_lower(v.reason or s.spectrum.reason)}", scheme.span,
                        "IMEX gets a verdict when f's Jacobian is symmetric negative semi-definite "
                        "(parabolic: -K^T sigma(K Y + b)) or undamped antisymmetric; see "
                        "docs/analysis.md", verdict=UNKNOWN, **base)]
    return [_bounded(ctx, s, v, allow_unstable, base)]


def _implicit_block(model: ir.Model, states) -> sympy.ImmutableMatrix | None:
    """L's block on `states`: its rows and columns of the stacked state (the states in the order
    they are declared); None where L couples them with the other states.  An empty matrix when L
    is not found."""
    (option,) = registry.definition_of(model.scheme).matrix_options
    constant = next((c for c in model.constants if c.name == model.scheme.option(option)), None)
    if constant is None or not isinstance(constant.value, sympy.MatrixBase):
        return sympy.ImmutableMatrix(0, 0, [])
    rows, first = [], 0
    for state in model.states:
        size = state.shape[0] if state.shape else 1
        if state.name in states:
            rows += range(first, first + size)
        first += size
    value = sympy.ImmutableMatrix(constant.value)
    others = [k for k in range(value.shape[0]) if k not in rows]
    if any(not value[i, k].is_zero for i in rows for k in others):
        return None
    return value.extract(rows, rows)


def _implicit_smallest(value: sympy.ImmutableMatrix) -> sympy.Expr:
    """lambda_min of L (or of its block), or a number a little below it: exact where L has
    rational entries and sympy finds a short closed form; else from floating point (relative error
    ~ 1e-16 norm2(L)/l), lowered by 1e-5 relative and taken as 0 below 1e-6 norm2(L); 0 when L is
    not found.  0 is always a lower bound (lowering has checked L >= 0), and a lower bound keeps
    the verdict sound: the IMEX bound only grows with l."""
    if value.shape[0] == 0:
        return sympy.S.Zero
    if all(v.is_Rational for v in value):
        eigen = _eigenvalues(value)
        if eigen is not None and not any(e.has(sympy.Float) for e in eigen):
            low = min(eigen, key=lambda e: float(sympy.re(e)))
            if low.is_real and not low.has(sympy.I) and sympy.count_ops(low) <= 6:
                return low if low.is_nonnegative else sympy.S.Zero
    import numpy as np  # a symmetric eigenvalue problem in floating point, as lowering's check
    matrix = np.array(value.tolist(), dtype=float)
    if not np.all(np.isfinite(matrix)):
        return sympy.S.Zero
    numeric = np.linalg.eigvalsh(matrix)
    top, low = float(np.abs(numeric).max()), float(numeric.min())
    if not low > 1e-6 * top:
        return sympy.S.Zero
    return sympy.Float(float(f"{low * (1 - 1e-5):.6g}"))


def _implicit_part(model: ir.Model) -> list[Diagnostic]:
    scheme = model.scheme
    if scheme is None or not registry.definition_of(scheme).matrix_options:
        return []
    (option,) = registry.definition_of(scheme).matrix_options
    name = scheme.option(option)
    constant = next((c for c in model.constants if c.name == name), None)
    shown, smallest = "", None
    if constant is not None:
        eigen = _eigenvalues(sympy.ImmutableMatrix(constant.value))
        if eigen is not None:
            values = sorted({float(sympy.re(e)) for e in eigen})
            shown = f" (eigenvalues {', '.join(number_text(round(x, 12) + 0.0) for x in values)})"
            smallest = values[0]
    return [finding("A203", "note", f"the implicit part -{name}*Y of the IMEX step is stable for "
                    f"every h: {name} is symmetric positive semi-definite{shown}, so "
                    f"(I + h*{name})^-1 has 2-norm <= 1", scheme.span,
                    "backward Euler damps every mode of the stiff part, whatever the step",
                    scheme=scheme.kind, verdict=STABLE, part="implicit",
                    smallest_eigenvalue=smallest)]
