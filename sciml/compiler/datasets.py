"""Lower `data` statements: generated data sets and files.

Generated data is drawn in the emitted module with numpy from the seed written in the spec,
so every backend trains on identical numbers and no example needs a download.
"""
from __future__ import annotations

import sympy

from . import ast, ir
from .expressions import Entry, Unsupported, fmt_shape

TOY_SETS = {
    # name: (description, default options)
    "spirals": "two interleaved spirals in the plane, labels 0/1",
    "two_moons": "two interleaved half circles in the plane, labels 0/1",
}
GENERATORS = tuple(TOY_SETS) + ("ode",)
PLANNED = ("peaks", "digits", "ou_paths", "normal", "gaussian_mixture", "checkerboard")


def lower_dataset(st: ast.DataStmt, lowering) -> ir.DataSet:
    if st.kind == "load":
        return _load(st, lowering)
    call = st.call
    if call.func in TOY_SETS:
        return _toy(st, call, lowering)
    if call.func == "ode":
        return _ode(st, call, lowering)
    if call.func in PLANNED:
        raise Unsupported(f"the '{call.func}' data generator", call.func_span)
    lowering.fail("E504", f"unknown data generator '{call.func}'", call.func_span,
                  "generators: " + ", ".join(GENERATORS) + "; or load \"file.npz\"")


def _options(call, lowering, allowed: dict) -> dict:
    """Keyword options with defaults; `allowed` maps name -> (kind, default)."""
    values = {name: default for name, (_, default) in allowed.items()}
    for kw in call.keywords:
        if kw.name not in allowed:
            lowering.fail("E505", f"{call.func}() has no option '{kw.name}'", kw.span,
                          "options: " + ", ".join(allowed))
        kind = allowed[kw.name][0]
        if kind == "int":
            values[kw.name] = lowering.integer(kw.value, kw.name, 0 if kw.name == "seed" else 1)
        else:
            values[kw.name] = lowering.real(kw.value, kw.name)
    return values


def _toy(st, call, lowering) -> ir.DataSet:
    if call.positional:
        lowering.fail("E505", f"{call.func}() options are named, as samples = 1000",
                      call.positional[0].span)
    options = _options(call, lowering, {"samples": ("int", 1000), "seed": ("int", 0),
                                         "noise": ("real", 0.1)})
    fields = (ir.DataField(name="x", shape=(2,)), ir.DataField(name="label", shape=(), integer=True))
    return ir.DataSet(name=st.name, generator=call.func, options=tuple(sorted(options.items())),
                      fields=fields, batched=True, span=st.span)


