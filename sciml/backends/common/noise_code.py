"""The noise of an SDE model in the emitted module: the Brownian increments drawn in numpy, the
diffusion functions, and the noise terms of a stochastic scheme's stages.

Every training step draws the increments of all its paths with numpy from default_rng([seed,
step]) (`draw_batch`, the runtime adds them to the batch), so the torch and JAX modules see the
same paths and the loss is a pure function of (parameters, batch).  The increments of noise W
are one array `dW` of shape (N_STEPS, m, PATHS), m the entries of W.  The scheme's noise slot
prints as `dX_dW(X, p) * dW[j]`, the diffusion coefficient of the sde line (lowering/
diffusion.py) times the step's increments, or, for a diffusion that is not a coefficient times
dW (a matrix times dW, dot(g, dW)), as `dX_noise(X, p, dW[j])`; Milstein's correction as
`gdg_X(X, p) * (dW[j]**2 - h)`, with gdg_X = 1/2 g g', g' derived by sympy.  A Stratonovich sde
(`ito = false`) is integrated in its Ito form, its drift f + 1/2 g g' derived the same way.
"""
from __future__ import annotations

import dataclasses

import sympy

from sciml.backends.common.quoting import literal
from sciml.frontend.diagnostics import SpecError
from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.analysis import sde_terms
from sciml.analysis.sde_noise import ito_drift
from sciml.lowering.diffusion import (STRATONOVICH, NotDiagonal, corrected_scheme, milstein_correction,
                                     noise_terms, not_diagonal_error)
from sciml.schemes import registry
from sciml.schemes.algebra import NoiseCorrection


def ito_form(model: ir.Model) -> ir.Model:
    """The model with a Stratonovich sde's drift replaced by its Ito drift f + 1/2 g g'
    (unchanged for an Ito sde); E408 where g g' cannot be derived."""
    scheme = model.time_integrator
    if scheme is None or scheme.option("ito", True):
        return model
    diffusions = sde_terms.diffusions(model)
    equations = tuple(dataclasses.replace(eq, rhs=_derived(lambda e, m: ito_drift(m, e, diffusions), eq, model,
                                                           *STRATONOVICH))
                      for eq in model.equations)
    return dataclasses.replace(model, equations=equations)


def _derived(derive, equation, model, why, otherwise):
    try:
        return derive(equation, model)
    except NotDiagonal as exc:
        raise SpecError([not_diagonal_error(equation, why, otherwise, exc)]) from None


