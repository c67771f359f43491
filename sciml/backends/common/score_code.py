"""A diffusion model in the emitted module (kind diffusion): the transition kernel, denoising score
matching, and the two samplers, written once for both backends.

Everything is read from sympy's reading of the forward sde (lowering/reverse_sde.py):

    mean_x(x0, t), variance_x(t)   the kernel x(t) | x(0) = x0 ~ N(m(t) x0 + b(t), v(t) I)
    dsm_weight(t)                  lambda(t): g(t)^2 (the default), v(t) or a number
    dsm_s(p, x0, t, eps)           E lambda(t) |s(x(t), t) + eps / sqrt(v(t))|^2 over the batch,
                                   x(t) = m x0 + b + sqrt(v) eps
    dx_dW(t)                       g(t), the noise of the reverse step
    reverse_dx_dt(p, x, t)         the reverse sde's drift f - g^2 s, derived by sympy
    flow_dx_dt(p, x, t)            the probability-flow ode's f - 1/2 g^2 s
    reverse_solve(p, x, dW)        Euler-Maruyama from T down to 0 (the reverse sampler's stage)
    flow_solve(p, x)               the flow option's scheme (RK4) from T down to 0, its stages run
                                   backwards (h -> -h)
    prior(data)                    the samplers' start: the mean m(T) mu + b(T) and covariance
                                   m(T)^2 C + v(T) I of x(T) over the data (mean mu, covariance C)
    sample(params, count, seed, method, data)   numpy in, numpy out: 'sde' or 'ode'

The numpy half draws, per training step, one time t ~ uniform(low, high) and one noise eps ~
N(0, I) for each sample of the largest mini-batch, from default_rng([seed, step]) (`draw_batch`;
the loss takes the first ones, as many as the batch has samples), so torch and JAX see the same
numbers; the samplers' start x(T) ~ N(prior(data)) and increments come from `draw_samples`.
The start has the first two moments of the forward marginal x(T) = m(T) x(0) + b(T) + sqrt(v(T))
eps over the data; the kernel's N(b(T), v(T) I) alone leaves out m(T)^2 C of the variance and
m(T) mu of the mean: tiny for VP (m(T) = 0.0066), not for VE (m = 1: two moons' variance 0.76 in
x beside v(T) = 21.5), where the probability flow carries that error to t = 0.
The time t enters the functions as a row, one entry per sample (`time_row`), like a network's
other inputs.
"""
from __future__ import annotations

import sympy

from sciml.backends.common.names import unused_key
from sciml.backends.common.numpy_code import NumpyCodePrinter
from sciml.backends.common.quoting import literal
from sciml.backends.common.scheme_code import CodeNames, StageCode
from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.lowering.reverse_sde import TIME, diffusion_parts, weight_of
from sciml.schemes import registry

DRAWN_INCREMENTS = "drawn['dW']"   # the samplers' increments, of draw_samples


def diffusion_unsupported(model: ir.Model) -> list:
    """[(what, span)] of what this writer cannot write yet in a diffusion model."""
    found = []
    if not isinstance(model.loss, F.ScoreMatching):
        found.append(("a loss other than dsm(...) alone in a diffusion model", model.loss_span))
    for report in model.reports:
        if report.expr != S.StateAt(sympy.Symbol(model.states[0].name), 0):
            found.append(("reports of a diffusion model other than x(0), the samples", report.span))
    for dataset in model.datasets:
        if dataset.name == model.training_set and "samples" not in dict(dataset.options):
            found.append(("score matching on data of unknown size (a file)", dataset.span))
    return found


