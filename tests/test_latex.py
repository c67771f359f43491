"""`sciml latex`: the model, the scheme's update equations and the loss as LaTeX."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from helpers import ROOT, zoo_specs
from sciml.cli import main

ODE = ROOT / "specs" / "ode"


def latex(capsys, *argv) -> str:
    assert main(["latex", *map(str, argv)]) == 0
    return capsys.readouterr().out


def balanced(text: str) -> bool:
    depth = 0
    text = text.replace(r"\{", "").replace(r"\}", "")
    for ch in text:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0 and text.count(r"\left") == text.count(r"\right") \
        and text.count(r"\begin{") == text.count(r"\end{")


@pytest.mark.parametrize("spec", zoo_specs(), ids=lambda p: p.stem)
def test_every_ode_spec(spec, capsys):
    text = latex(capsys, spec)
    assert balanced(text)
    assert r"\begin{align*}" in text and r"\mathcal{L} &=" in text
    assert latex(capsys, spec) == text  # deterministic


@pytest.mark.parametrize("name, pieces", [
    ("resnet", [r"\frac{d Y}{dt} &= K_{2} \tanh{\left(b + K_{1} Y \right)}",
                r"Y_{j+1} &= Y_{j} + h K_{2,j} \tanh{\left(b_{j} + K_{1,j} Y_{j} \right)}",
                r"\operatorname{CE}\left(\operatorname{softmax}\left(\mu + W Y\left(T\right)\right)",
                "N = 10"]),
    ("hamiltonian", [r"\frac{d Z}{dt} &= - K_{2}^{\top} \tanh",
                     r"Z_{j+1/2} &= Z_{j} - \frac{h}{2} K_{2,j}^{\top}",
                     r"Y_{j+1} &= Y_{j} + h K_{1,j}^{\top} \tanh{\left(b_{1,j} + K_{1,j} Z_{j+1/2} \right)}",
                     r"Z_{j+1} &= Z_{j+1/2} - \frac{h}{2}", "Verlet"]),
    ("second_order", [r"\frac{d^{2} Y}{dt^{2}} &= - K^{\top}", r"\dot{Y}(0) &= 0",
                      r"Y_{1} &= Y_{0} + h \dot{Y}(0) - \frac{h^{2}}{2} K_{0}^{\top}",
                      r"Y_{j+1} &= 2 Y_{j} - Y_{j-1} - h^{2} K_{j}^{\top}", "leapfrog"]),
    ("imex", [r"\left(I + h L\right) Y_{j+1} &= Y_{j} + h L Y_{j} + h \tanh",
              r"\operatorname{pad}_{4}\left(\mathrm{train.x}\right)"]),
    ("node_fit", [r"\frac{d y}{dt} &= \mathrm{F}\left(y^{3}\right)",
                  r"k_{1} &= \mathrm{F}\left(y_{j}^{3}\right)",
                  r"k_{2} &= \mathrm{F}\left(\left(y_{j} + \frac{h}{2} k_{1}\right)^{3}\right)",
                  r"k_{4} &= \mathrm{F}\left(\left(y_{j} + h k_{3}\right)^{3}\right)",
                  r"y_{j+1} &= y_{j} + \frac{h}{6}\left(k_{1} + 2 k_{2} + 2 k_{3} + k_{4}\right)",
                  r"\operatorname{MSE}\left(y\left(\mathrm{obs.t}\right), \mathrm{obs.u}\right)"]),
    ("node_fit_adjoint", ["Dormand--Prince", "adjoint"]),
    ("antisym", [r"\left(K - K^{\top} - \gamma I\right) Y"]),
    ("hamiltonian_energy", [r"\frac{d v}{dt} &= - \nabla \mathrm{V}\left(q\right)",
                            r"v_{j+1/2} &= v_{j} - \frac{h}{2} \nabla \mathrm{V}\left(q_{j}\right)"]),
    ("classifier", [r"\sum_{j} \frac{1}{h}\left(\left\|K_{j+1} - K_{j}\right\|^{2}"]),
])
def test_key_pieces(name, pieces, capsys):
    text = latex(capsys, ODE / f"{name}.sciml")
    for piece in pieces:
        assert piece in text, piece


def test_standalone_and_output_file(tmp_path, capsys):
    out = tmp_path / "hamiltonian.tex"
    assert main(["latex", str(ODE / "hamiltonian.sciml"), "--standalone", "-o", str(out)]) == 0
    text = out.read_text()
    assert text.startswith(r"\documentclass{article}") and r"\usepackage{amsmath}" in text
    assert text.rstrip().endswith(r"\end{document}") and balanced(text)
    if shutil.which("pdflatex"):
        result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", out.name],
                                cwd=tmp_path, capture_output=True, timeout=120)
        assert result.returncode == 0, result.stdout.decode(errors="replace")[-2000:]


def test_spec_errors_as_check_reports_them(capsys):
    bad = ROOT / "tests" / "bad" / "E101_unknown_name.sciml"
    assert main(["check", str(bad)]) == 1
    checked = capsys.readouterr()
    assert main(["latex", str(bad)]) == 1
    written = capsys.readouterr()
    assert written.err == checked.err and written.out == "" and checked.err


def test_no_torch_or_jax():
    code = ("import sys; from sciml.cli import main; "
            f"main(['latex', {str(ODE / 'node_fit.sciml')!r}]); "
            "assert not {'torch', 'jax'} & set(sys.modules), sorted(sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_imex_on_a_system_acts_on_the_stacked_state(tmp_path, capsys):
    """L acts on the stacked state (u, v): the step is written with columns."""
    from test_systems import IMEX_PAIR
    spec = tmp_path / "imex_pair.sciml"
    spec.write_text(IMEX_PAIR.format(steps=16))
    text = latex(capsys, spec)
    assert (r"\left(I + h L\right) \begin{pmatrix} u_{j+1} \\ v_{j+1} \end{pmatrix} &= "
            r"\begin{pmatrix} u_{j} \\ v_{j} \end{pmatrix} + h L \begin{pmatrix} u_{j} \\ v_{j} \end{pmatrix}") in text
    assert r"\operatorname{sum}\left(v\left(T\right)^{2}\right)" in text and balanced(text)
