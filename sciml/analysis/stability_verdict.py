"""The stability verdict pass: the scheme's stability region against each spectrum (A201-A205).

For each structure the structure pass found, the scheme is stable for every h (A203), stable at
this h with a bound known from constants (A204), stable for h up to a bound in the spec's own
quantities (A202, warning), without a verdict (A205), or unstable (A201, an error unless
`allow_unstable`, which makes it a warning).  The verdicts themselves are `stability.verdict`'s;
this pass evaluates their bounds with the spec's constants, initial values and h, says what to
change (`remedies.py`), and collects the bounds that read only weight norms and scalar
parameters as runtime guards (`--check-stability` evaluates them during training).

IMEX is judged on its explicit part, forward Euler preconditioned by (I + h*L)^-1, together with
lambda_min(L) (`stability.imex_verdict`); its implicit part is the next pass's.
"""
from __future__ import annotations

import sympy

from sciml.analysis.found import Found, Options
from sciml.analysis.jacobian.eigenvalues import smallest_lower_bound
from sciml.analysis.jacobian.forms import Structure
from sciml.analysis.remedies import norm_help, remedy
from sciml.analysis.stability import BOUNDED, GROWING, STABLE, UNKNOWN, UNSTABLE, Verdict, verdict
from sciml.analysis.step_bounds import bound_as_text, steps_needed, weight_limit
from sciml.frontend.diagnostics import Diagnostic, finding
from sciml.lowering import ir
from sciml.lowering.mathtext import expr_text, number_text
from sciml.schemes import registry


UNSTABLE_CODE = "A201"


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    """A verdict for each structure the structure pass found, and the bounds that read learned
    weights, for the runtime check (--check-stability)."""
    context = _Context(model)
    found = [f for s in earlier.structures for f in _verdicts(context, s, options.allow_unstable)]
    # one note where several structures get the same words at the same place (an adaptive
    # scheme's A205 for each of a system's states)
    distinct, said = [], set()
    for f in found:
        if (f.code, f.message, f.span) not in said:
            said.add((f.code, f.message, f.span))
            distinct.append(f)
    return Found(diagnostics=tuple(distinct), guards=tuple(context.guards))


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


def _verdicts(ctx: _Context, s: Structure, allow_unstable: bool) -> list[Diagnostic]:
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


def _bounded(ctx: _Context, s: Structure, v, allow_unstable, base) -> Diagnostic:
    scheme, h = ctx.scheme, ctx.h
    name = ctx.definition.short
    rel = "<" if v.strict else "<="
    bound_text = bound_as_text(v.bound)
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
        steps = steps_needed(scheme.t_end, limit, v.strict) if limit > 0 else None
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
    limit = weight_limit(value, h, v.strict)
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
            help = norm_help(s, quantity)
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
        init_limit = weight_limit(at_init, h, v.strict)
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


def _unstable(ctx, s: Structure, v, allow_unstable, base) -> Diagnostic:
    name = ctx.definition.short
    if s.spectrum.kind == GROWING:
        message = f"{name} cannot be stable here: {v.reason}"
        help = s.meaning
    else:
        message = f"{name} is unstable for every h on {' and '.join(s.states)}: {v.reason}"
        help = remedy(ctx, s)
    return _unstable_at_h(ctx, s, message, help, allow_unstable, dict(base, verdict=UNSTABLE))


def _unstable_at_h(ctx, s, message, help, allow_unstable, data) -> Diagnostic:
    if allow_unstable:
        return finding(UNSTABLE_CODE, "warning", message, ctx.scheme.span,
                       "allowed by --allow-unstable; " + help, allowed=True, **data)
    return finding(UNSTABLE_CODE, "error", message, ctx.scheme.span,
                   help + "; or pass --allow-unstable to compile anyway", allowed=False, **data)


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
    """lambda_min of L (or of its block), or a number a little below it (`smallest_lower_bound`);
    0 when L is not found.  0 is always a lower bound (lowering has checked L >= 0), and a lower
    bound keeps the verdict sound: the IMEX bound only grows with l."""
    if value.shape[0] == 0:
        return sympy.S.Zero
    return smallest_lower_bound(value)
