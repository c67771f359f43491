"""The characteristic directions of a field model's pdes, read as calculus (`pde_fields.py`).

Which field a pde is the equation of (`governed`), the coefficient of one derivative with every
field held as a symbol (`coefficient`: that of u_x in u_t + u u_x is u, which reads the field),
the evolution form b dt(u) + ... (`evolution`), the sign of a coefficient at a face of the box
(`face_sign`) or of a principal symbol (`definite_sign`), and the first-order systems
dt(U) + A d(U, x) = (lower order) with their characteristic speeds, A's eigenvalues
(`first_order_systems`).  `pde_faces.py` counts boundary conditions with them; `pde_type.py`
classifies with them.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import sympy
from sympy.core.function import AppliedUndef

from sciml.analysis import pde_fields as P
from sciml.lowering import ir

T = sympy.Symbol("t")


@dataclass(frozen=True)
class System:
    """dt(U) + A d(U, x) = lower order: a first-order system in the coordinate x."""

    fields: tuple[str, ...]
    equations: tuple            # P.FieldEquation, one per field, in the fields' order
    coordinate: ir.Coordinate
    matrix: sympy.ImmutableMatrix           # A, in the spec's symbols
    speeds: tuple | None        # A's eigenvalues as numbers (constants evaluated); None: unknown
    learned: tuple = ()

    @property
    def hyperbolic(self) -> bool:
        return self.speeds is not None and all(abs(sympy.im(s)) < 1e-12 for s in self.speeds)


# -- reading a pde ---------------------------------------------------------------------------

def coefficient(expr, derivative) -> sympy.Expr:
    """The coefficient of `derivative` in `expr`, every field and derivative held as a symbol:
    in u_t + u*u_x, that of u_x is u (which reads the field), that of u_t is 1."""
    derivatives = {d: sympy.Dummy() for d in expr.atoms(sympy.Derivative)}
    if derivative not in derivatives:
        return sympy.S.Zero
    plain = expr.xreplace(derivatives)
    functions = {f: sympy.Dummy() for f in plain.atoms(AppliedUndef)}
    plain = plain.xreplace(functions)
    back = {v: k for k, v in {**derivatives, **functions}.items()}
    return sympy.diff(plain, derivatives[derivative]).xreplace(back)


def reads_field(expr) -> bool:
    return expr.has(AppliedUndef) or expr.has(sympy.Derivative)


def governed(eq: P.FieldEquation) -> tuple[str, ...]:
    """The fields `eq` is the pde of: the one it differentiates in t, else those with its highest
    derivative (u in -lap(u) = v; both in d(u, x, x) + d(v, x, x) = 0)."""
    order = {f: max((d.derivative_count for d in P.field_derivatives(eq.expr, f, eq.coordinates)),
                    default=0) for f in eq.fields}
    with_t = [f for f in eq.fields if P.orders(eq.expr, f, eq.coordinates).get(T, 0)]
    if len(with_t) == 1:
        return tuple(with_t)
    pool = with_t or [f for f in eq.fields if order[f]] or list(eq.fields)
    top = max((order[f] for f in pool), default=0)
    return tuple(f for f in pool if order[f] == top)


def evolution(eq: P.FieldEquation, field: str, model: ir.Model) -> sympy.Expr | None:
    """b, where `eq` is b dt(u) + (no other t derivative of u) with b free of the fields; else None."""
    if P.orders(eq.expr, field, eq.coordinates).get(T, 0) != 1:
        return None
    b = coefficient(eq.expr, sympy.Derivative(P.field_function(field, model), T))
    return None if b == 0 or reads_field(b) else b


def sign_for_all_reals(entry) -> int | None:
    """The sign of a coefficient for every real value of the symbols in it (1 + x^2: +1)."""
    if entry.is_number:
        return int(sympy.sign(sympy.N(entry)))
    real = entry.subs({s: sympy.Dummy(s.name, real=True) for s in entry.free_symbols})
    if real.is_zero:
        return 0
    return 1 if real.is_positive else -1 if real.is_negative else None


def face_sign(value, model: ir.Model, at: dict) -> tuple[int | None, tuple]:
    """(the sign of `value` with the coordinates of `at` set, for every value of the other
    coordinates in their intervals; learned parameters read at their initial values)."""
    constants, learned = P.known_values(model)
    used = tuple(sorted(s.name for s in value.free_symbols if s in learned))
    v = sympy.sympify(value).subs(at).subs(constants).subs(learned)
    if v.is_number:
        n = complex(sympy.N(v))
        return (0 if abs(n) < 1e-12 else 1 if n.real > 0 else -1), used
    sign = sign_for_all_reals(v)
    if sign is None:   # the coordinates left, each at or above the start of its interval
        starts = {sympy.Symbol(c.name): c.lower for c in model.domain}
        if v.free_symbols <= set(starts):
            shifted = v.subs({s: starts[s] + sympy.Dummy(nonnegative=True) for s in v.free_symbols})
            sign = 1 if shifted.is_positive else -1 if shifted.is_negative else None
    return sign, used


def definite_sign(form, variables) -> int | None:
    """+1 or -1 where the homogeneous polynomial `form` in `variables` has that sign at every
    nonzero point (checked on each set of nonzero variables, the others zero); else None."""
    signs = set()
    for size in range(1, len(variables) + 1):
        for chosen in combinations(variables, size):
            part = form.subs({v: 0 for v in variables if v not in chosen})
            part = part.subs({v: sympy.Dummy(real=True, nonzero=True) for v in chosen})
            signs.add(1 if part.is_positive else -1 if part.is_negative else None)
    return signs.pop() if len(signs) == 1 and None not in signs else None


# -- first-order systems ----------------------------------------------------------------------

def first_order_systems(model: ir.Model, equations) -> list[System]:
    """The first-order systems in each space coordinate: fields of order 1 in x, each with a pde
    b dt(u) + ..., whose x derivatives appear in each other's pdes (two fields at least)."""
    out = []
    for coordinate in model.domain:
        if coordinate.name == "t":
            continue
        x = sympy.Symbol(coordinate.name)
        own = {}
        for f in P.field_names(model):
            reading = [eq for eq in equations if f in eq.fields]
            if max((P.orders(eq.expr, f, eq.coordinates).get(x, 0) for eq in reading), default=0) != 1:
                continue
            eq = next((eq for eq in reading
                       if f in governed(eq) and evolution(eq, f, model) is not None), None)
            if eq is not None:
                own[f] = eq
        groups = _coupled(own, model, x)
        for fields in groups:
            out.append(_system(model, fields, [own[f] for f in fields], coordinate))
    return out


