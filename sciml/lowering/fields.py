"""Lower the PDE statements: the domain, `pde` lines, initial and boundary conditions on a
field (PINN) or a grid state (method of lines); the discretizations are discretizations.py.

A condition holds its target at fixed coordinates: `u(x, 0) = ...` fixes t at the start of
its interval (an initial condition); `u(-1, t) = 0` fixes x at an end (Dirichlet);
`d(u, x)(0, t) = 0` is Neumann; `c(0, t) = c(1, t)` periodic.  A PINN condition carries its
point set and weight (`with points = 50, weight = 10, sampler = sobol`); a grid condition
holds at the grid's end nodes."""
from __future__ import annotations

import sympy

from sciml.frontend import ast
from sciml.frontend.diagnostics import SpecError
from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.lowering.expressions import Entry, fmt_shape
from sciml.lowering.family_calls import DOMAIN_REJECTED, SAMPLERS


def lower_domain(st: ast.DomainStmt, lowering):
    if lowering.domain:
        lowering.fail("E310", "a spec has one domain line", st.span, "list every coordinate on it")
    for interval in st.intervals:
        with lowering.checking(interval.name):
            low = lowering.real(interval.low, f"the start of {interval.name}")
            high = lowering.real(interval.high, f"the end of {interval.name}")
            if not low < high:   # reported, and declared all the same: its uses check on
                lowering.sink.error("E265", f"the interval of {interval.name} is empty: "
                                    f"[{low:g}, {high:g}]", interval.span,
                                    "write [start, end] with start < end")
            coordinate = ir.Coordinate(name=interval.name, lower=low, upper=high, span=interval.span)
            if interval.name in lowering.scope:
                lowering.fail("E102", f"'{interval.name}' is declared twice", interval.span,
                              f"'{interval.name}' is a {lowering.scope[interval.name].kind} already; a "
                              "coordinate of the domain needs a name of its own")
            lowering.scope[interval.name] = Entry("coordinate", (), node=coordinate)
            lowering.domain.append(coordinate)
    # a rejected interval (its error reported) still names a coordinate, so that networks of it
    # are fields; the uses that need the intervals are skipped (require_domain)
    lowering.exprs.coordinates = tuple(interval.name for interval in st.intervals)
    if len(lowering.domain) < len(st.intervals):
        lowering.exprs.failed.add(DOMAIN_REJECTED)
        return
    if "t" in lowering.exprs.coordinates and lowering.exprs.coordinates[-1] != "t":
        lowering.fail("E265", "time t is the last coordinate of the domain", st.span,
                      "write the space coordinates first: domain x in [0, 1], t in [0, 1]")
    if lowering.kind.name == "grid_pde" and "t" not in lowering.exprs.coordinates and lowering.domain:
        lowering.exprs.failed.add(DOMAIN_REJECTED)   # its conditions and data read t: skip them
        lowering.fail("E265", "the domain of a grid_pde model ends with time t: the method of "
                      "lines integrates the grid's values in t", st.span,
                      f"add it: domain {', '.join(f'{c.name} in [{c.lower:g}, {c.upper:g}]' for c in lowering.domain)}"
                      ", t in [0, T]")


def lower_pde(eq: ast.Equation, lowering):
    exprs = lowering.exprs
    exprs.require_domain()
    if lowering.kind.name == "grid_pde":
        return _grid_equation(eq, lowering)
    exprs.context = "pde"
    left, right = lowering.lower(eq.lhs), lowering.lower(eq.rhs)
    residual = exprs.join(eq, left, right) and None
    if not (left.is_scalar and right.is_scalar) and left.shape != right.shape:
        lowering.fail("E201", f"the sides of this pde are {fmt_shape(left.shape)} and "
                      f"{fmt_shape(right.shape)}", eq.span)
    residual = left.expr - right.expr
    fields_read = [call for call in residual.atoms(S.NetCall)
                   if lowering.networks[str(call.args[0])].field]
    if not fields_read:
        fields = [n.name for n in lowering.networks.values() if n.field]
        lowering.fail("E255", "this pde reads no field: a pde of a pinn model is written on a "
                      "network of the domain's coordinates", eq.span,
                      f"write it on the field {fields[0]}, e.g. " + (
                          f"dt({fields[0]}) = d({fields[0]}, {exprs.coordinates[0]}, {exprs.coordinates[0]})"
                          if "t" in exprs.coordinates else f"-lap({fields[0]}) = 1") if fields else
                      "declare one: net u(x, t) = mlp(2 -> 32 -> 1, tanh)")
    lowering.residuals.append(ir.Residual(expr=residual, lhs=left.expr, rhs=right.expr, span=eq.span))


