"""Lower `data` statements: generated data sets and files.

Generated data is drawn in the emitted module with numpy from the seed written in the spec,
so every backend trains on identical numbers and no example needs a download.
"""
from __future__ import annotations

import math
import os
from pathlib import PurePath

import sympy

from sciml.frontend import ast
from sciml.lowering import ir
from sciml.lowering import limits
from sciml.frontend.diagnostics import finding
from sciml.lowering.expressions import Entry, Unsupported, fmt_shape
from sciml.schemes import registry

TOY_SETS = {
    # name: (description, default options)
    "spirals": "two interleaved spirals in the plane, labels 0/1",
    "two_moons": "two interleaved half circles in the plane, labels 0/1",
    "eight_gaussians": "eight Gaussians on a circle in the plane (FFJORD's 8gaussians), labels 0-7",
    "checkerboard": "uniform on the 8 dark squares of a 4 x 4 board on [-4, 4]^2 (FFJORD's checkerboard), labels 0-7",
}
PLANNED = ("peaks", "normal", "gaussian_mixture")


def lower_dataset(st: ast.DataStmt, lowering) -> ir.DataSet:
    if st.kind == "load":
        return _load(st, lowering)
    call = st.call
    if call.func in TOY_SETS:
        return _toy(st, call, lowering)
    if call.func == "ode":
        return _ode(st, call, lowering)
    from sciml.lowering.generated_data import GENERATORS as FAMILY_GENERATORS
    if call.func in FAMILY_GENERATORS:
        return FAMILY_GENERATORS[call.func](st, call, lowering)
    if call.func in PLANNED:
        raise Unsupported(f"the '{call.func}' data generator", call.func_span)
    generators = tuple(TOY_SETS) + ("ode",) + tuple(FAMILY_GENERATORS)
    lowering.fail("E504", f"unknown data generator '{call.func}'", call.func_span,
                  "generators: " + ", ".join(generators) + "; or load \"file.npz\"")


def _options(call, lowering, allowed: dict) -> dict:
    """Keyword options with defaults; `allowed` maps name -> (kind, default), kind 'flag', 'int',
    'real', or ('choice', default, names)."""
    values = {name: spec[1] for name, spec in allowed.items()}
    for kw in call.keywords:
        if kw.name not in allowed:
            lowering.fail("E505", f"{call.func}() has no option '{kw.name}'", kw.span,
                          "options: " + ", ".join(allowed))
        kind = allowed[kw.name][0]
        if kind == "choice":   # ("choice", default, (names...)): one of the names
            choices = allowed[kw.name][2]
            if not isinstance(kw.value, ast.Name) or kw.value.id not in choices:
                lowering.fail("E505", f"{kw.name} is " + ", ".join(choices[:-1]) + f" or {choices[-1]}",
                              kw.value.span, f"write e.g. {kw.name} = {choices[-1]}")
            values[kw.name] = kw.value.id
        elif kind == "flag":
            if not isinstance(kw.value, ast.Name) or kw.value.id not in ("true", "false"):
                lowering.fail("E505", f"{kw.name} is true or false", kw.value.span)
            values[kw.name] = kw.value.id == "true"
        elif kind == "int":
            values[kw.name] = lowering.integer(kw.value, kw.name, 0 if kw.name == "seed" else 1)
        else:
            values[kw.name] = lowering.real(kw.value, kw.name)
    return values


def _toy(st, call, lowering) -> ir.DataSet:
    if call.positional:
        lowering.fail("E505", f"{call.func}() options are named, as samples = 1000",
                      call.positional[0].span)
    allowed = {"samples": ("int", 1000), "seed": ("int", 0),
               "noise": ("real", 0.5 if call.func == "eight_gaussians" else 0.1)}
    if call.func == "checkerboard":   # uniform on its squares: no noise
        del allowed["noise"]
    options = _options(call, lowering, allowed)
    fields = (ir.DataField(name="x", shape=(2,)), ir.DataField(name="label", shape=(), integer=True))
    return ir.DataSet(name=st.name, generator=call.func, options=tuple(sorted(options.items())),
                      fields=fields, batched=True, span=st.span)