class NoiseWriter:
    """The increments, the diffusion functions and the noise terms of one SDE model."""

    def __init__(self, writer):
        self.w, self.m = writer, writer.m
        scheme = self.m.time_integrator
        self.definition = registry.definition_of(scheme)
        self.paths = scheme.option("paths", 1)
        names = writer.names
        self.increments = {n.name: writer.fresh(f"d{names[n.name]}") for n in self.m.noises}
        self.sizes = {n.name: (n.shape[0] if n.shape else 1) for n in self.m.noises}
        self.terms, self.corrections = {}, {}
        corrected = any(stage.value.has(NoiseCorrection) for stage in self.definition.step)
        for eq in self.m.equations:
            state = names[eq.state]
            terms = noise_terms(eq)
            if terms is not None and len(terms) == 1:
                self.terms[eq.state] = ("coefficient", terms[0].noise, terms[0].coefficient,
                                        writer.fresh(f"d{state}_d{names[terms[0].noise]}"))
            elif eq.diffusion != 0:
                self.terms[eq.state] = ("diffusion", None, eq.diffusion, writer.fresh(f"d{state}_noise"))
            if corrected:   # the stages add 1/2 g g' (dW^2 - h)
                correction = _derived(milstein_correction, eq, self.m, *corrected_scheme(self.definition))
                if correction != 0:
                    self.corrections[eq.state] = (correction, writer.fresh(f"gdg_{state}"))
        for net in sorted({str(g.args[0]) for c, _ in self.corrections.values() for g in c.atoms(S.NetGrad)}):
            if net not in writer.gradients:   # g' of a network g: its gradient, written by hand
                writer.gradients.append(net)
                writer.names[f"grad {net}"] = writer.fresh(f"grad_{names[net]}")

    # -- the numpy half ---------------------------------------------------------------------------
    def numpy_lines(self) -> list[str]:
        """PATHS and draw_batch: the increments of every path, drawn with numpy from the seed."""
        draws = ", ".join(f"{literal(self.increments[n])}: rng.normal(0.0, np.sqrt(h), "
                          f"size=(N_STEPS, {self.sizes[n]}, PATHS))" for n in sorted(self.increments))
        return [f"PATHS = {self.paths}  # simulated paths per training step (the scheme's paths option)",
                "", "",
                "def draw_batch(seed, step):",
                '    """The Brownian increments of training step `step`, from default_rng([seed, step]):',
                '    dW[j] ~ N(0, h) for each time step j, entry and path, fresh every training step."""',
                "    rng = np.random.default_rng([seed, step])",
                f"    return {{{draws}}}"]

    def batch_arguments(self, batch: str = "batch") -> list[str]:
        return [f"{batch}[{literal(self.increments[n])}]" for n in sorted(self.increments)]

    def like(self, batch: str = "batch") -> str:
        """An array with the paths on its last axis: the first step's increments."""
        return self.batch_arguments(batch)[0] + "[0]"

    # -- functions --------------------------------------------------------------------------------
    def functions(self) -> list[str]:
        """def dX_dW(...): the diffusion coefficient; def gdg_X(...): Milstein's 1/2 g g'."""
        w, lines = self.w, []
        for eq in self.m.equations:
            if eq.state in self.terms:
                kind, noise, expr, name = self.terms[eq.state]
                args = w.rhs_args(eq, expr)
                if kind == "diffusion":
                    expr = expr.xreplace({F.Increment(sympy.Symbol(n)): sympy.Symbol(f"increment {n}")
                                          for n in self.increments})
                    args += [self.increments[n] for n in sorted(self.increments) if eq.diffusion.has(
                        F.Increment(sympy.Symbol(n)))]
                said = "its diffusion, linear in the increments" if kind == "diffusion" else \
                    f"its diffusion coefficient g, times d{w.names[noise]} in the step"
                lines += [f"def {name}({', '.join(args)}):",
                          f'    """The sde of {w.names[eq.state]}: {said}."""', *w.time_lines(args, expr),
                          f"    return {w.code(expr, self._names())}", "", ""]
            if eq.state in self.corrections:
                expr, name = self.corrections[eq.state]
                args = w.rhs_args(eq, expr)
                lines += [f"def {name}({', '.join(args)}):",
                          f'    """Milstein\'s 1/2 g g\' for {w.names[eq.state]} (g\' derived by sympy), '
                          'the factor of (dW^2 - h)."""', *w.time_lines(args, expr),
                          f"    return {w.code(expr, self._names())}", "", ""]
        return lines

    def _names(self) -> dict:
        return {**self.w.names, **{f"increment {n}": code for n, code in self.increments.items()}}

    # -- the stages' noise terms --------------------------------------------------------------------
    def increment(self, noise: str, step: str) -> str:
        name = self.increments[noise]
        return self.w.step_values.get(name, f"{name}[{step}]") if step == "j" else f"{name}[{step}]"

    def noise_call(self, eq: ir.Equation, values: dict, step: str) -> str:
        if eq.state not in self.terms:
            return "0"
        kind, noise, expr, name = self.terms[eq.state]
        if kind == "coefficient":
            return f"{self.w.call(eq, values, step, name=name, expr=expr)} * {self.increment(noise, step)}"
        used = [self.increment(n, step) for n in sorted(self.increments)
                if eq.diffusion.has(F.Increment(sympy.Symbol(n)))]
        return self.w.call(eq, values, step, name=name, expr=expr, extra=used)

    def correction_call(self, eq: ir.Equation, values: dict, step: str) -> str:
        if eq.state not in self.corrections:
            return "0"
        expr, name = self.corrections[eq.state]
        noise = self.terms[eq.state][1]
        increment = self.increment(noise, step)
        return f"{self.w.call(eq, values, step, name=name, expr=expr)} * ({increment}**2 - h)"