def _grid_equation(eq, lowering):
    """dt(u) = ... on a grid state: lowered like an ode, its right side on the grid nodes."""
    lhs = eq.lhs
    order, node = 0, lhs
    while isinstance(node, ast.Call) and node.func == "dt" and len(node.args) == 1:
        node, order = node.args[0], order + 1
    if not order or not isinstance(node, ast.Name):
        lowering.fail("E302", "a pde on a grid reads dt(u) = ... (or dt(dt(u)) = ...)", lhs.span,
                      "the method of lines turns it into an ode for the values at the nodes")
    state = node.id
    lowering.exprs.skip_if_failed(state)
    if lowering.scope.get(state, Entry("")).kind != "state":
        lowering.fail("E303", f"'{state}' is not a state", lhs.span, f"declare it: state {state} : R")
    if any(e.state == state for e in lowering.equations):
        lowering.fail("E304", f"state '{state}' has two equations", eq.span, "keep one of them")
    lowering.exprs.context = "pde"
    rhs = lowering.lower(eq.rhs)
    if not rhs.is_scalar:
        lowering.fail("E207", f"dt({state}) is a value per node but the right side is "
                      f"{fmt_shape(rhs.shape)}", eq.rhs.span)
    lowering.equations.append(ir.Equation(state=state, order=order, rhs=rhs.expr, span=eq.span))


def lower_condition(eq: ast.Equation, section: str, options: tuple, lowering):
    """An initial or boundary condition of a PDE model (pinn or grid_pde)."""
    exprs = lowering.exprs
    exprs.require_domain()
    exprs.context = "condition"
    target, order, at, lhs_node = _target(eq.lhs, lowering)
    fixed = _fixed(target, at, eq.lhs, lowering)
    coordinates = {c.name: c for c in lowering.domain}
    kind = "dirichlet"
    if section == "initial":
        if "t" not in coordinates:
            lowering.fail("E306", "an initial condition holds at the start of t, but the domain has no t",
                          eq.lhs.span, "a condition that fixes a space coordinate at an end is a "
                          "boundary line; or add t to the domain: domain ..., t in [0, 1]")
        if [name for name, _ in fixed] != ["t"] or fixed[0][1] != coordinates["t"].lower:
            start = coordinates["t"].lower
            point = ", ".join(f"{start:g}" if c == "t" else c for c in coordinates)
            lowering.fail("E306", f"an initial condition holds at t = {start:g}, the start of the domain",
                          eq.lhs.span, f"write e.g. {target}({point}) = ...")
        kind = "initial"
    else:
        if len(fixed) != 1 or fixed[0][0] == "t" or \
                fixed[0][1] not in (coordinates[fixed[0][0]].lower, coordinates[fixed[0][0]].upper):
            lowering.fail("E266", "a boundary condition holds one space coordinate at an end of its "
                          "interval", eq.lhs.span, _boundary_example(target, fixed, coordinates))
        if order:
            kind = "neumann"
    lhs = lowering.lower(lhs_node)
    periodic = _periodic_partner(eq.rhs, eq.lhs, target, lowering)
    if periodic is not None:
        other = _fixed(target, periodic, eq.rhs, lowering)
        if section != "boundary" or len(other) != 1 or other[0][0] != fixed[0][0] or other == fixed:
            lowering.fail("E266", "a periodic condition reads u(start, t) = u(end, t)", eq.span,
                          f"the two ends of one space coordinate, e.g. {target}(0, t) = {target}(1, t) "
                          "for x in [0, 1]")
        kind = "periodic"
        value = sympy.Float(other[0][1])   # the other end, where the values are the same
    else:
        value_typed = lowering.lower(eq.rhs)
        if value_typed.expr.has(sympy.Symbol(target)) and target in lowering.networks:
            lowering.fail("E266", "the value of a condition does not read its own field", eq.rhs.span,
                          f"a condition gives {target} a known value, e.g. {target}(x, 0) = sin(pi * x); "
                          f"a derivative condition reads d({target}, x)(0, t) = 0")
        if not value_typed.is_scalar and value_typed.shape != lhs.shape:
            lowering.fail("E207", f"{target} is {fmt_shape(lhs.shape)} but the value is "
                          f"{fmt_shape(value_typed.shape)}", eq.rhs.span)
        value = value_typed.expr
    points, weight = _condition_options(options, section, fixed, lowering)
    hard = points is HARD
    if hard and (kind not in ("dirichlet", "initial") or order):
        lowering.fail("E267", "a hard condition gives the field's value on a face or the initial "
                      "slice (u = g + d N)", eq.span, "a condition on a derivative, or a periodic "
                      "pair, is enforced softly: remove enforce = hard")
    condition = ir.Condition(section=section, kind=kind, target=target, lhs=lhs.expr, value=value,
                             fixed=tuple(fixed), points=None if hard else points, weight=weight,
                             hard=hard, span=eq.span)
    # a grid holds one value at an end node (and one initial value per order in t: u(x, 0) and
    # dt(u)(x, 0) are two); a pinn fits each line, and the analysis says which of two
    # conditions on the same face repeat or contradict each other (pde_condition_clash)
    if lowering.kind.name == "grid_pde" and (
            any(i.state == target and i.order == order for i in lowering.initials) if section == "initial"
            else any(c.target == target and c.fixed == condition.fixed and c.lhs == condition.lhs
                     for c in lowering.conditions)):
        lowering.fail("E304", f"{target} has two conditions at {condition.face}", eq.span,
                      "keep one of them")
    lowering.conditions.append(condition)
    if section == "initial" and lowering.kind.name == "grid_pde":
        lowering.initials.append(ir.InitialCondition(state=target, order=order, value=value, span=eq.span))


