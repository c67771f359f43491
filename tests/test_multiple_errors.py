"""One run reports every independent mistake, sorted by position, in text and in JSON."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sciml.cli import main  # noqa: E402

# {param}, {ode} and {train} are each filled with a correct line or with one mistake.  The lines
# are out of the usual order on purpose: the compiler lowers declarations first (param, then ode,
# then train), so the errors are found in the order line 7, 5, 2 and must be reported as 2, 5, 7.
TEMPLATE = """\
model three
{train}
const n = 2, T = 1.0
data train = generate spirals(samples = 100, seed = 0)
{ode}
state Y : R[n]
{param}
initial Y(0) = train.x
scheme euler(10, T)
loss mean(Y(T) * Y(T))
"""
GOOD = {"param": "param A : R[n, n], c : R[2]",
        "ode": "ode dt(Y) = tanh(A * Y)",
        "train": "train adam(lr = 1e-2, steps = 100)"}
BAD = {"param": "param A : R[n, n], c : C[2]",          # line 7: E204 unknown type
       "ode": "ode dt(Y) = tanhh(A * Y)",               # line 5: E103 unknown function
       "train": "train adamw(lr = 1e-2, steps = 100)"}  # line 2: E501 unknown optimizer
# (code, line, column) in the order of the report, which is by position in the file.
ERRORS = [("E501", 2, 7), ("E103", 5, 13), ("E204", 7, 24)]
JSON_KEYS = {"code", "severity", "message", "file", "line", "column", "end_line", "end_column",
             "help", "data"}


def spec_text(**bad) -> str:
    return TEMPLATE.format(**{k: BAD[k] if bad.get(k) else GOOD[k] for k in GOOD})


def check(path: Path, capsys, *extra) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        status = main(["check", str(path), *extra])
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def write(tmp_path):
    def write(text: str) -> Path:
        path = tmp_path / "three.sciml"
        path.write_text(text, encoding="utf-8")
        return path
    return write


def test_the_spec_without_mistakes_is_ok(write, capsys):
    path = write(spec_text())
    status, out, err = check(path, capsys)
    # the analysis' findings (docs/analysis.md: notes and a warning, no error) come first
    assert (status, out) == (0, "") and ": error[" not in err
    assert err.endswith(f"{path}: ok (1 warning, 3 notes)\n"), err


@pytest.mark.parametrize("which", sorted(GOOD))
def test_each_mistake_alone_gives_one_error(which, write, capsys):
    path = write(spec_text(**{which: True}))
    status, out, err = check(path, capsys)
    assert status == 1 and out == ""
    assert err.count(": error[") == 1, err
    assert err.endswith(f"1 error in {path}\n"), err


def test_three_independent_errors_are_all_reported_in_line_order(write, capsys):
    path = write(spec_text(param=True, ode=True, train=True))
    status, out, err = check(path, capsys)
    assert status == 1
    assert out == ""
    assert "Traceback" not in err and "internal error" not in err
    heads = [line for line in err.splitlines() if ": error[" in line]
    assert [h.split(": error[")[0] for h in heads] == [f"{path}:{line}:{col}" for _, line, col in ERRORS]
    assert [h.split("error[")[1][:4] for h in heads] == [code for code, _, _ in ERRORS]
    assert err.endswith(f"3 errors in {path}\n"), err
    # each diagnostic shows its source line and a caret under the offending text
    lines = err.splitlines()
    for (code, line, col), head in zip(ERRORS, heads):
        i = lines.index(head)
        source, caret = lines[i + 1], lines[i + 2]
        assert source.startswith(f"{line:>4} | ")
        assert caret.index("^") == len(f"{line:>4} | ") + col - 1, (code, caret)


def test_three_errors_as_one_json_document(write, capsys):
    path = write(spec_text(param=True, ode=True, train=True))
    status, out, err = check(path, capsys, "--format", "json")
    assert status == 1
    assert err == ""
    document = json.loads(out)  # exactly one JSON document on standard output
    assert set(document) == {"diagnostics"}
    diagnostics = document["diagnostics"]
    assert [(d["code"], d["line"], d["column"]) for d in diagnostics] == ERRORS
    for d in diagnostics:
        assert set(d) == JSON_KEYS, sorted(d)
        assert d["severity"] == "error"
        assert d["file"] == str(path)
        assert isinstance(d["message"], str) and d["message"]
        assert isinstance(d["help"], str)
        assert isinstance(d["data"], dict)
        assert (d["end_line"], d["end_column"]) > (d["line"], d["column"])
    assert [d["line"] for d in diagnostics] == sorted(d["line"] for d in diagnostics)


def test_the_command_line_exits_1_with_all_three(write):
    """The same through `python -m sciml check`, as a user runs it."""
    path = write(spec_text(param=True, ode=True, train=True))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "sciml", "check", str(path)], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert [c for c, _, _ in ERRORS] == [line.split("error[")[1][:4]
                                         for line in proc.stderr.splitlines() if ": error[" in line]
    proc = subprocess.run([sys.executable, "-m", "sciml", "check", "--format", "json", str(path)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 1
    assert [d["code"] for d in json.loads(proc.stdout)["diagnostics"]] == [c for c, _, _ in ERRORS]