def _ode(st, call, lowering) -> ir.DataSet:
    equations = [a for a in call.args if isinstance(a, ast.Equation)]
    plain = [a for a in call.args if not isinstance(a, (ast.Equation, ast.Keyword))]
    if len(equations) != 2 or plain:
        lowering.fail("E505", "ode() takes an equation and an initial value: "
                      "ode(dt(u) = ..., u(0) = [...], t = linspace(0, 1, 11))", call.span)
    equation, initial = equations
    lhs = equation.lhs
    if not (isinstance(lhs, ast.Call) and lhs.func == "dt" and len(lhs.args) == 1
            and isinstance(lhs.args[0], ast.Name)):
        lowering.fail("E505", "the equation of ode() reads dt(u) = ...", lhs.span)
    state = lhs.args[0].id
    if not (isinstance(initial.lhs, ast.Call) and initial.lhs.func == state):
        lowering.fail("E505", f"the initial value of ode() reads {state}(0) = ...", initial.lhs.span)
    # initial value: a list of numbers (one trajectory) or normal(mean, std, size) per sample
    init = initial.rhs
    samples = 0
    if isinstance(init, ast.Call) and init.func == "normal":
        if len(init.positional) != 3:
            lowering.fail("E505", "random initial values read normal(mean, std, size)", init.span)
        mean, std = (lowering.real(a, "normal()") for a in init.positional[:2])
        size = lowering.integer(init.positional[2], "the state size")
        start = ("normal", mean, std)
        shape = (size,)
    else:
        value = lowering.constant_value(init, "the initial value")
        if isinstance(value, sympy.MatrixBase):
            shape, start = (value.shape[0],), ("value",) + tuple(float(v) for v in value)
        else:
            shape, start = (), ("value", float(value))
    options = {"start": start}
    for kw in call.keywords:
        if kw.name == "t":
            options["times"] = _times(kw.value, lowering)
        elif kw.name == "samples":
            samples = lowering.integer(kw.value, "samples")
        elif kw.name == "seed":
            options["seed"] = lowering.integer(kw.value, "seed", 0)
        elif kw.name == "steps":
            options["steps"] = lowering.integer(kw.value, "steps")
        elif kw.name == "method":
            if not isinstance(kw.value, ast.Name) or kw.value.id not in ("euler", "rk4"):
                lowering.fail("E505", "method is euler or rk4", kw.value.span)
            options["method"] = kw.value.id
        else:
            lowering.fail("E505", f"ode() has no option '{kw.name}'", kw.span,
                          "options: t, samples, seed, steps, method")
    if "times" not in options:
        lowering.fail("E505", "ode() needs the observation times t = linspace(...) or t = T", call.span)
    if start[0] == "normal" and not samples:
        lowering.fail("E505", "random initial values need samples = N", init.span)
    options.setdefault("seed", 0)
    options.setdefault("method", "rk4")
    options.setdefault("steps", 100 * max(1, len(options["times"]) - 1))
    options["samples"] = samples or 1
    # the right-hand side, with the state as a local name
    if state in lowering.scope:
        lowering.fail("E102", f"'{state}' is already declared; the ode() state is local", lhs.span)
    lowering.scope[state] = Entry("state", shape, True)
    try:
        rhs = lowering.lower(equation.rhs)
    finally:
        del lowering.scope[state]
    if rhs.shape != shape:
        lowering.fail("E207", f"dt({state}) is {fmt_shape(shape)} but the right side is "
                      f"{fmt_shape(rhs.shape)}", equation.rhs.span)
    times = options["times"]
    fields = (ir.DataField(name="t", shape=(len(times),)),
              ir.DataField(name=state + "0", shape=shape),
              ir.DataField(name=state, shape=((len(times),) + shape) if len(times) > 1 else shape))
    return ir.DataSet(name=st.name, generator="ode", options=tuple(sorted(options.items())),
                      fields=fields, batched=bool(samples), state=state, rhs=rhs.expr, span=st.span)


def _times(node, lowering) -> tuple:
    if isinstance(node, ast.Call) and node.func == "linspace":
        if len(node.positional) != 3 or node.keywords:
            lowering.fail("E505", "linspace(start, stop, count)", node.span)
        a, b = (lowering.real(x, "linspace()") for x in node.positional[:2])
        count = lowering.integer(node.positional[2], "the number of times", 2)
        return tuple(float(v) for v in (sympy.Float(a) + (sympy.Float(b) - a) * sympy.Rational(k, count - 1)
                                        for k in range(count)))
    return (lowering.real(node, "the final time"),)


def _load(st, lowering) -> ir.DataSet:
    import numpy as np

    path = (lowering.spec_dir / st.path)
    if path.suffix != ".npz":
        raise Unsupported(f"data files of type '{path.suffix}' (only .npz)", st.span)
    if not path.is_file():
        lowering.fail("E506", f"data file '{st.path}' not found (looked in {lowering.spec_dir})", st.span,
                      "paths are relative to the spec's folder")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: (archive[name].shape, archive[name].dtype.kind) for name in sorted(archive.files)}
    except Exception as exc:  # a broken file is the user's input, not our crash
        lowering.fail("E506", f"cannot read '{st.path}': {exc}", st.span)
    counts = {shape[0] for shape, _ in arrays.values() if shape}
    if len(counts) != 1 or any(len(s) == 0 or len(s) > 2 for s, _ in arrays.values()):
        lowering.fail("E506", f"every array in '{st.path}' needs the same number of samples on its "
                      "first axis (and at most one more axis)", st.span)
    fields = tuple(ir.DataField(name=name, shape=tuple(shape[1:]), integer=kind in "iu")
                   for name, (shape, kind) in arrays.items())
    for f in fields:
        if not f.name.isidentifier():
            lowering.fail("E506", f"array name '{f.name}' in '{st.path}' is not a valid field name", st.span)
    return ir.DataSet(name=st.name, generator="load", options=(("path", str(path.resolve())),),
                      fields=fields, batched=True, span=st.span)
