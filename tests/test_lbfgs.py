"""L-BFGS as a training stage (issue 10, item 4): torch.optim.LBFGS with a strong-Wolfe line
search, optax's L-BFGS with its zoom line search; after Adam it lowers the loss further, on both
backends, in float64."""
import pytest

from helpers import ROOT
from sciml import pipeline
from sciml.frontend.diagnostics import SpecError
from sciml.modules import import_text

SPEC = (ROOT / "specs" / "ode" / "node_fit.sciml").read_text()
TRAIN = [line for line in SPEC.splitlines() if line.startswith("train")][0]


def _module(train_line, backend, tmp_path):
    text = pipeline.compile_spec(SPEC.replace(TRAIN, train_line), str(ROOT / "specs" / "ode" / "node_fit.sciml"),
                                 backend)
    return import_text(text, f"node_fit_lbfgs_{backend}", tmp_path)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_lbfgs_after_adam_lowers_the_loss_more_than_adam_does(backend, tmp_path):
    """As many steps either way: 30 of Adam, then 15 more of Adam or 15 of L-BFGS."""
    adam = _module("train adam(lr = 1e-2, steps = 45)", backend, tmp_path)
    both = _module("train adam(lr = 1e-2, steps = 30) then lbfgs(steps = 15)", backend, tmp_path)
    dtype = adam._runtime.DTYPES["float64"]
    _, after_adam = adam.train(adam.init_params(0), adam.make_data(), seed=0, dtype=dtype, log_every=0)
    _, after_lbfgs = both.train(both.init_params(0), both.make_data(), seed=0, dtype=dtype, log_every=0)
    assert after_lbfgs < 0.9 * after_adam, (after_adam, after_lbfgs)
    assert after_lbfgs > 0


def test_lbfgs_takes_the_whole_data_set():
    with pytest.raises(SpecError) as caught:
        pipeline.front_end(SPEC.replace(TRAIN, "train lbfgs(steps = 10, batch = 16)"), "node_fit.sciml")
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == "E502" and "whole data set" in diagnostic.message


def test_lbfgs_takes_its_line_search_step_by_default():
    _, model, _ = pipeline.front_end(SPEC.replace(TRAIN, "train adam(steps = 5) then lbfgs(steps = 5)"),
                                     "node_fit.sciml")
    assert [(s.optimizer, s.lr) for s in model.training] == [("adam", 1e-3), ("lbfgs", 1.0)]


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_lbfgs_moves_when_its_first_trial_step_is_too_long(backend):
    """After Adam on the small Burgers PINN, L-BFGS's first trial step fails the Armijo test: the
    line search must try shorter ones (torch's max_eval = 1 left it none, and the loss stayed put
    step after step)."""
    from sciml.modules import compile_and_import
    from test_pinn import BURGERS, small_burgers
    text = small_burgers().replace("adam(lr = 1e-2, steps = 200)", "adam(lr = 1e-2, steps = 100) then lbfgs(steps = 10)")
    module = compile_and_import(BURGERS, backend, source=text, name=f"burgers_lbfgs_moves_{backend}")
    losses = []
    module.train(module.init_params(0), module.make_data(), seed=0, log_every=0, losses=losses)
    after_adam, lbfgs = losses[100], losses[101:]
    assert len(lbfgs) == 9 and all(b < a for a, b in zip([after_adam, *lbfgs], lbfgs)), (after_adam, lbfgs)
    assert lbfgs[-1] < 0.97 * after_adam, (after_adam, lbfgs[-1])
