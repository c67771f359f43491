"""`sciml latex`: the model, the scheme's update equations and the loss as LaTeX."""
from __future__ import annotations

import re
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


# -- pinn models (PINN, Deep Ritz; issue 10, item 5) ---------------------------------------------

PDE = ROOT / "specs" / "pde"

PINN = """model m : pinn
const c = 2
domain {domain}
net u({inputs}) = mlp({n} -> 8 -> 1, tanh)
{body}
scheme collocation(interior = sobol(64), resample = 10)
loss   {loss}
train  adam(lr = 1e-3, steps = 10)
"""


def pinn_latex(tmp_path, capsys, body, domain="x in [0, 1], t in [0, 1]",
               loss="residual + fit(initial) + fit(boundary)") -> str:
    inputs = ", ".join(part.split(" in ")[0].strip() for part in domain.split("],") if part.strip())
    spec = tmp_path / "m.sciml"
    spec.write_text(PINN.format(domain=domain, inputs=inputs, n=inputs.count(",") + 1, body=body, loss=loss))
    text = latex(capsys, spec)
    assert balanced(text) and latex(capsys, spec) == text   # deterministic
    return text


def test_burgers_pinn_reads_like_the_paper(capsys):
    text = latex(capsys, PDE / "burgers_pinn.sciml")
    for piece in [r"\partial_{t} u + u \partial_{x} u - \nu \partial_{xx} u &= 0",
                  r"&x \in [-1, 1], \quad t \in [0, 1]", r"&\nu = \frac{0.01}{\pi}",
                  r"u(x, 0) &= - \sin{\left(\pi x \right)}, \quad \text{initial, } t = 0\text{: 50 uniform "
                  r"points, weight } 1",
                  r"u(-1, t) &= 0, \quad \text{boundary, } x = -1\text{: 25 uniform points, weight } 1",
                  r"N_{r} = 10000 \text{ interior points } (x_{i}, t_{i}) \in [-1, 1] \times [0, 1]",
                  r"\text{Latin hypercube points, drawn once",
                  r"\mathcal{L} &= \mathcal{L}_{r} + \mathcal{L}_{\mathrm{initial}} + \mathcal{L}_{\mathrm{boundary}}",
                  r"r(x, t) &= \partial_{t} u + u \partial_{x} u - \nu \partial_{xx} u",
                  r"\mathcal{L}_{r} &= \frac{1}{N_{r}} \sum_{i=1}^{N_{r}} r(x_{i}, t_{i})^{2}",
                  r"\mathcal{L}_{\mathrm{initial}} &= \frac{1}{50} \sum_{k=1}^{50} \left(u(x_{k}, 0) + "
                  r"\sin{\left(\pi x_{k} \right)}\right)^{2}",
                  r"\mathcal{L}_{\mathrm{boundary}} &= \frac{1}{25} \sum_{k=1}^{25} u(-1, t_{k})^{2} \\"
                  "\n" r"  &\quad + \frac{1}{25} \sum_{k=1}^{25} u(1, t_{k})^{2}",
                  r"u^{\star} = \operatorname{burgers\_cole\_hopf}\left(0.003183\right)",
                  r"256 \text{ points of } [-1, 1] \text{ (ends included)}, \ t = 0, 0.01, \dots, 0.99"]:
        assert piece in text, piece


