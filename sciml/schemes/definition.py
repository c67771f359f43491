"""What a time integrator is: `SchemeDefinition`, with its `Option`s and stability `Region`.

The definitions themselves are in sciml/schemes/definitions/, one module per method; the registry
(sciml/schemes/registry.py) lists them.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

# the equation forms a scheme integrates
FIRST_ORDER = "first-order system"      # dt(Y) = f(t, Y), Y one state or several, stacked
SEPARABLE_PAIR = "separable pair"       # dt(Y) = f(t, Z), dt(Z) = g(t, Y)
SECOND_ORDER = "second-order state"     # dt(dt(Y)) = f(t, Y), one state
STOCHASTIC_SYSTEM = "stochastic system"  # d(Y) = f(t, Y) dt + g(t, Y) dW, Y one state or several
REVERSE_TIME = "reverse-time sampler"   # the reverse SDE of a forward one and a score network

# option kinds, each lowered its own way (sciml/lowering/scheme_line.py)
STEPS = "steps"        # a positive integer
TIME = "time"          # a positive real
REAL = "real"
FLAG = "flag"          # true or false
CHOICE = "choice"      # one of `choices`, written as a bare name
MATRIX = "matrix"      # the name of a symmetric positive semi-definite constant matrix
NETWORK = "network"    # the name of a network of the spec


@dataclass(frozen=True)
class Option:
    name: str
    kind: str
    default: object = None        # None: the option is required
    positional: bool = False      # may be given by position, in the order of `options`
    choices: tuple = ()
    missing: tuple = ()           # (code, message, help) when a required option is missing
    grid: bool = False            # steps and T: the Scheme's own fields, not one of its options


@dataclass(frozen=True)
class Region:
    """Constants of the stability region, precomputed from the stages; each None is derived
    when needed (sciml/analysis/stability.py), and tests/test_analysis_stability.py re-derives
    every one given here."""

    real_limit: sympy.Expr | None = None         # |R(-x)| <= 1 for x in [0, real_limit]
    imaginary_limit: sympy.Expr | None = None    # |R(iy)| <= 1 for |y| <= imaginary_limit
    half_disc: sympy.Expr | None = None          # {|z| <= r, Re z <= 0} inside the region
    oscillation_limit: sympy.Expr | None = None  # stable on y'' = -w^2 y for h w < this


@dataclass(frozen=True)
class SchemeDefinition:
    name: str                 # as written in a spec: scheme <name>(...)
    title: str                # for the emitted code's docstrings
    short: str                # for messages (findings)
    latex: str                # for `sciml latex`
    options: tuple            # Options, positional ones first
    order: int
    forms: tuple              # the equation forms it integrates
    example: str              # a scheme line to suggest
    adaptive: bool = False    # steps chosen by error control (a library's solver)
    carried: tuple = ()       # the Values a step reads, at step j
    start: tuple = ()         # Stages before the first step (at step 0)
    start_steps: int = 0      # the steps `start` takes (leapfrog's first step: 1)
    step: tuple = ()          # the Stages of step j
    readout: tuple = ()       # Stages giving a state at the grid time from the carried values
    inverse: tuple = ()       # the Stages undoing step j (from the carried values at j + 1)
    reversible: bool = False
    reversible_reason: str = ""
    stochastic: bool = False  # draws a noise increment each step: its stages use the noise slot
    strong_order: object = None  # a stochastic scheme's strong order (`order` is its weak order)
    variant: tuple = ()       # (option, value) that selects this definition among its name's
    stability: Region = Region()
    solvers: tuple = ()       # adaptive: (library, the library's name for the method)

    @property
    def fixed_step(self) -> bool:
        return not self.adaptive

    def option(self, name) -> Option | None:
        return next((o for o in self.options if o.name == name), None)

    @property
    def positional(self) -> tuple:
        return tuple(o for o in self.options if o.positional)

    @property
    def matrix_options(self) -> tuple:
        return tuple(o.name for o in self.options if o.kind == MATRIX)

    def solver(self, library: str) -> str:
        return dict(self.solvers)[library]

    @property
    def returned(self) -> tuple:
        """The Values a step returns: the carried ones one step on."""
        return tuple(v.shifted(1) for v in self.carried)



def grid_options() -> tuple:
    """steps and T, positional, both required: every fixed-step scheme's first two options."""
    return (Option("steps", STEPS, positional=True, grid=True),
            Option("T", TIME, positional=True, grid=True))
