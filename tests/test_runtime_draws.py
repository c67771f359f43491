"""The runtime passes each training step's random draws in with the batch: a module that defines
draw_batch(seed, step) gets its arrays, drawn with numpy, in every step's batch and in the final
evaluation, the same for both backends (docs/language.md, "Randomness")."""
import numpy as np
import pytest

from helpers import ROOT
from sciml.modules import compile_and_import

SPEC = ROOT / "specs" / "ode" / "resnet.sciml"


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_every_step_sees_its_own_draws(backend):
    module = compile_and_import(SPEC, backend)
    calls, seen = [], []
    module.draw_batch = lambda seed, step: (calls.append((seed, step)) or
                                            {"probe": np.random.default_rng([seed, step]).normal(size=3)})
    loss = module.loss

    def recording(p, batch):
        probe = batch["probe"]
        try:   # a jax tracer (the jit-compiled step) has no value: the evaluation's has
            seen.append(np.asarray(probe.detach() if hasattr(probe, "detach") else probe))
        except Exception:
            pass
        return loss(p, batch)

    module.loss = recording
    dtype = module._runtime.DTYPES["float64"]
    module.train(module.init_params(3), module.make_data(), steps=4, seed=3, dtype=dtype, log_every=0)
    assert calls == [(3, 0), (3, 1), (3, 2), (3, 3), (3, 4)]          # four steps, then the evaluation
    expected = [np.random.default_rng([3, step]).normal(size=3) for step in range(5)]
    if backend == "torch":       # every step's loss saw its own draws
        assert len(seen) == 5 and all(np.array_equal(a, b) for a, b in zip(seen, expected))
    else:                        # the jitted steps are traced; the evaluation saw the last draw
        assert np.array_equal(seen[-1], expected[-1])


def test_a_module_without_draws_gets_its_batch_unchanged():
    module = compile_and_import(SPEC, "torch")
    batch = {"x": 1}
    assert module._runtime.with_draws(batch, 0, 0, None, "cpu") is batch
