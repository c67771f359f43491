"""The numpy half of every emitted module: constants, data generators and initial weights.

This text is identical in the torch and the JAX module of a spec, which is what makes the
two start from the same numbers: data and weights are drawn here with numpy from the seed.
"""
from __future__ import annotations

import sympy
from sympy.printing.numpy import NumPyPrinter

from sciml.backends.common.grid_code import (EIGENBASIS, derived_constant, pde_data_pieces, linspace_text, pde_data_call,
                                             pde_data_rhs)
from sciml.backends.common.grid_pieces import GRID_STENCILS
from sciml.backends.common.names import MODULE_NAMES, safe_names
from sciml.backends.common.printer import ArrayPrinterMixin
from sciml.backends.common.batch_norm_code import statistics_entries
from sciml.backends.common.quoting import docstring, literal
from sciml.backends.common.scheme_code import data_step_function
from sciml.lowering import ir
from sciml.schemes import registry


class NumpyCodePrinter(ArrayPrinterMixin, NumPyPrinter):
    SPELLING = {
        "sqrt": "np.sqrt({})", "relu": "np.maximum({}, 0)", "sigmoid": "1 / (1 + np.exp(-{}))",
        "softplus": "np.logaddexp({}, 0)", "mean": "np.mean({})", "sum": "np.sum({})",
        "norm": "np.linalg.norm({})", "sample_norm": "np.linalg.norm({}, axis=0, keepdims=True)",
        "inner": "np.sum({} * {}, axis=0, keepdims=True)", "softmax": "softmax({})",
    }

    def __init__(self, names):
        super().__init__(names, {"strict": True})

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