def _ode(st, call, lowering) -> ir.DataSet:
    """ode(dt(u) = ..., u(0) = ..., t = ...), or a system: one dt(.) and one start per state."""
    equations = [a for a in call.args if isinstance(a, ast.Equation)]
    plain = [a for a in call.args if not isinstance(a, (ast.Equation, ast.Keyword))]
    derivatives = [e for e in equations if isinstance(e.lhs, ast.Call) and e.lhs.func == "dt"]
    starts = [e for e in equations if e not in derivatives]
    if not derivatives or len(starts) > len(derivatives) or plain:
        lowering.fail("E505", "ode() takes equations and their initial values: "
                      "ode(dt(u) = ..., u(0) = [...], t = linspace(0, 1, 11))", call.span)
    states = []
    for equation in derivatives:
        lhs = equation.lhs
        if not (len(lhs.args) == 1 and isinstance(lhs.args[0], ast.Name)):
            lowering.fail("E505", "the equation of ode() reads dt(u) = ...", lhs.span)
        if lhs.args[0].id in states:
            lowering.fail("E505", f"dt({lhs.args[0].id}) is given twice", lhs.span)
        states.append(lhs.args[0].id)
    initial_of = {}
    for initial in starts:
        if not (isinstance(initial.lhs, ast.Call) and initial.lhs.func in states
                and initial.lhs.func not in initial_of):
            lowering.fail("E505", f"the initial values of ode() read {states[0]}(0) = ..., one per state",
                          initial.lhs.span)
        initial_of[initial.lhs.func] = initial.rhs
    missing = [state for state in states if state not in initial_of]
    if missing:
        lowering.fail("E505", f"ode() has no initial value for {', '.join(missing)}", call.span,
                      f"add {missing[0]}(0) = [...]")
    # initial values: a list of numbers (one trajectory) or normal(mean, std, size) per sample
    shapes, start = {}, []
    for state in states:
        shapes[state], first = _ode_start(initial_of[state], lowering)
        start.append(first)
    options = {"start": tuple(start)}
    samples, times_node = 0, None
    for kw in call.keywords:
        if kw.name == "t":
            options["times"], times_node = _times(kw.value, lowering), kw.value
        elif kw.name == "samples":
            samples = lowering.integer(kw.value, "samples")
        elif kw.name == "seed":
            options["seed"] = lowering.integer(kw.value, "seed", 0)
        elif kw.name == "steps":
            options["steps"] = lowering.integer(kw.value, "steps")
        elif kw.name == "method":
            methods = registry.data_methods()
            if not isinstance(kw.value, ast.Name) or kw.value.id not in methods:
                lowering.fail("E505", f"method is {' or '.join(methods)}", kw.value.span)
            options["method"] = kw.value.id
        else:
            lowering.fail("E505", f"ode() has no option '{kw.name}'", kw.span,
                          "options: t, samples, seed, steps, method")
    if "times" not in options:
        lowering.fail("E505", "ode() needs the observation times t = linspace(...) or t = T", call.span)
    if any(first[0] == "normal" for first in start) and not samples:
        random = next(initial_of[s] for s, first in zip(states, start) if first[0] == "normal")
        lowering.fail("E505", "random initial values need samples = N", random.span)
    options.setdefault("seed", 0)
    options.setdefault("method", registry.recommended(registry.FIRST_ORDER).name)
    options.setdefault("steps", 100 * max(1, len(options["times"]) - 1))
    _check_on_grid(options["times"], options["steps"], times_node, lowering)
    options["samples"] = samples or 1
    # the right-hand sides, with the states as local names
    for equation, state in zip(derivatives, states):
        if state in lowering.scope:
            lowering.fail("E102", f"'{state}' is already declared; the ode() state is local",
                          equation.lhs.span)
    for state in states:
        lowering.scope[state] = Entry("state", shapes[state], True)
    try:
        rhs = [lowering.lower(equation.rhs) for equation in derivatives]
    finally:
        for state in states:
            del lowering.scope[state]
    for equation, state, side in zip(derivatives, states, rhs):
        if side.shape != shapes[state]:
            lowering.fail("E207", f"dt({state}) is {fmt_shape(shapes[state])} but the right side is "
                          f"{fmt_shape(side.shape)}", equation.rhs.span)
    times = options["times"]
    fields = [ir.DataField(name="t", shape=(len(times),))]
    for state in states:
        shape = shapes[state]
        fields += [ir.DataField(name=state + "0", shape=shape),
                   ir.DataField(name=state, shape=((len(times),) + shape) if len(times) > 1 else shape)]
    return ir.DataSet(name=st.name, generator="ode", options=tuple(sorted(options.items())),
                      fields=tuple(fields), batched=bool(samples), states=tuple(states),
                      rhs=tuple(side.expr for side in rhs), span=st.span)


