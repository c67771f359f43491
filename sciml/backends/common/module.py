"""Assemble an emitted module: header, imports, the numpy half, the model half, the runtime
(imported from sciml.runtime, or pasted in with --standalone: runtime_code.py).

`emit_module` is the whole layout; a backend passes its `Spelling` and runtime text.  Output
depends only on the IR and the spec text (no dicts iterated in hash order, no timestamps), so
compiling twice gives identical bytes.
"""
from __future__ import annotations

import dataclasses
import hashlib

from sciml import __version__
from sciml.backends.common.model_code import ModelWriter, Spelling
from sciml.backends.common.flow_code import FlowWriter, inverse_name
from sciml.backends.common.batch_norm_code import MOMENTUM
from sciml.backends.common.bayes_code import BayesWriter
from sciml.backends.common.divergence_code import emit_divergence_section, loss_terms_function
from sciml.backends.common.guard_code import emit_guard_section
from sciml.backends.common.names import safe_names
from sciml.backends.common.noise_code import NoiseWriter, ito_form
from sciml.backends.common.step_networks import StepNetworks, step_network_calls, with_step_values
from sciml.backends.common.numpy_code import emit_numpy_section, file_imports
from sciml.backends.common.grid_code import GridWriter
from sciml.backends.common.pinn_code import PinnWriter
from sciml.backends.common.pinn_numpy import emit_pinn_numpy, reports_function
from sciml.backends.common.points_code import points_imports
from sciml.backends.common.runtime_code import runtime_imports, runtime_lines
from sciml.backends.common.cnf_code import CnfSampler
from sciml.backends.common.score_code import ScoreWriter
from sciml.backends.common.vae_code import VaeWriter
from sciml.backends.common.quoting import comment, docstring, literal
from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.lowering.method_of_lines import grid_of, semi_discrete
from sciml.schemes import registry


def user_names(model: ir.Model) -> dict:
    names = [c.name for c in model.constants] + [d.name for d in model.datasets]
    names += [s.name for s in model.states] + [p.name for p in model.parameters]
    names += [n.name for n in model.networks] + [f.name for f in model.flows]
    names += [n.name for n in model.noises]
    return safe_names(names)


