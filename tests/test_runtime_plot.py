"""--plot DIR (issue 9 item 4): the loss of every training step drawn, and, where the spec
observes trajectories (`mse(y(obs.t), obs.u)`), the model's path against the data; headless
(matplotlib's Agg canvas); a clear message and exit status 2 without matplotlib."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from helpers import SPECS
from sciml.modules import compile_and_import
from sciml.runtime.checkpoint import CheckpointFiles
from sciml.runtime.plot import TrainingPlots

PNG = b"\x89PNG\r\n\x1a\n"


def _main(module, capsys, *args):
    capsys.readouterr()
    status = 0
    try:
        module.main(["--dtype", "float64", "--json", *args])
    except SystemExit as stop:
        status = stop.code
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    return status, (json.loads(lines[-1]) if lines else None), captured.err


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_plot_draws_the_loss_curve_and_the_fit_to_the_observed_trajectory(tmp_path, capsys, backend):
    module = compile_and_import(SPECS / "ode" / "node_fit.sciml", backend, tmp_path, name=f"node_fit_plot_{backend}")
    pyplot_before = "matplotlib.pyplot" in sys.modules
    status, result, _ = _main(module, capsys, "--steps", "3", "--plot", str(tmp_path / "plots"))
    assert status == 0
    loss, fit = (tmp_path / "plots" / f"node_fit_{backend}_{name}.png" for name in ("loss", "fit"))
    assert result["plots"] == [str(loss), str(fit)]
    for path in (loss, fit):
        assert path.read_bytes()[:8] == PNG and path.stat().st_size > 5000
    assert ("matplotlib.pyplot" in sys.modules) == pyplot_before   # no pyplot state, no display


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_the_loss_curve_is_the_loss_of_every_step(tmp_path, backend):
    module = compile_and_import(SPECS / "ode" / "node_fit.sciml", backend, tmp_path, name=f"node_fit_losses_{backend}")
    data, dtype = module.make_data(), module._runtime.DTYPES["float64"]
    losses = []
    params, _ = module.train(module.init_params(0), data, 2, 0, "cpu", dtype, log_every=0, losses=losses)
    batch = module.evaluation_batch(data)   # node_fit trains on the whole trajectory
    assert len(losses) == 2
    assert losses[0] == pytest.approx(module.loss_and_grad(module.init_params(0), batch, dtype)[0], rel=1e-13)
    assert losses[1] != losses[0]


def test_observed_states_are_paired_with_the_fields_the_loss_compares_them_to():
    pairs = TrainingPlots.observed_pairs
    assert pairs(["mse(y(obs.t), obs.u)", "y(obs.t)"], ("y(obs.t)",), {"obs": {"t": 0, "u0": 0, "u": 0}}) == \
        [("y(obs.t)", "obs", "u")]
    terms = ["mse(q(pieces.t), pieces.x)", "mse(v(pieces.t), pieces.y)", "q(pieces.t)", "v(pieces.t)"]
    fields = {"pieces": {"t": 0, "x0": 0, "x": 0, "y0": 0, "y": 0}}
    assert pairs(terms, ("q(pieces.t)", "v(pieces.t)"), fields) == \
        [("q(pieces.t)", "pieces", "x"), ("v(pieces.t)", "pieces", "y")]
    assert pairs(["cross_entropy(softmax(W * Y(T) + mu), train.label)", "Y(t = 1)"], ("Y(t = 1)",),
                 {"train": {"x": 0, "label": 0}}) == []   # a state at one time: no trajectory
    assert pairs(["mse(y(obs.t), obs.u) + mse(y(obs.t), obs.w)"], ("y(obs.t)",), {"obs": {"u": 0, "w": 0}}) == []


def test_the_fit_draws_the_models_path_and_the_data_of_the_evaluation_batch(tmp_path):
    module = compile_and_import(SPECS / "ode" / "hamiltonian_energy.sciml", "jax", tmp_path, name="energy_fit")
    runtime, data = module._runtime, module.make_data()
    params = module.init_params(0)
    batch = module.evaluation_batch(data)
    terms = runtime.observed_terms(params, batch, module._runtime.DTYPES["float64"])
    plots = TrainingPlots(module, tmp_path)
    pairs = plots.observed_pairs(list(terms), module.OBSERVED_STATES, {module.TRAIN_SET: batch})
    path, series = plots.fit(pairs, terms, batch, batch["t"], CheckpointFiles.write_atomically)
    assert path.read_bytes()[:8] == PNG
    assert [(s[0], s[1], s[2], s[3]) for s in series] == \
        [("q(pieces.t)", "x", 0, k) for k in range(3)] + [("v(pieces.t)", "y", 0, k) for k in range(3)]
    for state, field, feature, sample, model_values, data_values in series:
        np.testing.assert_array_equal(model_values, terms[state][:, feature, sample])
        np.testing.assert_array_equal(data_values, batch[field][:, feature, sample])
    assert np.allclose(series[0][4][0], series[0][5][0])   # both start at the data's q(0)


def test_a_spec_without_trajectories_gets_only_the_loss_curve(tmp_path, capsys):
    module = compile_and_import(SPECS / "ode" / "classifier.sciml", "torch", tmp_path, name="classifier_plot")
    status, result, _ = _main(module, capsys, "--steps", "2", "--plot", str(tmp_path))
    assert status == 0 and result["plots"] == [str(tmp_path / "classifier_torch_loss.png")]


def test_without_matplotlib_plot_says_what_to_install_before_training(tmp_path, capsys, monkeypatch):
    module = compile_and_import(SPECS / "ode" / "classifier.sciml", "torch", tmp_path, name="classifier_no_mpl")
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # import matplotlib raises ImportError
    status, result, stderr = _main(module, capsys, "--steps", "2", "--plot", str(tmp_path / "plots"))
    assert status == 2 and result is None and not (tmp_path / "plots").exists()
    assert stderr.strip() == ("classifier: error: --plot needs the matplotlib package, which is not installed "
                              "(pip install matplotlib)")


def test_a_grid_state_is_drawn_over_its_grid(tmp_path, capsys):
    """A method-of-lines model: the fit is the state over the grid against the data, on a 1-D
    grid at a few observation times, on a 2-D grid as images at the last one."""
    pytest.importorskip("matplotlib")
    module = compile_and_import(SPECS / "pde" / "heat_neural_source.sciml", "torch", tmp_path, name="heat_plot")
    status, result, _ = _main(module, capsys, "--steps", "1", "--plot", str(tmp_path / "plots"))
    assert status == 0 and result["plots"][-1].endswith("heat_neural_source_torch_fit.png")
    assert (tmp_path / "plots" / "heat_neural_source_torch_fit.png").read_bytes().startswith(PNG)

    class Grid2D:
        MODEL, BACKEND = "square", "torch"
    plots = TrainingPlots(Grid2D, tmp_path)
    written = {}
    path = np.random.default_rng(0).normal(size=(3, 5, 4))
    batch = {"u": path + 0.1, "x": np.linspace(0, 1, 5), "y": np.linspace(0, 2, 4)}
    pairs = [("u(train.t)", "train", "u")]
    where, series = plots.grid_fit(pairs, {"u(train.t)": path}, batch, np.array([0.0, 0.5, 1.0]), ("x", "y"),
                                   lambda p, data: written.setdefault(p, data))
    assert where == tmp_path / "square_torch_fit.png" and written[where].startswith(PNG)
    ((state, field, k, model_values, data_values),) = series
    assert k == 2 and np.array_equal(model_values, path[2]) and np.array_equal(data_values, path[2] + 0.1)
