"""Hard conditions: a field built to satisfy its value conditions exactly, u = G + D N.

The maths, read by the code writer (backends/common/pinn_ansatz.py, pinn_code.py) and LaTeX.

A condition written `with enforce = hard` (a value on a face of the box, or the initial values)
is no penalty: the emitted field is

    u(x, t) = G(x, t) + D(x, t) N(x, t),      N the network,

with D zero on every hard face and positive inside (the product of the normalized distances
(c - a)/(b - a) to each such face of coordinate c in [a, b]) and G taking the conditions' values
there.  G is the transfinite (Coons) interpolation of the face values: for each coordinate c with
hard faces the projector P_c f = sum over its faces a of f|_{c=a} L_a(c) (L_a = 1 for one face,
linear for two), and G = (1 - prod_c (1 - P_c)) f, so G equals each face's value on that face
where the values agree at the corners.  Burgers with u(x, 0) = -sin(pi x) and u(-1, t) =
u(1, t) = 0 hard: u = -sin(pi x) + (x + 1)/2 (1 - x)/2 t N(x, t).

`Ansatz.derivative(key)` is the field's derivative by the product rule, as sympy in the network's
quantities (field_symbol placeholders of the network's own keys): the Taylor route pushes the
network's derivatives forward, then these lines make the field's.  The autodiff route
differentiates the emitted field function u(p, x, t) itself.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import sympy

from sciml.lowering import ir

NETWORK = "~network"   # the placeholder of N in G + D N (no spec name has a '~')


@dataclass(frozen=True)
class Ansatz:
    net: ir.Network
    value: sympy.Basic      # G, in the coordinates' symbols
    distance: sympy.Basic   # D

    @property
    def coordinates(self) -> tuple:
        return tuple(sympy.Symbol(c) for c in self.net.inputs)

    def network(self):
        return sympy.Function(NETWORK)(*self.coordinates)

    def field(self):
        """G + D N(x, t), N an undefined sympy function of the coordinates."""
        return self.value + self.distance * self.network()

    def derivative(self, key):
        """The field's quantity `key` (() the value, (i, j) a derivative in inputs i, j, a
        Laplacian) as sympy in the network's quantities: {NetworkQuantity(key): ...}."""
        x = self.coordinates
        if hasattr(key, "over"):   # a Laplacian key (taylor_code.Laplacian)
            expr = sum((sympy.diff(self.field(), x[i], x[i]) for i in key.over), sympy.S.Zero)
        else:
            expr = sympy.diff(self.field(), *(x[i] for i in key)) if key else self.field()
        return expr.replace(lambda e: isinstance(e, sympy.Derivative) or
                            (isinstance(e, sympy.Function) and e.func.__name__ == NETWORK),
                            lambda e: network_quantity(self._key_of(e)))

    def network_keys(self, keys) -> list:
        """The network's own keys the field's `keys` read, sorted by order."""
        found = set()
        for key in keys:
            found |= {a.key for a in self.derivative(key).atoms(NetworkQuantity)}
        return sorted(found, key=lambda k: (len(k), k))

    def _key_of(self, e) -> tuple:
        if not isinstance(e, sympy.Derivative):
            return ()
        index = {symbol: k for k, symbol in enumerate(self.coordinates)}
        return tuple(sorted(index[v] for v, count in e.variable_count for _ in range(count)))


class NetworkQuantity(sympy.Symbol):
    """N's quantity `key` inside a derivative of the ansatz."""

    def __new__(cls, key):
        obj = super().__new__(cls, f"~network {key!r}")
        obj.key = key
        return obj


def network_quantity(key) -> NetworkQuantity:
    return NetworkQuantity(tuple(key))


def ansatz_of(model: ir.Model, net: ir.Network) -> Ansatz | None:
    """The ansatz of `net` from its hard conditions (None: it has none)."""
    hard = [c for c in model.conditions if c.hard and c.target == net.name]
    if not hard:
        return None
    box = {c.name: (exact(c.lower), exact(c.upper)) for c in model.domain}
    faces: dict[str, list] = {}           # coordinate: [(value, data on that face)]
    for condition in hard:
        (name, at), = condition.fixed
        if all(exact(at) != other for other, _ in faces.get(name, [])):   # a repeat: the first
            faces.setdefault(name, []).append((exact(at), condition.value))
    order = [c for c in net.inputs if c in faces]
    distance = sympy.S.One
    for name in order:
        lower, upper = box[name]
        c = sympy.Symbol(name)
        for at, _ in faces[name]:
            distance *= (c - lower) / (upper - lower) if at == lower else (upper - c) / (upper - lower)
    value = sympy.S.Zero
    for size in range(1, len(order) + 1):
        for subset in itertools.combinations(order, size):
            value += (-1) ** (size + 1) * _projected(subset, faces)
    return Ansatz(net=net, value=value, distance=sympy.factor(distance))


def exact(value) -> sympy.Rational:
    """A coordinate's end as the rational its shortest decimal spells (-1, 1/2, 1/10): the
    ansatz prints (x + 1)/2, not (0.5*x + 0.5)."""
    return sympy.Rational(repr(float(value)))


def _projected(subset, faces) -> sympy.Basic:
    """prod_{c in subset} P_c f: the face values at the corners of `subset`'s faces, each times
    the coordinates' Lagrange factors."""
    total = sympy.S.Zero
    for choice in itertools.product(*(faces[name] for name in subset)):
        first_value = choice[0][1]
        fixed = {sympy.Symbol(name): at for name, (at, _) in zip(subset, choice)}
        term = first_value.xreplace(fixed) if first_value.free_symbols else first_value
        for name, (at, _) in zip(subset, choice):
            term *= _lagrange(sympy.Symbol(name), at, [a for a, _ in faces[name]])
        total += term
    return total


def _lagrange(c, at, nodes) -> sympy.Basic:
    others = [a for a in nodes if a != at]
    factor = sympy.S.One
    for other in others:
        factor *= (c - other) / (at - other)
    return factor


def uses_ansatz(model: ir.Model) -> dict:
    """{net name: Ansatz} for the fields with hard conditions."""
    out = {}
    for net in model.networks:
        found = ansatz_of(model, net)
        if found is not None:
            out[net.name] = found
    return out
