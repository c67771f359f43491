"""The LaTeX printer of models on a domain (pinn): fields and their derivatives as papers write them.

One convention everywhere: \\partial_{t} u, \\partial_{xx} u, \\partial_{xy} u (the coordinates in
the order of differentiation), \\Delta u, \\nabla u, \\nabla \\cdot v, \\left|\\nabla u\\right|^{2}.
A field at the current point of the domain is its bare name (u, as in u_t + u u_x); elsewhere
it shows its arguments, u(-1, t).  The same for the IR's nodes (family_symbols: Partial,
Laplacian, SpaceGradient, Divergence over NetCall) and for sympy calculus (Derivative of u(x, y),
as the analysis derives the Euler-Lagrange equation).

Three printing nodes of this module build the loss formulas: `Evaluated(expr, point)` prints expr
with every field and coordinate at a point (u(x_{k}, 0), \\partial_{x} u(0, t_{k})),
`PointMean(body, count, index, weight)` the Monte Carlo mean w \\frac{1}{N} \\sum_{i=1}^{N} body, and
`DomainIntegral(integrand, x, y)` the integral \\int_{\\Omega} integrand \\, dx \\, dy.
"""
from __future__ import annotations

import sympy
from sympy.core.function import AppliedUndef

from sciml.latex.writer import SpecLatexPrinter, _text, symbol_latex
from sciml.lowering import family_symbols as F
from sciml.lowering import symbols as S
from sciml.lowering.mathtext import number_text

TIME = "t"


class Evaluated(S.ArrayOp):
    """Evaluated(expr, ((coordinate, value), ...)): expr with the coordinates at the values."""

    nargs = 2


class DomainIntegral(S.ArrayOp):
    """DomainIntegral(integrand, x, y, ...): the integral over the domain Omega in x, y, ..."""


class PointMean(S.ArrayOp):
    """PointMean(body, count, index, weight): weight * (1/count) * sum over index of body."""

    nargs = 4


