"""The conditions of each field counted against its pdes' orders and directions (A502-A504, A506,
A507).

In time: a pde of order k in t takes k initial conditions, u(x, 0) ... d^(k-1)u/dt^(k-1)(x, 0)
(`initial dt(u)(x, 0) = g`, or `d(u, t)(x, 0)`, is the initial velocity).  One of order k or
more (an initial velocity for the heat equation; any initial condition for an equation without
t) over-determines the solution: an error (A503).  A missing one leaves it under-determined: a
warning at the pde (A504).  A condition on a space derivative at t = 0, d(u, x)(x, 0), is not
one of them: beside u(x, 0) it over-determines u (A506), alone it fixes u(x, 0) only up to a
constant (A504 still asks for u(x, 0)).

In space (a pinn's box; on a grid lowering already holds one condition at each end, E269): each
face takes what `pde_faces.demands` says, from the order in that coordinate and the direction
of the characteristics.  Too few at a face (none at an inflow face, one where d(u, x, x, x, x)
takes two) is a warning at the pde naming the field and the face (A502); one too many (any at an
outflow face, a second at one end of the heat equation, one at an end of a periodic coordinate)
a warning at that condition's line (A506).  Where only the sum over the two faces is known (an
ode in x, a dispersive term of unknown sign) the sum is compared; where not even that is known
(a speed that reads the field, u in u_t + u u_x) a note says so (A507) and nothing is counted.
A Ritz energy's faces are not counted: where no condition is fitted, the natural condition holds
(`ritz.py`, A505).
"""
from __future__ import annotations

import sympy

from sciml.analysis import pde_characteristics as C
from sciml.analysis import pde_faces
from sciml.analysis import pde_fields as P
from sciml.analysis.found import Found, Options
from sciml.frontend.diagnostics import finding
from sciml.lowering import ir

T = sympy.Symbol("t")


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    """A502 and A506 at the faces, A503, A504 and A506 at the start of t, A507 where not counted."""
    try:
        equations = P.equations(model)
    except P.NotCalculus:
        return Found()
    out = []
    for field in P.field_names(model):
        reading = [eq for eq in equations if field in eq.fields]
        if not reading:
            continue
        order = max(P.orders(eq.expr, field, eq.coordinates).get(T, 0) for eq in reading)
        own = next((eq for eq in reading if field in C.governed(eq)), reading[0])
        if T in own.coordinates:
            out += _initial(model, field, order, own.span)
    if model.kind == "pinn":
        for demand in pde_faces.demands(model, equations):
            out += _faces(model, demand)
    return Found(tuple(out))


# -- the start of t -----------------------------------------------------------------------------

def _initial(model, field, order, span) -> list:
    conditions = [c for c in model.conditions if c.section == "initial" and c.target == field]
    if model.kind != "grid_pde":   # a grid's lines are distinct already (E304), and u(x, 0) and
        conditions = pde_faces.distinct(conditions)   # dt(u)(x, 0) share the left side u there
    given = sorted(((_initial_order(c, model), c) for c in conditions), key=lambda oc: oc[0])
    plain = {k for k, c in given if not _in_space(c, model)}
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
        elif _in_space(condition, model) and k in plain:
            text = pde_faces.condition_text(model, condition)
            out.append(finding(
                "A506", "warning", f"{text} over-determines {field}: {needed[k]} is given, and it "
                f"fixes the space derivatives of {_nested_dt(field, k)} at the start of t too",
                condition.span,
                f"remove this line, or the condition on {needed[k]}", field=field, face="t = start"))
    missing = [needed[k] for k in range(order) if k not in plain]
    if missing:
        derivative = [pde_faces.condition_text(model, c) for k, c in given if k < order and k not in plain]
        also = f" ({', '.join(derivative)} fixes a space derivative, so {field} only up to a constant)" \
            if derivative else ""
        out.append(finding(
            "A504", "warning", f"too few initial conditions: the pde is of order {order} in t, "
            f"so {field} needs {', '.join(needed)}; there is none for {', '.join(missing)}{also}", span,
            f"add e.g.: initial {missing[0]} = 0", field=field, order=order,
            missing=", ".join(missing)))
    return out


