"""Model kinds: `model NAME : KIND` says which family a spec belongs to, and each kind has
its own completeness rules (what it needs, which statements and schemes it takes), checked
here once every statement is lowered.  Guessing the family from the statements present would
make every message a guess: "no state" is an error for an ODE and normal for a PINN."""
from __future__ import annotations

from dataclasses import dataclass

from sciml.frontend import ast
from sciml.frontend.diagnostics import Span
from sciml.lowering import axes
from sciml.schemes import registry


@dataclass(frozen=True)
class Kind:
    name: str
    description: str
    equations: str = ""          # the equation statement it takes: ode, sde or pde ('' none)
    states: bool = False         # it needs states
    domain: bool = False         # it needs a domain
    noise: bool = False          # it needs a noise declaration
    schemes: tuple = ()          # the scheme families it takes ('' : none)
    example: str = ""            # a scheme line to suggest ("" : the recommended time integrator)
    state_axis: str = axes.SAMPLES  # the sample axis of its states (sciml/lowering/axes.py)

    @property
    def suggestion(self) -> str:
        """A scheme line for this kind, from the scheme definitions."""
        time = registry.recommended(registry.FIRST_ORDER).example
        if self.example:
            return self.example.format(time=time)
        if self.schemes[0] == TIME:
            return "scheme " + time
        form = FORM_OF_FAMILY[self.schemes[0]]
        return "scheme " + next(d.example for d in registry.DEFINITIONS if form in d.forms)


TIME = "time integrator"
STOCHASTIC = "stochastic integrator"
REVERSE = "reverse sampler"
FORM_OF_FAMILY = {TIME: registry.FIRST_ORDER, STOCHASTIC: registry.STOCHASTIC_SYSTEM,
                  REVERSE: registry.REVERSE_TIME}
DISCRETIZATIONS = {"collocation": "collocation", "method_of_lines": "method of lines"}


def scheme_family(name: str) -> str:
    """The family of the scheme `name` (a kind takes schemes of its families): a time
    integrator, a stochastic one, the reverse sampler (from the definition's forms), or one of
    the PDE discretizations."""
    if name in DISCRETIZATIONS:
        return DISCRETIZATIONS[name]
    forms = registry.family(name)[0].forms
    return next((family for family, form in FORM_OF_FAMILY.items() if form in forms), TIME)
KINDS = {k.name: k for k in (
    Kind("ode", "an ODE whose right side holds networks (a ResNet, a neural ODE)", "ode", True,
         schemes=(TIME,)),
    Kind("latent_ode", "an encoder, a neural ODE on the latent state and a decoder", "ode", True,
         schemes=(TIME,)),
    Kind("cnf", "a continuous normalizing flow: an ODE with its log-density", "ode", True,
         schemes=(TIME,)),
    Kind("sde", "a stochastic differential equation with network terms", "sde", True, noise=True,
         schemes=(STOCHASTIC,), state_axis=axes.PATHS),
    Kind("bsde", "a forward-backward SDE (deep BSDE)", "sde", True, noise=True,
         schemes=(STOCHASTIC,), state_axis=axes.PATHS),
    Kind("diffusion", "a score-based diffusion model: a forward SDE and a score network", "sde", True,
         noise=True, schemes=(REVERSE,), state_axis=axes.PATHS),
    Kind("pinn", "a PDE on a network field, trained on collocation points (PINN, Deep Ritz)", "pde",
         domain=True, schemes=("collocation",),
         example="scheme collocation(interior = sobol(2000))"),
    Kind("grid_pde", "a PDE on a grid state, discretized by the method of lines", "pde", True,
         domain=True, schemes=("method of lines",), state_axis=axes.NODES,
         example="scheme method_of_lines(grid = 64, time = {time})"),
    Kind("flow", "a normalizing flow of coupling layers"),
    Kind("vae", "a variational autoencoder: an encoder, a latent and a decoder"),
    Kind("bayes", "a Bayesian neural network (a weight posterior) or an ensemble"),
)}
# the families of the statements that belong to some kinds only
STATEMENT_FAMILY = {"ode": "ode", "sde": "sde", "pde": "pde"}
EQUATION_LINES = {"ode": "ode dt(Y) = f(Y)", "sde": "sde d(X) = f(X) * dt + g(X) * dW",
                  "pde": "pde dt(u) = d(u, x, x)"}


def kind_of(spec: ast.Spec, sink) -> str:
    """The kind the `model` line names ('ode' when it names none); E312 for an unknown kind,
    after which the spec is checked as the kind it most likely meant (`recovery_kind`)."""
    first = next((st for st in spec.statements if isinstance(st, ast.ModelStmt)), None)
    if first is None or not first.kind:
        return "ode"
    if first.kind not in KINDS:
        import difflib
        close = difflib.get_close_matches(first.kind, KINDS, n=1)
        sink.error("E312", f"unknown model kind '{first.kind}'", first.kind_span,
                   f"did you mean '{close[0]}'?" if close else "kinds: " + ", ".join(KINDS))
        return close[0] if close else recovery_kind(spec)
    return first.kind


