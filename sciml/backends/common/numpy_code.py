"""The numpy half of every emitted module: constants, data generators and initial weights
(the generators' and readers' texts are data_code.py).

This text is identical in the torch and the JAX module of a spec, which is what makes the
two start from the same numbers: data and weights are drawn here with numpy from the seed.
"""
from __future__ import annotations

import sympy
from sympy.printing.numpy import NumPyPrinter

from sciml.backends.common.batch_norm_code import statistics_entries
from sciml.backends.common.bayes_code import POSTERIOR_RHO
from sciml.backends.common.data_code import DATA_ERRORS, DATA_FILES, GENERATORS
from sciml.backends.common.grid_code import (EIGENBASIS, derived_constant, pde_data_pieces, linspace_text, pde_data_call,
                                             pde_data_rhs)
from sciml.backends.common.names import MODULE_NAMES, safe_names
from sciml.backends.common.printer import ArrayPrinterMixin
from sciml.backends.common.quoting import docstring, literal
from sciml.backends.common.scheme_code import data_step_function
from sciml.lowering import ir
from sciml.schemes import registry


class NumpyCodePrinter(ArrayPrinterMixin, NumPyPrinter):
    NUMBERS_IN_NUMPY = False
    SPELLING = {
        "sqrt": "np.sqrt({})", "relu": "np.maximum({}, 0)", "sigmoid": "1 / (1 + np.exp(-{}))",
        "softplus": "np.logaddexp({}, 0)", "mean": "np.mean({})", "sum": "np.sum({})",
        "norm": "np.linalg.norm({})", "sample_norm": "np.linalg.norm({}, axis=0, keepdims=True)",
        "squared_norm": "np.sum(np.square({}))", "squared_sample_norm": "np.sum(np.square({}), axis=0, keepdims=True)",
        "jacobian_trace": "np.einsum('iin->n', {})[None]", "jacobian_squared_norm": "np.sum(np.square({}), axis=(0, 1))[None]",
        "probe_trace": "np.mean(np.sum({} * {}, axis=0), axis=0, keepdims=True)",
        "inner": "np.sum({} * {}, axis=0, keepdims=True)", "softmax": "softmax({})",
    }

    def __init__(self, names, numbers=frozenset(), scalars=frozenset()):
        super().__init__(names, {"strict": True}, numbers, scalars)

    def _module_format(self, fqn, register=True):
        text = super()._module_format(fqn, register)
        return "np." + text[len("numpy."):] if text.startswith("numpy.") else text


def number_literal(value) -> str:
    if isinstance(value, sympy.MatrixBase):
        rows = ", ".join("[" + ", ".join(number_literal(v) for v in value.row(r)) + "]"
                         for r in range(value.rows))
        return f"np.array([{rows}])"
    if value.is_Integer:
        return str(int(value))
    return repr(float(value))


def file_imports(model: ir.Model) -> list[str]:
    """The standard-library imports that the data files of a model need (none without files)."""
    readers = {_generator(d) for d in model.datasets if d.generator == "load"}
    return ((["import csv"] if "load_csv" in readers else [])
            + (["import os", "import pathlib"] if readers else []))


def _generator(d: ir.DataSet) -> str:
    if d.generator == "load":
        return "load_csv" if d.option("path").endswith(".csv") else "load_npz"
    return d.generator


