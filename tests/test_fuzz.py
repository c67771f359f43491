"""Fuzzing: whatever text goes in, the compiler answers with diagnostics, never a traceback.

Two sources of input:

* the grammar itself (`hypothesis.extra.lark.from_lark` on `sciml/grammar/sciml.lark`): whole
  programs, and single statements or expressions spliced into the working zoo specs, so that the
  checks behind the parser (names, shapes, schemes, backends) are reached too;
* mutated zoo specs (`specs/**/*.sciml`): a token or line deleted, duplicated or swapped, a name
  replaced, a character deleted, a punctuation character inserted, a number made 0, -1, 1e400 or
  huge.

The rule (`check_source`): `front_end` either succeeds or raises `SpecError` holding at least one
diagnostic, each with a code (E203, A101, ...) and a span inside the text (1 <= line <= lines + 1,
column >= 1) that renders.  A spec that passes the front end has findings (notes, warnings) that
obey the same span rule, dumps its IR, and compiles for torch and jax (same rule) to a module
that is valid Python.  Any other exception fails the test.  `sciml check`, run in-process on a
file, exits 0 or 1 and never prints a traceback or "internal error".

REPROS (below) holds a minimal repro of every crash this file found; each is an `@example` of a
fuzz test.  KNOWN_CRASHES lists those not fixed yet.  An entry excuses a crash only when all of
these agree: the input matches the entry's regex, the exception has the entry's class (and
message), and the innermost frame in `sciml/` is the entry's `file:function`; anything else
still fails.  `test_known_crashes_still_crash` runs each entry's repro: once the crash is fixed it
fails and says so; then delete the entry (keep the repro).

Deterministic (`derandomize=True`, no example database); about 30 s in all on two cores.
"""
from __future__ import annotations

import contextlib
import io
import math
import re
import traceback
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import lark
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import LarkStrategy, from_lark
from lark.grammar import Terminal

import sciml
from sciml.cli import main as cli_main
from sciml.compiler.diagnostics import Diagnostic, SpecError, render_json, render_text
from sciml.compiler.pipeline import compile_spec, dump_stage, front_end
from sciml.grammar import GRAMMAR
from working_specs import WORKING_PATHS

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
SCIML = Path(sciml.__file__).resolve().parent
PATH = "fuzz.sciml"   # the spec's folder is then the working directory: `load` finds no file


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


@dataclass(frozen=True)
class KnownCrash:
    name: str       # a key of REPROS (reported as /tmp/fuzz_crashes/<name>.sciml)
    pattern: str    # regex searched in the input text
    exception: str  # the exception's class name
    where: str      # regex, full match of the innermost frame in sciml/: "<file>:<function>"
    message: str = ""   # regex searched in str(exception); "" matches any


# Known, not yet fixed compiler crashes (see the module docstring).  Delete an entry once fixed.
# An entry reads, for example (a crash in a power of a constant vector, fixed since):
#     KnownCrash("power_of_vector_constant", pattern=r"\^|\*\*", exception="NonSquareMatrixError",
#                where=r"lower\.py:compile_time"),
KNOWN_CRASHES: list[KnownCrash] = [
]


# ---------------------------------------------------------------------------------------------
# The rule


class CompilerCrash(AssertionError):
    pass


def _innermost_sciml_frame(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if Path(f.filename).resolve().is_relative_to(SCIML)]
    if not frames:
        return "?"
    f = frames[-1]
    return f"{Path(f.filename).name}:{f.name}"


def _known(source: str, exc: BaseException, known) -> KnownCrash | None:
    where = _innermost_sciml_frame(exc)
    for crash in known:
        if (type(exc).__name__ == crash.exception and re.fullmatch(crash.where, where)
                and re.search(crash.message, str(exc)) and re.search(crash.pattern, source)):
            return crash
    return None


def _check_diagnostics(diagnostics, source: str, stage: str) -> None:
    lines = len(source.splitlines())
    for d in diagnostics:
        span = d.span
        assert isinstance(d, Diagnostic), f"{stage}: {d!r} is not a Diagnostic"
        assert re.fullmatch(r"[A-Z]\d{3}", d.code), f"{stage}: bad code {d.code!r} in {d}"
        assert 1 <= span.line <= lines + 1 and span.column >= 1, \
            f"{stage}: diagnostic outside the text ({lines} lines): {d}\n--- input:\n{source}"
        render_text(d, PATH, source)
    render_json(diagnostics, PATH)


OK, ERROR, KNOWN = "ok", "error", "known crash"


