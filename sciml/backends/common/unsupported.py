"""What the emitters cannot write yet: E901, naming the construct, raised before any code is
written.  The front end checks every statement of every family (`sciml check` passes on the
whole zoo); code generation follows family by family (issues 10 to 13), and this list
shrinks as it does."""
from __future__ import annotations

from sciml.backends.common import pinn_code
from sciml.frontend.diagnostics import SpecError, error
from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.schemes import registry

GENERATED_KINDS = ("ode", "flow", "pinn", "grid_pde")
PLANNED = {   # kind: what is missing, the issue that brings it
    "grid_pde": ("the method of lines", 11),
    "sde": ("SDE integrators (Euler-Maruyama, Milstein)", 12),
    "bsde": ("forward-backward SDEs (deep BSDE)", 12),
    "diffusion": ("score-based diffusion models", 12),
    "cnf": ("continuous normalizing flows", 13),
    "vae": ("variational autoencoders (the ELBO)", 13),
    "bayes": ("Bayesian networks (weight posteriors)", 13),
    "latent_ode": ("latent ODEs (an encoder, a latent ODE and a decoder)", 13),
}
UNWRITTEN_DATA = ("digits", "ou_paths", "field", "pde")
GRID_DATA = ("field", "pde")   # data on a grid: the method of lines reads them


def check_emittable(model: ir.Model):
    """Raise SpecError with one E901 per construct the emitters cannot write yet."""
    found = []
    if model.kind not in GENERATED_KINDS:
        what, issue = PLANNED[model.kind]
        span = model.scheme.span if model.scheme is not None else model.loss_span
        found.append(error("E901", f"code generation for models of kind {model.kind} is not "
                           f"supported yet: {what}", span,
                           f"sciml check checks the whole spec; the code for it comes with issue {issue}"))
    elif model.kind == "pinn":
        found += [_e901(what, span) for what, span in pinn_code.unsupported(model)]
    elif model.kind == "grid_pde":
        found += [_e901(what, span) for what, span in grid_unsupported(model)] + _in_ode_models(model)
    else:
        found += _in_ode_models(model)
    if found:
        raise SpecError(found)


def _in_ode_models(model: ir.Model) -> list:
    found = []
    for dataset in model.datasets:
        if dataset.generator in UNWRITTEN_DATA and not (model.kind == "grid_pde" and dataset.generator in GRID_DATA):
            found.append(_e901(f"the '{dataset.generator}' data generator", dataset.span))
    for parameter in model.parameters:
        if parameter.init.kind == "uniform":
            found.append(_e901("parameters drawn from uniform(low, high)", parameter.span))
    for net in model.networks:
        if net.index:
            found.append(_e901("networks per time step", net.span))
        if net.batchnorm:
            found.append(_e901("batch normalization", net.span))
    for equation in model.equations:
        if any(str(s) == "t" for s in equation.rhs.free_symbols):
            found.append(_e901("explicit time t in a right-hand side", equation.span))
        if equation.rhs.has(F.NetDivergence, F.NetJacobian):
            found.append(_e901("the divergence and Jacobian of a network", equation.span))
    return found


def grid_unsupported(model: ir.Model) -> list:
    """[(what, span)] of what the method-of-lines writer cannot write yet."""
    found = []
    space = [c for c in model.domain if c.name != "t"]
    if len(space) != 1:
        found.append((f"grids in {len(space)} space dimensions (the method of lines is written in 1-D)",
                      model.scheme.span))

    for condition in model.conditions:
        if condition.section == "boundary" and condition.value.free_symbols:
            found.append(("boundary values that change in time on a grid", condition.span))
    for equation in model.equations:
        if equation.rhs.has(F.SpaceGradient) or any(
                isinstance(e, F.Divergence) and len(e.args) > 2 for e in equation.rhs.atoms(F.Divergence)):
            found.append(("gradients and divergences in several dimensions on a grid", equation.span))
    return found


def _e901(what, span):
    plural = what.split(" (")[0].endswith("s")
    return error("E901", f"{what} {'are' if plural else 'is'} not supported yet", span,
                 "sciml check checks it; code generation for it is planned (see README)")
