"""The step bound of a method-of-lines model (grid_pde): its time integrator against the
spectrum of the semi-discrete operator, A201-A205 at the integrator (`time = ...`).

For each grid equation the operator is read with frozen coefficients (`grid_operator.py`) and
judged against the integrator's stability region (`grid_verdict.py`): stable for every h (A203),
stable at this h with a bound known from constants and the grid (A204), stable for h up to a
bound in the spec's own quantities (A202, a warning, evaluated during training by
`--check-stability`: a learned D, or the largest speed max|a| of a network velocity, which the
runtime evaluates over the data's range of the state), unstable (A201, an error unless
`allow_unstable`) or without a verdict (A205).  Bounds are symbolic in dx (the node spacing, one
symbol where the axes share it) and the spec's names; the message gives the value with this
spec's numbers.
"""
from __future__ import annotations

import dataclasses

import sympy

from sciml.analysis import grid_operator, grid_verdict
from sciml.analysis.found import Found, Options
from sciml.analysis.grid import spacings
from sciml.analysis.grid_operator import Axis, GridOperator
from sciml.analysis.stability import BOUNDED, STABLE, UNKNOWN, UNSTABLE, has_disc_region, region
from sciml.analysis.step_bounds import steps_needed
from sciml.frontend.diagnostics import Diagnostic, finding
from sciml.lowering import ir
from sciml.lowering.mathtext import expr_text, number_text
from sciml.schemes import registry
from sciml.schemes.definition import FIRST_ORDER

UNSTABLE_CODE = "A201"


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    if not isinstance(model.scheme, ir.MethodOfLines):
        return Found()
    context = _Context(model)
    found = [_finding(context, context.prepare(op), options.allow_unstable)
             for op in grid_operator.read(model)]
    return Found(diagnostics=tuple(found), guards=tuple(context.guards))


class _Context:
    """The numbers a bound is evaluated with (constants, spacings, h, initial values), and the
    runtime guards collected on the way."""

    def __init__(self, model: ir.Model):
        self.model = model
        self.time = model.scheme.time
        self.definition = registry.definition_of(self.time)
        self.name = self.definition.short
        self.h = self.time.t_end / self.time.steps if self.time.steps else None
        self.upwind = model.scheme.advection == "upwind"
        self.guards: list[ir.StabilityGuard] = []
        names = [c.name for c in model.constants] + [p.name for p in model.parameters]
        self.real = {sympy.Symbol(n): sympy.Symbol(n, real=True) for n in names}
        self.values = {self.real[sympy.Symbol(c.name)]: c.value for c in model.constants
                       if not isinstance(c.value, sympy.MatrixBase)}
        self.params = {self.real[sympy.Symbol(p.name)] for p in model.parameters if p.shape in ((), (1,))}
        self.initial = {self.real[sympy.Symbol(p.name)]: p.init.value for p in model.parameters
                        if p.init.kind == "value" and p.init.value is not None
                        and not isinstance(p.init.value, sympy.MatrixBase)}
        self.initial.update({self.real[sympy.Symbol(p.name)]: sympy.S.Zero for p in model.parameters
                             if p.init.kind == "zeros" and p.shape in ((), (1,))})
        self.shared = {}    # dy -> dx where the spacings are equal: one symbol in the bounds
        first = {}
        for axis in spacings(model):
            self.values[axis.symbol] = axis.value
            if axis.value in first:
                self.shared[axis.symbol] = first[axis.value]
            first.setdefault(axis.value, axis.symbol)

    def prepare(self, op: GridOperator) -> GridOperator:
        """The operator with real symbols for the spec's names and the shared spacing symbol."""
        swap = {**self.real, **self.shared}

        def real(expr):
            return sympy.sympify(expr).xreplace(swap)

        def axis(a: Axis) -> Axis:
            spacing = a.spacing
            if spacing.symbol in self.shared:
                spacing = dataclasses.replace(spacing, symbol=self.shared[spacing.symbol])
            return Axis(spacing, real(a.diffusion), real(a.speed),
                        tuple(tuple(real(t) for t in k) for k in a.kernels))
        return dataclasses.replace(op, axes=tuple(axis(a) for a in op.axes))

    def spacing_text(self) -> str:
        axes = spacings(self.model)
        shown = dict.fromkeys(f"{self.shared.get(a.symbol, a.symbol)} = {expr_text(a.value)}" for a in axes)
        return ", ".join(shown)


