"""Mean-square stability of a stochastic scheme on a linear SDE (A206; A205 where no verdict).

For d(X) = a X dt + b X dW (a, b numbers, constants or learned scalars; entry by entry), the
scheme's stage applied to it and averaged over dW ~ N(0, h) gives E|X_{j+1}|^2 = R E|X_j|^2
(`schemes/derive.mean_square_factor`, from the definition's stage formula: Euler-Maruyama's
R = (1 + h a)^2 + h b^2, Milstein's adds h^2 b^4 / 2).  R - 1 = h (c0 + c1 h) with c1 >= 0 and
c0 = 2a + b^2 the rate at which the SDE's own E|X|^2 changes (c0 is the limit h -> 0), so the
step is mean-square stable iff c0 < 0 (the SDE is) and h < -c0 / c1.  With `ito = false` the
step integrates the Stratonovich SDE's Itô form, drift (a + b^2/2) X, and c0 = 2a + 2b^2.

Verdicts, at the scheme line: a note when h satisfies the bound with the spec's constants, an
error when it does not (a warning with --allow-unstable, as A201), a note when the SDE itself
is not mean-square stable (no h is; that is the model's growth, not the step's); where a or b is
learned the bound is a runtime bound, judged at the initial values (a note when it holds there,
a warning when it fails).  An equation of another form gets one A205 note saying why.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from sciml.analysis import sde_terms as terms
from sciml.analysis.found import Found, Options
from sciml.analysis.step_bounds import steps_needed
from sciml.frontend.diagnostics import Diagnostic, finding
from sciml.lowering import ir
from sciml.lowering.mathtext import expr_text, number_text
from sciml.schemes import derive, registry
from sciml.schemes.algebra import h
from sciml.schemes.definition import STOCHASTIC_SYSTEM, SchemeDefinition

CODE = "A206"


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    definition = registry.definition_of(model.scheme)
    if STOCHASTIC_SYSTEM not in definition.forms or not model.scheme.steps:
        return Found()
    ito = model.scheme.option("ito", True)
    forms = [terms.linear_form(model, eq) for eq in model.equations]
    found = [_verdict(model, definition, ito, form, options.allow_unstable)
             for form in forms if isinstance(form, terms.LinearSde)]
    reasons = [form for form in forms if isinstance(form, str)]
    if reasons:
        found.append(finding("A205", "note", f"no mean-square stability verdict for {definition.short}: "
                             "it is judged on d(X) = a*X*dt + b*X*dW with a and b numbers, constants "
                             "or learned scalars, and " + "; ".join(reasons), model.scheme.span,
                             scheme=model.scheme.kind, verdict="unknown"))
    return Found(diagnostics=tuple(found))


def growth(definition: SchemeDefinition, ito: bool) -> tuple[sympy.Expr, sympy.Expr]:
    """(c0, c1) with R - 1 = h (c0 + c1 h), R the mean-square factor, in derive's a and b."""
    factor = derive.mean_square_factor(definition, ito)
    per_h = sympy.Poly(sympy.expand((factor - 1) / h), h)
    if per_h.degree() > 1:
        raise ValueError(f"{definition.name}: a mean-square factor of degree {per_h.degree() + 1} in h")
    return per_h.coeff_monomial(1), per_h.coeff_monomial(h)


def bound(definition: SchemeDefinition, ito: bool) -> tuple[sympy.Expr, sympy.Expr]:
    """(the SDE's own rate c0, which must be < 0; the step bound -c0/c1: h < it), in a and b."""
    c0, c1 = growth(definition, ito)
    return c0, sympy.factor(-c0 / c1)


@dataclass(frozen=True)
class _Bound:
    """One linear sde's bound: in derive's a and b, in the spec's quantities, with its constants."""

    name: str                # the scheme, for messages
    state: str
    span: object             # the scheme line's
    h: float
    t_end: float
    factor: sympy.Expr       # R(a, b, h)
    rate: sympy.Expr         # the spec's c0 (< 0: the sde is mean-square stable)
    limit: sympy.Expr        # the spec's bound on h
    rate_value: sympy.Expr   # with the constants' values: a number unless a or b is learned
    limit_value: sympy.Expr
    law: str                 # how the bound follows, for the help
    data: dict


def _verdict(model, definition, ito, form: terms.LinearSde, allow_unstable) -> Diagnostic:
    scheme = model.scheme
    rate, limit = bound(definition, ito)
    factor = derive.mean_square_factor(definition, ito)
    ours = {derive.a: form.a, derive.b: form.b}
    rate_spec, limit_spec = sympy.factor(rate.xreplace(ours)), sympy.factor(limit.xreplace(ours))
    constants = {sympy.Symbol(c.name): c.value for c in model.constants
                 if not isinstance(c.value, sympy.MatrixBase)}
    sense = "" if ito else " (Stratonovich: the step integrates the Itô drift (a + b^2/2)*X)"
    x = form.state
    named = ", ".join(f"{s} = {expr_text(v)}" for s, v in (("a", form.a), ("b", form.b)) if v != sympy.Symbol(s))
    law = (f"on d({x}) = a*{x}*dt + b*{x}*dW{' with ' + named if named else ''}{sense}: E|X_(j+1)|^2 = "
           f"({_factor_text(factor)}) E|X_j|^2, the stage averaged over dW ~ N(0, h), below E|X_j|^2 "
           f"iff h < {expr_text(limit)} and {expr_text(rate)} < 0 (the sde's own E|X|^2 decays)")
    step = scheme.t_end / scheme.steps
    data = {"scheme": scheme.kind, "state": x, "h": step, "a": expr_text(form.a), "b": expr_text(form.b),
            "sense": "Ito" if ito else "Stratonovich", "bound": expr_text(limit_spec),
            "requires": f"{expr_text(rate_spec)} < 0", "factor": _factor_text(factor)}
    b = _Bound(name=definition.short, state=x, span=scheme.span, h=step, t_end=scheme.t_end,
               factor=factor.xreplace(ours).xreplace(constants), rate=rate_spec, limit=limit_spec,
               rate_value=rate_spec.xreplace(constants), limit_value=limit_spec.xreplace(constants),
               law=law, data=data)
    if b.rate_value.is_number and b.limit_value.is_number:
        return _with_constants(b, allow_unstable)
    return _at_runtime(b, _initial_values(model))


