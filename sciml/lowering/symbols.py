"""The sympy vocabulary of the IR: array operations that sympy has no node for.

Symbols of a spec are plain `sympy.Symbol`s named as the user wrote them; backends map every
name to a safe identifier when printing.  The classes below are unevaluated functions, so the
maths stays a sympy tree that printers and the analysis can walk, and no user text is parsed.
"""
from __future__ import annotations

import sympy
from sympy.printing.precedence import PRECEDENCE


class ArrayOp(sympy.Function):
    """Base of the IR's array operations: never evaluated, never simplified away."""

    @classmethod
    def eval(cls, *args):
        return None


class MatProduct(ArrayOp):
    """Matrix product A x (x a column, or a batch of columns)."""

    nargs = 2
    precedence = PRECEDENCE["Mul"] - 1  # printed in parentheses inside * and /


class Transposed(ArrayOp):
    nargs = 1


class IdentityMatrix(ArrayOp):
    """The n-by-n identity; the argument is n."""

    nargs = 1


class MatrixOf(ArrayOp):
    """A matrix literal whose entries are scalar expressions: MatrixOf(rows, cols, *entries)."""


class NetCall(ArrayOp):
    """NetCall(name, *inputs): evaluate network `name`; several inputs are stacked."""


class NetGrad(ArrayOp):
    """NetGrad(name, x): the gradient of the scalar network `name` at x, sample by sample."""

    nargs = 2


class StateAt(ArrayOp):
    """StateAt(state, time): the state at a final time, or at every observation time."""

    nargs = 2


class Step(ArrayOp):
    """The Heaviside step, 0 at and below zero: the derivative of relu."""

    nargs = 1


class Relu(ArrayOp):
    nargs = 1

    def fdiff(self, argindex=1):
        return Step(self.args[0])


class Sigmoid(ArrayOp):
    nargs = 1

    def fdiff(self, argindex=1):
        return Sigmoid(self.args[0]) * (1 - Sigmoid(self.args[0]))


class Softplus(ArrayOp):
    nargs = 1

    def fdiff(self, argindex=1):
        return Sigmoid(self.args[0])


class SoftmaxOf(ArrayOp):
    """Softmax over the feature axis."""

    nargs = 1


class SoftmaxCrossEntropy(ArrayOp):
    """Mean over samples of -log softmax(logits)[label]."""

    nargs = 2


class Accuracy(ArrayOp):
    """Fraction of samples whose largest logit is the label."""

    nargs = 2


class MeanSquaredError(ArrayOp):
    nargs = 2


class MeanOf(ArrayOp):
    nargs = 1


class SumOf(ArrayOp):
    """Sum of all entries."""

    nargs = 1


class FrobeniusNorm(ArrayOp):
    """Euclidean (Frobenius) norm of a whole array."""

    nargs = 1


class SampleNorm(ArrayOp):
    """Euclidean norm of each sample (over the feature axis)."""

    nargs = 1


class EntrySum(ArrayOp):
    """The sum of the entries of each sample (over the feature axis): sum(x, over = entries)."""

    nargs = 1


class EntryMin(ArrayOp):
    """The smallest entry of each sample (over the feature axis): min(x)."""

    nargs = 1


class EntryMax(ArrayOp):
    """The largest entry of each sample (over the feature axis): max(x)."""

    nargs = 1


class InnerProduct(ArrayOp):
    """Inner product over the feature axis."""

    nargs = 2


class PadTo(ArrayOp):
    """Pad(x, n): zero-pad the feature axis of x to length n."""

    nargs = 2


class SmoothInTime(ArrayOp):
    """Sum over steps j of |theta_{j+1} - theta_j|^2 / h for per-step parameters theta."""


class FlowNll(ArrayOp):
    """FlowNll(flow, x, mean, std): the mean over samples of -log p(x) for x = g(z), z normal
    with that mean and std in every coordinate: 1/2 |(g^-1(x) - mean)/std|^2 + d log(std)
    + d/2 log(2 pi) - log|det dg^-1/dx| (the change of variables, seed 000)."""

    nargs = 4


ACTIVATIONS = {
    "tanh": sympy.tanh,
    "sigmoid": Sigmoid,
    "relu": Relu,
    "softplus": Softplus,
    "sin": sympy.sin,
}

ELEMENTWISE = {
    "exp": sympy.exp,
    "log": sympy.log,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "tanh": sympy.tanh,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "sqrt": sympy.sqrt,
    "abs": sympy.Abs,
    "sigmoid": Sigmoid,
    "relu": Relu,
    "softplus": Softplus,
}


def _frobenius(x):
    if isinstance(x, sympy.MatrixBase):
        return sympy.sqrt(sum(entry ** 2 for entry in x))
    return sympy.Abs(x)


_NUMERIC_FORMS = {
    Sigmoid: lambda x: 1 / (1 + sympy.exp(-x)),
    Relu: lambda x: sympy.Max(0, x),
    Softplus: lambda x: sympy.log(1 + sympy.exp(x)),
    FrobeniusNorm: _frobenius,
}


def numeric_form(expr):
    """`expr` with the IR's functions of numbers written as sympy evaluates them (sigmoid(1) as
    1/(1 + exp(-1)), |[3, 4]| as 5, the literal [[c, 1], [1, c]] with c = 2 as a matrix), so that
    a compile-time value is a number, or a matrix of numbers, that a float holds."""
    if isinstance(expr, sympy.MatrixBase) or not isinstance(expr, sympy.Basic):
        return expr
    if isinstance(expr, MatrixOf):
        rows, cols, *entries = (numeric_form(a) for a in expr.args)
        if all(getattr(e, "is_number", False) for e in entries):
            return sympy.ImmutableMatrix(int(rows), int(cols), entries)
        return MatrixOf(rows, cols, *entries)

    def numbers(e):
        return type(e) in _NUMERIC_FORMS and all(
            all(v.is_number for v in a) if isinstance(a, sympy.MatrixBase) else a.is_number
            for a in e.args)

    return expr.replace(numbers, lambda e: _NUMERIC_FORMS[type(e)](*e.args))