def _run(stage: str, source: str, call, known=KNOWN_CRASHES):
    """(outcome, value) of `call()`: (OK, value); (ERROR, None) for a SpecError, after checking
    its diagnostics; (KNOWN, None) for a KNOWN_CRASHES crash; any other exception raises
    CompilerCrash with the traceback."""
    try:
        return OK, call()
    except SpecError as exc:
        assert exc.diagnostics, f"{stage}: SpecError without diagnostics for\n{source}"
        _check_diagnostics(exc.diagnostics, source, stage)
        return ERROR, None
    except Exception as exc:  # noqa: BLE001 -- the point of the test
        if _known(source, exc, known):
            return KNOWN, None
        raise CompilerCrash(
            f"{stage} crashed with {type(exc).__name__}: {exc} at {_innermost_sciml_frame(exc)}\n"
            f"--- input:\n{source}\n--- traceback:\n{traceback.format_exc()}") from exc


def check_source(source: str, known=KNOWN_CRASHES) -> str:
    """Apply the rule to `source`; return the outcome of the front end (OK, ERROR or KNOWN).
    `known`: the crashes to excuse."""
    outcome, result = _run("front_end", source, lambda: front_end(source, PATH), known)
    if outcome != OK:
        return outcome
    if len(result) > 2:   # (syntax tree, IR, findings): the analysis' notes and warnings
        _check_diagnostics(result[2], source, "front_end findings")
    _run("dump_stage(ir)", source, lambda: dump_stage(source, PATH, "ir"), known)
    for backend in ("torch", "jax"):
        status, text = _run(f"compile_spec({backend})", source, lambda: compile_spec(source, PATH, backend),
                            known)
        if status == OK:
            try:
                compile(text, f"<{backend} module>", "exec")
            except SyntaxError as exc:
                raise CompilerCrash(f"the {backend} module is not valid Python ({exc})\n"
                                    f"--- input:\n{source}") from exc
    return OK


# ---------------------------------------------------------------------------------------------
# Inputs


def _zoo() -> dict[str, str]:
    return {p.relative_to(SPECS).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(SPECS.glob("**/*.sciml"))}


ZOO = _zoo()
# Specs that generate code: splicing into them reaches the later stages.
WORKING = [f"{path}.sciml" for path in WORKING_PATHS]

TOKEN = re.compile(r'#[^\n]*|"[^"\n]*"|[^\W\d]\w*|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|->|\.\.|\*\*|\^T|\s+|.',
                   re.S)
KEYWORDS = {"model", "const", "domain", "data", "state", "param", "net", "ode", "pde", "sde",
            "initial", "boundary", "scheme", "loss", "train", "report", "flow", "in", "generate",
            "load", "then", "for"}
BUILTINS = ["exp", "log", "sin", "cos", "tan", "tanh", "sqrt", "abs", "sigmoid", "relu", "softplus",
            "softmax", "cross_entropy", "accuracy", "mse", "mean", "sum", "dot", "pad", "smooth_in_time",
            "mlp", "normal", "uniform", "zeros", "linspace", "spirals", "two_moons", "ode", "digits",
            "euler", "rk4", "verlet", "leapfrog", "imex", "dopri5", "euler_maruyama", "adam", "sgd",
            "lbfgs", "grad", "swap", "pi", "I", "t", "dt", "dW", "R", "x", "label", "u", "u0", "true",
            "false", "lr", "steps", "batch", "samples", "seed", "noise", "rtol", "atol", "adjoint",
            "memory", "recompute", "per_step", "method", "L"]
HOSTILE = ["lambda", "self", "import", "torch", "jnp", "np", "__import__", "\u0430", "_", "x_1",
           "None", "print", "model", "a" * 40]
ZOO_NAMES = sorted({tok for text in ZOO.values() for tok in TOKEN.findall(text)
                    if re.fullmatch(r"[^\W\d]\w*", tok) and tok not in KEYWORDS})
NAMES = sorted(set(ZOO_NAMES) | set(BUILTINS)) + HOSTILE
NUMBERS = ["0", "1", "2", "3", "4", "8", "10", "100", "1000", "0.5", "1.0", "2.5", "0.0", "1e-3",
           "2e-2", "1E5", "007", "1e400", "1e-400", "123456789012345678901234567890"]
STRINGS = ['"missing.npz"', '""', '"data.csv"', '"a b.npz"', '"."']


