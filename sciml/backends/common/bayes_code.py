"""Bayesian networks and deep ensembles in the emitted module (kind bayes), written once for both
backends from the spec's network options, its kl(...) terms and its argmax(...) report.

    F(p, eps, x)                 a network with a weight posterior (Bayes by backprop; Blundell
                                 et al. 2015): every weight w = mean + softplus(rho) * eps, one set
                                 of weights per draw of eps (draws, entries); out (draws, features,
                                 samples)
    F(p, x)                      an ensemble (mlp(..., ensemble = M); Lakshminarayanan et al.
                                 2017): M independently initialised networks, their weights stacked
                                 on axis 0; out (members, features, samples), the same draws axis
    kl_F(p)                      KL(q(w) || N(m0, s0^2)) of F's weights, the Gaussian KL of each
                                 weight in closed form (elbo_terms.py, derived by sympy), summed;
                                 one function per kl(F, prior = normal(m0, s0)) of the loss
    uncertainty(params, x)       the score inside the spec's argmax(...) report at the points x
    acquire(params, pool)        the index of the pool point with the largest score
    predict(params, x)           the mean over the draws of what the score's covariance(...) takes
    predictive_covariance(params, x)    that covariance, (features, features, samples)
    at_points(params, x)         what those four share: the parameters, the points and the draws
                                 as float64 arrays on the CPU

The draws are numpy's: `draw_batch(seed, step)` gives each posterior network's eps ~ N(0, I) of
shape (draws, entries), from default_rng([seed, step]); the reports and the four functions
above take those of draw_batch(0, 0), so the score is a deterministic function of the
parameters.  The draws axis is the first of every array that has it: (draws, features,
samples); a value averaged over it (mean(..., over = draws)) is (features, samples) again.
"""
from __future__ import annotations

import sympy

from sciml.backends.common.quoting import literal
from sciml.backends.common.names import unused_key
from sciml.lowering import axes, ir
from sciml.lowering import family_symbols as F
from sciml.lowering import symbols as S
from sciml.lowering.elbo_terms import gaussian_kl
from sciml.lowering.mathtext import expr_text

POSTERIOR_RHO = -5.0   # every rho starts here: softplus(-5) = 0.0067, the initial spread of a weight


def weight_entries(net: ir.Network) -> int:
    """The entries of one draw of eps: every weight and bias of the network."""
    return max(stop for *_, stop in layer_slices(net))


def layer_slices(net: ir.Network):
    """(kind, layer, shape, start, stop) of each weight of a network in eps's entries."""
    start = 0
    for layer, (fan_in, fan_out) in enumerate(zip(net.widths[:-1], net.widths[1:]), start=1):
        for kind, shape in (("W", (fan_out, fan_in)), ("b", (fan_out, 1))):
            size = shape[0] * shape[1]
            yield kind, layer, shape, start, start + size
            start += size


def draw_key(model: ir.Model, net: ir.Network) -> str:
    """The batch's entry of a posterior network's weight draws: weights_F, unless a data field
    has that name."""
    fields = {f.name for d in model.datasets for f in d.fields}
    return unused_key(f"weights_{net.name}", fields)


def _score(model: ir.Model):
    """(the report, its score: what argmax(...) takes) of the first argmax report, or None."""
    for report in model.reports:
        if isinstance(report.expr, F.ArgMax):
            return report, report.expr.args[0]
    return None


def bayes_unsupported(model: ir.Model) -> list:
    """[(what, span)] of what this writer cannot write yet in a bayes model."""
    found = []
    expressions = [(model.loss, model.loss_span)] + [(r.expr, r.span) for r in model.reports]
    for expr, span in expressions:
        for atom in expr.atoms(F.MeanOver, F.StdOver, F.CovarianceOver):
            if str(atom.args[1]) not in (axes.DRAWS, "all") or (
                    isinstance(atom, (F.StdOver, F.CovarianceOver)) and str(atom.args[1]) != axes.DRAWS):
                found.append((f"{type(atom).__name__[:-4].lower()}(..., over = {atom.args[1]}) in a bayes model "
                              "(its reductions are over draws)", span))
        if expr.has(S.StateAt):
            found.append(("states in a bayes model", span))
    for report in model.reports:
        if report.expr.has(F.ArgMax) and not isinstance(report.expr, F.ArgMax):
            found.append(("argmax(...) inside a larger report expression", report.span))
    scored = _score(model)
    if scored is not None:
        report, score = scored
        fields = {s for s in score.free_symbols if "." in s.name}
        if len(fields) != 1:
            found.append(("an argmax(...) score that reads other than one data field (acquire(params, pool) "
                          "takes the points of one)", report.span))
        if len(score.atoms(F.CovarianceOver)) > 1:
            found.append(("an argmax(...) score with more than one covariance(...)", report.span))
    return found


