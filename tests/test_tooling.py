"""The command line: determinism, no torch/jax at compile time, exit codes, dumps, stdin."""
import json
import os
import subprocess
import sys

import pytest

from helpers import ROOT, SPECS
from working_specs import COMPILING, WORKING_SPECS

ALL_SPECS = sorted(SPECS.glob("**/*.sciml"))


def sciml(*args, input=None, env=None):
    return subprocess.run([sys.executable, "-m", "sciml", *args], capture_output=True, text=True,
                          input=input, cwd=ROOT, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_compile_is_byte_identical_under_different_hash_seeds(backend):
    spec = str(SPECS / "ode" / "hamiltonian.sciml")
    outputs = {sciml("compile", spec, "--backend", backend, env={"PYTHONHASHSEED": seed}).stdout
               for seed in ("0", "1", "12345")}
    assert len(outputs) == 1 and len(outputs.pop()) > 1000


def test_compile_imports_neither_torch_nor_jax():
    code = ("import sys; from sciml.cli import main; "
            f"main(['compile', {str(SPECS / 'ode' / 'node_fit_adjoint.sciml')!r}, '--backend', 'torch', '-o', '/dev/null']); "
            f"main(['compile', {str(SPECS / 'ode' / 'node_fit_adjoint.sciml')!r}, '--backend', 'jax', '-o', '/dev/null']); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'jax', 'diffrax', 'torchdiffeq')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda p: p.stem)
def test_every_zoo_spec_dumps_its_syntax_tree(spec):
    result = sciml("compile", str(spec), "--dump", "ast")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Spec")


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda p: p.stem)
def test_zoo_specs_compile_or_say_not_supported_yet(spec):
    result = sciml("compile", str(spec), "--backend", "torch")
    if spec.stem in COMPILING:
        assert result.returncode == 0, result.stderr
        assert "def loss(p, batch" in result.stdout
    else:
        assert result.returncode == 1
        assert "error[E901]" in result.stderr and "not supported yet" in result.stderr
        assert "Traceback" not in result.stderr


def test_dump_ir_and_stdin():
    text = (SPECS / "ode" / "resnet.sciml").read_text()
    result = sciml("compile", "-", "--dump", "ir", input=text)
    assert result.returncode == 0, result.stderr
    assert "MatProduct(K2, tanh(b + MatProduct(K1, Y)))" in result.stdout


def test_exit_codes_and_json_format():
    assert sciml("compile", "no/such/file.sciml").returncode == 2
    assert sciml("compile").returncode == 2
    bad = sciml("check", "-", "--format", "json", input="model m\nstate Y : R[3]\n")
    assert bad.returncode == 1
    document = json.loads(bad.stdout)
    assert {d["code"] for d in document["diagnostics"]} == {"E307", "E309"}


def test_run_trains_a_spec_end_to_end():
    result = sciml("run", str(SPECS / "ode" / "resnet.sciml"), "--backend", "torch", "--steps", "3",
                   "--json")
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["model"] == "resnet" and line["steps"] == 3 and line["loss"] > 0
