"""Hostile numbers and sizes (issue 8): each gives a positioned diagnostic, fast.

Numbers out of float64's range are E230 at the literal or the expression (a 5000-digit integer,
10^400, 2^1024, 1e-400, a power tower); what no machine could run is E231 (5e12 weights, 10^12
steps or samples, a 300x300 literal); every model that passes gets the size note A401.  The
limits are in sciml/lowering/limits.py and docs/language.md ("Limits").

The time bounds are hang guards, not performance tests: before the fixes, the power towers and a
long linspace ran for minutes (or for ever), so a case that hangs again fails instead of stalling
the suite.  Cases that could hang inside one C call (a power of huge integers, which no signal
interrupts) run as a subprocess with a timeout.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import sympy

from sciml.lowering import limits
from sciml.frontend.diagnostics import SpecError
from sciml.latex.writer import to_latex
from sciml.pipeline import emit, front_end

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs" / "ode"
NODE_FIT = (SPECS / "node_fit.sciml").read_text(encoding="utf-8")
IMEX = (SPECS / "imex.sciml").read_text(encoding="utf-8")
CLASSIFIER = (SPECS / "classifier.sciml").read_text(encoding="utf-8")
BASES = {"node_fit": NODE_FIT, "imex": IMEX, "classifier": CLASSIFIER}
IN_PROCESS_SECONDS = 5.0      # front_end of one spec (about 0.05 s today)
SUBPROCESS_SECONDS = 10.0     # `python -m sciml check`, start-up (about 1 s) included


class _Hang(BaseException):
    pass


@contextmanager
def hang_guard(seconds: float):
    """Fail when the block runs past `seconds` (interrupting it where Python code runs)."""
    armed = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if armed:
        def alarm(signum, frame):
            raise _Hang()
        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds * 2)
    start = time.perf_counter()
    try:
        yield
    except _Hang:
        pytest.fail(f"still running after {seconds * 2:.0f} s: a hang")
    finally:
        if armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    elapsed = time.perf_counter() - start
    assert elapsed < seconds, f"took {elapsed:.1f} s (the guard is {seconds:.0f} s): a hang?"


def mutate(base: str, old: str, new: str) -> tuple[str, int]:
    """(the spec with `old` replaced by `new`, the line where `new` starts)."""
    source = BASES[base]
    assert source.count(old) == 1, f"{old!r} is not once in {base}"
    source = source.replace(old, new)
    return source, source[:source.index(new)].count("\n") + 1


def errors_of(source: str) -> list:
    with hang_guard(IN_PROCESS_SECONDS):
        with pytest.raises(SpecError) as info:
            front_end(source, "hostile.sciml")
    return [d for d in info.value.diagnostics if d.severity == "error"]


def line_of(source: str, text: str) -> int:
    return source[:source.index(text)].count("\n") + 1


DIGITS_5000 = "9" * 5000
MATRIX_120 = "[" + ", ".join("[" + ", ".join(str((i * 7 + j) % 10) for j in range(120)) + "]"
                             for i in range(120)) + "]"

# (id, base, old, new, code, the text whose line the error is on; None: the line of `new`)
NUMBER_CASES = [
    ("integer_of_5000_digits", "classifier", "const n = 4,", f"const a = {DIGITS_5000}\nconst n = 4,",
     "E230", None),
    ("steps_10_to_400", "classifier", "steps = 10, T", "steps = 10^400, T", "E230", None),
    ("steps_2_to_1024", "classifier", "steps = 10, T", "steps = 2^1024, T", "E230", None),
    ("layer_width_10_to_400", "node_fit", "2 -> 50 -> 2", "2 -> 10^400 -> 2", "E230", None),
    ("layer_width_of_140_digits", "node_fit", "2 -> 50 -> 2", f"2 -> {'7' * 140} -> 2", "E230", None),
    ("state_size_10_to_400", "classifier", "const n = 4,", "const n = 10^400,", "E230", None),
    ("grid_end_10_to_400", "node_fit", "linspace(0, 1.5, 31)", "linspace(0, 10^400, 31)", "E230", None),
    ("samples_10_to_400", "classifier", "samples = 2000", "samples = 10^400", "E230", None),
    ("matrix_entry_10_to_400", "node_fit", "[[-0.1, 2.0]", "[[-0.1, 10^400]", "E230", None),
    ("imex_L_entry_10_to_400", "imex", "[[2, -1, 0, -1]", "[[10^400, -1, 0, -1]", "E230", None),
    ("initial_weight_scale_10_to_400", "classifier", "normal(0, 1)", "normal(0, 10^400)", "E230", None),
    ("final_time_1e-400", "classifier", "T = 1.0", "T = 1e-400", "E230", None),
    ("learning_rate_1e-400", "classifier", "lr = 2e-2", "lr = 1e-400", "E230", None),
    ("step_rounds_to_0", "classifier", "T = 1.0", "T = 4.9e-324", "E230", "scheme"),
    ("constant_squared_overflows", "classifier", "T = 1.0", "T = 1.0, c = 1e200, d = c * c", "E230", None),
    ("exp_of_1000", "classifier", "T = 1.0", "T = 1.0, e = exp(1000)", "E230", None),
    ("count_beyond_2_to_53", "classifier", "steps = 3000", "steps = 2^60", "E230", None),
    ("linspace_of_10_to_7_times", "node_fit", "linspace(0, 1.5, 31)", "linspace(0, 1.5, 10^7)", "E231", None),
    ("matrix_literal_of_14400_entries", "node_fit", "const A = [[-0.1, 2.0], [-2.0, -0.1]]",
     f"const B = {MATRIX_120}\nconst A = [[-0.1, 2.0], [-2.0, -0.1]]", "E231", None),
]


@pytest.mark.parametrize("case", NUMBER_CASES, ids=lambda c: c[0])
def test_out_of_range_numbers_are_positioned_errors(case):
    _, base, old, new, code, at = case
    source, line = mutate(base, old, new)
    if at is not None:
        line = line_of(source, at)
    found = errors_of(source)
    assert [d.code for d in found] == [code], [(d.code, d.message) for d in found]
    (d,) = found
    assert d.span.line == line, (d.span, d.message)
    assert d.help and len(d.message) < 300, d.message


# Power towers and constants that sympy would spend minutes or for ever on: refused before they
# are computed.  A subprocess, since a power of huge integers is one C call that no alarm stops.
HANG_CASES = [
    ("tower_2_2_2_2_2_2", "const P = 2^2^2^2^2^2\nconst n = 4,"),
    ("tower_9_9_9", "const P = 9^9^9\nconst n = 4,"),
    ("tower_10_10_10", "const P = 10^10^10\nconst n = 4,"),
    ("tower_of_a_constant", "const m = 1000\nconst P = 9^9^m\nconst n = 4,"),
    ("exact_power_of_a_long_rational", "const P = (1 + 1/10^9)^(10^9)\nconst n = 4,"),
]


def run_check(source: str, tmp_path: Path, name: str = "hostile.sciml"):
    spec = tmp_path / name
    spec.write_text(source, encoding="utf-8")
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "sciml", "check", str(spec), "--format", "json"],
                              cwd=ROOT, capture_output=True, text=True, timeout=SUBPROCESS_SECONDS * 6)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`sciml check` still running after {SUBPROCESS_SECONDS * 6:.0f} s: a hang")
    elapsed = time.perf_counter() - start
    assert elapsed < SUBPROCESS_SECONDS, f"`sciml check` took {elapsed:.1f} s: a hang?"
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)["diagnostics"] if proc.stdout else []


@pytest.mark.parametrize("case", HANG_CASES, ids=lambda c: c[0])
def test_power_towers_are_refused_at_once(case, tmp_path):
    name, new = case
    source, line = mutate("classifier", "const n = 4,", new)
    status, diagnostics = run_check(source, tmp_path)
    if name == "exact_power_of_a_long_rational":   # in range: computed in floating point
        assert status == 0
        return
    errors = [d for d in diagnostics if d["severity"] == "error"]
    assert status == 1 and [d["code"] for d in errors] == ["E230"], errors
    assert errors[0]["line"] == line_of(source, "const P")
    assert "too large" in errors[0]["message"]


def test_a_power_tower_says_how_large_it_is():
    source, _ = mutate("classifier", "const n = 4,", "const P = 9^9^9\nconst n = 4,")
    (d,) = errors_of(source)
    assert "10^(3.7e+08)" in d.message


def test_a_5000_digit_integer_is_shown_short():
    source, _ = mutate("classifier", "const n = 4,", f"const a = {DIGITS_5000}\nconst n = 4,")
    (d,) = errors_of(source)
    assert "(5000 characters)" in d.message and len(d.message) < 120
    assert (d.span.end_column - d.span.column) == 5000


# Sizes nobody can run: E231 at the declaration that makes them; the rest of the analysis is skipped.
SIZE_CASES = [
    ("states_of_size_10_to_9", "classifier", "const n = 4,", "const n = 10^9,", ["E231", "E231"],
     ["param K(t)", "scheme  euler"]),
    ("network_of_5e12_weights", "node_fit", "2 -> 50 -> 2", "2 -> 10^12 -> 2", ["E231"], ["net F"]),
    ("scheme_of_10_to_12_steps", "node_fit", "steps = 30", "steps = 10^12", ["E231"], ["scheme  rk4"]),
    ("training_of_10_to_12_steps", "classifier", "steps = 3000", "steps = 10^12", ["E231"], ["train adam"]),
    ("data_of_10_to_12_samples", "classifier", "samples = 2000", "samples = 10^12", ["E231"],
     ["data train"]),
]


@pytest.mark.parametrize("case", SIZE_CASES, ids=lambda c: c[0])
def test_sizes_nobody_can_run_are_errors(case):
    _, base, old, new, codes, at = case
    source, _ = mutate(base, old, new)
    found = errors_of(source)
    assert [d.code for d in found] == codes, [(d.code, d.message) for d in found]
    assert [d.span.line for d in found] == [line_of(source, a) for a in at]
    assert all("limit" in d.message and "Limits in docs/language.md" in d.help for d in found)


def test_the_size_note_counts_parameters_and_states():
    with hang_guard(IN_PROCESS_SECONDS):
        _, _, found = front_end(CLASSIFIER, "classifier.sciml")
    (note,) = [d for d in found if d.code == "A401"]
    data = dict(note.data)
    # K(t), b(t): one copy per step (10); W, mu once
    assert data["parameters"] == 10 * (4 * 4 + 4) + 2 * 4 + 2 == 210
    assert data["batch"] == 256 and data["grid_points"] == 11
    assert data["state_bytes_per_step"] == 4 * 256 * 4
    assert note.message.startswith("210 parameters (840 B in float32, 1.6 KiB in float64)")
    assert note.severity == "note" and note.span.line == line_of(CLASSIFIER, "train adam")


def test_the_size_note_counts_network_weights():
    with hang_guard(IN_PROCESS_SECONDS):
        _, _, found = front_end(NODE_FIT, "node_fit.sciml")
    (note,) = [d for d in found if d.code == "A401"]
    assert dict(note.data)["parameters"] == 2 * 50 + 50 + 50 * 2 + 2


# Constants that reached the emitted module as something float() cannot read (the printer of
# literals crashed): now folded to numbers, entry by entry.
FOLDED = [
    ("norm_of_a_constant", "|c|", 3),
    ("norm_of_a_vector", "|[3, 4]|", 5),
    ("sigmoid_of_a_number", "sigmoid(0)", 0.5),
    ("relu_of_a_number", "relu(-1)", 0),
    ("matrix_of_constants", "[[c, 1], [1, |c|]]", [[3, 1], [1, 3]]),
    ("exp_of_a_vector", "exp([0, 0])", [[1], [1]]),
    ("long_rational_power", "(1 + 1/10^9)^(10^9)", 2.718281827),
]


@pytest.mark.parametrize("case", FOLDED, ids=lambda c: c[0])
def test_constants_of_functions_fold_to_numbers_the_module_holds(case):
    _, text, expected = case
    source, _ = mutate("node_fit", "steps = 30", f"steps = 30, c = 3, z = {text}")
    with hang_guard(IN_PROCESS_SECONDS):
        _, model, _ = front_end(source, "folded.sciml")
        for backend in ("torch", "jax"):
            assert "z = " in emit(model, source, "folded.sciml", backend)
        to_latex(model)
    value = next(c.value for c in model.constants if c.name == "z")
    if isinstance(value, sympy.MatrixBase):
        assert value.tolist() == expected
    else:
        assert abs(float(value) - expected) < 1e-8


def test_complex_constants_are_refused():
    source, line = mutate("node_fit", "steps = 30", "steps = 30, z = (-8)^(1/3)")
    found = errors_of(source)
    assert found and found[0].code in ("E209", "E211") and found[0].span.line == line


# What used to be slow but is fine: accepted (or rejected for the usual reasons) quickly.
def test_linspace_at_the_limit_is_accepted():
    count = limits.MAX_TIMES
    source, _ = mutate("node_fit", "linspace(0, 1.5, 31)", f"linspace(0, 1.5, {count})")
    source = source.replace("steps = 30", f"steps = {count - 1}")
    with hang_guard(IN_PROCESS_SECONDS):
        _, model, _ = front_end(source, "long.sciml")
    assert len(model.dataset("obs").option("times")) == count


def test_the_times_of_linspace_are_the_numbers_sympy_gave():
    """linspace now runs in numpy; the times (pinned in the emitted modules) are unchanged."""
    source, _ = mutate("node_fit", "linspace(0, 1.5, 31)", "linspace(0.3, 2.7, 25), steps = 27")
    _, model, _ = front_end(source.replace("T = 1.5", "T = 2.7").replace("steps = 30", "steps = 27"),
                            "times.sciml")
    a, b, n = sympy.Float(0.3), sympy.Float(2.7), 25
    expected = tuple(float(a + (b - a) * sympy.Rational(k, n - 1)) for k in range(n))
    assert model.dataset("obs").option("times") == expected


def test_a_double_minus_in_a_matrix_is_quick():
    source, _ = mutate("node_fit", "const A = [[-0.1, 2.0], [-2.0, -0.1]]",
                       "const B = [[1, - -2, 3], [1, 2, 3], [1, 2, 3]]\nconst A = [[-0.1, 2.0], [-2.0, -0.1]]")
    with hang_guard(IN_PROCESS_SECONDS):
        _, model, _ = front_end(source, "minus.sciml")
    assert next(c.value for c in model.constants if c.name == "B")[0, 1] == 2


def test_an_imex_operator_with_huge_entries_is_judged_quickly():
    source, _ = mutate("imex", "[[2, -1, 0, -1]", "[[10^300, -1, 0, -1]")
    with hang_guard(IN_PROCESS_SECONDS):
        _, _, found = front_end(source, "imex.sciml")
    implicit = [d for d in found if d.code == "A203" and dict(d.data).get("part") == "implicit"]
    assert implicit and len(implicit[0].message) < 300


def test_a_300_by_300_matrix_is_refused(tmp_path):
    """Refused at once: its text is over the spec size limit (E006, 270 KB); a smaller one
    over the literal limit is E231 before its entries are lowered (tests/bad/E231_*)."""
    rows = ", ".join("[" + ", ".join(str((i + j) % 10) for j in range(300)) + "]" for i in range(300))
    source = f"model m\nconst A = [{rows}]\n"
    spec = tmp_path / "big.sciml"
    spec.write_text(source, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "sciml", "check", str(spec), "--format", "json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    codes = [d["code"] for d in json.loads(proc.stdout)["diagnostics"]]
    assert proc.returncode == 1 and codes == ["E006"], proc.stderr


def test_the_cli_reports_a_tower_as_text(tmp_path):
    source, line = mutate("classifier", "const n = 4,", "const P = 9^9^9\nconst n = 4,")
    spec = tmp_path / "tower.sciml"
    spec.write_text(source, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "sciml", "check", str(spec)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"tower.sciml:{line}:11: error[E230]: this power" in proc.stderr
    assert "help: " in proc.stderr
