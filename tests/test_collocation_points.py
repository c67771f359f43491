"""Collocation points drawn with numpy (issue 10, item 2): sciml/backends/common/points_code.py
writes POINT_SETS and draw_points(seed, step) into a collocation model's module.  Here the
section's text is executed on its own (no torch, no JAX): the counts are the spec's, every
point lies in the domain box, fixed coordinates are exactly their values, the draws are
reproducible from (seed, step) and change on schedule, and the samplers keep their promises
(a Latin hypercube's strata, a Sobol net's balance)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from helpers import ROOT
from sciml.backends.common.points_code import emit_points_section, point_sets, points_imports
from sciml.pipeline import front_end


RITZ = ROOT / "specs" / "pde" / "poisson_ritz.sciml"


def model_of(source: str, path: str = "test.sciml"):
    return front_end(source, path)[1]


def spec_model(name: str):
    path = ROOT / "specs" / "pde" / f"{name}.sciml"
    return model_of(path.read_text(), str(path))


def pinn(interior="uniform(64)", resample=0, conditions="with points = 16", domain="x in [-1, 1], t in [0, 1]",
         lines=None):
    """A small heat-equation PINN; `lines` replaces its condition lines."""
    lines = lines or (f"initial  u(x, 0) = -sin(pi * x)   {conditions}\n"
                      f"boundary u(-1, t) = 0, u(1, t) = 0 {conditions}\n")
    return model_of(f"""model small_pinn : pinn
