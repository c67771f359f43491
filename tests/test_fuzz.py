"""Fuzzing: whatever goes in, the compiler answers with diagnostics, never a traceback, in
under 5 s.

The inputs and the rule are in `fuzz_inputs.py` (shared with the long run, `scripts/fuzz.py`):

* the grammar itself (`hypothesis.extra.lark.from_lark` on `sciml/frontend/sciml.lark`): whole
  programs, and single statements or expressions spliced into the working zoo specs, so that the
  checks behind the parser (names, shapes, schemes, backends) are reached too;
* mutated zoo specs (`specs/**/*.sciml`): a token or line deleted, duplicated or swapped, a name
  replaced, a character deleted, a punctuation character inserted, a number made 0, -1, 1e400 or
  huge; and the hostile classes: deep nesting (k unary minus, parentheses, calls, lists, norms
  or chained operators, k up to 2000), huge and tiny numbers (10^400, 2^1024, 1e-400, 140- and
  5000-digit integers, power towers) at number positions, odd line breaks (\\r, \\r\\n, \\f, \\v,
  \\x1c-\\x1e, \\x85, U+2028, U+2029), invalid bytes (0xff, a lone 0xc3, NUL, a BOM at the start
  or inside, other encodings: through `sciml check` on a file), hostile names of the spec file and
  of a `load "..."` file (newline, \\r, quotes, backslash, #, U+2028, ...).

The rule (`check_source`): `front_end` either succeeds or raises `SpecError` holding at least one
diagnostic, each with a code (E203, A101, ...) and a span inside the text: lines counted at
'\\n' only (the text split at '\\n', not `splitlines`), the column within the line, and the
rendered diagnostic quotes that line.  A spec that passes the front end has findings (notes,
warnings) that obey the same span rule, dumps its IR, and compiles for torch and jax (same rule)
to a module that is valid Python.  Any other exception fails the test, and so does a case that
takes over 5 s (`SLOW_SECONDS`, time.perf_counter).  `sciml check`, run in-process on a file of
bytes, exits 0 or 1, prints no traceback and no "internal error", and the lines it quotes are
the file's lines at b'\\n' (`check_cli`).  A spec under a hostile file name, and with a data file
under one, compiles to valid Python whose tokens do not depend on the names (comments and the
module docstring's text dropped; `check_file_names`).

REPROS (below) holds a minimal repro of every crash this file found; each is an `@example` of a
fuzz test.  KNOWN_CRASHES lists those not fixed yet.  An entry excuses a crash only when all of
these agree: the input matches the entry's regex, the exception has the entry's class (and
message), and the innermost frame in `sciml/` is the entry's `file:function`; anything else
still fails.  `test_known_crashes_still_crash` runs each entry's repro: once the crash is fixed it
fails and says so; then delete the entry (keep the repro).

REPROS_ISSUE_8 holds the repros of the hostile classes (issue 8), and PENDING the classes whose
fixes have not landed: their tests are expected to fail (xfail, not shrunk) until the class is
taken out of PENDING; then they must pass.

The long run, outside CI (20,000 cases, outcome counts, failing inputs in /tmp/sciml-fuzz/):
    .venv/bin/python scripts/fuzz.py --cases 20000 --jobs 2

Deterministic (`derandomize=True`, no example database); about 45 s in all on two cores.
"""
from __future__ import annotations

import re
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import LarkStrategy, from_lark
from lark.grammar import Terminal

import fuzz_inputs as fi
from fuzz_inputs import (ERROR, KNOWN, OK, PATH, WORKING, ZOO, CompilerCrash, DrawChoices, KnownCrash, RuleBroken,
                         check_cli, check_file_names, front_end, fuzz_grammar, known_crash, run_stage)


def _spec(loss: str, report: str = "", const: str = "") -> str:
    """A small working spec with the given loss (and report, and constants)."""
    return (f"model m\n{const}data train = generate spirals(samples = 10)\n"
            "state Y : R[2]\nparam W : R[2, 2]\node dt(Y) = tanh(W * Y)\ninitial Y(0) = train.x\n"
            f"scheme euler(2, 1.0)\nloss {loss}\ntrain adam(lr = 1e-2, steps = 1)\n{report}")