def _finding(ctx: _Context, op: GridOperator, allow_unstable: bool) -> Diagnostic:
    v = grid_verdict.verdict(op, ctx.definition, ctx.upwind, ctx.values)
    where = f"on the grid of {op.state} ({ctx.spacing_text()})"
    base = {"scheme": ctx.time.kind, "state": op.state, "h": ctx.h, "spacing": ctx.spacing_text(),
            "advection": ctx.model.scheme.advection, "verdict": v.kind}
    span = ctx.time.span
    if v.kind == UNKNOWN:
        return finding("A205", "note", f"no stability verdict for {ctx.name} {where}: {v.reason}", span,
                       "the method of lines is judged for constant-coefficient diffusion, transport "
                       "(a speed frozen at its largest value) and 3-tap convolutions; see "
                       "docs/analysis.md", **base)
    spectrum = spectrum_text(op, ctx.upwind, ctx.values)
    if v.kind == UNSTABLE:
        return _unstable(ctx, f"{ctx.name} is unstable for every h {where}: {spectrum}, and {v.reason}",
                         _remedy(ctx, op), allow_unstable, base)
    if v.kind == STABLE:
        return finding("A203", "note", f"{ctx.name} is stable for every h {where}: {v.reason}", span,
                       **base)
    return _bounded(ctx, op, v, where, spectrum, allow_unstable, base)


def _bounded(ctx, op, v, where, spectrum, allow_unstable, base) -> Diagnostic:
    rel = "<" if v.strict else "<="
    text = bound_text(v.bound)
    qualifier = " (a sufficient bound)" if not v.sharp else (f" ({v.reason})" if v.reason else "")
    requires = [r for r in (r.xreplace(ctx.values) for r in v.requires) if r is not sympy.true]
    req_text = "".join(f" and {expr_text(r)}" for r in requires)
    value = v.bound.xreplace(ctx.values)
    data = dict(base, bound=text, strict=v.strict, sharp=v.sharp,
                requires=", ".join(expr_text(r) for r in requires) or None)
    lower = _lower_text(op)
    if value.is_number and not (value.is_extended_real and value.is_finite):
        return finding("A205", "note", f"no stability verdict for {ctx.name} {where}: the bound "
                       f"{text} is {expr_text(value)} with this spec's constants", ctx.time.span,
                       "a coefficient is 0 where the bound divides by it", **dict(base, verdict=UNKNOWN))
    if value.is_number:
        limit = float(value)
        data.update(bound_value=limit)
        shown = number_text(limit) if value == v.bound else f"{text} = {number_text(limit)}"
        if (ctx.h < limit) if v.strict else (ctx.h <= limit):
            return finding("A204", "note", f"{ctx.name} is stable at this step {where}: h = "
                           f"{number_text(ctx.h)} {rel} {shown}{qualifier}, from {spectrum}{lower}",
                           ctx.time.span, _refine_help(ctx, op, v.bound), **data)
        steps = steps_needed(ctx.time.t_end, limit, v.strict) if limit > 0 else None
        help = (f"use at least {steps} steps (h = T/steps {rel} {number_text(limit)})" if steps
                else "no step size is stable")
        if op.has_diffusion and not ctx.definition.matrix_options:
            help += f"; or take the diffusion implicitly: time = {_implicit().name}(steps, T)"
        return _unstable(ctx, f"{ctx.name} is unstable at this step {where}: h = {number_text(ctx.h)} "
                         f"but {spectrum} needs h {rel} {shown}{lower}", help, allow_unstable,
                         dict(data, verdict=UNSTABLE))
    for part in (v.bound.args if isinstance(v.bound, sympy.Min) else ()):
        number = part.xreplace(ctx.values)
        if number.is_number and number.is_finite and not ((ctx.h < number) if v.strict else (ctx.h <= number)):
            limit = float(number)
            steps = steps_needed(ctx.time.t_end, limit, v.strict) if limit > 0 else None
            return _unstable(ctx, f"{ctx.name} is unstable at this step {where}: h = {number_text(ctx.h)} "
                             f"but {spectrum} needs h {rel} {bound_text(part)} = {number_text(limit)}{lower}",
                             f"use at least {steps} steps (h = T/steps {rel} {number_text(limit)})" if steps
                             else "no step size is stable", allow_unstable, dict(data, verdict=UNSTABLE))
    extrema = [e for e in op.extrema if e.symbol in value.free_symbols]
    message = (f"{ctx.name} is stable only for h {rel} {text}{req_text}{qualifier} {where}, from "
               f"{spectrum}{_extrema_text(extrema)}; here h = {number_text(ctx.h)}")
    at_initial = value.xreplace(ctx.initial)
    names = sorted((p for p in value.free_symbols if p in ctx.initial), key=lambda p: p.name)
    if names:
        shown = ", ".join(f"{p} = {expr_text(ctx.initial[p])}" for p in names)
        if at_initial.is_number:
            message += f"; at the initial values ({shown}) the bound is {number_text(float(at_initial))}"
        else:
            message += f"; at the initial values ({shown}) it is {expr_text(at_initial)}"
    readable = ctx.params | {e.symbol for e in op.extrema}
    unread = sorted(s.name for s in value.free_symbols if s not in readable)
    help = (f"the bound reads {', '.join(unread)}, which no runtime check evaluates: keep h "
            "well below it" if unread else "")
    symbols = value.free_symbols.union(*(r.free_symbols for r in requires))
    if symbols and symbols <= readable:
        # one guard per part of a min(...): h <= min(a, b) is h <= a and h <= b
        first = len(ctx.guards)
        for part in (v.bound.args if isinstance(v.bound, sympy.Min) else (v.bound,)):
            bound = part.xreplace(ctx.values)
            if bound.is_number:   # a part known from constants: it holds (else A201 above)
                continue
            ctx.guards.append(ir.StabilityGuard(
                text=f"h {rel} {bound_text(part)}{req_text}", bound=bound, strict=v.strict,
                requires=tuple(requires), norms=(), literals=(),
                extrema=tuple((e.symbol, e.speed, e.state, e.over) for e in extrema
                              if e.symbol in bound.free_symbols), span=ctx.time.span))
        checked = [g.text for g in ctx.guards[first:]]
        data.update(runtime_check=bool(checked))
        help = "run the emitted module with --check-stability to check the bound during training"
        if extrema:   # the guard says how to evaluate it (StabilityGuard.extrema)
            over = "the data's values" if any(e.over[0] == "data" for e in extrema) else "its initial values"
            help += (f" (max|a|, the largest speed over {over} of {op.state}, with the current "
                     "weights; a grid model's method-of-lines module evaluates it)")
    return finding("A202", "warning", message + lower, ctx.time.span, help, **data)


