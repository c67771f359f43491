"""Maths in the spec's own notation for messages: K^T, A * Y, x^2, relu(...), i for sqrt(-1)."""
from __future__ import annotations

import math

import sympy
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

_FUNCTION_NAMES = {"Relu": "relu", "Sigmoid": "sigmoid", "Softplus": "softplus",
                   "SoftmaxOf": "softmax", "MeanOf": "mean", "SumOf": "sum", "PadTo": "pad",
                   "Step": "step", "Abs": "abs", "Trace": "trace", "ArgMax": "argmax"}
_REDUCTIONS = {"MeanOver": "mean", "StdOver": "std", "CovarianceOver": "covariance"}


class _SpecPrinter(StrPrinter):
    def _print_Pow(self, expr, rational=False):
        if expr.exp.is_Rational and expr.exp.is_negative and expr.exp != -1 and expr.exp.q == 1:
            return "1/" + self.parenthesize(expr.base ** -expr.exp, PRECEDENCE["Mul"])
        return super()._print_Pow(expr, rational).replace("**", "^")

    def _print_ImaginaryUnit(self, expr):
        return "i"

    def _print_Float(self, expr):
        return number_text(float(expr))

    def _print_Min(self, expr):
        return "min(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Max(self, expr):
        return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Abs(self, expr):
        return "|" + self._print(expr.args[0]) + "|"

    # the IR's array operations (symbols.py), as the spec writes them
    def _print_MatProduct(self, expr):
        a, b = expr.args
        return f"{self.parenthesize(a, PRECEDENCE['Mul'])} * {self.parenthesize(b, PRECEDENCE['Mul'])}"

    def _print_Transposed(self, expr):
        return self.parenthesize(expr.args[0], PRECEDENCE["Pow"]) + "^T"

    def _print_IdentityMatrix(self, expr):
        return "I"

    def _print_NetCall(self, expr):
        name, *inputs = expr.args
        return f"{name}({', '.join(self._print(x) for x in inputs)})"

    def _print_NetGrad(self, expr):
        name, x = expr.args
        return f"grad({name}, {self._print(x)})"

    def _print_Convolution(self, expr):
        kernel, value, _ = expr.args
        return f"conv({self._print(kernel)}, {self._print(value)})"

    def _print_MatrixOf(self, expr):
        rows, cols, *entries = expr.args
        rows, cols = int(rows), int(cols)
        return "[" + ", ".join("[" + ", ".join(self._print(entries[i * cols + j]) for j in range(cols))
                               + "]" for i in range(rows)) + "]"

    def _print_ImmutableDenseMatrix(self, expr):
        rows, cols = expr.shape
        if cols == 1:
            return "[" + ", ".join(self._print(expr[i, 0]) for i in range(rows)) + "]"
        return "[" + ", ".join("[" + ", ".join(self._print(expr[i, j]) for j in range(cols)) + "]"
                               for i in range(rows)) + "]"

    def _print_Function(self, expr):
        if type(expr).__name__ in _REDUCTIONS:   # mean(v, over = draws), std(v) over all entries
            value, axis = expr.args
            over = "" if str(axis) == "all" else f", over = {axis}"
            return f"{_REDUCTIONS[type(expr).__name__]}({self._print(value)}{over})"
        name = _FUNCTION_NAMES.get(type(expr).__name__, expr.func.__name__)
        return f"{name}({', '.join(self._print(a) for a in expr.args)})"


_PRINTER = _SpecPrinter()


def expr_text(expr) -> str:
    """A sympy expression (scalar, or the IR's) as text: 2*gamma/(gamma^2 + norm2(K - K^T)^2)."""
    return _PRINTER.doprint(sympy.sympify(expr)).replace("**", "^")


def number_text(x: float) -> str:
    """4 significant digits, no trailing zeros: 0.1, 1.411, 20, 2.5e-05 (inf, nan as such)."""
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if x == int(x) and abs(x) < 1e6:
        return str(int(x))
    return f"{x:.4g}"

