"""The latent neural ODE of seed 004 (kind latent_ode) as emitted: a short training run on the
digit pairs makes the held-out predictions D(z(T)) look like the next digit to a classifier of
the real digits (examples/latent_node.py's judge), far above chance."""
import sys

import numpy as np

from helpers import ROOT, load_module
from sciml.pipeline import compile_spec

sys.path.insert(0, str(ROOT / "examples"))
from latent_node import judge, predicted_next  # noqa: E402

SPEC = ROOT / "specs" / "likelihood" / "latent_node.sciml"


def test_short_training_predicts_the_next_digit(tmp_path):
    written = "adam(lr = 1e-3, steps = 10000, batch = 128)"
    assert written in SPEC.read_text()
    text = SPEC.read_text().replace(written, "adam(lr = 3e-3, steps = 800, batch = 128)")   # 0.61 here
    module = load_module(compile_spec(text, "latent_node.sciml", "jax"), "latent_node_short", tmp_path)
    data = module.make_data()
    start = module.reports(module.init_params(0), data)["next"]
    params, _ = module.train(module.init_params(0), data, seed=0, log_every=0)
    assert module.reports(params, data)["next"] < 0.8 * start
    classifier = judge(data["train"]["x"], data["train"]["label"])
    labels = classifier.predict(predicted_next(module, params, data["test"]["x"]).T)
    accuracy = np.mean(labels == (data["test"]["label"] + 1) % 10)
    assert accuracy > 0.4, accuracy   # chance: 0.1; the full run: >= 0.8 (docs/results.md)
