"""The analysis: what the compiler says about a model, as diagnostics (docs/analysis.md).

It runs on the typed IR, after lowering has proved the spec complete and well-typed, and returns
findings; it never changes the model.  `analyse` runs the passes of `PASSES` in order, one file
of this folder each: a pass is `run(model, earlier, options) -> Found` (`found.py`), reading the
IR and what the passes before it found.  The findings are sorted by position at the end, so the
order of the list matters for what a pass reads, where a pass stops the analysis, and for two
findings with the same code at the same place (they keep the order they were found in).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sciml.analysis import (flows, implicit_part, reversible, sizes, stability_verdict, structure,
                            unused, wellposed)
from sciml.analysis.found import Found, Options
from sciml.frontend.diagnostics import Diagnostic, by_position
from sciml.lowering import ir


@dataclass(frozen=True)
class Pass:
    name: str
    run: Callable[[ir.Model, Found, Options], Found]
    final_on_error: bool = False    # an error it finds ends the analysis
    ode_only: bool = False          # it reads an ODE and its time integrator (ODE_KINDS)


# The model kinds whose right sides and time integrator the ODE passes read; the passes of the
# other families (PDE type, SDE schemes, ...) come with their code generation (issues 10 to 13).
ODE_KINDS = ("ode", "latent_ode", "cnf", "flow")


PASSES: tuple[Pass, ...] = (
    # The parameter count and the memory of a batch of states (A401), and what no machine could
    # hold or run (E231).  First, and final when it finds an error: a model too large to run gets
    # only its size errors, since the passes below would be slow on sizes nobody can run.
    Pass("sizes", sizes.run, final_on_error=True),
    # The Jacobian of each right side, networks kept symbolic as sigma(K u + b), matched against
    # the forms of the lecture notes (A101-A109).  Before the verdicts: they read its spectra.
    Pass("structure", structure.run, ode_only=True),
    # The scheme's stability region against each spectrum (A201-A205; A201 is an error unless
    # allow_unstable), with the bounds on learned weights that a runtime check evaluates.
    Pass("stability verdict", stability_verdict.run, ode_only=True),
    # IMEX's implicit part (A203).  After the verdicts, which judge its explicit part: both are
    # A203 notes on the scheme line, and the explicit part is read first.
    Pass("implicit part", implicit_part.run, ode_only=True),
    # Verlet and leapfrog undo each step exactly (A111), after the verdicts on the same line.
    Pass("reversible scheme", reversible.run, ode_only=True),
    # Coupling flows: triangular Jacobians, log-determinants, inverses, a half no layer changes
    # (A110-A112).  Independent of the scheme, so after the passes about it.
    Pass("flows", flows.run),
    # Declarations the loss never reads (A301-A303): what training cannot change.
    Pass("unused declarations", unused.run, ode_only=True),
    # Right sides too rough for the scheme's order (A304).  Last: a note on accuracy, not on
    # whether the model is right.
    Pass("smoothness", wellposed.run, ode_only=True),
)


@dataclass(frozen=True)
class Analysis:
    findings: tuple[Diagnostic, ...]      # sorted by position
    guards: tuple[ir.StabilityGuard, ...]  # bounds a runtime check can evaluate (A202)


def analyse(model: ir.Model, *, allow_unstable: bool = False) -> Analysis:
    """Every finding about `model`, and the step-size bounds that read learned weights."""
    options = Options(allow_unstable=allow_unstable)
    found = Found()
    for step in PASSES:
        if step.ode_only and model.kind not in ODE_KINDS:
            continue
        result = step.run(model, found, options)
        found = found + result
        if step.final_on_error and result.has_errors:
            break
    return Analysis(by_position(found.diagnostics), found.guards)