def _coupled(own: dict, model, x) -> list[tuple]:
    """The groups of two or more fields joined by an x derivative of one in the pde of another."""
    group = {f: {f} for f in own}
    for f, eq in own.items():
        present = eq.expr.atoms(sympy.Derivative)
        for g in own:
            if g != f and sympy.Derivative(P.field_function(g, model), x) in present:
                joined = group[f] | group[g]
                for h in joined:
                    group[h] = joined
    seen, out = set(), []
    for f in own:
        if len(group[f]) > 1 and f not in seen:
            seen |= group[f]
            out.append(tuple(g for g in own if g in group[f]))
    return out


def _system(model, fields, eqs, coordinate) -> System:
    x = sympy.Symbol(coordinate.name)
    rows = []
    for f, eq in zip(fields, eqs):
        b = evolution(eq, f, model)
        rows.append([sympy.cancel(coefficient(eq.expr, sympy.Derivative(P.field_function(g, model), x)) / b)
                     for g in fields])
    matrix = sympy.ImmutableMatrix(rows)
    constants, learned = P.known_values(model)
    used = tuple(sorted(s.name for s in matrix.free_symbols if s in learned))
    values = matrix.subs(constants).subs(learned)
    speeds = None
    if all(entry.is_number for entry in values):
        speeds = tuple(complex(e) for e in sympy.Matrix(values).evalf().eigenvals(multiple=True))
    return System(tuple(fields), tuple(eqs), coordinate, matrix, speeds, used)


def speeds_text(system: System) -> str:
    """A's eigenvalues in the spec's symbols where sympy finds them (c, -c), else as numbers."""
    if system.matrix.rows <= 2 and not reads_field(system.matrix):
        try:
            symbolic = sympy.Matrix(system.matrix).eigenvals(multiple=True)
            return ", ".join(P.pde_text(s) for s in sorted(symbolic, key=sympy.default_sort_key))
        except (sympy.polys.polyerrors.PolynomialError, NotImplementedError, ValueError):
            pass
    if system.speeds is None:
        return "not known at compile time"
    return ", ".join(_number(s) for s in sorted(system.speeds, key=lambda s: (s.real, s.imag)))


def _number(z: complex) -> str:
    return f"{z.real:g}" if abs(z.imag) < 1e-12 else f"{z.real:g}{z.imag:+g}i"
