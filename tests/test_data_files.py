"""Data read from files beside the spec: .npz and .csv give the same fields, and the torch and
JAX modules the same loss; malformed files are positioned errors."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import DATA_FILE_SPEC, load_module
from sciml.frontend.diagnostics import SpecError
from sciml.pipeline import compile_spec

SPEC = DATA_FILE_SPEC


def write_files(folder):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    label = (x[:, 0] * x[:, 1] > 0).astype(int)
    np.savez(folder / "points.npz", x=x, label=label)
    lines = ["x[1], x[0],label"] + [f"{float(b)!r},{float(a)!r},{int(c)}" for (a, b), c in zip(x, label)]
    (folder / "points.csv").write_text("\n".join(lines) + "\n")  # columns out of order on purpose
    return x, label


def test_npz_and_csv_give_the_same_data_and_loss(tmp_path):
    x, label = write_files(tmp_path)
    losses = []
    for file in ("points.npz", "points.csv"):
        for backend in ("torch", "jax"):
            text = compile_spec(SPEC.format(file=file), str(tmp_path / "spec.sciml"), backend)
            module = load_module(text, f"from_{file.replace('.', '_')}_{backend}", tmp_path)
            data = module.make_data()["train"]
            np.testing.assert_array_equal(data["x"], x.T)   # samples last
            np.testing.assert_array_equal(data["label"], label)
            assert data["label"].dtype.kind == "i"
            losses.append(module.loss_and_grad(module.init_params(0), module.evaluation_batch(module.make_data()))[0])
    assert np.isfinite(losses[0]) and max(losses) - min(losses) <= 1e-12 * abs(losses[0])


@pytest.mark.parametrize("content, message", [
    ("x[0],x[2],label\n1,2,0\n", "numbered 0, 1"),
    ("x,x[0],label\n1,2,0\n", "repeats or mixes"),
    ("x[0],label\n1,zero\n", "not a finite number"),
    ("x[0],label\n", "header row and at least one row"),
    ("x-y,label\n1,0\n", "not a name"),
])
def test_malformed_csv_is_a_positioned_error(tmp_path, content, message):
    (tmp_path / "bad.csv").write_text(content)
    with pytest.raises(SpecError) as info:
        compile_spec(SPEC.format(file="bad.csv"), str(tmp_path / "spec.sciml"), "torch")
    (diagnostic,) = info.value.diagnostics
    assert diagnostic.code == "E506" and message in diagnostic.message
    assert (diagnostic.span.line, diagnostic.span.column) == (4, 1)


def test_the_csv_example_compiles_and_both_backends_agree(tmp_path):
    from helpers import ROOT, compile_and_load
    spec = ROOT / "examples" / "from_csv" / "classifier_from_csv.sciml"
    losses = []
    for backend in ("torch", "jax"):
        module = compile_and_load(spec, backend, tmp_path)
        losses.append(module.loss_and_grad(module.init_params(1), module.evaluation_batch(module.make_data()))[0])
    assert abs(losses[0] - losses[1]) <= 1e-10 * abs(losses[0])


# ---- where the data is read (the spec's folder; the module's folder) -----------------------

def _compile_cli(spec, output, capsys, *extra) -> str:
    from sciml.cli import main
    assert main(["compile", str(spec), "-o", str(output), *extra]) == 0
    return capsys.readouterr().err


def _write_spec(folder, file="points.csv", name="spec.sciml"):
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / name
    spec.write_text(SPEC.format(file=file))
    return spec


def _import(path, name):
    from sciml.modules import import_text
    return import_text(path.read_text(), name, path.parent)


def test_a_module_written_elsewhere_reads_the_data_of_the_spec(tmp_path, capsys):
    """`sciml compile -o OTHER/model.py`: the module finds the data in the spec's folder."""
    x, _ = write_files(tmp_path / "spec")
    spec = _write_spec(tmp_path / "spec")
    _compile_cli(spec, tmp_path / "other" / "deeper" / "model.py", capsys)
    text = (tmp_path / "other" / "deeper" / "model.py").read_text()
    assert "SPEC_FOLDER = '../../spec'" in text and str(tmp_path) not in text   # no absolute path
    module = _import(tmp_path / "other" / "deeper" / "model.py", "written_elsewhere")
    np.testing.assert_array_equal(module.make_data()["train"]["x"], x.T)


