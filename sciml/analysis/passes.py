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

from sciml.analysis import (cnf_density, elbo, flows, grid_convolutions, grid_stability, implicit_part, pde_condition_clash, pde_conditions,
                            pde_smoothness, pde_type, reversible, ritz, sde_noise, sde_stability, sizes,
                            stability_verdict, structure, unused, wellposed)
from sciml.analysis.found import Found, Options
from sciml.frontend.diagnostics import Diagnostic, by_position
from sciml.lowering import ir


@dataclass(frozen=True)
class Pass:
    name: str
    run: Callable[[ir.Model, Found, Options], Found]
    final_on_error: bool = False    # an error it finds ends the analysis
    ode_only: bool = False          # it reads an ODE and its time integrator (ODE_KINDS)
    kinds: tuple = ()               # only for these model kinds (empty: every kind)


# The model kinds whose right sides and time integrator the ODE passes read.
ODE_KINDS = ("ode", "latent_ode", "cnf", "flow")
# The kinds whose fields the PDE passes read (a domain, pde lines or a Ritz energy, conditions).
PDE_KINDS = ("pinn", "grid_pde")
# The kinds whose sde lines (drift and diffusion) and stochastic scheme the SDE passes read.
SDE_KINDS = ("sde", "bsde", "diffusion")


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
    # A continuous flow's log-density ODE with its trace estimator, and RNODE's regularizers
    # (A113), at their equations.
    Pass("cnf log-density", cnf_density.run, kinds=("cnf",)),
    # A VAE's bound: its reconstruction and KL terms, the reparameterization, the IWAE reports (A114).
    Pass("elbo", elbo.run, kinds=("vae",)),
    # A network too rough for the derivatives a residual takes of it (E270, an error): first of
    # the PDE passes, since a residual that drops its second-order term is the wrong equation.
    Pass("pde smoothness", pde_smoothness.run, kinds=PDE_KINDS),
    # The type of each PDE's principal part, and of a Ritz energy's Euler-Lagrange equation
    # (A501); then the Euler-Lagrange equation itself with its natural condition (A505), at
    # the same loss term after its type.
    Pass("pde type", pde_type.run, kinds=PDE_KINDS),
    Pass("ritz energy", ritz.run, kinds=PDE_KINDS),
    # The method of lines: the time integrator against the spectrum of the semi-discrete
    # operator (A201-A205 at `time = ...`), with the bounds on a learned D or a network's speed
    # that a runtime check evaluates.  After the type: a backward heat equation is first a
    # warning about the PDE, then an unstable step.
    Pass("grid step bound", grid_stability.run, kinds=("grid_pde",)),
    # The operator each conv(K, u) approximates, in its weights, or identified (A509): a note
    # at the pde line, after its type.
    Pass("grid convolutions", grid_convolutions.run, kinds=("grid_pde",)),
    # Two conditions with one left side on one face: repeated (A508) or contradictory (E271).
    # Before the counts, which read each line as one condition.
    Pass("pde condition clash", pde_condition_clash.run, kinds=PDE_KINDS),
    # Initial and boundary conditions counted against the orders in t and in space, and against
    # the characteristic directions at each face (A502-A504, A506, A507).
    Pass("pde conditions", pde_conditions.run, kinds=PDE_KINDS),
    # The SDE's noise: additive or state-dependent, with the strong order that follows (A601, at
    # each sde line), and the sense, Itô or Stratonovich, the scheme reads it in (A602, at the
    # scheme line).  Before the mean-square verdict, which reads the same diffusions: the model
    # first, then the step.
    Pass("sde noise", sde_noise.run, kinds=SDE_KINDS),
    # Mean-square stability of the stochastic step on a linear sde dX = a X dt + b X dW (A206,
    # an error when h breaks the bound unless allow_unstable; A205 where no verdict).
    Pass("sde mean-square stability", sde_stability.run, kinds=SDE_KINDS),
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
        if step.kinds and model.kind not in step.kinds:
            continue
        result = step.run(model, found, options)
        found = found + result
        if step.final_on_error and result.has_errors:
            break
    return Analysis(by_position(found.diagnostics), found.guards)
