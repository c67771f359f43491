"""Shared test helpers: compile a spec and import the emitted module."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from sciml.compiler.pipeline import compile_spec

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def zoo_specs(folder: str = "ode") -> list[Path]:
    return sorted((SPECS / folder).glob("*.sciml"))


def compile_file(spec: Path, backend: str) -> str:
    return compile_spec(spec.read_text(), str(spec), backend)


def load_module(text: str, name: str, tmp_path: Path):
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module


def compile_and_load(spec: Path, backend: str, tmp_path: Path):
    return load_module(compile_file(spec, backend), f"{spec.stem}_{backend}", tmp_path)