@lru_cache(maxsize=1)
def fuzz_grammar() -> lark.Lark:
    """The project's grammar, with the start symbols that the strategies below use."""
    return lark.Lark.open(str(GRAMMAR), parser="lalr", propagate_positions=True,
                          maybe_placeholders=False, start=["start", "statement", "expr"])


def _padded(values):
    return st.sampled_from(values).map(lambda s: f" {s} ")


def _explicit(start: str) -> dict[str, st.SearchStrategy[str]]:
    """Strategies for the terminals reachable from `start`: names and numbers from the zoo and
    the language, literals as themselves.  Words are padded with spaces so that neighbours never
    lex as one token (from_lark puts whitespace between tokens only now and then)."""
    g = fuzz_grammar()
    reachable = {sym.name for rule in _rules(start) for sym in rule.expansion if isinstance(sym, Terminal)}
    reachable |= set(g.ignore_tokens)
    explicit = {
        "NAME": _padded(NAMES), "NUMBER": _padded(NUMBERS), "STRING": _padded(STRINGS),
        "POW": _padded(["^", "**"]), "TRANSPOSE": st.just("^T "),
        "WS": st.sampled_from([" ", "\n", "\t", "\n\n  "]), "COMMENT": st.just(" # comment\n"),
    }
    for terminal in g.terminals:
        if terminal.name not in explicit:
            assert terminal.pattern.type == "str", f"give the terminal {terminal.name} a strategy here"
            explicit[terminal.name] = st.just(f" {terminal.pattern.value} ")
    return {name: strategy for name, strategy in explicit.items() if name in reachable}


def _rules(start: str):
    return fuzz_grammar().grammar.compile([start], ())[1]


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
        expansions: dict[str, list] = {}
        for rule in _rules(start):
            expansions.setdefault(rule.origin.name, []).append(tuple(rule.expansion))
        height = dict.fromkeys(expansions, math.inf)   # fewest nested rules down to terminals

        def cost(expansion):
            return max((0 if isinstance(s, Terminal) else height.get(s.name, math.inf) for s in expansion),
                       default=0)
        changed = True
        while changed:
            changed = False
            for name, options in expansions.items():
                best = 1 + min(cost(e) for e in options)
                if best < height[name]:
                    height[name], changed = best, True
        self._shallow = {}
        for name in self.nonterminal_strategies:
            options = expansions[name]
            lowest = min(cost(e) for e in options)
            self._shallow[name] = st.sampled_from([e for e in options if cost(e) == lowest])
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


def _lines_with_code(text: str) -> list[int]:
    return [i for i, line in enumerate(text.split("\n"))
            if line.strip() and not line.lstrip().startswith("#")]


@st.composite
def spliced_statements(draw) -> str:
    """A working zoo spec with a generated statement replacing one of its lines or inserted."""
    text = ZOO[draw(st.sampled_from(WORKING))]
    lines = text.split("\n")
    statement = draw(grammar_strategy("statement"))
    if draw(st.booleans()):
        i = draw(st.sampled_from(_lines_with_code(text)))
        lines[i] = statement
    else:
        lines.insert(draw(st.integers(1, len(lines))), statement)
    return "\n".join(lines)


@st.composite
def spliced_expressions(draw) -> str:
    """A working zoo spec with a generated expression, in parentheses, for one of its names
    or numbers (outside comments)."""
    text = ZOO[draw(st.sampled_from(WORKING))]
    tokens = TOKEN.findall(text)
    slots = [i for i, tok in enumerate(tokens)
             if re.fullmatch(r"[^\W\d]\w*|\d.*", tok) and tok not in KEYWORDS]
    i = draw(st.sampled_from(slots))
    tokens[i] = "(" + draw(grammar_strategy("expr")) + ")"
    return "".join(tokens)


# -- mutations: each takes (draw, text) and returns the new text


def _significant(tokens):
    return [i for i, tok in enumerate(tokens) if not tok.isspace()]


def _pick_token(draw, tokens, predicate=lambda tok: True):
    candidates = [i for i in _significant(tokens) if predicate(tokens[i])]
    return draw(st.sampled_from(candidates)) if candidates else None


def m_delete_token(draw, text):
    tokens = TOKEN.findall(text)
    i = _pick_token(draw, tokens)
    if i is not None:
        tokens[i] = ""
    return "".join(tokens)


def m_duplicate_token(draw, text):
    tokens = TOKEN.findall(text)
    i = _pick_token(draw, tokens)
    if i is not None:
        tokens[i] = tokens[i] + " " + tokens[i]
    return "".join(tokens)