def _implicit():
    """The scheme with an implicit operator (IMEX): on a grid, the diffusion."""
    return next(d for d in registry.DEFINITIONS if d.matrix_options)


def _unstable(ctx, message, help, allow_unstable, data) -> Diagnostic:
    if allow_unstable:
        return finding(UNSTABLE_CODE, "warning", message, ctx.time.span,
                       "allowed by --allow-unstable; " + help, allowed=True, **data)
    return finding(UNSTABLE_CODE, "error", message, ctx.time.span,
                   help + "; or pass --allow-unstable to compile anyway", allowed=False, **data)


def _remedy(ctx, op) -> str:
    """What makes an unstable grid step stable: for transport, upwind differences under forward
    Euler, or the recommended explicit scheme, whose region holds part of the imaginary axis."""
    if not op.has_transport:
        return "check the sign of the diffusion: a backward heat equation is ill-posed"
    options = []
    disc = next(d for d in registry.DEFINITIONS if has_disc_region(d))
    explicit = registry.recommended(FIRST_ORDER)
    on_axis = number_text(float(region(explicit).imaginary_limit))
    for scheme, upwind, what in ((disc, True, "difference the transport upwind, "
                                  "method_of_lines(..., advection = upwind)"),
                                 (explicit, ctx.upwind, f"or use {explicit.name}, whose region holds "
                                  f"the imaginary axis up to {on_axis}")):
        if (scheme.name, upwind) == (ctx.time.kind, ctx.upwind):
            continue
        other = grid_verdict.verdict(op, scheme, upwind, ctx.values)
        if other.kind == BOUNDED:
            value = other.bound.xreplace(ctx.values).xreplace(ctx.initial)
            here = f" (here {number_text(float(value))})" if value.is_number else ""
            options.append(f"{what}: h <= {bound_text(other.bound)}{here}")
    if not op.has_diffusion:
        options.append("or add diffusion")
    return "; ".join(options) or "add diffusion, or difference the transport upwind"


