"""Arithmetic of typed expressions, as a mixin of `ExpressionLowering`: + - * / ^ with the
shapes of the maths (`*` is the matrix product when its left factor is a matrix), the identity
I sized by the term it is added to, written-out vectors folded entry by entry, and every number
checked to be a finite float64 (powers judged before they are computed)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import sympy

from sciml.lowering import limits
from sciml.lowering import symbols as S

if TYPE_CHECKING:
    from sciml.lowering.expressions import Typed


def _numeric(expr) -> bool:
    from sciml.lowering.expressions import _numeric as numeric
    return numeric(expr)


class Arithmetic:
    def _BinOp(self, node):
        left, right = self.lower(node.left), self.lower(node.right)
        if node.op != "^" and _numeric(left.expr) and _numeric(right.expr):
            what = {"+": "this sum", "-": "this difference", "*": "this product", "/": "this quotient"}
            return self._in_range(self._binop(node, left, right), node, what[node.op])
        return self._binop(node, left, right)

    def _binop(self, node, left: Typed, right: Typed) -> Typed:
        batched = self.join(node, left, right)
        if node.op in "+-*" and isinstance(left.expr, sympy.MatrixBase) != isinstance(right.expr, sympy.MatrixBase):
            return self._mix_constant(node, left, right)
        if node.op in "+-":
            shape = self._identity_shape(node, left, right)
            if shape is not None:
                left, right = (self._fill_identity(x, shape, node.span) for x in (left, right))
            shape = self._broadcast(node, left, right, "add" if node.op == "+" else "subtract")
            expr = left.expr + right.expr if node.op == "+" else left.expr - right.expr
            return self.typed(expr, shape, batched)
        if node.op == "*":
            if len(left.shape) == 2 and len(right.shape) in (1, 2) and not self._scalar(right):
                if left.shape[1] != right.shape[0]:
                    self.fail("E202", f"matrix product of {self.fmt(left.shape)} and "
                              f"{self.fmt(right.shape)}: inner dimensions {left.shape[1]} and "
                              f"{right.shape[0]} differ", node.span,
                              "check the shapes in the param and state declarations")
                shape = (left.shape[0],) + tuple(right.shape[1:])
                return self.typed(S.MatProduct(left.expr, right.expr), shape, batched)
            if len(right.shape) == 2 and not self._scalar(left) and len(left.shape) == 1:
                self.fail("E202", f"a vector ({self.fmt(left.shape)}) times a matrix "
                          f"({self.fmt(right.shape)})", node.span,
                          "vectors are columns: write the matrix first, or transpose it")
            shape = self._broadcast(node, left, right, "multiply")
            if isinstance(left.expr, sympy.MatrixBase) and isinstance(right.expr, sympy.MatrixBase):
                return self.typed(left.expr.multiply_elementwise(right.expr), shape, batched)
            return self.typed(left.expr * right.expr, shape, batched)
        if node.op == "/":
            if not self._scalar(right) and right.shape != left.shape:
                self.fail("E212", f"division by {self.fmt(right.shape)}: the divisor must be a "
                          "scalar or have the same shape", node.span)
            if isinstance(right.expr, sympy.MatrixBase) or right.expr.is_zero:
                self.fail("E212", "division by zero" if right.expr.is_zero else "division by a "
                          "written-out vector", node.right.span, "divide by a nonzero scalar")
            shape = left.shape if not self._scalar(left) else right.shape
            return self.typed(left.expr / right.expr, shape, batched)
        # power
        if not self._scalar(right) or right.batched or isinstance(right.expr, sympy.MatrixBase):
            self.fail("E209", "the exponent must be a scalar", node.right.span)
        if len(left.shape) == 2:
            self.fail("E209", f"power of a matrix ({self.fmt(left.shape)})", node.span,
                      "powers act elementwise on vectors; write A * A for a matrix product")
        if isinstance(left.expr, sympy.MatrixBase):  # a constant vector, elementwise
            value = left.expr.applyfunc(lambda entry: self._power(node, entry, right.expr))
        else:
            value = self._power(node, left.expr, right.expr)
        if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I):
            self.fail("E209", "this power is not a finite real number", node.span)
        return self._in_range(self.typed(value, left.shape, batched), node, "this power")

    def _power(self, node, base, exponent):
        """base^exponent, its size judged before it is computed: 9^9^9 would take sympy hours
        (and 2^2^2^2^2^2 forever)."""
        try:
            return limits.guarded_power(base, exponent)
        except limits.OutOfRange as exc:
            self.out_of_range(exc, node.span, "this power")

    def out_of_range(self, exc: "limits.OutOfRange", span, what: str = "this value"):
        what = f"{what} (about {limits.magnitude_text(exc.digits)})"
        self.fail("E230", limits.out_of_range_message(what, exc.problem), span,
                  limits.range_help(exc.problem))

    def _in_range(self, value: Typed, node, what: str) -> Typed:
        """`value` when it is not a number, or a number a float64 holds; else E230 at `node`."""
        if _numeric(value.expr):
            problem = limits.range_problem(value.expr)
            if problem:
                self.fail("E230", limits.out_of_range_message(what, problem), node.span,
                          limits.range_help(problem))
        return value

    def _mix_constant(self, node, left: Typed, right: Typed) -> Typed:
        """A constant vector or matrix written out, combined with a number or an expression of
        constants (folded entry by entry: [1, -2, 1] * (grid - 1)^2) or with anything else (not
        supported yet: sympy would expand it wrongly)."""
        matrix, other = (left, right) if isinstance(left.expr, sympy.MatrixBase) else (right, left)
        if not other.expr.is_number and other.shape in ((), (1,)) and not other.batched and all(
                getattr(self.scope.get(str(s)), "kind", "") == "const" for s in other.expr.free_symbols):
            other = self.typed(self._const_value(other.expr, node.span), other.shape)
        if not other.expr.is_number:
            from sciml.lowering.expressions import Unsupported
            raise Unsupported("sums and products of written-out vectors with states or parameters",
                              node.span, "declare the vector as a const and use its name")
        value = {"+": lambda e: e + other.expr, "*": lambda e: e * other.expr,
                 "-": (lambda e: e - other.expr) if matrix is left else (lambda e: other.expr - e)}[node.op]
        return self.typed(matrix.expr.applyfunc(value), matrix.shape, matrix.axis)

