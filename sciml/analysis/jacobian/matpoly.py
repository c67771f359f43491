"""Matrix polynomials: the spec's weight matrices as letters of a non-commuting algebra.

`MatPoly` is a polynomial in non-commuting letters (the spec's matrices and their transposes)
with scalar sympy coefficients: the expression as written, multiplied out.  It is sound for the
questions the analysis asks: two polynomials that are equal as polynomials are equal matrices for
every value of the weights (the letters are free), so `(A + A^T).is_zero` proves that A is
antisymmetric for every K, whatever its size.  It is incomplete, which is safe: a structure it
cannot prove is reported as general, never the other way round.  Matrix literals and constants
are letters too (their names appear in messages); they carry their values, so their eigenvalues
can be computed explicitly (`explicit`).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from sciml.lowering.mathtext import expr_text


@dataclass(frozen=True)
class MatPoly:
    """sum_k c_k * w_k, a word w_k a tuple of letters (name, transposed); () is the identity.
    rows/cols are None for a zero of no particular shape."""

    terms: tuple  # ((word, coefficient), ...), words distinct, coefficients not zero
    rows: int | None = None
    cols: int | None = None

    @staticmethod
    def of(pairs, rows, cols) -> "MatPoly":
        combined: dict = {}
        for word, coeff in pairs:
            combined[word] = combined.get(word, sympy.S.Zero) + coeff
        kept = tuple((w, c) for w, c in ((w, sympy.expand(c)) for w, c in combined.items()) if c != 0)
        return MatPoly(kept, rows, cols)

    @staticmethod
    def letter(name: str, rows: int, cols: int) -> "MatPoly":
        return MatPoly((((((name, False),)), sympy.S.One),), rows, cols)

    @staticmethod
    def identity(n: int | None, coeff=sympy.S.One) -> "MatPoly":
        return MatPoly.of([((), coeff)], n, n)

    @staticmethod
    def zero() -> "MatPoly":
        return MatPoly((), None, None)

    def _shape(self, other):
        return (self.rows if self.rows is not None else other.rows,
                self.cols if self.cols is not None else other.cols)

    def __add__(self, other: "MatPoly") -> "MatPoly":
        return MatPoly.of(self.terms + other.terms, *self._shape(other))

    def __neg__(self) -> "MatPoly":
        return self.scale(-1)

    def __sub__(self, other: "MatPoly") -> "MatPoly":
        return self + (-other)

    def scale(self, c) -> "MatPoly":
        return MatPoly.of([(w, k * c) for w, k in self.terms], self.rows, self.cols)

    def __matmul__(self, other: "MatPoly") -> "MatPoly":
        pairs = [(w1 + w2, c1 * c2) for w1, c1 in self.terms for w2, c2 in other.terms]
        return MatPoly.of(pairs, self.rows, other.cols)

    @property
    def T(self) -> "MatPoly":
        """(w1 w2 ... wk)^T = wk^T ... w1^T, letter by letter."""
        return MatPoly.of([(tuple((n, not t) for n, t in reversed(w)), c) for w, c in self.terms],
                          self.cols, self.rows)

    @property
    def is_zero(self) -> bool:
        return not self.terms

    def identity_multiple(self):
        """c when this is c*I (0 for the zero polynomial), else None."""
        if not self.terms:
            return sympy.S.Zero
        if len(self.terms) == 1 and self.terms[0][0] == ():
            return self.terms[0][1]
        return None

    def ratio_to(self, other: "MatPoly"):
        """k with self == k * other (other not zero), else None."""
        if other.is_zero or len(self.terms) != len(other.terms):
            return None
        mine = dict(self.terms)
        word, coeff = other.terms[0]
        if word not in mine:
            return None
        k = sympy.cancel(mine[word] / coeff)
        return k if (self - other.scale(k)).is_zero else None

    def letters(self) -> set:
        return {n for w, _ in self.terms for n, _ in w}

    def explicit(self, values: dict):
        """The matrix itself when every letter has a value, else None."""
        if any(n not in values for n in self.letters()) or self.rows is None:
            return None
        total = sympy.zeros(self.rows, self.cols)
        for word, coeff in self.terms:
            m = sympy.eye(self.rows)
            for name, transposed in word:
                m = m * (values[name].T if transposed else values[name])
            total += coeff * m
        return sympy.ImmutableMatrix(total)

    def text(self) -> str:
        """In the spec's notation: K - K^T - gamma*I."""
        if not self.terms:
            return "0"
        ordered = sorted(self.terms, key=lambda t: (t[0] == (), len(t[0]), _word_text(t[0])))
        out = ""
        for i, (word, coeff) in enumerate(ordered):
            body = _word_text(word) if word else "I"
            negative = coeff.could_extract_minus_sign()
            magnitude = -coeff if negative else coeff
            factor = "" if magnitude == 1 else (f"({expr_text(magnitude)})*" if magnitude.is_Add
                                                else f"{expr_text(magnitude)}*")
            sign = ("-" if negative else "") if i == 0 else (" - " if negative else " + ")
            out += sign + factor + body
        return out


def _word_text(word) -> str:
    return "*".join(name + ("^T" if t else "") for name, t in word)


def norm_symbol(m: MatPoly) -> sympy.Expr:
    """norm2(m): the spectral norm of a weight expression, as a positive symbol."""
    k = m.identity_multiple()
    if k is not None:
        return sympy.Abs(k)
    return sympy.Symbol(f"norm2({m.text()})", positive=True)

