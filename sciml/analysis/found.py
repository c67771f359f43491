"""What an analysis pass is given and what it returns (the passes are listed in `passes.py`).

A pass is a function `run(model, earlier, options) -> Found`: it reads the typed IR, what the
passes before it found (`earlier`) and the options of the run, and returns its own findings,
with the facts that later passes read (the structures for the stability verdict, say).  It never
changes the model.
"""
from __future__ import annotations

from dataclasses import dataclass

from sciml.analysis.jacobian.forms import Structure
from sciml.frontend.diagnostics import Diagnostic
from sciml.lowering import ir


@dataclass(frozen=True)
class Options:
    allow_unstable: bool = False   # an unstable scheme (A201) is a warning, not an error


@dataclass(frozen=True)
class Found:
    """Findings in the order the passes found them, and the facts later passes read."""

    diagnostics: tuple[Diagnostic, ...] = ()
    structures: tuple[Structure, ...] = ()        # structure.py: one per equation, or per pair
    guards: tuple[ir.StabilityGuard, ...] = ()    # stability_verdict.py: bounds a runtime check evaluates

    def __add__(self, later: "Found") -> "Found":
        return Found(self.diagnostics + later.diagnostics, self.structures + later.structures,
                     self.guards + later.guards)

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)
