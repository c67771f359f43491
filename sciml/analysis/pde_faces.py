"""How many boundary conditions each face of a pinn's box takes: what `pde_conditions.py` counts.

For a field u and a space coordinate x in [a, b], m is the highest order of a derivative of u in
x over the pdes that read it, and E the pde of u that reaches it (`governed`: the pde holding
dt(u), else the one with u's highest derivative).  From the order and the characteristic
direction (`pde_characteristics.py`):

* m = 2k even: k conditions at each end.  k = 1: the heat, wave and Poisson equations; k = 2:
  d(u, x, x, x, x) and lap(lap(u)), assumed elliptic in x as a plate is (clamped by u and
  d(u, x), or supported by u and d(u, x, x)).
* m = 2k + 1 odd, E first order in t: b dt(u) + a d^m u/dx^m + (lower order).  Its waves enter
  where (-1)^k a / b points into the box: x = a takes k + 1 conditions where (-1)^k a / b > 0
  there, k where it is < 0; x = b the other way round.  k = 0 is transport at speed a / b: one
  condition at the inflow face, none at the outflow face (one there over-determines u); k = 1 is
  KdV, u_t + u_xxx (a = 1): u at both ends and d(u, x) at x = b (Bona, Sun & Zhang 2003).  The
  sign is judged at each face (x set to its end), constants evaluated, a learned parameter at its
  initial value.  A speed that reads the field (u in u_t + u u_x) leaves the faces to the
  solution: not counted, and the finding says so.
* m odd without t: an ODE in x (the steady d(u, x) = f), m conditions in all, at either end.
* A first-order system in x, dt(U) + A d(U, x) = (lower order), for fields U = (u, v, ...) first
  order in x whose x derivatives cross from one pde to another (the wave equation as dt(u) =
  d(v, x), dt(v) = c^2 d(u, x)): x = a takes as many conditions, on any of its fields, as A has
  positive eigenvalues (characteristic speeds), x = b as many as it has negative ones.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from sciml.analysis import pde_characteristics as C
from sciml.analysis import pde_fields as P
from sciml.frontend.diagnostics import Span
from sciml.lowering import ir

T = sympy.Symbol("t")


@dataclass(frozen=True)
class Demand:
    """The boundary conditions the two faces of `coordinate` take for `fields` (one field, or a
    first-order system's).  lower/upper None: the split is not known; total None: nor the sum."""

    fields: tuple[str, ...]
    coordinate: ir.Coordinate
    order: int
    lower: int | None
    upper: int | None
    total: int | None
    kind: str                 # even, transport, dispersive, steady, system
    reason: str               # why, in the spec's notation, with what was assumed
    span: Span                # the pde it comes from
    learned: tuple = ()       # learned parameters judged at their initial values
    faces: tuple = ()         # transport: inflow, outflow or characteristic, at each end
    remedy: str = ""          # where it is not counted (total None): what the user checks

    def at(self, end: float) -> int | None:
        return self.lower if end == self.coordinate.lower else self.upper


def demands(model: ir.Model, equations) -> list[Demand]:
    """What the faces of each space coordinate take, per field and per first-order system."""
    out = []
    systems = C.first_order_systems(model, equations)
    for coordinate in model.domain:
        if coordinate.name == "t":
            continue
        x = sympy.Symbol(coordinate.name)
        here = [s for s in systems if s.coordinate == coordinate]
        out += [_system_demand(s) for s in here]
        in_system = {f for s in here for f in s.fields}
        for field in P.field_names(model):
            reading = [eq for eq in equations if field in eq.fields]
            m = max((P.orders(eq.expr, field, eq.coordinates).get(x, 0) for eq in reading), default=0)
            if m == 0 or field in in_system:
                continue
            reaching = [eq for eq in reading if P.orders(eq.expr, field, eq.coordinates).get(x, 0) == m]
            eq = next((eq for eq in reaching if field in C.governed(eq)), reaching[0])
            out.append(_field_demand(model, field, m, eq, coordinate))
    return out


def _field_demand(model, field, m, eq, coordinate) -> Demand:
    name, low, high = coordinate.name, coordinate.lower, coordinate.upper
    k = m // 2
    interval = f"{name} in [{low:g}, {high:g}]"
    if m % 2 == 0:
        if k == 1:
            reason = f"the pde is of order 2 in {name}, so each end of {interval} needs one"
        else:
            reason = (f"the pde is of order {m} in {name}, so each end of {interval} takes {k} "
                      f"(assumed elliptic in {name}, as a plate is: {field} and d({field}, {name}) "
                      f"clamp it, {field} and d({field}, {name}, {name}) support it)")
        return Demand((field,), coordinate, m, k, k, m, "even", reason, eq.span)
    return _odd_order_demand(model, field, m, eq, coordinate)


def _odd_order_demand(model, field, m, eq, coordinate) -> Demand:
    """m = 2k + 1: by the sign of (-1)^k a / b at each face, for b dt(u) + a d^m u/dx^m + ..."""
    name, low, high = coordinate.name, coordinate.lower, coordinate.upper
    k = m // 2
    interval = f"{name} in [{low:g}, {high:g}]"
    x = sympy.Symbol(name)
    u = P.field_function(field, model)
    b = C.evolution(eq, field, model)
    if b is None:
        if P.orders(eq.expr, field, eq.coordinates).get(T, 0) == 0:
            return Demand((field,), coordinate, m, None, None, m, "steady",
                          f"the pde is of order {m} in {name} without t, so like an ode in {name} it "
                          f"takes {m} condition{'s' if m > 1 else ''} in all, at either end of "
                          f"{interval} (assumed: where the characteristics enter or where they leave)",
                          eq.span)
        return _unknown(field, coordinate, m, eq, f"the pde is of order {m} in {name} and not first "
                        f"order in t: the faces of {name} are not counted")
    a = C.coefficient(eq.expr, sympy.Derivative(u, (x, m)))
    if a == 0:
        return _unknown(field, coordinate, m, eq, f"the pde's order {m} in {name} comes from a mixed "
                        f"derivative: the faces of {name} are not counted")
    per_dt = a if b == 1 else sympy.cancel(a / b)
    direction = (-1) ** k * per_dt
    speed = P.pde_text(per_dt)
    if C.reads_field(direction):
        if k == 0:
            return _unknown(field, coordinate, m, eq, f"{field} is carried at speed {speed} in {name}, "
                            f"which reads the field: the inflow faces depend on the solution")
        return _unknown(field, coordinate, m, eq, f"the coefficient {speed} of d({field}, "
                        f"{', '.join([name] * m)}) reads the field: the faces depend on the solution")
    counts, learned, signs = [], (), []
    for end, inward in ((low, 1), (high, -1)):
        sign, used = C.face_sign(direction, model, {x: end})
        learned += used
        signs.append(sign)
        if sign is None or (sign == 0 and k):
            counts.append(None)
        else:
            counts.append(k + 1 if sign == inward else k)
    learned = tuple(dict.fromkeys(learned))
    if None in counts:
        if k == 0:
            return _unknown(field, coordinate, m, eq, f"{field} is carried at speed {speed} in {name}, "
                            "whose sign at the faces is not known at compile time: the inflow "
                            "faces are not known", learned)
        return Demand((field,), coordinate, m, None, None, m, "dispersive",
                      f"the pde is of order {m} in {name} and first in t: {m} conditions in all at "
                      f"the ends of {interval}, split by the sign of {speed}, which is not known at "
                      "compile time", eq.span, learned)
    if k == 0:
        labels = tuple("inflow" if count else "outflow" if sign else "characteristic"
                       for count, sign in zip(counts, signs))
        faces = [f"{name} = {end:g} is " + ("characteristic (the speed is 0 there)" if label ==
                                            "characteristic" else f"the {label} face")
                 for end, label in zip((low, high), labels)]
        value = _value(per_dt, model)
        return Demand((field,), coordinate, m, counts[0], counts[1], sum(counts), "transport",
                      f"{field} is carried at speed {speed}{value} in {name}: " + ", ".join(faces),
                      eq.span, learned, labels)
    more = low if counts[0] > counts[1] else high
    return Demand((field,), coordinate, m, counts[0], counts[1], sum(counts), "dispersive",
                  f"the pde is of order {m} in {name} and first in t, d({field}, {', '.join([name] * m)}) "
                  f"with the coefficient {speed}{_value(per_dt, model)} per dt({field}): "
                  f"{name} = {low:g} takes {counts[0]} and {name} = {high:g} takes {counts[1]} (its "
                  f"waves enter at {name} = {more:g}, as KdV's u_t + u_xxx takes u at both ends and "
                  "d(u, x) at the right one; assumed: the coefficient keeps its sign)", eq.span, learned)


def _unknown(field, coordinate, m, eq, reason, learned=()) -> Demand:
    name, low, high = coordinate.name, coordinate.lower, coordinate.upper
    remedy = (f"a condition is needed where the characteristics enter: at {name} = {low:g} where the "
              f"speed is > 0, at {name} = {high:g} where it is < 0; none where they leave") if m == 1 \
        else f"count the conditions at {name} = {low:g} and {name} = {high:g} by hand"
    return Demand((field,), coordinate, m, None, None, None, "unknown", reason, eq.span, learned,
                  remedy=remedy)


def _value(expr, model) -> str:
    """' = 2' where a speed written with constants (c) has a known value."""
    if expr.is_number:
        return ""
    constants, learned = P.known_values(model)
    v = expr.subs(constants).subs(learned)
    return f" = {float(v):g}" if v.is_number and v.is_real else ""


def _system_demand(s: C.System) -> Demand:
    name = s.coordinate.name
    fields = ", ".join(s.fields)
    matrix = P.pde_text(s.matrix)
    head = (f"the first-order system in ({fields}) reads dt({fields}) + A d(({fields}), {name}) "
            f"with A = {matrix}")
    if s.speeds is None:
        return Demand(s.fields, s.coordinate, 1, None, None, None, "unknown",
                      f"{head}, whose eigenvalues (the characteristic speeds) read the fields or the "
                      "coordinates", s.equations[0].span, s.learned,
                      remedy=f"at the solution: {name} = {s.coordinate.lower:g} takes as many conditions "
                      f"as A has positive eigenvalues there, {name} = {s.coordinate.upper:g} as many as "
                      "it has negative ones")
    if not s.hyperbolic:
        return Demand(s.fields, s.coordinate, 1, None, None, None, "unknown",
                      f"{head}, whose eigenvalues are not all real: not hyperbolic", s.equations[0].span,
                      s.learned, remedy="no boundary conditions make it well-posed from initial values "
                      "(A501): check the signs of the coupling terms")
    positive = sum(1 for v in s.speeds if v.real > 1e-12)
    negative = sum(1 for v in s.speeds if v.real < -1e-12)
    low, high = s.coordinate.lower, s.coordinate.upper
    return Demand(s.fields, s.coordinate, 1, positive, negative, positive + negative, "system",
                  f"{head}, whose characteristic speeds {C.speeds_text(s)} enter {positive} at "
                  f"{name} = {low:g} and {negative} at {name} = {high:g}", s.equations[0].span, s.learned)


def point_text(model, field, name, end, derivative: int = 0) -> str:
    """u(1, t), or d(u, x)(1, t) for derivative 1: the field at the face name = end."""
    inputs = next((n.inputs for n in model.networks if n.name == field), None) or \
        tuple(c.name for c in model.domain)
    at = f"({', '.join(f'{end:g}' if i == name else i for i in inputs)})"
    return (f"d({field}, {', '.join([name] * derivative)})" if derivative else field) + at


def condition_derivatives(condition: ir.Condition, model: ir.Model) -> list:
    """The derivatives of its field that a pinn condition holds: [d(u, x)] for d(u, x)(0, t) = 0."""
    lhs = P.as_calculus(condition.lhs, model)
    return P.field_derivatives(lhs, condition.target, P.coordinates(model))


def condition_text(model: ir.Model, condition: ir.Condition) -> str:
    """u(0, t), d(u, x)(1, t), dt(u)(x, 0): the condition's left side at its face."""
    fixed = dict(condition.fixed)
    inputs = next((n.inputs for n in model.networks if n.name == condition.target), None) or \
        tuple(c.name for c in model.domain)
    at = "(" + ", ".join(f"{fixed[i]:g}" if i in fixed else i for i in inputs) + ")"
    derivatives = condition_derivatives(condition, model) if model.kind == "pinn" else []
    return (P.pde_text(derivatives[0]) if derivatives else condition.target) + at


def same_condition(a: ir.Condition, b: ir.Condition) -> bool:
    """Two lines that hold the same thing of one field at one face (their values may differ):
    the same left side at the same fixed coordinates, or two periodic pairs of one coordinate."""
    if a.target != b.target or a.section != b.section:
        return False
    if a.kind == "periodic" or b.kind == "periodic":
        return a.kind == b.kind and a.fixed[0][0] == b.fixed[0][0]
    return a.fixed == b.fixed and a.lhs == b.lhs


def distinct(conditions) -> list:
    """The conditions without the lines that repeat an earlier one (`pde_condition_clash.py`
    reports those): what the counts read."""
    out = []
    for c in conditions:
        if not any(same_condition(earlier, c) for earlier in out):
            out.append(c)
    return out
