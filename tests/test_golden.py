"""Golden files: the emitted module of every working zoo spec, for both backends, byte for byte.
Refresh after an intended change with:  SCIML_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py"""
import os

import pytest

from helpers import ROOT, compile_file
from working_specs import WORKING_SPECS

GOLDEN = ROOT / "tests" / "golden"


@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("spec", WORKING_SPECS, ids=lambda p: p.stem)
def test_emitted_code_matches_golden_file(spec, backend):
    text = compile_file(spec, backend)
    golden = GOLDEN / f"{spec.stem}_{backend}.py"
    if os.environ.get("SCIML_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), f"no golden file {golden.name}; run with SCIML_UPDATE_GOLDEN=1"
    assert text == golden.read_text(), (f"{golden.name} differs from the emitted code; if the change "
                                        "is intended, rerun with SCIML_UPDATE_GOLDEN=1 and review the diff")


def test_torch_and_jax_modules_differ_only_in_spelling():
    """The two backends are mirror images: the same number of lines in the model section
    (adaptive solvers excepted: torchdiffeq and diffrax take their options differently; and
    memory = recompute, written as torch.autograd.Function and jax.custom_vjp)."""
    for spec in WORKING_SPECS:
        if "dopri5" in spec.read_text() or "recompute" in spec.read_text():
            continue
        torch_lines = compile_file(spec, "torch").split("# ---- the model")[1].split("# ---- training")[0]
        jax_lines = compile_file(spec, "jax").split("# ---- the model")[1].split("# ---- training")[0]
        assert len(torch_lines.splitlines()) == len(jax_lines.splitlines()), spec.stem
