"""The losses and reports of the families beyond the ODE, as a mixin of `FamilyCalls`:
fit(section) and `residual` of a PINN, Deep Ritz's energy, rel_l2 against a known solution,
denoising score matching, the ELBO of a VAE and the KL term of a Bayesian network."""
from __future__ import annotations

import sympy

from sciml.frontend import ast
from sciml.frontend.diagnostics import SpecError
from sciml.lowering import axes
from sciml.lowering import family_symbols as F
from sciml.lowering import reverse_sde


def written(spec: ast.Spec, kind) -> bool:
    """Whether the spec writes a statement of `kind` (an ast class, or the kind of an equation
    line: pde, initial, boundary).  One that is written but absent from the lowering was
    rejected, its error reported: the uses that read it (`residual`, fit(boundary), elbo) are
    then skipped, not reported again as missing."""
    if isinstance(kind, str):
        return any(isinstance(st, ast.EquationStmt) and st.kind == kind for st in spec.statements)
    return any(isinstance(st, kind) for st in spec.statements)


def _text(node) -> str:
    """A data field as written (train.x), for a help line."""
    if isinstance(node, ast.Attribute) and isinstance(node.base, ast.Name):
        return f"{node.base.id}.{node.name}"
    return "train.x"


class FamilyLosses:
    def skip_if_written(self, kind):
        """Skip this use without an error when the statement it reads was written, and rejected."""
        if written(self.lowering.spec, kind):
            raise SpecError(self.sink.items)

    def named(self, node):
        """The scope entry that the name `node` names (None for another node); the use of a
        name whose declaration was rejected is skipped."""
        if not isinstance(node, ast.Name):
            return None
        entry = self.scope.get(node.id)
        if entry is None:
            self.skip_if_failed(node.id)
        return entry

    def known_value(self, expr, span):
        """`expr` with the constants put in: a number when it is known at compile time."""
        return self._const_value(expr, span)

    def _call_fit(self, node):
        if len(node.positional) != 1 or not isinstance(node.positional[0], ast.SectionRef):
            self.fail("E254", "fit(initial) or fit(boundary): the mean squares of a section's conditions",
                      node.span, "the residual of the pde lines is the loss term `residual`")
        section = node.positional[0].section
        if self.kind != "pinn":
            self.fail("E254", f"fit({section}) is a loss term of a pinn model", node.span,
                      "on a grid the method of lines imposes the conditions exactly: remove it"
                      if self.kind == "grid_pde" else "conditions belong to a model of kind pinn")
        if not any(c.section == section for c in self.lowering.conditions):
            self.skip_if_written(section)
            self.fail("E254", f"fit({section}): the spec has no {section} condition", node.span,
                      f"add e.g.: {section} u(x, 0) = 0 with points = 50")
        if all(c.hard for c in self.lowering.conditions if c.section == section):
            self.fail("E254", f"fit({section}): every {section} condition is hard (enforce = hard), so "
                      "the field satisfies them exactly", node.span, f"remove fit({section}) from the loss")
        return self.typed(F.ConditionFit(sympy.Symbol(section)), ())

    def _call_ritz_energy(self, node):
        if self.kind != "pinn":
            self.fail("E254", "ritz_energy(...) is the loss of a pinn model (Deep Ritz)", node.span,
                      "write: model NAME : pinn, with net u(x, y) a field of the domain")
        context, self.context = self.context, "energy"
        try:
            (density,) = self._positional(node, 1)
        finally:
            self.context = context
        if not density.is_scalar:
            self.fail("E208", "the energy density is one number per point", node.span)
        self.lowering.loss_has_energy = True
        return self.typed(F.RitzEnergy(density.expr), ())

    def _call_rel_l2(self, node):
        """rel_l2(u, exact = ...): a report, the relative L2 error of a network on the domain."""
        self.require_domain()
        args, keywords = node.positional, {kw.name: kw for kw in node.keywords}
        net = self.named(args[0]) if len(args) == 1 else None
        if net is None or net.kind != "net" or set(keywords) - {"over"} != {"exact"}:
            self.fail("E257", "rel_l2(u, exact = ...) compares a network with a known solution",
                      node.span, "write e.g. rel_l2(u, exact = sin(pi * x))")
        if "over" in keywords:
            return self._relative_error_over(net.node, keywords)
        if not all(i in self.coordinates for i in net.node.inputs):
            self.fail("E257", f"rel_l2: the inputs of '{net.node.name}' are not coordinates of the domain",
                      args[0].span, f"rel_l2 compares a field, as u({', '.join(self.coordinates)}), with a "
                      f"known solution; report the network at a point instead: {net.node.name}(1.0)")
        exact = keywords["exact"].value
        context, self.context = self.context, "report"
        try:
            if isinstance(exact, ast.Call) and exact.func in F.REFERENCE_SOLUTIONS:
                values = [self.lowering.real(a, "an argument of the reference solution") for a in exact.positional]
                if len(values) != F.REFERENCE_SOLUTIONS[exact.func] or exact.keywords:
                    self.fail("E206", f"{exact.func}() takes {F.REFERENCE_SOLUTIONS[exact.func]} argument(s)",
                              exact.span)
                value = F.Reference(sympy.Symbol(exact.func), *(sympy.Float(v) for v in values))
            else:
                value = self.lower(exact).expr
        finally:
            self.context = context
        return self.typed(F.RelativeL2(sympy.Symbol(net.node.name), value), ())

    def _relative_error_over(self, net, keywords):
        """rel_l2(U, exact = 0.5 * c, over = train.c): a network of one input against its known
        form, on 101 values from the least to the largest of a data field."""
        over = self.lower(keywords["over"].value)
        field = over.expr
        if not (isinstance(field, sympy.Symbol) and "." in field.name):
            self.fail("E257", "rel_l2(..., over = data.field): the values come from a data field",
                      keywords["over"].value.span, "write e.g. over = train.c")
        if len(net.inputs) != 1 or net.widths[-1] != 1:
            self.fail("E257", f"rel_l2(..., over = ...) compares a network of one input with one output; "
                      f"'{net.name}' has {len(net.inputs)} input(s)", keywords["exact"].span)
        from sciml.lowering.expressions import Entry   # (expressions imports this module)
        (name,) = net.inputs
        context, self.context = self.context, "report"
        saved = self.scope.get(name)
        self.scope[name] = Entry("local", (), "values")
        try:
            exact = self.lower(keywords["exact"].value).expr
        finally:
            self.context = context
            if saved is None:
                del self.scope[name]
            else:
                self.scope[name] = saved
        return self.typed(F.RelativeL2(sympy.Symbol(net.name), exact.xreplace({sympy.Symbol(name): F.ValueRange(field)}),
                                       field), ())

    def _call_dsm(self, node):
        """dsm(s, data.x, t = uniform(low, high), weight = diffusion | variance | w): denoising
        score matching on the forward sde's transition kernel (reverse_sde.py), weighted by
        lambda(t) = g(t)^2 (diffusion, the default), the kernel's variance v(t), or a number."""
        args = node.positional
        net = self.named(args[0]) if len(args) == 2 else None
        if self.kind != "diffusion" or net is None or net.kind != "net":
            self.fail("E258", "dsm(s, data.x, t = uniform(low, high)) trains the score network s of a "
                      "diffusion model", node.span, "write: model NAME : diffusion, with net s(x, t)"
                      if self.kind != "diffusion" else "its first argument is the score network")
        data = self.lower(args[1])
        keywords = {kw.name: kw for kw in node.keywords}
        if set(keywords) - {"t", "weight"}:
            self.fail("E206", f"dsm() takes no argument '{sorted(set(keywords) - {'t', 'weight'})[0]}'",
                      node.span, "dsm(s, train.x, t = uniform(1e-3, T), weight = diffusion | variance | 1)")
        t_end = self.lowering.t_end()
        low, high = sympy.Float(1e-3), sympy.Float(t_end)
        if "t" in keywords:
            draw = keywords["t"].value
            if not isinstance(draw, ast.Call) or draw.func != "uniform" or len(draw.positional) != 2:
                self.fail("E258", "the times of score matching are t = uniform(low, high)", draw.span,
                          "write e.g. t = uniform(1e-3, T)")
            low, high = (sympy.Float(self.lowering.real(a, "a time")) for a in draw.positional)
            if not 0 < low < high <= t_end * (1 + 1e-12):
                self.fail("E258", f"score matching times need 0 < low < high <= T = {t_end:g}, the "
                          "final time of the forward sde", draw.span,
                          "at t = 0 the transition kernel has no spread; past T the score is never "
                          "used: write e.g. t = uniform(1e-3, T)")
        score = dict(getattr(self.lowering.scheme, "options", ())).get("score")
        if score is not None and score != net.node.name:
            self.fail("E258", f"dsm trains '{net.node.name}', but the reverse sampler runs on the "
                      f"score network '{score}'", args[0].span, f"train the sampler's network: dsm({score}, ...)")
        width = (data.shape or (1,))[0]
        if net.node.widths[0] != width + 1 or net.node.widths[-1] != width:
            self.fail("E205", f"the score network '{net.node.name}' maps (x, t) to a vector like x: "
                      f"{width + 1} inputs, {width} outputs", args[0].span,
                      f"declare it: net {net.node.name}(x, t) = mlp({width + 1} -> 128 -> {width}, tanh)")
        weight = self._dsm_weight(keywords.get("weight"))
        self._check_kernel(node)
        return self.typed(F.ScoreMatching(sympy.Symbol(net.node.name), data.expr, low, high, weight), ())

    def _dsm_weight(self, keyword):
        """The weight option of dsm: 'diffusion' (g^2), 'variance' (v(t)) or a positive number."""
        if keyword is None:
            return sympy.Symbol("diffusion")
        if isinstance(keyword.value, ast.Name) and keyword.value.id in reverse_sde.WEIGHTS:
            return sympy.Symbol(keyword.value.id)
        if isinstance(keyword.value, ast.Name):
            self.fail("E258", f"the weight of score matching is diffusion, variance or a number, not "
                      f"'{keyword.value.id}'", keyword.value.span,
                      "weight = diffusion: lambda(t) = g(t)^2 (the default); weight = variance: v(t)")
        value = self.lowering.real(keyword.value, "the weight")
        if not value > 0:
            self.fail("E258", f"the weight of score matching is positive, but this is {value:g}",
                      keyword.value.span, "weight = 1 weighs every time alike")
        return sympy.Float(value)

    def _check_kernel(self, node):
        """E409/E410 where the forward sde has no Gaussian transition kernel (reverse_sde.py)."""
        equations = self.lowering.equations
        if len(equations) != 1:
            return
        constants = {c.name: float(c.value) for c in self.lowering.constants
                     if not c.shape and c.value.is_number}
        try:
            reverse_sde.transition_kernel(reverse_sde.forward_sde(equations[0], constants), constants)
        except reverse_sde.KernelError as exc:
            self.fail(exc.code, exc.message, equations[0].span, exc.help)

    def _distribution(self, node, names, what, code, example):
        """(name, lowered parameters) of normal(mean, std) / bernoulli(p); a std that is a
        number must be positive."""
        if not isinstance(node, ast.Call) or node.func not in names or node.keywords:
            self.fail(code, f"{what} is " + " or ".join(f"{n}(...)" for n in names), node.span,
                      f"write e.g. {what.removeprefix('the ')} = {example}")
        arity = {"normal": 2, "bernoulli": 1}[node.func]
        if len(node.positional) != arity:
            self.fail("E206", f"{node.func}() takes {arity} argument(s)", node.span)
        values = [self.lower(a) for a in node.positional]
        if node.func == "normal":
            std = self.known_value(values[1].expr, node.positional[1].span)
            if std.is_number and std.is_positive is not True:
                self.fail(code, f"the standard deviation of {what} is positive, but this is {std}",
                          node.positional[1].span, f"write e.g. {what.removeprefix('the ')} = {example}")
        return node.func, values

    def _call_elbo(self, node):
        """elbo(data.x, decoder = normal(g(z), s) | bernoulli(g(z)), prior = normal(0, 1))."""
        if self.kind != "vae" or len(node.positional) != 1:
            self.fail("E259", "elbo(data.x, decoder = ..., prior = ...) is the loss of a vae model", node.span,
                      "write: model NAME : vae, with a latent z ~ normal(...)" if self.kind != "vae"
                      else "its one positional argument is the data: elbo(train.x, ...)")
        latents = self.lowering.latents
        if not latents:
            self.skip_if_written(ast.LatentStmt)
            self.fail("E259", "elbo(...) integrates out a latent variable; this spec declares none", node.span,
                      "add e.g.: latent z : R[2] ~ normal(mu(train.x), exp(log_var(train.x) / 2))")
        latent = latents[0]
        x = self.lower(node.positional[0])
        keywords = {kw.name: kw.value for kw in node.keywords}
        if not {"decoder", "prior"} <= set(keywords) <= {"decoder", "prior", "kl", "samples"}:
            self.fail("E259", "elbo() takes decoder = normal(mean, std) or bernoulli(p), "
                      "prior = normal(0, 1), and the options kl = analytic | monte_carlo and samples = L",
                      node.span, f"write e.g. elbo({_text(node.positional[0])}, "
                      f"decoder = normal(g({latent.name}), 0.1), prior = normal(0, 1))")
        kl = keywords.get("kl")
        if kl is not None and not (isinstance(kl, ast.Name) and kl.id in ("analytic", "monte_carlo")):
            self.fail("E259", "kl is analytic (the Gaussian KL in closed form, the default) or monte_carlo "
                      "(log q(z|x) - log p(z) at the drawn z)", kl.span, "write kl = analytic")
        samples = self.lowering.integer(keywords["samples"], "samples", 1) if "samples" in keywords else 1
        kind, (mean, *scale) = self._distribution(keywords["decoder"], ("normal", "bernoulli"), "the decoder", "E259",
                                                     f"normal(g({latent.name}), 0.1)")
        if mean.shape != x.shape:
            self.fail("E207", f"the decoder gives {self.fmt(mean.shape)} but the data are {self.fmt(x.shape)}",
                      keywords["decoder"].span, "the decoder's last width is the size of the data")
        if not mean.expr.has(sympy.Symbol(latent.name)):
            self.fail("E259", f"the decoder does not read the latent '{latent.name}'", keywords["decoder"].span,
                      f"the decoder maps the latent to the data: decoder = normal(g({latent.name}), 0.1)")
        encoded = axes.axes_of(self.scope[latent.name].axis) - {axes.DRAWS}
        if encoded and axes.axes_of(x.axis) - {axes.DRAWS} != encoded:
            self.fail("E250", f"elbo of the data '{_text(node.positional[0])}', but latent '{latent.name}' "
                      f"is encoded from the samples of '{', '.join(sorted(encoded))}'",
                      node.positional[0].span, f"the ELBO of x reads the latent encoded from the same x: "
                      f"elbo({sorted(encoded)[0]}.x, ...)")
        _, (prior_mean, prior_std) = self._distribution(keywords["prior"], ("normal",), "the prior", "E259",
                                                           "normal(0, 1)")
        return self.typed(F.Elbo(x.expr, sympy.Symbol(latent.name), sympy.Symbol(kind), mean.expr,
                                 scale[0].expr if scale else sympy.S.One, prior_mean.expr, prior_std.expr,
                                 sympy.Symbol(kl.id if kl is not None else "analytic"), sympy.Integer(samples)), ())

    def _call_iwae(self, node):
        """iwae(data.x, samples = K): the importance-weighted bound of the loss's elbo (a report)."""
        if self.kind != "vae" or len(node.positional) != 1 or [kw.name for kw in node.keywords] not in ([], ["samples"]):
            self.fail("E259", "iwae(data.x, samples = K) is a report of a vae model: the importance-weighted "
                      "bound of its elbo with K draws of the latent", node.span,
                      "write e.g. report iwae = iwae(train.x, samples = 100) with data = test")
        if self.context != "report":
            self.fail("E259", "iwae(...) is a report (the loss is -elbo(...))", node.span,
                      "write it on a report line: report iwae = iwae(train.x, samples = 100)")
        loss = self.lowering.loss
        if loss is None or not loss[0].has(F.Elbo):
            self.fail("E259", "iwae(...) is the importance-weighted bound of the loss's elbo(...), but the "
                      "loss has none" if loss is not None else "iwae(...) reads the loss's elbo(...): the "
                      "loss line comes first", node.span, "the loss of a vae is -elbo(train.x, decoder = ..., "
                      "prior = ...)")
        x = self.lower(node.positional[0])
        samples = self.lowering.integer(node.keywords[0].value, "samples", 1) if node.keywords else 100
        return self.typed(F.ImportanceBound(x.expr, sympy.Integer(samples)), ())

    def _call_kl(self, node):
        """kl(F, prior = normal(0, 1)): a Bayesian network's weight posterior against its prior."""
        args = node.positional
        net = self.named(args[0]) if len(args) == 1 else None
        if net is None or net.kind != "net" or not net.node.posterior:
            self.fail("E260", "kl(F, prior = normal(0, 1)) takes a network with a weight posterior",
                      node.span, "declare it: net F(x) = mlp(..., posterior = normal, draws = 16)")
        keywords = {kw.name: kw.value for kw in node.keywords}
        if set(keywords) != {"prior"}:
            self.fail("E260", "kl() takes prior = normal(mean, std)", node.span,
                      f"write kl({net.node.name}, prior = normal(0, 1))")
        _, (mean, std) = self._distribution(keywords["prior"], ("normal",), "the prior", "E260", "normal(0, 1)")
        return self.typed(F.KlToPrior(sympy.Symbol(net.node.name), mean.expr, std.expr), ())

