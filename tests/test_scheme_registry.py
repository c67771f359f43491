"""Each time integrator is defined once (issue 9, item 3): a SchemeDefinition in
sciml/schemes/definitions/, listed by sciml/schemes/registry.py, whose stages (sympy update
formulas) the code writer, the LaTeX writer and the stability analysis read.  Here: no scheme name
is written anywhere else in the compiler; the definitions are consistent (a reversible scheme's
inverse stages undo its step, symbolically); the emitted code and the LaTeX print those stages."""
from __future__ import annotations

import io
import re
import tokenize

import pytest
import sympy

from helpers import ROOT
from sciml.cli import main
from sciml.pipeline import compile_spec
from sciml.schemes import derive, registry
from sciml.schemes.algebra import InitialRate, Value
from sciml.schemes.algebra import Noise
from sciml.schemes.registry import CHOICE, FIRST_ORDER

SCIML = ROOT / "sciml"
OWNERS = {SCIML / "schemes" / "registry.py"} | set((SCIML / "schemes" / "definitions").glob("*.py"))


def _words():
    """The scheme names and the names of their forms."""
    words = set(registry.NAMES)
    for d in registry.DEFINITIONS:
        words |= {value for option in d.options if option.kind == CHOICE and option.name == "form"
                  for value in option.choices}
    return words


def test_no_scheme_name_outside_its_definition_and_the_registry():
    """No scheme name in a string (messages, docstrings, comparisons like kind == "rk4") or an
    identifier of any module under sciml/ but the definitions and the registry; the grammar
    names none either."""
    pattern = re.compile(r"\b(" + "|".join(sorted(_words())) + r")\b")
    found = []
    for path in sorted(SCIML.rglob("*.py")):
        if path in OWNERS:
            continue
        text = path.read_text()
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in (tokenize.NAME, tokenize.STRING) or tokenize.tok_name[token.type] == "FSTRING_MIDDLE":
                for match in pattern.finditer(token.string):
                    found.append(f"{path.relative_to(ROOT)}:{token.start[0]}: {match.group()}")
    for path in sorted(SCIML.rglob("*.lark")):
        found += [f"{path.relative_to(ROOT)}: {m.group()}" for m in pattern.finditer(path.read_text())]
    assert not found, "\n".join(found)


def test_every_definition_is_complete():
    for d in registry.DEFINITIONS:
        positional = [o.positional for o in d.options]
        assert positional == sorted(positional, reverse=True), d.name    # positional ones first
        assert d.option("T") is not None and d.forms and d.order >= 1
        if d.fixed_step:
            assert d.option("steps").positional and d.step, d.name
        for option in d.options:
            assert option.kind != CHOICE or option.default in option.choices, (d.name, option.name)
        # a stochastic scheme integrates SDEs, and only it uses the noise slot
        stochastic_forms = {registry.STOCHASTIC_SYSTEM, registry.REVERSE_TIME}
        assert d.stochastic == bool(set(d.forms) & stochastic_forms), d.name
        uses_noise = any(stage.value.has(Noise) for stage in d.step)
        assert uses_noise == d.stochastic, d.name
        assert registry.lookup(d.name, **dict([d.variant] if d.variant else [])) is d


@pytest.mark.parametrize("d", [d for d in registry.DEFINITIONS if d.fixed_step and not d.stochastic],
                         ids=lambda d: d.name + "".join(d.variant[1:]))
def test_stages_read_only_what_is_known(d):
    """Each stage reads the carried values, the initial rate, or an earlier stage (derive.run
    raises otherwise); the step ends with the carried values one step on."""
    f, g = sympy.Function("f"), sympy.Function("g")
    rates = {"y": f, "z": g}
    known = {v: sympy.Symbol(f"c{k}") for k, v in enumerate(d.carried)}
    start = {v.shifted(-v.offset): sympy.Symbol(f"s{k}") for k, v in enumerate(d.carried)}
    start[InitialRate(sympy.Symbol("y"))] = sympy.Symbol("rate")
    env = derive.run(d.step, known, rates, {name: sympy.Symbol(name) for name in d.matrix_options})
    assert all(v in env for v in d.returned)
    if d.start:
        env = derive.run(d.start, start, rates)
        assert all(v.shifted(d.start_steps) in env for v in d.carried)


@pytest.mark.parametrize("d", [d for d in registry.DEFINITIONS if d.reversible], ids=lambda d: d.name + "".join(d.variant[1:]))
def test_inverse_stages_undo_the_step_for_any_right_side(d):
    """Step, then the inverse stages, with f and g unknown functions: the carried values come
    back exactly (sympy), which is why the emitted inverse_step recovers them to rounding."""
    f, g = sympy.Function("f"), sympy.Function("g")
    rates = {"y": f, "z": g}
    carried = {v: sympy.Symbol(f"c{k}") for k, v in enumerate(d.carried)}
    after = derive.run(d.step, carried, rates)
    back = derive.run(d.inverse, {v: after[v] for v in d.returned}, rates)
    for value, symbol in carried.items():
        assert sympy.simplify(back[value] - symbol) == 0, (d.name, value)


