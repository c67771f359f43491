"""The conditions of a field counted against its PDE's orders (A502-A504).

In time: a PDE of order k in t takes k initial conditions, u(x, 0) ... d^(k-1)u/dt^(k-1)(x, 0).
One of order k or more (an initial velocity for the heat equation; any initial condition for an
equation without t derivative) over-determines the solution: an error (A503).  A missing one
leaves it under-determined: a warning at the pde (A504).  In space: a PDE of second order in a
space coordinate needs a condition at each face of the box, its lower and its upper end
(Dirichlet, Neumann, or periodic, which covers both ends): a face without one is a warning
naming it (A502).  First-order directions (transport) need conditions only where the
characteristics enter, which depends on the sign of the velocity: not counted.  The Euler-Lagrange
equation of a Ritz energy is not counted: where no condition is fitted, the natural condition
holds (`ritz.py`, A505).  On a grid, lowering already refuses an end without a condition (E269).
"""
from __future__ import annotations

import sympy

from sciml.analysis import pde_fields as P
from sciml.analysis.found import Found, Options
from sciml.frontend.diagnostics import finding
from sciml.lowering import ir

T = sympy.Symbol("t")


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    """A502 (a face without a condition), A503 (too many initial conditions), A504 (too few)."""
    try:
        equations = P.equations(model)
    except P.NotCalculus:
        return Found()
    out = []
    for field in P.field_names(model):
        reading = [eq for eq in equations if field in eq.fields]
        if not reading:
            continue
        orders = {}
        for eq in reading:
            for x, k in P.orders(eq.expr, field, eq.coordinates).items():
                orders[x] = max(orders.get(x, 0), k)
        first = reading[0]
        if T in first.coordinates:
            out += _initial(model, field, orders.get(T, 0), first.span)
        out += _faces(model, field, orders, first.span)
    return Found(tuple(out))


def _initial(model, field, order, span) -> list:
    given = sorted(((_initial_order(c, model), c) for c in model.conditions
                    if c.section == "initial" and c.target == field), key=lambda oc: oc[0])
    out = []
    needed = [_dt_text(model, field, k) for k in range(order)]
    for k, condition in given:
        if k >= order:
            what = f"first order in t, so {field} takes one initial condition, {needed[0]}" if order == 1 \
                else (f"of order {order} in t, so {field} takes {order} initial conditions, "
                      + ", ".join(needed) if order else "without a t derivative, so it takes no initial condition")
            out.append(finding(
                "A503", "error", f"too many initial conditions: the pde is {what}; "
                f"{_dt_text(model, field, k)} over-determines it", condition.span,
                "remove this line, or write the pde with the t derivative it needs"
                + (f" (dt(dt({field})) = ... takes the initial velocity)" if k == 1 and order == 1 else ""),
                field=field, order=order, condition_order=k))
    missing = [needed[k] for k in range(order) if k not in {g for g, _ in given}]
    if missing:
        out.append(finding(
            "A504", "warning", f"too few initial conditions: the pde is of order {order} in t, "
            f"so {field} needs {', '.join(needed)}; there is none for {', '.join(missing)}", span,
            f"add e.g.: initial {missing[0]} = 0", field=field, order=order,
            missing=", ".join(missing)))
    return out


def _initial_order(condition: ir.Condition, model: ir.Model) -> int:
    if model.kind == "grid_pde":
        return next((i.order for i in model.initials if i.span == condition.span
                     and i.state == condition.target), 0)
    lhs = P.as_calculus(condition.lhs, model)
    return max((P.order_in(d, T) for d in P.field_derivatives(lhs, condition.target,
                                                              P.coordinates(model))), default=0)


def _dt_text(model, field, k) -> str:
    """dt(u)(x, 0) for k = 1: the k-th t derivative of the field at the start of t."""
    at = _at(model, field, "t", next(c.lower for c in model.domain if c.name == "t"))
    return _nested_dt(field, k) + at[len(field):]


def _nested_dt(field, k) -> str:
    text = field
    for _ in range(k):
        text = f"dt({text})"
    return text


def _faces(model, field, orders, span) -> list:
    boundary = [c for c in model.conditions if c.section == "boundary" and c.target == field]
    out = []
    for coordinate in model.domain:
        x = sympy.Symbol(coordinate.name)
        if x == T or orders.get(x, 0) < 2:
            continue
        for end in (coordinate.lower, coordinate.upper):
            covered = any(c.fixed and (c.fixed[0] == (coordinate.name, end) or
                                       (c.kind == "periodic" and c.fixed[0][0] == coordinate.name))
                          for c in boundary)
            if not covered:
                face = f"{coordinate.name} = {end:g}"
                out.append(finding(
                    "A502", "warning", f"no boundary condition at {face}: the pde is of order "
                    f"{orders[x]} in {coordinate.name}, so each end of {coordinate.name} in "
                    f"[{coordinate.lower:g}, {coordinate.upper:g}] needs one", span,
                    f"add e.g.: boundary {_at(model, field, coordinate.name, end)} = 0 (Dirichlet), "
                    f"a d({field}, {coordinate.name}) condition (Neumann), or a periodic pair",
                    field=field, face=face))
    return out


def _at(model, field, name, end) -> str:
    inputs = next((n.inputs for n in model.networks if n.name == field), None) or \
        tuple(c.name for c in model.domain)
    return f"{field}({', '.join(f'{end:g}' if i == name else i for i in inputs)})"
