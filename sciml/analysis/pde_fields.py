"""The PDE passes' common reading of a field model (pinn, grid_pde) as sympy calculus.

The IR holds a field as a network call `NetCall(u, x, t)` (or, on a grid, the state symbol `u`)
and its derivatives as unevaluated `Partial`, `Laplacian`, `Divergence` and `SpaceGradient`
nodes.  `as_calculus` rewrites such an expression with each field an undefined function of the
coordinates, u(x, t), and each derivative a sympy `Derivative` (the product and chain rules
applied), so that the orders, the principal part and the Euler-Lagrange equation are ordinary
sympy.  Nothing here changes the model.  `equations(model)` lists the PDEs to judge: the pinn
residuals (lhs - rhs) and the grid lines dt(u) = rhs as dt(u) - rhs.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy
from sympy.printing.precedence import PRECEDENCE

from sciml.frontend.diagnostics import Span
from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.lowering.mathtext import _SpecPrinter


class NotCalculus(Exception):
    """A construct the PDE passes cannot rewrite (the divergence of a vector they cannot split)."""


@dataclass(frozen=True)
class FieldEquation:
    """A PDE of the model as calculus: `expr` = 0, in the fields as functions of `coordinates`."""

    expr: sympy.Expr
    span: Span
    fields: tuple[str, ...]       # the fields (networks or grid states) it reads
    coordinates: tuple[sympy.Symbol, ...]


def coordinates(model: ir.Model) -> tuple[sympy.Symbol, ...]:
    return tuple(sympy.Symbol(c.name) for c in model.domain)


def field_names(model: ir.Model) -> tuple[str, ...]:
    if model.kind == "grid_pde":
        return tuple(s.name for s in model.states)
    return tuple(n.name for n in model.networks if n.field)


def field_function(name: str, model: ir.Model) -> sympy.Expr:
    """u(x, t): the field `name` as an undefined function of the domain's coordinates."""
    return sympy.Function(name)(*coordinates(model))


def as_calculus(expr, model: ir.Model) -> sympy.Expr:
    """`expr` of the IR with each field a function of the coordinates and each derivative done."""
    grid_states = set(field_names(model)) if model.kind == "grid_pde" else set()
    coords = coordinates(model)

    def go(e):
        if isinstance(e, sympy.Symbol) and e.name in grid_states:
            return sympy.Function(e.name)(*coords)
        if isinstance(e, S.NetCall):
            name, *inputs = e.args
            return sympy.Function(str(name))(*(go(a) for a in inputs))
        if isinstance(e, F.Partial):
            return sympy.diff(go(e.args[0]), e.args[1])
        if isinstance(e, F.Laplacian):
            inner = go(e.args[0])
            return sympy.Add(*(sympy.diff(inner, x, 2) for x in e.args[1:]))
        if isinstance(e, F.Divergence):
            axes = e.args[1:]
            if len(axes) == 1:
                return sympy.diff(go(e.args[0]), axes[0])
            parts = components(e.args[0], go)
            if parts is None or len(parts) != len(axes):
                raise NotCalculus(f"the divergence of {e.args[0]}")
            return sympy.Add(*(sympy.diff(p, x) for p, x in zip(parts, axes)))
        if isinstance(e, F.Convolution):
            return _convolution(e, go, model)
        if isinstance(e, F.SpaceGradient):
            raise NotCalculus("a gradient outside a norm or a divergence")
        if isinstance(e, sympy.Pow) and isinstance(e.base, S.SampleNorm) and e.exp == 2:
            parts = components(e.base.args[0], go)
            if parts is None:
                raise NotCalculus(f"the norm of {e.base.args[0]}")
            return sympy.Add(*(p ** 2 for p in parts))
        if isinstance(e, S.SampleNorm):
            parts = components(e.args[0], go)
            if parts is None:
                raise NotCalculus(f"the norm of {e.args[0]}")
            return sympy.sqrt(sympy.Add(*(p ** 2 for p in parts)))
        if not e.args:
            return e
        return e.func(*(go(a) if isinstance(a, sympy.Basic) else a for a in e.args))

    return go(sympy.sympify(expr))


def _convolution(conv, go, model):
    """conv(K, u) on the grid as its Taylor expansion to second order in the grid's dx:
    (K1 + K2 + K3) u + dx (K3 - K1) u_x + dx^2 (K1 + K3)/2 u_xx (stencils.taylor_operator)."""
    from sciml.analysis.grid import kernel_taps, spacings
    from sciml.analysis.stencils import taylor_operator
    kernel, inner, coordinate = conv.args
    taps = kernel_taps(kernel, model)
    spacing = next((s for s in spacings(model) if s.coordinate == str(coordinate)), None)
    if taps is None or spacing is None:
        raise NotCalculus(f"the kernel {kernel}")
    op = taylor_operator(taps, spacing.value)
    value = go(inner)
    return op.c0 * value + op.c1 * sympy.diff(value, coordinate) + op.c2 * sympy.diff(value, coordinate, 2)


