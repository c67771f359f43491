"""Golden files: the emitted module of every working zoo spec, for both backends, and the LaTeX of
the PINN and SDE specs, byte for byte.
Refresh after an intended change with:  SCIML_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py"""
import os

import pytest

from helpers import ROOT, SPECS, compile_file
from working_specs import PINN_SPECS, WORKING_SPECS

GOLDEN = ROOT / "tests" / "golden"
# `sciml latex` of the SDE specs (kinds sde, bsde, diffusion)
SDE_LATEX_SPECS = [SPECS / "sde" / "neural_sde.sciml", SPECS / "sde" / "deep_bsde.sciml",
                   SPECS / "sde" / "score_diffusion.sciml", SPECS / "sde" / "score_diffusion_vp.sciml",
                   SPECS / "likelihood" / "cnf.sciml", SPECS / "likelihood" / "cnf_checkerboard.sciml",
                   SPECS / "likelihood" / "vae.sciml", SPECS / "likelihood" / "vae_bernoulli.sciml",
                   SPECS / "likelihood" / "latent_node.sciml", SPECS / "likelihood" / "bayes_nn.sciml",
                   SPECS / "likelihood" / "bayes_ensemble.sciml"]
# `sciml latex` of the method of lines (kind grid_pde)
GRID_LATEX_SPECS = [SPECS / "pde" / name for name in ("reaction_diffusion.sciml", "heat_neural_source.sciml",
                                                      "heat2d_neural_source.sciml")]


@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("spec", WORKING_SPECS + PINN_SPECS, ids=lambda p: p.stem)
def test_emitted_code_matches_golden_file(spec, backend):
    text = compile_file(spec, backend)
    golden = GOLDEN / f"{spec.stem}_{backend}.py"
    if os.environ.get("SCIML_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), f"no golden file {golden.name}; run with SCIML_UPDATE_GOLDEN=1"
    assert text == golden.read_text(), (f"{golden.name} differs from the emitted code; if the change "
                                        "is intended, rerun with SCIML_UPDATE_GOLDEN=1 and review the diff")


@pytest.mark.parametrize("spec", PINN_SPECS + SDE_LATEX_SPECS + GRID_LATEX_SPECS, ids=lambda p: p.stem)
def test_latex_matches_golden_file(spec, capsys):
    """`sciml latex` of the PINN specs (the PDE, conditions, collocation, loss terms, report), of
    the SDE specs (the sde, the stages with the noise and Milstein's correction, the loss) and of
    the method of lines (the PDE, the grid, the semi-discrete system, the time scheme)."""
    from sciml.cli import main
    assert main(["latex", str(spec)]) == 0
    text = capsys.readouterr().out
    golden = GOLDEN / f"{spec.stem}.tex"
    if os.environ.get("SCIML_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert golden.exists(), f"no golden file {golden.name}; run with SCIML_UPDATE_GOLDEN=1"
    assert text == golden.read_text(), (f"{golden.name} differs from sciml latex; if the change "
                                        "is intended, rerun with SCIML_UPDATE_GOLDEN=1 and review the diff")


def _functions(section):
    """{name: lines} of the top-level functions of a model section; the rest under None."""
    out, name = {None: []}, None
    for line in section.splitlines():
        if line.startswith("def "):
            name = line[4:].split("(")[0]
            out[name] = []
        elif line and not line[0].isspace():
            name = None
        out[name].append(line)
    return out


def _stages(solve, backend):
    """The lines of one time step in a fixed-step solve: the torch loop body (less the
    bookkeeping of the observed path and of batch normalization's statistics, which JAX's scan
    collects as its outputs), the body of the JAX scan's step (less its unpacking)."""
    if backend == "torch":
        return [l for l in solve if l.startswith(" " * 8) and "OBSERVED_STEPS" not in l and "_path.append" not in l
                and "_steps.append" not in l]
    return [l for l in solve if l.startswith(" " * 8) and not l.strip().startswith("return ")
            and not l.endswith((" = carry", " = weights", " = inputs"))]


# helpers that each backend writes its own way: torch's batch normalization is its own kernel (one
# operation in the backward pass) and it unbinds the stacked weights of a network per step once
# (benchmarks/bsde_step.py measured both); JAX's scan takes the stacks as they are
OWN_KERNELS = {"batch_norm", "step_weights", "normalized_step_weights", "stacked_statistics"}


def test_torch_and_jax_modules_differ_only_in_spelling():
    """The two backends are mirror images: the same functions in the model section, each of the
    same number of lines, except `solve`: the JAX time loop is a jax.lax.scan (a step function that
    unpacks its carry and per-step weights and returns them, then the scan call; issue 9 item 5),
    the torch one a Python for loop. Both have one line per stage of the scheme in their step.
    Adaptive solvers are excepted (torchdiffeq and diffrax take their options differently), and
    memory = recompute (torch.autograd.Function against jax.custom_vjp); torch's right sides that
    read the time t have one line more, which takes t in as a tensor."""
    for spec in WORKING_SPECS:
        if "dopri5" in spec.read_text() or "recompute" in spec.read_text():
            continue
        sections = {backend: _functions(compile_file(spec, backend).split("# ---- the model")[1]
                                        .split("# ---- training")[0])
                    for backend in ("torch", "jax")}
        torch_functions, jax_functions = sections["torch"], sections["jax"]
        jax_functions.pop("at_observed_steps", None)   # the scan's outputs at the data times
        assert torch_functions.keys() == jax_functions.keys(), spec.stem
        for name in torch_functions:
            if name in OWN_KERNELS:
                continue
            if name is None or not name.endswith("solve"):   # torch takes a right side's time in as a tensor
                torch_lines = [line for line in torch_functions[name] if "t = torch.as_tensor(t," not in line]
                assert len(torch_lines) == len(jax_functions[name]), (spec.stem, name)
        if "solve" in torch_functions:
            assert "jax.lax.scan(jax.checkpoint(step)" in "\n".join(jax_functions["solve"]), spec.stem
        for name in [n for n in torch_functions if n and n.endswith("solve")]:   # a diffusion model's samplers too
            assert "jax.lax.scan(" in "\n".join(jax_functions[name]), (spec.stem, name)
            assert len(_stages(torch_functions[name], "torch")) == len(_stages(jax_functions[name], "jax")), (spec.stem, name)