def test_poisson_ritz_energy_and_its_euler_lagrange_equation(capsys):
    text = latex(capsys, PDE / "poisson_ritz.sciml")
    for piece in [r"W(x, y) &= \frac{1}{2} \left|\nabla u\right|^{2} - 2 \pi^{2} u \sin{\left(\pi x \right)} "
                  r"\sin{\left(\pi y \right)}",
                  r"\mathcal{E} &= \int_{\Omega} W \, \mathrm{d}x\,\mathrm{d}y \approx \left|\Omega\right| "
                  r"\cdot \frac{1}{N_{r}} \sum_{i=1}^{N_{r}} W(x_{i}, y_{i})",
                  r"\Omega = [0, 1] \times [0, 1], \ \left|\Omega\right| = 1",
                  # -lap(u) = f, as finding A505 derives it
                  r"- \Delta u &= 2 \pi^{2} \sin{\left(\pi x \right)} \sin{\left(\pi y \right)} \qquad "
                  r"\text{(the Euler--Lagrange equation of } \mathcal{E}\text{)}",
                  r"\mathcal{L}_{\mathrm{boundary}} &= 500 \cdot \frac{1}{50} \sum_{k=1}^{50} u(0, y_{k})^{2}",
                  r"\text{Sobol points, redrawn every step (the conditions' points too)}",
                  r"u^{\star} = \sin{\left(\pi x \right)} \sin{\left(\pi y \right)}",
                  r"101 \times 101 \text{ points of } [0, 1] \times [0, 1]"]:
        assert piece in text, piece
    assert "natural" not in text   # every face is held by the penalty


def test_a_neumann_condition_and_an_initial_velocity(tmp_path, capsys):
    text = pinn_latex(tmp_path, capsys, "pde dt(dt(u)) = c^2 * d(u, x, x)\n"
                      "initial u(x, 0) = sin(pi * x), dt(u)(x, 0) = 0 with points = 10\n"
                      "boundary d(u, x)(0, t) = 0 with points = 20, weight = 10, sampler = sobol\n"
                      "boundary u(1, t) = 0 with points = 20",
                      loss="residual + fit(initial) + 10 * fit(boundary)")
    for piece in [r"\partial_{tt} u &= c^{2} \partial_{xx} u",
                  r"\partial_{t} u(x, 0) &= 0, \quad \text{initial velocity, } t = 0",
                  r"\partial_{x} u(0, t) &= 0, \quad \text{Neumann, } x = 0\text{: 20 Sobol points, weight } 10",
                  r"\mathcal{L} &= \mathcal{L}_{r} + \mathcal{L}_{\mathrm{initial}} + 10 \mathcal{L}_{\mathrm{boundary}}",
                  r"&\quad + \frac{1}{10} \sum_{k=1}^{10} \left(\partial_{t} u(x_{k}, 0)\right)^{2}",
                  r"\mathcal{L}_{\mathrm{boundary}} &= 10 \cdot \frac{1}{20} \sum_{k=1}^{20} "
                  r"\left(\partial_{x} u(0, t_{k})\right)^{2}",
                  r"\text{Sobol points, redrawn every 10 steps"]:
        assert piece in text, piece


def test_a_periodic_pair_is_one_end_against_the_other(tmp_path, capsys):
    text = pinn_latex(tmp_path, capsys, "pde -lap(u) = 1\n"
                      "boundary u(0, y) = u(2, y) with points = 16\n"
                      "boundary u(x, -1) = 0, u(x, 1) = 0 with points = 8",
                      domain="x in [0, 2], y in [-1, 1]", loss="residual + fit(boundary)")
    assert r"u(0, y) &= u(2, y), \quad \text{periodic, } x = 0 \text{ and } x = 2\text{: 16 uniform" in text
    assert (r"\mathcal{L}_{\mathrm{boundary}} &= \frac{1}{16} \sum_{k=1}^{16} \left(u(0, y_{k}) - "
            r"u(2, y_{k})\right)^{2}") in text
    assert r"&\quad + \frac{1}{8} \sum_{k=1}^{8} u(x_{k}, -1)^{2}" in text


def test_a_three_dimensional_laplacian_and_several_residuals(tmp_path, capsys):
    faces = ", ".join(f"u({face}) = 0" for face in ["0, y, z", "1, y, z", "x, 0, z", "x, 1, z", "x, y, 0", "x, y, 1"])
    text = pinn_latex(tmp_path, capsys, f"pde -lap(u) = c * sin(pi * x)\npde d(u, x) + d(u, y, z) = 0\n"
                      f"boundary {faces} with points = 8",
                      domain="x in [0, 1], y in [0, 1], z in [0, 1]", loss="residual + fit(boundary)")
    for piece in [r"- \Delta u &= c \sin{\left(\pi x \right)}", r"\partial_{x} u + \partial_{yz} u &= 0",
                  r"r_{1}(x, y, z) &= - \Delta u - c \sin{\left(\pi x \right)}",
                  r"\frac{1}{N_{r}} \sum_{i=1}^{N_{r}} \left(r_{1}(x_{i}, y_{i}, z_{i})^{2} + "
                  r"r_{2}(x_{i}, y_{i}, z_{i})^{2}\right)",
                  r"(x_{i}, y_{i}, z_{i}) \in [0, 1] \times [0, 1] \times [0, 1]",
                  r"\frac{1}{8} \sum_{k=1}^{8} u(x_{k}, y_{k}, 1)^{2}"]:
        assert piece in text, piece


