"""Every random draw of a model, as IR nodes (docs/language.md, "Randomness").

The loss is a pure function of (parameters, batch): what it needs at random — Brownian
increments, collocation points, score-matching times and noise, a VAE's epsilon, the weights
of a Bayesian network, Hutchinson probes — is listed here with its distribution, shape and
axis, drawn by the emitted numpy half from default_rng([seed, step]) and passed in with the
batch, so torch and JAX see the same numbers.  (Initial weights and generated data are drawn
once, from the seed, by the numpy half too; they are not listed.)"""
from __future__ import annotations

from sciml.lowering import axes, ir
from sciml.lowering import family_symbols as F


def draws(model: ir.Model) -> tuple:
    found = []
    scheme = model.scheme
    if isinstance(scheme, ir.Scheme) and model.noises:
        paths = scheme.option("paths", 1)
        for noise in model.noises:
            found.append(ir.RandomDraw(name=f"d{noise.name}", purpose="Brownian increments, one per step, "
                                       "shared by every equation that names them",
                                       distribution=f"normal(0, sqrt(h)), h = {scheme.t_end / scheme.steps:g}",
                                       shape=(scheme.steps,) + noise.shape, axis=axes.PATHS, count=paths,
                                       span=noise.span))
    if isinstance(scheme, ir.Collocation):
        coordinates = len(model.domain)
        every = " every step" if scheme.resample == 1 else (f" every {scheme.resample} steps"
                                                             if scheme.resample else " once")
        found.append(ir.RandomDraw(name="interior", purpose="collocation points in the interior, drawn" + every,
                                   distribution=scheme.interior.sampler, shape=(coordinates,),
                                   axis=axes.POINTS, count=scheme.interior.count, span=scheme.interior.span))
        for condition in model.conditions:
            if condition.points is not None:
                found.append(ir.RandomDraw(
                    name=f"{condition.section} {condition.target}({condition.face})",
                    purpose=f"points of the {condition.section} condition, drawn" + every,
                    distribution=condition.points.sampler, shape=(coordinates - len(condition.fixed),),
                    axis=axes.POINTS, count=condition.points.count, span=condition.span))
    loss = model.loss
    for atom in sorted(loss.atoms(F.ScoreMatching), key=str):
        s, x, low, high, _ = atom.args
        found.append(ir.RandomDraw(name="score times", purpose=f"the times of score matching of {s}",
                                   distribution=f"uniform({float(low):g}, {float(high):g})", shape=(),
                                   axis=str(x).split(".")[0], count=0, span=model.loss_span))
        found.append(ir.RandomDraw(name="score noise", purpose="the noise added to the data at those times",
                                   distribution="normal(0, 1)", shape=_size(model, x), axis=str(x).split(".")[0],
                                   count=0, span=model.loss_span))
    for latent in model.latents:
        found.append(ir.RandomDraw(name=f"eps_{latent.name}", purpose=f"the reparameterization of {latent.name} "
                                   f"= mean + std * eps", distribution="normal(0, 1)", shape=latent.shape,
                                   axis=model.training_set or axes.SAMPLES, count=0, span=latent.span))
    for net in model.networks:
        if net.posterior:
            found.append(ir.RandomDraw(name=f"weights_{net.name}", purpose=f"the weights of {net.name}, "
                                       "mean + softplus(rho) * eps per weight", distribution="normal(0, 1)",
                                       shape=(sum(a * b + b for a, b in zip(net.widths, net.widths[1:])),),
                                       axis=axes.DRAWS, count=net.draws, span=net.span))
    probes = {}   # one draw per solve, shared by every estimate of the same size
    for equation in model.equations:
        for atom in sorted(equation.rhs.atoms(F.NetDivergence), key=str):
            if str(atom.args[2]) == "hutchinson":
                size = _entries(model, atom.args[1])
                key = (int(atom.args[3]), size, str(atom.args[4]))
                probes.setdefault(key, equation.span)
    for (count, size, distribution), span in probes.items():
        found.append(ir.RandomDraw(name="probes", purpose="Hutchinson's trace probes, one draw per solve",
                                   distribution=distribution, shape=(count, size), axis=axes.SAMPLES, count=0,
                                   span=span))
    return tuple(found)


def _entries(model, symbol) -> int:
    """The entries per sample of a state or parameter a network's derivative is taken in."""
    for declared in list(model.states) + list(model.parameters):
        if declared.name == str(symbol):
            return declared.shape[0] if declared.shape else 1
    return 1


def _size(model, symbol) -> tuple:
    name, _, field = str(symbol).partition(".")
    dataset = model.dataset(name)
    found = dataset.field(field) if dataset is not None else None
    return found.shape if found is not None else ()