def _boundary_example(target, fixed, coordinates) -> str:
    """A help line: the conditions at the two ends of the coordinate that `fixed` names."""
    space = [name for name, _ in fixed if name != "t"] or [c for c in coordinates if c != "t"]
    if not space:
        return "a boundary condition fixes a space coordinate; the domain has none"
    ends = coordinates[space[0]]
    low, high = (", ".join(f"{end:g}" if c == space[0] else c for c in coordinates)
                 for end in (ends.lower, ends.upper))
    return f"{space[0]} is in [{ends.lower:g}, {ends.upper:g}]: write e.g. {target}({low}) = 0 or {target}({high}) = 0"


def _target(lhs, lowering):
    """(the field or grid state, its order in the derivative, the arguments, the node to lower)."""
    order, inner = 0, lhs
    if isinstance(lhs, ast.CallOfCall):
        inner, at = lhs.inner, lhs.args
        if inner.func == "dt" and len(inner.args) == 1 and isinstance(inner.args[0], ast.Name):
            name, order = inner.args[0].id, 1
        elif inner.func == "d" and len(inner.args) >= 2 and isinstance(inner.args[0], ast.Name):
            name, order = inner.args[0].id, len(inner.args) - 1
        else:
            name = None
    elif isinstance(lhs, ast.Call):
        name, at = lhs.func, lhs.args
    else:
        name = None
    lowering.exprs.skip_if_failed(name)
    entry = lowering.scope.get(name) if name else None
    grid = lowering.kind.name == "grid_pde"
    if entry is None or (entry.kind != ("state" if grid else "net")) or (not grid and not entry.node.field):
        what = "a grid state, as u(x, 0)" if grid else "a field (a network of the coordinates), as u(x, 0)"
        targets = [e.node.name for e in lowering.scope.values() if e.kind == "state"] if grid else \
            [n.name for n in lowering.networks.values() if n.field]
        lowering.fail("E305", f"a condition of a {lowering.kind.name} model holds {what}", lhs.span,
                      f"{'the grid states' if grid else 'the fields'}: {', '.join(targets)}" if targets
                      else f"declare one: {'state u : R' if grid else 'net u(x, t) = mlp(2 -> 32 -> 1, tanh)'}")
    if not grid and order:   # the derivative of the field, evaluated at the point of the condition
        call = ast.Call(func=name, args=tuple(ast.Name(id=i, span=lhs.span) for i in entry.node.inputs),
                        span=lhs.span, func_span=lhs.span)
        node = ast.Call(func=inner.func, args=(call,) + tuple(inner.args[1:]), span=inner.span,
                        func_span=inner.func_span)
        return name, order, at, node
    return name, order, at, (ast.Name(id=name, span=lhs.span) if grid else lhs)


