"""The method of lines: a grid_pde model as the ODE of its values at the grid's nodes.

`semi_discrete(model)` returns the model the ODE writers take: each grid state u becomes a
vector of its unknown nodes, each space derivative a stencil on the state with its end nodes
(`GridStencil`), each network a function applied at every node (`NodeCall`), the coordinate x
the vector of the nodes, and an observation of u at the data's times the values at every node
(`OnGrid`).  The time integrator is the scheme's `time = ...`, defined once in sciml/schemes.

The grid: `grid = N` nodes along each space coordinate (one or two); along x in [a, b]:
    periodic      N nodes x_i = a + i L / N (x = b is x = a); every node is an unknown, the ends
                  wrap around;
    otherwise     N nodes x_i = a + i L / (N - 1); a Dirichlet end's node holds its value and is
                  no unknown; a Neumann end's node is an unknown, with a ghost node beyond it
                  that makes the central difference there equal the condition's slope.
Stencils (second order in dx, on the state with one node added at each end):
    lap(u), d(u, x, x)   (u[i-1] - 2 u[i] + u[i+1]) / dx^2
    d(f, x), div(f)      (f[i+1] - f[i-1]) / (2 dx), f evaluated at the nodes with the ends
    conv(K, u)           K[1] u[i-1] + K[2] u[i] + K[3] u[i+1] (a CNN's 3-tap cross-correlation)
On a 2-D grid (x, y) the state is the column of the unknown nodes, x-major; the stencils read it
as an array (x with its ends, y with its ends) and give a column back: lap(u) is the five-point
sum of the second differences along x and y, div([v, w]) = d(v, x) + d(w, y).
"""
from __future__ import annotations

import dataclasses
import math
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
class GridAxis:
    """The nodes along one space coordinate and the handling of its two ends."""

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


@dataclass(frozen=True)
class Grid:
    """A grid of one or two space coordinates (axes in the domain's order); on two, the unknowns
    are a column x-major: node (i, j) of the unknowns is entry i * (unknowns along y) + j."""

    axes: tuple

    @property
    def nodes(self) -> int:
        return math.prod(a.nodes for a in self.axes)

    @property
    def unknowns(self) -> int:
        return math.prod(a.unknowns for a in self.axes)



def with_ends(name: str) -> sympy.Symbol:
    """The placeholder of a state (or of x) with one node added at each end (no spec name has
    a space)."""
    return sympy.Symbol(f"{name} with ends")


def grid_of(model: ir.Model) -> Grid:
    """The grid of a grid_pde model, `grid = N` nodes along each space coordinate, the ends from
    the boundary lines."""
    axes = []
    for coordinate in (c for c in model.domain if c.name != "t"):
        lower, upper = float(coordinate.lower), float(coordinate.upper)
        ends = {lower: GridEnd("dirichlet"), upper: GridEnd("dirichlet")}
        for condition in model.conditions:
            if condition.section != "boundary" or condition.fixed[0][0] != coordinate.name:
                continue
            (_, at), = condition.fixed
            if condition.kind == "periodic":
                ends = {lower: GridEnd("periodic"), upper: GridEnd("periodic")}
                break
            ends[float(at)] = GridEnd(condition.kind, condition.value)
        axes.append(GridAxis(coordinate=coordinate.name, lower=lower, upper=upper, nodes=model.scheme.nodes,
                             left=ends[lower], right=ends[upper]))
    return Grid(axes=tuple(axes))


def _fresh(base: str, taken: set) -> str:
    while base in taken:
        base += "_"
    taken.add(base)
    return base


