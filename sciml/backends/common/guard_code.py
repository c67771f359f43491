"""The runtime stability check (`--check-stability`): the analysis' step-size bounds that read
learned weights (finding A202), evaluated with the current weights.

The check is numpy code in the shared half of the module, so the torch and the JAX module
compute the same numbers: the spectral norm of each weight matrix the bound names (exact, from
the singular values: the matrices of a network-as-ODE are small), the bound, and whether the
scheme's h satisfies it.  Per-step weights K(t) give one bound per step; the check takes the
smallest.  Symbols print through a name table, as everywhere else.
"""
from __future__ import annotations

from sciml.backends.common.numpy_code import NumpyCodePrinter, number_literal
from sciml.backends.common.quoting import comment, literal
from sciml.lowering import ir


FUNCTION_NAMES = ("largest_speed", "make_data", "float", "bool", "min", "max")   # what the checks call

MONITOR = '''
class StabilityMonitor:
    """--check-stability: check_stability() on the weights of every `every`-th training step
    (and the initial ones); each bound that fails is said on stderr, with the step."""

    def __init__(self, every):
        self.every, self.checks, self.failures, self.smallest = max(1, every), 0, 0, {}
        if not STABILITY_BOUNDS:
            print(f"--check-stability: no step-size bound of {MODEL} reads learned weights; "
                  "nothing to check", file=sys.stderr)

    def __call__(self, step, params):
        self.checks += 1
        for text, value, holds in check_stability(params):
            self.smallest[text] = min(value, self.smallest.get(text, np.inf))
            if not holds:
                self.failures += 1
                print(f"step {step:6d}  stability: {text} fails: h = {h:.6g} but the bound is "
                      f"{value:.6g}", file=sys.stderr)

    def summary(self):
        return {"bounds": list(STABILITY_BOUNDS), "checks": self.checks, "failures": self.failures,
                "smallest_bound": self.smallest}
'''


LARGEST_SPEED = '''
SPEED_VALUES = {}   # the values a largest speed is taken over, made once: (data set, field) -> a row


def largest_speed(params, over, speed):
    """max |speed(p, v)| over the values v of `over` (101 from the least to the largest of a data
    field, or of a state's initial values), with the current weights: the backend's arrays in
    float64 on the CPU."""
    if over not in SPEED_VALUES:
        values = make_data()[over[0]][over[1]] if len(over) == 2 else over[0]
        SPEED_VALUES[over] = np.linspace(np.min(values), np.max(values), 101)[None, :]
    dtype = _runtime.DTYPES["float64"]
    p, device = _runtime.place_params(params, dtype, "cpu")
    v = _runtime.to_arrays({"v": SPEED_VALUES[over]}, dtype, device)["v"]
    return float(np.max(np.abs(_runtime.to_numpy({"a": speed(p, v)})["a"])))
'''


def emit_guard_section(model: ir.Model, names: dict, source_name: str, writer=None) -> list[str]:
    """`check_stability(params) -> [(bound as written, value, holds)]` and the monitor that
    training calls it through.  A bound on a network's largest speed on a grid (guard.extrema)
    evaluates the speed with the backend's network functions (`writer` prints it) over the
    values the analysis names (`largest_speed`)."""
    guards = [g for g in model.guards if not g.extrema or writer is not None]
    texts = tuple(g.text for g in guards)
    lines = ["# ---- the runtime stability check (--check-stability): the analysis' bounds, A202",
             f"STABILITY_BOUNDS = {literal(texts)}", "", ""]
    if any(g.extrema for g in guards):
        lines += LARGEST_SPEED.strip("\n").split("\n") + ["", ""]
    if not guards:
        return lines + ["def check_stability(params):",
                        '    """No step-size bound of this model reads learned weights."""',
                        "    return []", "", ""] + MONITOR.strip("\n").splitlines()
    lines += ["def check_stability(params):",
             '    """Each step-size bound with the current (numpy) weights: [(bound, value, holds)];',
             '    the value is the smallest over the steps for per-step weights."""',
             "    checks = []"]
    for guard in guards:
        lines += _guard_lines(model, names, guard, source_name, writer)
    return lines + ["    return checks", "", ""] + MONITOR.strip("\n").splitlines()


