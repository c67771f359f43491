"""Every time integrator, defined once: `SchemeDefinition`, and the registry of them.

A definition says what a scheme is: its options, order, whether its step is fixed, which
equations it integrates, and its stages as sympy update formulas (sciml/schemes/algebra.py).
The lowering of the `scheme` line reads its options; the code writer
(sciml/backends/common/model_code.py), the LaTeX writer and the stability analysis print or
evaluate its stages.  A scheme's name is written in its definition and nowhere else
(tests/test_scheme_registry.py checks it).

To add a scheme: one module in sciml/schemes/definitions/ with its SchemeDefinition, and its
name in DEFINITIONS below.
"""
from __future__ import annotations

import dataclasses
from functools import lru_cache

from sciml.schemes.algebra import Stage, h
from sciml.schemes.definition import (CHOICE, FIRST_ORDER, FLAG, MATRIX, NETWORK, REAL,  # noqa: F401
                                      REVERSE_TIME, SECOND_ORDER, SEPARABLE_PAIR, STEPS,
                                      STOCHASTIC_SYSTEM, TIME, Option, Region, SchemeDefinition)


def _definitions() -> tuple:
    from sciml.schemes.definitions import (dopri5, euler, euler_maruyama, imex, leapfrog, milstein,
                                           reverse_sampler, rk4, verlet)
    return (euler.EULER, rk4.RK4, verlet.KICK_DRIFT_KICK, verlet.STAGGERED, leapfrog.LEAPFROG,
            imex.IMEX, dopri5.DOPRI5, euler_maruyama.EULER_MARUYAMA, milstein.MILSTEIN,
            reverse_sampler.REVERSE_SAMPLER)


DEFINITIONS: tuple = _definitions()
# discretizations the language has (docs/language.md) that no definition implements yet
PLANNED: tuple = ()
NAMES: tuple = tuple(dict.fromkeys(d.name for d in DEFINITIONS))


def family(name: str) -> tuple:
    """The definitions written `name(...)`: one, or the forms of one method (verlet)."""
    return tuple(d for d in DEFINITIONS if d.name == name)


def lookup(name: str, **options) -> SchemeDefinition:
    """The definition of `name` with these options (the first of its family by default)."""
    chosen = family(name)
    if not chosen:
        raise KeyError(name)
    for d in chosen:
        if d.variant and options.get(d.variant[0], chosen[0].variant[1]) == d.variant[1]:
            return d
    return chosen[0]


@lru_cache(maxsize=None)
def _of(kind: str, options: tuple) -> SchemeDefinition:
    return lookup(kind, **dict(options))


def definition_of(scheme) -> SchemeDefinition:
    """The definition of an ir.Scheme (its kind, and the option that picks a form)."""
    return _of(scheme.kind, scheme.options)


def accepting(form: str) -> tuple:
    """The names of the schemes that integrate equations of `form`."""
    return tuple(dict.fromkeys(d.name for d in DEFINITIONS if form in d.forms))


def data_methods() -> tuple:
    """The schemes a simulated data set may use (generate ode(..., method = ...)): fixed-step,
    for first-order systems, with no option beyond the grid."""
    return tuple(d.name for d in DEFINITIONS if d.fixed_step and d.forms == (FIRST_ORDER,)
                 and all(o.grid for o in d.options))


def recommended(form: str) -> SchemeDefinition:
    """The fixed-step scheme of highest order for equations of `form` that needs no option
    beyond the grid (the one messages suggest, and simulated data sets use by default)."""
    return max((d for d in DEFINITIONS if d.fixed_step and form in d.forms
                and all(o.grid or o.default is not None for o in d.options)), key=lambda d: d.order)


def time_integrators() -> tuple:
    """The names of the schemes of ODEs: deterministic (a method of lines' `time = ...`)."""
    return tuple(dict.fromkeys(d.name for d in DEFINITIONS if not d.stochastic))


def adaptive() -> tuple:
    """The names of the adaptive schemes."""
    return tuple(dict.fromkeys(d.name for d in DEFINITIONS if d.adaptive))


def backwards(definition: SchemeDefinition) -> SchemeDefinition:
    """`definition` stepping from t to t - h: its stages with h replaced by -h (RK4's
    k2 = f(t - h/2, y - h/2 k1), y_{j+1} = y_j - h/6 (k1 + 2 k2 + 2 k3 + k4))."""
    def flipped(stages):
        return tuple(Stage(stage.target, stage.value.xreplace({h: -h})) for stage in stages)
    return dataclasses.replace(definition, start=flipped(definition.start), step=flipped(definition.step),
                               readout=flipped(definition.readout))


def probability_flow(scheme) -> SchemeDefinition:
    """The scheme of a reverse-time sampler's probability-flow ODE (its `flow` option, or that
    option's default), run backwards from T to 0."""
    (option,) = [o for o in definition_of(scheme).options if o.name == "flow"]
    return backwards(lookup(scheme.option("flow", option.default)))