def semi_discrete(model: ir.Model) -> ir.Model:
    """The grid_pde model as an ODE of its unknown nodes (see the module's docstring)."""
    grid = grid_of(model)
    states = {s.name for s in model.states}
    taken = ({c.name for c in model.constants} | {d.name for d in model.datasets} | states
             | {p.name for p in model.parameters} | {n.name for n in model.networks}
             | {c.name for c in model.domain})
    coordinates = [sympy.Symbol(a.coordinate) for a in grid.axes]
    at_nodes, at_ends, constants = {}, {}, []
    for k, (axis, x) in enumerate(zip(grid.axes, coordinates)):
        at_nodes[x] = sympy.Symbol(_fresh(f"{axis.coordinate}_nodes", taken))
        at_ends[x] = sympy.Symbol(_fresh(f"{axis.coordinate}_ends", taken))
        constants += [_nodes_constant(at_nodes[x].name, grid, k, "unknowns"),
                      _nodes_constant(at_ends[x].name, grid, k, "ends")]
    starts = {}
    for initial in model.initials:   # u(x, 0) = ... as u0, dt(u)(x, 0) = ... as u_t0
        name = _fresh(f"{initial.state}0" if initial.order == 0 else f"{initial.state}_t0", taken)
        starts[initial.state, initial.order] = sympy.Symbol(name)
        constants.append(ir.Constant(name=name, value=_values_at_unknowns(initial.value, grid),
                                     derived=("formula", initial.value.xreplace(at_nodes),
                                              at_nodes[coordinates[0]].name), span=initial.span))

    upwind = model.scheme.advection == "upwind"
    spacing = {x: sympy.Float(a.spacing) for x, a in zip(coordinates, grid.axes)}
    equations = tuple(dataclasses.replace(e, rhs=stencil_form(e.rhs, states, at_ends, spacing, upwind).xreplace(at_nodes))
                      for e in model.equations)
    column = (grid.unknowns,)
    new_states = tuple(dataclasses.replace(s, shape=column) for s in model.states)
    initials = tuple(dataclasses.replace(i, value=starts[i.state, i.order]) for i in model.initials)
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
            inputs = next(n.inputs for n in model.networks if n.name == str(expr.args[0]))
            expr = _relative_error(expr, grid, inputs, taken, constants)
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
                                     derived=("laplacian",) + tuple((a.unknowns, a.spacing, a.left.kind, a.right.kind)
                                                                    for a in grid.axes)))
        time = dataclasses.replace(scheme.time, options=tuple(sorted(scheme.time.options + ((option, matrix),))))
        scheme = dataclasses.replace(scheme, time=time, implicit=diffusion_coefficient(equation.rhs, states, len(grid.axes)))
    return dataclasses.replace(model, constants=model.constants + tuple(constants), states=new_states,
                               equations=equations, initials=initials, loss=loss, reports=reports,
                               loss_terms=terms, scheme=scheme)


def _nodes_constant(name: str, grid: Grid, k: int, which: str) -> ir.Constant:
    """The coordinate of axis k at the unknown nodes (a column; on a 2-D grid x-major) or at
    every node with one added at each end of each axis (the stencils' input)."""
    axis = grid.axes[k]
    if len(grid.axes) == 1:
        first, stop = (axis.first, axis.stop) if which == "unknowns" else (axis.first - 1, axis.stop + 1)
        return ir.Constant(name=name, value=_column(axis, first, stop),
                           derived=("nodes", axis.lower, axis.spacing, first, stop))
    ranges = tuple((a.lower, a.spacing) + ((a.first, a.stop) if which == "unknowns" else (a.first - 1, a.stop + 1))
                   for a in grid.axes)
    count = math.prod(stop - first for _, _, first, stop in ranges)
    return ir.Constant(name=name, value=sympy.ImmutableMatrix(sympy.zeros(count, 1)),
                       derived=("mesh", k, ranges, which))


def _values_at_unknowns(value, grid: Grid) -> sympy.ImmutableMatrix:
    """The initial values at the unknown nodes; on a 2-D grid only the column's shape (the
    module computes them from the formula, numpy at every node)."""
    if len(grid.axes) > 1:
        return sympy.ImmutableMatrix(sympy.zeros(grid.unknowns, 1))
    (axis,) = grid.axes
    x = sympy.Symbol(axis.coordinate)
    return sympy.ImmutableMatrix([[value.xreplace({x: sympy.Float(axis.node(i))})]
                                  for i in range(axis.first, axis.stop)])


