"""The size pass: how many parameters a model trains and how much memory its states take
(A401, a note), and what no machine could hold or run (E231, an error; limits in `limits.py`).

The counts are those of the emitted module: a per-step parameter K(t) has one copy per step, a
network of a flow's coupling layers one set of weights per layer, an mlp(a -> b -> c) has
a*b + b + b*c + c weights.  The states of one batch are what the forward pass holds at each grid
point (autograd keeps them for the backward pass): state entries per sample x batch, times the
grid points of a fixed-step scheme (one step with Verlet's memory = recompute; an adaptive scheme
chooses its steps).  The batch is the largest of the training stages (batch = 0: the whole training set).
On a grid (the method of lines) each state holds one value per unknown node: N per space axis,
less the two Dirichlet ends."""
from __future__ import annotations

import math

from sciml.analysis.found import Found, Options
from sciml.frontend.diagnostics import Diagnostic, finding
from sciml.lowering import ir
from sciml.lowering.limits import (MAX_BYTES, MAX_SAMPLES, MAX_STEPS, bytes_text, size_text)
from sciml.schemes import registry

CODE_NOTE, CODE_ERROR = "A401", "E231"
FLOAT32, FLOAT64 = 4, 8


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    """The size note and every size error of `model`."""
    errors = _count_errors(model)
    parameters = [(_parameter_count(model, p), p.name, p.span) for p in model.parameters]
    parameters += [(_network_count(n), n.name, n.span) for n in model.networks]
    total = sum(count for count, _, _ in parameters)
    # a step count beyond the limit is said once, not again as per-step weights or states
    too_many_steps = model.time_integrator is not None and model.time_integrator.steps > MAX_STEPS
    per_step = any(p.per_step for p in model.parameters)
    if total * FLOAT32 > MAX_BYTES and not (too_many_steps and per_step):
        count, name, span = max(parameters, key=lambda p: p[0])
        errors.append(_too_large(
            f"the model has {size_text(total)} parameters: {bytes_text(total * FLOAT32)} in float32, "
            f"more than the limit of {bytes_text(MAX_BYTES)}", span,
            f"'{name}' alone has {size_text(count)}; use smaller widths, dimensions or fewer steps "
            "for per-step parameters"))
    batch = _batch(model)
    nodes = _unknown_nodes(model)
    per_sample = sum(math.prod(s.shape) for s in model.states) * (nodes or 1)
    grid = _grid_points(model)
    states = None
    if model.states and batch is not None:
        states = per_sample * batch * FLOAT32
        if states * (grid or 1) > MAX_BYTES and not too_many_steps:
            largest = max(model.states, key=lambda s: math.prod(s.shape))
            over = f" over the {size_text(grid)} grid points" if grid else ""
            span = largest.span if states > MAX_BYTES or model.time_integrator is None else model.time_integrator.span
            errors.append(_too_large(
                f"one batch of {_samples(batch)} holds {bytes_text(states * (grid or 1))} of "
                f"states{over} in float32, more than the limit of {bytes_text(MAX_BYTES)}", span,
                "use fewer steps, smaller states or a smaller batch (train adam(..., batch = 128))"))
    errors += _data_errors(model)
    return Found(tuple(errors + [_note(model, total, per_sample, batch, states, grid)]))


def _too_large(message: str, span, help: str) -> Diagnostic:
    return finding(CODE_ERROR, "error", message, span,
                   help + "; see Limits in docs/language.md")


def _count_errors(model: ir.Model) -> list[Diagnostic]:
    """Step and sample counts beyond the limits: a scheme, the training stages, data sets."""
    out = []
    scheme = model.time_integrator
    if scheme is not None and scheme.steps > MAX_STEPS:
        out.append(_too_large(f"the scheme takes {size_text(scheme.steps)} steps, more than the "
                              f"limit of {size_text(MAX_STEPS)}", scheme.span,
                              "use fewer, larger steps, or " + " or ".join(registry.adaptive())
                              + " (adaptive steps)"))
    for stage in model.training:
        if stage.steps > MAX_STEPS:
            out.append(_too_large(f"{stage.optimizer} takes {size_text(stage.steps)} training steps, "
                                  f"more than the limit of {size_text(MAX_STEPS)}", stage.span,
                                  "train for fewer steps (the emitted module's --steps sets them too)"))
        if stage.batch > MAX_SAMPLES:
            out.append(_too_large(f"a batch of {size_text(stage.batch)} samples is more than the "
                                  f"limit of {size_text(MAX_SAMPLES)}", stage.span,
                                  "batch = 0 takes every sample of the training set"))
    for data in model.datasets:
        samples, steps = data.option("samples", 0), data.option("steps", 0)
        if samples > MAX_SAMPLES:
            out.append(_too_large(f"data set '{data.name}' asks for {size_text(samples)} samples, "
                                  f"more than the limit of {size_text(MAX_SAMPLES)}", data.span,
                                  "generate fewer samples"))
        if steps > MAX_STEPS:
            out.append(_too_large(f"data set '{data.name}' is simulated with {size_text(steps)} "
                                  f"steps, more than the limit of {size_text(MAX_STEPS)}", data.span,
                                  "give fewer steps = N"))
    return out


