"""Compile a spec and import the emitted module in this process (examples, benchmarks, tests).

The module is written to a file in `folder` (a fresh temporary folder if none) and imported
from there under `name`, so tracebacks and `inspect` show real source lines.
"""
from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

from sciml.pipeline import compile_spec
from sciml.frontend.parser import decode  # as the command line reads a spec: BOM dropped, newlines kept


def import_text(text: str, name: str, folder: Path | str | None = None):
    """Import emitted module `text` as `name` (written to folder/name.py)."""
    path = Path(folder or tempfile.mkdtemp(prefix="sciml-")) / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module


def compile_and_import(spec: Path | str, backend: str, folder: Path | str | None = None,
                       source: str | None = None, name: str | None = None, standalone: bool = False):
    """Compile the spec file `spec` (or `source` in its place, read as if it were there) for
    `backend` and import the result; `name` defaults to <spec stem>_<backend>; `standalone`: the
    runtime pasted in (see sciml compile --standalone)."""
    spec, folder = Path(spec), Path(folder or tempfile.mkdtemp(prefix="sciml-"))
    name = name or f"{spec.stem}_{backend}"
    text = compile_spec(source if source is not None else decode(spec.read_bytes()), str(spec), backend,
                        output=str(folder / f"{name}.py"), standalone=standalone)   # the module finds the spec's data files
    return import_text(text, name, folder)
