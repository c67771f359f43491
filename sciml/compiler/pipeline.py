"""The compiler pipeline, one line per stage.

    source text --parse--> syntax tree (sciml.compiler.ast)       grammar/: Lark, LALR
                --lower--> typed IR (sciml.compiler.ir)           names, shapes, completeness
                --emit---> a standalone Python module             backends/<name>/

Every stage raises `SpecError` with positioned diagnostics when the spec is wrong; anything
else escaping from here is a compiler bug.  Backends are imported only when code is emitted,
and never import torch or jax themselves (only the code they write does).
"""
from __future__ import annotations

import importlib
from pathlib import Path

from sciml.grammar import parse
from . import ast, ir
from .dump import dump
from .lower import lower

BACKENDS = ("torch", "jax")


def front_end(source: str, path: str) -> tuple[ast.Spec, ir.Model]:
    spec = parse(source)                                    # text -> syntax tree
    model = lower(spec, _spec_dir(path))                    # syntax tree -> typed IR
    return spec, model


def compile_spec(source: str, path: str, backend: str) -> str:
    """Return the text of the generated `backend` module for the spec in `source`."""
    _, model = front_end(source, path)                      # parse and check
    emitter = importlib.import_module(f"sciml.backends.{backend}")
    return emitter.emit(model, source, Path(path).name)     # IR -> Python source


def dump_stage(source: str, path: str, stage: str) -> str:
    spec = parse(source)
    if stage == "ast":
        return dump(spec)
    return dump(lower(spec, _spec_dir(path)))


def _spec_dir(path: str) -> Path:
    return Path(path).resolve().parent if path != "-" else Path.cwd()