def test_a_data_fit_and_a_network_of_part_of_the_domain(tmp_path, capsys):
    (tmp_path / "obs.csv").write_text("x,t,u\n0.5,0.1,0.9\n0.25,0.2,0.6\n")
    body = ('data obs = load "obs.csv"\nnet N(x) = mlp(1 -> 8 -> 1, tanh)\npde dt(u) = d(u, x, x) + N(x)\n'
            "initial u(x, 0) = sin(pi * x) with points = 10\nboundary u(0, t) = 0, u(1, t) = 0 with points = 10")
    text = pinn_latex(tmp_path, capsys, body, loss="residual + fit(initial) + fit(boundary) + "
                      "mean((u(obs.x, obs.t) - obs.u)^2)")
    assert r"\partial_{t} u &= \partial_{xx} u + N(x)" in text
    assert r"+ \mathcal{L}_{\mathrm{boundary}} + \mathcal{L}_{\mathrm{obs}}" in text
    assert (r"\mathcal{L}_{\mathrm{obs}} &= \frac{1}{N_{\mathrm{obs}}} \sum_{k=1}^{N_{\mathrm{obs}}} "
            r"\left(u(x_{k}^{\mathrm{obs}}, t_{k}^{\mathrm{obs}}) - u_{k}^{\mathrm{obs}}\right)^{2}") in text


def test_a_ritz_energy_with_a_natural_boundary_condition(tmp_path, capsys):
    text = pinn_latex(tmp_path, capsys, "boundary u(0) = 0 with points = 10", domain="x in [0, 1]",
                      loss="ritz_energy(1 / 2 * (1 + x^2) * |grad(u)|^2 - x * u) + fit(boundary)")
    assert r"- \partial_{x} \left(\left(1 + x^{2}\right) \partial_{x} u\right) &= x" in text
    assert (r"\left(\left(1 + x^{2}\right) \partial_{x} u\right) \cdot n = 0 &\text{ on } x = 1 \qquad "
            r"\text{(its natural boundary condition)}") in text


@pytest.mark.parametrize("name", ["burgers_pinn", "poisson_ritz", "reaction_diffusion", "heat2d_neural_source"])
def test_pinn_standalone_documents_compile(name, tmp_path, capsys):
    out = tmp_path / f"{name}.tex"
    assert main(["latex", str(PDE / f"{name}.sciml"), "--standalone", "-o", str(out)]) == 0
    text = out.read_text()
    assert balanced(text) and text.rstrip().endswith(r"\end{document}")
    if shutil.which("pdflatex"):
        result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", out.name],
                                cwd=tmp_path, capture_output=True, timeout=120)
        assert result.returncode == 0, result.stdout.decode(errors="replace")[-2000:]
        assert "Overfull" not in (tmp_path / f"{name}.log").read_text(errors="replace")