# Minimal repros of every crash this file found, fixed or not; each is an @example of a fuzz test.
REPROS = {
    "imex_L_huge_entry_schemes": _spec("mse(Y(1.0), Y(1.0))", const="const L = [[1e30, -1, 0, -1], "
                                       "[-1, 2, -1, 0], [0, -1, 2, -1], [-1, 0, -1, 2]]\n")
    .replace("euler(2, 1.0)", "imex(2, 1.0, L = L)").replace("R[2]", "R[4]").replace("R[2, 2]", "R[4, 4]")
    .replace("= train.x\n", "= pad(train.x, 4)\n"),
    "imex_L_huge_entry_analysis": _spec("mse(Y(1.0), train.x)", const="const L = [[1e30, -1], [-1, 2]]\n")
    .replace("euler(2, 1.0)", "imex(2, 1.0, L = L)"),
    "float_divided_by_zero_float": "model m\nloss 0.5 / 0.0\nreport 1 / 1e-400\n",
    "power_of_vector_literal": "model m\nloss [0, 1]^2\nreport [1, 2] ** 0\n",
    "power_of_vector_constant": "model m\nconst v = [0, 1], c = v^2\n",
    "power_with_one_element_list_exponent": "model m\nloss 2^[1]\n",
    "jax_complex_infinity_in_loss": _spec("(1 / 0) * mse(Y(1.0), train.x)"),
    "jax_complex_infinity_in_call_argument": _spec("mse(Y(1.0), train.x)",
                                                   "report accuracy(W * Y(1.0) + 1 / 0, train.label)\n"),
    "jax_complex_infinity": _spec("log(0) * mse(Y(1.0), train.x)",
                                  "report mse(Y(1.0), tan(pi / 2) * train.x)\n"),
    "initial_value_divided_by_zero": _spec("mse(Y(1.0), train.x)").replace("= train.x\n", "= 1 / 0\n"),
}


def _edited(text: str, old: str, new: str) -> str:
    assert old in text, f"{old!r} is not in the text"
    return text.replace(old, new, 1)