def _ode_start(init, lowering) -> tuple:
    """(shape, start) of one initial value: ('normal', mean, std) or ('value', numbers...)."""
    if isinstance(init, ast.Call) and init.func == "normal":
        if len(init.positional) != 3:
            lowering.fail("E505", "random initial values read normal(mean, std, size)", init.span)
        mean, std = (lowering.real(a, "normal()") for a in init.positional[:2])
        size = lowering.integer(init.positional[2], "the state size")
        return (size,), ("normal", mean, std)
    value = lowering.constant_value(init, "the initial value")
    if isinstance(value, sympy.MatrixBase):
        return (value.shape[0],), ("value",) + tuple(float(v) for v in value)
    return (), ("value", float(value))


def _times(node, lowering) -> tuple:
    """The observation times: increasing, from t >= 0 (the ode starts at t = 0)."""
    if isinstance(node, ast.Call) and node.func == "linspace":
        if len(node.positional) != 3 or node.keywords:
            lowering.fail("E505", "linspace(start, stop, count)", node.span)
        a, b = (lowering.real(x, "linspace()") for x in node.positional[:2])
        count = lowering.integer(node.positional[2], "the number of times", 2)
        if count > limits.MAX_TIMES:
            lowering.fail("E231", f"linspace(...) asks for {count:,} observation times, more than the "
                          f"limit of {limits.MAX_TIMES:,}", node.positional[2].span,
                          "observe at fewer times; the states between them are computed anyway")
        if a < 0:
            lowering.fail("E508", f"observation times start at t = {a:g}, before the ode starts",
                          node.positional[0].span, "the ode starts at t = 0: write linspace(0, ...)")
        if b <= a:
            lowering.fail("E508", f"observation times must increase, but linspace runs from t = {a:g} "
                          f"to t = {b:g}", node.span, "write linspace(start, stop, count) with stop > start")
        # a + (b - a) * k/(count - 1), each operation rounded once, as sympy's Float would
        import numpy as np
        return tuple((a + (b - a) * (np.arange(count) / (count - 1))).tolist())
    end = lowering.real(node, "the final time")
    if end <= 0:
        lowering.fail("E508", f"the observation time must be after the start t = 0, but it is {end:g}",
                      node.span, "write t = T with T > 0, or t = linspace(0, T, count)")
    return (end,)


def on_grid(t: float, h: float) -> bool:
    """Whether time t is a grid point k*h, to the tolerance the emitted module records it with
    (relative to t: with 10^7 steps, t/h itself is off by about 1e-9)."""
    return abs(round(t / h) * h - t) <= 1e-9 * max(1.0, t)


def _check_on_grid(times, steps, node, lowering):
    """The data are simulated with `steps` fixed steps from t = 0 to the last time and recorded
    when a step lands on an observation time: every time must be on that grid."""
    h = times[-1] / steps
    if h == 0:
        lowering.fail("E230", f"the step {times[-1]:g}/{steps} of the {steps} steps that simulate the "
                      "data is too small for a floating-point number: it would round to 0", node.span,
                      "a step is at least about 5e-324; observe over a longer time or give fewer steps = N")
    if not all(on_grid(t, h) for t in times):
        lowering.fail("E508", f"observation times are not on the grid of the {steps} steps that "
                      f"simulate the data (h = {h:g})", node.span,
                      "start the times at t = 0, or give steps = N so that every time is a "
                      "multiple of the last time / N")


def _load(st, lowering) -> ir.DataSet:
    """A data file: .npz (arrays with samples on the first axis) or .csv (a header row; a column
    `name` is a field, columns `name[0]`, `name[1]`, ... a vector field).

    The path is relative to the folder of the spec; the IR keeps it so (not where the file was
    at compile time), and the emitted module reads it relative to its own folder, so a module
    compiled beside its spec, or moved with its data, runs anywhere.  A path that leaves the
    spec's folder (.., an absolute path, a link out of it) is W101, and no message quotes what
    such a file holds."""
    path = lowering.spec_dir / st.path
    if path.suffix not in (".npz", ".csv"):
        raise Unsupported(f"data files of type '{path.suffix}' (only .npz and .csv)", st.span)
    try:
        inside, found = _inside(st.path, lowering.spec_dir), path.is_file()
    except (OSError, RuntimeError) as exc:   # a name too long, a loop of links
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "a loop of links"
        lowering.fail("E506", f"data file '{st.path}' cannot be opened: {reason.lower()}", st.span)
    if not inside:
        lowering.sink.add(finding(
            "W101", "warning", f"data file '{st.path}' is outside the folder of the spec", st.span,
            "the emitted module looks for it at this path from its own folder or the spec's (or "
            "$SCIML_DATA_DIR), so it runs only where the same path reaches the file; copy the file "
            "into the spec's folder and load it from there", path=st.path))
    if not found:
        lowering.fail("E506", f"data file '{st.path}' not found", st.span,
                      "the path is relative to the folder of the spec")
    read = _npz_fields if path.suffix == ".npz" else _csv_fields
    fields = read(path, st, lowering, inside)
    for f in fields:
        if not f.name.isidentifier():
            shown = f"'{f.name}'" if inside else "an array name"
            lowering.fail("E506", f"{shown} in '{st.path}' is not a valid field name", st.span)
    return ir.DataSet(name=st.name, generator="load",
                      options=(("path", _module_path(st.path, lowering.spec_dir, inside)),),
                      fields=fields, batched=True, outside=not inside, span=st.span)


