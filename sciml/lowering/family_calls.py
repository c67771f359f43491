"""The expressions of the families beyond the ODE, as a mixin of `ExpressionLowering`:
SDE terms (dt, dW), fields and their derivatives (d, lap, div, grad), derivatives of networks
in a named input (div, jacobian), reductions over a named axis, and the losses and reports of
PINNs, Deep Ritz, score matching, VAEs and Bayesian networks.

The lowering sets `context` (which statement is being lowered: ode, sde, pde, condition,
loss, report) and `coordinates` (the domain's, in order); the checks read them."""
from __future__ import annotations

import sympy

from sciml.frontend import ast
from sciml.frontend.diagnostics import SpecError
from sciml.lowering import axes
from sciml.lowering import family_symbols as F
from sciml.lowering import symbols as S
from sciml.lowering.family_losses import FamilyLosses, written

# entries of `failed` (never names: they hold spaces) for the domain of a PDE model
NO_DOMAIN = "missing domain"
DOMAIN_REJECTED = "rejected domain"

SAMPLERS = ("uniform", "latin_hypercube", "sobol")


class FamilyCalls(FamilyLosses):
    context = ""
    coordinates: tuple = ()

    @property
    def space(self) -> tuple:
        return tuple(c for c in self.coordinates if c != "t")

    def require_domain(self):
        """Stop at a use that needs the domain of a PDE model that has none: E309 once, at the
        first such use (its later uses are skipped); nothing when the domain line was written
        and rejected (its error is reported), or is marked rejected (DOMAIN_REJECTED)."""
        if not self.lowering.kind.domain or (self.coordinates and DOMAIN_REJECTED not in self.failed):
            return
        if not written(self.lowering.spec, ast.DomainStmt) and NO_DOMAIN not in self.failed:
            model = next(st for st in self.lowering.spec.statements if isinstance(st, ast.ModelStmt))
            self.sink.error("E309", f"a model of kind {self.kind} needs a domain", model.span,
                            "add e.g.: domain x in [0, 1], t in [0, 1]")
            self.failed.add(NO_DOMAIN)
        raise SpecError(self.sink.items)

    # -- names -----------------------------------------------------------------------------
    def family_name(self, node):
        """The value of a bare name that only the families know, or None."""
        name = node.id
        entry = self.scope.get(name)
        if entry is not None and entry.kind == "coordinate":
            axis = axes.NODES if self.kind == "grid_pde" else axes.POINTS
            return self.typed(sympy.Symbol(name), (), axis)
        if entry is not None and entry.kind == "noise":
            self.fail("E252", f"the noise '{name}' enters an sde line as its increment d{name}",
                      node.span, f"write e.g.: sde d(X) = f(X) * dt + g(X) * d{name}")
        if entry is not None and entry.kind == "net" and entry.node.field:
            return self.field_value(entry.node, node.span)
        if entry is None and name == "dt":
            if self.context != "sde":
                self.fail("E217", "dt stands alone only in an sde line (d(X) = f * dt + g * dW); "
                          "elsewhere it is the time derivative dt(u)", node.span)
            return self.typed(F.DT, ())
        if entry is None and name.startswith("d") and name[1:] in self.failed:
            self.skip_if_failed(name[1:])   # the increment of a noise whose declaration failed
        if entry is None and name.startswith("d") and name[1:2].isupper() and self.context == "sde" \
                and name[1:] not in self.scope:   # dW, dB: the increment of an undeclared noise
            noises = getattr(self.lowering, "noises", ())
            self.fail("E101", f"unknown name '{name}'", node.span,
                      "the increments of the noises: " + ", ".join("d" + n.name for n in noises)
                      if noises else f"{name} is the increment of a noise: declare it, noise {name[1:]} : R")
        if entry is None and name.startswith("d") and self.scope.get(name[1:], None) is not None \
                and self.scope[name[1:]].kind == "noise":
            noise = self.scope[name[1:]]
            if self.context != "sde":
                self.fail("E252", f"the increment {name} belongs in an sde line", node.span,
                          "an sde line reads d(X) = f(X) * dt + g(X) * dW")
            return self.typed(F.Increment(sympy.Symbol(name[1:])), noise.shape, axes.PATHS)
        if entry is None and name == "residual":
            if self.kind != "pinn" or self.context != "loss":
                self.fail("E254", "`residual` is the mean square of the PDE residual, a loss term of "
                          "a pinn model", node.span, "write: loss residual + fit(initial) + fit(boundary)")
            if not self.lowering.residuals:
                self.skip_if_written("pde")
                self.fail("E254", "`residual` needs a pde line", node.span, "add: pde ... = 0")
            return self.typed(F.Residual(), ())
        if entry is None and name == "t" and self.context in ("ode", "sde"):
            return self.typed(sympy.Symbol("t"), ())   # the time at which the stage evaluates
        return None

    def field_value(self, net, span):
        """A bare field u: u at the current point of the point set being evaluated."""
        if self.context not in ("pde", "condition", "loss", "report", "energy"):
            self.fail("E255", f"the field '{net.name}' is read in a PDE, a condition or a loss", span)
        axis = axes.NODES if self.kind == "grid_pde" else axes.POINTS
        return self.typed(S.NetCall(sympy.Symbol(net.name), *(sympy.Symbol(c) for c in net.inputs)),
                          (net.widths[-1],) if net.widths[-1] > 1 else (), axis)

    def typed(self, expr, shape, axis=None):
        from sciml.lowering.expressions import Typed
        return Typed(expr, shape, axis)

    # -- derivatives in space and time -------------------------------------------------------
    def _coordinate(self, node, what):
        self.require_domain()
        if not isinstance(node, ast.Name) or node.id not in self.coordinates:
            listed = ", ".join(self.coordinates) or "none: the model has no domain"
            self.fail("E253", f"{what} is taken in a coordinate of the domain", node.span,
                      f"coordinates: {listed}")
        return sympy.Symbol(node.id)

    def _pde_only(self, node):
        self.require_domain()
        if not self.coordinates:
            self.fail("E253", f"{node.func}(...) is a derivative in the coordinates of a domain; a "
                      f"model of kind {self.kind} has none", node.span,
                      "domains belong to models of kind pinn and grid_pde; the derivative of a "
                      "network in one of its inputs is grad(V, q), jacobian(F(z, t), z) or "
                      "div(F(z, t), z)")

    def _call_d(self, node):
        """d(u, x), d(u, x, x): derivatives of a field or grid state in coordinates."""
        if len(node.positional) < 2 or node.keywords:
            self.fail("E217", "d(X) is the left side of an sde line; d(u, x) and d(u, x, x) are "
                      "derivatives in a coordinate", node.span)
        self._pde_only(node)
        value = self.lower(node.positional[0])
        expr = value.expr
        for coordinate in node.positional[1:]:
            expr = F.Partial(expr, self._coordinate(coordinate, "a derivative d(u, x)"))
        return self.typed(expr, value.shape, value.axis)

    def pde_time_derivative(self, node):
        """dt(u) inside a PINN's pde line: the derivative in the coordinate t."""
        self.require_domain()
        if "t" not in self.coordinates:
            self.fail("E253", "dt(u) in a pde needs the coordinate t in the domain", node.span,
                      f"add it last: domain {', '.join(f'{c} in [...]' for c in self.coordinates)}, "
                      "t in [0, 1]; a steady problem has no dt(u)")
        (value,) = self._positional(node, 1)
        return self.typed(F.Partial(value.expr, sympy.Symbol("t")), value.shape, value.axis)

    def _space_operator(self, node, cls, what):
        self._pde_only(node)
        (value,) = self._positional(node, 1)
        coordinates = [sympy.Symbol(c) for c in self.space]
        if not coordinates:
            self.fail("E253", f"{what} needs a space coordinate in the domain", node.span)
        return value, coordinates

    def _call_lap(self, node):
        value, coordinates = self._space_operator(node, F.Laplacian, "lap(u)")
        return self.typed(F.Laplacian(value.expr, *coordinates), value.shape, value.axis)

    def space_divergence(self, node):
        if len(node.positional) == 2:   # div(v, z): a divergence in an input, of a network call
            return self.network_divergence(node)
        if self.kind == "grid_pde" and len(node.positional) == 1 and isinstance(node.positional[0], ast.ListLiteral):
            return self._grid_flux_divergence(node)
        value, coordinates = self._space_operator(node, F.Divergence, "div(v)")
        if not (value.is_scalar and len(coordinates) == 1) and value.shape != (len(coordinates),):
            self.fail("E201", f"div(v) of {self.fmt(value.shape)} in {len(coordinates)} space "
                      f"dimension(s)", node.span, f"v has one entry per space coordinate "
                      f"({', '.join(self.space)}); in one dimension a scalar")
        return self.typed(F.Divergence(value.expr, *coordinates), (), value.axis)

    def _grid_flux_divergence(self, node):
        """div([v, w]) on a grid: the flux written out, one entry per space coordinate, each a
        value per node (a function of the states, the coordinates and networks)."""
        self._pde_only(node)
        items = node.positional[0].items
        if len(items) != len(self.space):
            self.fail("E201", f"div([...]) of {len(items)} entries in {len(self.space)} space "
                      f"dimension(s)", node.span, f"the flux has one entry per space coordinate ({', '.join(self.space)})")
        entries = [self.lower(item) for item in items]
        if any(not e.is_scalar for e in entries):
            self.fail("E201", "each entry of the flux div([v, w]) is a scalar value per node", node.span)
        flux = sympy.ImmutableMatrix([[e.expr] for e in entries])
        axis = next((e.axis for e in entries if e.axis), None)
        return self.typed(F.Divergence(flux, *(sympy.Symbol(c) for c in self.space)), (), axis)

    def space_gradient(self, node):
        value, coordinates = self._space_operator(node, F.SpaceGradient, "grad(u)")
        if not value.is_scalar:
            self.fail("E201", f"grad(u) of {self.fmt(value.shape)}: u is a scalar field", node.span)
        return self.typed(F.SpaceGradient(value.expr, *coordinates), (len(coordinates),), value.axis)

    def _call_conv(self, node):
        """conv(K, u): the 3-tap kernel K run along the grid axis as a CNN runs it
        (cross-correlation, K[1] u_{i-1} + K[2] u_i + K[3] u_{i+1}); conv(K, u, y) names the axis
        on a grid of several dimensions.  K is R[3]: a parameter (learned), a constant or a
        written-out vector."""
        if self.kind != "grid_pde" or self.context != "pde":
            where = "a pde line" if self.kind == "grid_pde" else f"a model of kind {self.kind}"
            self.fail("E272", f"conv(K, u) runs a kernel along the axis of a grid, in the pde line of "
                      f"a model of kind grid_pde; this is {where}", node.span,
                      "on a grid write: pde dt(c) = conv(K, c) + ..., with param K : R[3]")
        if node.keywords or len(node.positional) not in (2, 3):
            self.fail("E206", "conv() takes a kernel, a value on the grid and, on a grid of several "
                      "dimensions, the axis: conv(K, u) or conv(K, u, x)", node.span)
        self._pde_only(node)
        kernel = self.lower(node.positional[0])
        if kernel.shape != (3,) or kernel.batched:
            shape = f"{self.fmt(kernel.shape)}{' per ' + kernel.axis if kernel.batched else ''}"
            self.fail("E273", f"the kernel of conv(K, u) has 3 taps, R[3]; this one is {shape}",
                      node.positional[0].span, "declare it: param K : R[3] (learned), or write the "
                      "taps: conv([1, -2, 1] * (grid - 1)^2, u)")
        value = self.lower(node.positional[1])
        if not value.is_scalar or not axes.has(value.axis, axes.NODES):
            self.fail("E272", "conv(K, u) runs along the grid: u is a value per node (a grid state, "
                      "or a function of it)", node.positional[1].span,
                      "write e.g. conv(K, c) for the state c")
        space = self.space
        if len(node.positional) == 3:
            axis = self._coordinate(node.positional[2], "the axis of conv(K, u, x)")
            if axis.name not in space:
                self.fail("E253", "the axis of conv(K, u, x) is a space coordinate", node.positional[2].span,
                          "space coordinates: " + ", ".join(space))
        elif len(space) == 1:
            axis = sympy.Symbol(space[0])
        else:
            self.fail("E206", f"on a grid in {', '.join(space)}, conv(K, u, x) names the axis it "
                      "runs along", node.span, f"write e.g. conv(K, u, {space[0]}) + conv(K, u, {space[1]})")
        return self.typed(F.Convolution(kernel.expr, value.expr, axis), (), value.axis)

    # -- derivatives of networks in a named input ---------------------------------------------
    def _network_input(self, node, what):
        """(the lowered call F(...), the input symbol) of div(F(z, t), z) / jacobian(F(z, t), z)."""
        if len(node.positional) != 2:
            self.fail("E206", f"{what} takes a network call and the input it differentiates in: "
                      f"{node.func}(F(z, t), z)", node.span)
        call, wrt = node.positional
        net = self.scope.get(call.func) if isinstance(call, ast.Call) else None
        if net is None and isinstance(call, ast.Call):
            self.skip_if_failed(call.func)   # a network whose declaration was rejected
        if net is None or net.kind != "net":
            self.fail("E240", f"{what} differentiates a network call, as {node.func}(F(z, t), z)",
                      call.span, f"write the call itself; a factor goes outside: 2 * {node.func}(F(z, t), z)"
                      if isinstance(call, ast.BinOp) else "its first argument calls a network declared with net")
        value = self.lower(call)
        if not isinstance(wrt, ast.Name) or not any(isinstance(a, ast.Name) and a.id == wrt.id
                                                    for a in call.positional):
            self.fail("E240", f"{what}: '{getattr(wrt, 'id', '?')}' is not an input of this call",
                      wrt.span, "name one of the call's arguments")
        inner = self.lower(wrt)
        return value, inner, sympy.Symbol(wrt.id)

    def network_divergence(self, node):
        value, inner, wrt = self._network_input(node, "div")
        if value.shape != inner.shape:
            self.fail("E240", f"div: the network maps {self.fmt(inner.shape)} to "
                      f"{self.fmt(value.shape)}; a divergence needs the same size in and out", node.span)
        estimator, probes, distribution = "exact", 0, "none"
        for position, kw in enumerate(node.keywords):
            if kw.name != "trace":
                self.fail("E206", f"div() takes no argument '{kw.name}'", kw.span,
                          "the one option is trace = exact or trace = hutchinson(k)")
            if position:
                self.fail("E206", "trace is given twice", kw.span, "keep one of them")
            if isinstance(kw.value, ast.Name) and kw.value.id == "exact":
                continue
            call = kw.value
            if isinstance(call, ast.Call) and call.func == "hutchinson" and 1 <= len(call.positional) <= 2 \
                    and not call.keywords:
                estimator, probes = "hutchinson", self.lowering.integer(call.positional[0], "probes")
                distribution = "rademacher"
                if len(call.positional) == 2:
                    kind = call.positional[1]
                    if not (isinstance(kind, ast.Name) and kind.id in ("rademacher", "normal")):
                        self.fail("E256", "Hutchinson's probes are rademacher (+-1, the default) or normal",
                                  kind.span, "write hutchinson(1) or hutchinson(1, normal)")
                    distribution = kind.id
                continue
            self.fail("E256", "trace is exact or hutchinson(k), k random probes", kw.value.span,
                      "write trace = exact (d network passes) or trace = hutchinson(1) for large d")
        return self.typed(F.NetDivergence(value.expr, wrt, sympy.Symbol(estimator), sympy.Integer(probes),
                                          sympy.Symbol(distribution)), (), value.axis)

    def _call_jacobian(self, node):
        value, inner, wrt = self._network_input(node, "jacobian")
        if node.keywords:
            self.fail("E206", f"jacobian() takes no argument '{node.keywords[0].name}'", node.keywords[0].span)
        rows, cols = (value.shape or (1,))[0], (inner.shape or (1,))[0]
        return self.typed(F.NetJacobian(value.expr, wrt), (rows, cols), value.axis)

    # -- reductions over a named axis ---------------------------------------------------------
    def over_axis(self, node, value):
        """The axis named by `over = A`, checked against the axes of `value`; None for all."""
        over = [kw for kw in node.keywords if kw.name == "over"]
        extra = [kw for kw in node.keywords if kw.name != "over"]
        if extra:
            self.fail("E206", f"{node.func}() takes no argument '{extra[0].name}'", extra[0].span,
                      "the one option is over = AXIS")
        if not over:
            return None
        name = over[0].value.id if isinstance(over[0].value, ast.Name) else None
        if name is None or not axes.has(value.axis, name):
            held = ", ".join(sorted(axes.axes_of(value.axis))) or "none"
            self.fail("E251", f"{node.func}(..., over = {name or '?'}): this value has no axis "
                      f"'{name or '?'}'", over[0].value.span, f"its axes: {held}")
        return name

    def reduction(self, node, cls):
        if len(node.positional) != 1:
            self.fail("E206", f"{node.func}() takes 1 argument, got {len(node.positional)}", node.span)
        value = self.lower(node.positional[0])
        over = self.over_axis(node, value)
        if over is None and cls is not F.MeanOver:
            return self.typed(cls(value.expr, sympy.Symbol("all")), () if cls is not F.CovarianceOver
                              else (value.shape or (1,)) * 2)
        shape = value.shape if over is not None else ()
        if cls is F.CovarianceOver:
            shape = ((value.shape or (1,))[0],) * 2
        return self.typed(cls(value.expr, sympy.Symbol(over or "all")), shape, axes.without(value.axis, over))

    def _call_std(self, node):
        return self.reduction(node, F.StdOver)

    def _call_covariance(self, node):
        return self.reduction(node, F.CovarianceOver)

    def _call_trace(self, node):
        (value,) = self._positional(node, 1)
        if len(value.shape) != 2 or value.shape[0] != value.shape[1]:
            self.fail("E201", f"trace of {self.fmt(value.shape)}: it takes a square matrix", node.span)
        return self.typed(F.Trace(value.expr), (), value.axis)

    def _call_argmax(self, node):
        (value,) = self._positional(node, 1)
        if not value.is_scalar or not value.batched:
            self.fail("E201", "argmax(v) takes one number per sample and gives the index of the "
                      "largest", node.span)
        return self.typed(F.ArgMax(value.expr), ())

    def _call_uniform(self, node):
        self.fail("E103", "uniform(...) may appear only after '~' in a param declaration or as the "
                  "times of dsm(..., t = uniform(low, high))", node.func_span)

    def _call_bernoulli(self, node):
        self.fail("E103", "bernoulli(...) is a decoder of elbo(..., decoder = bernoulli(p))", node.func_span)
