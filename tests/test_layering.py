"""Imports go one way, the way the pipeline runs (sciml/README.md):

    frontend <- schemes <- lowering <- analysis <- backends, latex <- pipeline <- cli

Every module of sciml/ is parsed (ast, so nothing is imported) and each of its imports, at the
top or inside a function, is checked against `MAY_IMPORT`.  The runtime stands apart: the emitted
modules import it (or paste its text in, with --standalone), so it imports nothing else of sciml.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sciml"

FRONT = {"frontend"}
SCHEMES = FRONT | {"schemes"}      # the definitions of the integrators: the language's vocabulary
LOWERING = SCHEMES | {"lowering"}
MIDDLE = LOWERING | {"analysis"}
EMITTERS = MIDDLE | {"backends", "latex", "runtime"}
PIPELINE = EMITTERS | {"pipeline"}

# Each part of sciml/ (a folder, or a module at the top) and what it may import besides itself;
# "sciml" is the package itself (sciml/__init__.py: the version).
MAY_IMPORT = {
    "sciml": set(),
    "frontend": {"sciml"},
    "schemes": {"sciml"} | FRONT,
    "lowering": {"sciml"} | SCHEMES,
    "analysis": {"sciml"} | LOWERING,
    "runtime": set(),
    "backends": {"sciml"} | MIDDLE | {"runtime"},
    "latex": {"sciml"} | MIDDLE,
    "pipeline": {"sciml"} | EMITTERS,
    "modules": {"sciml"} | PIPELINE,                  # compile and import, for tests and examples
    "cli": {"sciml"} | PIPELINE | {"modules"},
    "__main__": {"cli"},
}

# Imports against the direction that are known and owned elsewhere: each must still be there (a
# test below), so that the entry goes when the import does.
# Imports against the direction that are known and owned elsewhere, with the reason (none left).
KNOWN: dict = {}


def part_of_file(path: Path) -> str:
    """The part a module of sciml/ belongs to: its folder, or the module's name at the top."""
    relative = path.relative_to(PACKAGE)
    if len(relative.parts) > 1:
        return relative.parts[0]
    return "sciml" if relative.stem == "__init__" else relative.stem


def _module_name(path: Path) -> str:
    parts = ("sciml",) + path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, source: str) -> list[tuple[int, str]]:
    """(line, module) for every import of a sciml module in `source`, relative ones resolved;
    `from sciml import cli` names sciml.cli, `from sciml import __version__` names sciml."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found += [(node.lineno, f"{module}.{alias.name}" if module == "sciml" else module)
                      for alias in node.names]
    return [(line, m) for line, m in found if m == "sciml" or m.startswith("sciml.")]


def part_of_module(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] not in MAY_IMPORT:
        return "sciml"
    return parts[1]


def violations(path: Path, source: str) -> list[tuple[str, int, str]]:
    """(file, line, module) for each import of `source` (the text of sciml file `path`) that goes
    against the direction."""
    part = part_of_file(path)
    allowed = MAY_IMPORT[part] | {part}
    name = path.relative_to(PACKAGE).as_posix()
    return [(name, line, module) for line, module in imported_modules(path, source)
            if part_of_module(module) not in allowed]


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_place_in_the_layers():
    unplaced = sorted({part_of_file(p) for p in MODULES} - set(MAY_IMPORT))
    assert not unplaced, f"new parts of sciml/ to place in MAY_IMPORT: {unplaced}"


def test_imports_go_one_way():
    found = [v for p in MODULES for v in violations(p, p.read_text(encoding="utf-8"))]
    wrong = [f"sciml/{name}:{line} imports {module}" for name, line, module in found
             if (name, module) not in KNOWN]
    assert not wrong, "imports against the direction of the pipeline:\n" + "\n".join(wrong)


@pytest.mark.parametrize("name, source, expected", [
    ("frontend/parser.py", "from sciml.lowering import ir", ["sciml.lowering"]),
    ("lowering/lower.py", "def f():\n    from sciml.analysis.passes import analyse",
     ["sciml.analysis.passes"]),
    ("lowering/ir.py", "from ..backends import torch", ["sciml.backends"]),
    ("analysis/passes.py", "import sciml.cli\nfrom sciml import cli", ["sciml.cli", "sciml.cli"]),
    ("runtime/torch.py", "from sciml import __version__", ["sciml.__version__"]),
    ("backends/torch/__init__.py", "from sciml.latex.writer import to_latex", ["sciml.latex.writer"]),
    ("analysis/structure.py", "from . import stability\nfrom .jacobian import terms\n"
     "from sciml.lowering import ir\nfrom sciml.schemes import lower_scheme", []),
    ("cli.py", "from sciml.pipeline import emit\nfrom sciml import __version__", []),
])
def test_the_check_finds_an_import_against_the_direction(name, source, expected):
    assert [m for _, _, m in violations(PACKAGE / name, source)] == expected