def _speed_lines(guard, names, local, fresh, writer, indent) -> list[str]:
    """`max_a = largest_speed(params, over, lambda p, c: <the speed>)` for each largest speed
    the bound reads."""
    lines = []
    for symbol, speed, state, over in guard.extrema:
        local[symbol.name] = fresh("max_speed")
        argument = names.get(str(state), "v")   # the lambda's own: the state's name reads as in the spec
        code = writer.code(speed, {**writer.names, str(state): argument})
        if over[0] == "data":
            data_set, field = str(over[1]).split(".")
            where = f"({literal(data_set)}, {literal(field)})"
        else:   # the state's initial values at the nodes (the constant of its start)
            start = next(c for c in writer.m.constants if c.derived and c.derived[0] == "formula"
                         and c.name.startswith(str(state)))
            where = f"({names.get(start.name, start.name)},)"
        lines.append(f"{indent}{local[symbol.name]} = largest_speed(params, {where}, lambda p, {argument}: {code})")
    return lines


def _guard_lines(model: ir.Model, names: dict, guard: ir.StabilityGuard, source_name: str, writer=None) -> list[str]:
    per_step = {p.name for p in model.parameters if p.per_step}
    constants = {c.name for c in model.constants}
    literals = dict(guard.literals)
    # the function's own names, and the module's the bound reads (constants, functions): a
    # parameter's local takes its own name unless one of those has it
    taken = ({names[c] for c in constants} | set(FUNCTION_NAMES)
             | {"params", "checks", "bound", "holds", "conditions", "j", "np", "h", "N_STEPS"})
    local: dict[str, str] = {}

    def fresh(base: str) -> str:
        while base in taken:
            base += "_"
        taken.add(base)
        return base

    speeds = {e[0] for e in guard.extrema}
    scalars = sorted({s for s in guard.bound.free_symbols.union(*(r.free_symbols for r in guard.requires))
                      if not s.name.startswith("norm2(") and s not in speeds}, key=lambda s: s.name)
    stepwise = any(s.name in per_step for s in scalars) or any(
        letter in per_step for _, _, terms in guard.norms for word, _ in terms for letter, _ in word)
    indent = "        " if stepwise else "    "
    body = []
    for s in scalars:
        local[s.name] = fresh(names[s.name])
        index = "[j]" if s.name in per_step else ""
        body.append(f"{indent}{local[s.name]} = params[{literal(names[s.name])}]{index}.item()")
    if guard.extrema:
        body += _speed_lines(guard, names, local, fresh, writer, indent)
    printer = NumpyCodePrinter(local)

    def letter_code(letter: str, transposed: bool) -> str:
        if letter in literals:
            code = number_literal(literals[letter])
        elif letter in constants:
            code = names[letter]
        else:
            code = f"params[{literal(names[letter])}]" + ("[j]" if letter in per_step else "")
        return code + (".T" if transposed else "")

    for symbol, rows, terms in guard.norms:
        letters = [letter for word, _ in terms for letter, _ in word]
        base = f"norm2_{names[letters[0]]}" if len(terms) == 1 and len(letters) == 1 else "norm2"
        local[symbol.name] = fresh(base)
        parts = []
        for word, coeff in terms:
            product = " @ ".join(letter_code(*letter) for letter in word) if word else f"np.eye({rows})"
            if coeff == 1:
                parts.append(product)
            elif coeff == -1:
                parts.append(f"-{product}")
            else:
                parts.append(f"({printer.doprint(coeff)}) * {product}")
        matrix = " + ".join(parts).replace("+ -", "- ")
        body.append(f"{indent}{local[symbol.name]} = np.linalg.norm({matrix}, 2)")
    bound = printer.doprint(guard.bound)
    where = f"{source_name}:{guard.span.line}:{guard.span.column}"
    requires = " and ".join(f"({printer.doprint(r)})" for r in guard.requires)
    relation = "h < bound" if guard.strict else "h <= bound"
    lines = [f"    # {comment(where)}: {comment(guard.text)}"]
    if stepwise:
        lines += ["    bound = np.inf"] + (["    conditions = True"] if requires else [])
        lines += ["    for j in range(N_STEPS):"] + body
        lines.append(f"        bound = min(bound, {bound})")
        if requires:
            lines.append(f"        conditions = conditions and {requires}")
            relation += " and conditions"
    else:
        lines += body + [f"    bound = {bound}"]
        if requires:
            relation += f" and {requires}"
    lines.append(f"    checks.append(({literal(guard.text)}, float(bound), bool({relation})))")
    return lines
