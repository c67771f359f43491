"""Sample axes: every per-sample value has named implicit axes (docs/language.md, "Sample axes").

An axis is a data set's samples (named after the set), `paths` (SDE paths), `points`
(collocation points), `nodes` (grid nodes), SAMPLES (the axis of an ODE's states, which takes
the axis of the data it meets), and `draws` (posterior draws), which is independent of the
others: F(train.x) of a Bayesian network has the axes draws and train.  A value holds at most
one axis besides draws; combining two different ones entry by entry is an error (E250).
The axes of a value are written as one string, sorted and joined by ',' (None: no axis)."""
from __future__ import annotations

SAMPLES = "samples"
DRAWS = "draws"
PATHS = "paths"
POINTS = "points"
NODES = "nodes"


class AxisConflict(Exception):
    def __init__(self, first: str, second: str):
        super().__init__(first, second)
        self.first, self.second = first, second


def axes_of(axis) -> frozenset:
    return frozenset(axis.split(",")) if axis else frozenset()


def axis_text(axes) -> str | None:
    return ",".join(sorted(axes)) if axes else None


def join(*axes) -> str | None:
    """The axes of an elementwise combination; AxisConflict for two different sample sets."""
    every = set().union(*(axes_of(a) for a in axes))
    sets = every - {DRAWS}
    if len(sets) > 1:
        sets.discard(SAMPLES)
    if len(sets) > 1:
        first, second = sorted(sets)[:2]
        raise AxisConflict(first, second)
    return axis_text(sets | (every & {DRAWS}))


def without(axis, name: str | None) -> str | None:
    """The axes left after a reduction over `name` (None: over all)."""
    if name is None:
        return None
    return axis_text(axes_of(axis) - {name})


def has(axis, name: str) -> bool:
    axes = axes_of(axis)
    return name in axes or (name not in (DRAWS,) and SAMPLES in axes)