def test_verlet_forms_are_named_options():
    kick, staggered = registry.family("verlet")
    assert kick.variant == ("form", "kick_drift_kick") and staggered.variant == ("form", "staggered")
    assert registry.lookup("verlet") is kick
    # seed 002's two lines, Z_j of the seed being z_{j+1/2} here
    assert [s.target for s in staggered.step] == [Value(sympy.Symbol("y"), 1), Value(sympy.Symbol("z"), sympy.Rational(3, 2))]


HAMILTONIAN = (ROOT / "specs" / "ode" / "hamiltonian.sciml").read_text()


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_the_staggered_step_is_the_seeds_two_lines(backend):
    text = compile_spec(HAMILTONIAN.replace("verlet(steps, T)", "verlet(steps, T, form = staggered)"),
                        "hamiltonian.sciml", backend)
    solve = text.split("def solve(")[1].split("\n\n\n")[0]
    j = "[j]" if backend == "torch" else "_j"
    weights = (f"K1{j}, b1{j}", f"K2{j}, b2{j}")
    assert f"        Y = Y + h * dY_dt(Z, {weights[0]})\n        Z = Z + h * dZ_dt(Y, {weights[1]})\n" in solve
    assert "    Z = Z + h / 2 * dZ_dt(Y, K2[0], b2[0])\n" in solve     # the half kick that starts it
    inverse = text.split("def inverse_step(")[1].split("\n\n\n")[0]
    assert "    Z = Z - h * dZ_dt(Y, K2[j], b2[j])\n    Y = Y - h * dY_dt(Z, K1[j], b1[j])\n" in inverse


def test_the_staggered_latex_shows_the_same_stages(tmp_path, capsys):
    spec = tmp_path / "hamiltonian.sciml"
    spec.write_text(HAMILTONIAN.replace("verlet(steps, T)", "verlet(steps, T, form = staggered)"))
    assert main(["latex", str(spec)]) == 0
    text = capsys.readouterr().out
    for piece in [r"Z_{1/2} &= Z_{0} - \frac{h}{2} K_{2,0}^{\top}",
                  r"Y_{j+1} &= Y_{j} + h K_{1,j}^{\top} \tanh{\left(b_{1,j} + K_{1,j} Z_{j+1/2} \right)}",
                  r"Z_{j+3/2} &= Z_{j+1/2} - h K_{2,j}^{\top} \tanh{\left(b_{2,j} + K_{2,j} Y_{j+1} \right)}",
                  r"Z_{j+1} &= Z_{j+3/2} + \frac{h}{2} K_{2,j}^{\top}", "staggered"]:
        assert piece in text, piece


def test_the_data_simulator_steps_with_the_definitions():
    """generate ode(..., method = M) integrates with M's stages, printed as a numpy function."""
    assert registry.data_methods() == tuple(d.name for d in registry.DEFINITIONS
                                           if d.fixed_step and d.forms == (FIRST_ORDER,) and not d.matrix_options)
    text = compile_spec((ROOT / "specs" / "ode" / "node_fit.sciml").read_text(), "node_fit.sciml", "torch")
    method = registry.recommended(FIRST_ORDER)
    step = text.split(f"def {method.name}_step(rhs, u, h_data):")[1].split("\n\n\n")[0]
    assert len([line for line in step.splitlines() if " = " in line and "\"\"\"" not in line]) == len(method.step)


def test_euler_maruyama_is_one_definition_plus_the_noise_slot():
    """Adding Euler-Maruyama took its definition and the noise slot: its step is forward Euler's
    plus g dW, and Milstein's adds the correction; the sde models' scheme lines lower through the
    same option reading as every scheme's."""
    (euler,), (maruyama,), (milstein,) = (registry.family(n) for n in ("euler", "euler_maruyama", "milstein"))
    (step,), (noisy,), (corrected,) = euler.step, maruyama.step, milstein.step
    y = step.target.args[0]
    assert noisy.value - step.value == Noise(y, sympy.Symbol("t", real=True), Value(y, 0))
    assert maruyama.stochastic and maruyama.strong_order == sympy.Rational(1, 2) and milstein.strong_order == 1
    assert corrected.value - noisy.value != 0
    text = (ROOT / "specs" / "sde" / "neural_sde.sciml").read_text()
    from sciml import pipeline
    _, model, _ = pipeline.front_end(text, str(ROOT / "specs" / "sde" / "neural_sde.sciml"))
    assert registry.definition_of(model.scheme) is milstein
    assert model.scheme.option("paths") == 1000 and model.scheme.option("ito") is True
