"""What the emitters cannot write yet: E901, naming the construct, raised before any code is
written.  The front end checks every statement of every family (`sciml check` passes on the
whole zoo); code generation follows family by family (issues 10 to 13), and this list
shrinks as it does."""
from __future__ import annotations

import sympy

from sciml.backends.common.pinn_code import derivative_order
from sciml.backends.common.pinn_fields import FieldTerms
from sciml.backends.common.bayes_code import bayes_unsupported
from sciml.backends.common.cnf_code import cnf_unsupported
from sciml.backends.common.jacobian_code import unsupported as derivatives_unsupported
from sciml.backends.common.score_code import diffusion_unsupported
from sciml.backends.common.taylor_code import TAYLOR_ORDER
from sciml.backends.common.vae_code import vae_unsupported
from sciml.frontend.diagnostics import SpecError, error
from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.lowering import symbols as S

GENERATED_KINDS = ("ode", "flow", "pinn", "grid_pde", "sde", "bsde", "diffusion", "cnf", "vae", "latent_ode",
                   "bayes")
UNWRITTEN_DATA = ("field", "pde")
GRID_DATA = ("field", "pde")   # data on a grid: the method of lines reads them


def check_emittable(model: ir.Model):
    """Raise SpecError with one E901 per construct the emitters cannot write yet."""
    found = []
    assert model.kind in GENERATED_KINDS, model.kind   # every kind of kinds.py has a writer
    if model.kind == "pinn":
        found += [_e901(what, span) for what, span in pinn_unsupported(model)]
    elif model.kind == "diffusion":
        found += [_e901(what, span) for what, span in diffusion_unsupported(model)]
    elif model.kind == "bayes":
        found += _in_ode_models(model) + [_e901(what, span) for what, span in bayes_unsupported(model)]
    elif model.kind == "vae":
        found += _in_ode_models(model) + [_e901(what, span) for what, span in vae_unsupported(model)]
    elif model.kind == "grid_pde":
        found += [_e901(what, span) for what, span in grid_unsupported(model)] + _in_ode_models(model)
    else:
        found += _in_ode_models(model) + [_e901(what, span) for what, span in sde_unsupported(model)]
    if found:
        raise SpecError(found)


def _in_ode_models(model: ir.Model) -> list:
    found = []
    for dataset in model.datasets:
        if dataset.generator in UNWRITTEN_DATA and not (model.kind == "grid_pde" and dataset.generator in GRID_DATA):
            found.append(_e901(f"the '{dataset.generator}' data generator", dataset.span))
    for net in model.networks:
        if net.index and not model.noises:
            found.append(_e901("networks per time step in an ODE (they are written for SDEs)", net.span))
        if net.batchnorm and not net.index:
            found.append(_e901("batch normalization in a network that is not per time step", net.span))
    found += [_e901(what, span) for what, span in derivatives_unsupported(model) + cnf_unsupported(model)]
    return found


def sde_unsupported(model: ir.Model) -> list:
    """[(what, span)] of what the SDE writer (noise_code.py) cannot write yet."""
    found = []
    if not model.noises:
        return found
    for report in model.reports:
        if report.expr.has(S.StateAt):
            found.append(("reports of the states of an SDE (the reports draw no paths; put them in "
                          "the loss)", report.span))
    from sciml.backends.common.step_networks import one_call_each
    from sciml.schemes import registry
    from sciml.schemes.algebra import Value
    found += one_call_each(model)
    definition = registry.definition_of(model.scheme)
    one_stage = len(definition.step) == 1 and all(v.offset == 0 for v in definition.step[0].value.atoms(Value))
    if not one_stage:
        found += [("networks per step in a scheme of several stages", net.span) for net in model.networks if net.index]
    for expr in [model.loss] + [r.expr for r in model.reports]:
        if any(str(a.args[1]) == "all" for a in expr.atoms(F.StdOver)):
            found.append(("std(...) over all entries (name the axis: std(X(T), over = paths))", model.loss_span))
    return found


def grid_unsupported(model: ir.Model) -> list:
    """[(what, span)] of what the method-of-lines writer cannot write yet."""
    from sciml.schemes import registry
    found = []
    space = [c for c in model.domain if c.name != "t"]
    if len(space) > 2:
        found.append((f"grids in {len(space)} space dimensions (the method of lines is written in 1-D "
                      "and 2-D)", model.scheme.span))
    if len(space) == 2:
        if registry.definition_of(model.scheme.time).matrix_options and not any(
                eq.rhs.has(F.Laplacian) for eq in model.equations):
            found.append(("implicit diffusion (IMEX) on a 2-D grid other than kappa * lap(u)",
                          model.scheme.time.span))
    for condition in model.conditions:
        if condition.section == "boundary" and condition.value.free_symbols:
            found.append(("boundary values that change in time on a grid", condition.span))
    for equation in model.equations:
        if equation.rhs.has(F.SpaceGradient):
            found.append(("gradients in several dimensions on a grid", equation.span))
        if any(_mixed(e) for e in equation.rhs.atoms(F.Partial)):
            found.append(("mixed derivatives such as d(u, x, y), and third and higher derivatives, on "
                          "a grid", equation.span))
    return found