def number(value) -> sympy.Expr:
    """A float of the IR as the spec would write it: 500.0 as 500, 0.00318309886 as 0.003183."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return sympy.Integer(int(value))
    return sympy.Float(number_text(value))


def at_points(coordinates, index: str) -> dict:
    """{coordinate symbol: the symbol of its value at point `index`} (x -> x_i)."""
    return {sympy.Symbol(c): sympy.Symbol(f"{c}_{index}") for c in coordinates}


def _is_atom(expr) -> bool:
    """Printed without parentheses after an operator: u, u(-1, t), x, \\nabla u."""
    if isinstance(expr, Evaluated):
        return _is_atom(expr.args[0])
    return isinstance(expr, (sympy.Symbol, S.NetCall, AppliedUndef, F.SpaceGradient, F.Laplacian)) \
        or (expr.is_number and expr.is_nonnegative is True)


class FieldLatexPrinter(SpecLatexPrinter):
    """SpecLatexPrinter taught the fields of a domain (coordinates in `coordinates`) and the PINN
    loss terms; `terms` names loss atoms (Residual(), ConditionFit(initial), a RitzEnergy)."""

    def __init__(self, coordinates, names=None, terms=None):
        super().__init__(names)
        self.coordinates = tuple(coordinates)
        self.terms = dict(terms or {})
        self.point = None      # {coordinate name: value} while printing an Evaluated

    # -- terms in the order PDEs are written ----------------------------------------------------
    def _as_ordered_terms(self, expr, order=None):
        """Terms of a sum that reads a field as PDEs are written: the time derivative first, then
        by the highest derivative order (u_t + u u_x - nu u_xx), then the other terms in the
        field (u(x_k, 0) - sin(pi x_k)), the sources last; the canonical order otherwise."""
        terms = list(expr.args)
        if not any(_reads_field(t) for t in terms):
            return super()._as_ordered_terms(expr, order)

        def rank(term):
            found = derivatives(term)
            in_time = any(TIME in coordinates for coordinates in found)
            return (0 if in_time else 1, max((len(c) for c in found), default=3 if _reads_field(term) else 4))
        return sorted(terms, key=lambda term: (rank(term), sympy.default_sort_key(term)))

    def _print_Mul(self, expr):
        """A rational coefficient in front, as \\frac{1}{2} \\left|\\nabla u\\right|^{2} is written."""
        coefficient, rest = expr.as_coeff_Mul()
        if not (coefficient.is_Rational and not coefficient.is_Integer) or rest.is_number \
                or any(f.is_Pow and f.exp.is_negative for f in sympy.Mul.make_args(rest)):
            return super()._print_Mul(expr)
        sign = "- " if coefficient < 0 else ""
        fraction = r"\frac{" + str(abs(coefficient.p)) + "}{" + str(coefficient.q) + "} "
        text = self._print(rest)
        return sign + fraction + (r"\left(" + text + r"\right)" if isinstance(rest, sympy.Add) else text)

    def _needs_mul_brackets(self, expr, first=False, last=False):
        """D \\Delta u, not D \\left(\\Delta u\\right): sympy brackets its own vector operators
        (precedence_traditional); a field operator as the last factor reads without them."""
        if last and isinstance(expr, (F.Laplacian, F.SpaceGradient, F.Divergence)):
            return False
        return super()._needs_mul_brackets(expr, first, last)

    # -- coordinates and fields ----------------------------------------------------------------
    def _print_Symbol(self, expr, style="plain"):
        if self.point is not None and expr.name in self.point:
            saved, self.point = self.point, None   # x at x itself prints x
            try:
                return self._print(saved[expr.name])
            finally:
                self.point = saved
        return super()._print_Symbol(expr, style)

    def _print_Evaluated(self, expr, exp=None):
        inner, point = expr.args
        saved, self.point = self.point, {str(c): v for c, v in point}
        try:
            text = self._print(inner)
        finally:
            self.point = saved
        return _powered(text, exp, _is_atom(inner))

    def _field(self, name: str, arguments, exp=None) -> str:
        """u at the current point (bare), or u(arguments) (plain parentheses: u(x_{k}, 0))."""
        text = self.names.get(name, symbol_latex(name))
        if self.point is not None or tuple(str(a) for a in arguments) != self.coordinates:
            text += "(" + ", ".join(self._print(a) for a in arguments) + ")"
        return text if exp is None else text + "^{" + exp + "}"

    def _print_NetCall(self, expr, exp=None):
        name, *arguments = expr.args
        return self._field(str(name), arguments, exp)

    def _print_Function(self, expr, exp=None):
        if isinstance(expr, AppliedUndef):   # a field of the calculus (the Euler-Lagrange equation), r(x, t)
            return self._field(expr.func.__name__, expr.args, exp)
        return super()._print_Function(expr, exp)

    # -- derivatives ----------------------------------------------------------------------------
    def _derivative(self, operand, coordinates, exp) -> str:
        names = [symbol_latex(str(c)) for c in coordinates]
        joined = "".join(names) if all(len(n) == 1 for n in names) else r"\,".join(names)
        return _powered(r"\partial_{" + joined + "} " + self._operand(operand), exp, False)

    def _operand(self, expr) -> str:
        text = self._print(expr)
        return text if _is_atom(expr) else r"\left(" + text + r"\right)"

    def _print_Partial(self, expr, exp=None):
        coordinates, inner = [], expr
        while isinstance(inner, F.Partial):
            coordinates.append(inner.args[1])
            inner = inner.args[0]
        return self._derivative(inner, coordinates[::-1], exp)

    def _print_Derivative(self, expr, exp=None):
        variables = [v for v, n in expr.variable_count for _ in range(int(n))]
        return self._derivative(expr.expr, variables, exp)

    def _print_Laplacian(self, expr, exp=None):
        return _powered(r"\Delta " + self._operand(expr.args[0]), exp, False)

    def _print_SpaceGradient(self, expr, exp=None):
        return _powered(r"\nabla " + self._operand(expr.args[0]), exp, False)

    def _print_Divergence(self, expr, exp=None):
        inner, *coordinates = expr.args
        if len(coordinates) == 1:    # in one dimension, of a scalar: the derivative
            return self._derivative(inner, coordinates, exp)
        return _powered(r"\nabla \cdot " + self._operand(inner), exp, False)

    def _print_SampleNorm(self, expr, exp=None):
        text = r"\left|" + self._print(expr.args[0]) + r"\right|"
        return text if exp is None else text + "^{" + exp + "}"

    # -- loss terms ----------------------------------------------------------------------------
    def _term(self, expr, default: str, exp=None) -> str:
        return _powered(self.terms.get(expr, default), exp, True)

    def _print_Residual(self, expr, exp=None):
        return self._term(expr, r"\mathcal{L}_{r}", exp)

    def _print_ConditionFit(self, expr, exp=None):
        return self._term(expr, r"\mathcal{L}_{\mathrm{" + _text(str(expr.args[0])) + "}}", exp)

    def _print_RitzEnergy(self, expr, exp=None):
        return self._term(expr, r"\mathcal{E}", exp)

    def _print_DomainIntegral(self, expr, exp=None):
        integrand, *coordinates = expr.args
        measure = r"\,".join(r"\mathrm{d}" + symbol_latex(str(c)) for c in coordinates)
        return _powered(r"\int_{\Omega} " + self._operand(integrand) + r" \, " + measure, exp, False)

    def _print_MeanOf(self, expr, exp=None):
        if expr in self.terms:   # a data fit, defined on a line of its own
            return self._term(expr, "", exp)
        return super()._print_Function(expr, exp)

    def _print_PointMean(self, expr, exp=None):
        body, count, index, weight = expr.args
        n, i = self._print(count), self._print(index)
        text = self._print(body)
        if isinstance(body, sympy.Add) or isinstance(body, Evaluated) and isinstance(body.args[0], sympy.Add):
            text = r"\left(" + text + r"\right)"
        text = r"\frac{1}{" + n + r"} \sum_{" + i + "=1}^{" + n + "} " + text
        if weight != 1:
            text = self._print(weight) + r" \cdot " + text
        return _powered(text, exp, False)

    def _print_Reference(self, expr, exp=None):
        name, *arguments = expr.args
        return _powered(self._op(_text(str(name)), *arguments), exp, True)


def _reads_field(expr) -> bool:
    return expr.has(S.NetCall, AppliedUndef)


def _powered(text: str, exp, atomic: bool) -> str:
    if exp is None:
        return text
    return (text if atomic else r"\left(" + text + r"\right)") + "^{" + exp + "}"


def derivatives(expr) -> list[tuple]:
    """The coordinates of each derivative in expr: [('t',), ('x', 'x')] for u_t + u_xx."""
    if isinstance(expr, F.Partial):
        coordinates, inner = [], expr
        while isinstance(inner, F.Partial):
            coordinates.append(str(inner.args[1]))
            inner = inner.args[0]
        return [tuple(coordinates)] + derivatives(inner)
    if isinstance(expr, sympy.Derivative):
        return [tuple(str(v) for v, n in expr.variable_count for _ in range(int(n)))]
    if isinstance(expr, F.Laplacian):
        return [tuple(str(c) for c in expr.args[1:2]) * 2]
    if isinstance(expr, (F.SpaceGradient, F.Divergence)):
        return [tuple(str(c) for c in expr.args[1:2])] + derivatives(expr.args[0])
    return [found for a in expr.args if isinstance(a, sympy.Basic) for found in derivatives(a)]
