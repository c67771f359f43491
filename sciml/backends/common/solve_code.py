"""The time loop of an emitted module: `solve(p, <initial states>)`, and the inverse step of a
reversible scheme, printed from the scheme's definition (sciml/schemes/registry.py).

The lines of each step are the definition's stages (scheme_code.StageCode); what is around them
is the same for every scheme: the torch module loops over the steps in Python, the JAX module
scans one step function over them (jax.lax.scan); the states observed at the data times are
collected on the way.
"""
from __future__ import annotations

import sympy

from sciml.backends.common.grid_solve_code import GridOperator
from sciml.backends.common.quoting import literal
from sciml.backends.common.scheme_code import CodeNames, StageCode
from sciml.lowering import symbols as S
from sciml.schemes import registry
from sciml.schemes.algebra import h, t
from sciml.schemes.registry import SEPARABLE_PAIR


class SolveWriter:
    def __init__(self, writer):
        self.w, self.m = writer, writer.m
        self.d = registry.definition_of(self.m.time_integrator)
        user = writer.names   # the spec's names in the code
        if self.d.forms == (SEPARABLE_PAIR,):      # the first equation drifts, the second kicks
            first, second = self.m.equations
            roles = {"y": [user[first.state]], "z": [user[second.state]]}
        else:
            roles = {"y": [user[s.name] for s in self.m.states]}
        self.equations = {user[e.state]: e for e in self.m.equations}
        self.roles = roles
        self.sizes = {user[s.name]: (s.shape[0] if s.shape else 1) for s in self.m.states}
        matrices = {o: writer.arrays[self.m.time_integrator.option(o)] for o in self.d.matrix_options}
        implicit = getattr(self.m.scheme, "implicit", 0)
        self.operator = None   # on a grid: L = -(diffusion coefficient) * the second-difference matrix
        if implicit != 0:
            (option,) = self.d.matrix_options
            constant = next(c for c in self.m.constants if c.name == self.m.time_integrator.option(option))
            self.operator = GridOperator(writer, constant, implicit, writer.sp)
        identity = user.get(f"I{sum(self.sizes.values())}", "")
        names = CodeNames(
            roles=roles, call=self._call, initial_rates={"y": [f"dt_{n}" for n in roles["y"]]},
            matrices=matrices, identity=identity, linear_solve=writer.sp.linear_solve,
            factor=writer.sp.factor, factored_solve=writer.sp.factored_solve, operator=self.operator,
            like=writer.state_names[0], concat=writer.sp.concat, sizes=self.sizes, fresh=writer.fresh,
            noise=self._noise, correction=self._correction, time=self._time if self.uses_time else None,
            joint=self._joint if writer.joint else None)
        self.code = StageCode(self.d, names)
        self.d = self.code.d   # on a grid, its stages read the explicit rest (with_explicit_rates)

    @property
    def uses_time(self) -> bool:
        """Whether a right side reads the time t."""
        return any(str(s) == "t" for e in self.m.equations for s in (e.rhs + e.diffusion).free_symbols)

    @staticmethod
    def _time(time, step) -> str:
        """t_j + c h, the time of a stage at step `step`: `j * h`, `(j + 1 / 2) * h`."""
        offset = sympy.nsimplify((time - t) / h)
        at = step if step.isidentifier() or step.isdigit() else f"({step})"
        if offset == 0:
            return f"{at} * h"
        p, q = sympy.fraction(offset)
        return f"({at} + {p} / {q}) * h" if q != 1 else f"({at} + {p}) * h"

    def _call(self, role, index, args, step) -> str:
        equation = self.equations[self.roles[role][index]]
        if equation.rhs == 0 and self.m.noises:   # d(X) = g dW: the stage has no drift term
            return "0"
        return self.w.call(equation, args, step)

    def _joint(self, role, args, step) -> str:
        return self.w.joint_call(args, step)

    def _noise(self, role, index, args, step) -> str:
        return self.w.noise.noise_call(self.equations[self.roles[role][index]], args, step)

    def _correction(self, role, index, args, step) -> str:
        return self.w.noise.correction_call(self.equations[self.roles[role][index]], args, step)

    def increments(self) -> list[str]:
        """The names of the Brownian increments the solve takes (an SDE's), in order."""
        noise = self.w.noise
        return [noise.increments[n] for n in sorted(noise.increments)] if noise is not None else []

    def grid_functions(self) -> list[str]:
        """The functions of a grid's implicit solve (grid_solve_code.py), where there is one."""
        return self.operator.functions() if self.operator is not None else []

    def _matrices_and_identities(self) -> tuple:
        """The constant matrices and identities the solve sets up as arrays: with a grid's
        operator, only those the equations read (the operator reads its L in its own way)."""
        w = self.w
        if self.operator is None:
            return w.matrix_consts, w.identities
        read = {str(s) for e in self.m.equations for s in (e.rhs + e.diffusion).free_symbols}
        sizes = {int(i.args[0]) for e in self.m.equations for i in (e.rhs + e.diffusion).atoms(S.IdentityMatrix)}
        return [c for c in w.matrix_consts if c in read], [size for size in w.identities if size in sizes]

    @property
    def recompute(self) -> bool:
        return self.d.reversible and self.m.time_integrator.option("memory") == "recompute"

    def params(self) -> list[str]:
        starts = set(self.w.steps.starts()) if self.w.steps is not None else set()
        return [self.w.names[p.name] for p in self.m.parameters
                if any(p.name in {str(s) for s in (e.rhs + e.diffusion).free_symbols} for e in self.m.equations)
                or self.w.names[p.name] in starts]

    @property
    def peeled(self) -> int:
        """1 where step 0 is taken before the loop (a parameter stands for a network per step)."""
        return int(self.w.steps is not None and self.w.steps.peeled)

    def _unpack(self) -> list[str]:
        params = self.params()
        return [f"    {', '.join(params)} = " + ", ".join(f"p[{literal(n)}]" for n in params)] if params else []

    def _start(self, step="0") -> list[str]:
        """The stages before the first step, from the initial states (and dt(Y)(0))."""
        self.code.hold([v.shifted(-v.offset) for v in self.d.carried])   # every state at step 0
        return self.code.block(self.d.start, _shifted(self.d.carried, self.d.start_steps), step)

    def _step(self, step="j") -> list[str]:
        self.code.hold(self.d.carried)
        bindings = []
        if self.w.steps is not None:   # the networks per step, at the states where the step begins
            states = {s: names[0] for s, names in zip(self.roles["y"], self.code.variables("y")[-1])} \
                if len(self.roles) == 1 else {}
            bindings = self.w.steps.bindings(step, states)
        return bindings + self.code.block(self.d.step, self.d.returned, step)

    def _setup(self) -> list[str]:
        """The lines before the loop: the weights of the networks per step, the scheme's start,
        and step 0 where it is peeled."""
        weights = self.w.steps.weight_lines() if self.w.steps is not None else []
        return weights + self._start() + (self._step("0") if self.peeled else [])

    def observed(self, state: str, step: str) -> str:
        """The code of `state` at the grid time after the step just taken (its readout, where the
        scheme carries it off the grid)."""
        for stage in self.d.readout:
            states = self.roles[stage.target.role]
            if state in states:
                return self.code.code(stage.value, states.index(state), step)
        return state

    # -- solve ------------------------------------------------------------------------------
    def solve(self) -> list[str]:
        """def solve(p, <initial states>): integrate and return the observed values."""
        m, sp, w = self.m, self.w.sp, self.w
        if self.recompute:
            return []  # written with the step and its inverse, see reversible_steps
        first = w.state_names[0]
        starts = list(w.state_names) + ([f"dt_{first}"] if m.order == 2 else []) + self.increments()
        if w.derivatives is not None and w.derivatives.probes:   # Hutchinson's, the same all through
            starts.append(w.names["probes"])
        said = f"{self.d.title}: {m.time_integrator.steps or 'adaptive'} steps on [0, T_END]."
        if self.normalized:   # batch normalization: the batch's statistics, or the running ones
            starts.append("running=False")
            said += "\n    Returns the states and the batch-normalization statistics of every step (the running ones\n    where `running`)."
        lines = [f"def solve(p, {', '.join(starts)}):", f'    """{said}"""']
        params = self.params()
        if params and not self.d.adaptive:   # the adaptive solve reads them from its p
            lines += self._unpack()
        matrices, identities = self._matrices_and_identities()
        for c in matrices:
            lines.append(f"    {w.arrays[c]} = " + sp.as_const.format(value=w.names[c], like=first))
        for size in identities:
            lines.append(f"    {w.names[f'I{size}']} = " + sp.eye.format(n=size, like=first))
        paths = sorted({w.names[str(a.args[0])] for a in w.observed if not a.args[1].is_number},
                       key=w.state_names.index)  # states observed at the data times
        if self.d.adaptive:
            return lines + w.adaptive_solve(self.d)
        if sp.scan:
            return lines + self._scan(params, paths)
        lines += [f"    {s}_path = [{s}] if 0 in OBSERVED_STEPS else []" for s in paths]
        setup = self._setup()
        start = self.d.start_steps + self.peeled
        if start and paths:   # the setup took the first step (leapfrog): it may be observed
            observed = [f"        {s}_path.append({self.observed(s, '0')})" for s in paths]
        body = self._step()
        lines += [f"    {line}" for line in setup + self.code.setup()]
        if start and paths:
            lines += ["    if 1 in OBSERVED_STEPS:"] + observed
        statistics = self.w.steps.statistics.values() if self.normalized else ()
        lines += [f"    {steps} = []" for _, steps in statistics]
        lines += [self._loop(start)] + [f"        {line}" for line in body]
        lines += [f"        {steps}.append({local})" for local, steps in statistics]
        if paths:
            lines += ["        if j + 1 in OBSERVED_STEPS:"]
            lines += [f"            {s}_path.append({self.observed(s, 'j')})" for s in paths]
        results = []
        for atom in w.observed:
            state = w.names[str(atom.args[0])]
            results.append(self.observed(state, "N_STEPS - 1") if atom.args[1].is_number
                           else sp.stack.format(f"{state}_path"))
        if self.normalized:
            results.append(self.w.steps.collected())
        lines.append(f"    return {', '.join(results)}")
        return lines

    @property
    def normalized(self) -> bool:
        """Whether a network per step normalizes its layers over the batch (batch_norm_code.py)."""
        return self.w.steps is not None and bool(self.w.steps.statistics)

    def _loop(self, start: int = 0) -> str:
        return f"    for j in range({start}, N_STEPS):" if start else "    for j in range(N_STEPS):"

    def _scan(self, params, paths) -> list[str]:
        """The time loop as jax.lax.scan: one compiled step, not N_STEPS copies of it.  The
        per-step weights are the scanned inputs (axis 0 is the step); each step outputs the
        states observed at the data times, and at_observed_steps picks those times."""
        m, w = self.m, self.w
        per_step = [n for n in params if any(q.per_step and w.names[q.name] == n for q in m.parameters)]
        per_step += self.increments()   # an SDE's Brownian increments, one per step
        starts = {s: w.fresh(f"{s}_start") for s in paths}
        outs = {s: w.fresh(f"{s}_steps") for s in paths}
        setup = self._setup()
        start = self.d.start_steps + self.peeled
        if self.uses_time:   # the step index, for t_j
            per_step.insert(0, "j")
        stacks = {}   # the stacked weights of each network per step, scanned from its step `start`
        if self.w.steps is not None:
            for net in self.w.steps.nets:
                stacks[self.w.steps.weights[net.name]] = start - net.steps[0]
            per_step += list(stacks)
        firsts = {s: w.fresh(f"{s}_first") for s in paths} if start == 1 else {}
        first_values = {s: self.observed(s, "0") for s in firsts}
        values = [n if n == "j" else w.fresh(f"{n}_j") for n in per_step]
        w.step_values = dict(zip(per_step, values))
        try:
            body = self._step()
            step_outputs = [self.observed(s, "j") for s in paths]
        finally:
            w.step_values = {}
        carried = self.code.carried_variables()
        carry = carried[0] if len(carried) == 1 else "carry"
        weights = "_" if not per_step else "weights" if len(per_step) > 1 else values[0]
        lines = [f"    {starts[s]} = {s}" for s in paths]
        lines += [f"    {line}" for line in setup + self.code.setup()]
        lines += [f"    {firsts[s]} = {first_values[s]}" for s in firsts]   # after the first step, taken in the setup
        lines.append(f"    def step({carry}, {weights}):")
        if len(carried) > 1:
            lines.append(f"        {', '.join(carried)} = carry")
        if len(per_step) > 1:
            lines.append(f"        {', '.join(values)} = weights")
        lines += [f"        {line}" for line in body]
        carry_out = carried[0] if len(carried) == 1 else f"({', '.join(carried)})"
        statistics = list(self.w.steps.statistics.values()) if self.normalized else []
        step_outputs += [local for local, _ in statistics]   # batch normalization's, stacked by the scan
        steps_names = [outs[s] for s in paths] + [steps for _, steps in statistics]
        outputs = "None" if not step_outputs else step_outputs[0] if len(step_outputs) == 1 \
            else f"({', '.join(step_outputs)})"
        lines.append(f"        return {carry_out}, {outputs}")
        steps_out = "_" if not steps_names else steps_names[0] if len(steps_names) == 1 \
            else "(" + ", ".join(steps_names) + ")"
        cut = f"[{start}:]" if start else ""
        scanned = [f"jnp.arange({start}, N_STEPS)" if n == "j" else
                   (n if not stacks[n] else f"{n}[{stacks[n]}:]") if n in stacks else f"{n}{cut}" for n in per_step]
        xs = "" if not per_step else ", " + (scanned[0] if len(scanned) == 1 else "(" + ", ".join(scanned) + ")")
        length = "" if per_step else f", length=N_STEPS - {start}" if start else ", length=N_STEPS"
        # jax.checkpoint: the backward pass recomputes each step's activations (measured: as fast
        # as the unrolled loop; storing them per step made the scan's gradient 2x slower on CPU)
        lines.append(f"    {carry_out}, {steps_out} = jax.lax.scan(jax.checkpoint(step), {carry_out}{xs}{length})")
        results = []
        for atom in w.observed:
            state = w.names[str(atom.args[0])]
            if atom.args[1].is_number:
                results.append(self.observed(state, "N_STEPS - 1"))
            else:
                w.helpers.add("at_observed_steps")
                leading = f"({starts[state]}, {firsts[state]})" if firsts else f"({starts[state]},)"
                results.append(f"at_observed_steps({leading}, {outs[state]})")
        if self.normalized:
            results.append(self.w.steps.collected())
        lines.append(f"    return {', '.join(results)}")
        return lines

    # -- reversible schemes -------------------------------------------------------------------
    def reversible_steps(self) -> list[str]:
        """The inverse step of a reversible scheme (seed 002).  With memory = recompute also one
        forward step, and the solve whose backward pass recomputes the states with the inverse."""
        if not self.d.reversible:
            return []
        carried = self.code.carried_variables()
        args = ", ".join(carried)
        after = f" >= {self.d.start_steps}" if self.d.start_steps else ""
        at_j, at_next = _labels(self.d.carried, self.roles), _labels(self.d.returned, self.roles)
        lines = []
        if self.recompute:
            lines += [f"def step(p, j, {args}):",
                      f'    """Step j of {self.d.short}: ({at_next}) from ({at_j})."""',
                      *self._unpack(), *[f"    {line}" for line in self._step()],
                      f"    return {args}", "", ""]
        self.code.hold(self.d.returned)
        inverse = self.code.block(self.d.inverse, self.d.carried)
        lines += [f"def inverse_step(p, j, {args}):",
                  f'    """Undo step j{after} of {self.d.short}: ({at_j}) from ({at_next})."""',
                  *self._unpack(), *[f"    {line}" for line in inverse],
                  f"    return {args}", "", ""]
        if self.recompute:
            y, z = carried
            setup = self._start()
            self.code.hold(self.d.returned)
            results = ", ".join(self.observed(self.w.names[str(a.args[0])], "N_STEPS - 1") for a in self.w.observed)
            start = (self._unpack() if setup or self.d.readout else []) + [f"    {line}" for line in setup]
            lines += self.w.sp.reversible.format(
                y=y, z=z, title=self.d.title, steps=self.m.time_integrator.steps, results=results,
                start="".join(line + "\n" for line in start)).strip("\n").split("\n") + ["", ""]
        return lines


def _shifted(values, by) -> tuple:
    return tuple(v.shifted(by) for v in values)


def _labels(values, roles) -> str:
    """(Y_j, Z_j+1/2): the carried values with their steps, in the spec's names."""
    out = []
    for value in values:
        for state in roles[value.role]:
            offset = value.offset
            out.append(f"{state}_j" + ("" if offset == 0 else f"+{offset}" if offset > 0 else f"{offset}"))
    return ", ".join(out)