def _refine_help(ctx, op, bound) -> str:
    """How the bound moves when the grid is refined: as dx^2, dx, or not at all."""
    dx = {a.spacing.symbol for a in op.axes}
    fine = {s: ctx.values[s] / 2 for s in dx}
    value, halved = (sympy.sympify(bound).xreplace({**ctx.values, **grid}) for grid in ({}, fine))
    ratio = float(halved / value) if value.is_number and value != 0 and halved.is_number else None
    text = "the bound depends only on constants of the spec and the grid"
    if sympy.sympify(bound).is_number:
        return text + "; it was found for this grid's dx, and moves when the grid is refined"
    if ratio is None or abs(ratio - 1) < 1e-9:
        return text + ("; it does not depend on dx" if ratio is not None else "")
    order = next((f"dx^{k}" if k > 1 else "dx" for k in (1, 2) if abs(ratio - 2.0**-k) < 1e-9), None)
    return text + (f"; it falls as {order} when the grid is refined" if order else
                   f"; it falls by {number_text(1 / ratio)}x when dx is halved")


def bound_text(bound) -> str:
    """A bound in the spec's notation; a region's constant times the spectrum's inverse extent
    (2.785 * dx^2/(4*nu) for Runge-Kutta 4) keeps the two apart."""
    if isinstance(bound, sympy.Mul) and len(bound.args) == 2 and bound.args[0].is_Float \
            and not bound.args[1].is_number:
        return f"{number_text(bound.args[0])}*{expr_text(bound.args[1])}"
    return expr_text(bound)


def spectrum_text(op: GridOperator, upwind: bool, values: dict) -> str:
    """Where the operator's eigenvalues lie, axis by axis, in the spec's names and dx."""
    moving = [a for a in op.axes if a.diffusion != 0 or a.speed != 0 or a.kernels]
    if not moving:
        return "no term that differentiates the state"
    return " plus ".join(_axis_text(a, upwind, len(op.axes) > 1, values) for a in moving)


def _axis_text(a: Axis, upwind: bool, along: bool, values: dict) -> str:
    dx = a.spacing.symbol
    A, B = a.dissipation(upwind), a.transport()
    names = []
    if a.diffusion != 0:
        names.append("the second difference")
    if a.speed != 0:
        names.append(("upwind" if upwind else "central") + " differences of the transport")
    if a.kernels:
        names.append("the kernel" + ("s" if len(a.kernels) > 1 else ""))
    what = " and ".join(names) + (f" along {a.coordinate}" if along else "")
    if B == 0:
        end = expr_text(-2 * A)
        backward = (-2 * A).xreplace(values).is_positive
        return f"{what} (eigenvalues in " + (f"[0, {end}])" if backward else f"[{end}, 0])")
    if A == 0:
        return f"{what} (eigenvalues +-i*{_paren(B)} sin(k {dx}), on the imaginary axis)"
    if upwind and not a.kernels and a.diffusion == 0:
        return f"{what} (eigenvalues on the circle |z + {expr_text(A)}| = {expr_text(A)})"
    return f"{what} (eigenvalues -{_paren(A)} (1 - cos(k {dx})) + i*{_paren(B)} sin(k {dx}))"


def _paren(expr) -> str:
    text = expr_text(expr)
    return f"({text})" if expr.is_Add else text


def _extrema_text(extrema) -> str:
    out = []
    for e in extrema:
        over = {"data": f"the values of {e.over[-1]}", "initial": f"the initial values of {e.state}",
                "nodes": "the grid's nodes"}[e.over[0]]
        out.append(f" ({e.symbol} = max |{expr_text(e.speed)}| over {over})")
    return "".join(out)


def _lower_text(op) -> str:
    """The terms of order zero the bound leaves out: reactions, sources, a kernel's sum of taps."""
    order_zero = [expr_text(t) for t in op.lower]
    order_zero += [f"the kernels' sum of taps {expr_text(k)}" for a in op.axes
                   for k in [a.order_zero()] if k != 0]
    if not order_zero:
        return ""
    shown = ", ".join(order_zero[:3]) + (", ..." if len(order_zero) > 3 else "")
    return f" (the terms of order zero are left out: {shown}; they do not grow as dx shrinks)"
