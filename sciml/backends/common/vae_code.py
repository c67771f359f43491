"""A variational autoencoder in the emitted module (kind vae): the encoder, the decoder's
log-likelihood, the KL to the prior, the ELBO and the importance-weighted bound, written once for
both backends from the spec's latent line and its elbo(...).

    encode_z(p, x)              the encoder e(z | x) = N(mean, diag std^2): the latent line's two
                                arguments, on the samples x
    log_likelihood_x(p, x, z)   log p(x | z) of each sample: the decoder's normal(mean, std) or
                                bernoulli(sigmoid(a)) summed over the entries of x (a row)
    log_ratio_z(z, mean, std)   log p(z) - log e(z | x) of each sample, the prior normal(m0, s0)
    kl_z(mean, std)             KL(e(z | x) || p(z)) of each sample in closed form
    elbo_z(p, x, eps)           the ELBO, the mean over the batch: E_e log p(x | z) - KL, with
                                z = mean + std * eps reparameterized, L draws a sample
    iwae_z(p, x, samples)       the importance-weighted bound (Burda et al. 2016) with K draws a
                                sample: log (1/K) sum_j p(x, z_j) / e(z_j | x), the mean over x
    sample(params, count, seed)      decoder means at z ~ p(z), numpy in and out
    reconstruct(params, x)           decoder means at the encoder's means, numpy in and out

The draws are numpy's: `draw_batch(seed, step)` gives eps_z ~ N(0, I) of shape (k, L *
ELBO_DRAWS), the loss takes the first L * (samples of the batch); the K draws of the bound
come from `importance_draws(K, count)` (default_rng(0)).  Several draws of a sample sit side by
side on the sample axis (the data repeated L times), so every function works on (features,
samples) arrays as the networks do; a row reshaped to (L, samples) gives each sample's draws.
"""
from __future__ import annotations

import sympy

from sciml.backends.common.quoting import literal
from sciml.backends.common.names import unused_key
from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.lowering.elbo_terms import gaussian_kl, log_bernoulli_logits, log_normal
from sciml.lowering.mathtext import expr_text


def vae_unsupported(model: ir.Model) -> list:
    """[(what, span)] of what this writer cannot write yet in a vae model."""
    found = []
    elbos = sorted(model.loss.atoms(F.Elbo), key=str)
    if len(elbos) != 1:
        found.append(("a vae loss without exactly one elbo(...)", model.loss_span))
        return found
    latent = model.latents[0]
    data = elbos[0].args[0]
    known = {sympy.Symbol(q.name) for q in model.parameters} | {sympy.Symbol(n.name) for n in model.networks}
    reads = (latent.mean.free_symbols | latent.std.free_symbols) - known
    if not reads <= {data} | {sympy.Symbol(c.name) for c in model.constants}:
        found.append((f"an encoder that reads other than {data}", latent.span))
    if str(elbos[0].args[2]) == "bernoulli" and not isinstance(elbos[0].args[3], S.Sigmoid):
        found.append(("a bernoulli decoder whose probabilities are not sigmoid(...) (write "
                      "bernoulli(sigmoid(g(z))): its log-likelihood is taken from the logits)", model.loss_span))
    for report in model.reports:
        if report.expr.has(S.StateAt):
            found.append(("reports of states in a vae model", report.span))
    return found