def emit_module(model: ir.Model, source: str, source_name: str, backend: str, spelling: Spelling,
                imports: list, spec_folder: str = ".", standalone: bool = False) -> str:
    """The module's text; `spec_folder` is the spec's folder as seen from the folder the module
    is written to ('.': the same, or unknown), where data files are looked for; `standalone`:
    the runtime pasted in rather than imported from sciml.runtime."""
    grid_model = model if model.kind == "grid_pde" else None
    if grid_model is not None:   # the ODE of the grid's nodes
        model = semi_discrete(model)
    model = ito_form(model)      # a Stratonovich sde: its Ito drift
    step_calls = step_network_calls(model)
    model = with_step_values(model)   # a network per step: its value, computed once a step
    names = user_names(model)
    pinn = model.kind == "pinn"
    runtime_classes = []
    diffusion = model.kind == "diffusion"   # its reports are the samplers' (score_code.py)
    writer = ModelWriter(dataclasses.replace(model, reports=()) if diffusion else model, names, spelling,
                         source.split("\n"))  # lines as the parser counts them
    grid = GridWriter(writer, grid_model) if grid_model is not None else None
    if step_calls:
        writer.steps = StepNetworks(writer, step_calls)
    score = ScoreWriter(writer, model) if diffusion else None
    vae = VaeWriter(writer, model) if model.kind == "vae" else None
    if model.kind == "bayes":
        writer.bayes = BayesWriter(writer, model)
    if model.noises and not diffusion:
        writer.noise = NoiseWriter(writer)
    for flow in model.flows:
        writer.names[f"inverse {flow.name}"] = inverse_name(flow, names, writer.taken)
    if pinn:
        pinn_writer = PinnWriter(writer, model, backend)
        model_lines = writer.networks() + pinn_writer.lines() + reports_function(pinn_writer)
        runtime_classes = sorted(pinn_writer.runtime_classes)   # TaylorLayer: imported beside the runtime
    elif diffusion:
        model_lines = (writer.networks() + score.functions() + ["", ""] + writer.loss()
                       + loss_terms_function(writer, source.split("\n")) + score.reports())
    elif vae is not None:
        model_lines = (writer.networks() + vae.functions() + writer.loss()
                       + loss_terms_function(writer, source.split("\n")) + writer.reports())
    elif writer.bayes is not None:
        model_lines = (writer.networks() + writer.bayes.kl_functions() + writer.loss()
                       + loss_terms_function(writer, source.split("\n")) + writer.reports()
                       + writer.bayes.acquisition_functions())
    else:
        solve = writer.solve()
        flows = [line for flow in model.flows for line in FlowWriter(writer, flow).functions()]
        noise = writer.noise.functions() if writer.noise is not None else []
        sampler = CnfSampler(writer).functions() if model.kind == "cnf" else []   # cnf_code.py
        model_lines = (writer.networks() + (grid.functions() if grid else []) + writer.rhs_functions() + noise
                       + (writer.solver.grid_functions() if grid else []) + solve + (["", ""] if solve else [])
                       + sampler
                       + writer.reversible_steps() + flows + writer.loss()
                       + loss_terms_function(writer, source.split("\n")) + writer.reports())
    helpers = [spelling.pieces[name] for name in sorted(writer.helpers)]
    observed = _observed_steps(model)
    lines = [
        f'"""{docstring(model.name)}: generated by sciml {__version__} from {docstring(source_name)} for {backend}.',
        "",
        "Do not edit: change the spec and compile again.",
        _what(model),
        "",
        "Command line:",
        "    python THIS.py --steps N --seed S --device cpu|cuda --dtype float32|float64 --json [--out DIR]",
        "        [--data-dir DIR] [--check-stability]   exit status 2: a data file does not fit; 3: diverged",
        "    --checkpoint DIR [--checkpoint-every N]    parameters, optimizer and random state, step (atomic)",
        "    --resume DIR                               continue from it (exit status 2: of another spec)",
        "    --plot DIR                                 loss curve, fit to observed trajectories (matplotlib)",
        *_compile_line(backend),
        "    a progress bar on standard error when it is a terminal, log lines otherwise",
        "Import:",
        "    make_data() -> {set: {field: numpy array}}   init_params(seed) -> {name: numpy array}",
        "    loss(p, batch)                               p, batch: {name: array} of this backend",
        "    loss_and_grad(params, batch, dtype)          numpy in; (float, {name: numpy grad}) out",
        "    train(params, data, steps, seed, device, dtype) -> (numpy params, final loss)",
        *(["    sample(params, count, seed) -> numpy (features, count): data from latents (the flow run back)"]
          if model.kind == "cnf" else []),
        *_bayes_lines(writer.bayes),
        *(["    sample(params, count, seed) -> numpy (features, count): decoder means at latents from the prior",
           "    reconstruct(params, x) -> numpy: decoder means at the encoder's means of x (features, samples)"]
          if vae is not None else []),
        *_data_files_line(model),
        *_runtime_line(backend, standalone),
        '"""',
        *_with_imports(imports, file_imports(model),
                       *_runtime_and_points_imports(model, backend, standalone, runtime_classes)),
        "",
        f"MODEL = {literal(model.name)}",
        f"BACKEND = {literal(backend)}",
        f"SPEC_SHA256 = {literal(hashlib.sha256(source.encode('utf-8', 'surrogatepass')).hexdigest())}  # of the spec's text: --resume checks it",
        f"SCIML_VERSION = {literal(__version__)}",
        *_grid(model.time_integrator),
        *_stages(model),
        *_batch_norm(model),
        f"TRAIN_SET = {literal(model.training_set)}",
        f"SAMPLE_FIELDS = {literal(_sample_fields(model))}",
    ]
    if observed is not None:
        lines.append(f"OBSERVED_STEPS = {literal(observed)}")
        lines.append(f"OBSERVED_TIMES = {literal(_observed_times(model))}")
    if grid is not None:   # --plot draws an observed grid state against its data along these
        lines.append(f"GRID_COORDINATES = {literal(tuple(a.coordinate for a in grid.grid.axes))}")
    lines += ["", ""]
    lines += emit_numpy_section(writer.m, names, spec_folder)
    if pinn:
        lines += ["", ""] + emit_pinn_numpy(model)
    if writer.noise is not None:
        lines += ["", ""] + writer.noise.numpy_lines()
    if writer.derivatives is not None and writer.derivatives.probes:   # Hutchinson's probes
        lines += ["", ""] + writer.derivatives.numpy_lines()
    if score is not None:
        lines += ["", ""] + score.numpy_lines()
    if vae is not None:
        lines += ["", ""] + vae.numpy_lines()
    if writer.bayes is not None and writer.bayes.posterior:
        lines += ["", ""] + writer.bayes.numpy_lines()
    lines += ["", ""] + emit_guard_section(model, names, source_name, writer if grid is not None else None)
    lines += ["", ""] + emit_divergence_section(model, writer)
    lines += ["", "", "# ---- the model", ""]
    lines += helpers_text(helpers)
    lines += model_lines
    lines += ["", ""] + runtime_lines(backend, standalone, own_sample=diffusion or model.kind in ("cnf", "vae"))
    text = "\n".join(lines).rstrip() + "\n"
    return _tidy(text)


