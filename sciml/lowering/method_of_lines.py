"""The method of lines: a grid_pde model as the ODE of its values at the grid's nodes.

`semi_discrete(model)` returns the model the ODE writers take: each grid state u becomes a
vector of its unknown nodes, each space derivative a stencil on the state with its end nodes
(`GridStencil`), each network a function applied at every node (`NodeCall`), the coordinate x
the vector of the nodes, and an observation of u at the data's times the values at every node
(`OnGrid`).  The time integrator is the scheme's `time = ...`, defined once in sciml/schemes.

The grid (1-D, `grid = N` nodes on x in [a, b]):
    periodic      N nodes x_i = a + i L / N (x = b is x = a); every node is an unknown, the ends
                  wrap around;
    otherwise     N nodes x_i = a + i L / (N - 1); a Dirichlet end's node holds its value and is
                  no unknown; a Neumann end's node is an unknown, with a ghost node beyond it
                  that makes the central difference there equal the condition's slope.
Stencils (second order in dx, on the state with one node added at each end):
    lap(u), d(u, x, x)   (u[i-1] - 2 u[i] + u[i+1]) / dx^2
    d(f, x), div(f)      (f[i+1] - f[i-1]) / (2 dx), f evaluated at the nodes with the ends
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import sympy

from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.schemes import registry


@dataclass(frozen=True)
class GridEnd:
    """One end of the grid: periodic, dirichlet (the node holds `value`) or neumann (the slope
    there is `value`)."""

    kind: str
    value: sympy.Basic = sympy.S.Zero


@dataclass(frozen=True)
class Grid:
    coordinate: str
    lower: float
    upper: float
    nodes: int
    left: GridEnd
    right: GridEnd

    @property
    def periodic(self) -> bool:
        return self.left.kind == "periodic"

    @property
    def spacing(self) -> float:
        length = self.upper - self.lower
        return length / self.nodes if self.periodic else length / (self.nodes - 1)

    @property
    def first(self) -> int:
        """The index of the first unknown node."""
        return 1 if self.left.kind == "dirichlet" else 0

    @property
    def stop(self) -> int:
        """One past the index of the last unknown node."""
        return self.nodes - 1 if self.right.kind == "dirichlet" else self.nodes

    @property
    def unknowns(self) -> int:
        return self.stop - self.first

    def node(self, i: int) -> float:
        return self.lower + i * self.spacing


def with_ends(name: str) -> sympy.Symbol:
    """The placeholder of a state (or of x) with one node added at each end (no spec name has
    a space)."""
    return sympy.Symbol(f"{name} with ends")


def grid_of(model: ir.Model) -> Grid:
    """The 1-D grid of a grid_pde model, its ends from the boundary lines."""
    space = [c for c in model.domain if c.name != "t"]
    (coordinate,) = space
    lower, upper = float(coordinate.lower), float(coordinate.upper)
    ends = {lower: GridEnd("dirichlet"), upper: GridEnd("dirichlet")}
    for condition in model.conditions:
        if condition.section != "boundary":
            continue
        (_, at), = condition.fixed
        if condition.kind == "periodic":
            ends = {lower: GridEnd("periodic"), upper: GridEnd("periodic")}
            break
        ends[float(at)] = GridEnd(condition.kind, condition.value)
    return Grid(coordinate=coordinate.name, lower=lower, upper=upper, nodes=model.scheme.nodes,
                left=ends[lower], right=ends[upper])


def _fresh(base: str, taken: set) -> str:
    while base in taken:
        base += "_"
    taken.add(base)
    return base


def semi_discrete(model: ir.Model) -> ir.Model:
    """The grid_pde model as an ODE of its unknown nodes (see the module's docstring)."""
    grid = grid_of(model)
    states = {s.name for s in model.states}
    dx = sympy.Float(grid.spacing)
    x = sympy.Symbol(grid.coordinate)
    taken = ({c.name for c in model.constants} | {d.name for d in model.datasets} | states
             | {p.name for p in model.parameters} | {n.name for n in model.networks}
             | {c.name for c in model.domain})
    x_nodes = sympy.Symbol(_fresh(f"{grid.coordinate}_nodes", taken))
    x_ends = sympy.Symbol(_fresh(f"{grid.coordinate}_ends", taken))
    ends = (grid.first - 1, grid.stop + 1)
    constants = [ir.Constant(name=x_nodes.name, value=_column(grid, grid.first, grid.stop),
                             derived=("nodes", grid.lower, grid.spacing, grid.first, grid.stop)),
                 ir.Constant(name=x_ends.name, value=_column(grid, *ends),
                             derived=("nodes", grid.lower, grid.spacing, *ends))]
    starts = {}
    for initial in model.initials:
        name = _fresh(f"{initial.state}0", taken)
        starts[initial.state] = sympy.Symbol(name)
        values = sympy.ImmutableMatrix([[initial.value.xreplace({x: sympy.Float(grid.node(i))})]
                                        for i in range(grid.first, grid.stop)])
        constants.append(ir.Constant(name=name, value=values, derived=("formula", initial.value.xreplace({x: x_nodes}),
                                                                       x_nodes.name), span=initial.span))

    upwind = model.scheme.advection == "upwind"
    equations = tuple(dataclasses.replace(e, rhs=stencil_form(e.rhs, states, x, x_ends, dx, upwind).xreplace({x: x_nodes}))
                      for e in model.equations)
    column = (grid.unknowns,)
    new_states = tuple(dataclasses.replace(s, shape=column) for s in model.states)
    initials = tuple(dataclasses.replace(i, value=starts[i.state]) for i in model.initials)
    observed = lambda e: F.OnGrid(e)                                      # noqa: E731
    loss = model.loss.replace(lambda e: isinstance(e, S.StateAt), observed)
    reports = []
    for report in model.reports:
        expr = report.expr.replace(lambda e: isinstance(e, S.StateAt), observed)
        if isinstance(expr, F.RelativeL2) and len(expr.args) == 3:   # over a data field's values
            net, exact, field = expr.args
            values = F.ValueRange(field)
            expr = S.FrobeniusNorm(F.NodeCall(net, values) - exact) / S.FrobeniusNorm(exact)
        elif isinstance(expr, F.RelativeL2):   # a network of x against its exact form, at every node
            expr = _relative_error(expr, grid, taken, constants)
        else:   # a network at given numbers, U(1.0): one node
            expr = expr.replace(lambda e: isinstance(e, S.NetCall), lambda e: F.NodeCall(
                e.args[0], *(sympy.ImmutableMatrix([[a]]) if a.is_number else a for a in e.args[1:])))
        reports.append(dataclasses.replace(report, expr=expr))
    reports = tuple(reports)
    terms = tuple((t.replace(lambda e: isinstance(e, S.StateAt), observed), span) for t, span in model.loss_terms)
    scheme = model.scheme
    if registry.definition_of(scheme.time).matrix_options:   # IMEX: the diffusion implicit
        (option,) = registry.definition_of(scheme.time).matrix_options
        (equation,) = equations
        matrix = _fresh("laplacian", taken)
        constants.append(ir.Constant(name=matrix, value=sympy.ImmutableMatrix(sympy.zeros(1, 1)),
                                     derived=("laplacian", grid.unknowns, grid.spacing, grid.left.kind,
                                              grid.right.kind)))
        time = dataclasses.replace(scheme.time, options=tuple(sorted(scheme.time.options + ((option, matrix),))))
        scheme = dataclasses.replace(scheme, time=time, implicit=diffusion_coefficient(equation.rhs, states))
    return dataclasses.replace(model, constants=model.constants + tuple(constants), states=new_states,
                               equations=equations, initials=initials, loss=loss, reports=reports,
                               loss_terms=terms, scheme=scheme)


def diffusion_coefficient(rhs, states) -> sympy.Basic:
    """kappa of the terms kappa * (second difference of a state) in a semi-discrete right side,
    kappa free of the states (D, nu): what an IMEX scheme takes implicitly (0: none)."""
    total = sympy.S.Zero
    for term in sympy.Add.make_args(sympy.expand(rhs)):
        stencils = [a for a in term.atoms(F.GridStencil) if str(a.args[1]) == "second"
                    and a.args[0] in {with_ends(s) for s in states}]
        if len(stencils) == 1:
            coefficient = term / stencils[0]
            if not {str(s) for s in coefficient.free_symbols} & ({f"{s} with ends" for s in states} | set(states)) \
                    and not coefficient.has(F.GridStencil, F.NodeCall):
                total += coefficient
    return total


def stencil_form(expr, states, x, x_ends, dx, upwind=False):
    """expr with its space derivatives as stencils and its networks applied at every node:
    inside a stencil the states and x are read with their end nodes (with_ends(u), x_ends).
    `upwind` (advection = upwind): a transport term a * d(u, x) is differenced against the flow
    (UpwindDerivative), and div(v * u) by first-order upwind fluxes (UpwindDivergence)."""
    state_symbols = {sympy.Symbol(s) for s in states}

    def transport(e):
        """(coefficient, state) of a * d(u, x), or None."""
        factors = sympy.Mul.make_args(e)
        first = [f for f in factors if isinstance(f, F.Partial) and f.args[0] in state_symbols]
        if len(first) != 1:
            return None
        rest = sympy.Mul(*(f for f in factors if f is not first[0]))
        return rest, first[0].args[0]

    def carried(flux):
        """(velocity, state) of a flux v * u (u a state factor of it), or None."""
        for factor in sympy.Mul.make_args(flux):
            base, power = factor.as_base_exp()
            if base in state_symbols and power.is_positive:
                return flux / base, base
        return None

    def at_ends(inner):
        replace = {sympy.Symbol(s): with_ends(s) for s in states} | {x: x_ends}
        return nodewise(inner).xreplace(replace)

    def nodewise(e):
        return e.replace(lambda a: isinstance(a, S.NetCall), lambda a: F.NodeCall(*a.args))

    def stencil(e):
        if isinstance(e, F.Laplacian):
            return F.GridStencil(at_ends(e.args[0]), sympy.Symbol("second"), dx)
        if isinstance(e, F.Partial):
            inner, order = e.args[0], 1
            while isinstance(inner, F.Partial):
                inner, order = inner.args[0], order + 1
            return F.GridStencil(at_ends(inner), sympy.Symbol({1: "central", 2: "second"}[order]), dx)
        if isinstance(e, F.Divergence):
            return F.GridStencil(at_ends(e.args[0]), sympy.Symbol("central"), dx)
        return None

    def upwinded(e):
        if not upwind:
            return None
        if isinstance(e, F.Divergence) and len(e.args) == 2 and carried(e.args[0]) is not None:
            velocity, u = carried(e.args[0])
            return F.UpwindDivergence(at_ends(velocity), with_ends(u.name), dx)
        if isinstance(e, (sympy.Mul, F.Partial)) and transport(e) is not None:
            coefficient, u = transport(e)
            return F.UpwindDerivative(discretized(coefficient), with_ends(u.name), dx)
        return None

    def discretized(e):   # top down: d(d(u, x), x) is one second difference
        found = upwinded(e)
        if found is None:
            found = stencil(e)
        if found is not None:
            return found
        if isinstance(e, S.NetCall):
            return F.NodeCall(*e.args)
        if not e.args or isinstance(e, sympy.Symbol):
            return e
        return e.func(*(discretized(a) for a in e.args))

    return discretized(expr)


def _relative_error(report, grid: Grid, taken: set, constants: list):
    """rel_l2(N, exact = f(x)) on a grid: |N - f| / |f| over every node x_i of the grid."""
    net, exact = report.args
    nodes = _fresh(f"{grid.coordinate}_grid", taken)
    values = _fresh(f"{net}_exact", taken)
    constants.append(ir.Constant(name=nodes, value=_column(grid, 0, grid.nodes),
                                 derived=("nodes", grid.lower, grid.spacing, 0, grid.nodes)))
    constants.append(ir.Constant(name=values, value=sympy.ImmutableMatrix(
        [[exact.xreplace({sympy.Symbol(grid.coordinate): sympy.Float(grid.node(i))})] for i in range(grid.nodes)]),
        derived=("formula", exact.xreplace({sympy.Symbol(grid.coordinate): sympy.Symbol(nodes)}), nodes)))
    error = F.NodeCall(net, sympy.Symbol(nodes)) - sympy.Symbol(values)
    return S.FrobeniusNorm(error) / S.FrobeniusNorm(sympy.Symbol(values))


def _column(grid: Grid, first: int, stop: int) -> sympy.ImmutableMatrix:
    return sympy.ImmutableMatrix([[sympy.Float(grid.node(i))] for i in range(first, stop)])