def _initial_order(condition: ir.Condition, model: ir.Model) -> int:
    if model.kind == "grid_pde":
        return next((i.order for i in model.initials if i.span == condition.span
                     and i.state == condition.target), 0)
    return max((P.order_in(d, T) for d in pde_faces.condition_derivatives(condition, model)), default=0)


def _in_space(condition: ir.Condition, model: ir.Model) -> bool:
    """The condition holds a space derivative: d(u, x)(x, 0)."""
    if model.kind == "grid_pde":
        return False
    return any(P.order_in(d, x) for d in pde_faces.condition_derivatives(condition, model)
               for x in P.coordinates(model) if x != T)


def _dt_text(model, field, k) -> str:
    """dt(u)(x, 0) for k = 1: the k-th t derivative of the field at the start of t."""
    at = pde_faces.point_text(model, field, "t", next(c.lower for c in model.domain if c.name == "t"))
    return _nested_dt(field, k) + at[len(field):]


def _nested_dt(field, k) -> str:
    text = field
    for _ in range(k):
        text = f"dt({text})"
    return text


# -- the faces of the box -----------------------------------------------------------------------

def _faces(model, demand: pde_faces.Demand) -> list:
    name = demand.coordinate.name
    ends = (demand.coordinate.lower, demand.coordinate.upper)
    boundary = pde_faces.distinct(c for c in model.conditions
                                  if c.section == "boundary" and c.target in demand.fields)
    periodic = [c for c in boundary if c.kind == "periodic" and c.fixed[0][0] == name]
    at_face = {end: [c for c in boundary if c.kind != "periodic" and c.fixed == ((name, end),)]
               for end in ends}
    fields = ", ".join(demand.fields)
    if periodic:
        return _periodic(model, demand, periodic, at_face)
    if demand.total is None:
        return [finding(
            "A507", "note", f"the boundary conditions of {fields} at the ends of {name} are not "
            f"counted: {demand.reason}{_learned(model, demand)}", demand.span, demand.remedy,
            field=fields, coordinate=name,
            given=", ".join(pde_faces.condition_text(model, c) for end in ends for c in at_face[end]))]
    if demand.lower is None:
        return _in_all(model, demand, at_face)
    out = []
    for end, other in (ends, ends[::-1]):
        n, given = demand.at(end), at_face[end]
        face = f"{name} = {end:g}"
        if len(given) < n:
            count = "no boundary condition" if not given else \
                f"{len(given)} boundary condition{'s' if len(given) > 1 else ''}"
            takes = "" if not given else f", which takes {n}"
            out.append(finding(
                "A502", "warning", f"{count} at {face} for {fields}{takes}: {demand.reason}"
                f"{_learned(model, demand)}", demand.span, _missing_help(model, demand, end, given),
                field=fields, face=face, needed=n, given=len(given)))
        for condition in given[n:]:
            text = pde_faces.condition_text(model, condition)
            if n == 0 and demand.kind == "transport":
                label = demand.faces[ends.index(end)]
                where = f"the outflow face {face}" if label == "outflow" else \
                    f"{face}, where no characteristic enters,"
                message = f"{text} at {where} over-determines {fields}: {demand.reason}"
                remedy = (f"remove it: the values at {face} come from the initial condition"
                          + (f" and the inflow face {name} = {other:g}" if demand.at(other) else ""))
            else:
                message = (f"{fields} {'has' if len(demand.fields) == 1 else 'have'} {len(given)} boundary "
                           f"condition{'s' if len(given) > 1 else ''} at {face}, which takes {n}: "
                           f"{text} over-determines {'it' if len(demand.fields) == 1 else 'them'} "
                           f"({demand.reason})")
                short = len(at_face[other]) < demand.at(other)
                remedy = "remove it" + (f", or move it to {name} = {other:g}, which is short of one"
                                        if short else "")
            out.append(finding("A506", "warning", message + _learned(model, demand), condition.span,
                               remedy, field=fields, face=face, needed=n, given=len(given)))
    return out


