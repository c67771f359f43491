"""Coupling-layer flows (seed 000; NICE, RealNVP): the emitted inverse, the log-determinant
against autograd's Jacobian, training, and what the analysis derives (issue 3, items 1 and 3)."""
from __future__ import annotations

import numpy as np
import pytest
import sympy

from helpers import SPECS, compile_and_load
from sciml.lowering import symbols as S
from sciml.lowering.coupling import NotCoupling, affine_split
from sciml.modules import compile_and_import

FLOWS = SPECS / "likelihood"


def _params(module, seed=0):
    """The spec's initial weights with every bias moved off zero, so no layer is trivial."""
    params = module.init_params(seed)
    rng = np.random.default_rng(seed + 100)
    return {k: v + (0.3 * rng.standard_normal(v.shape) if ".b" in k else 0.0) for k, v in params.items()}


def _as_backend(module, backend, params, x):
    if backend == "torch":
        import torch
        return ({k: torch.tensor(v, dtype=torch.float64) for k, v in params.items()},
                torch.tensor(x, dtype=torch.float64))
    import jax.numpy as jnp
    return {k: jnp.asarray(v, dtype=jnp.float64) for k, v in params.items()}, jnp.asarray(x, dtype=jnp.float64)


@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("name", ["flow", "flow_nice"])
def test_the_inverse_reconstructs_to_1e12(name, backend, tmp_path):
    module = compile_and_load(FLOWS / f"{name}.sciml", backend, tmp_path)
    x = module.make_data()["train"]["x"][:, :500]
    p, xb = _as_backend(module, backend, _params(module), x)
    z, _ = module.g_inv(p, xb)
    assert np.max(np.abs(np.asarray(module.g(p, z)) - x)) < 1e-12
    w = np.random.default_rng(1).standard_normal((2, 500))      # latent samples -> data -> latent
    _, wb = _as_backend(module, backend, _params(module), w)
    back, _ = module.g_inv(p, module.g(p, wb))
    assert np.max(np.abs(np.asarray(back) - w)) < 1e-12
    assert np.max(np.abs(np.asarray(z) - x)) > 0.1                # the map is not the identity


@pytest.mark.parametrize("name", ["flow", "flow_nice"])
def test_log_det_equals_autograd_jacobian(name, tmp_path):
    """The triangular log|det| the compiler derived against log|det J| of the full 2x2 Jacobian."""
    import torch
    module = compile_and_load(FLOWS / f"{name}.sciml", "torch", tmp_path)
    p, x = _as_backend(module, "torch", _params(module), module.make_data()["train"]["x"][:, :20])
    _, log_det = module.g_inv(p, x)
    for i in range(x.shape[1]):
        jac = torch.autograd.functional.jacobian(lambda v: module.g_inv(p, v[:, None])[0][:, 0], x[:, i])
        assert float(log_det[i]) == pytest.approx(float(torch.linalg.slogdet(jac)[1]), abs=1e-12)
    if name == "flow_nice":
        assert float(torch.max(torch.abs(torch.as_tensor(log_det)))) == 0.0


def test_nll_is_the_change_of_variables_formula(tmp_path):
    module = compile_and_load(FLOWS / "flow.sciml", "jax", tmp_path)
    params = _params(module)
    x = module.make_data()["train"]["x"][:, :64]
    p, xb = _as_backend(module, "jax", params, x)
    z, log_det = (np.asarray(a) for a in module.g_inv(p, xb))
    by_hand = np.mean(0.5 * np.sum(z**2, axis=0) + np.log(2 * np.pi) - log_det)
    assert float(module.loss(p, {"x": xb})) == pytest.approx(by_hand, rel=1e-12)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_training_lowers_the_held_out_nll(backend, tmp_path):
    written = "adam(lr = 1e-3, steps = 5000, batch = 512)"
    source = (FLOWS / "flow.sciml").read_text()
    assert written in source
    module = compile_and_import(FLOWS / "flow.sciml", backend, tmp_path, name=f"flow_short_{backend}",
                                source=source.replace(written, "adam(lr = 2e-3, steps = 100, batch = 512)"))
    data = module.make_data()
    start = module.reports(module.init_params(0), data)["nll"]   # 9.71; after 100 steps 1.39
    params, final = module.train(module.init_params(0), data, seed=0)
    after = module.reports(params, data)["nll"]
    assert after < 2.2 < start, (start, after)


def test_the_affine_split_derives_scale_shift_and_inverse():
    x1, x2 = sympy.symbols("x1 x2")
    s, m = S.NetCall(sympy.Symbol("s"), x1), S.NetCall(sympy.Symbol("m"), x1)
    real_nvp = affine_split(x2 * sympy.exp(s) + m, x2, x1)
    assert real_nvp.log_scale == s and real_nvp.shift == m
    assert sympy.simplify(real_nvp.inverse - (x2 - m) * sympy.exp(-s)) == 0
    assert affine_split(x2 + m, x2, x1).log_scale == 0
    assert affine_split(-2 * x2 + m, x2, x1).log_scale == sympy.log(2)
    for bad in (sympy.tanh(x2) + m, x2 * s, m, x2 * S.NetCall(sympy.Symbol("s"), x2)):
        with pytest.raises(NotCoupling):
            affine_split(bad, x2, x1)


def test_a_constant_scale_enters_the_log_det_once_per_feature(tmp_path):
    source = (FLOWS / "flow.sciml").read_text().replace(
        "x2 = x2 * exp(s(j, x1)) + m(j, x1)", "x2 = 2 * x2 + m(j, x1)")
    assert "2 * x2" in source
    module = compile_and_import(FLOWS / "flow.sciml", "torch", tmp_path, source=source, name="flow_double")
    p, x = _as_backend(module, "torch", _params(module), module.make_data()["train"]["x"][:, :5])
    _, log_det = module.g_inv(p, x)
    assert np.allclose(np.asarray(log_det), 8 * np.log(2), atol=1e-13)   # 8 layers, 1 feature each


def _findings(source: str):
    from sciml.pipeline import front_end
    return front_end(source, str(FLOWS / "flow.sciml"))[2]


def test_the_analysis_certifies_triangular_layers_and_the_inverse():
    found = {d.code: d for d in _findings((FLOWS / "flow.sciml").read_text())}
    assert set(found) == {"A110", "A111", "A401"}   # A401: the size note
    triangular, inverse = dict(found["A110"].data), dict(found["A111"].data)
    assert triangular["structure"] == "triangular" and triangular["log_det"] == "s(j, x1)"
    assert inverse["reversible"] is True and inverse["inverse"] == "g"
    nice = {d.code: d for d in _findings((FLOWS / "flow_nice.sciml").read_text())}
    assert "volume preserving, log|det| = 0" in nice["A110"].message


def test_a_half_that_no_layer_changes_is_a_warning():
    source = (FLOWS / "flow.sciml").read_text().replace("; swap(x1, x2) }", " }")
    (warning,) = [d for d in _findings(source) if d.severity == "warning"]
    assert warning.code == "A112" and dict(warning.data)["half"] == "x1"