def emit_numpy_section(model: ir.Model, names: dict, spec_folder: str = ".") -> list[str]:
    """Lines for constants, data and initial parameters; `spec_folder` is the spec's folder
    relative to the module's (where data files are looked for when they are not beside it)."""
    lines = ["# ---- constants of the spec"]
    if any(c.derived and c.derived[0] == "laplacian" and len(c.derived) == 3 for c in model.constants):
        lines += EIGENBASIS.strip("\n").split("\n") + ["", ""]   # IMEX on a 2-D grid
    for c in model.constants:
        value = derived_constant(c, names, NumpyCodePrinter) if c.derived else number_literal(c.value)
        lines.append(f"{names[c.name]} = {value}")
    lines.append("")
    used = sorted({_generator(d) for d in model.datasets if _generator(d) in GENERATORS}
                  | {piece for d in model.datasets if d.generator == "pde" for piece in pde_data_pieces(d)}
                  | ({"field_on_grid"} if any(d.generator == "field" for d in model.datasets) else set())
                  | ({"as_rows"} if model.kind == "pinn" and files_in(model) else set()))
    files = any(d.generator == "load" for d in model.datasets)
    lines.append("# ---- data: drawn with numpy from the spec's seeds, identical in every backend"
                 + ("; or read from files" if files else ""))
    if files:
        lines += [f"SPEC_FOLDER = {literal(spec_folder)}  # the spec's folder, from where this module was written",
                  "", ""]
    lines.extend(DATA_ERRORS.strip("\n").splitlines() + ["", ""])
    if files:
        lines.extend(DATA_FILES.strip("\n").splitlines() + ["", ""])
    if model.datasets:
        for generator in used:
            lines.extend(GENERATORS[generator].strip("\n").splitlines())
            lines.append("")
            lines.append("")
        for method in sorted({d.option("method") for d in model.datasets if d.generator == "ode"}):
            lines += data_step_function(registry.lookup(method), f"{method}_step") + ["", ""]
        for d in model.datasets:
            if d.generator == "ode":
                lines.extend(_ode_rhs(d, names))
                lines.append("")
                lines.append("")
            elif d.generator in ("field_samples", "field"):
                lines.extend(_field_value(d, names) + ["", ""])
            elif d.generator == "pde":
                lines.extend(pde_data_rhs(d, names) + ["", ""])
        lines.append("def make_data(data_dir=None):")
        lines.append('    """Every data set of the spec: {name: {field: array with samples last}}'
                     + (';\n    data files are read where data_path(path, data_dir) says."""' if files else '."""'))
        lines.append("    return {")
        for d in model.datasets:
            call = _dataset_call(d, names)
            if model.kind == "pinn" and d.generator == "load":
                call = f"as_rows({call})"
            lines.append(f"        {literal(d.name)}: {call},")
        lines.append("    }")
    else:
        lines.append("def make_data(data_dir=None):")
        lines.append('    """No data sets: the spec declares none."""')
        lines.append("    return {}")
    lines.append("")
    lines.append("")
    lines.extend(_init_params(model, names))
    return lines


def _ode_rhs(d: ir.DataSet, names: dict) -> list[str]:
    local = safe_names(d.states, reserved=MODULE_NAMES | set(names.values()) | ({"u"} if len(d.states) > 1 else set()))
    printer = NumpyCodePrinter({**names, **local})
    head = [f"def ode_rhs_{names[d.name]}({'u' if len(d.states) > 1 else local[d.states[0]]}):",
            f'    """The known right-hand side that generates data set {docstring(d.name)}."""']
    if len(d.states) == 1:
        return head + [f"    return {printer.doprint(d.rhs[0])}"]
    parts, first = [], 0
    for state in d.states:
        size = _size(d, state)
        parts.append(f"u[{first}:{first + size}]")
        first += size
    sides = ", ".join(printer.doprint(side) for side in d.rhs)
    return head + [f"    {', '.join(local[s] for s in d.states)} = {', '.join(parts)}",
                   f"    return np.concatenate([{sides}])"]


def files_in(model: ir.Model) -> bool:
    return any(d.generator == "load" for d in model.datasets)


def _field_value(d: ir.DataSet, names: dict) -> list[str]:
    """`def field_value_train(x, t): return <the closed form>` in numpy."""
    coordinates = [name for name, _ in d.option("nodes")] + ([] if d.generator == "field_samples" else ["t"])
    local = safe_names(coordinates, reserved=MODULE_NAMES | set(names.values()))
    printer = NumpyCodePrinter({**names, **local})
    arguments = ", ".join(local[c] for c in coordinates)
    return [f"def field_value_{names[d.name]}({arguments}):",
            f'    """The closed form data set {docstring(d.name)} observes: {docstring(d.option("field"))}'
            f'({", ".join(coordinates)})."""',
            f"    return {printer.doprint(d.rhs[0])}"]


def _size(d: ir.DataSet, state: str) -> int:
    shape = d.field(state + "0").shape
    return shape[0] if shape else 1