def recovery_kind(spec: ast.Spec) -> str:
    """The kind whose statements the spec holds, to check the rest of a spec whose kind is
    unknown (E312 is reported already) without a follow-on error for each of its statements."""
    statements = spec.statements
    equations = {st.kind for st in statements if isinstance(st, ast.EquationStmt)}
    if "sde" in equations or any(isinstance(st, ast.NoiseStmt) for st in statements):
        if any(isinstance(st, ast.SchemeStmt) and registry.family(st.call.func)
               and scheme_family(st.call.func) == REVERSE for st in statements):
            return "diffusion"
        per_step = any(isinstance(st, ast.NetStmt) and st.index is not None for st in statements)
        return "bsde" if per_step else "sde"
    if "pde" in equations or "boundary" in equations or any(isinstance(st, ast.DomainStmt) for st in statements):
        return "grid_pde" if any(isinstance(st, ast.StateStmt) for st in statements) else "pinn"
    if any(isinstance(st, ast.LatentStmt) for st in statements):
        return "vae"
    if any(isinstance(st, ast.FlowStmt) for st in statements):
        return "flow"
    if any(isinstance(st, ast.NetStmt) and any(kw.name in ("posterior", "ensemble") for kw in st.body.keywords)
           for st in statements):
        return "bayes"
    return "ode"


def check_statement_fits(kind: Kind, st, lowering):
    """E313: a statement that the model's kind does not take (an sde line in an ode model)."""
    family = None
    if isinstance(st, ast.EquationStmt) and st.kind in STATEMENT_FAMILY:
        family = st.kind
        if family != kind.equations:
            takers = ", ".join(k.name for k in KINDS.values() if k.equations == family)
            own = f"a model of kind {kind.name} writes its equations as {EQUATION_LINES[kind.equations]}; " \
                if kind.equations else ""
            lowering.fail("E313", f"a model of kind {kind.name} has no {family} equations",
                          st.span, f"{own}{family} lines belong to a model of kind {takers}")
    if isinstance(st, ast.EquationStmt) and st.kind == "boundary" and not kind.domain:
        lowering.fail("E313", f"a model of kind {kind.name} has no boundary conditions", st.span,
                      "boundary conditions belong to a PDE: model NAME : pinn or grid_pde")
    if isinstance(st, ast.DomainStmt) and not kind.domain:
        lowering.fail("E313", f"a model of kind {kind.name} has no spatial domain", st.span,
                      "a domain belongs to a PDE: model NAME : pinn or grid_pde")
    if isinstance(st, ast.NoiseStmt) and not kind.noise:
        lowering.fail("E313", f"a model of kind {kind.name} has no noise", st.span,
                      "noise belongs to an SDE: model NAME : sde, bsde or diffusion")
    if isinstance(st, ast.LatentStmt) and kind.name != "vae":
        lowering.fail("E313", f"a model of kind {kind.name} has no latent variables", st.span,
                      "latent variables belong to a variational autoencoder: model NAME : vae")
    if isinstance(st, ast.FlowStmt) and kind.name != "flow":
        lowering.fail("E313", f"a model of kind {kind.name} has no coupling flow", st.span,
                      "write: model NAME : flow")


def check_complete(kind: Kind, lowering, end: Span):
    """What the kind needs and the spec lacks, at the `model` line (E309)."""
    sink = lowering.sink
    if kind.states and not lowering.states:
        sink.error("E309", f"a model of kind {kind.name} has states; this one has none", end,
                   "declare one: state Y : R[n]")
    if not kind.states and lowering.states:
        sink.error("E313", f"a model of kind {kind.name} has no states", lowering.states[0].span,
                   "states belong to models of kind ode, sde, grid_pde and their relatives")
    if kind.domain and not lowering.domain:
        sink.error("E309", f"a model of kind {kind.name} needs a domain", end,
                   "add e.g.: domain x in [0, 1], t in [0, 1]")
    if kind.noise and not lowering.noises:
        sink.error("E309", f"a model of kind {kind.name} needs a noise", end, "add e.g.: noise W : R[2]")
    if kind.schemes and lowering.scheme is None:
        sink.error("E309", "the spec has no scheme", end, "add e.g.: " + kind.suggestion)
    if not kind.schemes and lowering.scheme is not None:
        sink.error("E313", f"a model of kind {kind.name} has no scheme", lowering.scheme.span,
                   "remove the scheme line")
    if kind.name == "flow" and not lowering.flows:
        sink.error("E309", "a model of kind flow needs a flow statement", end,
                   "add e.g.: flow g_inv for j in 1..4 { x2 = x2 * exp(s(j, x1)) + m(j, x1); swap(x1, x2) }")
    if kind.name == "vae" and not lowering.latents:
        sink.error("E309", "a model of kind vae needs a latent variable", end,
                   "add e.g.: latent z : R[2] ~ normal(mu(train.x), exp(log_var(train.x) / 2))")
    if kind.name == "bayes" and not any(n.posterior or n.ensemble for n in lowering.networks.values()):
        sink.error("E309", "a model of kind bayes needs a network with a weight posterior or an ensemble", end,
                   "write e.g.: net F(x) = mlp(2 -> 32 -> 2, tanh, posterior = normal, draws = 16), "
                   "or mlp(..., ensemble = 5)")
    if kind.name == "pinn" and lowering.domain and not lowering.residuals and not lowering.loss_has_energy:
        sink.error("E309", "a model of kind pinn needs a pde line or a ritz_energy(...) loss", end,
                   "add e.g.: pde dt(u) - d(u, x, x) = 0")
    if lowering.loss is None:
        sink.error("E309", "the spec has no loss", end, "add e.g.: loss mse(Y(T), train.y)")
    if not lowering.training:
        sink.error("E309", "the spec has no train line", end,
                   "add e.g.: train adam(lr = 1e-3, steps = 1000)")
