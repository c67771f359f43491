"""A continuous normalizing flow's sampler (kind cnf): data from latent samples, by the flow's
ODE run backwards.

The flow state is the state that starts at the data (`initial z(0) = train.x`) and whose right
side reads no other state: dz/dt = F(z, t) carries data to the latent z(T) ~ N(0, I), so

    dz_dt(z, t, p)          the flow state's own right side (the log-density and the regularizers
                            are not needed to sample)
    inverse_solve(p, z)     z(0) from z(T): the scheme's stages with h -> -h (registry.backwards),
                            N_STEPS steps from t = T_END down to 0; an adaptive scheme's library
                            solve from T_END to 0
    sample(params, count, seed=0)   numpy in, numpy out: z(T) ~ N(0, I) drawn from
                            default_rng(seed), float64 on the CPU
"""
from __future__ import annotations


from sciml.backends.common.scheme_code import CodeNames, StageCode
from sciml.lowering import ir
from sciml.schemes import registry


def flow_state(model: ir.Model) -> ir.Equation | None:
    """The equation of the state that starts at the data and reads no other state, or None."""
    states = {s.name for s in model.states}
    for equation in model.equations:
        init = model.initial(equation.state, 0)
        read = {str(s) for s in equation.rhs.free_symbols} & states
        if init is not None and any("." in str(s) for s in init.value.free_symbols) and read <= {equation.state}:
            return equation
    return None


def cnf_unsupported(model: ir.Model) -> list:
    found = []
    if model.kind == "cnf" and flow_state(model) is None:
        found.append(("a cnf without a state that starts at the data and reads no other state (its sampler)",
                      model.equations[0].span))
    return found


class CnfSampler:
    def __init__(self, writer):
        self.w, self.m = writer, writer.m
        self.equation = flow_state(self.m)
        self.state = writer.names[self.equation.state]
        self.rhs = writer.fresh(f"d{self.state}_dt")
        self.inverse = writer.fresh("inverse_solve")

    def functions(self) -> list[str]:
        return self.rhs_function() + self.inverse_solve() + ["", ""] + self.sample() + ["", ""]

    def rhs_function(self) -> list[str]:
        w, eq = self.w, self.equation
        args = w.rhs_args(eq)
        return ([f"def {self.rhs}({', '.join(args)}):", f'    """The right side of {self.state} alone (the sampler\'s)."""']
                + w.spec_comment(eq.span) + w.time_lines(args, eq.rhs)
                + [f"    return {w.code(eq.rhs)}", "", ""])

    def _call(self, role, index, args, step) -> str:
        return self.w.call(self.equation, args, step, name=self.rhs)

    def inverse_solve(self) -> list[str]:
        definition = registry.definition_of(self.m.time_integrator)
        head = [f"def {self.inverse}(p, {self.state}):",
                f'    """{self.state}(0) from {self.state}(T): the ode of {self.state} by {definition.title} run '
                "backwards, from t = T_END",
                '    down to 0."""']
        if definition.adaptive:
            return head + self.w.sp.adaptive_inverse.format(
                y=self.state, call=self.w.call(self.equation, {}, name=self.rhs),
                rtol=repr(self.m.time_integrator.option("rtol")), atol=repr(self.m.time_integrator.option("atol")),
                method=definition.solver(self.w.sp.solver_library)).strip("\n").splitlines()
        backwards = registry.backwards(definition)
        code = StageCode(backwards, CodeNames(roles={"y": [self.state]}, call=self._call,
                                              time=lambda time, step: code.relative_time(time)))
        code.hold(backwards.carried)
        body = code.block(backwards.step, backwards.returned)
        z = self.state
        if self.w.sp.scan:   # one compiled step scanned over the times t_j = T_END - j h
            return head + [f"    def step({z}, t):", *[f"        {line}" for line in body], f"        return {z}, None",
                           f"    {z}, _ = jax.lax.scan(step, {z}, T_END - h * np.arange(N_STEPS))",
                           f"    return {z}"]
        return head + ["    for t in T_END - h * np.arange(N_STEPS):",
                       *[f"        {line}" for line in body], f"    return {z}"]

    def sample(self) -> list[str]:
        sp = self.w.sp
        size = next(s.shape[0] if s.shape else 1 for s in self.m.states if s.name == self.equation.state)
        arrays = sp.as_const.format(value="{}", like="like")
        return [
            "def sample(params, count, seed=0):",
            f'    """`count` samples of the data model, numpy in and out: {self.state}(T) ~ N(0, I) from '
            "default_rng(seed),",
            f'    run back to t = 0 by {self.inverse}; float64, on the CPU."""',
            f"    like = {sp.default_like}",
            "    p = {name: " + arrays.format("value") + " for name, value in params.items()}",
            f"    start = np.random.default_rng(seed).standard_normal(({size}, count))",
            f"    return np.asarray({self.inverse}(p, {arrays.format('start')}))",
        ]