def m_swap_tokens(draw, text):
    tokens = TOKEN.findall(text)
    sig = _significant(tokens)
    a = draw(st.integers(0, len(sig) - 1))
    b = a + 1 if draw(st.booleans()) and a + 1 < len(sig) else draw(st.integers(0, len(sig) - 1))
    tokens[sig[a]], tokens[sig[b]] = tokens[sig[b]], tokens[sig[a]]
    return "".join(tokens)


def m_delete_line(draw, text):
    lines = text.split("\n")
    del lines[draw(st.integers(0, len(lines) - 1))]
    return "\n".join(lines)


def m_duplicate_line(draw, text):
    lines = text.split("\n")
    i = draw(st.integers(0, len(lines) - 1))
    lines.insert(draw(st.integers(0, len(lines))), lines[i])
    return "\n".join(lines)


def m_swap_lines(draw, text):
    lines = text.split("\n")
    a, b = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
    lines[a], lines[b] = lines[b], lines[a]
    return "\n".join(lines)


def m_replace_name(draw, text):
    tokens = TOKEN.findall(text)
    i = _pick_token(draw, tokens, lambda tok: re.fullmatch(r"[^\W\d]\w*", tok) is not None)
    if i is not None:
        local = sorted({tok for tok in tokens if re.fullmatch(r"[^\W\d]\w*", tok)})
        tokens[i] = draw(st.sampled_from(local) | st.sampled_from(NAMES) | st.sampled_from(NUMBERS))
    return "".join(tokens)


def m_change_number(draw, text):
    tokens = TOKEN.findall(text)
    i = _pick_token(draw, tokens, lambda tok: tok[0].isdigit())
    if i is not None:
        tokens[i] = draw(st.sampled_from(["0", "-1", "1e400", "-1e400", "1e-400", "0.0", "1.5",
                                          str(10 ** 30), str(2 ** 63), "(0 - 1)", "(1 / 0)", "1e30"]))
    return "".join(tokens)


def m_delete_char(draw, text):
    if not text:
        return text
    i = draw(st.integers(0, len(text) - 1))
    return text[:i] + text[i + 1:]


def m_insert_punctuation(draw, text):
    i = draw(st.integers(0, len(text)))
    return text[:i] + draw(st.sampled_from(PUNCTUATION)) + text[i:]


# ASCII punctuation, and some characters that are whitespace or line ends to some and not others
PUNCTUATION = (list("()[]{},.:;=+-*/^|~#\"'!@$%&?<>\\`\t\n")
               + ["\r", "\x0c", "\x00", "\u00a0", "\u2028", "\u00e9"])


MUTATIONS = [m_delete_token, m_duplicate_token, m_swap_tokens, m_delete_line, m_duplicate_line,
             m_swap_lines, m_replace_name, m_change_number, m_delete_char, m_insert_punctuation]


@st.composite
def mutated_specs(draw, names=tuple(ZOO)) -> str:
    text = ZOO[draw(st.sampled_from(names))]
    for _ in range(draw(st.integers(1, 3))):
        text = draw(st.sampled_from(MUTATIONS))(draw, text)
    return text


# ---------------------------------------------------------------------------------------------
# Tests

FUZZ = settings(derandomize=True, database=None, deadline=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.data_too_large, HealthCheck.large_base_example,
                                       HealthCheck.function_scoped_fixture])


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
@given(mutated_specs(names=tuple(WORKING)))
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


@settings(FUZZ, max_examples=60)
@given(source=mutated_specs())
def test_cli_check_on_mutated_specs_exits_0_or_1(source, tmp_path_factory):
    outcome, _ = _run("front_end", source, lambda: front_end(source, PATH))
    spec = tmp_path_factory.mktemp("cli") / "spec.sciml"
    spec.write_text(source, encoding="utf-8")
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = cli_main(["check", str(spec)])
    if outcome == KNOWN:
        return
    stderr = err.getvalue()
    assert status in (0, 1), f"sciml check exited {status}:\n{stderr}\n--- input:\n{source}"
    assert "Traceback" not in stderr and "internal error" not in stderr, f"{stderr}\n--- input:\n{source}"
    assert status == (0 if outcome == OK else 1), f"sciml check disagrees with front_end:\n{stderr}"


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
            assert cause is not None and _known(repro, cause, [crash]), \
                f"{crash.name} now crashes differently:\n{exc}"
        else:
            fixed.append(crash.name)
    assert not fixed, f"fixed, so delete from KNOWN_CRASHES: {fixed}"