_SMALL = _spec("mse(Y(1.0), train.x)")
# Repros of the hostile classes of issue 8, each a crash (or a wrong line, a hang, code injected)
# of the compiler before the fixes: a str is checked with check_source, bytes with check_cli (as
# a file), a dict with check_file_names.  The class is the key's first word; a key ending in
# "_refused" must give diagnostics, one ending in "_accepted" must pass.
REPROS_ISSUE_8 = {
    # deep nesting
    "nesting-unary_minus_2000": _spec("mse(Y(1.0), " + "-" * 2000 + "train.x)"),
    "nesting-calls_1000_in_a_sample_count": _edited(_SMALL, "samples = 10",
                                                    "samples = " + "exp(" * 1000 + "1" + ")" * 1000),
    "nesting-norms_500_in_a_width": _edited(_SMALL, "R[2]", "R[" + "|(" * 500 + "2" + ")|" * 500 + "]"),
    "nesting-mean_500_in_a_scheme_argument": _edited(_SMALL, "euler(2, 1.0)",
                                                     "euler(2, " + "mean(" * 500 + "1.0" + ")" * 500 + ")"),
    "nesting-lists_1000": "model m\nconst c = " + "[" * 1000 + "1" + "]" * 1000 + "\n",
    "nesting-sum_of_2001_terms": "model m\nconst c = " + " + ".join(["1"] * 2001) + "\n",
    "nesting-power_chain_2000": "model m\nconst c = 1" + " ^ 1" * 2000 + "\n",
    "nesting-transposes_2000": _spec("mse(W" + "^T" * 2000 + " * Y(1.0), train.x)"),
    # huge and tiny numbers
    "numbers-5000_digit_sample_count": _edited(_SMALL, "samples = 10", "samples = " + "9" * 5000),
    "numbers-140_digit_width_refused": _edited(fi.ZOO["likelihood/flow.sciml"], "mlp(1 -> 64",
                                               "mlp(1 -> 1" + "0" * 139),
    "numbers-width_10_pow_400000": _edited(fi.ZOO["ode/hamiltonian_energy.sciml"], "-> 32 -> 1,",
                                           "-> 32 -> 10^400000,"),
    "numbers-state_width_power_tower": _edited(_SMALL, "state Y : R[2]", "state Y : R[2^2^2^2^2]"),
    "numbers-end_time_10_pow_400_refused": _edited(_SMALL, "euler(2, 1.0)", "euler(2, 10**400)"),
    "numbers-steps_10_pow_400": _edited(_SMALL, "euler(2, 1.0)", "euler(10^400, 1.0)"),
    "numbers-steps_2_pow_1024": _edited(_SMALL, "euler(2, 1.0)", "euler(2^1024, 1.0)"),
    "numbers-samples_2_pow_63_refused": _edited(_SMALL, "samples = 10", "samples = 2^63"),
    "numbers-learning_rate_power_tower": _edited(_SMALL, "lr = 1e-2", "lr = 2^2^2^2^2^2"),
    "numbers-training_steps_9_pow_9_pow_9": _edited(_SMALL, "steps = 1)", "steps = 9^9^9)"),
    "numbers-linspace_2_pow_64_times": _edited(fi.ZOO["ode/node_fit.sciml"], "linspace(0, 1.5, 31)",
                                               "linspace(0, 1.5, 2^64)"),
    "numbers-linspace_tiny_end": _edited(fi.ZOO["ode/node_fit.sciml"], "linspace(0, 1.5, 31)",
                                         "linspace(0, 2^-1074, 31)"),
    "numbers-matrix_entry_2_pow_1024": _edited(fi.ZOO["ode/imex.sciml"], "[[2, -1, 0, -1]",
                                               "[[2^1024, -1, 0, -1]"),
    "numbers-matrix_entry_1e-400_refused": _edited(fi.ZOO["ode/node_fit.sciml"], "[[-0.1, 2.0]", "[[-1e-400, 2.0]"),
    "numbers-flow_depth_power_tower": _edited(fi.ZOO["likelihood/flow_nice.sciml"], "1..6", "1..2^2^2^2^2"),
    # odd line breaks
    "line_breaks-paragraph_separator": "\u2029,",
    "line_breaks-record_separators_for_newlines": "# c\x1emodel m\x1eloss ,\n",
    "line_breaks-carriage_return_in_a_comment": "# a\rb\n,",
    "line_breaks-form_feed_before_a_finding": _edited(fi.ZOO["ode/antisym.sciml"], "model antisym",
                                                      "model antisym\x0c"),
    "line_breaks-next_line_in_a_comment": "# a\x85b\nmodel m\nloss x\n",
    "line_breaks-line_separator_mid_line": "model m\nconst a = 1,\u2028 b = c\n",
    "line_breaks-windows_newlines_accepted": fi.ZOO["ode/classifier.sciml"].replace("\n", "\r\n"),
    "line_breaks-old_mac_newlines": fi.ZOO["ode/classifier.sciml"].replace("\n", "\r"),
    # invalid bytes (through `sciml check` on the file)
    "bytes-lone_lead_byte_at_the_end": b"model m\n\xc3",
    "bytes-0xff": b"model m\nloss \xff\n",
    "bytes-bom_at_the_start_accepted": fi.BOM + fi.ZOO["ode/classifier.sciml"].encode(),
    "bytes-utf16": "model m\nloss 1\n".encode("utf-16"),
    "bytes-carriage_return_line_quoted": b"model m\rloss ,\n",
    "bytes-carriage_return_in_a_load_path": b'model m\ndata train = load "a\rb.csv"\nloss ,\n',
    # hostile file names
    "file_names-newline_in_the_spec_name": dict(source=fi.ZOO["ode/antisym.sciml"], spec_name="a\nb.sciml"),
    "file_names-code_in_the_spec_name": dict(source=fi.ZOO["ode/antisym.sciml"],
                                             spec_name='"""; import os #\n.sciml'),
    "file_names-carriage_return_in_the_data_name": dict(source=fi.DATA_SPEC, spec_name="spec.sciml",
                                                        data_name="\ra.csv", data=fi.DATA_CSV),
    # slow: a case over SLOW_SECONDS (17 s, then 127 s: the cubic formula of a symbolic 3x3
    # matrix, factored in stability.py:_euler_bound and jacobian/texts.py:eigenvalues_text)
    "slow-euler_bound_of_a_symbolic_3x3_matrix": _edited(fi.ZOO["ode/loss_landscape.sciml"],
                                                         "[[-theta1 - theta2, theta1, theta2]",
                                                         "[[theta1 - theta2, theta1, theta2]"),
    "slow-eigenvalues_of_a_symbolic_3x3_matrix": _edited(fi.ZOO["ode/loss_landscape.sciml"],
                                                         "[theta2, -theta1 - theta2, theta1]",
                                                         "[theta2, 1.0 - theta2, theta1]"),
    "slow-stray_minus_in_a_symbolic_3x3_matrix": _edited(fi.ZOO["ode/loss_landscape.sciml"],
                                                         "[[-theta1 - theta2, theta1, theta2]",
                                                         "[[- -theta1 - theta2, theta1, theta2]"),
    # slow: sympy's tanh(tanh(...)) asked is_real through as_real_imag, exponential in the depth
    "slow-nested_tanh": _edited(fi.ZOO["ode/classifier.sciml"], "tanh(K * Y + b)",
                                "tanh(" * 12 + "K * Y + b" + ")" * 12),
}