def diffusion_coefficient(rhs, states, dimension: int = 1) -> sympy.Basic:
    """kappa of the terms kappa * (second difference of a state) in a semi-discrete right side,
    kappa free of the states (D, nu): what an IMEX scheme takes implicitly (0: none).  On a 2-D
    grid kappa multiplies the second differences along both axes (kappa lap(u)); where the two
    coefficients differ there is no one kappa (0; backends/common/unsupported.py refuses it)."""
    total = {}
    for term in sympy.Add.make_args(sympy.expand(rhs)):
        stencils = [a for a in term.atoms(F.GridStencil) if str(a.args[1]) == "second"
                    and a.args[0] in {with_ends(s) for s in states}]
        if len(stencils) == 1:
            coefficient = term / stencils[0]
            if not {str(s) for s in coefficient.free_symbols} & ({f"{s} with ends" for s in states} | set(states)) \
                    and not coefficient.has(F.GridStencil, F.NodeCall):
                axis = int(stencils[0].args[3]) if len(stencils[0].args) == 4 else 0
                total[axis] = total.get(axis, sympy.S.Zero) + coefficient
    if set(total) != set(range(dimension)) or len({sympy.simplify(v) for v in total.values()}) != 1:
        return sympy.S.Zero
    return total[0]


def stencil_form(expr, states, ends: dict, spacing: dict, upwind=False):
    """expr with its space derivatives as stencils and its networks applied at every node:
    inside a stencil the states and coordinates are read with their end nodes (with_ends(u), and
    `ends`: {x: x_ends}; `spacing`: {x: dx}, the coordinates in the grid's order).  On a 2-D grid
    each stencil names its axis (GridStencil(v, kind, dx, axis)) and lap(u) is the sum of the
    second differences along both.  `upwind` (advection = upwind): a transport term a * d(u, x)
    is differenced against the flow (UpwindDerivative), and div(v * u) (div([v u, w u]) in 2-D)
    by first-order upwind fluxes (UpwindDivergence), each along its axis."""
    state_symbols = {sympy.Symbol(s) for s in states}
    coordinates = list(spacing)
    several = len(coordinates) > 1

    varying = {with_ends(s) for s in states} | set(ends.values())

    def along(x, values, kind):
        if not (values.free_symbols & varying) and not values.has(F.NodeCall):
            return sympy.S.Zero   # the same at every node (a number, a learned scalar): no slope
        axis = (sympy.Integer(coordinates.index(x)),) if several else ()
        return F.GridStencil(values, sympy.Symbol(kind), spacing[x], *axis)

    def transport(e):
        """(coefficient, state, coordinate) of a * d(u, x), or None."""
        factors = sympy.Mul.make_args(e)
        first = [f for f in factors if isinstance(f, F.Partial) and f.args[0] in state_symbols]
        if len(first) != 1:
            return None
        rest = sympy.Mul(*(f for f in factors if f is not first[0]))
        return rest, first[0].args[0], first[0].args[1]

    def carried(flux):
        """(velocity, state) of a flux v * u (u a state factor of it), or None."""
        for factor in sympy.Mul.make_args(flux):
            base, power = factor.as_base_exp()
            if base in state_symbols and power.is_positive:
                return flux / base, base
        return None

    def at_ends(inner):
        replace = {sympy.Symbol(s): with_ends(s) for s in states} | ends
        return nodewise(inner).xreplace(replace)

    def nodewise(e):
        return e.replace(lambda a: isinstance(a, S.NetCall), lambda a: F.NodeCall(*a.args))

    def stencil(e):
        if isinstance(e, F.Laplacian):
            values = at_ends(e.args[0])
            return sympy.Add(*(along(x, values, "second") for x in coordinates))
        if isinstance(e, F.Partial):
            inner, wrt = e.args[0], [e.args[1]]
            while isinstance(inner, F.Partial):
                inner, wrt = inner.args[0], wrt + [inner.args[1]]
            if len(set(wrt)) > 1 or len(wrt) > 2:   # refused before (backends/common/unsupported.py)
                raise ValueError(f"no stencil for the derivative in {', '.join(map(str, wrt))}")
            return along(wrt[0], at_ends(inner), {1: "central", 2: "second"}[len(wrt)])
        if isinstance(e, F.Convolution):   # conv(K, u, x): the kernel on u with its ends, along x
            kernel, values, x = e.args
            axis = (sympy.Integer(coordinates.index(x)),) if several else ()
            return F.GridConvolution(discretized(kernel), at_ends(values), *axis)
        if isinstance(e, F.Divergence):
            values = e.args[0]
            if isinstance(values, sympy.MatrixBase):   # div([v_x, v_y]): one component per axis
                return sympy.Add(*(along(x, at_ends(v), "central") for x, v in zip(coordinates, values)))
            return along(coordinates[0], at_ends(values), "central")
        return None

    def axis_of(x):
        return (sympy.Integer(coordinates.index(x)),) if several else ()

    def upwind_flux(flux, x):
        """d(flux)/dx by upwind fluxes where the flux carries a state (v * u), else centrally."""
        if carried(flux) is None:
            return along(x, at_ends(flux), "central")
        velocity, u = carried(flux)
        return F.UpwindDivergence(at_ends(velocity), with_ends(u.name), spacing[x], *axis_of(x))

    def upwinded(e):
        if not upwind:
            return None
        if isinstance(e, F.Divergence) and isinstance(e.args[0], sympy.MatrixBase):   # div([v u, w u])
            if any(carried(flux) is not None for flux in e.args[0]):
                return sympy.Add(*(upwind_flux(flux, x) for x, flux in zip(coordinates, e.args[0])))
        if isinstance(e, F.Divergence) and len(e.args) == 2 and carried(e.args[0]) is not None:
            return upwind_flux(e.args[0], coordinates[0])
        if isinstance(e, (sympy.Mul, F.Partial)) and transport(e) is not None:
            coefficient, u, x = transport(e)
            return F.UpwindDerivative(discretized(coefficient), with_ends(u.name), spacing[x], *axis_of(x))
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


