"""Readable dumps of the syntax tree and the IR (`sciml compile --dump ast|ir`)."""
from __future__ import annotations

import dataclasses

import sympy


def dump(node, indent: int = 0) -> str:
    """An indented tree: one field a line, spans left out, sympy shown in its own notation."""
    pad = "  " * indent
    if dataclasses.is_dataclass(node):
        lines = [f"{type(node).__name__}"]
        for f in dataclasses.fields(node):
            if f.name in ("span", "func_span", "loss_span"):
                continue
            value = getattr(node, f.name)
            if value in ((), None, "") and f.name not in ("statements",):
                continue
            lines.append(f"{pad}  {f.name}: {dump(value, indent + 1)}")
        return "\n".join(lines)
    if isinstance(node, tuple):
        if not node:
            return "()"
        if all(not dataclasses.is_dataclass(x) for x in node):
            return "(" + ", ".join(dump(x, indent) for x in node) + ")"
        return "".join(f"\n{pad}  - {dump(x, indent + 2)}" for x in node)
    if isinstance(node, sympy.Basic):
        return sympy.sstr(node, order="none")
    return repr(node)
