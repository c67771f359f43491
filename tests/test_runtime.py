"""The training runtime, sciml.runtime: the thin module (runtime imported) and the standalone
one (`sciml compile --standalone`, runtime pasted in) train the same way; the runtime's numpy
half on its own."""
import ast
import json
import subprocess
import sys
import types

import numpy as np
import pytest

from helpers import ROOT, SPECS
from sciml.pipeline import compile_spec
from sciml.modules import compile_and_import
from sciml.runtime import PASTED, source_text
from sciml.runtime.common import Runtime

CASES = [SPECS / "ode" / "classifier.sciml", SPECS / "ode" / "node_fit.sciml", SPECS / "likelihood" / "flow.sciml"]


def _pair(spec, backend, tmp_path):
    thin = compile_and_import(spec, backend, tmp_path, name=f"{spec.stem}_{backend}_thin")
    alone = compile_and_import(spec, backend, tmp_path, name=f"{spec.stem}_{backend}_standalone", standalone=True)
    return thin, alone


def _main_json(module, capsys, *args):
    capsys.readouterr()
    module.main(["--steps", "2", "--json", "--dtype", "float64", *args])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    result.pop("seconds")
    return result


@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("spec", CASES, ids=lambda p: p.stem)
def test_thin_and_standalone_modules_train_alike(spec, backend, tmp_path, capsys):
    thin, alone = _pair(spec, backend, tmp_path)
    cls = {"torch": "TorchRuntime", "jax": "JaxRuntime"}[backend]
    assert getattr(thin, cls).__module__ == f"sciml.runtime.{backend}"
    assert getattr(alone, cls).__module__ == alone.__name__   # pasted in
    dtype = thin._runtime.DTYPES["float64"]
    runs = []
    for module in (thin, alone):
        params, final = module.train(module.init_params(0), module.make_data(), 3, 0, "cpu", dtype, log_every=0)
        runs.append((params, final))
    assert runs[0][1] == runs[1][1] and np.isfinite(runs[0][1])
    for name in runs[0][0]:
        np.testing.assert_array_equal(runs[0][0][name], runs[1][0][name])
    first, second = _main_json(thin, capsys), _main_json(alone, capsys)
    assert first == second and first["status"] == "ok" and first["steps"] == 2


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_standalone_module_pastes_the_runtime_and_imports_no_sciml(backend):
    spec = SPECS / "ode" / "classifier.sciml"
    text = compile_spec(spec.read_text(), str(spec), backend, standalone=True)
    assert text == compile_spec(spec.read_text(), str(spec), backend, standalone=True)  # deterministic
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            assert not any(a.name.split(".")[0] == "sciml" for a in node.names)
        if isinstance(node, ast.ImportFrom):
            assert (node.module or "").split(".")[0] != "sciml"
    for name in (*PASTED, backend):   # the same code as the package, pasted
        body = source_text(name).split("\nclass ", 1)[1]
        assert "\nclass " + body.strip("\n") in text
    top = [line for line in text.split("\n") if line.startswith(("import ", "from "))]
    assert not any("matplotlib" in line or "safetensors" in line for line in top)   # optional: imported when used
    thin = compile_spec(spec.read_text(), str(spec), backend)
    assert f"from sciml.runtime.{backend} import" in thin and "class Runtime" not in thin


BLOCK_SCIML = """
import runpy, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'sciml':
            raise ImportError('sciml is not installed here')
sys.meta_path.insert(0, Block())
try:
    import sciml
except ImportError:
    pass
else:
    raise SystemExit('sciml importable')
sys.argv = [sys.argv[1], '--steps', '2', '--json', '--dtype', 'float64'] + sys.argv[2:]
runpy.run_path(sys.argv[0], run_name='__main__')
"""


