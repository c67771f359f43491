"""The backends, chosen by name from a typed registry (`BACKENDS`).

A backend is an emitter, `emit(model, source, source_name, spec_folder, standalone)`, returning
the text of a Python module for one array library.  The emitter is imported only when code is
emitted (`Backend.emitter()`), and neither it nor this registry imports torch or jax: only the
code they write does.  The shared writers are in `common/`; a backend contributes its spelling
(a sympy printer and `template.py`) and the half of `sciml.runtime` its modules bind.

To add one: a folder `sciml/backends/<name>/` with `emit`, a runtime half
`sciml/runtime/<name>.py` (its class in `sciml.runtime.CLASSES`), an extra in pyproject.toml with
what its modules import, and an entry below; `sciml compile --backend <name>` then offers it.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from sciml.runtime import CLASSES


@dataclass(frozen=True)
class Backend:
    name: str                   # what --backend says
    title: str                  # the library, for help texts
    module: str                 # the emitter, imported by `emitter()`
    runtime: str                # the runtime half its modules import: sciml/runtime/<runtime>.py
    extra: str                  # pip install sciml-compiler[<extra>]: what its modules import

    @property
    def runtime_class(self) -> str:
        """The class of `sciml.runtime.<runtime>` that an emitted module binds to itself."""
        return CLASSES[self.runtime]

    def emitter(self) -> ModuleType:
        return importlib.import_module(self.module)


BACKENDS: tuple[Backend, ...] = (
    Backend(name="torch", title="PyTorch", module="sciml.backends.torch", runtime="torch",
            extra="torch"),
    Backend(name="jax", title="JAX", module="sciml.backends.jax", runtime="jax",
            extra="jax"),
)
NAMES: tuple[str, ...] = tuple(b.name for b in BACKENDS)


def backend(name: str) -> Backend:
    """The backend called `name`; ValueError naming the backends there are for any other name."""
    for b in BACKENDS:
        if b.name == name:
            return b
    raise ValueError(f"unknown backend {name!r}; the backends are {', '.join(NAMES)}")
