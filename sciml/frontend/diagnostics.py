"""Positioned diagnostics: every finding about a spec is a `Diagnostic` with a `Span`.

A pass that finds errors collects them and raises one `SpecError` holding all of them,
sorted by position (as miniwdl and stanc3 do), so one run reports several mistakes.
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

SEVERITIES = ("error", "warning", "note")
MAX_ERRORS = 50        # a pass stops at the next error and says so (E008), as compilers do
TOO_MANY = "E008"
LONGEST_SHOWN = 500    # a longer source line is quoted around its caret
SUGGESTION_POOL = 1000  # names a "did you mean" compares (difflib is slow on a huge scope)


@dataclass(frozen=True, slots=True)
class Span:
    """1-based line/column range in the source; end is exclusive in columns."""

    line: int
    column: int
    end_line: int
    end_column: int

    @staticmethod
    def unknown() -> "Span":
        return Span(1, 1, 1, 1)

    def merge(self, other: "Span") -> "Span":
        start = min((self.line, self.column), (other.line, other.column))
        end = max((self.end_line, self.end_column), (other.end_line, other.end_column))
        return Span(start[0], start[1], end[0], end[1])


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnostic:
    code: str
    severity: str
    message: str
    span: Span
    help: str = ""
    data: tuple = field(default=(), compare=False)

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"bad severity {self.severity!r}")


def error(code: str, message: str, span: Span, help: str = "", **data) -> Diagnostic:
    return Diagnostic(code=code, severity="error", message=message, span=span, help=help,
                      data=tuple(sorted(data.items())))


def finding(code: str, severity: str, message: str, span: Span, help: str = "", **data) -> Diagnostic:
    """A diagnostic of any severity (the analysis: notes, warnings and errors); `data` values are
    plain JSON values (strings, numbers, booleans, None)."""
    return Diagnostic(code=code, severity=severity, message=message, span=span, help=help,
                      data=tuple(sorted(data.items())))


def with_severity(diagnostic: Diagnostic, severity: str) -> Diagnostic:
    return dataclasses.replace(diagnostic, severity=severity)


def _order(d: Diagnostic) -> tuple:
    return (d.code == TOO_MANY, d.span.line, d.span.column, d.code)  # "stopping" comes last


def by_position(diagnostics) -> tuple:
    return tuple(sorted(diagnostics, key=_order))


def capped(diagnostics) -> tuple:
    """`diagnostics` by position with at most MAX_ERRORS errors: what follows the next error is
    left out, and that error's place gets one E008 "too many errors; stopping"."""
    ordered = by_position(d for d in diagnostics if d.code != TOO_MANY)
    errors = 0
    for i, d in enumerate(ordered):
        errors += d.severity == "error"
        if errors > MAX_ERRORS:
            return ordered[:i] + (too_many_errors(d.span),)
    return ordered + tuple(d for d in diagnostics if d.code == TOO_MANY)[:1]


def too_many_errors(span: Span) -> Diagnostic:
    return error(TOO_MANY, "too many errors; stopping", span,
                 help=f"sciml stops after {MAX_ERRORS} errors: fix these and check the spec again")


def count_text(diagnostics, severities=SEVERITIES) -> str:
    """'1 error', '2 warnings, 3 notes' (severities with a zero count left out)."""
    parts = []
    for severity in severities:
        k = sum(d.severity == severity for d in diagnostics)
        if k:
            parts.append(f"{k} {severity}{'s' if k != 1 else ''}")
    return ", ".join(parts)


class SpecError(Exception):
    """The spec is wrong; carries every diagnostic found, sorted by position (at most MAX_ERRORS
    errors, see `capped`).  They are sorted when first read: a pass raises and catches one per
    rejected statement, and that stays cheap however many diagnostics it has collected."""

    def __init__(self, diagnostics):
        super().__init__()
        self._given = diagnostics if isinstance(diagnostics, (list, tuple)) else list(diagnostics)
        self._sorted = None

    @property
    def diagnostics(self) -> tuple:
        if self._sorted is None:
            self._sorted, self._given = capped(self._given), ()
        return self._sorted

    def __str__(self) -> str:
        return "\n".join(d.message for d in self.diagnostics)


class TooManyErrors(Exception):
    """Raised by a `DiagnosticSink` given its error number MAX_ERRORS + 1: the pass stops there
    and raises `SpecError` with what the sink holds (the last one becomes E008)."""


