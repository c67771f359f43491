"""The model half of an emitted module: networks, right-hand sides, the scheme (the loss and
the reports: loss_code.py).

Written once for both backends; what differs (array creation, linear solves, adaptive
solvers) comes from the backend's `Spelling`.  The time loop is printed from the scheme's
definition (solve_code.py), one line per stage of its update formula.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy

from sciml.backends.common.batch_norm_code import normalized_network
from sciml.backends.common.jacobian_code import NetworkDerivatives, has_network_derivatives
from sciml.backends.common.loss_code import LossWriter
from sciml.backends.common.quoting import comment, docstring, literal
from sciml.backends.common.solve_code import SolveWriter
from sciml.lowering import ir
from sciml.lowering import family_symbols as F
from sciml.lowering import symbols as S
from sciml.schemes import registry
from sciml.schemes.algebra import Identity

@dataclass(frozen=True)
class Spelling:
    """How a backend writes the few things that are not plain Python arithmetic."""

    printer: type
    as_const: str     # .format(value=, like=)
    eye: str          # .format(n=, like=)
    stack: str        # .format(items)
    concat: str       # .format(items)  along the feature axis
    linear_solve: str  # .format(matrix, rhs)
    factor: str       # .format(matrix): its LU factors, set up once before a time loop
    factored_solve: str  # .format(factors, rhs)
    adaptive: str     # template of the adaptive solve body (the library's solver)
    reversible: str   # template of the Verlet solve that recomputes activations backwards
    default_like: str  # a float64 scalar, for a model without parameters or data to take the dtype from
    pieces: dict      # helper function texts by name
    scan: bool = False  # the time loop as jax.lax.scan over the steps, not a Python for loop
    solver_library: str = ""  # the library of adaptive solvers (a definition's `solvers` key)
    grid_solvers: dict = None  # the implicit solves on a grid by kind (grid_solve_code.py)
    dense_grid_solve_up_to: dict = None  # the most unknowns a grid solves by its dense inverse (periodic, bounded)
    taylor_layers: bool = False  # u_taylor's hidden layers as the runtime's TaylorLayer (taylor_layers_code.py)
    taylor_values: dict = None  # {activation: (its value in a, why)} for the Taylor layers' derivatives function
    time_argument: str = ""  # the first line of a right side that reads the time t (torch: t as a tensor)
    adaptive_times: dict = None  # {at the data times?: (the times solved at, the line that trims 0 off)}
    adaptive_adjoint: dict = None  # {adjoint?: (the solver's function or adjoint, its extra arguments)}
    adaptive_inverse: str = ""  # template of an adaptive solve from T_END back to 0 (a cnf's sampler)
    # a batch-normalized network's layout (batch_norm_code.py): its input into it, a layer's
    # product in it, its output out of it; as written, (features, paths)
    normalized_layout: tuple = ("{}", "{w} @ {z}", "{}")


class ModelWriter(LossWriter):
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
        definition = registry.definition_of(model.time_integrator) if model.time_integrator is not None else None
        scheme_matrices = {model.time_integrator.option(o) for o in definition.matrix_options} if definition else set()
        stacked = sum(s.shape[0] if s.shape else 1 for s in model.states)
        self.matrix_consts = sorted({str(s) for e in model.equations for s in (e.rhs + e.diffusion).free_symbols
                                     if self._const_shape(str(s))} | scheme_matrices)
        self.identities = sorted({int(i.args[0]) for e in model.equations
                                  for i in (e.rhs + e.diffusion).atoms(S.IdentityMatrix)}
                                 | ({stacked} if definition and _uses_identity(definition) else set()))
        if any(str(s) == "t" for e in model.equations for s in (e.rhs + e.diffusion).free_symbols):
            self.names.setdefault("t", "t")   # the time in a right side (no user name is t)
        self.taken = set(self.names.values())
        for size in self.identities:
            self.names[f"I{size}"] = self.fresh(f"I{size}")
        self.arrays = {c: self.fresh(f"{names[c]}_array") for c in self.matrix_consts}
        speeds = [speed for guard in model.guards for _, speed, _, _ in guard.extrema]   # --check-stability's
        self.gradients = sorted({str(g.args[0]) for e in [eq.rhs for eq in model.equations] + speeds
                                 for g in e.atoms(S.NetGrad)})
        for net in self.gradients:
            self.names[f"grad {net}"] = self.fresh(f"grad_{names[net]}")
        self.step_values = {}   # per-step weight -> its name inside a scanned step (K -> K_j)
        # a network whose function is not named after it (a PINN field with hard conditions:
        # u is the field G + D u_net, u_net the network)
        self.network_functions: dict[str, str] = {}
        # lines that open a right-hand side (a grid state with its end nodes: grid_code.py)
        self.rhs_preamble = lambda eq: []
        self.noise = None   # an SDE's increments and diffusion functions (noise_code.py)
        self.steps = None   # the networks per time step, evaluated where a step begins (step_networks.py)
        self.bayes = None   # weight posteriors' draws and KL terms (bayes_code.py)
        self.step_locals: list[str] = []   # their values' symbols: arguments of the right sides
        # a network's divergence or Jacobian in a right side: forward mode, and one joint right side
        self.derivatives = NetworkDerivatives(self) if has_network_derivatives(model) else None
        self.joint = self.fresh("right_sides") if self.derivatives is not None else None

    def fresh(self, base: str) -> str:
        """A derived name that no user name (after mapping) already takes."""
        while base in self.taken:
            base += "_"
        self.taken.add(base)
        return base

    @functools.cached_property
    def scalar_constants(self) -> frozenset:
        """The constants that are numbers (shape ()): the printer keeps them with the other numbers."""
        return frozenset(sympy.Symbol(c.name) for c in self.m.constants if c.shape == ())

    def _const_shape(self, name):
        c = next((c for c in self.m.constants if c.name == name), None)
        return c is not None and c.shape != ()

    def code(self, expr, names=None) -> str:
        printer = self.sp.printer(names or self.names, scalars=self.scalar_constants)
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
            name = self.names[net.name]     # the weights' prefix: p['u.W1']
            args = ", ".join(f"x{k}" for k in range(len(net.features)))
            widths = " -> ".join(str(w) for w in net.widths)
            per_layer = ", one set of weights per coupling layer j" if net.layers else ""
            if net.index:
                per_layer = f"; w: the weights of one step ({net.steps[0]}..{net.steps[1]}, one set each)"
            function = self.network_functions.get(net.name, name)
            # a network per step takes the step's weights w (step_networks.py), a coupling layer's
            # network its layer j of the stacked weights p
            first = "w, " if net.index else "p, j, " if net.layers else "p, "
            head = [f"def {function}({first}{args}):", f'    """mlp({widths}, {docstring(net.activation)}){per_layer}"""']
            inputs = "    z = " + (self.sp.concat.format(args) if len(net.features) > 1 else "x0")
            if net.batchnorm:   # batch_norm_code.py: the batch's statistics, or the running ones
                lines += normalized_network(self, net, head, inputs)
                continue
            if net.posterior:   # bayes_code.py: one set of weights per draw
                lines += self.bayes.network(net, f"mlp({widths}, {docstring(net.activation)})")
                continue
            if net.ensemble:
                head[1] = (f'    """mlp({widths}, {docstring(net.activation)}), an ensemble of {net.draws} '
                           f'independently initialised networks: out (members, {net.widths[-1]}, samples)"""')
            lines += head + [inputs]
            layers = len(net.widths) - 1
            pick = "[j]" if net.layers else ""

            def weight(kind, layer):
                return f"w[{literal(f'{kind}{layer}')}]" if net.index else f"p[{literal(f'{name}.{kind}{layer}')}]{pick}"
            for layer in range(1, layers + 1):
                affine = f"{weight('W', layer)} @ z + {weight('b', layer)}"
                if layer < layers:
                    activated = S.ACTIVATIONS[net.activation](sympy.Symbol("affine"))
                    lines.append("    z = " + self.code(activated, {"affine": affine}))
                else:
                    lines.append(f"    return {affine}")
            lines += ["", ""]
            if net.name in self.gradients:
                lines += self.network_gradient(net) + ["", ""]
        if self.derivatives is not None:   # F and its derivative along directions (jacobian_code.py)
            lines += self.derivatives.tangent_functions()
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

    def rhs_args(self, eq: ir.Equation | None, expr=None) -> list[str]:
        """The arguments of eq's right side (or of `expr`, another function of its states)."""
        expr = eq.rhs if expr is None else expr
        used = {str(s) for s in expr.free_symbols}
        args = [self.names[s.name] for s in self.m.states if s.name in used or f"{s.name} with ends" in used]
        args += [self.names[s] for s in self.step_locals if s in used]
        args += ["t"] if "t" in used else []   # the time of the stage (the scheme passes t_j + c h)
        args += [self.names[p.name] for p in self.m.parameters if p.name in used]
        args += [self.names[c] for c in self.matrix_consts if c in used]
        args += [self.names[f"I{i}"] for i in self.identities
                 if any(a.args[0] == i for a in expr.atoms(S.IdentityMatrix))]
        if expr.has(S.NetCall, S.NetGrad, F.NodeCall):
            args.append("p")
        return args

    def rhs_functions(self) -> list[str]:
        if self.joint is not None:   # one function for the system: its passes evaluated once
            return self.derivatives.right_sides(self.joint)
        lines = []
        for eq in self.m.equations:
            names = {**self.names, **{c: self.names[c] for c in self.matrix_consts}}
            lines += [f"def {self.rhs_name(eq)}({', '.join(self.rhs_args(eq))}):"]
            lines += self.spec_comment(eq.span)
            lines += self.time_lines(self.rhs_args(eq), eq.rhs)
            lines += self.rhs_preamble(eq)
            lines += [f"    return {self.code(eq.rhs, names)}", "", ""]
        return lines

    def time_lines(self, args, expr) -> list[str]:
        """The backend's line that takes the time t in, for a function of `expr` with the argument
        t; where a network reads t, t as a row of the first argument's samples."""
        if "t" in args and reads_time_in_network(expr):
            self.helpers.add("time_row")
            return [f"    t = time_row(t, {args[0]})   # the stage's time, a row: a network's input"]
        return [f"    {self.sp.time_argument}"] if "t" in args and self.sp.time_argument else []

    def call(self, eq: ir.Equation | None, values: dict | None = None, step: str = "j", name: str = "",
             expr=None, extra=(), arguments=None) -> str:
        """The call of eq's right-hand side (or of the function `name` of the same arguments, or
        of `expr`'s, then `extra`; or of `arguments`) at step `step`, states replaced by `values`."""
        per_step = {self.names[p.name] for p in self.m.parameters if p.per_step}
        self.array_args = {self.names[c]: self.arrays[c] for c in self.matrix_consts}
        args = []
        for a in (arguments if arguments is not None else self.rhs_args(eq, expr)):
            if values and a in values:
                args.append(values[a])
            elif a in self.array_args:
                args.append(self.array_args[a])
            elif a in per_step:
                args.append(self.step_values[a] if step == "j" and a in self.step_values else f"{a}[{step}]")
            else:
                args.append(a)
        return f"{name or self.rhs_name(eq)}({', '.join(args + list(extra))})"

    def joint_call(self, values: dict | None = None, step: str = "j") -> str:
        """The call of the joint right side (jacobian_code.py), states replaced by `values`."""
        return self.call(None, values, step, name=self.joint, arguments=self.derivatives.arguments())

    # -- the scheme: its definition's stages (solve_code.py) -----------------------------------
    def solve(self) -> list[str]:
        if self.m.time_integrator is None:
            return []
        self.solver = SolveWriter(self)
        return self.solver.solve()

    def reversible_steps(self) -> list[str]:
        return self.solver.reversible_steps() if self.m.time_integrator is not None else []

    def adaptive_solve(self, definition) -> list[str]:
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
            state, start = states[0], states[0]
            call = self.joint_call(read) if self.joint else self.call(eqs[0], read)
            solved_value, trimmed, trimmed_ys = paths[0], f"{paths[0]}[1:]", "solution.ys[1:]"
        else:   # lambda t, state: (dx_dt(state[1]), dy_dt(p, state[0], state[1])), state = (x, y)
            state = self.fresh("state")
            entries = {**read, **{s: f"{state}[{k}]" for k, s in enumerate(states)}}
            start = f"({', '.join(states)})"
            call = self.joint_call(entries) if self.joint else "(" + ", ".join(self.call(e, entries) for e in eqs) + ")"
            solved_value = f"({', '.join(paths)})"
            trimmed = "(" + ", ".join(f"{path}[1:]" for path in paths) + ")"
            trimmed_ys = "tuple(ys[1:] for ys in solution.ys)"
        scheme = self.m.time_integrator
        at_data = any(not atom.args[1].is_number for atom in self.observed)
        times, trim = self.sp.adaptive_times[at_data]
        odeint, extra = self.sp.adaptive_adjoint[bool(scheme.option("adjoint"))]
        fields = dict(solved=", ".join(paths), solved_value=solved_value, trimmed=trimmed, trimmed_ys=trimmed_ys)
        return self.sp.adaptive.format(
            y=states[0], state=state, start=start, call=call, times=times, trim=trim.format(**fields),
            rtol=repr(scheme.option("rtol")), atol=repr(scheme.option("atol")),
            odeint=odeint, extra=extra, results=", ".join(results), **fields,
            method=definition.solver(self.sp.solver_library)).strip("\n").splitlines()


def reads_time_in_network(expr) -> bool:
    """Whether a network in `expr` takes the time t as an input (it takes t as a row)."""
    return any(sympy.Symbol("t") in call.args[1:] for call in expr.atoms(S.NetCall))


def _uses_identity(definition) -> bool:
    return any(stage.value.atoms(Identity) for stage in definition.start + definition.step)