# The classes of issue 8 whose fixes have not landed: their tests are expected to fail.  Take a
# class out once its fix is in; from then on its tests and repros must pass.
PENDING: set[str] = set()


# Known, not yet fixed compiler crashes (see the module docstring).  Delete an entry once fixed.
# An entry reads, for example (a crash in a power of a constant vector, fixed since):
#     KnownCrash("power_of_vector_constant", pattern=r"\^|\*\*", exception="NonSquareMatrixError",
#                where=r"lower\.py:compile_time"),
KNOWN_CRASHES: list[KnownCrash] = [
]


def check_source(source: str, known=None) -> str:
    """The rule (fuzz_inputs.check_source), the crashes of KNOWN_CRASHES excused."""
    try:
        return fi.check_source(source, KNOWN_CRASHES if known is None else known)
    except fi.Slow:
        if "slow" in PENDING and known is None:
            return "slow"
        raise


# ---------------------------------------------------------------------------------------------
# Strategies


def _explicit(start: str) -> dict[str, st.SearchStrategy[str]]:
    return {name: st.sampled_from(values) for name, values in fi.terminal_values(start).items()}


def plain_grammar_strategy(start: str) -> st.SearchStrategy[str]:
    """`from_lark` as it is.  Its expansions branch more than they end, so many draws run into
    Hypothesis's depth limit and are discarded: fine for whole programs, slow for more."""
    return from_lark(fuzz_grammar(), start=start, explicit=_explicit(start))


class _DepthBoundedLark(LarkStrategy):
    """`from_lark`'s strategy, except that below `limit` nested rules each rule takes one of
    its expansions that end soonest, so that (almost) no draw is discarded for depth.  Uses
    LarkStrategy's `draw_symbol` and `nonterminal_strategies` (Hypothesis 6.170)."""

    def __init__(self, grammar, start, explicit, limit):
        super().__init__(grammar, start, explicit, st.characters(codec="utf-8"))
        self._limit, self._depth = limit, 0
        _, shallow = fi.shallow_expansions(start)
        self._shallow = {name: st.sampled_from(shallow[name]) for name in self.nonterminal_strategies}
        self._deep = self.nonterminal_strategies

    def draw_symbol(self, data, symbol, draw_state):
        if isinstance(symbol, Terminal):
            return super().draw_symbol(data, symbol, draw_state)
        self._depth += 1
        self.nonterminal_strategies = self._shallow if self._depth > self._limit else self._deep
        try:
            super().draw_symbol(data, symbol, draw_state)
        finally:
            self._depth -= 1
            self.nonterminal_strategies = self._shallow if self._depth > self._limit else self._deep


@lru_cache(maxsize=None)
def grammar_strategy(start: str, limit: int = 10) -> st.SearchStrategy[str]:
    """Programs (or statements, expressions) of the grammar, nested at most about `limit` rules
    deep, with plausible names and numbers."""
    return _DepthBoundedLark(fuzz_grammar(), start, _explicit(start), limit)


@st.composite
def spliced_statements(draw) -> str:
    """A working zoo spec with a generated statement replacing one of its lines or inserted."""
    c = DrawChoices(draw)
    return fi.splice_statement(c, ZOO[c.choice(WORKING)], draw(grammar_strategy("statement")))