def test_a_module_moved_with_its_data_runs_there(tmp_path, capsys, monkeypatch):
    write_files(tmp_path / "spec")
    spec = _write_spec(tmp_path / "spec")
    _compile_cli(spec, tmp_path / "spec" / "model.py", capsys)
    assert "SPEC_FOLDER = '.'" in (tmp_path / "spec" / "model.py").read_text()
    moved = tmp_path / "somewhere" / "else"
    moved.mkdir(parents=True)
    (tmp_path / "spec" / "model.py").rename(moved / "model.py")
    module = _import(moved / "model.py", "moved_module")
    with pytest.raises(module.DataError, match=r"points.csv: not found beside this module \(.*else\)"):
        module.make_data()
    (tmp_path / "spec" / "points.csv").rename(moved / "points.csv")
    monkeypatch.chdir(tmp_path)
    module.main(["--steps", "1", "--json"])   # one training step, one JSON line
    assert '"steps": 1' in capsys.readouterr().out


def test_the_data_folder_can_be_given(tmp_path, monkeypatch):
    x, _ = write_files(tmp_path / "data")
    write_files(tmp_path / "spec")
    module = load_module(compile_spec(SPEC.format(file="points.csv"), str(tmp_path / "spec" / "spec.sciml"),
                                      "torch"), "data_folder_given", tmp_path)
    np.testing.assert_array_equal(module.make_data(tmp_path / "data")["train"]["x"], x.T)
    monkeypatch.setenv("SCIML_DATA_DIR", str(tmp_path / "data"))
    np.testing.assert_array_equal(module.make_data()["train"]["x"], x.T)
    monkeypatch.setenv("SCIML_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(module.DataError, match=r"not found in \$SCIML_DATA_DIR"):
        module.make_data()


@pytest.mark.parametrize("written", ["../outside/points.csv", "ABSOLUTE", "link/points.csv"])
def test_a_data_file_outside_the_spec_folder_is_a_warning(written, tmp_path):
    from sciml.pipeline import front_end
    write_files(tmp_path / "outside")
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "link").symlink_to(tmp_path / "outside")
    written = str(tmp_path / "outside" / "points.csv") if written == "ABSOLUTE" else written
    _, model, findings = front_end(SPEC.format(file=written), str(tmp_path / "spec" / "spec.sciml"))
    (warning,) = [d for d in findings if d.code == "W101"]
    assert warning.severity == "warning" and (warning.span.line, warning.span.column) == (4, 1)
    assert written in warning.message and "outside the folder of the spec" in warning.message
    assert model.dataset("train").option("path") == written   # read from there by the module


def test_a_detour_inside_the_spec_folder_is_no_warning(tmp_path):
    from sciml.pipeline import front_end
    write_files(tmp_path)
    (tmp_path / "sub").mkdir()
    _, model, findings = front_end(SPEC.format(file="sub/../points.csv"), str(tmp_path / "spec.sciml"))
    assert not [d for d in findings if d.code == "W101"]
    assert model.dataset("train").option("path") == "points.csv"


def test_nothing_of_a_file_outside_the_spec_folder_is_quoted(tmp_path):
    """A spec can point at any file; its errors say what is wrong, not what the file holds."""
    (tmp_path / "secret.csv").write_text("root:x:0:0,label\nhunter2,0\n")
    (tmp_path / "spec").mkdir()
    with pytest.raises(SpecError) as info:
        compile_spec(SPEC.format(file="../secret.csv"), str(tmp_path / "spec" / "spec.sciml"), "torch")
    codes = sorted(d.code for d in info.value.diagnostics)
    assert codes == ["E506", "W101"]
    for d in info.value.diagnostics:
        assert "root" not in d.message + d.help and "hunter2" not in d.message + d.help
    (tmp_path / "secret.csv").write_text("x[0],label\nhunter2,0\n")
    with pytest.raises(SpecError) as info:
        compile_spec(SPEC.format(file="../secret.csv"), str(tmp_path / "spec" / "spec.sciml"), "torch")
    assert all("hunter2" not in d.message for d in info.value.diagnostics)


