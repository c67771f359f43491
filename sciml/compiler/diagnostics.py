"""Positioned diagnostics: every finding about a spec is a `Diagnostic` with a `Span`.

A pass that finds errors collects them and raises one `SpecError` holding all of them,
sorted by position (as miniwdl and stanc3 do), so one run reports several mistakes.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

SEVERITIES = ("error", "warning", "note")


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


def by_position(diagnostics) -> tuple:
    return tuple(sorted(diagnostics, key=lambda d: (d.span.line, d.span.column, d.code)))


def count_text(diagnostics, severities=SEVERITIES) -> str:
    """'1 error', '2 warnings, 3 notes' (severities with a zero count left out)."""
    parts = []
    for severity in severities:
        k = sum(d.severity == severity for d in diagnostics)
        if k:
            parts.append(f"{k} {severity}{'s' if k != 1 else ''}")
    return ", ".join(parts)


class SpecError(Exception):
    """The spec is wrong; carries every diagnostic found, sorted by position."""

    def __init__(self, diagnostics):
        self.diagnostics = tuple(sorted(diagnostics, key=lambda d: (d.span.line, d.span.column, d.code)))
        super().__init__("\n".join(d.message for d in self.diagnostics))


class DiagnosticSink:
    """Collects diagnostics during a pass; `raise_if_errors` ends the pass when any is an error."""

    def __init__(self):
        self.items: list[Diagnostic] = []

    def error(self, code, message, span, help="", **data):
        self.items.append(error(code, message, span, help, **data))

    def add(self, diagnostic: Diagnostic):
        self.items.append(diagnostic)

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.items)

    def raise_if_errors(self):
        if self.has_errors:
            raise SpecError(self.items)


def render_text(diagnostic: Diagnostic, path: str, source: str) -> str:
    """`file:line:col: severity[CODE]: message`, the source line, a caret line, and `help:`."""
    span = diagnostic.span
    lines = source.splitlines()
    head = f"{path}:{span.line}:{span.column}: {diagnostic.severity}[{diagnostic.code}]: {diagnostic.message}"
    out = [head]
    if 1 <= span.line <= len(lines):
        text = lines[span.line - 1].expandtabs(1)
        width = (span.end_column - span.column) if span.end_line == span.line else len(text) - span.column + 1
        gutter = f"{span.line:>4} | "
        out.append(gutter + text)
        out.append(" " * (len(gutter) + span.column - 1) + "^" * max(1, width))
    if diagnostic.help:
        out.append(f"  help: {diagnostic.help}")
    return "\n".join(out)


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