GENERATORS = {
    **GRID_STENCILS,   # the known PDE of a `pde` data set is solved with the model's stencils
    "load_npz": '''
def load_npz(path, shapes, integers):
    """The fields of a .npz file: each array one field, samples on its first axis (moved last
    here).  `shapes` are the fields the model was compiled for; a file that does not fit them
    is a DataError."""
    try:
        archive = np.load(path, allow_pickle=False)
    except OSError as error:
        raise DataError(f"{path}: cannot read it: {error.strerror or error}") from None
    except Exception:  # a broken file is the user's input: say which file, not numpy's guess
        raise DataError(f"{path}: not a .npz archive") from None
    if not hasattr(archive, "files"):
        raise DataError(f"{path}: holds one array, not a .npz archive of named arrays (np.savez)")
    data, samples = {}, {}
    with archive:
        for name, shape in shapes.items():
            if name not in archive.files:
                raise DataError(f"{path}: field {name!r}: no array of that name (the archive has "
                                f"{', '.join(map(repr, archive.files)) or 'none'})")
            try:
                values = archive[name]
            except Exception as error:
                raise DataError(f"{path}: field {name!r}: cannot read it ({error})") from None
            if values.dtype.kind not in "iuf":
                raise DataError(f"{path}: field {name!r}: holds {values.dtype} values, not numbers")
            if values.ndim == 0 or values.shape[1:] != shape or len(values) == 0:
                raise DataError(f"{path}: field {name!r}: an array of shape {values.shape}, but the "
                                f"model reads one of shape {('samples',) + shape}")
            samples[name] = len(values)
            data[name] = np.moveaxis(data_values(path, name, values, name in integers), 0, -1)
    if len(set(samples.values())) > 1:
        raise DataError(f"{path}: the fields have different numbers of samples: "
                        + ", ".join(f"{name} {count}" for name, count in samples.items()))
    return data
''',
    "load_csv": '''
def load_csv(path, shapes, integers):
    """The fields of a .csv file with a header row: a column `name` is a field, columns
    `name[0]`, `name[1]`, ... the entries of a vector field, each row a sample (the last axis
    here).  `shapes` are the fields the model was compiled for; a file that does not fit them
    is a DataError."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            rows = [(reader.line_num, row) for row in reader if row]
    except OSError as error:
        raise DataError(f"{path}: cannot read it: {error.strerror or error}") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: cannot read it as text: {error}") from None
    if len(rows) < 2:
        raise DataError(f"{path}: needs a header row and at least one row of data")
    (_, header), body = rows[0], rows[1:]
    for line, row in body:
        if len(row) != len(header):
            raise DataError(f"{path}: line {line} has {len(row)} values, but the header has "
                            f"{len(header)} columns")
    titles = {"".join(title.split()): column for column, title in enumerate(header)}
    table = np.array([row for _, row in body], dtype=str)
    lines = [line for line, _ in body]
    data = {}
    for name, shape in shapes.items():
        wanted = [name] if shape == () else [f"{name}[{k}]" for k in range(shape[0])]
        missing = [title for title in wanted if title not in titles]
        if missing:
            raise DataError(f"{path}: field {name!r}: no column {missing[0]} (the model reads "
                            f"{', '.join(wanted)})")
        cells = table[:, [titles[title] for title in wanted]]
        try:
            values = cells.astype(float)
        except ValueError:
            for (row, _), cell in np.ndenumerate(cells):
                try:
                    float(cell)
                except ValueError:
                    raise DataError(f"{path}: field {name!r}: {cell.strip()!r} on line {lines[row]} "
                                    "is not a number") from None
            raise
        values = data_values(path, name, values, name in integers, lines)
        data[name] = values[:, 0] if shape == () else values.T
    return data
''',
    "spirals": '''
def spirals(samples, seed, noise):
    """Two interleaved spirals in the plane: x is (2, samples), label is (samples,)."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, samples)
    radius = rng.uniform(0.05, 1.0, samples)
    angle = 3 * np.pi * radius + np.pi * label
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)])
    return {"x": x + noise * rng.standard_normal((2, samples)), "label": label}
''',
    "field_samples": '''
def field_samples(value, nodes, name, noise, seed):
    """Observations of a field: `value` at every node of the grid `nodes` ({coordinate: node
    values}), each node one sample, plus Gaussian noise of standard deviation `noise` drawn
    from default_rng(seed); {coordinate: (1, n), name: (1, n)}, rows as the networks take."""
    grid = np.meshgrid(*nodes.values(), indexing="ij")
    columns = {coordinate: axis.reshape(1, -1) for coordinate, axis in zip(nodes, grid)}
    values = value(*columns.values())
    values = values + noise * np.random.default_rng(seed).normal(size=values.shape)
    return {**columns, name: values}
''',
    "field_on_grid": '''
def field_on_grid(value, nodes, t, name):
    """A closed form on a grid: {coordinate: its nodes, for each of `nodes`; t: (times,);
    name: (times, nodes along each coordinate)}."""
    t_grid, *grid = np.meshgrid(t, *nodes.values(), indexing="ij")
    return {**nodes, "t": t, name: value(*grid, t_grid)}
''',
    "pde_on_grid": '''
def pde_on_grid(rhs, start, nodes, t, name, refine, fine):
    """A known PDE solved on a grid `refine` times finer than the nodes along each coordinate
    (the method of lines on `fine` nodes, the state a column, x-major; scipy's DOP853 to rtol
    1e-10), kept at the nodes and the times t: {coordinate: its nodes; t: (times,);
    name: (times, nodes along each coordinate)}."""
    from scipy.integrate import solve_ivp
    solution = solve_ivp(lambda time, values: rhs(values[:, None])[:, 0], (0.0, float(t[-1])), start[:, 0],
                         method="DOP853", t_eval=t, rtol=1e-10, atol=1e-12)
    if not solution.success:
        raise DataError(f"the known PDE of data set {name!r} could not be solved: {solution.message}")
    values = solution.y.T.reshape((len(t),) + tuple(fine))
    return {**nodes, "t": t, name: values[(slice(None),) + (slice(None, None, refine),) * len(fine)]}
''',
    "as_rows": '''
def as_rows(fields):
    """A PINN's data: each scalar field (n,) as a row (1, n), as the networks take coordinates."""
    return {name: value[None, :] if value.ndim == 1 else value for name, value in fields.items()}
''',
    "ou_paths": '''
def ou_paths(theta, mu, sigma, x0, paths, steps, T, seed):
    """Sample paths of dX = -theta (X - mu) dt + sigma dW from X(0) = x0, drawn with the exact
    Gaussian transition over each of `steps` equal steps of [0, T] from default_rng(seed):
    t is (steps + 1,), x is (steps + 1, 1, paths), one path per sample (the last axis)."""
    rng = np.random.default_rng(seed)
    dt = T / steps
    decay = np.exp(-theta * dt)
    spread = sigma * np.sqrt((1 - decay**2) / (2 * theta)) if theta != 0 else sigma * np.sqrt(dt)
    x = np.empty((steps + 1, 1, paths))
    x[0] = x0
    for k in range(steps):
        x[k + 1] = mu + (x[k] - mu) * decay + spread * rng.standard_normal((1, paths))
    return {"t": np.linspace(0.0, T, steps + 1), "x": x}
''',
    "two_moons": '''
def two_moons(samples, seed, noise):
    """Two interleaved half circles: x is (2, samples), label is (samples,)."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, samples)
    angle = rng.uniform(0.0, np.pi, samples)
    x = np.stack([np.cos(angle) + label * (1 - 2 * np.cos(angle)) - 0.5 * label,
                  np.sin(angle) * (1 - 2 * label) + 0.5 * label - 0.25])
    return {"x": x + noise * rng.standard_normal((2, samples)), "label": label}
''',
    "eight_gaussians": '''
def eight_gaussians(samples, seed, noise):
    """FFJORD's 8gaussians (Grathwohl et al. 2019, lib/toy_data.py): centers at radius 4 in the
    directions (+-1, 0), (0, +-1), (+-1, +-1)/sqrt(2), a point = center + 0.5 N(0, I) (with noise =
    0.5), all divided by 1.414: x is (2, samples), label (the center) is (samples,)."""
    rng = np.random.default_rng(seed)
    c = 1 / np.sqrt(2)
    centers = 4.0 * np.array([[1, -1, 0, 0, c, c, -c, -c], [0, 0, 1, -1, c, -c, c, -c]])
    label = rng.integers(0, 8, samples)
    x = (centers[:, label] + noise * rng.standard_normal((2, samples))) / 1.414
    return {"x": x, "label": label}
''',
    "ode": '''
def simulate_ode(rhs, start, times, steps, method):
    """Integrate dt(u) = rhs(u) from the columns of `start` with `steps` fixed steps
    u = method(rhs, u, h) over [0, times[-1]]; return the states at `times`."""
    h_data = times[-1] / steps
    u, observed = start, [start] if times[0] == 0 else []
    for step in range(1, steps + 1):
        u = method(rhs, u, h_data)
        if any(abs(step * h_data - t) < 1e-9 * max(1.0, t) for t in times):
            observed.append(u)
    return np.stack(observed) if len(times) > 1 else observed[-1]


def ode_data(names, sizes, rhs, start, times, steps, method):
    """Fields t, <name>0 (start) and <name> (states at the times) of a simulated data set;
    the states of a system are stacked on the feature axis while they are integrated."""
    path, data, first = simulate_ode(rhs, start, times, steps, method), {"t": times}, 0
    for name, size in zip(names, sizes):
        data[name + "0"], data[name] = start[first:first + size], path[..., first:first + size, :]
        first += size
    return data
''',
}