def test_standalone_module_runs_without_sciml(tmp_path, capsys):
    """... with its checkpoints and plots: the pasted checkpoint.py and plot.py need no sciml."""
    spec = SPECS / "ode" / "classifier.sciml"
    path = tmp_path / "classifier_alone.py"
    path.write_text(compile_spec(spec.read_text(), str(spec), "torch", standalone=True))
    done = subprocess.run([sys.executable, "-I", "-c", BLOCK_SCIML, str(path), "--checkpoint", "saved",
                           "--plot", "plots"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result.pop("checkpoint") == "saved/classifier_torch_checkpoint.safetensors"
    assert result.pop("plots") == ["plots/classifier_torch_loss.png"]
    assert (tmp_path / "saved" / "classifier_torch_checkpoint.safetensors").is_file()
    assert (tmp_path / "plots" / "classifier_torch_loss.png").read_bytes()[:4] == b"\x89PNG"
    thin = compile_and_import(spec, "torch", tmp_path, name="classifier_thin_sub")
    expected = _main_json(thin, capsys)
    result.pop("seconds")
    assert result == expected


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_thin_and_standalone_modules_resume_each_others_checkpoints(backend, tmp_path, capsys):
    thin, alone = _pair(SPECS / "ode" / "classifier.sciml", backend, tmp_path)
    assert thin.SPEC_SHA256 == alone.SPEC_SHA256
    results = {}
    for first, second in ((thin, alone), (alone, thin)):
        folder = tmp_path / f"{first.__name__}_saved"
        _main_json(first, capsys, "--steps", "2", "--checkpoint", str(folder))
        resumed = _main_json(second, capsys, "--steps", "4", "--resume", str(folder))
        assert resumed["resumed_from"] == 2
        results[first.__name__] = resumed
    straight = _main_json(thin, capsys, "--steps", "4")
    for resumed in results.values():
        assert resumed["loss"] == straight["loss"] and resumed["reports"] == straight["reports"]


@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("spec", [SPECS / "ode" / "classifier.sciml", SPECS / "ode" / "node_fit.sciml"],
                         ids=["mini_batches", "whole_batch"])
def test_training_data_is_placed_on_the_device_once(spec, backend, tmp_path, monkeypatch):
    """The training fields are converted once (and the evaluation batch once), not every step;
    the mini-batches indexed on the device are the ones numpy draws: the same result as
    converting each mini-batch from numpy, which is what happens when the data do not fit."""
    module = compile_and_import(spec, backend, tmp_path, name=f"{spec.stem}_{backend}_placed")
    runtime, data = module._runtime, module.make_data()
    dtype = runtime.DTYPES["float64"]
    conversions = []
    convert = runtime.to_arrays

    def counted(fields, *rest):
        conversions.append(sorted(fields))
        return convert(fields, *rest)

    monkeypatch.setattr(runtime, "to_arrays", counted)
    placed = module.train(module.init_params(0), data, 4, 0, "cpu", dtype, log_every=0)
    assert len(conversions) == 2 and runtime.last_run["data_on_device"]   # the training set, the evaluation batch
    conversions.clear()
    monkeypatch.setattr(runtime, "fits", lambda nbytes, device: False)
    copied = module.train(module.init_params(0), data, 4, 0, "cpu", dtype, log_every=0)
    assert len(conversions) == 5 and not runtime.last_run["data_on_device"]   # every step, then the evaluation
    assert placed[1] == copied[1]
    for name in placed[0]:
        np.testing.assert_array_equal(placed[0][name], copied[0][name])


def test_torch_mini_batches_indexed_on_the_device_are_laid_out_as_numpy_lays_them_out():
    """Same values and the same strides as numpy's value[..., index] converted, so the
    arithmetic after it (matrix products) is the same, bit for bit."""
    import torch
    from sciml.runtime.torch import TorchRuntime
    index = np.random.default_rng(0).choice(512, 64, replace=False)
    for shape in [(2, 512), (5, 1, 512), (512,), (3, 4, 512)]:
        value = np.arange(np.prod(shape), dtype=float).reshape(shape)
        expected = torch.as_tensor(value[..., index])
        got = TorchRuntime.take({"v": torch.as_tensor(value), "w": "shared"}, ("v",), index, "cpu")
        assert got["w"] == "shared"
        assert torch.equal(got["v"], expected) and got["v"].stride() == expected.stride()


def test_compile_standalone_imports_neither_torch_nor_jax(tmp_path):
    out = tmp_path / "m.py"
    code = ("import sys; from sciml.cli import main; "
            f"main(['compile', {str(SPECS / 'ode' / 'classifier.sciml')!r}, '--standalone', '--backend', 'jax', "
            f"'-o', {str(out)!r}]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'jax', 'optax', 'sciml.runtime.torch')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert "class JaxRuntime" in out.read_text()


def _model(**fields):
    base = dict(MODEL="m", BACKEND="none", STAGES=[("adam", 0.1, 5, 4), ("sgd", 0.01, 3, 0)],
                TRAIN_SET="train", SAMPLE_FIELDS={"train": ("x", "label")})
    base.update(fields)
    return types.SimpleNamespace(**base)


def test_stages_are_cut_and_extended():
    runtime = Runtime(_model())
    assert runtime.stages(None) == [("adam", 0.1, 5, 4), ("sgd", 0.01, 3, 0)]
    assert runtime.stages(3) == [("adam", 0.1, 3, 4)]
    assert runtime.stages(5) == [("adam", 0.1, 5, 4)]
    assert runtime.stages(7) == [("adam", 0.1, 5, 4), ("sgd", 0.01, 2, 0)]
    assert runtime.stages(12) == [("adam", 0.1, 5, 4), ("sgd", 0.01, 3, 0), ("sgd", 0.01, 4, 0)]
    assert runtime.stages(0) == []
    assert Runtime(_model(STAGES=[])).stages(10) == []   # nothing to train


def test_sample_picks_the_same_samples_of_every_field():
    x = np.arange(20.0).reshape(2, 10)
    fields = {"x": x, "label": np.arange(10), "w": np.ones((3, 3))}
    batch = Runtime.sample(fields, ("x", "label"), 4, np.random.default_rng(0))
    assert batch["x"].shape == (2, 4) and batch["label"].shape == (4,)
    np.testing.assert_array_equal(batch["x"][0], batch["label"].astype(float))   # x[0, i] == i
    np.testing.assert_array_equal(batch["x"][1], batch["label"] + 10.0)
    assert len(set(batch["label"].tolist())) == 4 and batch["w"] is fields["w"]   # no repeats; shared kept
    assert Runtime.sample(fields, ("x", "label"), 0, np.random.default_rng(0)) is fields   # 0: all samples
    assert Runtime.sample(fields, ("x", "label"), 10, np.random.default_rng(0)) is fields


def test_evaluation_batch_is_the_first_samples():
    data = {"train": {"x": np.arange(20.0).reshape(2, 10), "label": np.arange(10)}}
    batch = Runtime(_model()).evaluation_batch(data)
    np.testing.assert_array_equal(batch["label"], np.arange(4))
    assert Runtime(_model(TRAIN_SET=None)).evaluation_batch(data) == {}