def _fixed(target, at, node, lowering) -> list:
    """[(coordinate, value)] for the arguments of target(...) that are numbers; the others must
    be the coordinates themselves, in the order of the field's inputs (the domain's, on a grid)."""
    names = lowering.networks[target].inputs if target in lowering.networks else \
        tuple(c.name for c in lowering.domain)
    if len(at) != len(names):
        lowering.fail("E206", f"{target}(...) takes its {len(names)} coordinates ({', '.join(names)})",
                      node.span)
    fixed = []
    for name, arg in zip(names, at):
        if isinstance(arg, ast.Name) and arg.id == name:
            continue
        fixed.append((name, lowering.real(arg, f"the value of {name}")))
    return fixed


def _periodic_partner(rhs, lhs, target, lowering):
    """The arguments of the right side where it reads the left side's quantity at other
    coordinates (u(-1, t) = u(1, t), d(u, x)(-1, t) = d(u, x)(1, t)): a periodic condition."""
    if lowering.scope.get(target) is None:
        return None
    if isinstance(rhs, ast.Call) and rhs.func == target and not isinstance(lhs, ast.CallOfCall):
        return rhs.positional
    if isinstance(rhs, ast.CallOfCall) and isinstance(lhs, ast.CallOfCall) and \
            _derivative_of(rhs.inner) == _derivative_of(lhs.inner) is not None:
        return rhs.args
    return None


def _derivative_of(call: ast.Call):
    """('d', ('u', 'x')) for d(u, x): the derivative a CallOfCall evaluates, spans left out."""
    if not all(isinstance(a, ast.Name) for a in call.args):
        return None
    return call.func, tuple(a.id for a in call.args)


def _condition_options(options, section, fixed, lowering):
    """(PointSet or None, weight) from `with points = N, weight = w, sampler = s`.  The options
    belong to the whole line: a mistake in them is reported once, not once per condition."""
    line = lowering.current_statement.span
    marker = f"`with` of line {line.line}"   # in `failed`, never a declared name: it has spaces
    lowering.exprs.skip_if_failed(marker)
    try:
        return _checked_options(options, section, fixed, lowering)
    except SpecError:
        lowering.exprs.failed.add(marker)
        raise


HARD = ir.PointSet(sampler="", count=0)   # _checked_options' answer for enforce = hard: no points


def _checked_options(options, section, fixed, lowering):
    given = {kw.name: kw for kw in options}
    grid = lowering.kind.name == "grid_pde"
    for name, kw in given.items():
        if name not in ("points", "weight", "sampler", "enforce") or grid:
            lowering.fail("E267", f"a condition takes no option '{name}'" if not grid else
                          "a condition on a grid holds at the grid's nodes: it takes no options",
                          kw.span, "remove `with ...`: the method of lines imposes it at the end "
                          "nodes" if grid else "options: points, weight, sampler, enforce")
    if grid:
        return None, sympy.S.One
    if "enforce" in given:
        value = given["enforce"].value
        if not isinstance(value, ast.Name) or value.id not in ("hard", "soft"):
            lowering.fail("E267", "enforce = hard or enforce = soft", value.span,
                          "soft: a penalty in fit(...) at the condition's points; hard: the field is "
                          "built to satisfy it (u = g + d N)")
        if value.id == "hard":
            for other in ("points", "weight", "sampler"):
                if other in given:
                    lowering.fail("E267", f"a hard condition holds exactly: it has no {other}",
                                  given[other].span, "remove it, or enforce = soft for a penalty")
            return HARD, sympy.S.Zero
    if "points" not in given:
        span = lowering.current_statement.span
        lowering.fail("E267", f"each {section} condition line says how many points it is fitted on",
                      span, "add: with points = 50")
    count = lowering.integer(given["points"].value, "the number of points")
    sampler = "uniform"
    if "sampler" in given:
        value = given["sampler"].value
        if not isinstance(value, ast.Name) or value.id not in SAMPLERS:
            lowering.fail("E267", f"unknown sampler '{getattr(value, 'id', '?')}'", value.span,
                          "samplers: " + ", ".join(SAMPLERS))
        sampler = value.id
    weight = sympy.S.One
    if "weight" in given:
        weight = sympy.Float(lowering.real(given["weight"].value, "the weight"))
        if weight <= 0:
            lowering.fail("E267", f"a condition's weight is positive, but this is {float(weight):g}",
                          given["weight"].value.span, "the weight multiplies the condition's mean "
                          "square in fit(...): write e.g. weight = 10")
    return ir.PointSet(sampler=sampler, count=count, fixed=tuple(fixed), span=lowering.current_statement.span), weight
