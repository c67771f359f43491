"""Lower the `scheme` line and check that the scheme fits the equations.

Which scheme suits which equations:
  euler, rk4, dopri5, imex   first-order systems   dt(Y) = f(Y)
  verlet                     a separable pair      dt(Y) = f(Z), dt(Z) = g(Y)
  leapfrog                   one second-order state dt(dt(Y)) = f(Y)
"""
from __future__ import annotations

import sympy

from sciml.frontend import ast
from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.lowering.datasets import on_grid
from sciml.lowering.expressions import fmt_shape

FIXED_STEP = ("euler", "rk4", "verlet", "leapfrog", "imex")
_OPTIONS = {
    "euler": ("steps", "T"), "rk4": ("steps", "T"), "leapfrog": ("steps", "T"),
    "verlet": ("steps", "T", "memory"), "imex": ("steps", "T", "L"),
    "dopri5": ("T", "rtol", "atol", "adjoint"),
}


def lower_scheme(call: ast.Call, lowering) -> ir.Scheme:
    names = _OPTIONS[call.func]
    given = {}
    for position, arg in enumerate(call.positional):
        if position >= (1 if call.func == "dopri5" else 2):
            lowering.fail("E402", f"{call.func}() takes at most {'(T)' if call.func == 'dopri5' else '(steps, T)'} "
                          "positionally; name the other options", arg.span)
        given[("T",)[position] if call.func == "dopri5" else names[position]] = arg
    for kw in call.keywords:
        if kw.name not in names:
            lowering.fail("E402", f"{call.func}() has no option '{kw.name}'", kw.span,
                          "options: " + ", ".join(names))
        if kw.name in given:
            lowering.fail("E402", f"option '{kw.name}' is given twice", kw.span)
        given[kw.name] = kw.value
    for required in ("steps", "T") if call.func in FIXED_STEP else ("T",):
        if required not in given:
            lowering.fail("E402", f"{call.func}() needs {required}", call.span,
                          f"write e.g. {call.func}(steps = 20, T = 1.0)" if call.func != "dopri5"
                          else "write e.g. dopri5(T = 1.5, rtol = 1e-6, atol = 1e-8)")
    steps = lowering.integer(given["steps"], "the number of steps") if "steps" in given else 0
    t_end = lowering.real(given["T"], "the final time T")
    if t_end <= 0:
        lowering.fail("E402", "the final time T must be positive", given["T"].span)
    if steps and t_end / steps == 0:
        lowering.fail("E230", f"the step h = T/steps = {t_end:g}/{steps} is too small for a "
                      "floating-point number: it would round to 0", given["T"].span,
                      "a step is at least about 5e-324; use a larger T or fewer steps")
    options = {}
    if call.func == "dopri5":
        options["rtol"] = lowering.real(given["rtol"], "rtol") if "rtol" in given else 1e-6
        options["atol"] = lowering.real(given["atol"], "atol") if "atol" in given else 1e-8
        options["adjoint"] = _flag(given.get("adjoint"), lowering, "adjoint", True)
    if call.func == "verlet":
        memory = given.get("memory")
        if memory is not None and not (isinstance(memory, ast.Name) and memory.id in ("store", "recompute")):
            lowering.fail("E402", "memory is store or recompute", memory.span)
        options["memory"] = memory.id if memory is not None else "store"
    if call.func == "imex":
        if "L" not in given:
            lowering.fail("E405", "imex() needs the stiff linear operator L", call.span,
                          "write imex(steps, T, L = L) with L a symmetric positive semi-definite constant")
        options["L"] = _imex_operator(given["L"], lowering)
    return ir.Scheme(kind=call.func, steps=steps, t_end=t_end, options=tuple(sorted(options.items())),
                     span=call.span)


def _flag(node, lowering, name, default):
    if node is None:
        return default
    if not isinstance(node, ast.Name) or node.id not in ("true", "false"):
        lowering.fail("E402", f"{name} is true or false", node.span)
    return node.id == "true"


def _imex_operator(node, lowering) -> str:
    if isinstance(node, ast.Name):
        lowering.exprs.skip_if_failed(node.id)
    if not isinstance(node, ast.Name) or lowering.scope.get(node.id) is None \
            or lowering.scope[node.id].kind != "const":
        lowering.fail("E405", "L must name a constant matrix", node.span,
                      "declare it: const L = [[2, -1], [-1, 2]]")
    value = lowering.scope[node.id].node.value
    if not isinstance(value, sympy.MatrixBase) or value.shape[0] != value.shape[1]:
        lowering.fail("E405", f"L must be a square matrix", node.span)
    if value != value.T:
        lowering.fail("E405", "L must be symmetric", node.span,
                      "IMEX treats L Y implicitly; (I + h L) is then invertible for every h > 0")
    import numpy as np  # a symmetric eigenvalue problem in floating point: any size, any scale
    matrix = np.array(value.tolist(), dtype=float)
    scale = max(1.0, float(np.abs(matrix).max()))   # entries near 1e308 would overflow in LAPACK
    smallest = float(np.linalg.eigvalsh(matrix / scale).min())
    if not smallest >= -1e-12:
        lowering.fail("E405", "L must be positive semi-definite", node.span,
                      f"its smallest eigenvalue is {smallest * scale:.3g}")
    return node.id


