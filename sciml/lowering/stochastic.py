"""Lower the stochastic statements: `noise W : R[m]`, `sde d(X) = f * dt + g * dW`, the
stochastic schemes (euler_maruyama, milstein, reverse_sampler) and `latent z ~ normal(...)`.

An SDE's right side is split into its drift (the terms with dt, divided by dt) and its
diffusion (the terms with increments dW, linear in them); a term with neither, or with dt and
dW together, is E261."""
from __future__ import annotations

import sympy

from sciml.frontend import ast
from sciml.lowering import axes, ir
from sciml.lowering import family_symbols as F
from sciml.lowering.expressions import Entry, fmt_shape

# name: (positional options, options with defaults)
STOCHASTIC_SCHEMES = {
    "euler_maruyama": (("steps", "T"), {"paths": 1, "ito": True}),
    "milstein": (("steps", "T"), {"paths": 1, "ito": True}),
    "reverse_sampler": (("steps", "T"), {"paths": 1, "score": None}),
}


def lower_noise(st: ast.NoiseStmt, lowering):
    for decl in st.declarations:
        with lowering.checking(decl.name):
            if decl.time_dependent or decl.init_draw or decl.init_value is not None:
                lowering.fail("E262", f"noise '{decl.name}' is a Brownian motion: it has no start or draw",
                              decl.span, f"write: noise {decl.name} : R[m]")
            shape = lowering.shape_of(decl.type)
            if len(shape) > 1:
                lowering.fail("E204", "a noise is a scalar or a vector", decl.type.span,
                              "write noise W : R[m], m independent Brownian motions; a matrix "
                              "multiplies dW in the sde line")
            noise = ir.Noise(name=decl.name, shape=shape, span=decl.span)
            lowering.declare(decl.name, Entry("noise", shape, node=noise), decl.span)
            lowering.noises.append(noise)


def lower_sde(eq: ast.Equation, lowering):
    lhs = eq.lhs
    if not (isinstance(lhs, ast.Call) and lhs.func == "d" and len(lhs.args) == 1
            and isinstance(lhs.args[0], ast.Name)):
        lowering.fail("E302", "the left side of an sde is d(state)", lhs.span,
                      "write: sde d(X) = f(X) * dt + g(X) * dW")
    state = lhs.args[0].id
    lowering.exprs.skip_if_failed(state)
    entry = lowering.scope.get(state)
    if entry is not None and entry.kind == "noise":
        lowering.fail("E303", f"'{state}' is a noise, not a state", lhs.span,
                      f"a Brownian motion has no equation: its increments d{state} drive the states' sde lines")
    if entry is None or entry.kind != "state":
        lowering.fail("E303", f"'{state}' is not a state", lhs.span, f"declare it: state {state} : R[n]")
    if any(e.state == state for e in lowering.equations):
        lowering.fail("E304", f"state '{state}' has two equations", eq.span, "keep one of them")
    rhs = lowering.lower(eq.rhs)
    drift, diffusion = sympy.S.Zero, sympy.S.Zero
    for term in sympy.Add.make_args(rhs.expr):
        increments = term.atoms(F.Increment)
        coefficient, dependent = term.as_independent(F.DT, as_Add=False)
        if dependent == F.DT and not increments:
            drift += coefficient
        elif len(increments) == 1 and not term.has(F.DT) and _linear_in(term, next(iter(increments))):
            diffusion += term
        else:
            lowering.fail("E261", "each term of an sde is a drift times dt or a diffusion times one "
                          "noise increment dW", eq.rhs.span,
                          "write d(X) = f(X) * dt + g(X) * dW (dW entering linearly)")
    if rhs.shape != entry.shape and not (rhs.is_scalar and entry.shape in ((), (1,))):
        lowering.fail("E207", f"d({state}) is {fmt_shape(entry.shape)} but the right side is "
                      f"{fmt_shape(rhs.shape)}", eq.rhs.span, "each term has the state's shape; the "
                      "increment dW of noise W : R[m] has m entries: a matrix times dW, or dot(g, dW) "
                      "for a scalar state")
    lowering.equations.append(ir.Equation(state=state, order=1, rhs=drift, diffusion=diffusion, span=eq.span))


def _linear_in(term, increment) -> bool:
    """Whether `term` holds `increment` once and not under a power or a nonlinear function."""
    bad = [a for a in sympy.preorder_traversal(term)
           if isinstance(a, sympy.Pow) and a.base.has(increment)
           or isinstance(a, sympy.Function) and not isinstance(a, (F.Increment,)) and a.has(increment)
           and type(a).__name__ not in ("InnerProduct", "MatProduct")]
    return not bad and str(term).count(str(increment)) == 1