def test_no_message_lists_the_columns_of_a_file_outside_the_spec_folder(tmp_path):
    (tmp_path / "secret.csv").write_text("password,label\n1.5,0\n")
    (tmp_path / "spec").mkdir()
    with pytest.raises(SpecError) as info:
        compile_spec(SPEC.format(file="../secret.csv"), str(tmp_path / "spec" / "spec.sciml"), "torch")
    codes = {d.code for d in info.value.diagnostics}
    assert {"W101", "E105"} <= codes
    assert all("password" not in d.message + d.help for d in info.value.diagnostics)


def test_a_one_column_field_for_a_vector_state_is_a_positioned_error(tmp_path):
    (tmp_path / "one.csv").write_text("x,label\n1.5,0\n-2.0,1\n")
    with pytest.raises(SpecError) as info:
        compile_spec(SPEC.format(file="one.csv"), str(tmp_path / "spec.sciml"), "torch")
    (diagnostic,) = info.value.diagnostics
    assert diagnostic.code == "E509" and "one entry per sample" in diagnostic.message
    assert (diagnostic.span.line, diagnostic.span.column) == (9, 16) and "x[0], x[1]" in diagnostic.help


def test_sciml_run_reads_the_data_beside_the_spec(tmp_path, monkeypatch):
    """`sciml run` trains a module in a temporary folder: it points the module at the spec's
    folder (the module itself is tested above, so the run is not started here)."""
    import subprocess
    from sciml.cli import main
    write_files(tmp_path)
    spec = _write_spec(tmp_path)
    calls = []
    monkeypatch.delenv("SCIML_DATA_DIR", raising=False)
    monkeypatch.setattr(subprocess, "call", lambda command, env: calls.append(env) or 0)
    assert main(["run", str(spec), "--steps", "1"]) == 0
    assert calls[0]["SCIML_DATA_DIR"] == str(tmp_path.resolve())


# ---- a data file that does not fit the model: a DataError, exit 2, no traceback ----------

GOOD_CSV = "x[0],x[1],label\n0.5,1.0,0\n-1.0,2.0,1\n0.25,-0.5,1\n"
BAD_CSV = [
    ("x[0],x[1],label\n0.5,nan,0\n-1.0,2.0,1\n", "field 'x': nan on line 2 is not a finite number"),
    ("x[0],x[1],label\n0.5,1.0,0\n-1.0,inf,1\n", "field 'x': inf on line 3 is not a finite number"),
    ("x[0],x[1],label\n0.5,1.0,0\n-1.0,2.0\n", "line 3 has 2 values, but the header has 3 columns"),
    ("x[0],label\n0.5,0\n", "field 'x': no column x[1] (the model reads x[0], x[1])"),
    ("x[0],x[1]\n0.5,1.0\n", "field 'label': no column label"),
    ("x[0],x[1],label\n0.5,one,0\n", "field 'x': 'one' on line 2 is not a number"),
    ("x[0],x[1],label\n0.5,1.0,0.5\n", "field 'label': 0.5 on line 2 is not an integer"),
    ("x[0],x[1],label\n", "needs a header row and at least one row of data"),
    (b"x[0],x[1],label\n\xff\xfe,1,0\n", "cannot read it as text"),
]


@pytest.fixture(scope="module")
def csv_module(tmp_path_factory):
    folder = tmp_path_factory.mktemp("csv_module")
    (folder / "points.csv").write_text(GOOD_CSV)
    text = compile_spec(SPEC.format(file="points.csv"), str(folder / "spec.sciml"), "torch")
    return load_module(text, "csv_module", folder), folder


@pytest.mark.parametrize("content, message", BAD_CSV)
def test_a_csv_that_does_not_fit_is_a_data_error(content, message, csv_module, tmp_path):
    module, _ = csv_module
    path = tmp_path / "points.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(module.DataError) as info:
        module.make_data(tmp_path)
    assert str(info.value) == f"{path}: {message}" or str(info.value).startswith(f"{path}: {message}")