class DiagnosticSink:
    """Collects diagnostics during a pass; `raise_if_errors` ends the pass when any is an error."""

    def __init__(self):
        self.items: list[Diagnostic] = []
        self._errors = 0

    def error(self, code, message, span, help="", **data):
        self.add(error(code, message, span, help, **data))

    def add(self, diagnostic: Diagnostic):
        self.items.append(diagnostic)
        if diagnostic.severity == "error":
            self._errors += 1
            if self._errors > MAX_ERRORS:
                raise TooManyErrors()

    @property
    def has_errors(self) -> bool:
        return self._errors > 0

    def raise_if_errors(self):
        if self.has_errors:
            raise SpecError(self.items)


def source_lines(source: str) -> tuple[str, ...]:
    r"""The lines of a spec as the parser numbers them: broken at "\n" only (not at the other
    breaks of `str.splitlines`: \f, \v, \x1c-\x1e, \x85, U+2028, U+2029 or a lone \r), each
    without a trailing "\r"; a last "\n" starts no line.  Every line number that is turned into
    text goes through here."""
    return _lines(source)


@lru_cache(maxsize=2)   # one spec's diagnostics are rendered one by one: split it once
def _lines(source: str) -> tuple[str, ...]:
    lines = source.split("\n")
    if lines[-1] == "":
        lines.pop()
    return tuple(line[:-1] if line.endswith("\r") else line for line in lines)


def _width(char: str) -> int:
    """Terminal columns of a character as the quoted line shows it (see `_shown`)."""
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def _shown(char: str) -> str:
    """Tabs and invisible characters (control characters, line separators) as one space, so
    that the caret line lines up and the terminal is not moved around."""
    return char if char.isprintable() else " "


def _quote(text: str, column: int, end: int) -> tuple[str, str]:
    """The shown line and its caret line (without the gutter) for columns [column, end)."""
    start, stop, before, after = 0, len(text), "", ""
    if len(text) > LONGEST_SHOWN:                           # a window around the caret
        start = max(0, column - 1 - LONGEST_SHOWN // 5)
        stop = min(len(text), start + LONGEST_SHOWN)
        before, after = ("... " if start else ""), (" ..." if stop < len(text) else "")
    shown = before + "".join(_shown(c) for c in text[start:stop]) + after
    lead = len(before) + sum(_width(c) for c in text[start:column - 1]) + max(0, column - 1 - len(text))
    under = (sum(_width(c) for c in text[max(start, column - 1):min(stop, end - 1)])
             + max(0, end - 1 - max(len(text), column - 1)))          # past the end of the line
    return shown, " " * lead + "^" * max(1, under)


def render_text(diagnostic: Diagnostic, path: str, source: str) -> str:
    """`file:line:col: severity[CODE]: message`, the source line, a caret line, and `help:`."""
    span = diagnostic.span
    lines = source_lines(source)
    head = (f"{path}:{span.line}:{span.column}: {diagnostic.severity}[{diagnostic.code}]: "
            f"{_clipped(diagnostic.message)}")
    out = [head]
    if 1 <= span.line <= len(lines):
        text = lines[span.line - 1]
        end = span.end_column if span.end_line == span.line else len(text) + 1
        shown, carets = _quote(text, span.column, end)
        gutter = f"{span.line:>4} | "
        out.append(gutter + shown)
        out.append(" " * len(gutter) + carets)
    if diagnostic.help:
        out.append(f"  help: {_clipped(diagnostic.help)}")
    return "\n".join(out)


def _clipped(text: str) -> str:
    """A message that quotes a huge name or number, cut short (JSON keeps it whole)."""
    if len(text) <= LONGEST_SHOWN:
        return text
    return text[:LONGEST_SHOWN - 100] + f"... ({len(text):,} characters)"


def suggestion_pool(names) -> list:
    """The names a "did you mean" suggestion is drawn from: the first SUGGESTION_POOL, so that
    each suggestion costs the same however many names a spec declares."""
    return list(itertools.islice(names, SUGGESTION_POOL))


def render_json(diagnostics, path: str) -> str:
    entries = [
        {
            "code": d.code,
            "severity": d.severity,
            "message": d.message,
            "file": path,
            "line": d.span.line,
            "column": d.span.column,
            "end_line": d.span.end_line,
            "end_column": d.span.end_column,
            "help": d.help,
            "data": {k: v for k, v in d.data},
        }
        for d in diagnostics
    ]
    return json.dumps({"diagnostics": entries}, indent=2, sort_keys=True)