def _with_constants(b: _Bound, allow_unstable: bool) -> Diagnostic:
    """The bound is a number: the sde grows (a note: its growth is the model's, no step can be
    stable), h keeps it (a note) or breaks it (an error)."""
    rate = float(b.rate_value)
    if rate >= 0:
        return finding(CODE, "note", f"mean-square stability does not apply to {b.state}: the sde itself "
                       f"grows in mean square, its E|X|^2 changes at the rate {_shown(b.rate, rate)} >= 0",
                       b.span, "that is the model's growth, not the step's; " + b.law,
                       verdict="growing", rate_value=rate, **b.data)
    limit = float(b.limit_value)
    data = dict(b.data, bound_value=limit)
    if b.h < limit:
        return finding(CODE, "note", f"{b.name} is mean-square stable at this step on {b.state}: "
                       f"h = {number_text(b.h)} < {_shown(b.limit, limit)}", b.span, b.law,
                       verdict="stable", **data)
    grows = float(b.factor.xreplace({h: b.h}))
    message = (f"{b.name} is not mean-square stable at this step on {b.state}: h = {number_text(b.h)} "
               f"but it needs h < {_shown(b.limit, limit)}; E|X_j|^2 grows by {number_text(grows)} per "
               "step while the sde's decays")
    help = (f"use at least {steps_needed(b.t_end, limit, strict=True)} steps (h = T/steps < "
            f"{number_text(limit)}); {b.law}")
    if allow_unstable:
        return finding(CODE, "warning", message, b.span, "allowed by --allow-unstable; " + help,
                       verdict="unstable", allowed=True, **data)
    return finding(CODE, "error", message, b.span, help + "; or pass --allow-unstable to compile anyway",
                   verdict="unstable", allowed=False, **data)


def _at_runtime(b: _Bound, initial: dict) -> Diagnostic:
    """The bound reads learned scalars: a runtime bound, judged at their initial values."""
    learned = sorted(b.rate_value.free_symbols | b.limit_value.free_symbols, key=lambda s: s.name)
    message = (f"{b.name} is mean-square stable on {b.state} only for h < {expr_text(b.limit)} with "
               f"{expr_text(b.rate)} < 0, a runtime bound: {', '.join(s.name for s in learned)} "
               f"{'is' if len(learned) == 1 else 'are'} learned; here h = {number_text(b.h)}")
    data = dict(b.data, runtime=True, verdict="bounded")
    rate, limit = b.rate_value.xreplace(initial), b.limit_value.xreplace(initial)
    moves = "training moves them, and the bound with them; "
    if not (rate.is_number and limit.is_number):
        return finding(CODE, "warning", message, b.span, moves + b.law, **data)
    at = ", ".join(f"{s.name} = {expr_text(initial[s])}" for s in learned)
    if float(rate) >= 0:
        return finding(CODE, "note", message + f"; at the initial values ({at}) the sde itself grows in "
                       "mean square, so no step is mean-square stable there", b.span, moves + b.law, **data)
    limit = float(limit)
    data.update(bound_at_initial_values=limit)
    message += f"; at the initial values ({at}) the bound is {number_text(limit)}"
    if b.h < limit:
        return finding(CODE, "note", message + ", which it keeps", b.span, moves + b.law, **data)
    return finding(CODE, "warning", message + ", which it exceeds", b.span,
                   "change the initial values or use more steps; " + b.law, **data)


def _initial_values(model: ir.Model) -> dict:
    """{Symbol: value} of the scalar parameters that start at a value (or at zero)."""
    out = {}
    for p in model.parameters:
        if p.shape not in ((), (1,)):
            continue
        if p.init.kind == "value" and p.init.value is not None and not isinstance(p.init.value, sympy.MatrixBase):
            out[sympy.Symbol(p.name)] = p.init.value
        elif p.init.kind == "zeros":
            out[sympy.Symbol(p.name)] = sympy.S.Zero
    return out


def _shown(expr, value: float) -> str:
    """`-(2*a + b^2)/a^2 = 0.4375`, or the number alone when the expression is one."""
    return number_text(value) if expr.is_number else f"{expr_text(expr)} = {number_text(value)}"


def _factor_text(factor) -> str:
    """R as (deterministic part) + (noise part): (a*h + 1)^2 + b^2*h."""
    deterministic = sympy.factor(factor.subs(derive.b, 0))
    noise = sympy.expand(factor - factor.subs(derive.b, 0))
    return f"{expr_text(deterministic)} + {expr_text(noise)}"