def _inside(written: str, spec_dir) -> bool:
    """Whether the path as written stays in the spec's folder: relative, and inside it once
    `..` and links are resolved."""
    if PurePath(written).is_absolute():
        return False
    return (spec_dir / written).resolve().is_relative_to(spec_dir.resolve())


def _module_path(written: str, spec_dir, inside: bool) -> str:
    """The path the emitted module reads, relative to its own folder: for a file inside the
    spec's folder, from that folder without `..` detours (links kept); otherwise as written."""
    if not inside:
        return written
    folder = os.path.abspath(spec_dir)
    return PurePath(os.path.relpath(os.path.abspath(os.path.join(folder, written)), folder)).as_posix()


def _npz_fields(path, st, lowering, inside: bool = True) -> tuple:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in sorted(archive.files)}
    except Exception:  # a broken file is the user's input, not our crash; numpy's own message
        # (about pickled data, for a file that is no archive) would mislead
        lowering.fail("E506", f"cannot read '{st.path}' as a .npz archive", st.span,
                      "write it with numpy.savez(path, x=..., label=...)")
    counts = {values.shape[0] for values in arrays.values() if values.shape}
    if len(counts) != 1 or any(values.ndim == 0 or values.ndim > 2 or len(values) == 0
                               for values in arrays.values()):
        lowering.fail("E506", f"every array in '{st.path}' needs the same number of samples on its "
                      "first axis (and at most one more axis)", st.span)
    if any(values.dtype.kind not in "iuf" for values in arrays.values()):
        lowering.fail("E506", f"the arrays in '{st.path}' must hold integers or floats", st.span)
    for name, values in arrays.items():
        if not np.isfinite(values).all():
            shown = f"array '{name}'" if inside else "an array"
            lowering.fail("E506", f"{shown} in '{st.path}' holds values that are not finite (nan or inf)",
                          st.span)
    return tuple(ir.DataField(name=name, shape=tuple(values.shape[1:]), integer=values.dtype.kind in "iu")
                 for name, values in arrays.items())


def _csv_fields(path, st, lowering, inside: bool = True) -> tuple:
    import csv
    import re

    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.reader(handle) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        reason = f": {exc}" if inside else " as text"
        lowering.fail("E506", f"cannot read '{st.path}'{reason}", st.span)
    if len(rows) < 2 or any(len(row) != len(rows[0]) for row in rows):
        lowering.fail("E506", f"'{st.path}' needs a header row and at least one row of data, all "
                      "of the same length", st.span)
    columns = {}  # field -> {index or None: column}
    for column, title in enumerate(rows[0]):
        shown = f"'{title}'" if inside else f"{column + 1}"   # a file outside: no contents shown
        match = re.fullmatch(r"\s*(\w+)\s*(?:\[\s*(\d+)\s*\])?\s*", title)
        if match is None:
            lowering.fail("E506", f"column title {shown} in '{st.path}' is not a name or name[k]", st.span)
        index = int(match.group(2)) if match.group(2) is not None else None
        entries = columns.setdefault(match.group(1), {})
        if index in entries or (entries and (index is None) != (None in entries)):
            lowering.fail("E506", f"column {shown} in '{st.path}' repeats or mixes name and name[k]",
                          st.span)
        entries[index] = column
    fields = []
    for name, entries in sorted(columns.items()):
        if None not in entries and sorted(entries) != list(range(len(entries))):
            lowering.fail("E506", f"the columns {name}[k] in '{st.path}' must be numbered 0, 1, ...", st.span)
        values = [row[c].strip() for c in entries.values() for row in rows[1:]]
        for value in values:
            try:
                if not math.isfinite(float(value)):
                    raise ValueError
            except ValueError:
                shown = f"'{value}' in column {name}" if inside else f"a value in column {name}"
                lowering.fail("E506", f"{shown} of '{st.path}' is not a finite number", st.span)
        integer = all(re.fullmatch(r"[+-]?\d+", v) for v in values)
        fields.append(ir.DataField(name=name, shape=() if None in entries else (len(entries),),
                                   integer=integer))
    return tuple(fields)
