"""The fields and their derivatives in a PINN's expressions, as the emitted code names them.

A residual `dt(u) + u * d(u, x) - nu * d(u, x, x)` is, in the IR, sympy in
`Partial(NetCall(u, x, t), x)`, `Laplacian(NetCall(u, x, y), x, y)`, `SpaceGradient(...)`; the
emitter computes each field's derivatives at the points once, by Taylor mode
(taylor_code.py), and prints the expression in their names: `u_t + u*u_x - nu*u_xx`.
`FieldTerms.read(expr)` replaces every field atom by a symbol and records the derivative it
stands for (the key of taylor_code's `orders`: () the value, (i,) and (i, j) the derivatives
in the network's inputs i, j, Laplacian(over) the Laplacian); what it cannot write is listed
in `problems` (E901 in unsupported.py), never printed wrongly.
"""
from __future__ import annotations

import sympy

from sciml.backends.common.taylor_code import Laplacian, subscript
from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.lowering import symbols as S

TIME = "t"   # the time coordinate of a domain (lowering: t is the last coordinate when present)


def field_symbol(net: str, key) -> sympy.Symbol:
    """The placeholder of one field quantity (no spec name has a space; '~' sorts it after the
    spec's names, so that a product prints as nu*u_xx)."""
    return sympy.Symbol(f"~field {net} {key!r}")


def rewritten(expr):
    """|grad u|^2 as the sum of the squared first derivatives, div(grad u) as lap(u) and a
    one-dimensional divergence as the derivative: the forms the fields are read in."""
    def square_of_gradient(e):
        if (isinstance(e, sympy.Pow) and e.exp == 2 and isinstance(e.base, S.SampleNorm)
                and isinstance(e.base.args[0], F.SpaceGradient)):
            field, *coordinates = e.base.args[0].args
            return sympy.Add(*(F.Partial(field, c) ** 2 for c in coordinates))
        if isinstance(e, F.Laplacian) and not isinstance(e.args[0], S.NetCall):
            inner, *coordinates = e.args   # lap(lap(u)) = sum_i d(lap(u), x_i, x_i), and so on down
            return sympy.Add(*(_laplacian_expanded(F.Partial(F.Partial(inner, c), c)) for c in coordinates))
        if isinstance(e, F.Divergence):
            inner, *coordinates = e.args
            if isinstance(inner, F.SpaceGradient) and tuple(inner.args[1:]) == tuple(coordinates):
                return F.Laplacian(inner.args[0], *coordinates)
            if len(coordinates) == 1:
                return F.Partial(inner, coordinates[0])
        return e
    return _bottom_up(expr, square_of_gradient)


def _laplacian_expanded(expr):
    """A derivative of a Laplacian as derivatives of the field: d(lap(u), x) = sum_i u_{x_i x_i x}."""
    if isinstance(expr, F.Partial) and isinstance(expr.args[0], (F.Partial, F.Laplacian)):
        inner = _laplacian_expanded(expr.args[0])
        if isinstance(inner, sympy.Add):
            return sympy.Add(*(_laplacian_expanded(F.Partial(term, expr.args[1])) for term in inner.args))
        return F.Partial(inner, expr.args[1])
    if isinstance(expr, F.Laplacian) and isinstance(expr.args[0], S.NetCall):
        field, *coordinates = expr.args
        return sympy.Add(*(F.Partial(F.Partial(field, c), c) for c in coordinates))
    return expr


def _bottom_up(expr, rule):
    if not expr.args or isinstance(expr, sympy.Symbol):
        return rule(expr)
    return rule(expr.func(*(_bottom_up(a, rule) for a in expr.args)))