def test_a_data_error_exits_2_with_one_line_and_no_traceback(csv_module, capsys, monkeypatch):
    module, folder = csv_module
    (folder / "points.csv").write_text("x[0],x[1],label\n0.5,nan,0\n")
    try:
        with pytest.raises(SystemExit) as info:
            module.main(["--steps", "1"])
    finally:
        (folder / "points.csv").write_text(GOOD_CSV)
    assert info.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert err == f"from_file: error: {folder / 'points.csv'}: field 'x': nan on line 2 is not a finite number\n"


def test_a_missing_data_file_is_a_data_error(csv_module, tmp_path):
    module, _ = csv_module
    with pytest.raises(module.DataError, match=r"^points.csv: not found in data_dir \("):
        module.make_data(tmp_path)
    (tmp_path / "points.csv").mkdir()   # there, but not a file
    with pytest.raises(module.DataError, match=r"points.csv: cannot read it"):
        module.make_data(tmp_path)


def _npz(path, **arrays):
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


BAD_NPZ = [
    (dict(x=np.array([[0.5, np.nan], [1.0, 2.0]]), label=np.array([0, 1])),
     "field 'x': nan in sample 0 is not a finite number"),
    (dict(x=np.ones((2, 3)), label=np.array([0, 1])),
     "field 'x': an array of shape (2, 3), but the model reads one of shape ('samples', 2)"),
    (dict(x=np.ones((2, 2))), "field 'label': no array of that name (the archive has 'x')"),
    (dict(x=np.ones((3, 2)), label=np.array([0, 1])),
     "the fields have different numbers of samples: label 2, x 3"),
    (dict(x=np.array([["a", "b"], ["c", "d"]]), label=np.array([0, 1])), "field 'x': holds <U1 values, not numbers"),
    (dict(x=np.ones((2, 2)), label=np.array([0.0, 1.5])), "field 'label': 1.5 in sample 1 is not an integer"),
]


@pytest.fixture(scope="module")
def npz_module(tmp_path_factory):
    folder = tmp_path_factory.mktemp("npz_module")
    _npz(folder / "points.npz", x=np.ones((2, 2)), label=np.array([0, 1]))
    text = compile_spec(SPEC.format(file="points.npz"), str(folder / "spec.sciml"), "jax")
    return load_module(text, "npz_module", folder)


@pytest.mark.parametrize("arrays, message", BAD_NPZ)
def test_an_npz_that_does_not_fit_is_a_data_error(arrays, message, npz_module, tmp_path):
    path = tmp_path / "points.npz"
    _npz(path, **arrays)
    with pytest.raises(npz_module.DataError) as info:
        npz_module.make_data(tmp_path)
    assert str(info.value).startswith(f"{path}: {message}")


def test_a_file_that_is_no_archive_is_a_data_error(npz_module, tmp_path):
    (tmp_path / "points.npz").write_text("x,label\n1,0\n")
    with pytest.raises(npz_module.DataError, match=r"points.npz: not a .npz archive$"):
        npz_module.make_data(tmp_path)
    np.save(tmp_path / "points.npz", np.ones(3))   # one array, not an archive
    (tmp_path / "points.npz.npy").rename(tmp_path / "points.npz")
    with pytest.raises(npz_module.DataError, match=r"holds one array"):
        npz_module.make_data(tmp_path)


def test_an_npz_with_nan_is_a_compile_time_error_too(tmp_path):
    _npz(tmp_path / "points.npz", x=np.array([[0.5, np.nan], [1.0, 2.0]]), label=np.array([0, 1]))
    with pytest.raises(SpecError) as info:
        compile_spec(SPEC.format(file="points.npz"), str(tmp_path / "spec.sciml"), "torch")
    (diagnostic,) = info.value.diagnostics
    assert diagnostic.code == "E506" and "array 'x'" in diagnostic.message and "not finite" in diagnostic.message