def _dataset_call(d: ir.DataSet, names) -> str:
    if d.generator in ("spirals", "two_moons", "eight_gaussians"):
        o = dict(d.options)
        return f"{d.generator}(samples={o['samples']}, seed={o['seed']}, noise={o['noise']!r})"
    if d.generator == "checkerboard":
        o = dict(d.options)
        return f"checkerboard(samples={o['samples']}, seed={o['seed']})"
    if d.generator == "digits":
        o = dict(d.options)
        return (f"digits(seed={o['seed']}, part={literal(o['part'])}, test_fraction={o['test_fraction']!r}, "
                f"pairs={o['pairs']})")
    if d.generator == "ou_paths":
        o = dict(d.options)
        return (f"ou_paths(theta={o['theta']!r}, mu={o['mu']!r}, sigma={o['sigma']!r}, x0={o['x0']!r}, "
                f"paths={o['paths']}, steps={o['steps']}, T={o['T']!r}, seed={o['seed']})")
    if d.generator == "load":
        reader = _generator(d)
        shapes = {f.name: tuple(f.shape) for f in d.fields}
        integers = tuple(f.name for f in d.fields if f.integer)
        return (f"{reader}(data_path({literal(d.option('path'))}, data_dir), {literal(shapes)}, "
                f"integers={literal(integers)})")
    if d.generator == "field":
        nodes = ", ".join(f"{literal(c)}: {linspace_text(values)}" for c, values in d.option("nodes"))
        return (f"field_on_grid(field_value_{names[d.name]}, {{{nodes}}}, "
                f"{linspace_text(d.option('t'))}, {literal(d.option('field'))})")
    if d.generator == "pde":
        return pde_data_call(d, names)
    if d.generator == "field_samples":
        nodes = ", ".join(f"{literal(name)}: np.linspace({values[0]!r}, {values[-1]!r}, {len(values)})"
                          for name, values in d.option("nodes"))
        return (f"field_samples(field_value_{names[d.name]}, {{{nodes}}}, {literal(d.option('field'))}, "
                f"noise={d.option('noise')!r}, seed={d.option('seed')})")
    o = dict(d.options)
    starts = []
    for k, (state, start) in enumerate(zip(d.states, o["start"])):
        if start[0] == "normal":
            starts.append(f"np.random.default_rng({o['seed'] + k}).normal({start[1]!r}, {start[2]!r}, "
                          f"size=({_size(d, state)}, {o['samples']}))")
        else:
            starts.append(f"np.array({[[v] for v in start[1:]]!r})")
    start_code = starts[0] if len(starts) == 1 else f"np.concatenate([{', '.join(starts)}])"
    times = "(" + ", ".join(repr(t) for t in o["times"]) + ("," if len(o["times"]) == 1 else "") + ")"
    sizes = "(" + ", ".join(str(_size(d, s)) for s in d.states) + ",)"
    return (f"ode_data({literal(d.states)}, {sizes}, ode_rhs_{names[d.name]}, {start_code}, np.array({times}), "
            f"{o['steps']}, {o['method']}_step)")


def _init_params(model: ir.Model, names: dict) -> list[str]:
    lines = ["# ---- initial parameters: numpy draws from the seed, identical in every backend",
             "def init_params(seed):",
             '    """{name: numpy array}; vectors are columns, per-step weights stack on axis 0."""',
             "    rng = np.random.default_rng(seed)",
             "    return {"]
    steps = model.time_integrator.steps if model.time_integrator else 0
    for param in model.parameters:
        shape = param.shape if len(param.shape) != 1 else (param.shape[0], 1)
        if param.per_step:
            shape = (steps,) + tuple(shape)
        lines.append(f"        {literal(names[param.name])}: {_draw(param.init, shape)},")
    for net in model.networks:
        copies = f"{net.copies}, " if net.copies else ""   # one set per coupling layer, per step or per member
        for layer, (fan_in, fan_out) in enumerate(zip(net.widths[:-1], net.widths[1:]), start=1):
            lines.append(f"        {literal(names[net.name] + f'.W{layer}')}: "
                         f"rng.normal(0.0, {1 / fan_in ** 0.5!r}, size=({copies}{fan_out}, {fan_in})),")
            if not net.batchnorm:   # batch normalization's shift beta takes the place of the bias
                lines.append(f"        {literal(names[net.name] + f'.b{layer}')}: np.zeros(({copies}{fan_out}, 1)),")
            if net.posterior:   # each weight's spread softplus(rho), the same small one to start
                for kind, shape in (("W", (fan_out, fan_in)), ("b", (fan_out, 1))):
                    lines.append(f"        {literal(names[net.name] + f'.rho_{kind}{layer}')}: "
                                 f"np.full({shape}, {POSTERIOR_RHO!r}),")
        if net.batchnorm:   # at the input and after each layer, as Han, Jentzen & E (2018) start them
            for k, width in enumerate(net.widths):
                lines.append(f"        {literal(names[net.name] + f'.beta{k}')}: "
                             f"rng.normal(0.0, 0.1, size=({copies}{width}, 1)),")
                lines.append(f"        {literal(names[net.name] + f'.gamma{k}')}: "
                             f"rng.uniform(0.1, 0.5, size=({copies}{width}, 1)),")
            lines += statistics_entries(net, names, copies)   # running means and variances
    lines.append("    }")
    return lines


def _draw(init: ir.Init, shape) -> str:
    shape_text = "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    if init.kind == "zeros":
        return f"np.zeros({shape_text})"
    if init.kind == "normal":
        return f"rng.normal({init.mean!r}, {init.std!r}, size={shape_text})"
    if init.kind == "uniform":   # low, high in the places of mean, std
        return f"rng.uniform({init.mean!r}, {init.std!r}, size={shape_text})"
    value = init.value
    if isinstance(value, sympy.MatrixBase):
        return f"np.broadcast_to({number_literal(value)}, {shape_text}).copy()"
    return f"np.full({shape_text}, {float(value)!r})"