DATA_ERRORS = '''
class DataError(Exception):
    """A data file that does not fit the model: main says `MODEL: error: FILE: field 'x': ...`
    on standard error and exits with status 2."""
'''

DATA_FILES = '''
def data_path(path, data_dir=None):
    """Where the data file at `path` (the spec's path, from the spec's folder) is read: in
    `data_dir`, else in $SCIML_DATA_DIR, else beside this module, else in the spec's folder
    as seen from where this module was written (SPEC_FOLDER)."""
    here, chosen = pathlib.Path(__file__).parent, data_dir or os.environ.get("SCIML_DATA_DIR")
    if chosen:
        places = [("in data_dir" if data_dir else "in $SCIML_DATA_DIR", pathlib.Path(chosen))]
    else:
        places = [("beside this module", here)]
        places += [("in the spec's folder", here / SPEC_FOLDER)] if SPEC_FOLDER != "." else []
    for _, folder in places:
        if os.path.exists(folder / path):
            return folder / path
    where = " nor ".join(f"{place} ({os.path.normpath(os.path.abspath(folder))})" for place, folder in places)
    raise DataError(f"{path}: not found {where}; copy it beside this module, or set SCIML_DATA_DIR "
                    "to its folder")


def data_values(path, name, values, integer, lines=None):
    """`values` (samples on the first axis) as float64, or int64 for an integer field; a value
    that is not finite, or not an integer in an integer field, is a DataError naming its line
    (lines: of a .csv) or sample."""
    values = np.asarray(values, dtype=float)
    checks = [(~np.isfinite(values), "is not a finite number")]
    if integer:
        checks.append((values != np.round(values), "is not an integer (the model reads integers)"))
    for bad, what in checks:
        if bad.any():
            first = tuple(np.argwhere(bad)[0])
            where = f"on line {lines[first[0]]}" if lines else f"in sample {first[0]}"
            raise DataError(f"{path}: field {name!r}: {float(values[first])!r} {where} {what}")
    return values.astype(np.int64) if integer else values
'''


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
        count = net.layers or (net.steps[1] - net.steps[0] + 1 if net.index else 0)
        copies = f"{count}, " if count else ""   # one set per coupling layer, or per step
        for layer, (fan_in, fan_out) in enumerate(zip(net.widths[:-1], net.widths[1:]), start=1):
            lines.append(f"        {literal(names[net.name] + f'.W{layer}')}: "
                         f"rng.normal(0.0, {1 / fan_in ** 0.5!r}, size=({copies}{fan_out}, {fan_in})),")
            if not net.batchnorm:   # batch normalization's shift beta takes the place of the bias
                lines.append(f"        {literal(names[net.name] + f'.b{layer}')}: np.zeros(({copies}{fan_out}, 1)),")
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
