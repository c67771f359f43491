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



def test_torch_lbfgs_takes_every_step_however_small_the_gradient():
    """torch's own stopping tests are off (a gradient below 1e-7 made every later step of a
    float64 PINN return at once; optax has none): a step near a minimum still moves."""
    import torch
    from sciml.runtime.torch import TorchRuntime
    x = torch.tensor([1e-5, -2e-5], dtype=torch.float64, requires_grad=True)
    optimizer = TorchRuntime.OPTIMIZERS["lbfgs"]([x], 1.0)
    assert optimizer.defaults["tolerance_grad"] == 0 and optimizer.defaults["tolerance_change"] == 0

    def closure():
        optimizer.zero_grad()
        loss = (x ** 2).sum() * 1e-3   # gradient about 1e-8, below torch's default 1e-7
        loss.backward()
        return loss
    before = x.detach().clone()
    optimizer.step(closure)
    assert float(torch.max(torch.abs(x.detach() - before))) > 0


def _counted(module, backend, calls):
    """module.loss, counting its evaluations (in JAX at run time: a callback inside the jit)."""
    loss = module.loss
    if backend == "torch":
        def counted(p, batch):
            calls.append(1)
            return loss(p, batch)
        return counted
    import jax

    def counted_jax(p, batch):
        jax.debug.callback(lambda: calls.append(1))
        return loss(p, batch)
    return counted_jax


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_lbfgs_line_search_moves_and_its_last_evaluation_is_reused(backend):
    """A small Burgers PINN, 30 Adam steps, then 12 of L-BFGS (float64; one module, so JAX
    compiles once).  L-BFGS's first trial step fails the Armijo test here: the line search must
    try shorter ones (torch's max_eval = 1 left it none, and the loss stayed put step after
    step).  Each step begins where the last line search ended, which has computed the loss and
    gradient there: reused, the run is the same with fewer evaluations of the loss."""
    from sciml.modules import compile_and_import
    from test_pinn import BURGERS, small_burgers
    text = small_burgers().replace("mlp(2 -> 16 -> 16 -> 1, tanh)", "mlp(2 -> 8 -> 8 -> 1, tanh)")
    text = text.replace("adam(lr = 1e-2, steps = 200)", "adam(lr = 1e-2, steps = 30) then lbfgs(steps = 12)")
    module = compile_and_import(BURGERS, backend, source=text, name=f"burgers_lbfgs_{backend}")
    runtime, calls = module._runtime, []
    module.loss = _counted(module, backend, calls)
    step = runtime.training_step

    def forgetful(optimizer, p, batch):   # forget the last step's evaluation before every step
        if backend == "torch":
            runtime.lbfgs_best = None
        else:
            optimizer.pop("batch", None)
        return step(optimizer, p, batch)
    runs = []
    for training_step in (step, forgetful):
        runtime.training_step, losses = training_step, []
        calls.clear()
        module.train(module.init_params(0), module.make_data(), seed=0, log_every=0, losses=losses,
                     dtype=runtime.DTYPES["float64"])
        runs.append((losses, len(calls)))
    (reused, fewer), (recomputed, more) = runs
    after_adam, lbfgs = reused[30], reused[31:]
    assert len(lbfgs) == 11 and all(b < a for a, b in zip([after_adam, *lbfgs], lbfgs)), (after_adam, lbfgs)
    assert lbfgs[-1] < 0.97 * after_adam, (after_adam, lbfgs[-1])
    assert reused == pytest.approx(recomputed, rel=1e-10, abs=0)
    # 11 of the 12 L-BFGS steps start where a line search ended (the first starts after Adam)
    assert more - fewer == 11, (fewer, more)
