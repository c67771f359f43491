"""JAX time loops as jax.lax.scan and one compilation of train()'s update (issue 9, item 5)."""
from __future__ import annotations

from helpers import ROOT, compile_and_load


def test_train_compiles_its_update_once_for_every_stage_and_call(tmp_path):
    module = compile_and_load(ROOT / "specs" / "ode" / "node_fit.sciml", "jax", tmp_path)
    module.STAGES = [("adam", 0.01, 2, 0), ("adam", 0.001, 2, 0)]   # two stages, two learning rates
    data = module.make_data()
    module.train(module.init_params(0), data, log_every=0)
    module.train(module.init_params(1), data, log_every=0)
    assert module.update._cache_size() == 1