class VaeWriter:
    """The ELBO's functions and draws of one vae model."""

    def __init__(self, writer, model: ir.Model):
        self.w, self.m = writer, model
        (self.elbo,) = model.loss.atoms(F.Elbo)
        (self.data, latent_symbol, decoder, self.decoder_mean, self.decoder_scale, self.prior_mean,
         self.prior_std, kl, draws) = self.elbo.args
        self.latent = model.latents[0]
        self.decoder, self.kl, self.draws = str(decoder), str(kl), int(draws)
        self.size = self.latent.shape[0] if self.latent.shape else 1
        self.z = writer.names.get(self.latent.name) or writer.fresh(self.latent.name)
        data_name = str(self.data).split(".", 1)[1]
        fresh = writer.fresh
        self.fn = {key: fresh(base) for key, base in (
            ("encode", f"encode_{self.z}"), ("likelihood", f"log_likelihood_{data_name}"),
            ("ratio", f"log_ratio_{self.z}"), ("kl", f"kl_{self.z}"), ("elbo", f"elbo_{self.z}"),
            ("iwae", f"iwae_{self.z}"), ("importance", "importance_draws"), ("sample", "sample"),
            ("reconstruct", "reconstruct"))}
        self.x, self.mean, self.std, self.eps = (fresh(b) for b in ("x", "mean", "std", "eps"))
        fields = {f.name for d in model.datasets for f in d.fields}
        self.key = unused_key(f"eps_{self.latent.name}", fields)
        writer.names["elbo"] = self.fn["elbo"]
        writer.names["elbo draws"] = f"batch[{literal(self.key)}]"
        writer.names["iwae"] = self.fn["iwae"]

    # -- printing ---------------------------------------------------------------------------
    def code(self, expr, names: dict) -> str:
        params = {q.name: f"p[{literal(self.w.names[q.name])}]" for q in self.m.parameters}
        return self.w.code(expr, {**self.w.names, **params, **names})

    def _spelled(self, key: str, *args) -> str:
        return self.w.sp.printer.SPELLING[key].format(*args)

    def repeated(self, value: str, times) -> str:
        """`value` (features, samples) side by side `times` times on the sample axis."""
        return value if times == 1 else self._spelled("repeat_samples", value, times)

    # -- the numpy half ---------------------------------------------------------------------
    def batch_draws(self) -> int:
        """Draws per sample and step: one per sample of the largest mini-batch (all for batch 0)."""
        count = int(self.m.dataset(self.m.training_set).option("samples"))
        return max((s.batch if 0 < s.batch < count else count) for s in self.m.training)

    def numpy_lines(self) -> list[str]:
        k = self.size
        return [
            f"LATENT_SIZE = {k}  # entries of latent {self.latent.name}",
            f"ELBO_SAMPLES = {self.draws}  # L: draws of the latent per sample in the elbo",
            f"ELBO_DRAWS = {self.batch_draws()}  # samples of the largest batch: eps for each, L times",
            "", "",
            "def draw_batch(seed, step):",
            '    """The draws of training step `step`, from default_rng([seed, step]): eps ~ N(0, I) of the',
            f'    reparameterization {self.latent.name} = mean + std * eps, L per sample of the largest batch."""',
            "    rng = np.random.default_rng([seed, step])",
            f"    return {{{literal(self.key)}: rng.standard_normal(({k}, ELBO_SAMPLES * ELBO_DRAWS))}}",
            "", "",
            f"def {self.fn['importance']}(samples, count):",
            f'    """eps ~ N(0, I) of shape ({k}, samples * count), from default_rng(0): the importance-weighted',
            '    bound\'s draws, `samples` of each of `count` samples (draw j of sample b in column j * count + b)."""',
            f"    return np.random.default_rng(0).standard_normal(({k}, samples * count))",
        ]

    # -- the model half ---------------------------------------------------------------------
    def functions(self) -> list[str]:
        return (self.encode() + self.likelihood() + self.ratio() + self.kl_function() + self.elbo_function()
                + self.iwae_function() + self.sample_functions())

    def encode(self) -> list[str]:
        names = {str(self.data): self.x}
        mean, std = (self.code(e, names) for e in (self.latent.mean, self.latent.std))
        on_x = {self.data: sympy.Symbol("x")}
        return [f"def {self.fn['encode']}(p, {self.x}):",
                f'    """The encoder of latent {self.latent.name}, e({self.latent.name} | x) = N(mean, diag std^2): '
                f"{_text(self.latent.mean.xreplace(on_x))} and",
                f'    {_text(self.latent.std.xreplace(on_x))} of each sample of {self.x}."""',
                f"    return {mean}, {std}", "", ""]

    def likelihood(self) -> list[str]:
        x, z = sympy.Symbol("~x"), sympy.Symbol("~z")
        mean = self.decoder_mean.xreplace({sympy.Symbol(self.latent.name): z})
        if self.decoder == "normal":
            scale = self.decoder_scale.xreplace({sympy.Symbol(self.latent.name): z})
            expr = S.EntrySum(log_normal(x, mean, scale))
            what = f"normal({_text(self.decoder_mean)}, {_text(self.decoder_scale)})"
        else:   # bernoulli(sigmoid(a)): x a - softplus(a), from the logits a
            expr = S.EntrySum(log_bernoulli_logits(x, mean.args[0]))
            what = f"bernoulli({_text(self.decoder_mean)})"
        code = self.code(expr, {"~x": self.x, "~z": self.z})
        return [f"def {self.fn['likelihood']}(p, {self.x}, {self.z}):",
                f'    """log p(x | {self.latent.name}) of each sample (a row): the decoder {what}',
                '    summed over the entries of x."""',
                f"    return {code}", "", ""]

    def ratio(self) -> list[str]:
        z, mean, std = (sympy.Symbol(n) for n in ("~z", "~mean", "~std"))
        expr = S.EntrySum(log_normal(z, self.prior_mean, self.prior_std) - log_normal(z, mean, std))
        code = self.code(expr, {"~z": self.z, "~mean": self.mean, "~std": self.std})
        return [f"def {self.fn['ratio']}({self.z}, {self.mean}, {self.std}):",
                f'    """log p({self.latent.name}) - log e({self.latent.name} | x) of each sample (a row): the prior '
                f"normal({_text(self.prior_mean)}, {_text(self.prior_std)})",
                f'    against the encoder N({self.mean}, diag {self.std}^2), the constants log(2 pi) cancelled."""',
                f"    return {code}", "", ""]

    def kl_function(self) -> list[str]:
        mean, std = sympy.Symbol("~mean"), sympy.Symbol("~std")
        m0, s0 = self.prior_mean, self.prior_std
        expr = S.EntrySum(gaussian_kl(mean, std, m0, s0))   # derived by sympy (elbo_terms.py)
        code = self.code(expr, {"~mean": self.mean, "~std": self.std})
        return [f"def {self.fn['kl']}({self.mean}, {self.std}):",
                f'    """KL(N({self.mean}, diag {self.std}^2) || normal({_text(m0)}, {_text(s0)})) of each sample in '
                "closed form (a row):",
                f'    the sum over the entries of log(s0 / {self.std}) + ({self.std}^2 + ({self.mean} - m0)^2) / '
                '(2 s0^2) - 1/2."""',
                f"    return {code}", "", ""]

    def _draw_lines(self, times: str) -> list[str]:
        """z = mean + std * eps of `times` draws a sample, side by side on the sample axis."""
        mean, std = self.repeated(self.mean, times), self.repeated(self.std, times)
        return [f"    {self.z} = {mean} + {std} * {self.eps}"]

    def elbo_function(self) -> list[str]:
        L = self.draws
        x, z, mean, std, eps = self.x, self.z, self.mean, self.std, self.eps
        xs = self.repeated(x, "ELBO_SAMPLES" if L > 1 else 1)
        likelihood = self._spelled("mean", f"{self.fn['likelihood']}(p, {xs}, {z})")
        if self.kl == "analytic":
            kl, how = self._spelled("mean", f"{self.fn['kl']}({mean}, {std})"), "the KL in closed form"
        else:
            kl = self._spelled("mean", f"-{self.fn['ratio']}({z}, {self.repeated(mean, 'ELBO_SAMPLES' if L > 1 else 1)}, "
                                       f"{self.repeated(std, 'ELBO_SAMPLES' if L > 1 else 1)})")
            how = "the KL by Monte Carlo at the same draws"
        return [f"def {self.fn['elbo']}(p, {x}, {eps}):",
                f'    """The ELBO of {self.data}, the mean over its samples: E_e log p(x | {self.latent.name}) - '
                f"KL(e({self.latent.name} | x) || p({self.latent.name})), {how};",
                f"    {self.latent.name} = mean + std * {eps} reparameterized, {L} draw{'s' if L > 1 else ''} a sample "
                f"({eps}: the step's draws, the first",
                f'    {"ELBO_SAMPLES * " if L > 1 else ""}samples of them)."""',
                f"    {mean}, {std} = {self.fn['encode']}(p, {x})",
                f"    {eps} = {eps}[:, :{'ELBO_SAMPLES * ' if L > 1 else ''}{x}.shape[-1]]",
                *self._draw_lines("ELBO_SAMPLES" if L > 1 else 1),
                f"    return {likelihood} - {kl}", "", ""]

    def iwae_function(self) -> list[str]:
        x, z, mean, std, eps = self.x, self.z, self.mean, self.std, self.eps
        arrays = self.w.sp.as_const.format(value=f"{self.fn['importance']}(samples, {x}.shape[-1])", like=x)
        weights = (f"{self.fn['likelihood']}(p, {self.repeated(x, 'samples')}, {z}) + {self.fn['ratio']}({z}, "
                   f"{self.repeated(mean, 'samples')}, {self.repeated(std, 'samples')})")
        return [f"def {self.fn['iwae']}(p, {x}, samples):",
                f'    """The importance-weighted bound of {self.data} with `samples` = K draws of {self.latent.name} a '
                "sample (Burda et al. 2016),",
                f"    the mean over the samples of log (1/K) sum_j p(x, {self.latent.name}_j) / e({self.latent.name}_j | x) "
                "<= log p(x): above the ELBO,",
                f'    rising to log p(x) as K grows; the draws are {self.fn["importance"]}(K, samples of x)."""',
                f"    {mean}, {std} = {self.fn['encode']}(p, {x})",
                f"    {eps} = {arrays}",
                *self._draw_lines("samples"),
                f"    log_weights = ({weights}).reshape(samples, -1)",
                f"    return {self._spelled('mean', self._spelled('logsumexp_rows', 'log_weights'))} - np.log(samples)",
                "", ""]

    def sample_functions(self) -> list[str]:
        sp = self.w.sp
        arrays = sp.as_const.format(value="{}", like="like")
        decoder = self.decoder_mean   # the image's mean: g(z), or sigmoid(a) of a bernoulli decoder
        prior_z = self.prior_mean + self.prior_std * sympy.Symbol("~eps")
        mean_code = self.code(decoder, {self.latent.name: self.z})
        return [
            f"def {self.fn['sample']}(params, count, seed=0):",
            f'    """`count` samples of the data model\'s mean, numpy in and out: {self.latent.name} ~ '
            f"normal({_text(self.prior_mean)}, {_text(self.prior_std)}) from",
            f'    default_rng(seed), decoded to {_text(decoder)}; float64, on the CPU."""',
            f"    like = {sp.default_like}",
            "    p = {name: " + arrays.format("value") + " for name, value in params.items()}",
            f"    {self.eps} = {arrays.format(f'np.random.default_rng(seed).standard_normal(({self.size}, count))')}",
            f"    {self.z} = {self.code(prior_z, {'~eps': self.eps})}",
            f"    return np.asarray({mean_code})", "", "",
            f"def {self.fn['reconstruct']}(params, {self.x}):",
            f'    """The decoder\'s mean at the encoder\'s mean of each sample of {self.x} (features, samples), '
            'numpy in and out;',
            '    float64, on the CPU."""',
            f"    like = {sp.default_like}",
            "    p = {name: " + arrays.format("value") + " for name, value in params.items()}",
            f"    {self.z}, _ = {self.fn['encode']}(p, {arrays.format(self.x)})",
            f"    return np.asarray({mean_code})", "", "",
        ]


def _text(expr) -> str:
    """An expression as the docstrings say it: in the spec's notation."""
    return expr_text(expr)