@st.composite
def spliced_expressions(draw) -> str:
    """A working zoo spec with a generated expression, in parentheses, for one of its names
    or numbers (outside comments)."""
    c = DrawChoices(draw)
    return fi.splice_expression(c, ZOO[c.choice(WORKING)], draw(grammar_strategy("expr")))


@st.composite
def mutated_specs(draw, names=fi.ZOO_PATHS, first=None) -> str:
    """A zoo spec with one to three mutations; `first`: the first one (then up to one more)."""
    c = DrawChoices(draw)
    text = ZOO[c.choice(names)]
    if first is not None:
        return fi.mutate(c, text, first)
    for _ in range(c.integer(1, 3)):
        text = c.choice(fi.MUTATIONS)(c, text)
    return text


@st.composite
def mutated_bytes(draw, names=fi.ZOO_PATHS) -> bytes:
    c = DrawChoices(draw)
    return fi.mutate_bytes(c, ZOO[c.choice(names)])


# ---------------------------------------------------------------------------------------------
# Tests

FUZZ = settings(derandomize=True, database=None, deadline=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.data_too_large, HealthCheck.large_base_example,
                                       HealthCheck.function_scoped_fixture])


def issue_8(kind: str, max_examples: int):
    """Settings and mark of a test of an issue-8 class: expected to fail (and not shrunk) while
    the class is PENDING."""
    def decorate(test):
        phases = (Phase.explicit, Phase.generate) if kind in PENDING else tuple(Phase)
        test = settings(FUZZ, max_examples=max_examples, phases=phases)(test)
        return pytest.mark.xfail(kind in PENDING, reason=f"issue 8: the {kind} fixes have not landed",
                                 raises=RuleBroken, strict=False)(test)
    return decorate


@settings(FUZZ, max_examples=25)
@given(plain_grammar_strategy("start"))
def test_grammar_programs_give_diagnostics(source):
    check_source(source)


@settings(FUZZ, max_examples=150)
@given(grammar_strategy("start").map(lambda program: "model fuzz\n" + program))
@example(REPROS["float_divided_by_zero_float"])
@example(REPROS["power_of_vector_literal"])
@example(REPROS["power_of_vector_constant"])
@example(REPROS["power_with_one_element_list_exponent"])
@example(REPROS["jax_complex_infinity_in_loss"])
@example(REPROS["jax_complex_infinity_in_call_argument"])
@example(REPROS["jax_complex_infinity"])
def test_grammar_programs_after_a_model_line_give_diagnostics(source):
    check_source(source)


@settings(FUZZ, max_examples=200)
@given(spliced_statements())
def test_generated_statements_in_working_specs_give_diagnostics(source):
    check_source(source)


@settings(FUZZ, max_examples=200)
@given(spliced_expressions())
def test_generated_expressions_in_working_specs_give_diagnostics(source):
    check_source(source)


@settings(FUZZ, max_examples=200)
@given(mutated_specs(names=WORKING))
@example(ZOO["ode/imex.sciml"].replace("[[2, -1, 0, -1]", "[[1e30, -1, 0, -1]"))  # imex_L_huge_entry_*
@example(REPROS["imex_L_huge_entry_schemes"])
@example(REPROS["imex_L_huge_entry_analysis"])
@example(REPROS["initial_value_divided_by_zero"])
def test_mutated_working_specs_give_diagnostics(source):
    check_source(source)


@settings(FUZZ, max_examples=200)
@given(mutated_specs())
def test_mutated_zoo_specs_give_diagnostics(source):
    check_source(source)


@issue_8("nesting", max_examples=100)
@given(mutated_specs(names=WORKING, first=fi.m_deep_nesting))
def test_deep_nesting_gives_diagnostics(source):
    check_source(source)


@issue_8("numbers", max_examples=150)
@given(mutated_specs(names=WORKING, first=fi.m_extreme_number))
def test_huge_and_tiny_numbers_give_diagnostics(source):
    check_source(source)


@issue_8("line_breaks", max_examples=150)
@given(mutated_specs(first=fi.m_odd_line_break))
def test_odd_line_breaks_give_diagnostics_on_the_right_line(source):
    check_source(source)


