"""Deliverable 6 of issue 3: `sciml check` prints every finding; JSON; --strict; --allow-unstable.

tests/golden_findings/NAME.txt pins what `python -m sciml check specs/ode/NAME.sciml` prints on
standard error (run from the repository root), then `exit: STATUS`, for every spec in
specs/ode/, the zoo's PDE and SDE specs and the PDE analysis' cases in tests/pde_specs/.  Refresh after an intended change with
    SCIML_UPDATE_GOLDEN=1 python -m pytest tests/test_analysis_cli.py
and review `git diff tests/golden_findings`.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from analysis_specs import one_state
from helpers import ROOT, SPECS
from sciml.cli import main

GOLDEN = ROOT / "tests" / "golden_findings"
# every ODE spec, and the other zoo specs that compile (their findings are shown in docs/findings.md)
ODE_SPECS = sorted((SPECS / "ode").glob("*.sciml")) + [SPECS / "likelihood" / f"{name}.sciml" for name in ("flow", "flow_nice")]
ODE_SPECS += [SPECS / "pde" / f"{name}.sciml" for name in
              ("burgers_pinn", "heat_neural_source", "heat2d_neural_source", "poisson_ritz", "reaction_diffusion")]
# the PDE analysis' own cases (tests/pde_specs: transport, KdV, a plate, systems; not zoo models)
ODE_SPECS += sorted((ROOT / "tests" / "pde_specs").glob("*.sciml"))
# the SDE specs (A601, A602, A205/A206: the noise, its sense, the mean-square verdict)
ODE_SPECS += sorted((SPECS / "sde").glob("*.sciml"))
# continuous flows and VAEs (A113, A114: the log-density ODE, the ELBO's terms)
ODE_SPECS += [SPECS / "likelihood" / f"{name}.sciml" for name in ("cnf", "cnf_checkerboard", "vae", "vae_bernoulli",
                                                                   "latent_node")]
REQUIRED = {"code", "severity", "message", "file", "line", "column", "end_line", "end_column",
            "help", "data"}


def check(args, capsys, monkeypatch, stdin=None):
    """(status, stdout, stderr) of `sciml check ARGS`, in-process from the repository root."""
    monkeypatch.chdir(ROOT)
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", _Stdin(stdin))
    capsys.readouterr()
    status = main(["check", *args])
    out, err = capsys.readouterr()
    return status, out, err


class _Stdin:
    def __init__(self, text):
        self.text = text

    def read(self):
        return self.text


@pytest.mark.parametrize("spec", ODE_SPECS, ids=lambda p: p.stem)
def test_findings_of_every_ode_spec_are_pinned(spec, capsys, monkeypatch):
    status, out, err = check([spec.relative_to(ROOT).as_posix()], capsys, monkeypatch)
    assert out == ""
    text = err.replace(str(ROOT), "<ROOT>") + f"exit: {status}\n"
    golden = GOLDEN / f"{spec.stem}.txt"
    if os.environ.get("SCIML_UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no {golden.name}; run with SCIML_UPDATE_GOLDEN=1 and review it"
    assert text == golden.read_text(encoding="utf-8"), (
        f"the findings for {spec.name} changed; if intended, rerun with SCIML_UPDATE_GOLDEN=1 "
        "and review `git diff tests/golden_findings`")


def test_every_golden_file_has_a_spec():
    orphans = [g.name for g in GOLDEN.glob("*.txt") if g.stem not in {s.stem for s in ODE_SPECS}]
    assert not orphans, f"golden findings without a spec: {orphans}; delete them"


def test_json_lists_every_finding_with_its_data(capsys, monkeypatch):
    status, out, err = check(["specs/ode/antisym.sciml", "--format", "json"], capsys, monkeypatch)
    assert status == 0 and err == ""
    document = json.loads(out)
    entries = document["diagnostics"]
    assert [(d["code"], d["severity"]) for d in entries] == [("A102", "note"), ("A202", "warning"),
                                                             ("A401", "note")]
    for d in entries:
        assert REQUIRED <= set(d), d
        assert d["file"] == "specs/ode/antisym.sciml" and isinstance(d["data"], dict)
    warning = entries[1]
    assert warning["data"]["bound"] == "2*gamma/(gamma^2 + norm2(K - K^T)^2)"
    assert warning["data"]["structure"] == "antisymmetric_damped"
    assert (warning["line"], warning["column"], warning["end_line"], warning["end_column"]) == (16, 9, 16, 24)


def test_strict_turns_warnings_into_errors(capsys, monkeypatch):
    status, out, err = check(["specs/ode/parabolic.sciml", "--strict"], capsys, monkeypatch)
    assert status == 1
    assert "error[A202]" in err and "note[A103]" in err
    assert err.rstrip().endswith("1 error in specs/ode/parabolic.sciml (2 notes)")
    status, _, err = check(["specs/ode/resnet.sciml", "--strict"], capsys, monkeypatch)
    assert status == 0 and err.rstrip().endswith("specs/ode/resnet.sciml: ok (3 notes)")


def test_unstable_is_refused_unless_allowed(capsys, monkeypatch):
    source = one_state("tanh((K - K^T) * Y + b)")
    status, out, err = check(["-"], capsys, monkeypatch, stdin=source)
    assert status == 1 and "error[A201]" in err and "note[A101]" in err
    assert err.rstrip().endswith("1 error in <stdin> (2 notes)")
    status, out, err = check(["-", "--allow-unstable"], capsys, monkeypatch, stdin=source)
    assert status == 0 and "warning[A201]" in err
    assert err.rstrip().endswith("<stdin>: ok (1 warning, 2 notes)")
    status, out, err = check(["-", "--format", "json"], capsys, monkeypatch, stdin=source)
    assert status == 1 and [d["code"] for d in json.loads(out)["diagnostics"]] == ["A101", "A201", "A401"]


def test_compile_refuses_an_unstable_scheme_and_shows_warnings_not_notes(tmp_path):
    spec = tmp_path / "unstable.sciml"
    spec.write_text(one_state("tanh((K - K^T) * Y + b)"))
    run = lambda *a: subprocess.run([sys.executable, "-m", "sciml", "compile", *a], cwd=ROOT,
                                    capture_output=True, text=True)
    refused = run(str(spec))
    assert refused.returncode == 1 and "error[A201]" in refused.stderr
    assert "note[" not in refused.stderr and refused.stdout == ""
    allowed = run(str(spec), "--allow-unstable")
    assert allowed.returncode == 0, allowed.stderr
    assert "warning[A201]" in allowed.stderr and "def loss(" in allowed.stdout
    fine = run(str(SPECS / "ode" / "parabolic.sciml"), "-o", str(tmp_path / "p.py"))
    assert fine.returncode == 0 and "warning[A202]" in fine.stderr and "note[" not in fine.stderr