def test_a_state_named_h_leaves_the_step_size_delta_t(tmp_path, capsys):
    source = (ODE / "resnet.sciml").read_text()
    assert "state Y" in source
    text = latex(capsys, ODE / "resnet.sciml")
    assert "h &= \\frac{T}{N}" in text and "\\Delta t" not in text
    spec = tmp_path / "hidden.sciml"
    spec.write_text(re.sub(r"\bY\b", "h", source))
    text = latex(capsys, spec)
    assert r"\Delta t &= \frac{T}{N}" in text
    assert r"h_{j+1} &= h_{j} + \Delta t K_{2,j} \tanh{\left(b_{j} + K_{1,j} h_{j} \right)}" in text, text
    rk4 = tmp_path / "hidden_rk4.sciml"
    rk4.write_text(re.sub(r"scheme\s+euler", "scheme  rk4", spec.read_text()))
    text = latex(capsys, rk4)
    assert r"k_{2} &= K_{2,j} \tanh{\left(b_{j} + K_{1,j} \left(h_{j} + \frac{\Delta t}{2} k_{1}\right) \right)}" in text
    assert r"h_{j+1} &= h_{j} + \frac{\Delta t}{6}\left(k_{1} + 2 k_{2} + 2 k_{3} + k_{4}\right)" in text


# -- grid_pde models: the method of lines ----------------------------------------------------------

def grid_latex(tmp_path, capsys, text, name="grid") -> str:
    spec = tmp_path / f"{name}.sciml"
    spec.write_text(text)
    return latex(capsys, spec)


def test_the_method_of_lines_prints_the_pde_the_grid_the_stencils_and_the_time_scheme(capsys):
    text = latex(capsys, PDE / "reaction_diffusion.sciml")
    assert balanced(text)
    for piece in [r"\frac{\partial c}{\partial t} &= \partial_{x} \left(c \mathrm{U}(c)\right)",
                  r"c(0, t) &= c(1, t), \quad \text{periodic}",
                  r"x_{i} &= i \Delta x, \quad \Delta x = \frac{1}{64}, \quad i = 0, \dots, 63",
                  r"c_{-1} = c_{63}, \ c_{64} = c_{0} \text{ (periodic)}",
                  # the semi-discrete right side the code is written from, read at node i
                  r"\frac{d c_{i}}{dt} &= D \frac{c_{i-1} - 2 c_{i} + c_{i+1}}{\Delta x^{2}} + \frac{\left(c_{i+1} "
                  r"\mathrm{U}\left(c_{i+1}\right)\right) - \left(c_{i-1} \mathrm{U}\left(c_{i-1}\right)\right)}"
                  r"{2 \Delta x} + \mathrm{R}\left(c_{i}\right)",
                  r"c_{j+1} &= c_{j} + h F\left(c_{j}\right)",
                  r"c \text{ the values at the 64 unknown nodes, }"]:
        assert piece in text, piece


def test_imex_and_upwind_on_a_grid(tmp_path, capsys):
    source = (PDE / "reaction_diffusion.sciml").read_text()
    written = "time = euler(steps, T))"
    assert written in source
    imex = grid_latex(tmp_path, capsys, source.replace(written, "time = imex(steps, T))"), "rd_imex")
    assert r"\left(I + h L\right) c_{j+1} &= c_{j} + h L c_{j} + h F\left(c_{j}\right)" in imex
    assert r"L &= -D \Delta_{h}" in imex
    upwind = grid_latex(tmp_path, capsys, source.replace(written, "time = rk4(steps, T), advection = upwind)"), "rd_up")
    assert (r"\hat{F}_{i+\frac{1}{2}} &= \max(a_{i+\frac{1}{2}}, 0)\, c_{i+1} + \min(a_{i+\frac{1}{2}}, 0)\, c_{i}, "
            r"\quad a_{i+\frac{1}{2}} = \tfrac{1}{2}\left(\mathrm{U}\left(c_{i}\right) + \mathrm{U}\left(c_{i+1}\right)"
            r"\right)") in upwind
    assert r"k_{2} &= F\left(c_{j} + \frac{h}{2} k_{1}\right)" in upwind and balanced(upwind)


