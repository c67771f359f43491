"""The limits of the language, in one place (docs/language.md, "Limits").

Numbers (E230, number out of range).  Every number known at compile time, as written or as
computed from constants, is a finite float64 (|x| <= about 1.8e308) and, when it is not 0, does
not round to 0 (|x| >= about 5e-324): the emitted module holds it as a float64.  A count or a
size (a dimension, a layer width, steps, samples, a batch, a seed) is a whole number of at most
MAX_INTEGER.  Powers are checked before they are computed (a bound on the result's magnitude
from floating point), so `9^9^9` is refused at once instead of computed.

Sizes (E231, too large to run): what no machine could hold or run.  The parameters (in
float32), one batch of states over the grid (in float32) and a generated data set (float64, as
numpy draws it) each stay below MAX_BYTES; step and sample counts stay below MAX_STEPS and
MAX_SAMPLES; a written-out vector or matrix has at most MAX_LITERAL_ENTRIES numbers;
linspace(...) gives at most MAX_TIMES times.

Below: how lowering turns compile-time values into floats (`to_float` and `range_problem` never
raise), and how it computes powers of numbers (`guarded_power`, `substitute` raise OutOfRange).
"""
from __future__ import annotations

import math
import sys

import sympy

MAX_INTEGER = 2**53                 # a count, size or seed: exact in float64 (about 9.0e15)
MAX_LITERAL_ENTRIES = 10_000        # numbers in one written-out vector or matrix
MAX_TIMES = 100_000                 # observation times of linspace(start, stop, count)
MAX_STEPS = 10**8                   # steps of a scheme, of a simulated data set, of a training stage
MAX_SAMPLES = 10**9                 # samples of a generated data set; a batch
MAX_BYTES = 2**40                   # 1 TiB: parameters, one batch of states over the grid, a data set
EXACT_POWER_BITS = 4096             # a rational power is exact up to this size, floating point beyond

FLOAT_MAX = sys.float_info.max
_LOG10_MAX = math.log10(FLOAT_MAX)  # 308.25...
_LOG10_MIN = math.log10(5e-324)     # -323.3...: below, a nonzero float64 rounds to 0

LARGE_HELP = "numbers in a model are finite float64 values (at most about 1.8e308 in magnitude)"
SMALL_HELP = ("a number other than 0 is at least about 5e-324 in magnitude (it would round to 0 "
              "in float64); write 0 if 0 is meant")


