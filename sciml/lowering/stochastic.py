"""Lower the stochastic statements: `noise W : R[m]`, `sde d(X) = f * dt + g * dW` and
`latent z ~ normal(...)`.  (The stochastic schemes are defined in sciml/schemes/definitions/
and their line lowered like every scheme's, lowering/scheme_line.py.)

An SDE's right side is split into its drift (the terms with dt, divided by dt) and its
diffusion (the terms with increments dW, linear in them); a term with neither, or with dt and
dW together, is E261."""
from __future__ import annotations

import sympy

from sciml.frontend import ast
from sciml.lowering import axes, ir
from sciml.lowering import family_symbols as F
from sciml.lowering.expressions import Entry, fmt_shape


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