def test_neumann_ends_a_convolution_and_a_2d_grid(tmp_path, capsys):
    from test_method_of_lines import CONV, heat_text
    from test_method_of_lines_2d import WAVE
    neumann = grid_latex(tmp_path, capsys, heat_text(9, "neumann"), "neumann")
    assert r"\partial_{x} u(0, t) &= 2 \pi" in neumann
    assert r"&\frac{u_{1} - u_{-1}}{2 \Delta x} = 2 \pi, \quad u_{8} = 0" in neumann   # the ghost node
    conv = grid_latex(tmp_path, capsys, CONV.format(rhs="conv(K, u) * grid^2 / 10"), "conv")
    assert r"\left(K_{1} u_{i-1} + K_{2} u_{i} + K_{3} u_{i+1}\right)" in conv
    wave = grid_latex(tmp_path, capsys, WAVE.format(steps=20, velocity="0"), "wave")   # a parameter named k
    assert (r"\frac{d^{2} u_{i,l}}{dt^{2}} &= k \left(\frac{u_{i-1,l} - 2 u_{i,l} + u_{i+1,l}}{\Delta x^{2}} + "
            r"\frac{u_{i,l-1} - 2 u_{i,l} + u_{i,l+1}}{\Delta y^{2}}\right)") in wave
    assert r"y_{l} &= l \Delta y, \quad \Delta y = \frac{2}{8}, \quad l = 0, \dots, 8" in wave
    assert balanced(wave) and balanced(conv) and balanced(neumann)


# -- sde models (issue 12, item 5) ---------------------------------------------------------------

SDE = ROOT / "specs" / "sde"


def test_neural_sde_prints_the_sde_the_noise_and_the_correction(capsys):
    """d X = f dt + g dW (Itô); Milstein's stage with g(X_j) dW_j and 1/2 g g' (dW_j^2 - h), read
    from the definition's Noise and NoiseCorrection symbols; dW_j ~ N(0, h); the loss."""
    text = latex(capsys, SDE / "neural_sde.sciml")
    assert balanced(text) and latex(capsys, SDE / "neural_sde.sciml") == text
    for piece in [r"d X &= \mathrm{f}\left(X\right) \, dt + \mathrm{g}\left(X\right) \, dW \quad \text{(It\^{o})}",
                  r"X(0) &= x_{0}", "% scheme: Milstein",
                  r"X_{j+1} &= X_{j} + h \mathrm{f}\left(X_{j}\right) + \mathrm{g}\left(X_{j}\right) \Delta W_{j} "
                  r"+ \frac{1}{2} \mathrm{g}\left(X_{j}\right) \mathrm{g}'\left(X_{j}\right) \left(\Delta W_{j}^{2} - h\right)",
                  r"\Delta W_{j} &\sim \mathcal{N}\left(0, h\right), \quad \text{independent over } j \text{ and the 1000 paths}",
                  r"\mathcal{L} &= \operatorname{MSE}\left(\operatorname{mean}_{\mathrm{paths}}\left(X\left(\mathrm{train.t}\right)\right), "
                  r"\operatorname{mean}_{\mathrm{train}}\left(\mathrm{train.x}\right)\right)",
                  r"\operatorname{std}_{\mathrm{paths}}"]:
        assert piece in text, piece


def test_euler_maruyama_has_no_correction_and_a_zero_drift_no_h_term(capsys):
    text = latex(capsys, SDE / "deep_bsde.sciml")
    assert balanced(text)
    for piece in [r"d X &= \sqrt{2} \, dW \quad \text{(It\^{o})}",
                  r"d Y &= \lambda \left\|\frac{\mathrm{Z}\left(X\right)}{d}\right\|^{2} \, dt + \sqrt{2} "
                  r"\left\langle \frac{\mathrm{Z}\left(X\right)}{d}, dW\right\rangle",
                  r"X_{j+1} &= X_{j} + \sqrt{2} \Delta W_{j} \\",
                  r"Y_{j+1} &= Y_{j} + h \lambda \left\|\frac{\mathrm{Z}_{j}\left(X_{j}\right)}{d}\right\|^{2} "
                  r"+ \sqrt{2} \left\langle \frac{\mathrm{Z}_{j}\left(X_{j}\right)}{d}, \Delta W_{j}\right\rangle",
                  r"\mathcal{N}\left(0, h I_{100}\right)",
                  r"\mathrm{Z}_{0} &\equiv z_{0}, \quad \mathrm{Z}_{j} \text{ a network for each } j = 1, \dots, 19"]:
        assert piece in text, piece
    assert r"\frac{1}{2}" not in text.split("% scheme")[1].split("% loss")[0]