def to_float(value) -> float | None:
    """The float64 of a real sympy (or Python) number: +-inf beyond the range, 0.0 below it;
    None when it is not a real number (complex, symbolic, an unevaluated function)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            return math.copysign(math.inf, value)
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return None if math.isnan(number) else number


def range_problem(value) -> str | None:
    """Why a real number (or a matrix of them) is not a float64 a model can hold: 'too large',
    'too small' (nonzero, but rounds to 0), or None when it is fine or not a real number at all
    (realness is checked elsewhere)."""
    entries = value if isinstance(value, sympy.MatrixBase) else (value,)
    for entry in entries:
        number = to_float(entry)
        if number is None:
            continue
        if math.isinf(number):
            return "too large"
        if number == 0 and not _is_zero(entry):
            return "too small"
    return None


def _is_zero(entry) -> bool:
    if isinstance(entry, (int, float)):
        return entry == 0
    return bool(getattr(entry, "is_zero", False))


def literal_problem(text: str) -> str | None:
    """Why the text of a NUMBER token is out of range, before it is converted (a 5000-digit
    integer would trip Python's limit on str -> int)."""
    mantissa = text.lower().split("e")[0]
    if text.isdigit():
        digits = text.lstrip("0")
        return "too large" if len(digits) > 309 or (digits and float(digits) == math.inf) else None
    number = float(text)
    if math.isinf(number):
        return "too large"
    if number == 0 and mantissa.strip("0.") != "":
        return "too small"
    return None


def power_problem(base, exponent) -> tuple[str | None, bool]:
    """(problem, inexact) for base^exponent of two real numbers, judged before computing it: the
    magnitude from floating point (log10|result| = exponent * log10|base|); `inexact` when the
    exact result (a rational with huge numerator or denominator) would be too costly to build,
    so that it is computed in floating point."""
    b, e = to_float(base), to_float(exponent)
    if b is None or e is None or b == 0 or abs(b) == 1:
        return None, False
    digits = e * math.log10(abs(b))
    if digits > _LOG10_MAX:
        return "too large", False
    if digits < _LOG10_MIN:
        return "too small", False
    size = _bits(base)
    return None, size is not None and abs(e) * size > EXACT_POWER_BITS


def _bits(value) -> int | None:
    """The most bits of a numerator or denominator among the rationals in a number (sympy
    computes (sqrt(1 + 1/10^9))^(10^9) exactly, as a power of 1 + 1/10^9); None without any."""
    if isinstance(value, (int, float)) or not isinstance(value, sympy.Basic):
        return None
    rationals = [r for r in value.atoms(sympy.Rational) if not r.is_Integer or abs(r.p) > 1]
    if not rationals:
        return None
    return max(max(int(r.p).bit_length(), int(r.q).bit_length()) for r in rationals)


class OutOfRange(Exception):
    """A power whose size is out of range, found while constants are substituted."""

    def __init__(self, problem: str, digits: float):
        super().__init__(problem)
        self.problem, self.digits = problem, digits


def guarded_power(base, exponent):
    """base^exponent, judged by `power_problem` first; raises OutOfRange."""
    if not (getattr(base, "is_number", False) and getattr(exponent, "is_number", False)):
        return base ** exponent
    problem, inexact = power_problem(base, exponent)
    if problem:
        raise OutOfRange(problem, to_float(exponent) * math.log10(abs(to_float(base))))
    if inexact:   # enough digits that the power keeps float64's: |exponent| * relative error
        digits = 20 + int(math.log10(abs(to_float(exponent)) + 1))
        return sympy.Float(base.evalf(digits), digits) ** exponent
    return base ** exponent


def substitute(expr, values: dict):
    """`expr` with symbols replaced by their values, rebuilt from the leaves up so that every
    power of numbers is judged before sympy computes it (`xreplace` would compute 9^(9^n) at
    once); raises OutOfRange."""
    if not isinstance(expr, sympy.Basic) or not expr.free_symbols:
        return expr
    if expr in values:
        return values[expr]
    if not expr.args:
        return expr
    if isinstance(expr, sympy.MatrixBase):
        return expr.applyfunc(lambda entry: substitute(entry, values))
    args = [substitute(a, values) for a in expr.args]
    if isinstance(expr, sympy.Pow):
        return guarded_power(*args)
    return expr.func(*args)


def out_of_range_message(what: str, problem: str) -> str:
    if problem == "too small":
        return f"{what} is too small for a floating-point number: it would round to 0"
    return f"{what} is too large for a floating-point number"


def range_help(problem: str) -> str:
    return SMALL_HELP if problem == "too small" else LARGE_HELP


def magnitude_text(digits: float) -> str:
    """10^400, 10^-2000, 10^(3.7e+08): the size of a number from its decimal exponent."""
    return f"10^{round(digits)}" if abs(digits) < 10**6 else f"10^({digits:.2g})"


def size_text(count: float) -> str:
    """An integer as people read it: 12,802; 1.0e+12 beyond a trillion."""
    return f"{int(count):,}" if count < 10**12 else f"{count:.1e}"


def bytes_text(count: float) -> str:
    """Bytes in binary units: 512 B, 48.2 KiB, 3.0 MiB, 1.5 TiB, 2.0e+06 TiB."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            amount = count / size
            return f"{amount:.1f} {unit}" if amount < 10**6 else f"{amount:.1e} {unit}"
    return f"{int(count)} B"
