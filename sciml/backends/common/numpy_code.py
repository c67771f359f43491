"""The numpy half of every emitted module: constants, data generators and initial weights.

This text is identical in the torch and the JAX module of a spec, which is what makes the
two start from the same numbers: data and weights are drawn here with numpy from the seed.
"""
from __future__ import annotations

import sympy
from sympy.printing.numpy import NumPyPrinter

from sciml.backends.common.names import MODULE_NAMES, safe_names
from sciml.backends.common.printer import ArrayPrinterMixin
from sciml.compiler import ir


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
    "load_npz": '''
def load_npz(path):
    """The arrays of a .npz file (read where it was at compile time), samples moved last."""
    with np.load(path, allow_pickle=False) as archive:
        return {name: np.moveaxis(archive[name], 0, -1) for name in archive.files}
''',
    "load_csv": '''
def load_csv(path, integers):
    """The columns of a .csv file with a header row (read where it was at compile time): a
    column `name` is a field, columns `name[0]`, `name[1]`, ... the rows of a vector field."""
    titles = np.loadtxt(path, delimiter=",", max_rows=1, dtype=str, ndmin=1)
    table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    data = {}
    for column, title in enumerate(titles):
        name, _, index = title.partition("[")
        data.setdefault(name.strip(), {})[int(index.strip(" ]")) if index else None] = table[:, column]
    return {name: (columns[None] if None in columns else np.stack([columns[k] for k in sorted(columns)]))
            .astype(np.int64 if name in integers else float) for name, columns in data.items()}
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
    "ode": '''
def simulate_ode(rhs, start, times, steps, method):
    """Integrate dt(u) = rhs(u) from the columns of `start` with `steps` fixed steps of
    `method` (rk4 or euler) over [0, times[-1]]; return the states at `times`."""
    h_data = times[-1] / steps
    u, observed = start, [start] if times[0] == 0 else []
    for step in range(1, steps + 1):
        if method == "rk4":
            k1 = rhs(u)
            k2 = rhs(u + h_data / 2 * k1)
            k3 = rhs(u + h_data / 2 * k2)
            k4 = rhs(u + h_data * k3)
            u = u + h_data / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        else:
            u = u + h_data * rhs(u)
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


def _generator(d: ir.DataSet) -> str:
    if d.generator == "load":
        return "load_csv" if d.option("path").endswith(".csv") else "load_npz"
    return d.generator


def emit_numpy_section(model: ir.Model, names: dict) -> list[str]:
    """Lines for constants, data and initial parameters."""
    lines = ["# ---- constants of the spec"]
    for c in model.constants:
        lines.append(f"{names[c.name]} = {number_literal(c.value)}")
    lines.append("")
    used = sorted({_generator(d) for d in model.datasets if _generator(d) in GENERATORS})
    if model.datasets:
        lines.append("# ---- data: drawn with numpy from the spec's seeds, identical in every backend")
        for generator in used:
            lines.extend(GENERATORS[generator].strip("\n").splitlines())
            lines.append("")
            lines.append("")
        for d in model.datasets:
            if d.generator == "ode":
                lines.extend(_ode_rhs(d, names))
                lines.append("")
                lines.append("")
        lines.append("def make_data():")
        lines.append('    """Every data set of the spec: {name: {field: array with samples last}}."""')
        lines.append("    return {")
        for d in model.datasets:
            lines.append(f"        {d.name!r}: {_dataset_call(d, names)},")
        lines.append("    }")
    else:
        lines.append("def make_data():")
        lines.append("    return {}")
    lines.append("")
    lines.append("")
    lines.extend(_init_params(model, names))
    return lines


def _ode_rhs(d: ir.DataSet, names: dict) -> list[str]:
    local = safe_names(d.states, reserved=MODULE_NAMES | set(names.values()) | ({"u"} if len(d.states) > 1 else set()))
    printer = NumpyCodePrinter({**names, **local})
    head = [f"def ode_rhs_{names[d.name]}({'u' if len(d.states) > 1 else local[d.states[0]]}):",
            f'    """The known right-hand side that generates data set {d.name}."""']
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


def _size(d: ir.DataSet, state: str) -> int:
    shape = d.field(state + "0").shape
    return shape[0] if shape else 1


def _dataset_call(d: ir.DataSet, names) -> str:
    if d.generator in ("spirals", "two_moons"):
        o = dict(d.options)
        return f"{d.generator}(samples={o['samples']}, seed={o['seed']}, noise={o['noise']!r})"
    if d.generator == "load":
        path = d.option("path")
        if path.endswith(".csv"):
            integers = tuple(f.name for f in d.fields if f.integer)
            return f"load_csv({path!r}, integers={integers!r})"
        return f"load_npz({path!r})"
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
    return (f"ode_data({d.states!r}, {sizes}, ode_rhs_{names[d.name]}, {start_code}, np.array({times}), "
            f"{o['steps']}, {o['method']!r})")


def _init_params(model: ir.Model, names: dict) -> list[str]:
    lines = ["# ---- initial parameters: numpy draws from the seed, identical in every backend",
             "def init_params(seed):",
             '    """{name: numpy array}; vectors are columns, per-step weights stack on axis 0."""',
             "    rng = np.random.default_rng(seed)",
             "    return {"]
    steps = model.scheme.steps if model.scheme else 0
    for param in model.parameters:
        shape = param.shape if len(param.shape) != 1 else (param.shape[0], 1)
        if param.per_step:
            shape = (steps,) + tuple(shape)
        lines.append(f"        {names[param.name]!r}: {_draw(param.init, shape)},")
    for net in model.networks:
        copies = f"{net.layers}, " if net.layers else ""   # one set per coupling layer
        for layer, (fan_in, fan_out) in enumerate(zip(net.widths[:-1], net.widths[1:]), start=1):
            lines.append(f"        '{names[net.name]}.W{layer}': "
                         f"rng.normal(0.0, {1 / fan_in ** 0.5!r}, size=({copies}{fan_out}, {fan_in})),")
            lines.append(f"        '{names[net.name]}.b{layer}': np.zeros(({copies}{fan_out}, 1)),")
    lines.append("    }")
    return lines


def _draw(init: ir.Init, shape) -> str:
    shape_text = "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    if init.kind == "zeros":
        return f"np.zeros({shape_text})"
    if init.kind == "normal":
        return f"rng.normal({init.mean!r}, {init.std!r}, size={shape_text})"
    value = init.value
    if isinstance(value, sympy.MatrixBase):
        return f"np.broadcast_to({number_literal(value)}, {shape_text}).copy()"
    return f"np.full({shape_text}, {float(value)!r})"