def _relative_error(report, grid: Grid, inputs, taken: set, constants: list):
    """rel_l2(N, exact = f(x)) on a grid: |N - f| / |f| over every node of the grid (x_i, or
    (x_i, y_j) on a 2-D grid)."""
    net, exact = report.args
    every = Grid(axes=tuple(dataclasses.replace(a, left=GridEnd("neumann"), right=GridEnd("neumann"))
                            if not a.periodic else a for a in grid.axes))   # all nodes unknowns
    nodes = {}
    for k, axis in enumerate(grid.axes):
        name = _fresh(f"{axis.coordinate}_grid", taken)
        nodes[sympy.Symbol(axis.coordinate)] = sympy.Symbol(name)
        constants.append(_nodes_constant(name, every, k, "unknowns"))
    values = _fresh(f"{net}_exact", taken)
    constants.append(ir.Constant(name=values, value=_values_at_unknowns(exact, every),
                                 derived=("formula", exact.xreplace(nodes), str(next(iter(nodes.values()))))))
    read = [nodes[sympy.Symbol(i)] for i in inputs if sympy.Symbol(i) in nodes] or list(nodes.values())
    error = F.NodeCall(net, *read) - sympy.Symbol(values)
    return S.FrobeniusNorm(error) / S.FrobeniusNorm(sympy.Symbol(values))


def _column(axis: GridAxis, first: int, stop: int) -> sympy.ImmutableMatrix:
    return sympy.ImmutableMatrix([[sympy.Float(axis.node(i))] for i in range(first, stop)])