def _mixed(partial) -> bool:
    """Whether a (nested) derivative is in two coordinates, or of order three or more."""
    wrt, inner = [], partial
    while isinstance(inner, F.Partial):
        inner, wrt = inner.args[0], wrt + [inner.args[1]]
    return len(set(wrt)) > 1 or len(wrt) > 2


def _e901(what, span):
    plural = what.split(" (")[0].endswith("s")
    return error("E901", f"{what} {'are' if plural else 'is'} not supported yet", span,
                 "sciml check checks it; code generation for it is planned (see README)")


def data_symbols(model: ir.Model) -> set:
    return {sympy.Symbol(f"{d.name}.{f.name}") for d in model.datasets for f in d.fields}


def pinn_unsupported(model: ir.Model) -> list:
    """[(what, span)] of what the PINN writer (pinn_code.py) cannot write yet."""
    found = []
    for d in model.datasets:
        if d.generator not in ("field_samples", "load"):
            found.append((f"the '{d.generator}' data generator in a PINN model (observations are "
                          "generate field(...) or a file)", d.span))
    for q in model.parameters:
        if q.per_step or q.init.kind == "uniform":
            found.append(("per-step or uniformly drawn parameters in a PINN model", q.span))
    for net in model.networks:
        if not net.field or net.layers or net.index or net.batchnorm or net.widths[-1] != 1:
            found.append(("a network in a PINN model that is not a scalar field MLP", net.span))
    for residual in model.residuals:
        terms = FieldTerms(model)
        terms.read(residual.expr)
        found += [(what, residual.span) for what in dict.fromkeys(terms.problems)]
        top = max((derivative_order(key) for keys in terms.used.values() for key in keys), default=0)
        if model.scheme.derivatives == "taylor" and top > TAYLOR_ORDER:
            found.append((f"Taylor-mode derivatives of order {top} (written to order {TAYLOR_ORDER}; "
                          "derivatives = autodiff takes any order)", model.scheme.span))
    for condition in model.conditions:
        if condition.points is None and not condition.hard:
            found.append(("a condition without points", condition.span))
        elif condition.lhs.has(F.SpaceGradient, F.Divergence):
            found.append(("a condition on the gradient or divergence of a field (write its "
                          "derivatives one by one)", condition.span))
        elif condition.lhs.has(F.Partial, F.Laplacian):
            terms = FieldTerms(model)
            terms.read(condition.lhs)
            found += [(what, condition.span) for what in dict.fromkeys(terms.problems)]
    # the PINN terms, and fits to observations: mse(u(train.x, train.t), train.u)
    allowed = (F.Residual, F.ConditionFit, F.RitzEnergy, S.MeanSquaredError, S.MeanOf, S.SumOf)
    outer = model.loss.replace(lambda e: isinstance(e, (F.Residual, F.ConditionFit, F.RitzEnergy)),
                               lambda e: sympy.Symbol("~term"))
    for call in outer.atoms(S.NetCall):
        net = next(n for n in model.networks if n.name == str(call.args[0]))
        data = data_symbols(model)
        if not all(a.free_symbols and a.free_symbols <= data for a in call.args[1:]):
            found.append((f"{net.name}(...) in the loss at other than observed coordinates", model.loss_span))
    kinds = {type(a) for a in model.loss.atoms(sympy.Function)}
    inside = set()
    for atom in model.loss.atoms(F.RitzEnergy):
        terms = FieldTerms(model)
        terms.read(atom.args[0])
        found += [(what, model.loss_span) for what in dict.fromkeys(terms.problems)]
        inside |= {type(a) for a in atom.args[0].atoms(sympy.Function)}
    outside = {k for k in kinds - inside if issubclass(k, S.ArrayOp) and k not in allowed + (S.NetCall,)}
    for kind in sorted(outside, key=lambda k: k.__name__):
        found.append((f"{kind.__name__} in the loss of a PINN model", model.loss_span))
    for report in model.reports:
        if not isinstance(report.expr, F.RelativeL2) or len(report.expr.args) != 2:
            found.append(("reports other than rel_l2(u, exact) in a PINN model", report.span))
    return found