def _bayes_lines(bayes) -> list[str]:
    """The header's lines of a bayes model's acquisition functions (bayes_code.py)."""
    if bayes is None or bayes.scored is None:
        return []
    lines = ["    uncertainty(params, x) -> numpy (samples,): the argmax report's score at the points x",
             "    acquire(params, pool) -> int: the index of the pool point (a column) with the largest score"]
    if bayes.scored[1].has(F.CovarianceOver):
        lines += ["    predict(params, x), predictive_covariance(params, x) -> numpy: over the weight draws"]
    return lines


def _runtime_and_points_imports(model: ir.Model, backend: str, standalone: bool, classes=()) -> tuple:
    """The runtime's imports (with `classes` of its file beside its class), with scipy's qmc
    where the collocation points need it."""
    std, other = runtime_imports(backend, standalone, classes)
    points_std, points_other = points_imports(model)
    return sorted(set(std + points_std)), points_other + other


def _what(model: ir.Model) -> str:
    """The header line that says what the model integrates or maps."""
    scheme = model.scheme
    if isinstance(scheme, ir.MethodOfLines):
        grid = grid_of(model)
        time = scheme.time
        box = " x ".join(f"{a.coordinate} in [{a.lower:g}, {a.upper:g}]" for a in grid.axes)
        nodes = " x ".join(str(a.nodes) for a in grid.axes)
        return (f"Method of lines: {nodes} nodes on {box} ({grid.unknowns} unknowns); in time "
                f"{registry.definition_of(time).title}, {time.steps} steps on [0, {time.t_end!r}].")
    if isinstance(scheme, ir.Collocation):
        box = " x ".join(f"{c.name} in [{c.lower:g}, {c.upper:g}]" for c in model.domain)
        drawn = f"drawn anew every {scheme.resample} steps" if scheme.resample else "drawn once"
        return (f"Collocation: {scheme.interior.count} {scheme.interior.sampler} points in {box}, "
                f"{drawn}.")
    if scheme is not None:
        title = registry.definition_of(scheme).title
        return f"Scheme: {title}, {scheme.steps or 'adaptive'} steps on [0, {scheme.t_end!r}]."
    if model.flows:
        flows = "; ".join(f"{f.name}, {f.layers} coupling layers on R[{f.size}], inverse "
                          f"{_inverse_text(f)}" for f in model.flows)
        return docstring(f"Flow: {flows}.")
    return docstring("Networks: " + "; ".join(_network_text(n) for n in model.networks) + ".")


def _network_text(net: ir.Network) -> str:
    text = f"{net.name} = mlp({' -> '.join(str(w) for w in net.widths)}, {net.activation})"
    if net.posterior:
        return text + f", a mean-field Gaussian weight posterior ({net.draws} draws)"
    return text + (f", a deep ensemble of {net.draws}" if net.ensemble else "")


def _inverse_text(flow) -> str:
    return flow.name[:-4] if flow.name.endswith("_inv") and len(flow.name) > 4 else f"{flow.name}_inverse"


