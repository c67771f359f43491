"""The typed backend registry (sciml.backends): what the pipeline and the command line offer."""
import ast
import re
import subprocess
import sys
import tomllib

import pytest

from helpers import ROOT, SPECS
from sciml import backends
from sciml.cli import build_parser
from sciml.pipeline import compile_spec, emit, front_end
from sciml.runtime import source_text

SPEC = SPECS / "ode" / "antisym.sciml"


def test_names_are_unique_and_torch_is_the_default():
    assert len(set(backends.NAMES)) == len(backends.BACKENDS) >= 2
    assert backends.NAMES[0] == "torch"
    assert [backends.backend(n).name for n in backends.NAMES] == list(backends.NAMES)


def test_an_unknown_backend_is_refused_with_the_names():
    with pytest.raises(ValueError, match="unknown backend 'numpy'; the backends are torch, jax"):
        backends.backend("numpy")
    _, model, _ = front_end(SPEC.read_text(), str(SPEC))
    with pytest.raises(ValueError, match="unknown backend"):
        emit(model, SPEC.read_text(), str(SPEC), "numpy")


@pytest.mark.parametrize("command", ["compile", "run"])
def test_the_command_line_offers_the_registry(command):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    option = next(a for a in sub._actions if a.dest == "backend")
    assert tuple(option.choices) == backends.NAMES and option.default == backends.NAMES[0]
    with pytest.raises(SystemExit):
        parser.parse_args([command, str(SPEC), "--backend", "numpy"])


@pytest.mark.parametrize("entry", backends.BACKENDS, ids=lambda b: b.name)
def test_each_backend_binds_its_runtime_class(entry):
    """The emitted module imports the registered runtime half and binds its class, and that
    file of sciml/runtime defines the class (read as text: importing it would import torch)."""
    text = compile_spec(SPEC.read_text(), str(SPEC), entry.name)
    assert f"from sciml.runtime.{entry.runtime} import {entry.runtime_class}" in text
    assert f"_runtime = {entry.runtime_class}(sys.modules[__name__])" in text
    classes = {n.name for n in ast.parse(source_text(entry.runtime)).body if isinstance(n, ast.ClassDef)}
    assert entry.runtime_class in classes


@pytest.mark.parametrize("entry", backends.BACKENDS, ids=lambda b: b.name)
def test_each_backend_names_an_extra_of_the_package(entry):
    """pip install sciml-compiler[extra] installs the library the backend is named after."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert entry.extra in extras
    assert entry.name in {re.match(r"[A-Za-z0-9_.-]+", r).group() for r in extras[entry.extra]}


def test_the_registry_and_every_emitter_import_neither_torch_nor_jax():
    code = ("import sys; from sciml import backends\n"
            "for b in backends.BACKENDS: b.emitter()\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'jax', 'optax', 'diffrax', 'torchdiffeq')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