class BayesWriter:
    """The posterior networks, their KL terms, draws and acquisition functions of one bayes model."""

    def __init__(self, writer, model: ir.Model):
        self.w, self.m = writer, model
        self.posterior = [net for net in model.networks if net.posterior]
        self.keys = {net.name: draw_key(model, net) for net in self.posterior}
        for net in self.posterior:
            writer.names[f"draws {net.name}"] = f"batch[{literal(self.keys[net.name])}]"
        self.kl_terms = sorted(model.loss.atoms(F.KlToPrior), key=str)   # one function per network and prior
        for atom in self.kl_terms:
            writer.names[f"kl {atom}"] = writer.fresh(f"kl_{writer.names[str(atom.args[0])]}")
        self.fn = {key: writer.fresh(key) for key in ("uncertainty", "acquire", "predict", "predictive_covariance",
                                                         "at_points")}
        self.scored = _score(model)

    def draw_names(self, source: str) -> dict:
        """The code of each posterior network's draws, read from `source` (batch, or the
        reports' draws)."""
        return {f"draws {net.name}": f"{source}[{literal(self.keys[net.name])}]" for net in self.posterior}

    # -- the numpy half -----------------------------------------------------------------------
    def numpy_lines(self) -> list[str]:
        if not self.posterior:
            return []
        entries = ", ".join(f"{literal(self.keys[n.name])}: rng.standard_normal(({n.draws}, {weight_entries(n)}))"
                            for n in self.posterior)
        return [
            "REPORTS_READ_DRAWS = True  # the reports take the weight draws of draw_batch(0, 0)",
            "", "",
            "def draw_batch(seed, step):",
            '    """The draws of training step `step`, from default_rng([seed, step]): eps ~ N(0, I) of shape',
            '    (draws, entries) for each network with a weight posterior, w = mean + softplus(rho) * eps."""',
            "    rng = np.random.default_rng([seed, step])",
            f"    return {{{entries}}}",
        ]

    # -- the model half -----------------------------------------------------------------------
    def network(self, net: ir.Network, head_doc: str) -> list[str]:
        """The function of a network with a weight posterior: one set of weights per draw."""
        name = self.w.names[net.name]
        args = ", ".join(f"x{k}" for k in range(len(net.features)))
        sp = self.w.sp
        lines = [f"def {name}(p, eps, {args}):",
                 f'    """{head_doc}, a weight posterior: each weight mean + softplus(rho) * eps, one set per draw',
                 f'    of eps ({net.draws} draws, {weight_entries(net)} entries); out (draws, {net.widths[-1]}, samples)."""',
                 "    z = " + (sp.concat.format(args) if len(net.features) > 1 else "x0")]
        layers = len(net.widths) - 1
        for kind, layer, shape, start, stop in layer_slices(net):
            mean, rho = (f"p[{literal(f'{name}.{k}{layer}')}]" for k in (kind, f"rho_{kind}"))
            self.w.helpers.add("posterior_draw")
            lines.append(f"    {kind}{layer} = posterior_draw({mean}, {rho}, eps[:, {start}:{stop}])")
            if kind == "b":
                affine = f"W{layer} @ z + b{layer}"
                if layer < layers:
                    activated = S.ACTIVATIONS[net.activation](sympy.Symbol("affine"))
                    lines.append("    z = " + self.w.code(activated, {"affine": affine}))
                else:
                    lines.append(f"    return {affine}")
        return lines + ["", ""]

    def functions(self) -> list[str]:
        return self.kl_functions() + self.acquisition_functions()

    def kl_functions(self) -> list[str]:
        """kl_F(p) for each kl(F, prior = normal(m0, s0)) of the loss, the prior's numbers in place."""
        lines = []
        mean, std = sympy.Symbol("~mean"), sympy.Symbol("~std")
        softplus = self.w.sp.printer.SPELLING["softplus"]
        for atom in self.kl_terms:
            net_name, m0, s0 = str(atom.args[0]), atom.args[1], atom.args[2]
            name = self.w.names[net_name]
            closed = self.w.code(S.SumOf(gaussian_kl(mean, std, m0, s0)), {
                **self.w.names, "~mean": "mean", "~std": "std",
                **{q.name: f"p[{literal(self.w.names[q.name])}]" for q in self.m.parameters}})
            net = next(n for n in self.posterior if n.name == net_name)
            weights = ", ".join(literal(f"{kind}{layer}") for kind, layer, *_ in layer_slices(net))
            mean_code, rho_code = (f"p[f'{name}.{prefix}{{weight}}']" for prefix in ("", "rho_"))
            lines += [f"def {self.w.names[f'kl {atom}']}(p):",
                      f'    """KL(q(w) || normal({expr_text(m0)}, {expr_text(s0)})) of the weights of {name}: for each '
                      "weight, with mean and",
                      '    std = softplus(rho), log(s0 / std) + (std^2 + (mean - m0)^2) / (2 s0^2) - 1/2 in closed '
                      'form, summed."""',
                      "    total = 0.0",
                      f"    for weight in ({weights}):",
                      f"        mean, std = {mean_code}, {softplus.format(rho_code)}",
                      f"        total = total + {closed}",
                      "    return total", "", ""]
        return lines

    def acquisition_functions(self) -> list[str]:
        if self.scored is None:
            return []
        report, score = self.scored
        (field,) = {s for s in score.free_symbols if "." in s.name}
        sp = self.w.sp
        arrays = sp.as_const.format(value="{}", like="like")
        names = {**self.w.names, field.name: "x",
                 **{f"draws {n.name}": f"draws[{literal(self.keys[n.name])}]" for n in self.posterior}}
        unpacked = "p, x, draws" if self.posterior else "p, x"
        convert = [f"    {unpacked} = {self.fn['at_points']}(params, x)"]
        lines = [f"def {self.fn['at_points']}(params, x):",
                 '    """The parameters and the points x as float64 arrays on the CPU' +
                 (', and the weight draws of draw_batch(0, 0)."""' if self.posterior else '."""'),
                 f"    like = {sp.default_like}",
                 "    p = {name: " + arrays.format("value") + " for name, value in params.items()}"]
        if self.posterior:
            lines += ["    draws = {key: " + arrays.format("value") + " for key, value in draw_batch(0, 0).items()}",
                      "    return p, " + arrays.format("x") + ", draws", "", ""]
        else:
            lines += ["    return p, " + arrays.format("x"), "", ""]
        text = expr_text(score)
        lines += [f"def {self.fn['uncertainty']}(params, x):",
                 f'    """The score of report {report.label} at each point of x (features, samples), numpy in and out:',
                 f'    {text} with {field} = x."""',
                 *convert,
                 f"    return np.asarray({self.w.code(score, names)}).reshape(-1)", "", "",
                 f"def {self.fn['acquire']}(params, pool):",
                 '    """The index of the point of pool (features, samples) with the largest score: the next query',
                 f'    of active learning, argmax({text}) on the points given."""',
                 f"    return int(np.argmax({self.fn['uncertainty']}(params, pool)))", "", ""]
        covariances = sorted(score.atoms(F.CovarianceOver), key=str)
        if covariances:
            value = covariances[0].args[0]
            mean = self.w.code(F.MeanOver(value, sympy.Symbol(axes.DRAWS)), names)
            for key, what, code in (
                    ("predict", f"the mean over the draws of {expr_text(value)}, (features, samples)", mean),
                    ("predictive_covariance", f"covariance({expr_text(value)}, over = draws), (features, features, "
                     "samples)", self.w.code(covariances[0], names))):
                lines += [f"def {self.fn[key]}(params, x):",
                          f'    """The predictive {"mean" if key == "predict" else "covariance"} at the points x '
                          "(features, samples), numpy in and out:",
                          f'    {what}."""',
                          *convert, f"    return np.asarray({code})", "", ""]
        return lines
