"""The model half of an emitted module: networks, right-hand sides, the scheme, the loss.

Written once for both backends; what differs (array creation, linear solves, adaptive
solvers) comes from the backend's `Spelling`.  Each scheme is a few lines of Python that
read like its update formula, one line per stage.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from sciml.backends.common.quoting import comment, docstring, literal
from sciml.lowering import ir
from sciml.lowering import symbols as S

SCHEME_TITLES = {
    "euler": "forward Euler", "rk4": "classical Runge-Kutta (RK4)",
    "verlet": "Stormer-Verlet (symplectic, reversible)", "leapfrog": "leapfrog (reversible)",
    "imex": "IMEX Euler: (I + h L) Y_{j+1} = Y_j + h L Y_j + h f(Y_j)",
    "dopri5": "adaptive Dormand-Prince 5(4)",
}


@dataclass(frozen=True)
class Spelling:
    """How a backend writes the few things that are not plain Python arithmetic."""

    printer: type
    as_const: str     # .format(value=, like=)
    eye: str          # .format(n=, like=)
    stack: str        # .format(items)
    concat: str       # .format(items)  along the feature axis
    linear_solve: str  # .format(matrix, rhs)
    adaptive: str     # template of the dopri5 solve body
    reversible: str   # template of the Verlet solve that recomputes activations backwards
    default_like: str  # a float64 scalar, for a model without parameters or data to take the dtype from
    pieces: dict      # helper function texts by name
    scan: bool = False  # the time loop as jax.lax.scan over the steps, not a Python for loop


class ModelWriter:
    def __init__(self, model: ir.Model, names: dict, spelling: Spelling, source_lines: list):
        self.m = model
        self.names = dict(names)
        self.sp = spelling
        self.source_lines = source_lines
        self.helpers: set[str] = set()
        self.state_names = [names[s.name] for s in model.states]
        # names of state-at-time values, e.g. Y_T, u_obs
        self.observed = sorted({a for e in [model.loss] + [r.expr for r in model.reports]
                                for a in e.atoms(S.StateAt)}, key=str)
        for atom in self.observed:
            state = names[str(atom.args[0])]
            suffix = "T" if atom.args[1].is_number else "obs"
            self.names[str(atom)] = f"{state}_{suffix}"
        imex = model.scheme is not None and model.scheme.kind == "imex"
        self.matrix_consts = sorted({str(s) for e in model.equations for s in e.rhs.free_symbols
                                     if self._const_shape(str(s))}
                                    | ({model.scheme.option("L")} if imex else set()))
        self.identities = sorted({int(i.args[0]) for e in model.equations for i in e.rhs.atoms(S.IdentityMatrix)}
                                 | ({model.states[0].shape[0]} if imex else set()))
        self.taken = set(self.names.values())
        for size in self.identities:
            self.names[f"I{size}"] = self.fresh(f"I{size}")
        self.arrays = {c: self.fresh(f"{names[c]}_array") for c in self.matrix_consts}
        self.gradients = sorted({str(g.args[0]) for e in model.equations for g in e.rhs.atoms(S.NetGrad)})
        for net in self.gradients:
            self.names[f"grad {net}"] = self.fresh(f"grad_{names[net]}")
        self.step_values = {}   # per-step weight -> its name inside a scanned step (K -> K_j)

    def fresh(self, base: str) -> str:
        """A derived name that no user name (after mapping) already takes."""
        while base in self.taken:
            base += "_"
        self.taken.add(base)
        return base

    def _const_shape(self, name):
        c = next((c for c in self.m.constants if c.name == name), None)
        return c is not None and c.shape != ()

    def code(self, expr, names=None) -> str:
        printer = self.sp.printer(names or self.names)
        text = printer.doprint(expr)
        self.helpers |= printer.helpers
        return text

    def spec_comment(self, span, indent="    ") -> list[str]:
        """The spec's own lines for a construct, as comments (quoting.comment: one line each)."""
        out = []
        for number in range(span.line, span.end_line + 1):
            if 1 <= number <= len(self.source_lines):
                text = comment(self.source_lines[number - 1].strip())
                if text:
                    out.append(f"{indent}# {text}")
        return out

    # -- networks ------------------------------------------------------------------------------
    def networks(self) -> list[str]:
        lines = []
        for net in self.m.networks:
            name = self.names[net.name]
            args = ", ".join(f"x{k}" for k in range(len(net.features)))
            widths = " -> ".join(str(w) for w in net.widths)
            per_layer = f", one set of weights per coupling layer j" if net.layers else ""
            lines += [f"def {name}(p, {'j, ' if net.layers else ''}{args}):",
                      f'    """mlp({widths}, {docstring(net.activation)}){per_layer}"""']
            if len(net.features) > 1:
                lines.append("    z = " + self.sp.concat.format(args))
            else:
                lines.append("    z = x0")
            layers = len(net.widths) - 1
            for layer in range(1, layers + 1):
                pick = "[j]" if net.layers else ""
                affine = f"p[{literal(f'{name}.W{layer}')}]{pick} @ z + p[{literal(f'{name}.b{layer}')}]{pick}"
                if layer < layers:
                    activated = S.ACTIVATIONS[net.activation](sympy.Symbol("affine"))
                    lines.append("    z = " + self.code(activated, {"affine": affine}))
                else:
                    lines.append(f"    return {affine}")
            lines += ["", ""]
            if net.name in self.gradients:
                lines += self.network_gradient(net) + ["", ""]
        return lines

    def network_gradient(self, net: ir.Network) -> list[str]:
        """grad(N, x) of a scalar MLP, backpropagation written out with sympy's derivative of
        the activation: W1^T (sigma'(a1) * (W2^T (sigma'(a2) * ... W_L^T)))."""
        name, layers = self.names[net.name], len(net.widths) - 1
        a = sympy.Symbol("a")
        sigma = S.ACTIVATIONS[net.activation](a)
        lines = [f"def {self.names[f'grad {net.name}']}(p, x):",
                 f'    """The gradient of {name} at each sample (column) of x, backpropagated by hand."""']
        z = "x"
        for layer in range(1, layers):
            lines.append(f"    a{layer} = p[{literal(f'{name}.W{layer}')}] @ {z} + p[{literal(f'{name}.b{layer}')}]")
            z = self.code(sigma, {"a": f"a{layer}"})
        lines.append(f"    g = p[{literal(f'{name}.W{layers}')}].T")
        for layer in range(layers - 1, 0, -1):
            slope = self.code(sigma.diff(a), {"a": f"a{layer}"})
            lines.append(f"    g = p[{literal(f'{name}.W{layer}')}].T @ (g * ({slope}))")
        return lines + ["    return g"]

    # -- right-hand sides -----------------------------------------------------------------
    def rhs_name(self, eq: ir.Equation) -> str:
        state = self.names[eq.state]
        return f"d{state}_dt" if eq.order == 1 else f"d2{state}_dt2"

    def rhs_args(self, eq: ir.Equation) -> list[str]:
        used = {str(s) for s in eq.rhs.free_symbols}
        args = [self.names[s.name] for s in self.m.states if s.name in used]
        args += [self.names[p.name] for p in self.m.parameters if p.name in used]
        args += [self.names[c] for c in self.matrix_consts if c in used]
        args += [self.names[f"I{i}"] for i in self.identities
                 if any(a.args[0] == i for a in eq.rhs.atoms(S.IdentityMatrix))]
        if eq.rhs.has(S.NetCall, S.NetGrad):
            args.append("p")
        return args

    def rhs_functions(self) -> list[str]:
        lines = []
        for eq in self.m.equations:
            names = {**self.names, **{c: self.names[c] for c in self.matrix_consts}}
            lines += [f"def {self.rhs_name(eq)}({', '.join(self.rhs_args(eq))}):"]
            lines += self.spec_comment(eq.span)
            lines += [f"    return {self.code(eq.rhs, names)}", "", ""]
        return lines

    def call(self, eq: ir.Equation, values: dict | None = None, step: str = "j") -> str:
        """The call of eq's right-hand side at step `step`, states replaced by `values`."""
        per_step = {self.names[p.name] for p in self.m.parameters if p.per_step}
        self.array_args = {self.names[c]: self.arrays[c] for c in self.matrix_consts}
        args = []
        for a in self.rhs_args(eq):
            if values and a in values:
                args.append(values[a])
            elif a in self.array_args:
                args.append(self.array_args[a])
            elif a in per_step:
                args.append(self.step_values[a] if step == "j" and a in self.step_values else f"{a}[{step}]")
            else:
                args.append(a)
        return f"{self.rhs_name(eq)}({', '.join(args)})"

    # -- the scheme ----------------------------------------------------------------------------
    def solve(self) -> list[str]:
        """def solve(p, <initial states>): integrate and return the observed values."""
        m, sp = self.m, self.sp
        if m.scheme is None or self._recompute():
            return []  # written with the Verlet step, see reversible_steps
        first = self.state_names[0]
        starts = [f"{n}" for n in self.state_names]
        if m.order == 2:
            starts.append(f"dt_{first}")
        lines = [f"def solve(p, {', '.join(starts)}):",
                 f'    """{SCHEME_TITLES[m.scheme.kind]}: {m.scheme.steps or "adaptive"} steps on [0, T_END]."""']
        params = [self.names[p.name] for p in m.parameters
                  if any(p.name in {str(s) for s in e.rhs.free_symbols} for e in m.equations)]
        if params and m.scheme.kind != "dopri5":   # the adaptive solve reads them from its p
            lines.append(f"    {', '.join(params)} = "
                         + ", ".join(f"p[{literal(n)}]" for n in params))
        for c in self.matrix_consts:
            lines.append(f"    {self.arrays[c]} = " + sp.as_const.format(value=self.names[c], like=first))
        for size in self.identities:
            lines.append(f"    {self.names[f'I{size}']} = " + sp.eye.format(n=size, like=first))
        paths = sorted({self.names[str(a.args[0])] for a in self.observed if not a.args[1].is_number},
                       key=self.state_names.index)  # states observed at the data times
        if m.scheme.kind == "dopri5":
            return lines + self._scheme_dopri5()
        if sp.scan:
            return lines + self._scan(params, paths)
        lines += [f"    {s}_path = [{s}] if 0 in OBSERVED_STEPS else []" for s in paths]
        setup, start, body = getattr(self, "_scheme_" + m.scheme.kind)()
        lines += [f"    {line}" for line in setup]
        if start == 1 and paths:   # the setup took the first step (leapfrog): it may be observed
            lines += [f"    if 1 in OBSERVED_STEPS:"] + [f"        {s}_path.append({s})" for s in paths]
        lines += [self._loop(start)] + [f"        {line}" for line in body]
        if paths:
            lines += ["        if j + 1 in OBSERVED_STEPS:"]
            lines += [f"            {s}_path.append({s})" for s in paths]
        results = []
        for atom in self.observed:
            state = self.names[str(atom.args[0])]
            results.append(state if atom.args[1].is_number else sp.stack.format(f"{state}_path"))
        lines.append(f"    return {', '.join(results)}")
        return lines

    def _scan(self, params, paths) -> list[str]:
        """The time loop as jax.lax.scan: one compiled step, not N_STEPS copies of it.  The
        per-step weights are the scanned inputs (axis 0 is the step); each step outputs the
        states observed at the data times, and at_observed_steps picks those times."""
        m = self.m
        per_step = [n for n in params if any(q.per_step and self.names[q.name] == n for q in m.parameters)]
        values = [self.fresh(f"{n}_j") for n in per_step]
        self.step_values = dict(zip(per_step, values))
        try:
            setup, start, body = getattr(self, "_scheme_" + m.scheme.kind)()
        finally:
            self.step_values = {}
        carried = [self.names[e.state] for e in m.equations]
        if m.scheme.kind == "leapfrog":
            carried = [f"{carried[0]}_previous", carried[0]]
        carry = carried[0] if len(carried) == 1 else "carry"
        weights = "_" if not per_step else "weights" if len(per_step) > 1 else values[0]
        starts = {s: self.fresh(f"{s}_start") for s in paths}
        outs = {s: self.fresh(f"{s}_steps") for s in paths}
        lines = [f"    {starts[s]} = {s}" for s in paths]
        lines += [f"    {line}" for line in setup]
        firsts = {s: self.fresh(f"{s}_first") for s in paths} if start == 1 else {}
        lines += [f"    {firsts[s]} = {s}" for s in firsts]   # after the first step, taken in the setup
        lines.append(f"    def step({carry}, {weights}):")
        if len(carried) > 1:
            lines.append(f"        {', '.join(carried)} = carry")
        if len(per_step) > 1:
            lines.append(f"        {', '.join(values)} = weights")
        lines += [f"        {line}" for line in body]
        carry_out = carried[0] if len(carried) == 1 else f"({', '.join(carried)})"
        outputs = "None" if not paths else paths[0] if len(paths) == 1 else f"({', '.join(paths)})"
        lines.append(f"        return {carry_out}, {outputs}")
        steps_out = "_" if not paths else outs[paths[0]] if len(paths) == 1 \
            else "(" + ", ".join(outs[s] for s in paths) + ")"
        cut = f"[{start}:]" if start else ""
        xs = "" if not per_step else ", " + (f"{per_step[0]}{cut}" if len(per_step) == 1
                                            else "(" + ", ".join(f"{n}{cut}" for n in per_step) + ")")
        length = "" if per_step else ", length=N_STEPS - 1" if start else ", length=N_STEPS"
        # jax.checkpoint: the backward pass recomputes each step's activations (measured: as fast
        # as the unrolled loop; storing them per step made the scan's gradient 2x slower on CPU)
        lines.append(f"    {carry_out}, {steps_out} = jax.lax.scan(jax.checkpoint(step), {carry_out}{xs}{length})")
        results = []
        for atom in self.observed:
            state = self.names[str(atom.args[0])]
            if atom.args[1].is_number:
                results.append(state)
            else:
                self.helpers.add("at_observed_steps")
                leading = f"({starts[state]}, {firsts[state]})" if firsts else f"({starts[state]},)"
                results.append(f"at_observed_steps({leading}, {outs[state]})")
        lines.append(f"    return {', '.join(results)}")
        return lines

    def _loop(self, start: int = 0) -> str:
        return f"    for j in range({start}, N_STEPS):" if start else "    for j in range(N_STEPS):"

    # each scheme: (lines before the loop, the first step j of the loop, the lines of step j)
    def _scheme_euler(self):
        eqs = self.m.equations
        targets = ", ".join(self.names[e.state] for e in eqs)
        updates = ", ".join(f"{self.names[e.state]} + h * {self.call(e)}" for e in eqs)
        return [], 0, [f"{targets} = {updates}"]

    def _scheme_rk4(self):
        eqs = self.m.equations
        states = [self.names[e.state] for e in eqs]
        single = len(eqs) == 1
        lines = []
        stage_names = [[f"k{i}" if single else f"k{i}_{s}" for s in states] for i in range(1, 5)]
        previous = None
        for i, (factor, names) in enumerate(zip((None, "h / 2", "h / 2", "h"), stage_names)):
            values = None
            if previous is not None:
                values = {s: f"{s} + {factor} * {k}" for s, k in zip(states, previous)}
            calls = ", ".join(self.call(e, values) for e in eqs)
            lines.append(f"{', '.join(names)} = {calls}")
            previous = names
        updates = ", ".join(f"{s} + h / 6 * ({k1} + 2 * {k2} + 2 * {k3} + {k4})"
                            for s, k1, k2, k3, k4 in zip(states, *stage_names))
        lines.append(f"{', '.join(states)} = {updates}")
        return [], 0, lines

    def _verlet_pair(self):
        """(position equation, momentum equation): the momentum is kicked by the position."""
        first, second = self.m.equations
        return first, second

    def _scheme_verlet(self):
        drift, kick = self._verlet_pair()
        y, z = self.names[drift.state], self.names[kick.state]
        return [], 0, [f"{z} = {z} + h / 2 * {self.call(kick)}",
                       f"{y} = {y} + h * {self.call(drift)}",
                       f"{z} = {z} + h / 2 * {self.call(kick)}"]

    def _recompute(self) -> bool:
        return self.m.scheme is not None and self.m.scheme.kind == "verlet" and self.m.scheme.option("memory") == "recompute"

    def reversible_steps(self) -> list[str]:
        """The inverse step of a reversible scheme (Verlet, leapfrog; seed 002).  Verlet with
        memory = recompute also gets one forward step and the solve whose backward pass
        recomputes the states with the inverse."""
        if self.m.scheme is None:
            return []
        if self.m.scheme.kind == "leapfrog":
            return self._leapfrog_inverse()
        if self.m.scheme.kind != "verlet":
            return []
        drift, kick = self._verlet_pair()
        y, z = self.names[drift.state], self.names[kick.state]
        params = [self.names[p.name] for p in self.m.parameters
                  if any(p.name in {str(s) for s in e.rhs.free_symbols} for e in self.m.equations)]
        unpack = [f"    {', '.join(params)} = " + ", ".join(f"p[{literal(n)}]" for n in params)] if params else []
        lines = []
        if self._recompute():
            lines += [f"def step(p, j, {y}, {z}):",
                      f'    """Step j of the Verlet scheme: ({y}_j+1, {z}_j+1) from ({y}_j, {z}_j)."""',
                      *unpack,
                      f"    {z} = {z} + h / 2 * {self.call(kick)}",
                      f"    {y} = {y} + h * {self.call(drift)}",
                      f"    {z} = {z} + h / 2 * {self.call(kick)}",
                      f"    return {y}, {z}", "", ""]
        lines += [f"def inverse_step(p, j, {y}, {z}):",
                  f'    """Undo step j of the Verlet scheme: recompute ({y}_j, {z}_j) from ({y}_j+1, {z}_j+1)."""',
                  *unpack,
                  f"    {z} = {z} - h / 2 * {self.call(kick)}",
                  f"    {y} = {y} - h * {self.call(drift)}",
                  f"    {z} = {z} - h / 2 * {self.call(kick)}",
                  f"    return {y}, {z}", "", ""]
        if self._recompute():
            results = ", ".join(self.names[str(a.args[0])] for a in self.observed)
            lines += self.sp.reversible.format(
                y=y, z=z, title=SCHEME_TITLES["verlet"], steps=self.m.scheme.steps,
                results=results).strip("\n").split("\n") + ["", ""]
        return lines

    def _leapfrog_inverse(self) -> list[str]:
        """The exact inverse of leapfrog step j >= 1 (reversibility, seed 002): the two-step
        recursion run backwards, Y_{j-1} = 2 Y_j - Y_{j+1} + h^2 f_j(Y_j)."""
        (eq,) = self.m.equations
        y = self.names[eq.state]
        params = [self.names[p.name] for p in self.m.parameters if p.name in {str(s) for s in eq.rhs.free_symbols}]
        unpack = [f"    {', '.join(params)} = " + ", ".join(f"p[{literal(n)}]" for n in params)] if params else []
        previous = f"{y}_previous"
        return [f"def inverse_step(p, j, {previous}, {y}):",
                f'    """Undo leapfrog step j >= 1: ({y}_j-1, {y}_j) from ({y}_j, {y}_j+1)."""',
                *unpack,
                f"    return 2 * {previous} - {y} + h**2 * {self.call(eq, {y: previous})}, {previous}",
                "", ""]

    def _scheme_leapfrog(self):
        (eq,) = self.m.equations
        y = self.names[eq.state]
        return ([f"{y}_previous, {y} = {y}, {y} + h * dt_{y} + h**2 / 2 * {self.call(eq, step='0')}"], 1,
                [f"{y}_previous, {y} = {y}, 2 * {y} - {y}_previous + h**2 * {self.call(eq)}"])

    def _scheme_imex(self):
        (eq,) = self.m.equations
        y = self.names[eq.state]
        L = self.arrays[self.m.scheme.option("L")]
        identity = self.names[f"I{self.m.states[0].shape[0]}"]
        return ([f"implicit = {identity} + h * {L}"], 0,
                [f"{y} = " + self.sp.linear_solve.format("implicit", f"{y} + h * ({L} @ {y}) + h * {self.call(eq)}")])

    def _scheme_dopri5(self):
        """The library's adaptive solve; a system of several states is solved as one tuple."""
        eqs = self.m.equations
        states = [self.names[e.state] for e in eqs]
        results = []
        for atom in self.observed:
            state = self.names[str(atom.args[0])]
            results.append(f"{state}_path[-1]" if atom.args[1].is_number else f"{state}_path")
        paths = [f"{s}_path" for s in states]
        # parameters come from the solver's own p (diffrax's args; torchdiffeq's adjoint_params),
        # never from a closure: diffrax's adjoint cannot differentiate a closed-over value
        read = {self.names[q.name]: f"p[{literal(self.names[q.name])}]" for q in self.m.parameters}
        if len(eqs) == 1:
            state, start, call = states[0], states[0], self.call(eqs[0], read)
            solved_value, trimmed, trimmed_ys = paths[0], f"{paths[0]}[1:]", "solution.ys[1:]"
        else:   # lambda t, state: (dx_dt(state[1]), dy_dt(p, state[0], state[1])), state = (x, y)
            state = self.fresh("state")
            entries = {**read, **{s: f"{state}[{k}]" for k, s in enumerate(states)}}
            start = f"({', '.join(states)})"
            call = "(" + ", ".join(self.call(e, entries) for e in eqs) + ")"
            solved_value = f"({', '.join(paths)})"
            trimmed = "(" + ", ".join(f"{path}[1:]" for path in paths) + ")"
            trimmed_ys = "tuple(ys[1:] for ys in solution.ys)"
        scheme = self.m.scheme
        return self.sp.adaptive.format(
            y=states[0], state=state, start=start, call=call, solved=", ".join(paths),
            solved_value=solved_value, trimmed=trimmed, trimmed_ys=trimmed_ys,
            rtol=repr(scheme.option("rtol")), atol=repr(scheme.option("atol")),
            adjoint=scheme.option("adjoint"), results=", ".join(results)).strip("\n").splitlines()

    # -- loss and reports --------------------------------------------------------------------
    def _field_names(self, dataset: str, batch: str) -> dict:
        """The code of each data field, `batch[...]` for the data set evaluated on; under the key
        ' like' (no user name has a space) its first per-sample float field, if it has one."""
        names = dict(self.names)
        for d in self.m.datasets:
            for f in d.fields:
                if d.name in (dataset, self.m.training_set):
                    names[f"{d.name}.{f.name}"] = f"{batch}[{literal(f.name)}]"
                else:
                    names[f"{d.name}.{f.name}"] = f"data[{literal(d.name)}][{literal(f.name)}]"
        evaluated = next((d for d in self.m.datasets if d.name == dataset), None)
        if evaluated is not None:
            per_sample = [f for f in evaluated.fields if not f.integer
                          and not (evaluated.generator == "ode" and f.name == "t")]
            if per_sample:
                names[" like"] = names[f"{evaluated.name}.{per_sample[0].name}"]
        return names

    def _like(self, names) -> str:
        """An array whose dtype and device (and samples, where it has them) new arrays take: a
        value the initial states read, a parameter, a network's bias, a data field; a model with
        none of them makes a float64 scalar."""
        for init in self.m.initials:
            for s in sorted(init.value.free_symbols, key=str):
                return names[str(s)]
        if self.m.parameters:
            return f"p[{literal(self.names[self.m.parameters[0].name])}]"
        if self.m.networks:
            return f"p[{literal(self.names[self.m.networks[0].name] + '.b1')}]"
        return names.get(" like", self.sp.default_like)

    def _initial_code(self, state, order, names) -> str:
        init = self.m.initial(state.name, order)
        if init.value.free_symbols:
            return self.code(init.value, names)
        from .numpy_code import number_literal
        size = state.shape[0] if state.shape else 1
        self.helpers.add("initial_state")
        return f"initial_state({number_literal(init.value)}, {size}, {self._like(names)})"

    def _solve_call(self, names) -> str:
        args = [self._initial_code(s, 0, names) for s in self.m.states]
        if self.m.order == 2:
            args.append(self._initial_code(self.m.states[0], 1, names))
        targets = ", ".join(self.names[str(a)] for a in self.observed)
        return f"    {targets} = solve(p, {', '.join(args)})"

    def _unpack(self, expr) -> list[str]:
        used = {str(s) for s in expr.free_symbols} | {str(s) for a in expr.atoms(S.SmoothInTime) for s in a.args}
        params = [self.names[p.name] for p in self.m.parameters if p.name in used]
        if not params:
            return []
        return [f"    {', '.join(params)} = "
                + ", ".join(f"p[{literal(n)}]" for n in params)]

    def _literals(self, expr, names) -> tuple:
        """Bind the constant vectors and matrices written in `expr` to names, one line each:
        (expr with symbols in their place, names, the binding lines)."""
        from .numpy_code import number_literal
        lines, replacements, names = [], {}, dict(names)
        like = self._like(names) if not self.observed else self.names[str(self.observed[0])]
        for literal in sorted(expr.atoms(sympy.ImmutableMatrix), key=str):
            symbol = sympy.Symbol(f"literal {number_literal(literal)}")
            if symbol.name not in self.names:  # one name per distinct value in the module
                self.names[symbol.name] = self.fresh(f"value{sum(k.startswith('literal ') for k in self.names) + 1}")
            names[symbol.name] = self.names[symbol.name]
            replacements[literal] = symbol
            value = self.sp.as_const.format(value=number_literal(literal), like=like)
            lines.append(f"    {names[symbol.name]} = {value}")
        return expr.xreplace(replacements), names, lines

    def loss(self) -> list[str]:
        names = self._field_names(self.m.training_set, "batch")
        lines = ["def loss(p, batch):"]
        lines += self.spec_comment(self.m.loss_span)
        lines += self._unpack(self.m.loss)
        if self.observed:
            lines.append(self._solve_call(names))
        expr, names, bindings = self._literals(self.m.loss, names)
        lines += bindings + [f"    return {self.code(expr, names)}", "", ""]
        return lines

    def reports(self) -> list[str]:
        lines = ["def evaluate_reports(p, data):",
                 '    """The values on the report line, each on the data set it names."""',
                 "    values = {}"]
        for report in self.m.reports:
            names = self._field_names(report.dataset, "batch")
            lines += self.spec_comment(report.span)
            lines += self._unpack(report.expr)
            if report.dataset:
                lines.append(f"    batch = data[{literal(report.dataset)}]")
            if report.expr.has(S.StateAt):
                lines.append(self._solve_call(names))
            expr, names, bindings = self._literals(report.expr, names)
            lines += bindings + [f"    values[{literal(report.label)}] = {self.code(expr, names)}"]
        lines += ["    return values", "", ""]
        return lines