def test_a_stratonovich_sde_prints_its_ito_form_and_steps_with_it(tmp_path, capsys):
    from test_analysis_sde import plain_and_corrected, sde
    spec = tmp_path / "m.sciml"
    spec.write_text(sde(diffusion="b * X^2", scheme=plain_and_corrected()[1].name, options=", ito = false"))
    text = latex(capsys, spec)
    assert balanced(text)
    for piece in [r"d X &= X a \, dt + b X^{2} \circ dW \quad \text{(Stratonovich)}",
                  r"&\text{its It\^{o} form: } d X = \left(X a + X^{3} b^{2}\right) \, dt + b X^{2} \, dW",
                  # the step evaluates the Itô drift; Milstein's 1/2 g g' = 1/2 (b X^2)(2 b X) by sympy
                  r"X_{j+1} &= X_{j} + h \left(X_{j} a + X_{j}^{3} b^{2}\right) + b X_{j}^{2} \Delta W_{j} + "
                  r"X_{j}^{3} b^{2} \left(\Delta W_{j}^{2} - h\right)"]:
        assert piece in text, piece


def test_hard_conditions_print_the_field_they_build(capsys):
    """`with enforce = hard`: each condition says so, no penalty term, and the field's ansatz."""
    text = latex(capsys, PDE / "poisson_pinn_hard.sciml")
    assert text.count(r"\text{: hard (the field is built to satisfy it)}") == 3
    assert r"u &= - x y \left(-1 + x\right) N_{u}, \quad N_{u} \text{ the network}" in text
    assert r"\mathcal{L}_{\mathrm{boundary}} &= \frac{1}{64} \sum_{k=1}^{64}" in text
    assert r"0 \cdot" not in text


# -- Bayesian networks (issue 13, item 5) --------------------------------------------------------

def test_bayes_by_backprop_prints_the_posterior_draws_the_kl_and_the_acquisition(tmp_path, capsys):
    text = latex(capsys, ROOT / "specs" / "likelihood" / "bayes_nn.sciml")
    assert balanced(text)
    for piece in [r"w^{(i)} &= \mu + \sigma \odot \varepsilon^{(i)}, \quad \varepsilon^{(i)} \sim "
                  r"\mathcal{N}(0, I), \quad i = 1, \dots, 16",
                  r"\sigma = \log\left(1 + e^{\rho}\right)",
                  # the KL to N(0, 1) in closed form, per weight, as elbo_terms derives it
                  r"&= \sum_{j} \left(- \frac{1}{2} + \frac{\mu_{j}^{2}}{2} + \frac{\sigma_{j}^{2}}{2} "
                  r"- \log{\left(\sigma_{j} \right)}\right)",
                  # probabilities averaged over the draws, then the cross entropy: no second softmax
                  r"\operatorname{CE}\left(\frac{1}{16} \sum_{i=1}^{16} \operatorname{softmax}\left("
                  r"\mathrm{F}\left(\mathrm{train.x}; w^{(i)}\right)\right), \mathrm{train.label}\right)",
                  r"\operatorname*{arg\,max}_{k} \left(\operatorname{tr} \operatorname{Cov}_{i}",
                  r"\frac{1}{15} \sum_{i=1}^{16}"]:
        assert piece in text, piece
    out = tmp_path / "bayes.tex"
    assert main(["latex", str(ROOT / "specs" / "likelihood" / "bayes_nn.sciml"), "--standalone",
                 "-o", str(out)]) == 0
    assert out.read_text().rstrip().endswith(r"\end{document}")


def test_a_deep_ensemble_averages_its_members_losses(capsys):
    text = latex(capsys, ROOT / "specs" / "likelihood" / "bayes_ensemble.sciml")
    assert r"\mathcal{L} &= \frac{1}{5} \sum_{i=1}^{5} \operatorname{CE}" in text
    assert r"\text{ each } w^{(i)} \text{ initialised independently}" in text
    assert "KL" not in text
