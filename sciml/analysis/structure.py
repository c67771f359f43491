"""The structure of each right-hand side: its Jacobian, with networks kept symbolic.

A layer sigma(A X + b) of a state X has the Jacobian diag(sigma'(A X + b)) A.  For the monotone
activations (tanh, sigmoid, relu, softplus) sigma' >= 0 and sigma' <= max sigma', so the
Jacobian of a right side is a sum of terms L diag(sigma') R with L, R matrices free of the
state.  The terms are matched against the forms of the lecture notes:

    antisymmetric           J = diag(sigma') A,  A = -A^T          (seed 000: K - K^T)
    antisymmetric, damped   J = diag(sigma') (S - gamma I), S = -S^T
    parabolic               J = -R^T diag(sigma') R                 (seed 002)
    Hamiltonian blocks      dY/dt = f(Z), dZ/dt = g(Y) with blocks +P, -Q, P and Q >= 0 (seed 002)
    canonical Hamiltonian   dq/dt = v, dv/dt = -grad V(q)           (seed 003)
    second order            d2Y/dt2 = F(Y), dF/dY = -R^T diag(sigma') R (seed 002)
    explicit                A a matrix literal or constant: its eigenvalues, computed
    general / unknown       anything else (an opaque network F(u) is "structure unknown")

Each form comes with where the Jacobian's eigenvalues lie (a `stability.Spectrum`).

Matrix algebra.  `MatPoly` is a polynomial in non-commuting letters (the spec's matrices and
their transposes) with scalar sympy coefficients: the expression as written, multiplied out.
It is sound for the questions asked here: two polynomials that are equal as polynomials are
equal matrices for every value of the weights (the letters are free), so `(A + A^T).is_zero`
proves that A is antisymmetric for every K, whatever its size.  It is incomplete, which is
safe: a structure it cannot prove is reported as general, never the other way round.  Matrix
literals and constants are letters too (their names appear in messages); they carry their
values, so their eigenvalues can be computed explicitly.  Nothing the user wrote is parsed:
the polynomials are built from the IR's sympy tree node by node.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import mpmath
import sympy

from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.frontend.diagnostics import Span
from sciml.analysis.stability import (DAMPED, EXPLICIT, GROWING, IMAGINARY, NEGATIVE_REAL, OPAQUE, OSCILLATION,
                        Spectrum)
from sciml.lowering.mathtext import expr_text

# max sigma' of the monotone activations: tanh' = 1 - tanh^2, sigmoid' = s (1 - s),
# relu' in {0, 1}, softplus' = sigmoid (tests/test_analysis_structure.py checks them with sympy)
MAX_SLOPE = {"tanh": sympy.S.One, "sigmoid": sympy.Rational(1, 4), "relu": sympy.S.One,
             "softplus": sympy.S.One}
NOT_MONOTONE = {"sin": "sin' = cos changes sign"}
_ACTIVATION_NODES = {sympy.tanh: "tanh", S.Sigmoid: "sigmoid", S.Relu: "relu",
                     S.Softplus: "softplus", sympy.sin: "sin"}


# -- matrix polynomials ----------------------------------------------------------------------

Letter = tuple  # (name, transposed)


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


# -- the Jacobian as terms L diag(sigma') R -------------------------------------------------------

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
        net_grad = getattr(S, "NetGrad", None)
        if net_grad is not None and isinstance(e, net_grad):
            name, arg = e.args
            right = self.linear(arg, x, n)
            if right is None:
                raise Opaque(f"grad({name}, ...) of an argument that is not affine in {x}")
            return [Term(MatPoly.identity(right.rows), f"grad {name}", right)]
        if isinstance(e, S.NetCall):
            raise Opaque(f"the network {e.args[0]} is opaque")
        raise Opaque(f"{expr_text(e)} is not a layer sigma(K u + b)")


# -- structures ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Structure:
    form: str                # see FORMS
    states: tuple            # the equations' states
    order: int               # 1, or 2 for d2Y/dt2
    span: Span
    summary: str             # the finding: what the form is
    meaning: str             # what it implies (the help line)
    spectrum: Spectrum
    jacobian: str = ""
    severity: str = "note"
    hint: str = ""           # the matrix a damping -gamma*I would join, for advice
    weights: tuple = ()      # names of the weights the spectrum's radius depends on
    data: dict = field(default_factory=dict)
    norms: tuple = ()        # (norm2 symbol, MatPoly) for every norm the spectrum reads
    literals: tuple = ()     # (letter, value) of the matrix literals those MatPolys name


FORMS = {
    "antisymmetric": "A101", "antisymmetric_damped": "A102", "parabolic": "A103",
    "hamiltonian": "A104", "canonical_hamiltonian": "A104", "second_order": "A105",
    "general": "A106", "explicit": "A107", "unknown": "A108", "growing": "A109",
    "linear": "A107",
}


def norm_symbol(m: MatPoly) -> sympy.Expr:
    """norm2(m): the spectral norm of a weight expression, as a positive symbol."""
    k = m.identity_multiple()
    if k is not None:
        return sympy.Abs(k)
    return sympy.Symbol(f"norm2({m.text()})", positive=True)


def structures(model: ir.Model) -> tuple[Structure, ...]:
    reader = Reader(model)
    equations = list(model.equations)
    found = []
    paired = set()
    if len(equations) == 2 and all(e.order == 1 for e in equations):
        pair = _pair(reader, *equations)
        if pair is not None:
            found.append(pair)
            paired = {e.state for e in equations}
    state_names = {s.name for s in model.states}
    for eq in equations:
        if eq.state in paired:
            continue
        others = {s.name for s in eq.rhs.free_symbols} & (state_names - {eq.state})
        if others:
            found.append(_unknown(eq, f"it is coupled to {', '.join(sorted(others))}", eq.order))
            continue
        found.append(_single(reader, eq))
    return tuple(_with_norms(s, reader) for s in found)


def _with_norms(s: Structure, reader: Reader) -> Structure:
    """Attach the matrices behind the norm2(...) symbols the spectrum reads (for the runtime
    stability check, which evaluates them with the current weights)."""
    sp = s.spectrum
    used = set().union(*(sympy.sympify(x).free_symbols for x in (sp.radius, sp.shift, sp.damping, sp.slope)))
    norms = tuple((sym, m) for sym, m in sorted(reader.norms.items(), key=lambda kv: kv[0].name) if sym in used)
    letters = set().union(set(), *(m.letters() for _, m in norms))
    literals = tuple((n, v) for n, v in sorted(reader.literals.items()) if n in letters)
    return replace(s, norms=norms, literals=literals)


def _lhs(eq) -> str:
    return f"dt(dt({eq.state}))" if eq.order == 2 else f"dt({eq.state})"


def _unknown(eq, reason: str, order: int = 1) -> Structure:
    return Structure(
        form="unknown", states=(eq.state,), order=order, span=eq.span,
        summary=f"{_lhs(eq)}: structure unknown: {reason}",
        meaning="the Jacobian is not known to the compiler, so there is no stability verdict",
        spectrum=Spectrum(OPAQUE, reason=f"the structure of {_lhs(eq)} is unknown ({reason})"),
        data={"reason": reason})


def _split(terms):
    """(shift, rest): linear terms that are multiples of I add a shift to every eigenvalue."""
    shift, rest = sympy.S.Zero, []
    for t in terms:
        if t.left.is_zero or t.right.is_zero:       # K - K, say: no dependence after all
            continue
        if t.activation is None:
            product = t.left @ t.right
            k = product.identity_multiple()
            if k is not None:
                shift += k
                continue
            rest.append(Term(MatPoly.identity(product.rows), None, product))
        else:
            rest.append(t)
    return sympy.expand(shift), rest


def _diag(activation) -> str:
    return f"diag({activation}')" if activation else ""


def _slope(activation):
    return MAX_SLOPE.get(activation, sympy.S.One) if activation else sympy.S.One


def _psd_form(t: Term):
    """(k, R) when t is k * R^T diag(sigma') R (a multiple of a positive semi-definite matrix,
    since sigma' >= 0), else None."""
    if t.activation is not None and (t.activation not in MAX_SLOPE):
        return None
    k = t.left.ratio_to(t.right.T)
    if k is None and t.activation is None:
        # a linear term c*M: M = M^T alone says nothing about the sign; only c*I counts
        k = t.right.identity_multiple()
        return (k, MatPoly.identity(t.right.rows)) if k is not None and k != 0 else None
    return (k, t.right) if k is not None else None


def _sign(expr, reader: Reader) -> int | None:
    value = sympy.sympify(expr).xreplace(reader.scalar_values)
    if value.is_zero:
        return 0
    if value.is_positive:
        return 1
    if value.is_negative:
        return -1
    return None


def _single(reader: Reader, eq: ir.Equation) -> Structure:
    x = sympy.Symbol(eq.state)
    n = reader.states[eq.state][0] if reader.states[eq.state] else 1
    try:
        terms = reader.jacobian(eq.rhs, x, n)
    except Opaque as exc:
        return _unknown(eq, str(exc), eq.order)
    for t in terms:
        if t.activation in NOT_MONOTONE:
            return _general(eq, f"{t.activation} is not monotone ({NOT_MONOTONE[t.activation]}), "
                            "so sigma' >= 0 does not hold", _terms_text(terms))
        if t.activation is not None and t.activation.startswith("grad "):
            return _unknown(eq, f"the Hessian of {t.activation[5:]} has no known sign", eq.order)
    shift, rest = _split(terms)
    if eq.order == 2:
        return _second_order(reader, eq, shift, rest)
    return _first_order(reader, eq, shift, rest)


def _terms_text(terms) -> str:
    """The sum of terms L diag(sigma') R in the spec's notation."""
    parts = []
    for t in terms:
        pieces = []
        left = t.left.identity_multiple()
        prefix = ""
        if left is None:
            pieces.append(_paren(t.left.text()))
        else:
            prefix = _coeff(left)
        if t.activation and t.activation.startswith("grad "):
            pieces.append(f"Hess {t.activation[5:]}")
        elif t.activation:
            pieces.append(_diag(t.activation))
        right = t.right.identity_multiple()
        if right is None:
            pieces.append(_paren(t.right.text()))
        elif right != 1 or not pieces:
            scalar = right * (left if left is not None else 1)
            prefix = _coeff(scalar) if left is not None else prefix
            if not pieces:
                pieces.append("I")
        parts.append(prefix + " ".join(pieces))
    text = " + ".join(parts) if parts else "0"
    return text.replace("+ -", "- ")


def _paren(text: str) -> str:
    return f"({text})" if (" + " in text or " - " in text) else text


def _with_shift(text: str, shift) -> str:
    if shift == 0:
        return text
    negative = shift.could_extract_minus_sign()
    magnitude = -shift if negative else shift
    return f"{text} {'-' if negative else '+'} {expr_text(magnitude)}*I"


def _general(eq, reason, jacobian) -> Structure:
    return Structure(
        form="general", states=(eq.state,), order=eq.order, span=eq.span,
        summary=f"{_lhs(eq)}: no structure: J = {jacobian}",
        meaning=f"{reason}: seed 000's condition max Re(lambda(J)) <= 0 is not implied by the spec",
        spectrum=Spectrum(OPAQUE, reason="the spectrum of J is not constrained by the spec"),
        jacobian=jacobian, data={"reason": reason})


def _first_order(reader: Reader, eq, shift, rest) -> Structure:
    lhs = _lhs(eq)
    if not rest:
        jac = _with_shift("0", shift).replace("0 - ", "-").replace("0 + ", "")
        return _linear_shift(reader, eq, shift, jac)
    if len(rest) == 1:
        t = rest[0]
        c = _slope(t.activation)
        d = _diag(t.activation)
        k_left = t.left.identity_multiple()
        if k_left is not None:
            a = t.right.scale(k_left)
            return _layer(reader, eq, a, t.activation, c, d, shift)
        k = t.left.ratio_to(t.right.T)
        if k is not None and _sign(k, reader) in (1, -1):
            jac = _with_shift(f"{_coeff(k)}{_paren(t.right.T.text())} {d} {_paren(t.right.text())}"
                              .replace("  ", " "), shift)
            if _sign(k, reader) == 1:
                return _growing(eq, jac, f"J = {jac} is symmetric positive semi-definite: "
                                "an anti-diffusion (the backward heat equation): perturbations grow",
                                "flip the sign: -K^T sigma(K Y + b) is the stable, parabolic form")
            radius = c * sympy.Abs(k) * reader.norm(t.right) ** 2
            return _parabolic(reader, eq, jac, radius, shift, t.right, t.activation)
        jac = _with_shift(_terms_text(rest), shift)
        return _general(eq, "the weights are learned freely", jac) if not _explicit_ok(reader, t) \
            else _explicit(reader, eq, t.left @ t.right, None, sympy.S.One, shift, jac)
    forms = [_psd_form(t) for t in rest]
    if all(f is not None and _sign(f[0], reader) == -1 for f in forms):
        jac = _with_shift(_terms_text(rest), shift)
        radius = sum(_slope(t.activation) * sympy.Abs(k) * reader.norm(r) ** 2
                     for t, (k, r) in zip(rest, forms))
        return _parabolic(reader, eq, jac, radius, shift, None, None)
    return _general(eq, "a sum of layers", _with_shift(_terms_text(rest), shift))


def _coeff(k) -> str:
    if k == 1:
        return ""
    if k == -1:
        return "-"
    return f"{expr_text(k)}*" if not k.is_Add else f"({expr_text(k)})*"


def _explicit_ok(reader, t) -> bool:
    return t.activation is None and (t.left @ t.right).explicit(reader.values) is not None


def _linear_shift(reader, eq, shift, jac) -> Structure:
    sign = _sign(shift, reader)
    if sign == 1:
        return _growing(eq, jac, f"J = {jac}: every component grows like exp({expr_text(shift)} t)",
                        "make the coefficient negative")
    return Structure(
        form="linear", states=(eq.state,), order=1, span=eq.span,
        summary=f"{_lhs(eq)}: linear: J = {jac}",
        meaning=f"every eigenvalue equals {expr_text(shift)}" + (" <= 0: decay" if sign in (0, -1) else ""),
        spectrum=Spectrum(NEGATIVE_REAL, radius=sympy.S.Zero, shift=shift), jacobian=jac,
        data={"eigenvalue": expr_text(shift)})


def _growing(eq, jac, why, fix) -> Structure:
    return Structure(
        form="growing", states=(eq.state,), order=eq.order, span=eq.span, severity="warning",
        summary=f"{_lhs(eq)}: the continuous model is unstable: {why}",
        meaning=f"seed 000's condition max Re(lambda(J)) <= 0 fails; {fix}",
        spectrum=Spectrum(GROWING), jacobian=jac)


def _layer(reader, eq, a: MatPoly, activation, c, d, shift) -> Structure:
    """J = diag(sigma') A (+ shift I), A known."""
    lhs = _lhs(eq)
    per_step = sorted(a.letters() & reader.per_step)
    symmetric = a + a.T
    if symmetric.is_zero:
        jac = _with_shift(f"{d} {_paren(a.text())}".strip(), shift)
        omega = c * reader.norm(a)
        sign = _sign(shift, reader)
        if sign == 1:
            return _growing(eq, jac, "the shift moves the imaginary eigenvalues to the right",
                            "use a negative damping term")
        if shift == 0:
            return Structure(
                form="antisymmetric", states=(eq.state,), order=1, span=eq.span,
                summary=f"{lhs}: antisymmetric: J = {jac} with {a.text()} antisymmetric",
                meaning=_similar(d) + "the eigenvalues of J are imaginary: seed 000's condition "
                "max Re(lambda) <= 0 holds with equality: forward propagation neither grows nor "
                "decays (for weights that change slowly in time)",
                spectrum=Spectrum(IMAGINARY, radius=omega), jacobian=jac, hint=a.text(),
                weights=tuple(per_step), data={"antisymmetric": a.text()})
        return _damped(reader, eq, jac, a, -shift, Spectrum(IMAGINARY, radius=omega, shift=shift),
                       per_step, outside=True)
    k = symmetric.identity_multiple()
    if k is not None:
        s = a - MatPoly.identity(a.rows, k / 2)
        gamma = sympy.expand(-k / 2)
        if activation is None:
            total = sympy.expand(k / 2 + shift)
            jac = _with_shift(_paren(a.text()), shift)
            return _damped(reader, eq, jac, s, -total, Spectrum(IMAGINARY, radius=reader.norm(s),
                                                                   shift=total), per_step, outside=True)
        if shift != 0:
            return _general(eq, "damping both inside and outside sigma", _with_shift(f"{d} ({a.text()})", shift))
        jac = f"{d} ({a.text()})"
        spectrum = Spectrum(DAMPED, radius=reader.norm(s), damping=gamma, slope=c)
        return _damped(reader, eq, jac, s, gamma, spectrum, per_step, outside=False)
    value = a.explicit(reader.values)
    if value is not None:
        return _explicit(reader, eq, a, activation, c, shift, _with_shift(f"{d} {_paren(a.text())}".strip(), shift))
    jac = _with_shift(f"{d} {_paren(a.text())}".strip(), shift)
    return _general(eq, f"{a.text()} is learned freely", jac)


def _similar(d) -> str:
    if not d:
        return ""
    return "diag(sigma') A is similar to D^(1/2) A D^(1/2), antisymmetric, so "


def _damped(reader, eq, jac, s: MatPoly, gamma, spectrum, per_step, outside: bool) -> Structure:
    lhs = _lhs(eq)
    sign = _sign(gamma, reader)
    gamma_text = expr_text(gamma)
    if sign == -1:
        return _growing(eq, jac, f"the damping {gamma_text} is negative: the eigenvalues have "
                        "positive real part", "make the damping positive")
    value = sympy.sympify(gamma).xreplace(reader.scalar_values)
    known = f" = {expr_text(value)}" if value.is_number and value != gamma else ""
    where = "Re(lambda) = -" + (f"{gamma_text}" if outside else f"sigma'*{_paren(gamma_text)}")
    return Structure(
        form="antisymmetric_damped", states=(eq.state,), order=1, span=eq.span,
        summary=f"{lhs}: antisymmetric with damping {gamma_text}{known}: J = {jac}",
        meaning=f"{s.text()} has imaginary eigenvalues and the damping moves them to {where} <= 0: "
        "seed 000's condition max Re(lambda) <= 0 holds, forward propagation is stable"
        + ("" if sign == 1 else f" when {gamma_text} >= 0"),
        spectrum=spectrum, jacobian=jac, hint=s.text(), weights=tuple(per_step),
        data={"antisymmetric": s.text(), "damping": gamma_text})


def _parabolic(reader, eq, jac, radius, shift, r: MatPoly | None, activation) -> Structure:
    lhs = _lhs(eq)
    sign = _sign(shift, reader)
    if sign == 1:
        return _growing(eq, jac, "the shift makes eigenvalues positive", "use a negative shift")
    r_text = r.text() if r is not None else ""
    bound = expr_text(radius)
    return Structure(
        form="parabolic", states=(eq.state,), order=1, span=eq.span,
        summary=f"{lhs}: parabolic: J = {jac} is symmetric negative semi-definite",
        meaning=f"its eigenvalues are real, in [-{_paren(bound)}, 0]" + (f" shifted by {expr_text(shift)}" if shift != 0 else "")
        + "; seed 002's theorem (sigma monotone): |Y(T) - Y'(T)| <= M |Y(0) - Y'(0)| for any two "
        "inputs, with M independent of T",
        spectrum=Spectrum(NEGATIVE_REAL, radius=radius, shift=shift), jacobian=jac, hint=r_text,
        weights=tuple(sorted((r.letters() if r else set()) & reader.per_step)),
        data={"factor": r_text})


def _explicit(reader, eq, a: MatPoly, activation, c, shift, jac) -> Structure:
    """J = diag(sigma') A with A's value known (a literal or constants): its eigenvalues."""
    value = a.explicit(reader.values)
    lhs = _lhs(eq)
    eigen = _eigenvalues(value)
    if eigen is None:
        return _general(eq, f"{a.text()} is too large for symbolic eigenvalues", jac)
    eigen = tuple(sympy.expand(e + shift) if activation is None else e for e in eigen)
    if activation is not None and shift != 0:
        return _general(eq, "a layer and a shift", jac)
    literal = "; ".join(f"{n} = {_matrix_text(reader.literals[n])}" for n in sorted(a.letters())
                        if n in reader.literals)
    real_parts = list(dict.fromkeys(sympy.factor(sympy.re(e)) for e in eigen))
    shown = _eig_text(eigen)
    worst = [r for r in real_parts if r != 0]
    signs = [_sign(r, reader) for r in worst]
    if any(s == 1 for s in signs):
        return _growing(eq, jac, f"an eigenvalue of {a.text()} has positive real part ({shown})",
                        "choose weights with max Re(lambda) <= 0")
    if all(s in (0, -1) for s in signs):
        condition = "holds"
    else:
        condition = "holds when " + " and ".join(_nonpositive(r) for r, s in zip(worst, signs)
                                                 if s is None)
    scale = "" if activation is None else f", times sigma' in [0, {expr_text(c)}]"
    return Structure(
        form="explicit", states=(eq.state,), order=1, span=eq.span,
        summary=f"{lhs}: J = {jac}" + (f" with {literal}" if literal else ""),
        meaning=f"the eigenvalues of {a.text()} are {shown}{scale}: seed 000's condition "
        f"max Re(lambda) <= 0 {condition}",
        spectrum=Spectrum(EXPLICIT, eigenvalues=eigen, slope=c if activation else sympy.S.One),
        jacobian=jac, data={"eigenvalues": shown})


def _eigenvalues(value: sympy.ImmutableMatrix):
    """The eigenvalues with multiplicity, or None (symbolic beyond 3x3, numeric beyond 8x8)."""
    n = value.shape[0]
    lam = sympy.Symbol("lambda")
    if value.free_symbols:
        if n > 3:
            return None
        # no Cardano: the cubic formula of a symbolic 3x3 matrix is pages long and takes sympy
        # minutes to factor; a characteristic polynomial that factors (a circulant, a block
        # form) still gives its roots
        roots = sympy.roots(sympy.Poly(value.charpoly(lam).as_expr(), lam), cubics=False, quartics=False)
        if sum(roots.values()) != n:
            return None
        return tuple(sympy.expand(r) for r, m in sorted(roots.items(), key=lambda p: sympy.default_sort_key(p[0]))
                     for _ in range(m))
    if n > 8 or any(not v.is_finite for v in value):
        return None
    try:
        poly = sympy.Poly(value.charpoly(lam).as_expr(), lam)
        if n <= 2 or all(v.is_Rational and _small(v) for v in value):   # closed forms
            roots = sympy.roots(poly)
            if sum(roots.values()) == n and all(r.is_number for r in roots):
                return tuple(r for r, m in sorted(roots.items(), key=lambda p: sympy.default_sort_key(p[0]))
                             for _ in range(m))
        return tuple(sympy.Float(r, 6) if r.is_real else r for r in poly.nroots(n=6))
    except (mpmath.libmp.libhyper.NoConvergence, sympy.polys.polyerrors.PolynomialError,
            ArithmeticError, ValueError):
        return None   # badly scaled numbers: no eigenvalues rather than wrong ones


def _small(v: sympy.Rational) -> bool:
    """A rational of at most 64 bits above and below: the closed-form roots of a characteristic
    polynomial with 300-digit coefficients take sympy seconds, and print as pages."""
    return max(int(v.p).bit_length(), int(v.q).bit_length()) <= 64


def _eig_text(eigen) -> str:
    """Eigenvalues as re +- i*im with factored parts, conjugate pairs merged."""
    shown, seen = [], set()
    for e in eigen:
        re, im = sympy.factor(sympy.re(e)), sympy.factor(sympy.im(e))
        if im == 0:
            key = (re, 0)
            if key not in seen:
                seen.add(key)
                shown.append(expr_text(re))
            continue
        magnitude = -im if im.could_extract_minus_sign() else im
        key = (re, magnitude)
        if key in seen:
            continue
        seen.add(key)
        conjugate = any(sympy.expand(sympy.conjugate(e) - o) == 0 for o in eigen)
        sign = "+-" if conjugate else ("-" if im.could_extract_minus_sign() else "+")
        head = "" if re == 0 else expr_text(re) + " "
        body = f"({expr_text(magnitude)})" if magnitude.is_Add else expr_text(magnitude)
        shown.append(f"{head}{sign} i" + ("" if magnitude == 1 else f"*{body}"))
    return ", ".join(shown)


def _nonpositive(r) -> str:
    """The condition r <= 0, with a negative numeric factor moved across: theta1 + theta2 >= 0."""
    coeff, rest = sympy.factor(r).as_coeff_Mul()
    if coeff.is_negative:
        return f"{expr_text(rest)} >= 0"
    return f"{expr_text(r)} <= 0"


def _matrix_text(m) -> str:
    rows = ", ".join("[" + ", ".join(expr_text(m[i, j]) for j in range(m.shape[1])) + "]"
                     for i in range(m.shape[0]))
    return f"[{rows}]"


def _second_order(reader, eq, shift, rest) -> Structure:
    lhs = _lhs(eq)
    if not rest:
        sign = _sign(shift, reader)
        jac = _with_shift("0", shift).replace("0 - ", "-").replace("0 + ", "")
        if sign == 1:
            return _growing(eq, jac, f"d2{eq.state}/dt2 = {expr_text(shift)} {eq.state} grows "
                            "exponentially", "make the coefficient negative")
        omega = sympy.sqrt(-shift)
        return _oscillation(eq, f"dF/d{eq.state} = {jac}", omega, (), reader)
    forms = [_psd_form(t) for t in rest]
    if all(f is not None for f in forms):
        signs = {_sign(k, reader) for k, _ in forms}
        if signs == {-1} and _sign(shift, reader) in (0, -1):
            jac = _with_shift(_terms_text(rest), shift)
            omega2 = sum(_slope(t.activation) * sympy.Abs(k) * reader.norm(r) ** 2
                         for t, (k, r) in zip(rest, forms)) - shift
            letters = set().union(*(r.letters() for _, r in forms)) & reader.per_step
            return _oscillation(eq, f"dF/d{eq.state} = {jac} symmetric negative semi-definite",
                                sympy.sqrt(omega2), tuple(sorted(letters)), reader)
        if signs == {1}:
            jac = _with_shift(_terms_text(rest), shift)
            return _growing(eq, jac, f"dF/d{eq.state} = {jac} is positive semi-definite: "
                            "exponential growth", "flip the sign: -K^T sigma(K Y + b)")
    return _general(eq, "the weights are learned freely", _with_shift(_terms_text(rest), shift))


def _oscillation(eq, what, omega, per_step, reader) -> Structure:
    return Structure(
        form="second_order", states=(eq.state,), order=2, span=eq.span,
        summary=f"{_lhs(eq)}: second-order (hyperbolic) form: d2{eq.state}/dt2 = F({eq.state}), {what}",
        meaning=f"oscillations with frequencies up to {expr_text(omega)}: conservative and "
        "reversible, like the wave equation (seed 002)",
        spectrum=Spectrum(OSCILLATION, radius=omega), weights=per_step,
        data={"frequency": expr_text(omega)})


def _pair(reader: Reader, first: ir.Equation, second: ir.Equation) -> Structure | None:
    """dY/dt = f(Z), dZ/dt = g(Y): the Hamiltonian block form of seed 002, if certified."""
    y, zed = sympy.Symbol(first.state), sympy.Symbol(second.state)
    if y in first.rhs.free_symbols or zed in second.rhs.free_symbols:
        return None
    if zed not in first.rhs.free_symbols or y not in second.rhs.free_symbols:
        return None
    ny = reader.states[first.state][0] if reader.states[first.state] else 1
    nz = reader.states[second.state][0] if reader.states[second.state] else 1
    span = first.span.merge(second.span)
    states = (first.state, second.state)
    lhs = f"dt({first.state}), dt({second.state})"
    try:
        top = reader.jacobian(first.rhs, zed, nz)
        bottom = reader.jacobian(second.rhs, y, ny)
    except Opaque as exc:
        return _pair_unknown(states, span, lhs, str(exc))
    shift_top, top = _split(top)
    shift_bottom, bottom = _split(bottom)
    if shift_top != 0:
        top = top + [Term(MatPoly.identity(nz), None, MatPoly.identity(nz, shift_top))]
    if shift_bottom != 0:
        bottom = bottom + [Term(MatPoly.identity(ny), None, MatPoly.identity(ny, shift_bottom))]
    if len(top) != 1 or len(bottom) != 1:
        return _pair_unknown(states, span, lhs, "a block is a sum of several terms")
    t, b = top[0], bottom[0]
    blocks = f"[[0, {_terms_text([t])}], [{_terms_text([b])}, 0]]"
    grads = [x for x in (t, b) if x.activation and x.activation.startswith("grad ")]
    if grads:
        return _canonical(reader, states, span, lhs, t, b, blocks)
    if any(x.activation in NOT_MONOTONE for x in (t, b)):
        return _pair_unknown(states, span, lhs, "an activation is not monotone")
    ft, fb = _psd_form(t), _psd_form(b)
    weights = sorted((t.right.letters() | b.right.letters()) & reader.per_step)
    if ft is not None and fb is not None:
        (k1, r1), (k2, r2) = ft, fb
        if {_sign(k1, reader), _sign(k2, reader)} == {1, -1}:
            radius = sympy.sqrt(_slope(t.activation) * _slope(b.activation) * sympy.Abs(k1 * k2)) \
                * reader.norm(r1) * reader.norm(r2)
            meaning = ("both blocks are positive semi-definite, with opposite signs: lambda^2 is an "
                       "eigenvalue of -P Q with P, Q >= 0, so the eigenvalues of J are imaginary "
                       "(seed 002): conservative, reversible dynamics")
            return _hamiltonian(states, span, lhs, blocks, radius, meaning, weights)
    k_top, k_bottom = t.left.identity_multiple(), b.left.identity_multiple()
    if k_top is not None and k_bottom is not None:
        a1, a2 = t.right.scale(k_top), b.right.scale(k_bottom)
        q = a2.ratio_to(a1.T)
        if q is not None and _sign(q, reader) == -1:
            radius = sympy.sqrt(_slope(t.activation) * _slope(b.activation) * sympy.Abs(q)) * reader.norm(a1)
            meaning = (f"the blocks are D1 A and -D2 A^T with A = {a1.text()}: lambda^2 is an "
                       "eigenvalue of -D1 A D2 A^T, which is <= 0, so the eigenvalues of J are "
                       "imaginary (seed 003): conservative, reversible dynamics")
            return _hamiltonian(states, span, lhs, blocks, radius, meaning, weights)
    return _pair_unknown(states, span, lhs, f"the blocks {blocks} are not of a certified form")


def _hamiltonian(states, span, lhs, blocks, radius, meaning, weights) -> Structure:
    return Structure(
        form="hamiltonian", states=states, order=1, span=span,
        summary=f"{lhs}: Hamiltonian block form ({states[0]} driven by {states[1]}, {states[1]} by "
        f"{states[0]}): J = {blocks}",
        meaning=meaning, spectrum=Spectrum(IMAGINARY, radius=radius), jacobian=blocks,
        weights=tuple(weights), data={"frequency_bound": expr_text(radius)})


def _canonical(reader, states, span, lhs, t, b, blocks) -> Structure | None:
    """dq/dt = a v, dv/dt = -c grad V(q): H = a |v|^2 / 2 + c V(q)."""
    grad, other = (t, b) if t.activation and t.activation.startswith("grad ") else (b, t)
    name = grad.activation[5:]
    k_grad = grad.left.identity_multiple()
    r_grad = grad.right.identity_multiple()
    k_other = other.right.identity_multiple() if other.activation is None else None
    if None in (k_grad, r_grad, k_other) or other.left.identity_multiple() != 1:
        return _pair_unknown(states, span, lhs, f"grad({name}, ...) in a form that is not canonical")
    product = sympy.expand(k_grad * r_grad * k_other)
    if _sign(product, reader) != -1:
        return _pair_unknown(states, span, lhs, "the signs are not those of a Hamiltonian system")
    hess = sympy.Symbol(f"lambda_max(Hess {name})", positive=True)
    radius = sympy.sqrt(sympy.Abs(product) * hess)
    return Structure(
        form="canonical_hamiltonian", states=states, order=1, span=span,
        summary=f"{lhs}: canonical Hamiltonian form: J = {blocks.replace(f'grad {name}', f'Hess {name}')}",
        meaning=f"the energy |v|^2/2 + {name}(q) (suitably scaled) is conserved (seed 003); the "
        f"eigenvalues of J are imaginary where {name} is convex (Hess {name} >= 0) and real where "
        "it is not",
        spectrum=Spectrum(IMAGINARY, radius=radius, condition=f"where {name} is convex"),
        jacobian=blocks, data={"frequency_bound": expr_text(radius), "requires": f"Hess {name} >= 0"})


def _pair_unknown(states, span, lhs, reason) -> Structure:
    return Structure(
        form="unknown", states=states, order=1, span=span,
        summary=f"{lhs}: structure unknown: {reason}",
        meaning="the Jacobian is not known to the compiler, so there is no stability verdict",
        spectrum=Spectrum(OPAQUE, reason=f"the structure of {lhs} is unknown"),
        data={"reason": reason})
