"""The typed IR of a model: names resolved, shapes known, maths as sympy expressions.

Every node is frozen and carries the span of the source it came from (ignored by equality).
Shapes are per sample: a state `Y : R[n]` has shape (n,) and is *batched* (the batch axis is
implicit and laid out last, so a batch of states is an n-by-B matrix and `K * Y` is `K @ Y`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy

from sciml.frontend.diagnostics import Span

_node = dataclass(frozen=True, slots=True, kw_only=True)


def _span():
    return field(default=Span.unknown(), compare=False, repr=False)


@_node
class Constant:
    name: str
    value: sympy.Basic  # a number or an ImmutableMatrix of numbers
    span: Span = _span()
    # a constant the method of lines derives (method_of_lines.py): how its value is computed,
    # printed instead of its numbers: ('nodes', a, dx, i0, i1), a + dx * i for i in i0..i1-1,
    # or ('formula', expr, x), expr (sympy) at the nodes held by the constant x
    derived: tuple = ()

    @property
    def shape(self) -> tuple:
        return tuple(self.value.shape) if isinstance(self.value, sympy.MatrixBase) else ()


@_node
class DataField:
    name: str
    shape: tuple  # per sample
    integer: bool = False


@_node
class DataSet:
    """A data set drawn in the emitted module with numpy (identical in every backend).

    generator: 'spirals', 'two_moons', 'ode', 'load'.  `options` are (name, value) pairs of
    plain Python numbers and tuples; for 'ode', `rhs` holds the right-hand sides of the known ODE.
    batched: samples are the last axis and training draws mini-batches over it.
    """

    name: str
    generator: str
    options: tuple
    fields: tuple
    batched: bool
    states: tuple = ()   # 'ode': the names of the simulated states, local to the data set
    rhs: tuple = ()      # 'ode': their right-hand sides (sympy)
    outside: bool = False  # 'load': the file is outside the spec's folder (W101): no message lists its fields
    span: Span = _span()

    def field(self, name: str) -> DataField | None:
        return next((f for f in self.fields if f.name == name), None)

    def option(self, name: str, default=None):
        return dict(self.options).get(name, default)


@_node
class State:
    name: str
    shape: tuple
    span: Span = _span()


@_node
class Init:
    """How a parameter starts: 'normal' (mean, std), 'uniform' (low = mean, high = std),
    'zeros', or 'value' (a sympy number/matrix)."""

    kind: str
    mean: float = 0.0
    std: float = 0.0
    value: sympy.Basic | None = None


@_node
class Parameter:
    name: str
    shape: tuple
    per_step: bool
    init: Init
    span: Span = _span()


@_node
class Network:
    """A multilayer perceptron; per_step networks have one set of weights per time step, and
    a network of a flow's coupling layers, declared s(j, x1) with j the layer index, one set
    per layer (`layers` sets, stacked on axis 0 of each weight)."""

    name: str
    inputs: tuple
    widths: tuple
    activation: str
    per_step: bool = False
    layers: int = 0
    # one network per time step n in steps = (first, last), declared `for n in 1..N-1`;
    # `start` names the parameter that stands for it at step 0 (`initial Z(0) = z0`)
    index: str = ""
    steps: tuple = ()
    start: str = ""
    batchnorm: bool = False
    posterior: str = ""     # 'normal': a mean-field Gaussian per weight (Bayes by backprop)
    draws: int = 0          # posterior draws per evaluation, or ensemble members (the `draws` axis)
    ensemble: bool = False  # `draws` independently initialised networks (deep ensembles)
    field: bool = False     # every input is a coordinate of the domain: a field u(x, t)
    span: Span = _span()

    @property
    def features(self) -> tuple:
        """The inputs that carry data (a per-layer network's first input is the layer index)."""
        return self.inputs[1:] if self.layers or self.index else self.inputs

    @property
    def copies(self) -> int:
        """The sets of weights stacked on axis 0: one per coupling layer, per time step or per
        ensemble member; 0 for a single network (no stacking axis)."""
        per_step = self.steps[1] - self.steps[0] + 1 if self.index else 0
        return self.layers or per_step or (self.draws if self.ensemble else 0)


@_node
class Equation:
    """d^order(state)/dt^order = rhs; for an SDE, d(state) = rhs dt + diffusion, where
    `diffusion` is linear in the noise increments (Increment atoms)."""

    state: str
    order: int
    rhs: sympy.Basic
    diffusion: sympy.Basic = sympy.S.Zero
    span: Span = _span()


@_node
class InitialCondition:
    """d^order(state)/dt^order at t = 0 equals value."""

    state: str
    order: int
    value: sympy.Basic
    span: Span = _span()


@_node
class Coupling:
    """One line of a coupling layer (Dinh et al.: NICE, RealNVP): `target` (x1 or x2) becomes
    target * scale + shift, scale and shift functions of the other half only, so the layer's
    Jacobian is triangular and log|det| = sum log|scale|.  All derived with sympy from `rhs`;
    NetCalls in them stand for the layer's own network (weights picked by the layer index)."""

    target: str
    rhs: sympy.Basic          # as written
    scale: sympy.Basic
    shift: sympy.Basic
    log_scale: sympy.Basic    # log|scale|, simplified: s for exp(s), 0 for the additive layer
    inverse: sympy.Basic      # the target recovered from the output: (target - shift) / scale
    span: Span = _span()


@_node
class Swap:
    """swap(x1, x2): the halves trade places (a permutation, |det| = 1)."""

    span: Span = _span()


@_node
class Flow:
    """An invertible map written as `layers` coupling layers, each the lines `lines` with the
    layer index `index`; x1 and x2 are the two halves (`half` features each) of its input."""

    name: str
    index: str
    first: int          # the index of the first layer as written (for j in 1..8: 1)
    layers: int
    half: int
    lines: tuple
    span: Span = _span()

    @property
    def size(self) -> int:
        return 2 * self.half


@_node
class Scheme:
    """A time integrator: `kind` the name of its definition (sciml.schemes.registry, which
    `definition_of(scheme)` looks up), `steps` steps of size t_end/steps (0: adaptive)."""

    kind: str
    steps: int
    t_end: float
    options: tuple = ()
    span: Span = _span()

    def option(self, name: str, default=None):
        return dict(self.options).get(name, default)


@_node
class TrainStage:
    optimizer: str
    lr: float
    steps: int
    batch: int
    span: Span = _span()


@_node
class Report:
    label: str
    expr: sympy.Basic
    dataset: str  # the data set it is evaluated on ('' if none)
    span: Span = _span()


@_node
class StabilityGuard:
    """A step-size bound that reads learned weights (finding A202), for the runtime check that
    `--check-stability` turns on: the scheme is stable while h <= bound (h < bound if strict)
    and every relation in `requires` holds.

    The bound is a sympy expression in scalar parameters (real symbols named as in the spec)
    and norm2 symbols; `norms` says what each norm2 is: (symbol, rows, terms), the matrix
    sum(coefficient * word), a word a tuple of (letter, transposed) and () the identity.  The
    letters are parameters, matrix constants, or the literals in `literals` (name, value).

    On a grid (the method of lines) a bound may also read the largest advection speed of a
    network: `extrema` says what each such symbol is, (symbol, speed, state, over), the symbol
    standing for max |speed| with `speed` an IR expression in the grid state `state` (NetCall,
    NetGrad for a network's derivative), taken over the values `over`: ("data", "train.c"), the
    range [min, max] of that data field, sampled at 101 evenly spaced values, ends included; or
    ("initial",), the range of the state's initial values on the grid nodes."""

    text: str
    bound: sympy.Basic
    strict: bool
    requires: tuple
    norms: tuple
    literals: tuple
    extrema: tuple = ()
    span: Span = _span()


@_node
class Coordinate:
    """A coordinate of the domain and its interval: x in [lower, upper]."""

    name: str
    lower: float
    upper: float
    span: Span = _span()


@_node
class Noise:
    """`noise W : R[m]`: a Brownian motion with m independent components."""

    name: str
    shape: tuple
    span: Span = _span()


@_node
class Latent:
    """`latent z : R[k] ~ normal(mean, std)`: z = mean + std * eps, eps a standard normal draw."""

    name: str
    shape: tuple
    distribution: str
    mean: sympy.Basic
    std: sympy.Basic
    span: Span = _span()


@_node
class Residual:
    """A PDE on a field, as residual = 0 at the interior points (`pde lhs = rhs`: lhs - rhs);
    `lhs` and `rhs` are the sides as written (what `sciml latex` prints)."""

    expr: sympy.Basic
    lhs: sympy.Basic | None = None   # None: the pde was given as expr = 0
    rhs: sympy.Basic = sympy.S.Zero
    span: Span = _span()

    @property
    def sides(self) -> tuple:
        """(lhs, rhs) as written."""
        return (self.expr, sympy.S.Zero) if self.lhs is None else (self.lhs, self.rhs)


@_node
class PointSet:
    """Where a loss term is evaluated: `count` points drawn by `sampler` on a part of the
    domain (the interior; or the coordinates in `fixed` held at the given values)."""

    sampler: str        # uniform, latin_hypercube, sobol
    count: int
    fixed: tuple = ()   # (coordinate, value) pairs: t = 0 for an initial slice, x = -1 for a face
    span: Span = _span()


@_node
class Condition:
    """An initial or boundary condition on a field or a grid state: `lhs = value` where the
    target is held at `fixed` coordinates.  kind: initial, dirichlet, neumann, periodic."""

    section: str         # initial or boundary (the fit(...) it belongs to)
    kind: str
    target: str          # the field or state
    lhs: sympy.Basic
    value: sympy.Basic
    fixed: tuple         # (coordinate, value) pairs
    points: PointSet | None = None
    weight: sympy.Basic = sympy.S.One
    hard: bool = False   # enforce = hard: the field is built to satisfy it (no points, no penalty)
    span: Span = _span()

    @property
    def face(self) -> str:
        return ", ".join(f"{name} = {value:g}" for name, value in self.fixed)


@_node
class Collocation:
    """PINN / Deep Ritz discretization: the interior point set, redrawn every `resample`
    training steps (0: fixed); the conditions carry their own point sets.  `derivatives`: the
    route of the fields' input derivatives, taylor or autodiff ('': taylor where it applies)."""

    interior: PointSet
    resample: int = 0
    derivatives: str = ""
    span: Span = _span()

    kind = "collocation"


@_node
class MethodOfLines:
    """A grid of `nodes` nodes on the space interval and a time integrator for the semi-discrete
    ODE; `boundary` is derived from the boundary lines: periodic, dirichlet or neumann;
    `advection` (the option of that name) says how first derivatives are differenced."""

    nodes: int
    boundary: str
    time: Scheme
    advection: str = "central"   # the first differences of advection terms: central or upwind
    span: Span = _span()
    # the semi-discrete model's (method_of_lines.semi_discrete): the coefficient of the grid's
    # Laplacian taken implicitly by an IMEX time integrator (its L is then -implicit * the
    # second-difference matrix, the constant the time scheme's L option names)
    implicit: sympy.Basic = sympy.S.Zero

    kind = "method_of_lines"


@_node
class RandomDraw:
    """A random draw of the loss, made with numpy from the seed and the training step and passed
    in with the batch: its purpose, distribution, shape per sample and axis."""

    name: str
    purpose: str          # brownian increments, collocation points, latent epsilon, ...
    distribution: str     # normal, uniform, latin_hypercube, sobol, rademacher
    shape: tuple
    axis: str
    count: int            # samples along the axis (0: the batch size)
    span: Span = _span()


@_node
class Model:
    name: str
    constants: tuple
    datasets: tuple
    states: tuple
    parameters: tuple
    networks: tuple
    equations: tuple
    initials: tuple
    scheme: "Scheme | Collocation | MethodOfLines | None"  # None for a flow, a VAE, a Bayesian network
    loss: sympy.Basic
    loss_span: Span
    training: tuple
    reports: tuple
    training_set: str  # the data set the loss reads (mini-batched), '' if none
    flows: tuple = ()
    guards: tuple = ()  # StabilityGuards the analysis found (runtime --check-stability)
    # the loss term by term, as written: (signed sympy term, span of the term); a run that
    # diverges names the term that is not finite
    loss_terms: tuple = ()
    # the analysis' stability findings (A2xx) as text: ("file:line:col" less the file,
    # code, message); a run that diverges names the one that predicted it
    stability_findings: tuple = ()
    kind: str = "ode"       # model NAME : KIND (sciml/lowering/kinds.py)
    domain: tuple = ()      # Coordinates
    noises: tuple = ()
    latents: tuple = ()
    residuals: tuple = ()
    conditions: tuple = ()
    draws: tuple = ()       # every RandomDraw of the loss
    span: Span = _span()

    def state(self, name):
        return next(s for s in self.states if s.name == name)

    def equation(self, state):
        return next(e for e in self.equations if e.state == state)

    def initial(self, state, order=0):
        return next((i for i in self.initials if i.state == state and i.order == order), None)

    def dataset(self, name):
        return next((d for d in self.datasets if d.name == name), None)

    def flow(self, name):
        return next((f for f in self.flows if f.name == name), None)

    @property
    def time_integrator(self) -> "Scheme | None":
        """The time-stepping scheme: the scheme, or the time integrator of the method of lines
        (None for collocation and models without a scheme)."""
        if isinstance(self.scheme, MethodOfLines):
            return self.scheme.time
        return self.scheme if isinstance(self.scheme, Scheme) else None

    @property
    def order(self) -> int:
        return max((e.order for e in self.equations), default=0)