class ScoreWriter:
    """The kernel, loss, samplers and their draws of one diffusion model."""

    def __init__(self, writer, model: ir.Model):
        self.w, self.m = writer, model
        self.sde, self.kernel, self.reverse = diffusion_parts(model)
        names = writer.names
        self.x = names[self.sde.state]     # in the code
        self.name = self.sde.state          # in the docstrings: the spec's name
        state = next(s for s in model.states if s.name == self.sde.state)
        self.size = state.shape[0] if state.shape else 1
        self.score = model.scheme.option("score")
        _, self.data, self.low, self.high, weight = model.loss.args
        self.weight = weight_of(str(weight) if isinstance(weight, sympy.Symbol) else weight, self.sde, self.kernel)
        self.flow_definition = registry.probability_flow(model.scheme)
        fresh = writer.fresh
        self.fn = {key: fresh(base) for key, base in (
            ("mean", f"mean_{self.x}"), ("variance", f"variance_{self.x}"), ("weight", "dsm_weight"),
            ("dsm", f"dsm_{names[self.score]}"), ("g", f"d{self.x}_d{names[self.sde.noise]}"),
            ("reverse", f"reverse_d{self.x}_dt"), ("flow", f"flow_d{self.x}_dt"),
            ("reverse_solve", "reverse_solve"), ("flow_solve", "flow_solve"), ("draw_samples", "draw_samples"),
            ("prior", "prior"), ("sample", "sample"))}
        self.locals = tuple(fresh(base) for base in ("x0", "eps", "std", "x_t"))   # of dsm_s
        fields = {f.name for d in model.datasets for f in d.fields}
        self.keys = {"t": unused_key("t", fields), "eps": unused_key("eps", fields)}
        writer.names[f"dsm {self.score}"] = self.fn["dsm"]
        writer.names["score times"] = f"batch[{literal(self.keys['t'])}]"
        writer.names["score noise"] = f"batch[{literal(self.keys['eps'])}]"
        writer.helpers |= {"time_row", "squared_norm"}

    # -- printing ---------------------------------------------------------------------------
    def code(self, expr, names: dict) -> str:
        """`expr` in the backend's spelling; a function of the constants alone (log(sigma)) in numpy."""
        constants = {sympy.Symbol(c.name) for c in self.m.constants}
        printer = self.w.sp.printer({**self.w.names, **names}, numbers=constants)
        text = printer.doprint(expr)
        self.w.helpers |= printer.helpers
        return text

    def _time_names(self) -> dict:
        return {"t": "t", self.sde.state: self.x}

    # -- the numpy half ---------------------------------------------------------------------
    def draws(self) -> int:
        """Draws of t and eps per training step: the largest mini-batch (all samples for batch 0)."""
        dataset = self.m.dataset(self.m.training_set)
        count = int(dict(dataset.options)["samples"])
        return max((s.batch if 0 < s.batch < count else count) for s in self.m.training)

    def numpy_lines(self) -> list[str]:
        numpy = NumpyCodePrinter({**self.w.names, "t": "T_END"})
        scale, shift, variance = (numpy.doprint(e) for e in (self.kernel.scale, self.kernel.shift,
                                                             self.kernel.variance))
        t_key, eps_key = (literal(self.keys[k]) for k in ("t", "eps"))
        m = self.size
        return [
            f"PATHS = {self.m.scheme.option('paths', 1)}  # samples the report draws (the scheme's paths option)",
            f"DSM_DRAWS = {self.draws()}  # times and noises per training step: one per sample of the largest batch",
            f"PRIOR_SCALE = {scale}  # m(T), b(T), v(T): the forward kernel at T, x(T) = m x(0) + b + sqrt(v) eps",
            f"PRIOR_SHIFT = {shift}",
            f"PRIOR_VARIANCE = {variance}",
            "", "",
            "def draw_batch(seed, step):",
            '    """The draws of training step `step`, from default_rng([seed, step]): the times of score',
            f"    matching t ~ uniform({float(self.low)!r}, {float(self.high)!r}) and the noise eps ~ N(0, I), "
            'one of each per sample."""',
            "    rng = np.random.default_rng([seed, step])",
            f"    return {{{t_key}: rng.uniform({float(self.low)!r}, {float(self.high)!r}, size=(1, DSM_DRAWS)),",
            f"            {eps_key}: rng.normal(0.0, 1.0, size=({m}, DSM_DRAWS))}}",
            "", "",
            *self.prior_lines(),
            "", "",
            f"def {self.fn['draw_samples']}(seed, count, data):",
            f'    """The samplers\' start {self.name}(T) ~ N({self.fn["prior"]}(data)) and the reverse '
            "increments dW-bar[j] ~ N(0, h)",
            '    of `count` samples, from default_rng(seed)."""',
            "    rng = np.random.default_rng(seed)",
            f"    mean, covariance = {self.fn['prior']}(data)",
            f"    start = mean + np.linalg.cholesky(covariance) @ rng.standard_normal(({m}, count))",
            f"    return {{{literal(self.name)}: start, 'dW': rng.normal(0.0, np.sqrt(h), size=(N_STEPS, {m}, count))}}",
        ]

    def prior_lines(self) -> list[str]:
        """prior(data): the mean and covariance of x(T) over the training set, the samplers' start."""
        dataset, field = str(self.data).split(".", 1)
        name, m = self.name, self.size
        return [
            f"def {self.fn['prior']}(data):",
            f'    """The samplers\' start: the mean and covariance of {name}(T) = m(T) {name}(0) + b(T) + '
            "sqrt(v(T)) eps over the",
            f"    data {name}(0) = {dataset}.{field}, m(T) mu + b(T) and m(T)^2 C + v(T) I with mu and C its mean "
            "and covariance:",
            '    the Gaussian with the forward marginal\'s first two moments."""',
            f"    x0 = data[{literal(dataset)}][{literal(field)}]",
            f"    covariance = np.cov(x0, bias=True).reshape({m}, {m})",
            "    return (PRIOR_SCALE * x0.mean(axis=-1, keepdims=True) + PRIOR_SHIFT,",
            f"            PRIOR_SCALE**2 * covariance + PRIOR_VARIANCE * np.eye({m}))",
        ]

    # -- the model half ---------------------------------------------------------------------
    def functions(self) -> list[str]:
        x, name, fn, k = self.x, self.name, self.fn, self.kernel
        x0, eps, std, x_t = self.locals
        names = {**self._time_names(), "x0": x0}
        score = self.w.names[self.score]
        std_code = self.code(sympy.sqrt(sympy.Symbol("v")), {"v": f"{fn['variance']}(t)"})
        loss = self.code(S.MeanOf(sympy.Symbol("w") * F.SquaredNorm(
            S.NetCall(sympy.Symbol(self.score), sympy.Symbol("x_t"), TIME) + sympy.Symbol("eps") / sympy.Symbol("std"))),
            {"w": f"{fn['weight']}(t)", "x_t": x_t, "eps": eps, "std": std, "t": "t"})
        lines = [
            f"def {fn['mean']}({x0}, t):",
            f'    """The mean of {name}(t) given {name}(0) = {x0} under the forward sde: m(t) {x0} + b(t), with m\' = a m,',
            '    b\' = a b + c from m(0) = 1, b(0) = 0 for its drift a(t) x + c(t) (solved by sympy)."""',
            f"    return {self.code(k.mean(sympy.Symbol('x0')), names)}", "", "",
            f"def {fn['variance']}(t):",
            f'    """The variance of each entry of {name}(t) given {name}(0): v(t), v\' = 2 a v + g^2 from v(0) = 0 '
            '(solved by sympy)."""',
            f"    return {self.code(k.variance, names)}", "", "",
            f"def {fn['weight']}(t):",
            f'    """lambda(t), the weight of score matching at time t: {_weight_text(self.m.loss.args[4])}."""',
            f"    return {self.code(self.weight, names)}", "", "",
            f"def {fn['dsm']}(p, {x0}, t, {eps}):",
            f'    """Denoising score matching of {score}: the mean over the batch of lambda(t) |{score}({name}(t), t) '
            f"+ {eps} / sqrt(v(t))|^2,",
            f"    {name}(t) = m(t) {x0} + b(t) + sqrt(v(t)) {eps} from the forward sde's transition kernel; t and "
            f"{eps} the",
            '    step\'s draws, the first of them: one per sample of the batch."""',
            f"    t, {eps} = t[:, :{x0}.shape[-1]], {eps}[:, :{x0}.shape[-1]]",
            f"    {std} = {std_code}",
            f"    {x_t} = {fn['mean']}({x0}, t) + {std} * {eps}",
            f"    return {loss}", "", "",
            f"def {fn['g']}(t):",
            '    """The forward sde\'s diffusion g(t): the noise of the reverse step, times dW-bar."""',
            f"    return {self.code(self.sde.diffusion, names)}", "", "",
            f"def {fn['reverse']}(p, {x}, t):",
            '    """The reverse-time sde\'s drift f - g^2 s, derived by sympy from the forward sde and the score',
            f'    {score}: {name} runs back from T along it."""',
            f"    return {self.code(self.reverse.drift, names)}", "", "",
            f"def {fn['flow']}(p, {x}, t):",
            '    """The probability-flow ode\'s right side f - 1/2 g^2 s: the marginals of the reverse sde, '
            'without noise."""',
            f"    return {self.code(self.reverse.flow, names)}", "", "",
        ]
        return lines + self.reverse_solve() + ["", ""] + self.flow_solve() + ["", ""] + self.sample()

    def _stages(self, definition, function, noise_at: str) -> list[str]:
        """The lines of one step of `definition`: its rate the call of `function` at the stage's time."""
        def call(role, index, args, step):
            return f"{function}(p, {args[self.x]}, {args['t']})"

        def noise(role, index, args, step):
            return f"{self.fn['g']}(t) * {noise_at}"

        code = StageCode(definition, CodeNames(roles={"y": [self.x]}, call=call, noise=noise,
                                               time=lambda time, step: code.relative_time(time)))
        code.hold(definition.carried)
        return code.block(definition.step, definition.returned)

    def reverse_solve(self) -> list[str]:
        title = registry.definition_of(self.m.scheme).title
        head = [f"def {self.fn['reverse_solve']}(p, {self.x}, dW):",
                f'    """{title[0].upper() + title[1:]}: N_STEPS steps from t = T_END down to 0, '
                f'{self.x} at T_END given."""']
        if self.w.sp.scan:
            body = self._stages(registry.definition_of(self.m.scheme), self.fn["reverse"], "dW_j")
            return head + [f"    def step({self.x}, inputs):", "        t_j, dW_j = inputs",
                           f"        t = time_row(t_j, {self.x})", *[f"        {line}" for line in body],
                           f"        return {self.x}, None",
                           f"    {self.x}, _ = jax.lax.scan(step, {self.x}, (T_END - h * np.arange(N_STEPS), dW))",
                           f"    return {self.x}"]
        body = self._stages(registry.definition_of(self.m.scheme), self.fn["reverse"], "dW[j]")
        return head + ["    for j in range(N_STEPS):", f"        t = time_row(T_END - j * h, {self.x})",
                       *[f"        {line}" for line in body], f"    return {self.x}"]

    def flow_solve(self) -> list[str]:
        d = self.flow_definition
        head = [f"def {self.fn['flow_solve']}(p, {self.x}):",
                f'    """The probability-flow ode by {d.title}, run backwards: N_STEPS steps from t = T_END '
                'down to 0."""']
        body = self._stages(d, self.fn["flow"], "")
        if self.w.sp.scan:
            return head + [f"    def step({self.x}, t_j):", f"        t = time_row(t_j, {self.x})",
                           *[f"        {line}" for line in body], f"        return {self.x}, None",
                           f"    {self.x}, _ = jax.lax.scan(step, {self.x}, T_END - h * np.arange(N_STEPS))",
                           f"    return {self.x}"]
        return head + ["    for j in range(N_STEPS):", f"        t = time_row(T_END - j * h, {self.x})",
                       *[f"        {line}" for line in body], f"    return {self.x}"]

    def sample(self) -> list[str]:
        fn, sp = self.fn, self.w.sp
        arrays = sp.as_const.format(value="{}", like="like")
        return [
            f"def {fn['sample']}(params, count, seed=0, method=\"sde\", data=None):",
            f'    """`count` samples of {self.name}(0), numpy in and out: {self.name}(T) ~ N({fn["prior"]}(data)) run '
            "back to t = 0",
            "    by the reverse-time sde (Euler-Maruyama, method = 'sde') or the probability-flow ode",
            f"    ({self.flow_definition.short}, method = 'ode'), the draws from default_rng(seed); float64, "
            "on the CPU;",
            '    data: make_data() where not given."""',
            f"    like = {sp.default_like}",
            "    p = {name: " + arrays.format("value") + " for name, value in params.items()}",
            f"    drawn = {fn['draw_samples']}(seed, count, make_data() if data is None else data)",
            f"    start = {arrays.format(f'drawn[{literal(self.name)}]')}",
            '    if method == "ode":',
            f"        return np.asarray({fn['flow_solve']}(p, start))",
            f"    return np.asarray({fn['reverse_solve']}(p, start, {arrays.format(DRAWN_INCREMENTS)}))",
        ]

    def reports(self) -> list[str]:
        """evaluate_reports: x(0) as PATHS samples of the reverse sampler (seed 0), their mean and std."""
        lines = ["def evaluate_reports(p, data):",
                 f'    """The values on the report line: {self.name}(0) is PATHS samples of the reverse-time sampler '
                 "(the draws",
                 '    of seed 0), said by their mean and standard deviation per entry."""',
                 "    values = {}"]
        if not self.m.reports:
            return lines + ["    return values", "", ""]
        arrays = self.w.sp.as_const.format(value="{}", like="like")
        self.w.helpers |= {"mean_over", "std_over"}
        for report in self.m.reports:
            lines += self.w.spec_comment(report.span)
        lines += [f"    drawn, like = {self.fn['draw_samples']}(0, PATHS, data), p[{literal(self.w.names[self.score] + '.b1')}]",
                  f"    start, dW = {arrays.format(f'drawn[{literal(self.name)}]')}, {arrays.format(DRAWN_INCREMENTS)}",
                  f"    samples = {self.fn['reverse_solve']}(p, start, dW)",
                  f"    values[{literal(f'mean {self.name}(0)')}] = mean_over(samples)[:, 0]",
                  f"    values[{literal(f'std {self.name}(0)')}] = std_over(samples)[:, 0]",
                  "    return values", "", ""]
        return lines


def _weight_text(weight) -> str:
    if str(weight) == "diffusion":
        return "g(t)^2 (weight = diffusion, the default)"
    if str(weight) == "variance":
        return "the kernel's variance v(t) (weight = variance)"
    return f"the constant {float(weight):g}"