def lower_stochastic_scheme(call: ast.Call, lowering) -> ir.Scheme:
    positional_names, defaults = STOCHASTIC_SCHEMES[call.func]
    given = {}
    for position, arg in enumerate(call.positional):
        if position >= len(positional_names):
            lowering.fail("E402", f"{call.func}() takes at most (steps, T) positionally; name the "
                          "other options", arg.span)
        given[positional_names[position]] = arg
    for kw in call.keywords:
        if kw.name not in positional_names and kw.name not in defaults:
            lowering.fail("E402", f"{call.func}() has no option '{kw.name}'", kw.span,
                          "options: " + ", ".join(positional_names + tuple(defaults)))
        if kw.name in given:
            lowering.fail("E402", f"option '{kw.name}' is given twice", kw.span)
        given[kw.name] = kw.value
    for required in positional_names:
        if required not in given:
            lowering.fail("E402", f"{call.func}() needs {required}", call.span,
                          f"write e.g. {call.func}(steps = 50, T = 1.0, paths = 1000)")
    steps = lowering.integer(given["steps"], "the number of steps")
    t_end = lowering.real(given["T"], "the final time T")
    if t_end <= 0:
        lowering.fail("E402", "the final time T must be positive", given["T"].span)
    options = {"paths": lowering.integer(given["paths"], "the number of paths") if "paths" in given else 1}
    if "ito" in defaults:
        options["ito"] = True
        if "ito" in given:
            value = given["ito"]
            if not isinstance(value, ast.Name) or value.id not in ("true", "false"):
                lowering.fail("E402", "ito is true (Ito) or false (Stratonovich)", value.span)
            options["ito"] = value.id == "true"
    if "score" in defaults:
        score = given.get("score")
        entry = lowering.scope.get(score.id) if isinstance(score, ast.Name) else None
        if entry is None and isinstance(score, ast.Name):
            lowering.exprs.skip_if_failed(score.id)   # a network whose declaration was rejected
        if entry is None or entry.kind != "net":
            nets = [name for name, e in lowering.scope.items() if e.kind == "net"]
            lowering.fail("E263", "reverse_sampler(..., score = s) names the score network",
                          score.span if score is not None else call.span,
                          f"name the network that dsm(...) trains: score = {nets[0]}" if nets else
                          "declare it: net s(x, t) = mlp(3 -> 128 -> 2, tanh)")
        options["score"] = score.id
    return ir.Scheme(kind=call.func, steps=steps, t_end=t_end, options=tuple(sorted(options.items())),
                     span=call.span)


def lower_latent(st: ast.LatentStmt, lowering):
    for decl in st.declarations:
        with lowering.checking(decl.name):
            if lowering.latents:
                lowering.fail("E310", f"a model has one latent variable, '{lowering.latents[0].name}'",
                              decl.span, "elbo(...) integrates out one latent: make it a vector, "
                              "latent z : R[k]")
            shape = lowering.shape_of(decl.type)
            draw = decl.init_draw
            if draw is None or draw.func != "normal" or len(draw.positional) != 2 or draw.keywords:
                lowering.fail("E264", f"latent '{decl.name}' is drawn from its encoder: "
                              f"latent {decl.name} : R[k] ~ normal(mean(x), std(x))", decl.span,
                              "the encoder gives a mean and a standard deviation per sample, e.g. "
                              "normal(mu(train.x), exp(log_var(train.x) / 2))")
            lowering.exprs.context = "loss"
            mean, std = (lowering.lower(a) for a in draw.positional)
            lowering.exprs.context = ""
            spread = lowering.exprs.known_value(std.expr, draw.positional[1].span)
            if spread.is_number and spread.is_positive is not True:
                lowering.fail("E264", f"the standard deviation of latent '{decl.name}' is positive, "
                              f"but this is {spread}", draw.positional[1].span,
                              "write it as exp(log_var(x) / 2), positive for every sample")
            for part, value in (("mean", mean), ("std", std)):
                if value.shape != shape and not value.is_scalar:
                    lowering.fail("E207", f"the {part} of latent '{decl.name}' is {fmt_shape(value.shape)}, "
                                  f"the latent {fmt_shape(shape)}", draw.span,
                                  "the encoder's last width is the latent's size")
            latent = ir.Latent(name=decl.name, shape=shape, distribution="normal", mean=mean.expr,
                               std=std.expr, span=decl.span)
            lowering.declare(decl.name, Entry("latent", shape, axes.join(mean.axis, std.axis), latent),
                             decl.span)
            lowering.latents.append(latent)