@issue_8("bytes", max_examples=100)
@given(data=mutated_bytes())
def test_cli_check_on_invalid_bytes_exits_0_or_1(data, tmp_path_factory):
    check_cli(data, tmp_path_factory.mktemp("bytes"))


@settings(FUZZ, max_examples=60)
@given(source=mutated_specs())
def test_cli_check_on_mutated_specs_exits_0_or_1(source, tmp_path_factory):
    outcome, _ = run_stage("front_end", source, lambda: front_end(source, PATH), KNOWN_CRASHES)
    if outcome == KNOWN:
        return
    if "line_breaks" in PENDING and re.search("[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]", source):
        return   # `sciml check` reads the file with universal newlines until the fix lands
    status = check_cli(source.encode("utf-8", errors="surrogatepass"), tmp_path_factory.mktemp("cli"))
    assert status == outcome, f"sciml check says {status}, front_end {outcome}:\n{source}"


SPEC_NAMES = ["a\nb.sciml", "a\rb.sciml", 'a"b\'.sciml', "a\\b.sciml", "#a.sciml", "a\u2028b.sciml",
              '\"\"\"; import os #\n.sciml']
DATA_NAMES = ["a\rb.csv", "a\\b.csv", "#a.csv", "a\u2028b.csv", "a'b\x85.csv"]


@pytest.mark.parametrize("name", SPEC_NAMES)
@pytest.mark.xfail("file_names" in PENDING, reason="issue 8: the file_names fixes have not landed",
                   raises=RuleBroken, strict=False)
def test_hostile_spec_names_give_the_same_module(name, tmp_path):
    """antisym has an A202 bound, so the module holds a runtime stability check that names the file."""
    if check_file_names(ZOO["ode/antisym.sciml"], tmp_path, name) == "skipped":
        pytest.skip(f"the file system refuses {name!r}")


@pytest.mark.parametrize("name", DATA_NAMES)
@pytest.mark.xfail("file_names" in PENDING, reason="issue 8: the file_names fixes have not landed",
                   raises=RuleBroken, strict=False)
def test_hostile_data_names_give_the_same_module(name, tmp_path):
    if check_file_names(fi.DATA_SPEC, tmp_path, "spec" + name[:-4] + ".sciml", folder="f" + name[:-4],
                        data_name=name, data=fi.DATA_CSV) == "skipped":
        pytest.skip(f"the file system refuses {name!r}")


@pytest.mark.parametrize("name", sorted(REPROS_ISSUE_8))
def test_issue_8_repros(name, tmp_path):
    kind = name.split("-")[0]
    if kind in PENDING:
        pytest.xfail(f"issue 8: the {kind} fixes have not landed")
    repro = REPROS_ISSUE_8[name]
    if isinstance(repro, bytes):
        outcome = check_cli(repro, tmp_path)
    elif isinstance(repro, dict):
        outcome = check_file_names(root=tmp_path, **repro)
        assert outcome != "skipped", f"the file system refuses {repro}"
    else:
        outcome = check_source(repro, known=())
    if name.endswith("_refused"):
        assert outcome == ERROR, f"{name}: accepted, not refused"
    if name.endswith("_accepted"):
        assert outcome == OK, f"{name}: refused, not accepted"


def test_zoo_specs_pass_the_rule():
    for name, text in ZOO.items():
        check_source(text)


def test_every_terminal_has_a_plausible_strategy():
    """A terminal added to the grammar gets a padded literal or needs an explicit strategy."""
    for start in ("start", "statement", "expr"):
        grammar_strategy(start).validate()


def test_known_crashes_still_crash():
    """Each KNOWN_CRASHES entry is live: its repro crashes as the entry says.  When this fails
    because a repro now gives diagnostics, that crash is fixed: delete its entry."""
    fixed = []
    for crash in KNOWN_CRASHES:
        repro = REPROS[crash.name]
        assert re.search(crash.pattern, repro), f"{crash.name}: the pattern misses the repro"
        try:
            check_source(repro, known=())
        except CompilerCrash as exc:
            cause = exc.__cause__
            assert cause is not None and known_crash(repro, cause, [crash]), \
                f"{crash.name} now crashes differently:\n{exc}"
        else:
            fixed.append(crash.name)
    assert not fixed, f"fixed, so delete from KNOWN_CRASHES: {fixed}"
