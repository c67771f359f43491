"""The expression printer shared by both backends.

`ArrayPrinterMixin` adds to sympy's TorchPrinter/JaxPrinter the IR's array operations
(sciml.lowering.symbols).  Symbols print through a name table built from validated
identifiers, never verbatim; a symbol missing from the table is a compiler bug.  The
backend subclasses only say how each operation is spelled (`SPELLING`).
"""
from __future__ import annotations

import sympy
from sympy.printing.precedence import PRECEDENCE

from sciml.lowering import family_symbols as F
from sciml.lowering import symbols as S


class ArrayPrinterMixin:
    #: operation -> format string; filled in by each backend
    SPELLING: dict = {}

    #: a function of numbers alone (log(2 pi)) printed with numpy: a Python number, not an array op
    NUMBERS_IN_NUMPY = True

    def __init__(self, names: dict, settings=None, numbers=frozenset(), scalars=frozenset()):
        super().__init__(settings or {})
        self.names = names
        self.helpers: set[str] = set()
        self.numbers = frozenset(numbers)   # symbols that are numbers of the numpy half (an SDE's constants)
        self.scalars = frozenset(scalars)   # symbols known to be plain numbers: the scalar constants

    def doprint(self, expr, assign_to=None):
        return super().doprint(self.scalars_outside(expr), assign_to)

    # -- numbers before arrays ---------------------------------------------------------------
    def is_scalar(self, expr) -> bool:
        """A number, or a function of the scalar constants alone: a Python number at run time."""
        if expr.has(S.ArrayOp):
            return False
        return bool(expr.is_number) or bool(expr.free_symbols) and expr.free_symbols <= self.scalars

    def split_scalar(self, expr):
        """expr = c * rest, c the product of its scalar factors (1 when none)."""
        if not isinstance(expr, sympy.Mul):
            return (expr, sympy.S.One) if self.is_scalar(expr) else (sympy.S.One, expr)
        scalar = [f for f in expr.args if self.is_scalar(f)]
        return sympy.Mul(*scalar), sympy.Mul(*[f for f in expr.args if not self.is_scalar(f)])

    def scalars_outside(self, expr):
        """Scalar factors taken out of per-sample reductions, |c x|^2 = c^2 |x|^2 and
        dot(c x, y) = c dot(x, y), so that they join the product's other numbers (one array
        operation for all of them: `_print_Mul`) instead of scaling an array each."""
        if not self.scalars or not isinstance(expr, sympy.Basic):
            return expr

        def squared_norm(e):
            return (isinstance(e, sympy.Pow) and e.exp == 2 and isinstance(e.base, (S.FrobeniusNorm, S.SampleNorm))
                    and self.split_scalar(e.base.args[0])[0] != 1)

        def scaled_norm(e):
            c, rest = self.split_scalar(e.base.args[0])
            return c**2 * sympy.Pow(e.base.func(rest), 2)

        def scaled_inner(e):
            return any(self.split_scalar(a)[0] != 1 for a in e.args)

        def inner(e):
            (c1, a), (c2, b) = (self.split_scalar(x) for x in e.args)
            return c1 * c2 * e.func(a, b)
        return expr.replace(squared_norm, scaled_norm).replace(lambda e: isinstance(e, S.InnerProduct) and scaled_inner(e), inner)

    def _print(self, expr, **kwargs):
        if self.NUMBERS_IN_NUMPY and self._of_numbers(expr):
            from sciml.backends.common.numpy_code import NumpyCodePrinter
            return NumpyCodePrinter(self.names).doprint(expr)
        return super()._print(expr, **kwargs)

    def _of_numbers(self, expr) -> bool:
        """A function of numbers alone, log(2 pi); or a function or a root of the symbols in
        `numbers` alone, log(sigma), sqrt(beta): the backends' functions take arrays."""
        if isinstance(expr, S.ArrayOp) or not isinstance(expr, (sympy.Function, sympy.Pow)):
            return False
        if not expr.free_symbols:
            return isinstance(expr, sympy.Function) and expr.is_number
        return expr.free_symbols <= self.numbers and (isinstance(expr, sympy.Function) or not expr.exp.is_Integer)

    # -- leaves ------------------------------------------------------------------------------
    def _print_Symbol(self, expr):
        try:
            return self.names[expr.name]
        except KeyError:
            raise KeyError(f"no code name for symbol {expr.name!r}") from None

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Integer(self, expr):
        return str(int(expr))

    def _print_Rational(self, expr):
        return f"{int(expr.p)} / {int(expr.q)}"

    def _print_Pi(self, expr):
        return "np.pi"

    # -- arithmetic --------------------------------------------------------------------------
    def _print_Mul(self, expr):
        """A product of numbers and arrays: its numbers first, together, in parentheses when
        they are more than one factor, `(h*lambda_/d**2)*x`: Python multiplies left to right, so
        the array is scaled once, not once for each number."""
        if self.scalars:
            scalar, rest = self.split_scalar(expr)
            factors = [f for f in sympy.Mul.make_args(scalar) if f not in (1, -1)]
            if rest != 1 and len(factors) >= 2:   # one number, or a sign: as sympy writes it
                return "({})*{}".format(super()._print_Mul(scalar), self.parenthesize(rest, PRECEDENCE["Mul"]))
        return super()._print_Mul(expr)

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.args
        if exp == sympy.S.Half and base.is_number:   # a number: Python's float, not an array op
            return f"{self.parenthesize(base, PRECEDENCE['Pow'], strict=True)}**0.5"
        if exp == sympy.S.Half:
            return self.SPELLING["sqrt"].format(self._print(base))
        if exp == -1:
            return "1 / " + self.parenthesize(base, PRECEDENCE["Mul"], strict=True)
        if exp == 2 and isinstance(base, (S.FrobeniusNorm, S.SampleNorm)):   # |x|^2: a sum of squares,
            # two operations and their plain derivatives in place of a norm's (a square root and
            # its division by the norm, guarded at 0) and a square
            kind = "squared_sample_norm" if isinstance(base, S.SampleNorm) else "squared_norm"
            text = self._print(base.args[0])
            if text.isidentifier() and f"{kind}_of_name" in self.SPELLING:   # torch: x * x, not a pow
                kind += "_of_name"
            return self.SPELLING[kind].format(text)
        return "{}**{}".format(self.parenthesize(base, PRECEDENCE["Pow"], strict=True),
                               self.parenthesize(exp, PRECEDENCE["Pow"], strict=True))

    def _print_MatProduct(self, expr):
        a, b = expr.args
        return "{} @ {}".format(self.parenthesize(a, PRECEDENCE["Mul"], strict=True),
                                self.parenthesize(b, PRECEDENCE["Mul"], strict=True))

    def _print_Transposed(self, expr):
        return self.parenthesize(expr.args[0], PRECEDENCE["Atom"], strict=True) + ".T"

    # -- named operations ------------------------------------------------------------------
    def _spelled(self, op, *args):
        return self.SPELLING[op].format(*(self._print(a) for a in args))

    def _helper(self, name, *args):
        self.helpers.add(name)
        return "{}({})".format(name, ", ".join(self._print(a) for a in args))

    def _print_IdentityMatrix(self, expr):
        return self.names[f"I{int(expr.args[0])}"]

    def _print_NetCall(self, expr):
        """F(p, x); a network with a weight posterior F(p, eps, x), eps its draws (bayes_code.py)."""
        net, *inputs = expr.args
        draws = self.names.get(f"draws {net}")
        first = f"p, {draws}" if draws else "p"
        return "{}({}, {})".format(self._print(net), first, ", ".join(self._print(a) for a in inputs))

    # -- the method of lines (lowering/method_of_lines.py) --------------------------------------
    def _print_GridStencil(self, expr):
        values, kind, dx, *axis = expr.args
        name = {"second": "second_difference", "central": "central_difference"}[str(kind)]
        if axis:   # a 2-D grid: the stencil along axis 0 or 1, as a column
            self.helpers.add(f"{name}_2d")
            return f"{name}_2d({self._print(values)}, {self._print(dx)}, axis={int(axis[0])})"
        return self._helper(name, values, dx)

    def _print_GridConvolution(self, expr):
        kernel, values, *axis = expr.args
        if axis:
            self.helpers.add("convolution_2d")
            return f"convolution_2d({self._print(kernel)}, {self._print(values)}, axis={int(axis[0])})"
        return self._helper("convolution", kernel, values)

    def _print_UpwindDivergence(self, expr):
        return self._along("upwind_divergence", *expr.args)

    def _print_UpwindDerivative(self, expr):
        return self._along("upwind_derivative", *expr.args)

    def _along(self, name, first, values, dx, *axis):
        """A grid piece, on a 2-D grid its _2d form along the axis."""
        if not axis:
            return self._helper(name, first, values, dx)
        self.helpers.add(f"{name}_2d")
        return f"{name}_2d({self._print(first)}, {self._print(values)}, {self._print(dx)}, axis={int(axis[0])})"

    def _print_NodeCall(self, expr):
        net, *values = expr.args
        self.helpers.add("at_nodes")
        return "at_nodes({}, p, {})".format(self._print(net), ", ".join(self._print(v) for v in values))

    def _print_ValueRange(self, expr):
        return self._helper("value_range", *expr.args)

    def _print_OnGrid(self, expr):
        (observed,) = expr.args
        return "{}({})".format(self.names[f"on grid {observed.args[0]}"], self._print(observed))

    def _print_NetGrad(self, expr):
        net, x = expr.args
        return "{}(p, {})".format(self.names[f"grad {net}"], self._print(x))

    def _print_StateAt(self, expr):
        return self.names[str(expr)]

    def _print_Relu(self, expr):
        return self._spelled("relu", *expr.args)

    def _print_Step(self, expr):
        return self._spelled("step", *expr.args)

    def _print_Sigmoid(self, expr):
        return self._spelled("sigmoid", *expr.args)

    def _print_Softplus(self, expr):
        return self._spelled("softplus", *expr.args)

    def _print_SoftmaxOf(self, expr):
        return self._spelled("softmax", *expr.args)

    def _print_MeanOf(self, expr):
        return self._spelled("mean", *expr.args)

    def _print_MeanOver(self, expr):
        """mean(v, over = A): over the samples or paths (the last axis), over the draws of a
        Bayesian network or ensemble (the first), or over all entries."""
        value, axis = expr.args
        if str(axis) == "draws":
            return self._helper("mean_over_draws", value)
        return self._spelled("mean", value) if str(axis) == "all" else self._helper("mean_over", value)

    def _print_StdOver(self, expr):
        value, axis = expr.args
        if str(axis) == "all":
            raise TypeError("std over all entries is not written")
        return self._helper("std_over_draws" if str(axis) == "draws" else "std_over", value)

    def _print_CovarianceOver(self, expr):
        """covariance(v, over = draws): (features, features, samples), 1/(N - 1) normalized."""
        value, axis = expr.args
        if str(axis) != "draws":
            raise TypeError(f"covariance over {axis} is not written")
        return self._helper("covariance_over_draws", value)

    def _print_Trace(self, expr):
        """The trace of each sample's matrix (features, features, samples), a row."""
        return self._spelled("jacobian_trace", *expr.args)

    def _print_ArgMax(self, expr):
        """The index of the sample with the largest value (a row, one per sample)."""
        return self._spelled("argmax_samples", *expr.args)

    def _print_KlToPrior(self, expr):
        """kl_F(p): the KL of network F's weight posterior to its prior (bayes_code.py)."""
        return "{}(p)".format(self.names[f"kl {expr}"])

    def _print_SumOf(self, expr):
        return self._spelled("sum", *expr.args)

    def _print_FrobeniusNorm(self, expr):
        return self._spelled("norm", *expr.args)

    def _print_SampleNorm(self, expr):
        return self._spelled("sample_norm", *expr.args)

    # -- a network's derivative in its input (jacobian_code.py) --------------------------------
    def _print_JacobianTrace(self, expr):
        return self._spelled("jacobian_trace", *expr.args)

    def _print_JacobianSquaredNorm(self, expr):
        return self._spelled("jacobian_squared_norm", *expr.args)

    def _print_ProbeTrace(self, expr):
        return self._spelled("probe_trace", *expr.args)

    def _print_EntrySum(self, expr):
        return self._spelled("entry_sum", *expr.args)

    def _print_EntryMin(self, expr):
        return self._spelled("entry_min", *expr.args)

    def _print_EntryMax(self, expr):
        return self._spelled("entry_max", *expr.args)

    def _print_InnerProduct(self, expr):
        a, b = expr.args
        return self.SPELLING["inner"].format(self.parenthesize(a, PRECEDENCE["Mul"]),
                                             self.parenthesize(b, PRECEDENCE["Mul"]))

    def _print_FlowNll(self, expr):
        """gaussian_nll(*g_inv(p, x), mean, std): the flow returns (z, log|det|) per sample."""
        flow, x, mean, std = expr.args
        self.helpers.add("gaussian_nll")
        return f"gaussian_nll(*{self._print(flow)}(p, {self._print(x)}), {self._print(mean)}, {self._print(std)})"

    def _print_SoftmaxCrossEntropy(self, expr):
        """Of logits; of probabilities averaged over the draws, mean(softmax(F(x)), over = draws),
        the ensemble's cross entropy, from the logits by log-sum-exp."""
        probabilities, labels = expr.args
        if isinstance(probabilities, F.MeanOver) and isinstance(probabilities.args[0], S.SoftmaxOf):
            return self._helper("ensemble_cross_entropy", probabilities.args[0].args[0], labels)
        return self._helper("softmax_cross_entropy", *expr.args)

    def _print_Accuracy(self, expr):
        return self._helper("accuracy", *expr.args)

    def _print_SquaredNorm(self, expr):
        return self._helper("squared_norm", *expr.args)

    def _print_ScoreMatching(self, expr):
        """dsm_s(p, batch['x'], batch['t'], batch['eps']): the score-matching loss function of the
        diffusion model (score_code.py), on the data and the step's draws of t and eps."""
        net, data = expr.args[:2]
        return "{}(p, {}, {}, {})".format(self.names[f"dsm {net}"], self._print(data),
                                          self.names["score times"], self.names["score noise"])

    def _print_Elbo(self, expr):
        """elbo_z(p, batch['x'], batch['eps_z']): the ELBO function of the vae (vae_code.py) on the
        data and the step's draws."""
        return "{}(p, {}, {})".format(self.names["elbo"], self._print(expr.args[0]), self.names["elbo draws"])

    def _print_ImportanceBound(self, expr):
        """iwae_z(p, batch['x'], K): the vae's importance-weighted bound with K draws a sample."""
        return "{}(p, {}, {})".format(self.names["iwae"], self._print(expr.args[0]), int(expr.args[1]))

    def _print_MeanSquaredError(self, expr):
        return self._helper("mse", *expr.args)

    def _print_SmoothInTime(self, expr):
        return self._helper("smooth_in_time", *expr.args)

    def _print_PadTo(self, expr):
        return self._helper("pad", *expr.args)

    def _print_MatrixOf(self, expr):
        rows, cols, *entries = expr.args
        rows, cols = int(rows), int(cols)
        text = ", ".join("[" + ", ".join(self._print(entries[r * cols + c]) for c in range(cols)) + "]"
                         for r in range(rows))
        self.helpers.add("matrix_of")
        return f"matrix_of([{text}])"

    def _print_ImmutableDenseMatrix(self, expr):
        raise KeyError("constant matrices are bound to names before printing")

    def emptyPrinter(self, expr):
        raise TypeError(f"cannot print {type(expr).__name__} as code")

