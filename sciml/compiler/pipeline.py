"""The compiler pipeline, one line per stage.

    source text --parse----> syntax tree (sciml.compiler.ast)     grammar/: Lark, LALR
                --lower----> typed IR (sciml.compiler.ir)         names, shapes, completeness
                --analyse--> findings (diagnostics)                structure, stability, well-posedness
                --emit-----> a standalone Python module           backends/<name>/

Every stage raises `SpecError` with positioned diagnostics when the spec is wrong; anything
else escaping from here is a compiler bug.  Backends are imported only when code is emitted,
and never import torch or jax themselves (only the code they write does).
"""
from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

from sciml.grammar import parse
from . import ast, ir
from .analysis import analyse
from .diagnostics import Diagnostic, SpecError
from .dump import dump
from .lower import lower

BACKENDS = ("torch", "jax")


def front_end(source: str, path: str, *, allow_unstable: bool = False
              ) -> tuple[ast.Spec, ir.Model, tuple[Diagnostic, ...]]:
    """The syntax tree, the IR and the analysis' findings (notes and warnings) of a spec that
    has no error; raises `SpecError` (holding every finding too) when it has one."""
    spec = parse(source)                                    # text -> syntax tree
    model = lower(spec, _spec_dir(path))                    # syntax tree -> typed IR
    # The analysis reads the typed IR, so it runs only on a spec that lowering accepted: its
    # findings never echo a lowering error.  An unstable scheme is an error (A201) unless allowed.
    analysis = analyse(model, allow_unstable=allow_unstable)  # typed IR -> findings, guards
    if any(d.severity == "error" for d in analysis.findings):
        raise SpecError(analysis.findings)
    # the bounds that read learned weights go with the model: --check-stability evaluates them
    return spec, dataclasses.replace(model, guards=analysis.guards), analysis.findings


def emit(model: ir.Model, source: str, path: str, backend: str) -> str:
    emitter = importlib.import_module(f"sciml.backends.{backend}")
    return emitter.emit(model, source, Path(path).name)     # IR -> Python source


def compile_spec(source: str, path: str, backend: str, *, allow_unstable: bool = False) -> str:
    """Return the text of the generated `backend` module for the spec in `source`."""
    _, model, _ = front_end(source, path, allow_unstable=allow_unstable)  # parse, check, analyse
    return emit(model, source, path, backend)


def dump_stage(source: str, path: str, stage: str) -> str:
    spec = parse(source)
    if stage == "ast":
        return dump(spec)
    return dump(lower(spec, _spec_dir(path)))


def _spec_dir(path: str) -> Path:
    return Path(path).resolve().parent if path != "-" else Path.cwd()
