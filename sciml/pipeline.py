"""The compiler pipeline, one line per stage.

    source text --parse----> syntax tree (sciml.frontend.ast)     frontend/: Lark, LALR
                --lower----> typed IR (sciml.lowering.ir)         names, shapes, completeness
                --analyse--> findings (diagnostics)                analysis/passes.py: the passes
                --emit-----> a standalone Python module           backends/<name>/

Every stage raises `SpecError` with positioned diagnostics when the spec is wrong; anything
else escaping from here is a compiler bug.  Backends come from the registry in
`sciml.backends`; an emitter is imported only when code is emitted, and never imports torch or
jax itself (only the code it writes does).
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path, PurePath

from sciml.analysis.passes import analyse
from sciml.backends import backend as find_backend
from sciml.frontend import ast
from sciml.frontend.diagnostics import Diagnostic, SpecError, by_position
from sciml.frontend.parser import parse
from sciml.lowering import ir
from sciml.lowering.dump import dump
from sciml.lowering.lower import lower
from sciml.backends.common.unsupported import check_emittable


def front_end(source: str, path: str, *, allow_unstable: bool = False
              ) -> tuple[ast.Spec, ir.Model, tuple[Diagnostic, ...]]:
    """The syntax tree, the IR and the analysis' findings (notes and warnings) of a spec that
    has no error; raises `SpecError` (holding every finding too) when it has one."""
    spec = parse(source)                                    # text -> syntax tree
    warnings: list = []                                     # lowering's: W101 data file outside
    model = lower(spec, _spec_dir(path), warnings)          # syntax tree -> typed IR
    # The analysis reads the typed IR, so it runs only on a spec that lowering accepted: its
    # findings never echo a lowering error.  An unstable scheme is an error (A201) unless allowed.
    analysis = analyse(model, allow_unstable=allow_unstable)  # typed IR -> findings, guards
    findings = by_position(warnings + list(analysis.findings)) if warnings else analysis.findings
    if any(d.severity == "error" for d in findings):
        raise SpecError(findings)
    # the bounds that read learned weights go with the model: --check-stability evaluates them;
    # the stability findings too: a training run that diverges names the one that predicted it
    stability = tuple((f"{d.span.line}:{d.span.column}", d.code, d.severity, d.message)
                      for d in analysis.findings if d.code.startswith("A2"))
    model = dataclasses.replace(model, guards=analysis.guards, stability_findings=stability)
    return spec, model, findings


def emit(model: ir.Model, source: str, path: str, backend: str, output: str | None = None,
         standalone: bool = False) -> str:
    """The module's text; `output`, the file it will be written to, tells the module where the
    spec's folder is, for the data files (None or '-': beside the spec, as far as it knows);
    `standalone`: the training runtime pasted in, not imported from sciml.runtime; `backend`: a
    name in `sciml.backends.NAMES` (ValueError for another)."""
    check_emittable(model)                                  # E901: what no emitter writes yet
    emitter = find_backend(backend).emitter()
    return emitter.emit(model, source, Path(path).name, _spec_folder(path, output), standalone)  # IR -> Python


def compile_spec(source: str, path: str, backend: str, *, allow_unstable: bool = False,
                 output: str | None = None, standalone: bool = False) -> str:
    """Return the text of the generated `backend` module for the spec in `source` (to be written
    to `output`, if known: see emit)."""
    _, model, _ = front_end(source, path, allow_unstable=allow_unstable)  # parse, check, analyse
    return emit(model, source, path, backend, output, standalone)


def dump_stage(source: str, path: str, stage: str) -> str:
    spec = parse(source)
    if stage == "ast":
        return dump(spec)
    return dump(lower(spec, _spec_dir(path)))


def _spec_dir(path: str) -> Path:
    """The folder data paths are relative to: the spec's (the working folder for stdin)."""
    return Path(path).resolve().parent if path != "-" else Path.cwd()


def _spec_folder(path: str, output: str | None) -> str:
    """The spec's folder relative to the folder of the module written to `output` ('.' for
    standard output, where the module's place is not known)."""
    if output in (None, "-"):
        return "."
    try:
        return PurePath(os.path.relpath(_spec_dir(path), Path(output).resolve().parent)).as_posix()
    except ValueError:   # no relative path between them (another drive): data beside the module
        return "."