class FieldTerms:
    """The field quantities that expressions read at the points of one set (all of a field's
    inputs at the coordinates of the points)."""

    def __init__(self, model: ir.Model):
        self.model = model
        self.nets = {n.name: n for n in model.networks}
        self.used: dict[str, list] = {}      # net: keys, in the order first met
        self.problems: list[str] = []
        self.placeholders: dict = {}          # field_symbol name: (net, key)

    def coordinates_of(self, net: str, key) -> tuple:
        """The coordinates a quantity differentiates in (none for the value)."""
        inputs = self.nets[net].inputs
        return tuple(inputs[i] for i in (key.over if isinstance(key, Laplacian) else key))

    def read(self, expr):
        """expr with each field quantity replaced by its field_symbol."""
        return self._walk(rewritten(expr))

    def _walk(self, e):
        if isinstance(e, (S.NetCall, F.Partial, F.Laplacian)):
            found = self._quantity(e)
            if found is None:
                return e
            net, key = found
            keys = self.used.setdefault(net, [])
            if key not in keys:
                keys.append(key)
            symbol = field_symbol(net, key)
            self.placeholders[symbol.name] = (net, key)
            return symbol
        if isinstance(e, F.SpaceGradient):
            self.problems.append("the gradient of a field other than in |grad(u)|^2")
            return e
        if isinstance(e, (F.Divergence,)):
            self.problems.append("a divergence other than div(grad(u)) or of one coordinate")
            return e
        if not e.args or isinstance(e, sympy.Symbol):
            return e
        return e.func(*(self._walk(a) for a in e.args))

    def _quantity(self, e):
        """(net, key) of a field atom; None (and a problem) where it is not a field at the points."""
        if isinstance(e, S.NetCall):
            net = self.nets.get(str(e.args[0]))
            if net is None or not net.field or tuple(str(a) for a in e.args[1:]) != tuple(net.inputs):
                self.problems.append("a network called elsewhere than at the coordinates of the points")
                return None
            return net.name, ()
        if isinstance(e, F.Laplacian):
            inner = self._quantity(e.args[0])
            if inner is None:
                return None
            net, key = inner
            inputs = self.nets[net].inputs
            if key != () or any(str(c) not in inputs for c in e.args[1:]):
                self.problems.append("a Laplacian of an expression that is not a field")
                return None
            return net, Laplacian(tuple(sorted(inputs.index(str(c)) for c in e.args[1:])))
        inner = self._quantity(e.args[0]) if isinstance(e.args[0], (S.NetCall, F.Partial)) else None
        if inner is None:
            if not isinstance(e.args[0], (S.NetCall, F.Partial)):
                self.problems.append("the derivative of an expression that is not a field")
            return None
        net, key = inner
        inputs = self.nets[net].inputs
        if str(e.args[1]) not in inputs:
            self.problems.append("the derivative of a field in a coordinate it does not take")
            return None
        return net, tuple(sorted(key + (inputs.index(str(e.args[1])),)))


def ordered_keys(keys) -> list:
    """The value, then the derivatives by order, each order in the inputs' order."""
    return sorted(keys, key=lambda k: (2, k.over) if isinstance(k, Laplacian) else (len(k), k))


def quantity_name(net: ir.Network, code_name: str, key) -> str:
    """u, u_x, u_xt, lap_u (lap_x_u for a Laplacian over some of the inputs)."""
    if key == ():
        return code_name
    suffix = list(net.inputs)
    if isinstance(key, Laplacian):
        part = "" if len(key.over) == len(suffix) else "_" + subscript(suffix, key.over)
        return f"lap{part}_{code_name}"
    return f"{code_name}_{subscript(suffix, key)}"


def equation_order(terms: "FieldTerms", expr):
    """A residual's terms as PDEs are written: the time derivative first, then by the highest
    derivative order (u_t + u*u_x - nu*u_xx); an Add built unevaluated, to print as it stands."""
    if not isinstance(expr, sympy.Add):
        return expr

    def rank(term):
        read = [terms.placeholders[s.name] for s in term.free_symbols if s.name in terms.placeholders]
        in_time = any(TIME in terms.coordinates_of(net, key) for net, key in read)
        order = max((2 if isinstance(key, Laplacian) else len(key) for _, key in read), default=99)
        return (0 if in_time else 1, order)

    return sympy.Add(*sorted(expr.args, key=lambda term: (rank(term), sympy.default_sort_key(term))),
                     evaluate=False)