domain {domain}
net u(x, t) = mlp(2 -> 8 -> 1, tanh)
pde dt(u) - 0.1 * d(u, x, x) = 0
{lines}scheme collocation(interior = {interior}, resample = {resample})
loss   residual + fit(initial) + fit(boundary)
train  adam(lr = 1e-3, steps = 10)
""")


def section(model) -> dict:
    """The namespace of the emitted point section, executed with numpy (and qmc where used)."""
    text = "\n".join(["import numpy as np"] + sum(points_imports(model), []) + emit_points_section(model))
    namespace: dict = {}
    exec(compile(text, "<points section>", "exec"), namespace)
    return namespace


def box(model):
    return (np.array([c.lower for c in model.domain]), np.array([c.upper for c in model.domain]))


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def strata(values, lower, upper, count):
    return np.floor((values - lower) / (upper - lower) * count).astype(int)


# ---- the sets: names, counts, shapes, the box and the fixed coordinates

def test_burgers_sets_are_the_spec_s():
    model = spec_model("burgers_pinn")
    ns = section(model)
    assert list(ns["POINT_SETS"]) == ["interior", "initial_t_0", "boundary_x_-1", "boundary_x_1"]
    assert ns["POINT_SETS"]["interior"] == {"sampler": "latin_hypercube", "count": 10000, "fixed": {}}
    assert ns["POINT_SETS"]["initial_t_0"] == {"sampler": "uniform", "count": 50, "fixed": {"t": 0.0}}
    assert ns["POINT_SETS"]["boundary_x_1"] == {"sampler": "uniform", "count": 25, "fixed": {"x": 1.0}}
    assert ns["POINTS_RESAMPLE"] == 0
    points = ns["draw_points"](0, 0)
    assert {k: v.shape for k, v in points.items()} == {
        "interior": (10000, 2), "initial_t_0": (50, 2), "boundary_x_-1": (25, 2), "boundary_x_1": (25, 2)}
    assert all(v.dtype == np.float64 for v in points.values())
    lower, upper = box(model)
    for v in points.values():
        assert np.all(v >= lower) and np.all(v <= upper)
    # the columns are the domain's (x, t): the initial slice is t = 0, the faces x = -1 and x = 1
    assert np.all(points["initial_t_0"][:, 1] == 0.0)
    assert np.all(points["boundary_x_-1"][:, 0] == -1.0)
    assert np.all(points["boundary_x_1"][:, 0] == 1.0)
    # and the free coordinates are spread over their intervals, not stuck at a value
    assert np.ptp(points["initial_t_0"][:, 0]) > 1.0 and np.ptp(points["boundary_x_1"][:, 1]) > 0.5


def test_poisson_ritz_four_faces_drawn_every_step():
    model = spec_model("poisson_ritz")
    ns = section(model)
    assert list(ns["POINT_SETS"]) == ["interior", "boundary_x_0", "boundary_x_1", "boundary_y_0", "boundary_y_1"]
    assert [s["count"] for s in ns["POINT_SETS"].values()] == [1024, 50, 50, 50, 50]
    assert [s["sampler"] for s in ns["POINT_SETS"].values()] == ["sobol"] + ["uniform"] * 4
    assert ns["POINTS_RESAMPLE"] == 1
    points = ns["draw_points"](5, 3)
    for name, column, value in [("boundary_x_0", 0, 0.0), ("boundary_x_1", 0, 1.0),
                                ("boundary_y_0", 1, 0.0), ("boundary_y_1", 1, 1.0)]:
        assert points[name].shape == (50, 2)
        assert np.all(points[name][:, column] == value)
        assert np.all((points[name][:, 1 - column] >= 0) & (points[name][:, 1 - column] <= 1))
    assert points["interior"].shape == (1024, 2) and np.all((points["interior"] >= 0) & (points["interior"] <= 1))
    # resample = 1: every step its own points
    assert not np.array_equal(ns["draw_points"](5, 4)["interior"], points["interior"])
    # a Sobol interior imports scipy's qmc; with uniform points only, the module does not
    assert points_imports(model)[1] == ["from scipy.stats import qmc"]
    uniform = model_of(RITZ.read_text().replace("sobol(1024)", "uniform(1000)"))
    assert points_imports(uniform)[1] == [] and "qmc" not in "\n".join(emit_points_section(uniform))


def test_names_of_two_conditions_on_one_face_are_distinct():
    model = pinn(lines="initial  u(x, 0) = 0   with points = 8\n"
                       "boundary u(-1, t) = 0, d(u, x)(-1, t) = 0, u(1, t) = 0 with points = 8\n")
    names = [s.name for s in point_sets(model)]
    assert names == ["interior", "initial_t_0", "boundary_x_-1_1", "boundary_x_-1_2", "boundary_x_1"]
    assert [s.condition for s in point_sets(model)][1:] == list(model.conditions)
    assert list(section(model)["draw_points"](0, 0)) == names


def test_periodic_condition_draws_on_its_first_end():
    model = pinn(domain="x in [0, 1], t in [0, 1]",
                 lines="initial  u(x, 0) = sin(2 * pi * x)   with points = 8\n"
                       "boundary u(0, t) = u(1, t)   with points = 12\n")
    points = section(model)["draw_points"](1, 0)
    assert np.all(points["boundary_x_0"][:, 0] == 0.0) and points["boundary_x_0"].shape == (12, 2)


def test_no_section_without_collocation():
    model = model_of((ROOT / "specs" / "pde" / "heat_neural_source.sciml").read_text(),
                     str(ROOT / "specs" / "pde" / "heat_neural_source.sciml"))
    assert not isinstance(model.scheme, type(spec_model("burgers_pinn").scheme))
    assert emit_points_section(model) == [] and points_imports(model) == ([], [])


# ---- reproducible from (seed, step); new points on schedule

@pytest.mark.parametrize("sampler", ["uniform", "latin_hypercube", "sobol"])
def test_deterministic_for_seed_and_step_and_different_across_seeds(sampler):
    ns = section(pinn(interior=f"{sampler}(64)", conditions=f"with points = 16, sampler = {sampler}"))
    assert same(ns["draw_points"](7, 0), ns["draw_points"](7, 0))
    other = ns["draw_points"](8, 0)
    for name, points in ns["draw_points"](7, 0).items():
        assert not np.array_equal(points, other[name]), name


def test_resample_every_k_steps():
    ns = section(pinn(resample=5))
    first = ns["draw_points"](3, 0)
    assert all(same(first, ns["draw_points"](3, step)) for step in range(1, 5))
    second = ns["draw_points"](3, 5)
    assert all(not np.array_equal(first[k], second[k]) for k in first)
    assert all(same(second, ns["draw_points"](3, step)) for step in range(6, 10))
    assert not same(second, ns["draw_points"](3, 10))


def test_resample_zero_draws_once():
    ns = section(pinn(resample=0))
    first = ns["draw_points"](3, 0)
    assert all(same(first, ns["draw_points"](3, step)) for step in (1, 7, 1000, 123456))


# ---- the samplers' promises

def test_latin_hypercube_one_point_per_stratum():
    model = pinn(interior="latin_hypercube(200)", conditions="with points = 40, sampler = latin_hypercube")
    points = section(model)["draw_points"](11, 0)
    lower, upper = box(model)
    for column in range(2):
        layers = strata(points["interior"][:, column], lower[column], upper[column], 200)
        assert sorted(layers) == list(range(200)), column
    # on a face, the free coordinate (t) is the stratified one
    layers = strata(points["boundary_x_1"][:, 1], lower[1], upper[1], 40)
    assert sorted(layers) == list(range(40))


def test_uniform_is_not_stratified():
    """The check above can fail: independent uniform points leave strata empty."""
    model = pinn(interior="uniform(200)")
    points = section(model)["draw_points"](11, 0)
    lower, upper = box(model)
    assert sorted(strata(points["interior"][:, 0], lower[0], upper[0], 200)) != list(range(200))


def test_sobol_power_of_two_is_balanced():
    model = pinn(interior="sobol(256)", conditions="with points = 32, sampler = sobol")
    points = section(model)["draw_points"](2, 0)
    lower, upper = box(model)
    interior = (points["interior"] - lower) / (upper - lower)
    for column in range(2):
        for level in range(1, 9):    # every dyadic interval of length 2^-level holds 256 / 2^level points
            counts = np.bincount(np.floor(interior[:, column] * 2 ** level).astype(int), minlength=2 ** level)
            assert np.all(counts == 256 // 2 ** level), (column, level)
    halves = np.bincount(2 * (interior[:, 0] >= 0.5) + (interior[:, 1] >= 0.5), minlength=4)
    assert np.all(halves == 64)      # the quadrants too (the first two Sobol coordinates are a net)
    face = (points["boundary_x_-1"][:, 1] - lower[1]) / (upper[1] - lower[1])
    assert np.sum(face < 0.5) == 16 and np.all(points["boundary_x_-1"][:, 0] == -1.0)


def test_sobol_count_not_a_power_of_two():
    model = pinn(interior="sobol(100)", conditions="with points = 20, sampler = sobol")
    ns = section(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # scipy warns on a non-power-of-two draw; the prefix does not
        points = ns["draw_points"](4, 0)
    lower, upper = box(model)
    assert points["interior"].shape == (100, 2) and points["initial_t_0"].shape == (20, 2)
    assert all(np.all((v >= lower) & (v <= upper)) for v in points.values())
    assert len(np.unique(points["interior"], axis=0)) == 100


def test_section_is_numpy_only():
    text = "\n".join(sum(points_imports(spec_model("burgers_pinn")), []) + emit_points_section(spec_model("burgers_pinn")))
    assert "torch" not in text and "jax" not in text
    assert points_imports(spec_model("burgers_pinn")) == (["import functools"], ["from scipy.stats import qmc"])


def test_fixed_points_are_drawn_once():
    """resample = 0: every step gets the very arrays of the first draw (not drawn again), so the
    runtime places them on the device once."""
    ns = section(spec_model("burgers_pinn"))
    first = ns["draw_points"](0, 0)
    assert ns["draw_points"](0, 7) is first and ns["draw_points"](1, 0) is not first


def test_a_set_with_every_coordinate_fixed_draws_nothing():
    """An ODE as a PINN: domain t only; the initial condition's points are all t = 0 (no sampler
    of dimension 0 is called, and the set does not use up the generator's numbers)."""
    source = """model decay : pinn
domain t in [0, 2]
net u(t) = mlp(1 -> 8 -> 1, tanh)
pde dt(u) + u = 0
initial u(0) = 1 with points = 4, sampler = sobol
scheme collocation(interior = sobol(16))
loss residual + fit(initial)
train adam(lr = 1e-3, steps = 10)
"""
    ns = section(model_of(source))
    points = ns["draw_points"](0, 0)
    assert points["initial_t_0"].shape == (4, 1) and np.all(points["initial_t_0"] == 0.0)
    assert points["interior"].shape == (16, 1) and np.all((points["interior"] >= 0) & (points["interior"] <= 2))
    assert np.array_equal(np.sort(np.floor(points["interior"][:, 0] / 2 * 16)), np.arange(16))
