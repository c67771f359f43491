"""The numpy half of a collocation model's module: the point sets and `draw_points(seed, step)`.

Where a PINN's (or Deep Ritz's) loss terms are evaluated: the interior of the domain box and,
for each condition, the box with the condition's coordinates held fixed (t = 0 for the initial
slice, x = -1 for a face; a periodic condition's points lie on its first end, the loss reads the
other end at the same free coordinates).  The points are drawn here, with numpy, from
default_rng([seed, draw]) with draw = step // resample (0 when resample = 0: drawn once), so a
run is reproducible from its seed and step and the torch and the JAX module see the same points.
"""
from __future__ import annotations

import dataclasses

from sciml.backends.common.quoting import docstring, literal
from sciml.lowering import ir

# The samplers of the unit cube [0, 1)^dimension, one function each, written only when a set uses it.
SAMPLER_FUNCTIONS = {
    "uniform": '''
def uniform_points(rng, count, dimension):
    """`count` independent uniform points of [0, 1)^dimension."""
    return rng.uniform(size=(count, dimension))
''',
    "latin_hypercube": '''
def latin_hypercube_points(rng, count, dimension):
    """`count` points of [0, 1)^dimension, exactly one in each of the `count` equal strata of
    every coordinate (scrambled: a point lies anywhere in its stratum)."""
    return qmc.LatinHypercube(d=dimension, scramble=True, rng=rng).random(count)
''',
    "sobol": '''
def sobol_points(rng, count, dimension):
    """The first `count` of 2^m >= count scrambled Sobol points of [0, 1)^dimension: the net is
    drawn whole with random_base2(m), so a power-of-two count keeps its balance (each dyadic
    interval holds its share of the points) and any other count is the sequence's first points."""
    m = max(count - 1, 0).bit_length()
    return qmc.Sobol(d=dimension, scramble=True, rng=rng).random_base2(m)[:count]
''',
}
QMC_SAMPLERS = ("latin_hypercube", "sobol")   # the ones drawn by scipy.stats.qmc

POINTS_IN_BOX = '''
def points_in_box(unit, fixed):
    """(count, d) points, columns in the order of DOMAIN_BOX: a free coordinate is
    lower + (upper - lower) * u, u the next column of `unit` (points of [0, 1)^free); a
    coordinate in `fixed` holds its value."""
    free = iter(unit.T)
    return np.stack([np.full(len(unit), float(fixed[name])) if name in fixed
                     else lower + (upper - lower) * next(free)
                     for name, lower, upper in DOMAIN_BOX], axis=1)
'''


@dataclasses.dataclass(frozen=True)
class NamedPointSet:
    """A point set of the model under the name the emitted module gives it (a key of
    POINT_SETS and of draw_points' result); `condition` is None for the interior."""

    name: str
    points: ir.PointSet
    condition: ir.Condition | None = None


def point_sets(model: ir.Model) -> tuple[NamedPointSet, ...]:
    """The interior, then every condition with points, in model.conditions order; a condition's
    set is named after its face (initial_t_0, boundary_x_-1), with the condition's index in
    model.conditions appended where two conditions share a face (boundary_x_0_2)."""
    if not isinstance(model.scheme, ir.Collocation):
        return ()
    faces = [f"{c.section}_" + "_".join(f"{name}_{value:g}" for name, value in c.fixed)
             for c in model.conditions]
    named = [NamedPointSet("interior", model.scheme.interior)]
    for index, (condition, face) in enumerate(zip(model.conditions, faces)):
        if condition.points is not None:
            name = face if faces.count(face) == 1 else f"{face}_{index}"
            named.append(NamedPointSet(name, condition.points, condition))
    return tuple(named)


def points_imports(model: ir.Model) -> tuple[list[str], list[str]]:
    """(standard-library, other) imports the point section needs beyond numpy: functools for the
    cache of the last draw, scipy's qmc for a Latin hypercube or Sobol set (none without
    collocation)."""
    sets = point_sets(model)
    if not sets:
        return [], []
    used = {s.points.sampler for s in sets if _free(model, s.points)}
    return ["import functools"], (["from scipy.stats import qmc"] if used & set(QMC_SAMPLERS) else [])


def emit_points_section(model: ir.Model) -> list[str]:
    """Lines for DOMAIN_BOX, POINT_SETS, POINTS_RESAMPLE, the samplers used, points_in_box and
    draw_points(seed, step); no lines for a model without a collocation scheme."""
    sets = point_sets(model)
    if not sets:
        return []
    resample = model.scheme.resample
    box = ", ".join(f"({literal(c.name)}, {float(c.lower)!r}, {float(c.upper)!r})" for c in model.domain)
    lines = ["# ---- collocation points: drawn with numpy from (seed, step), identical in every backend",
             "# The coordinates of the domain, in the order of the points' columns, and their intervals.",
             f"DOMAIN_BOX = ({box}{',' if len(model.domain) == 1 else ''})",
             "# Where the loss terms are evaluated: the interior, then the conditions in the spec's order;",
             "# `fixed` holds coordinates at their values (t = 0: the initial slice; x = -1: a face).",
             "POINT_SETS = {"]
    for s in sets:
        lines.append(f"    {literal(s.name)}: {{'sampler': {literal(s.points.sampler)}, "
                     f"'count': {s.points.count}, 'fixed': {_fixed(s.points)}}},")
    lines += ["}",
              f"POINTS_RESAMPLE = {resample}   # fresh points every POINTS_RESAMPLE steps; 0: drawn once",
              "", ""]
    for sampler in sorted({s.points.sampler for s in sets if _free(model, s.points)}):
        lines += SAMPLER_FUNCTIONS[sampler].strip("\n").splitlines() + ["", ""]
    lines += POINTS_IN_BOX.strip("\n").splitlines() + ["", ""]
    lines += _draw_points(model, sets, resample)
    return lines


def _draw_points(model: ir.Model, sets, resample: int) -> list[str]:
    columns = ", ".join(c.name for c in model.domain)
    when = (f"drawn anew every {resample} steps, from default_rng([seed, step // {resample}])" if resample
            else "drawn once, from default_rng([seed, 0]): the same at every step")
    draw = f"step // {resample}" if resample else "0"
    lines = ["def draw_points(seed, step):",
             f'    """{{point set: (count, {len(model.domain)}) float64 array, columns {docstring(columns)}}};',
             f'    {when}."""',
             f"    return point_draw(seed, {draw})",
             "",
             "",
             "@functools.lru_cache(maxsize=1)   # the same points step after step are drawn once",
             "def point_draw(seed, draw):",
             "    rng = np.random.default_rng([seed, draw])",
             "    return {"]
    for s in sets:
        free = _free(model, s.points)
        unit = (f"{s.points.sampler}_points(rng, {s.points.count}, {free})" if free
                else f"np.empty(({s.points.count}, 0))")   # every coordinate fixed: nothing to draw
        lines.append(f"        {literal(s.name)}: points_in_box({unit}, {_fixed(s.points)}),")
    lines.append("    }")
    return lines


def _free(model: ir.Model, points: ir.PointSet) -> int:
    """How many coordinates of the domain a point set draws (those it does not hold fixed)."""
    return len(model.domain) - len(points.fixed)


def _fixed(points: ir.PointSet) -> str:
    return "{" + ", ".join(f"{literal(name)}: {float(value)!r}" for name, value in points.fixed) + "}"