def components(vector, go):
    """The entries of a vector expression built from gradients: grad(u), k * grad(u), sums."""
    if isinstance(vector, F.SpaceGradient):
        inner = go(vector.args[0])
        return [sympy.diff(inner, x) for x in vector.args[1:]]
    if isinstance(vector, sympy.Add):
        parts = [components(a, go) for a in vector.args]
        if any(p is None for p in parts) or len({len(p) for p in parts}) != 1:
            return None
        return [sympy.Add(*entries) for entries in zip(*parts)]
    if isinstance(vector, sympy.Mul):
        vectors = [a for a in vector.args if a.has(F.SpaceGradient)]
        if len(vectors) != 1:
            return None
        scale = go(sympy.Mul(*(a for a in vector.args if a is not vectors[0])))
        parts = components(vectors[0], go)
        return None if parts is None else [scale * p for p in parts]
    return None


def equations(model: ir.Model) -> tuple[FieldEquation, ...]:
    """The PDEs of a pinn (its residuals) or a grid_pde (dt(u) - rhs, one per state)."""
    names = field_names(model)
    coords = coordinates(model)
    out = []
    if model.kind == "grid_pde":
        t = sympy.Symbol("t")
        for eq in model.equations:
            lhs = sympy.diff(field_function(eq.state, model), t, eq.order)
            expr = lhs - as_calculus(eq.rhs, model)
            out.append(FieldEquation(expr, eq.span, _read(expr, names), coords))
    else:
        for residual in model.residuals:
            expr = as_calculus(residual.expr, model)
            out.append(FieldEquation(expr, residual.span, _read(expr, names), coords))
    return tuple(out)


def _read(expr, names) -> tuple[str, ...]:
    read = {f.func.__name__ for f in expr.atoms(sympy.core.function.AppliedUndef)}
    return tuple(n for n in names if n in read)


def field_derivatives(expr, field: str, coords) -> list[sympy.Derivative]:
    """The derivatives of the field `field` (as a function of the coordinates) in `expr`."""
    return [d for d in expr.atoms(sympy.Derivative)
            if getattr(d.expr.func, "__name__", "") == field and tuple(d.expr.args) == tuple(coords)]


def order_in(derivative: sympy.Derivative, coordinate: sympy.Symbol) -> int:
    return sum(int(n) for v, n in derivative.variable_count if v == coordinate)


def orders(expr, field: str, coords) -> dict:
    """{coordinate: the highest order of a derivative of `field` in it} (0 where none)."""
    ds = field_derivatives(expr, field, coords)
    return {x: max((order_in(d, x) for d in ds), default=0) for x in coords}


def known_values(model: ir.Model) -> tuple[dict, dict]:
    """({constant: value}, {learned parameter: initial value}) for the scalar ones with a value."""
    constants = {sympy.Symbol(c.name): c.value for c in model.constants
                 if not isinstance(c.value, sympy.MatrixBase)}
    learned = {sympy.Symbol(p.name): p.init.value for p in model.parameters
               if p.shape in ((), (1,)) and p.init.kind == "value" and p.init.value is not None
               and not isinstance(p.init.value, sympy.MatrixBase)}
    return constants, learned


class PdeTextPrinter(_SpecPrinter):
    """Calculus in the spec's notation: u for u(x, t), d(u, x, x) and dt(u) for the derivatives."""

    def _print_Derivative(self, expr):
        name = self._print(expr.expr)
        variables = [v for v, n in expr.variable_count for _ in range(int(n))]
        if all(v == sympy.Symbol("t") for v in variables):
            text = name
            for _ in variables:
                text = f"dt({text})"
            return text
        return f"d({name}, {', '.join(str(v) for v in variables)})"

    def _print_Function(self, expr):
        if isinstance(expr, sympy.core.function.AppliedUndef) and all(a.is_Symbol for a in expr.args):
            return expr.func.__name__
        return super()._print_Function(expr)

    def _print_Subs(self, expr):
        return self.parenthesize(expr.expr, PRECEDENCE["Atom"])

    # the spec's operators, where an equation is kept in divergence form (ritz.divergence_form)
    def _print_Laplacian(self, expr):
        return f"lap({self._print(expr.args[0])})"

    def _print_SpaceGradient(self, expr):
        return f"grad({self._print(expr.args[0])})"

    def _print_Divergence(self, expr):
        return f"div({self._print(expr.args[0])})"

    def _print_Partial(self, expr):
        return f"d({self._print(expr.args[0])}, {self._print(expr.args[1])})"


_PRINTER = PdeTextPrinter()


def pde_text(expr) -> str:
    """A calculus expression as text: -nu*d(u, x, x) + dt(u) + u*d(u, x)."""
    return _PRINTER.doprint(sympy.sympify(expr)).replace("**", "^")
