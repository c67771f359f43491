"""grad(N, x): the emitted, hand-backpropagated gradient of a scalar network equals autograd's.

Every activation is covered (its derivative comes from sympy), with two hidden layers so
that the chain of transposed weights is exercised; relu is compared away from its kink.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import load_module
from sciml.pipeline import compile_spec

SPEC = """
model gradient_check
const T = 1.0
state q : R[3], v : R[3]
net V(x) = mlp(3 -> 8 -> 5 -> 1, {activation})
ode dt(q) = v
ode dt(v) = -grad(V, q)
initial q(0) = [0.5, -0.2, 0.1], v(0) = [0.0, 0.0, 0.0]
scheme verlet(4, T)
loss mse(q(T), [0.0, 0.0, 0.0])
train adam(lr = 1e-3, steps = 10)
"""


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "softplus", "sin", "relu"])
def test_emitted_gradient_equals_autograd(activation, tmp_path):
    text = compile_spec(SPEC.format(activation=activation), "gradient_check.sciml", "torch")
    module = load_module(text, f"gradient_check_{activation}", tmp_path)
    p = {k: torch.tensor(v) for k, v in module.init_params(0).items()}
    p = {k: v + 0.1 * torch.randn(v.shape, dtype=v.dtype, generator=torch.Generator().manual_seed(1))
         for k, v in p.items()}  # nonzero biases
    x = torch.tensor(np.random.default_rng(2).normal(size=(3, 7)), requires_grad=True)
    (expected,) = torch.autograd.grad(module.V(p, x).sum(), x)
    assert torch.allclose(module.grad_V(p, x), expected, rtol=1e-12, atol=1e-14)


def test_grad_rejects_vector_valued_networks():
    from sciml.frontend.diagnostics import SpecError
    spec = SPEC.format(activation="tanh").replace("-> 5 -> 1,", "-> 5 -> 3,")
    with pytest.raises(SpecError) as info:
        compile_spec(spec, "gradient_check.sciml", "torch")
    assert [d.code for d in info.value.diagnostics] == ["E240"]