def _batch_norm(model: ir.Model) -> list[str]:
    if not any(net.batchnorm for net in model.networks):
        return []
    return [f"BATCH_NORM_MOMENTUM = {MOMENTUM!r}  # running statistics: this much of the last, the rest the batch's"]


def _grid(scheme) -> list[str]:
    if scheme is None or isinstance(scheme, ir.Collocation):
        return ["h = None  # no time grid"]
    return [f"N_STEPS = {scheme.steps}", f"T_END = {scheme.t_end!r}",
            "h = T_END / N_STEPS" if scheme.steps else "h = None  # adaptive"]


def helpers_text(helpers):
    out = []
    for h in helpers:
        out += h.strip("\n").splitlines() + ["", ""]
    return out


def _tidy(text: str) -> str:
    """At most two blank lines in a row."""
    while "\n\n\n\n" in text:
        text = text.replace("\n\n\n\n", "\n\n\n")
    return text


def _data_files_line(model: ir.Model) -> list[str]:
    if not any(d.generator == "load" for d in model.datasets):
        return []
    return ["Data files: the spec's paths, read beside this module (or in the spec's folder, or in",
            "    $SCIML_DATA_DIR or make_data(data_dir)); a file that does not fit is a DataError (exit 2)."]


def _stages(model: ir.Model) -> list[str]:
    """STAGES: the spec's training stages; none for a model with nothing to train (training then
    only evaluates the loss)."""
    if not model.parameters and not model.networks:
        written = " then ".join(f"{s.optimizer}(lr = {s.lr!r}, steps = {s.steps})" for s in model.training)
        return [f"STAGES = []  # no trainable parameter: {comment(written)} has nothing to train"]
    stages = ", ".join(f"({literal(s.optimizer)}, {s.lr!r}, {s.steps}, {s.batch})" for s in model.training)
    return [f"STAGES = [{stages}]  # (optimizer, learning rate, steps, batch size; 0 = all samples)"]


def _with_imports(imports: list, extra: list, runtime_std: list, runtime_other: list) -> list:
    """The backend's imports with the standard-library modules in `extra` (csv, os: only a module
    that reads data files needs them) and `runtime_std` added to the first group, which stays
    sorted; `runtime_other`: the runtime's other imports, added to the second group (numpy,
    torch, jax, optax) where missing, or (`from sciml.runtime...`) a group of their own after it."""
    groups, group = [], []
    for line in imports:
        if line:
            group.append(line)
        else:
            groups.append(group)
            group = []
    groups.append(group)
    groups[0] = sorted(set(groups[0]) | set(extra) | set(runtime_std))
    own = [line for line in runtime_other if line.startswith("from sciml.")]
    groups[1] += [line for line in runtime_other if line not in own and line not in groups[1]]
    if own:
        groups.insert(2, own)
    return [line for group in groups for line in ([""] + group)][1:]


def _compile_line(backend: str) -> list[str]:
    if backend == "torch":
        return ["    --compile                                  torch.compile the training step (compile_seconds)"]
    return []


def _runtime_line(backend: str, standalone: bool) -> list[str]:
    if standalone:
        return [f"Training: the runtime sciml.runtime.{backend}, pasted in (--standalone): no sciml needed."]
    return [f"Training: the runtime sciml.runtime.{backend} (compile with --standalone to paste it in)."]


def _sample_fields(model: ir.Model) -> dict:
    out = {}
    for d in model.datasets:
        if d.batched:
            out[d.name] = tuple(f.name for f in d.fields if not (d.generator in ("ode", "ou_paths") and f.name == "t"))
    return out


def _observed_times(model):
    for e in [model.loss] + [r.expr for r in model.reports]:
        from sciml.lowering import symbols as S
        for atom in e.atoms(S.StateAt):
            if not atom.args[1].is_number:
                dataset = model.dataset(str(atom.args[1]).split(".")[0])
                return tuple(dataset.option("times", dataset.option("t")))   # t: data on a grid
    return None


def _observed_steps(model):
    times = _observed_times(model)
    if times is None:
        return None
    scheme = model.time_integrator
    if not scheme or not scheme.steps:
        return ()
    h = scheme.t_end / scheme.steps
    return tuple(int(round(t / h)) for t in times)