def _in_all(model, demand, at_face) -> list:
    """A502 or A506 where only the sum over the two faces of the coordinate is known."""
    name = demand.coordinate.name
    fields = ", ".join(demand.fields)
    given = sorted((c for cs in at_face.values() for c in cs),
                   key=lambda c: (c.span.line, c.span.column))
    if len(given) < demand.total:
        end = demand.coordinate.lower if len(at_face[demand.coordinate.lower]) <= \
            len(at_face[demand.coordinate.upper]) else demand.coordinate.upper
        return [finding(
            "A502", "warning", ("no boundary condition" if not given else f"{len(given)} boundary "
                                f"condition{'' if len(given) == 1 else 's'}") + f" at the ends of {name} "
            f"for {fields}, which take {demand.total} in all: {demand.reason}"
            f"{_learned(model, demand)}", demand.span,
            f"add e.g.: boundary {pde_faces.point_text(model, demand.fields[0], name, end)} = 0",
            field=fields, face=f"{name} = both ends", needed=demand.total, given=len(given))]
    return [finding(
        "A506", "warning", f"{fields} {'has' if len(demand.fields) == 1 else 'have'} {len(given)} "
        f"boundary conditions at the ends of {name}, which take {demand.total} in all: "
        f"{pde_faces.condition_text(model, c)} over-determines {fields} ({demand.reason})", c.span,
        "remove it", field=fields, face=f"{name} = {c.fixed[0][1]:g}", needed=demand.total,
        given=len(given)) for c in given[demand.total:]]


def _periodic(model, demand, periodic, at_face) -> list:
    """A periodic pair covers both ends; a condition at an end besides it over-determines."""
    name = demand.coordinate.name
    first = periodic[0]
    pair = f"{pde_faces.point_text(model, first.target, name, first.fixed[0][1])} = " \
        f"{pde_faces.point_text(model, first.target, name, float(first.value))}"
    out = []
    missing = [f for f in demand.fields if not any(c.target == f for c in periodic)]
    if missing:
        out.append(finding(
            "A502", "warning", f"{name} is periodic for {', '.join(sorted({c.target for c in periodic}))} "
            f"but not for {', '.join(missing)}: {demand.reason}", demand.span,
            f"add: boundary {pde_faces.point_text(model, missing[0], name, demand.coordinate.lower)} = "
            f"{pde_faces.point_text(model, missing[0], name, demand.coordinate.upper)}",
            field=", ".join(missing), face=f"{name} = both ends", needed=len(missing), given=0))
    for end, given in at_face.items():
        for condition in given:
            if condition.target in missing:
                continue
            out.append(finding(
                "A506", "warning", f"{pde_faces.condition_text(model, condition)} over-determines "
                f"{condition.target}: {name} is periodic for it ({pair}), so an end of {name} holds "
                "no other condition", condition.span, "remove it, or the periodic pair",
                field=condition.target, face=f"{name} = {end:g}", needed=0, given=len(given)))
    return out


def _learned(model, demand) -> str:
    values = P.known_values(model)[1]
    return "".join(f" ({name} is learned: judged at its initial value "
                   f"{P.pde_text(values[sympy.Symbol(name)])})" for name in demand.learned)


def _missing_help(model, demand, end, given) -> str:
    name, field = demand.coordinate.name, demand.fields[0]
    if demand.kind == "even" and demand.order == 2:
        return (f"add e.g.: boundary {pde_faces.point_text(model, field, name, end)} = 0 (Dirichlet), "
                f"a d({field}, {name}) condition (Neumann), or a periodic pair")
    if demand.kind == "transport":
        return (f"add the inflow value: boundary {pde_faces.point_text(model, field, name, end)} = 0, "
                "or the values that enter there")
    if demand.kind == "system":
        return (f"add e.g.: boundary {pde_faces.point_text(model, field, name, end)} = 0 (a condition "
                f"on any of {', '.join(demand.fields)} counts)")
    held = {_order_in(model, c, name) for c in given}
    free = [k for k in range(demand.order) if k not in held][:demand.at(end) - len(given)]
    return "add e.g.: boundary " + ", ".join(
        f"{pde_faces.point_text(model, field, name, end, k)} = 0" for k in free)


def _order_in(model, condition, name) -> int:
    x = sympy.Symbol(name)
    return max((P.order_in(d, x) for d in pde_faces.condition_derivatives(condition, model)), default=0)
