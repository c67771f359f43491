"""The Jacobian of a right side as a sum of terms L diag(sigma') R, networks kept symbolic.

A layer sigma(A X + b) of a state X has the Jacobian diag(sigma'(A X + b)) A.  For the monotone
activations (tanh, sigmoid, relu, softplus) sigma' >= 0 and sigma' <= max sigma', so the
Jacobian of a right side is a sum of terms L diag(sigma') R with L, R matrices free of the
state (`Reader.jacobian`).  Nothing the user wrote is parsed: the terms are built from the IR's
sympy tree node by node; a part whose Jacobian is not modelled raises `Opaque` with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from sciml.analysis.jacobian.matpoly import MatPoly, norm_symbol
from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.lowering.mathtext import expr_text

# max sigma' of the monotone activations: tanh' = 1 - tanh^2, sigmoid' = s (1 - s),
# relu' in {0, 1}, softplus' = sigmoid (tests/test_analysis_structure.py checks them with sympy)
MAX_SLOPE = {"tanh": sympy.S.One, "sigmoid": sympy.Rational(1, 4), "relu": sympy.S.One,
             "softplus": sympy.S.One}
NOT_MONOTONE = {"sin": "sin' = cos changes sign"}
_ACTIVATION_NODES = {sympy.tanh: "tanh", S.Sigmoid: "sigmoid", S.Relu: "relu",
                     S.Softplus: "softplus", sympy.sin: "sin"}


@dataclass(frozen=True)
class Term:
    left: MatPoly
    activation: str | None   # 'tanh', ...; None: no diagonal factor; 'grad V': the Hessian of V
    right: MatPoly


class Opaque(Exception):
    """The right side has a part whose Jacobian the analysis does not model (the reason)."""


class Reader:
    """Turns the IR's state-free matrices into MatPolys and right sides into Jacobian terms."""

    def __init__(self, model: ir.Model):
        self.model = model
        self.shapes = {p.name: p.shape for p in model.parameters}
        self.shapes.update({c.name: c.shape for c in model.constants})
        self.per_step = {p.name for p in model.parameters if p.per_step}
        self.states = {s.name: s.shape for s in model.states}
        self.networks = {n.name: n for n in model.networks}
        self.real = {sympy.Symbol(n): sympy.Symbol(n, real=True) for n, shape in self.shapes.items()
                     if shape in ((), (1,))}
        self.scalar_values = {self.real[sympy.Symbol(c.name)]: c.value for c in model.constants
                              if c.shape in ((), (1,)) and not isinstance(c.value, sympy.MatrixBase)}
        self.values = {c.name: sympy.ImmutableMatrix(c.value) for c in model.constants
                       if isinstance(c.value, sympy.MatrixBase) and len(c.shape) == 2}
        self.literals: dict[str, sympy.ImmutableMatrix] = {}   # name -> value, for messages
        self.norms: dict[sympy.Symbol, MatPoly] = {}              # norm2(...) -> its matrix

    def norm(self, m: MatPoly) -> sympy.Expr:
        """norm2(m), remembered with m so that a runtime check can evaluate it."""
        symbol = norm_symbol(m)
        if isinstance(symbol, sympy.Symbol):
            self.norms[symbol] = m
        return symbol

    # scalars
    def scalar(self, e):
        """e as a scalar expression (real symbols), or None when e is not a state-free scalar."""
        if isinstance(e, sympy.MatrixBase) or e.atoms(S.ArrayOp):
            return None
        for s in e.free_symbols:
            if s.name not in self.shapes or self.shapes[s.name] not in ((), (1,)):
                return None
        return e.xreplace(self.real)

    # matrices
    def matrix(self, e) -> MatPoly | None:
        if isinstance(e, sympy.Symbol):
            shape = self.shapes.get(e.name)
            if shape is None or len(shape) != 2:
                return None
            return MatPoly.letter(e.name, *shape)
        if isinstance(e, S.Transposed):
            inner = self.matrix(e.args[0])
            return inner.T if inner is not None else None
        if isinstance(e, S.IdentityMatrix):
            return MatPoly.identity(int(e.args[0]))
        if isinstance(e, S.MatrixOf):
            rows, cols, *entries = e.args
            values = [self.scalar(x) for x in entries]
            if any(v is None for v in values):
                return None
            return self._literal(sympy.ImmutableMatrix(int(rows), int(cols), values))
        if isinstance(e, sympy.MatrixBase):
            return self._literal(sympy.ImmutableMatrix(e)) if e.shape[1] > 1 else None
        if isinstance(e, sympy.Add):
            parts = [self.matrix(a) for a in e.args]
            if any(p is None for p in parts):
                return None
            total = MatPoly.zero()
            for p in parts:
                total = total + p
            return total
        if isinstance(e, sympy.Mul):
            scalars = [a for a in e.args if self.scalar(a) is not None]
            others = [a for a in e.args if self.scalar(a) is None]
            if len(others) != 1:
                return None
            inner = self.matrix(others[0])
            return inner.scale(self.scalar(sympy.Mul(*scalars))) if inner is not None else None
        if isinstance(e, S.MatProduct):
            a, b = (self.matrix(x) for x in e.args)
            return a @ b if a is not None and b is not None else None
        return None

    def _literal(self, value) -> MatPoly:
        for name, known in self.literals.items():
            if known == value:
                return MatPoly.letter(name, *value.shape)
        base = "M"
        name, k = base, 1
        while name in self.shapes or name in self.literals or name in self.states:
            k += 1
            name = f"{base}{k}"
        self.literals[name] = value
        self.values[name] = value
        return MatPoly.letter(name, *value.shape)

    # the linear part in a state
    def linear(self, e, x: sympy.Symbol, n: int) -> MatPoly | None:
        """R with e = R x + (terms free of x), or None when e is not affine in x."""
        if x not in e.free_symbols:
            return MatPoly.zero()
        if e == x:
            return MatPoly.identity(n)
        if isinstance(e, sympy.Add):
            total = MatPoly.zero()
            for a in e.args:
                part = self.linear(a, x, n)
                if part is None:
                    return None
                total = total + part
            return total
        if isinstance(e, sympy.Mul):
            dependent = [a for a in e.args if x in a.free_symbols]
            rest = self.scalar(sympy.Mul(*(a for a in e.args if x not in a.free_symbols)))
            if len(dependent) != 1 or rest is None:
                return None
            inner = self.linear(dependent[0], x, n)
            return inner.scale(rest) if inner is not None else None
        if isinstance(e, S.MatProduct):
            m, inner = e.args
            if x in m.free_symbols:
                return None
            left, right = self.matrix(m), self.linear(inner, x, n)
            return left @ right if left is not None and right is not None else None
        return None

    # the Jacobian in a state
    def jacobian(self, e, x: sympy.Symbol, n: int) -> list[Term]:
        """Terms L diag(sigma') R summing to d e / d x; raises Opaque."""
        if x not in e.free_symbols:
            return []
        if e == x:
            return [Term(MatPoly.identity(n), None, MatPoly.identity(n))]
        if isinstance(e, sympy.Add):
            return [t for a in e.args for t in self.jacobian(a, x, n)]
        if isinstance(e, sympy.Mul):
            dependent = [a for a in e.args if x in a.free_symbols]
            rest = self.scalar(sympy.Mul(*(a for a in e.args if x not in a.free_symbols)))
            if len(dependent) != 1:
                raise Opaque(f"the product {expr_text(e)}")
            if rest is None:
                raise Opaque(f"the elementwise product {expr_text(e)}")
            return [Term(t.left.scale(rest), t.activation, t.right)
                    for t in self.jacobian(dependent[0], x, n)]
        if isinstance(e, S.MatProduct):
            m, inner = e.args
            left = self.matrix(m) if x not in m.free_symbols else None
            if left is None:
                raise Opaque(f"the product {expr_text(e)}")
            return [Term(left @ t.left, t.activation, t.right) for t in self.jacobian(inner, x, n)]
        activation = _ACTIVATION_NODES.get(e.func)
        if activation is not None and len(e.args) == 1:
            right = self.linear(e.args[0], x, n)
            if right is None:
                raise Opaque(f"{activation} of {expr_text(e.args[0])}, which is not affine in {x}")
            return [Term(MatPoly.identity(right.rows), activation, right)]
        if isinstance(e, S.NetGrad):
            name, arg = e.args
            right = self.linear(arg, x, n)
            if right is None:
                raise Opaque(f"grad({name}, ...) of an argument that is not affine in {x}")
            return [Term(MatPoly.identity(right.rows), f"grad {name}", right)]
        if isinstance(e, S.NetCall):
            raise Opaque(f"the network {e.args[0]} is opaque")
        raise Opaque(f"{expr_text(e)} is not a layer sigma(K u + b)")