def check_scheme_fits(lowering):
    """Errors when the scheme cannot integrate these equations."""
    scheme, equations, sink = lowering.scheme, lowering.equations, lowering.sink
    orders = {e.state: e.order for e in equations}
    if scheme.kind == "leapfrog":
        if len(equations) != 1 or equations[0].order != 2:
            sink.error("E403", "leapfrog integrates one second-order equation dt(dt(Y)) = f(Y)",
                       scheme.span, "for first-order systems use euler, rk4 or verlet")
    elif scheme.kind == "verlet":
        _check_separable(lowering)
    else:
        for eq in equations:
            if eq.order != 1:
                sink.error("E403", f"{scheme.kind} integrates first-order equations, but "
                           f"dt(dt({eq.state})) is second order", eq.span,
                           "use scheme leapfrog(steps, T)")
    if scheme.kind == "imex" and len(equations) > 1:
        sink.error("E403", "imex integrates one equation dt(Y) = f(Y) + L Y - L Y (L Y implicit), "
                   f"but the model has {len(equations)} states", scheme.span,
                   "stack the states into one vector state, or use euler, rk4 or dopri5 for a system")
    elif scheme.kind == "imex":
        L = lowering.scope[scheme.option("L")].node
        for state in lowering.states:
            if state.shape != (L.shape[0],):
                sink.error("E405", f"L is {fmt_shape(L.shape)} but state '{state.name}' is "
                           f"{fmt_shape(state.shape)}", scheme.span)
    _check_times(lowering)
    _check_recompute(lowering)


def _check_recompute(lowering):
    """memory = recompute keeps only the final states: nothing may be observed on the way."""
    scheme = lowering.scheme
    if scheme.kind != "verlet" or scheme.option("memory") != "recompute":
        return
    for expr in [lowering.loss[0]] + [r.expr for r in lowering.reports]:
        for at in expr.atoms(S.StateAt):
            if not at.args[1].is_number:
                lowering.sink.error(
                    "E407", "memory = recompute keeps only the states at T, but the loss observes "
                    f"{at.args[0]} at data times", scheme.span,
                    "observe the states at T only, or use memory = store")
                return


def _check_separable(lowering):
    scheme, equations, sink = lowering.scheme, lowering.equations, lowering.sink
    if len(equations) != 2 or any(e.order != 1 for e in equations):
        sink.error("E404", "verlet integrates a pair dt(Y) = f(Z), dt(Z) = g(Y)", scheme.span,
                   "for a single state use rk4, for dt(dt(Y)) use leapfrog")
        return
    first, second = equations
    state_names = {first.state, second.state}
    for eq, other in ((first, second.state), (second, first.state)):
        used = {str(s) for s in eq.rhs.free_symbols} & state_names
        if used - {other}:
            sink.error("E404", f"verlet needs dt({eq.state}) to depend on {other} only, but it reads "
                       f"{', '.join(sorted(used))}", eq.span,
                       "the staggered update is explicit only for separable systems; use rk4")


def _check_times(lowering):
    """A state is asked for at the final time T, or at observation times in [0, T] (on the grid
    of a fixed-step scheme).  Errors point at where the state is asked for."""
    scheme, sink = lowering.scheme, lowering.sink
    asked = []
    for expr in [lowering.loss[0]] + [r.expr for r in lowering.reports]:
        asked += [a for a in sorted(expr.atoms(S.StateAt), key=sympy.default_sort_key) if a not in asked]
    off_grid = set()
    for at in asked:
        state, time = at.args
        span = lowering.exprs.state_at_spans.get(at, lowering.loss[1])
        if time.is_number:
            if abs(float(time) - scheme.t_end) > 1e-12 * max(1.0, scheme.t_end):
                sink.error("E406", f"{state}({float(time):g}) is asked for, but the scheme "
                           f"ends at T = {scheme.t_end:g}", span,
                           f"write {state}(T) or observe at data times")
            continue
        dataset = lowering.scope[str(time).split(".")[0]].node  # Y(obs.t), see _state_at
        times = dataset.option("times", ())
        if times and times[-1] > scheme.t_end * (1 + 1e-12):
            sink.error("E406", f"observations run to t = {times[-1]:g}, past the scheme's "
                       f"T = {scheme.t_end:g}", span,
                       f"observe at times up to T, or run the scheme to T = {times[-1]:g}")
        elif scheme.kind in FIXED_STEP and dataset.name not in off_grid:
            h = scheme.t_end / scheme.steps
            if not all(on_grid(t, h) for t in times):
                off_grid.add(dataset.name)
                sink.error("E406", f"observation times are not on the grid of step h = {h:g}",
                           scheme.span, "choose steps so that every observation time is a "
                           "multiple of T/steps, or use dopri5")