def _data_errors(model: ir.Model) -> list[Diagnostic]:
    out = []
    for data in model.datasets:
        size = _data_bytes(data)
        if size is not None and size > MAX_BYTES and data.option("samples", 0) <= MAX_SAMPLES:
            out.append(_too_large(f"data set '{data.name}' takes {bytes_text(size)} in float64, "
                                  f"more than the limit of {bytes_text(MAX_BYTES)}", data.span,
                                  "generate fewer samples or smaller states"))
    return out


def _data_bytes(data: ir.DataSet) -> int | None:
    """What numpy holds for a generated data set (float64); None for a file (its size is its own)."""
    if data.generator == "load":
        return None
    samples = data.option("samples", 1) if data.batched else 1
    return samples * sum(math.prod(f.shape) for f in data.fields) * FLOAT64


def _parameter_count(model: ir.Model, p: ir.Parameter) -> int:
    copies = model.time_integrator.steps if p.per_step and model.time_integrator is not None else 1
    return math.prod(p.shape) * copies


def _network_count(net: ir.Network) -> int:
    """Its trainable entries: a set per coupling layer, per step or per ensemble member; a weight
    posterior has a mean and a spread (rho) per weight; batch normalization's scale and shift at
    the input and after each layer take the place of the biases."""
    pairs = list(zip(net.widths[:-1], net.widths[1:]))
    if net.batchnorm:
        weights = sum(a * b for a, b in pairs) + 2 * sum(net.widths)
    else:
        weights = sum(a * b + b for a, b in pairs)
    return weights * max(net.copies, 1) * (2 if net.posterior else 1)


def _training_samples(model: ir.Model) -> int | None:
    data = model.dataset(model.training_set) if model.training_set else None
    if data is None:
        return 1          # no data in the loss: the states start from constants, one sample
    if data.generator == "load":
        return None
    return data.option("samples", 1) if data.batched else 1


def _batch(model: ir.Model) -> int | None:
    """The largest batch of the training stages; None when it is the whole of a data file.  The
    states of a stochastic scheme are its simulated paths (`paths = P`), whatever the data."""
    scheme = model.time_integrator
    if scheme is not None and scheme.option("paths") is not None:
        return scheme.option("paths")
    samples = _training_samples(model)
    sizes = []
    for stage in model.training:
        if stage.batch and (samples is None or stage.batch < samples):
            sizes.append(stage.batch)
        elif samples is None:
            return None
        else:
            sizes.append(samples)
    return max(sizes, default=samples)


def _grid_points(model: ir.Model) -> int | None:
    """The grid points whose states the forward pass keeps; None where no grid is fixed."""
    scheme = model.time_integrator
    if scheme is None or (registry.family(scheme.kind) and registry.definition_of(scheme).adaptive):
        return None   # (the stochastic schemes have fixed steps; their definitions come with issue 12)
    if scheme.option("memory") == "recompute":
        return 1
    return scheme.steps + 1


def _unknown_nodes(model: ir.Model) -> int | None:
    """The values per state of a method-of-lines grid: N per space axis, less its Dirichlet ends
    (not unknowns); None for a model without a grid."""
    from sciml.lowering.method_of_lines import grid_of
    if not isinstance(model.scheme, ir.MethodOfLines):
        return None
    return grid_of(model).unknowns


def _samples(count: int) -> str:
    return f"{size_text(count)} sample{'s' if count != 1 else ''}"


def _note(model, total, per_sample, batch, states, grid) -> Diagnostic:
    span = model.training[0].span if model.training else model.span
    message = (f"{size_text(total)} parameter{'s' if total != 1 else ''} "
               f"({bytes_text(total * FLOAT32)} in float32, {bytes_text(total * FLOAT64)} in float64)")
    data = {"parameters": total, "parameter_bytes_float32": total * FLOAT32,
            "state_entries_per_sample": per_sample, "batch": batch, "grid_points": grid}
    if states is not None:
        nodes = _unknown_nodes(model)
        message += (f"; a batch of {_samples(batch)} holds "
                    f"{bytes_text(states)} of states per step")
        if nodes:
            message += f" ({size_text(nodes)} grid node{'s' if nodes != 1 else ''} per state)"
        if grid and grid > 1:
            points = "time points" if nodes else "grid points"
            message += f", {bytes_text(states * grid)} over the {size_text(grid)} {points}"
        message += " (float32)"
        data.update(state_bytes_per_step=states, state_bytes_grid=states * (grid or 1))
    elif model.states:
        message += (f"; the states take {bytes_text(per_sample * FLOAT32)} per sample per step "
                    "(float32)")
    help = ("autograd keeps the states of every step for the backward pass; " if model.states else "")
    if any(stage.optimizer == "adam" for stage in model.training):
        help += "adam keeps two more copies of the parameters; "
    help += "float64 doubles every size"
    return finding(CODE_NOTE, "note", message, span, help, **data)
