"""The runtime stability check (--check-stability): the analysis' A202 bounds evaluated with
the current weights, in the emitted module, against the same bound computed here by hand."""
from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import SPECS, compile_and_load
from sciml.modules import compile_and_import

ODE = SPECS / "ode"


def _norm(m):
    return np.linalg.norm(m, 2)


# spec -> the bound of its A202 finding, written out independently from the finding's text
EXPECTED = {
    "parabolic": lambda p, h: min(2 / _norm(K) ** 2 for K in p["K"]),
    "classifier": lambda p, h: min(2 / _norm(K) ** 2 for K in p["K"]),
    "antisym": lambda p, h: min(2 * 0.1 / (0.1**2 + _norm(K - K.T) ** 2) for K in p["K"]),
    "hamiltonian": lambda p, h: min(2 / (_norm(K1) * _norm(K2)) for K1, K2 in zip(p["K1"], p["K2"])),
    "second_order": lambda p, h: min(2 / _norm(K) for K in p["K"]),
}


@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bound_matches_a_hand_computation(name, backend, tmp_path):
    module = compile_and_load(ODE / f"{name}.sciml", backend, tmp_path)
    params = module.init_params(3)
    (text, value, holds), = module.check_stability(params)
    expected = EXPECTED[name](params, module.h)
    assert value == pytest.approx(expected, rel=1e-12)
    strict = text.startswith("h < ")
    assert holds == (module.h < value if strict else module.h <= value)
    assert module.STABILITY_BOUNDS == (text,)


def test_antisym_reads_the_damping_from_the_constant(tmp_path):
    module = compile_and_load(ODE / "antisym.sciml", "torch", tmp_path)
    assert "gamma" in module.STABILITY_BOUNDS[0]


def test_scalar_parameters_and_conditions(tmp_path):
    """loss_landscape's bound reads the learned scalars theta1, theta2 and a condition on them."""
    module = compile_and_load(ODE / "loss_landscape.sciml", "jax", tmp_path)
    params = module.init_params(0)
    t1, t2 = params["theta1"].item(), params["theta2"].item()
    (_, value, holds), = module.check_stability(params)
    assert value == pytest.approx((t1 + t2) / (t1**2 + t1 * t2 + t2**2), rel=1e-12) and holds
    params["theta1"][...], params["theta2"][...] = -1.0, 0.5   # theta1 + theta2 > 0 fails
    (_, _, holds), = module.check_stability(params)
    assert not holds


def _large_weights(tmp_path, backend):
    source = (ODE / "parabolic.sciml").read_text().replace("param K(t) : R[n, n]", "param K(t) : R[n, n] ~ normal(0, 3)")
    assert "normal(0, 3)" in source
    return compile_and_import(ODE / "parabolic.sciml", backend, tmp_path, source=source, name=f"parabolic_big_{backend}")


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_a_violation_is_reported_during_training(backend, tmp_path, capsys):
    """Weights drawn with std 3 have norm2(K) near 12 > 5.657: the check says so on stderr, at
    the step, and the JSON summary counts it; with the spec's own weights nothing fails."""
    module = _large_weights(tmp_path, backend)
    module.main(["--steps", "20", "--check-stability", "--check-every", "10", "--json", "--dtype", "float64"])
    out, err = capsys.readouterr()
    result = json.loads(out.strip().splitlines()[-1])
    assert result["stability"]["checks"] == 3            # the initial weights, steps 10 and 20
    assert result["stability"]["failures"] >= 1
    assert "step      0  stability: h <= 2/norm2(K)^2 fails: h = 0.0625 but the bound is" in err
    smallest = result["stability"]["smallest_bound"]["h <= 2/norm2(K)^2"]
    assert smallest < 0.0625

    plain = compile_and_load(ODE / "parabolic.sciml", backend, tmp_path)
    plain.main(["--steps", "20", "--check-stability", "--check-every", "10", "--json", "--dtype", "float64"])
    out, err = capsys.readouterr()
    assert json.loads(out.strip().splitlines()[-1])["stability"]["failures"] == 0
    assert "stability" not in err


def test_a_model_without_weight_bounds_says_so(tmp_path, capsys):
    module = compile_and_load(ODE / "node_fit.sciml", "torch", tmp_path)
    assert module.STABILITY_BOUNDS == () and module.check_stability(module.init_params(0)) == []
    module.StabilityMonitor(10)
    assert "nothing to check" in capsys.readouterr().err


def test_without_the_flag_nothing_is_checked(tmp_path, capsys):
    module = _large_weights(tmp_path, "torch")
    module.main(["--steps", "5", "--json", "--dtype", "float64"])
    out, err = capsys.readouterr()
    assert "stability" not in json.loads(out.strip().splitlines()[-1]) and "stability" not in err


def test_a_networks_largest_speed_on_a_grid_is_evaluated(tmp_path):
    """reaction_diffusion: h <= 2 D / max|a|^2 with a = d(U(c) c)/dc the transport's speed, its
    largest over 101 values of the data's range of c, from the current weights; the same in
    torch and JAX, and equal to the flux's slope differenced here by hand."""
    pytest.importorskip("jax")
    spec = SPECS / "pde" / "reaction_diffusion.sciml"
    text = spec.read_text().replace("const grid = 64, steps = 400", "const grid = 16, steps = 100").replace(
        "x = linspace(0, 1 - 1 / grid, grid), t = linspace(0, T, 11)", "x = linspace(0, 1 - 1 / grid, grid), t = linspace(0, T, 3)")
    assert "grid = 16" in text
    mods = {b: compile_and_import(spec, b, tmp_path, source=text, name=f"rd_speed_{b}") for b in ("torch", "jax")}
    params = mods["torch"].init_params(4)
    checks = {b: dict((t, v) for t, v, _ in m.check_stability(params)) for b, m in mods.items()}
    text_bound = "h <= 2*D/max|a|^2 and D >= 0"
    assert checks["torch"][text_bound] == pytest.approx(checks["jax"][text_bound], rel=1e-12)
    import torch
    c = mods["torch"].make_data()["train"]["c"]
    values = np.linspace(c.min(), c.max(), 100001)[None, :]
    p = {k: torch.as_tensor(v) for k, v in params.items()}
    flux = (mods["torch"].U(p, torch.as_tensor(values)) * torch.as_tensor(values)).numpy()[0]
    slope = np.max(np.abs(np.diff(flux) / np.diff(values[0])))
    assert checks["torch"][text_bound] == pytest.approx(2 * params["D"].item() / slope**2, rel=1e-3)
