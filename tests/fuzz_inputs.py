"""What the fuzzing feeds the compiler, and the rule it checks: shared by tests/test_fuzz.py
(Hypothesis, in CI) and scripts/fuzz.py (the long run outside CI).

Inputs.  The grammar (`sciml/frontend/sciml.lark`): whole programs, single statements or
expressions spliced into the working zoo specs.  Mutated zoo specs: tokens, lines and characters
deleted, duplicated, swapped or replaced, and the hostile classes: deep nesting (unary minus,
parentheses, calls, lists, norms and operator chains k deep, k up to 2000), huge and tiny
numbers at number positions (10^400, 2^1024, 1e-400, 140- and 5000-digit integers, power
towers), odd line breaks (\\r, \\r\\n, \\f, \\v, \\x1c-\\x1e, \\x85, U+2028, U+2029 for, beside or far
from a '\\n'), invalid bytes (0xff, a lone 0xc3, NUL, a BOM at the start or in the middle: these
go through `sciml check` on a file), hostile names for the spec file and for a `load "..."` file.

A mutation takes `(c, text)`, `c` a `Choices`: Hypothesis's `draw` in the tests
(`DrawChoices`), a `random.Random` in the long run (`RandomChoices`), so both draw the same
inputs.

The rule.  Whatever goes in, the compiler answers with diagnostics, within `SLOW_SECONDS`:

* `check_source(text)`: `front_end` succeeds or raises `SpecError` with diagnostics; every
  diagnostic has a code and a span inside the text (lines counted at '\\n' only: the text split
  at '\\n', not `splitlines`), and `render_text` quotes that line.  A spec the front end accepts
  has findings under the same rule, dumps its IR, and compiles for torch and jax to valid Python.
* `check_cli(bytes)`: `sciml check FILE` in-process exits 0 or 1, prints no traceback and no
  "internal error", exit 1 comes with an error, and every printed `file:line:col` is inside the
  file's bytes (split at b'\\n') and quotes that line.
* `check_file_names(...)`: a spec (and its data file) under hostile names compiles exactly as
  under plain names, to valid Python whose tokens do not depend on the names: comments and the
  module docstring's text dropped, string values compared with the plain names put back.

A broken rule raises a `RuleBroken` whose `outcome` names the class: "internal error" (an
exception from the compiler, or exit 2), "traceback" (one printed or escaping `sciml`), "slow",
"bad span", "bad module".
"""
from __future__ import annotations

import ast as python_ast
import contextlib
import io
import math
import re
import signal
import threading
import time
import tokenize
import traceback
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import lark
from lark.grammar import Terminal

import sciml
from sciml.cli import main as cli_main
from sciml.frontend.diagnostics import Diagnostic, SpecError, render_json, render_text
from sciml.pipeline import compile_spec, dump_stage, front_end
from sciml.frontend.parser import GRAMMAR
from helpers import DATA_FILE_SPEC
from working_specs import WORKING_PATHS

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
SCIML = Path(sciml.__file__).resolve().parent
PATH = "fuzz.sciml"   # the spec's folder is then the working directory: `load` finds no file
SLOW_SECONDS = 5.0    # a case (front end, IR, both backends) that takes longer breaks the rule

OK, ERROR, KNOWN = "ok", "error", "known crash"


# ---------------------------------------------------------------------------------------------
# The rule


class RuleBroken(AssertionError):
    """The rule is broken; `outcome` names the class, `where` the stage and the place (for
    grouping failures: no input in it)."""
    outcome = "broken"

    def __init__(self, message: str, where: str = ""):
        super().__init__(message)
        self.where = where


class CompilerCrash(RuleBroken):
    """An exception other than SpecError escaped from the compiler (`sciml` says "internal
    error"), or `sciml` exited 2."""
    outcome = "internal error"


class TracebackPrinted(RuleBroken):
    outcome = "traceback"


class Slow(RuleBroken):
    outcome = "slow"


class BadSpan(RuleBroken):
    outcome = "bad span"


class BadModule(RuleBroken):
    outcome = "bad module"


class _OutOfTime(BaseException):
    """Raised by the alarm of `time_limit`; a BaseException, so that no `except Exception` in the
    compiler swallows it."""


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Interrupt the block after `seconds` with _OutOfTime (SIGALRM; only in the main thread on
    POSIX; Python code only: a long computation inside one C call runs on)."""
    if (not seconds or not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()):
        yield
        return

    def alarm(signum, frame):
        raise _OutOfTime()
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _shown(text, limit: int = 3000) -> str:
    text = text if isinstance(text, str) else repr(text)
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text)} characters in all)"


@contextlib.contextmanager
def timed(what: str, source, seconds: float | None = SLOW_SECONDS):
    """The block must end within `seconds` (measured with perf_counter), else Slow; an alarm
    stops Python code that runs on a second longer."""
    start = time.perf_counter()
    try:
        with time_limit(None if seconds is None else seconds + 1.0):
            yield
    except _OutOfTime as exc:
        where = innermost_sciml_frame(exc)
        raise Slow(f"{what}: still running after {seconds + 1.0:.0f} s, in {where}\n--- input:\n{_shown(source)}",
                   f"{what} in {where}") from None
    elapsed = time.perf_counter() - start
    if seconds is not None and elapsed > seconds:
        raise Slow(f"{what}: {elapsed:.1f} s (the bound is {seconds:.0f} s)\n--- input:\n{_shown(source)}", what)


@dataclass(frozen=True)
class KnownCrash:
    name: str       # a key of REPROS (reported as /tmp/fuzz_crashes/<name>.sciml)
    pattern: str    # regex searched in the input text
    exception: str  # the exception's class name
    where: str      # regex, full match of the innermost frame in sciml/: "<file>:<function>"
    message: str = ""   # regex searched in str(exception); "" matches any


def innermost_sciml_frame(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if Path(f.filename).resolve().is_relative_to(SCIML)]
    if not frames:
        return "?"
    f = frames[-1]
    return f"{Path(f.filename).name}:{f.name}"


def known_crash(source: str, exc: BaseException, known) -> KnownCrash | None:
    where = innermost_sciml_frame(exc)
    for crash in known:
        if (type(exc).__name__ == crash.exception and re.fullmatch(crash.where, where)
                and re.search(crash.message, str(exc)) and re.search(crash.pattern, source)):
            return crash
    return None


def _crash(stage: str, exc: BaseException, source) -> CompilerCrash:
    return CompilerCrash(
        f"{stage} crashed with {type(exc).__name__}: {_shown(str(exc), 300)} at "
        f"{innermost_sciml_frame(exc)}\n--- input:\n{_shown(source)}\n--- traceback:\n"
        f"{_shown(traceback.format_exc(), 6000)}",
        f"{stage}: {type(exc).__name__} in {innermost_sciml_frame(exc)}")


_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})|<0x[0-9a-fA-F]{2}>")


def _visible(text: str) -> str:
    """The printable ASCII of a line (escapes such as \\x0c dropped): what a quote must keep,
    however it shows control and non-ASCII characters."""
    return "".join(ch for ch in _ESCAPE.sub("", text) if "!" <= ch <= "~")


def _quote_matches(quoted: str, line: str) -> bool:
    want, got = _visible(line), _visible(quoted)
    if got == want:
        return True
    if not re.search(r"\.\.\.|\u2026", quoted):
        return False
    pieces = [p for p in (_visible(p) for p in re.split(r"\.\.\.|\u2026", quoted)) if p]
    at = 0
    for piece in pieces:   # a long line shortened with '...': the pieces in order
        at = want.find(piece, at)
        if at < 0:
            return False
        at += len(piece)
    return bool(pieces)


def _quote_of(rendered: str, line: int) -> str | None:
    gutter = f"{line:>4} | "
    for row in rendered.split("\n")[1:]:
        if row.startswith(gutter):
            return row[len(gutter):]
    return None


def check_quote(rendered: str, line: int, text_line: str, what: str, code: str, source) -> None:
    """`rendered` (a diagnostic's text) quotes `text_line` as line `line`."""
    quoted = _quote_of(rendered, line)
    if quoted is None:
        if _visible(text_line):
            raise BadSpan(f"{what}: the diagnostic does not quote line {line} {text_line!r}:\n{rendered}"
                          f"\n--- input:\n{_shown(source)}", f"{what}: {code} quotes no line")
    elif not _quote_matches(quoted, text_line):
        raise BadSpan(f"{what}: the diagnostic quotes {quoted!r} as line {line}, which is {text_line!r} "
                      f"(lines end at '\\n' only):\n{rendered}\n--- input:\n{_shown(source)}",
                      f"{what}: {code} quotes the wrong line")


def check_diagnostics(diagnostics, source: str, stage: str) -> None:
    """Each diagnostic has a code and a span inside `source` (lines split at '\\n'), and its
    text quotes the span's line."""
    lines = source.split("\n")
    for d in diagnostics:
        if not isinstance(d, Diagnostic):
            raise BadSpan(f"{stage}: {d!r} is not a Diagnostic", f"{stage}: not a Diagnostic")
        if not re.fullmatch(r"[A-Z]\d{3}", d.code):
            raise BadSpan(f"{stage}: bad code {d.code!r} in {d}", f"{stage}: bad code")
        s = d.span

        def inside(line, column):
            return 1 <= line <= len(lines) and 1 <= column <= len(lines[line - 1]) + 1
        if not (inside(s.line, s.column) and inside(s.end_line, s.end_column)
                and (s.line, s.column) <= (s.end_line, s.end_column)):
            raise BadSpan(f"{stage}: span {s.line}:{s.column}-{s.end_line}:{s.end_column} outside the text "
                          f"({len(lines)} lines at '\\n'): {d}\n--- input:\n{_shown(source)}",
                          f"{stage}: {d.code} span outside the text")
        check_quote(render_text(d, PATH, source), s.line, lines[s.line - 1], stage, d.code, source)
    render_json(diagnostics, PATH)


def run_stage(stage: str, source: str, call, known=()):
    """(outcome, value) of `call()`: (OK, value); (ERROR, None) for a SpecError, after checking
    its diagnostics; (KNOWN, None) for a `known` crash; any other exception raises
    CompilerCrash with the traceback."""
    try:
        return OK, call()
    except SpecError as exc:
        if not exc.diagnostics:
            raise BadSpan(f"{stage}: SpecError without diagnostics for\n{_shown(source)}",
                          f"{stage}: no diagnostics") from None
        check_diagnostics(exc.diagnostics, source, stage)
        return ERROR, None
    except Exception as exc:  # noqa: BLE001 -- the point of the test
        if known_crash(source, exc, known):
            return KNOWN, None
        raise _crash(stage, exc, source) from exc


def check_module(text: str, what: str, source) -> None:
    try:
        compile(text, "<emitted module>", "exec")
    except (SyntaxError, ValueError) as exc:
        raise BadModule(f"the {what} is not valid Python ({exc})\n--- input:\n{_shown(source)}",
                        f"{what.split()[0]} module: not valid Python") from exc


def check_source(source: str, known=(), seconds: float | None = SLOW_SECONDS) -> str:
    """Apply the rule to `source`; return the outcome of the front end (OK, ERROR or KNOWN).
    `known`: the crashes to excuse; `seconds`: the time bound of the whole case."""
    with timed("check_source", source, seconds):
        outcome, result = run_stage("front_end", source, lambda: front_end(source, PATH), known)
        if outcome != OK:
            return outcome
        if len(result) > 2:   # (syntax tree, IR, findings): the analysis' notes and warnings
            check_diagnostics(result[2], source, "front_end findings")
        run_stage("dump_stage(ir)", source, lambda: dump_stage(source, PATH, "ir"), known)
        for backend in ("torch", "jax"):
            status, text = run_stage(f"compile_spec({backend})", source,
                                     lambda: compile_spec(source, PATH, backend), known)
            if status == OK:
                check_module(text, f"{backend} module", source)
    return OK


# -- `sciml check` on a file of bytes

def run_cli(argv) -> tuple[int, str]:
    """`sciml ARGV` in-process: (exit status, standard output + standard error).  An exception
    escaping it is TracebackPrinted."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            status = cli_main(list(argv))
        except SystemExit as exc:   # argparse
            status = exc.code if isinstance(exc.code, int) else 2
        except Exception as exc:  # noqa: BLE001
            raise TracebackPrinted(f"sciml {argv[0]} raised {type(exc).__name__}: {_shown(str(exc), 300)} at "
                                   f"{innermost_sciml_frame(exc)}\n{_shown(traceback.format_exc(), 6000)}",
                                   f"sciml {argv[0]}: {type(exc).__name__} in {innermost_sciml_frame(exc)}"
                                   ) from exc
    return status, out.getvalue()


def _internal_error(status: int, output: str, what: str, source) -> CompilerCrash:
    """`sciml` exited 2 or said "internal error": the details from its log, if it wrote one."""
    import tempfile
    log = ""
    with contextlib.suppress(OSError):
        log = (Path(tempfile.gettempdir()) / "sciml-internal-error.txt").read_text(encoding="utf-8",
                                                                                    errors="replace")
    frames = re.findall(r'File "([^"]*sciml/[^"]*)", line \d+, in (\w+)', log)
    last = log.strip().split("\n")[-1] if log.strip() else ""
    where = f"{Path(frames[-1][0]).name}:{frames[-1][1]}" if frames else "?"
    return CompilerCrash(f"{what} exited {status}:\n{_shown(output)}\n--- input:\n{_shown(source)}\n"
                         f"--- log (may be another run's):\n{_shown(log, 6000)}",
                         f"{what}: exit {status}, {last.split(':')[0][:60]} in {where}")


def check_cli(data: bytes, folder: Path, name: str = "spec.sciml",
              seconds: float | None = SLOW_SECONDS) -> str:
    """Apply the rule to `sciml check FILE`, FILE holding `data`; OK (exit 0) or ERROR (exit 1)."""
    spec = Path(folder) / name
    spec.write_bytes(data)
    with timed("sciml check", data, seconds):
        status, output = run_cli(["check", str(spec)])
    if "Traceback (most recent call last)" in output:
        raise TracebackPrinted(f"sciml check printed a traceback:\n{_shown(output, 6000)}\n--- input:\n{_shown(data)}",
                               "sciml check: traceback printed")
    if status not in (0, 1) or "internal error" in output:
        raise _internal_error(status, output, "sciml check", data)
    check_printed_spans(output, str(spec), data)
    if status == 1 and not re.search(rf"(?m)^{re.escape(str(spec))}:\d+:\d+: error\[", output):
        raise BadSpan(f"sciml check exited 1 with no positioned error:\n{_shown(output)}\n--- input:\n{_shown(data)}",
                      "sciml check: exit 1 without a positioned error")
    return OK if status == 0 else ERROR


def check_printed_spans(output: str, shown: str, data: bytes) -> None:
    """Every `shown:line:col: severity[CODE]:` printed is inside `data` (split at b'\\n') and
    quotes that line (a BOM and bytes that are not UTF-8 aside)."""
    lines = data.split(b"\n")
    rows = output.split("\n")
    head = re.compile(rf"{re.escape(shown)}:(\d+):(\d+): (error|warning|note)\[([A-Z]\d{{3}})\]: ")
    for i, row in enumerate(rows):
        m = head.match(row)
        if not m:
            continue
        line, column, code = int(m[1]), int(m[2]), m[4]
        rendered = "\n".join(rows[i:i + 3])
        if not (1 <= line <= len(lines) and 1 <= column <= len(lines[line - 1]) + 1):
            raise BadSpan(f"sciml check: {line}:{column} is outside the file ({len(lines)} lines at "
                          f"'\\n'):\n{rendered}\n--- input:\n{_shown(data)}",
                          f"sciml check: {code} span outside the file")
        text = lines[line - 1].decode("utf-8", errors="replace")
        check_quote(rendered, line, text, "sciml check", code, data)


# -- hostile file names

def _tokens(text: str, replacements) -> list:
    """The module's tokens as Python reads them: comments, the module docstring's text and the
    spec's hash (SPEC_SHA256) dropped, string values with the hostile names put back to plain
    ones (in both modules: a short name may occur in the text anyway)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")   # Python's own newline translation
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in (tokenize.COMMENT, tokenize.NL):
            continue
        if tok.type == tokenize.STRING:
            if not out:
                out.append((tok.type, "<module docstring>"))
                continue
            if out[-2:] == [(tokenize.NAME, "SPEC_SHA256"), (tokenize.OP, "=")]:
                out.append((tok.type, "<sha256>"))   # the hash of the spec's text, which differs
                continue
            try:
                value = python_ast.literal_eval(tok.string)
            except (ValueError, SyntaxError):
                value = tok.string
            if isinstance(value, str):
                for hostile, plain in replacements:
                    value = value.replace(hostile, plain)
            out.append((tok.type, repr(value)))
        else:
            out.append((tok.type, tok.string))
    return out


def _first_difference(a: list, b: list) -> str:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"token {i}: {x!r} (plain) != {y!r} (hostile); before: {a[max(0, i - 5):i]}"
    return f"{len(a)} tokens (plain) != {len(b)} tokens (hostile)"


def check_file_names(source: str, root: Path, spec_name: str, folder: str = "hostile",
                     data_name: str | None = None, data: bytes | None = None,
                     seconds: float | None = SLOW_SECONDS) -> str:
    """Compile `source` (a `{DATA}` in it stands for the data file's name) as `folder/spec_name`
    with the data file `folder/data_name` (holding `data`), and as plain/spec.sciml with
    plain/points.EXT: the same outcome, the same diagnostics, valid Python with the same tokens
    (see `_tokens`); `sciml check` on the hostile file exits as the front end says.  Returns the
    outcome, or "skipped" when the file system refuses the names."""
    root = Path(root)
    plain_dir, hostile_dir = root / "plain", root / folder
    plain_data = "points" + (Path(data_name).suffix if data_name else ".csv")
    try:
        for d in (plain_dir, hostile_dir):
            d.mkdir(parents=True, exist_ok=True)
        plain_spec, hostile_spec = plain_dir / "spec.sciml", hostile_dir / spec_name
        if data_name is not None:
            (plain_dir / plain_data).write_bytes(data)
            (hostile_dir / data_name).write_bytes(data)
        plain_source = source.replace("{DATA}", plain_data)
        hostile_source = source.replace("{DATA}", data_name or plain_data)
        plain_spec.write_text(plain_source, encoding="utf-8")
        hostile_spec.write_text(hostile_source, encoding="utf-8", newline="")
    except (OSError, ValueError, UnicodeEncodeError):
        return "skipped"
    data_paths = (str(hostile_dir.resolve() / (data_name or plain_data)), str(plain_dir.resolve() / plain_data))
    replacements = sorted({data_paths,
                           (str(hostile_spec.resolve()), str(plain_spec.resolve())),
                           (str(hostile_dir.resolve()), str(plain_dir.resolve())),
                           (str(hostile_spec), str(plain_spec)), (spec_name, "spec.sciml"),
                           (data_name or plain_data, plain_data)}, key=lambda r: -len(r[0]))
    described = f"spec {str(hostile_spec)!r}" + (f", data {data_name!r}" if data_name else "")
    outcome = None
    with timed("file names", f"{described}\n{hostile_source}", seconds):
        for backend in ("torch", "jax"):
            stage = f"compile_spec({backend}) of {described}"
            results = []
            for text, spec in ((plain_source, plain_spec), (hostile_source, hostile_spec)):
                try:
                    results.append((OK, compile_spec(text, str(spec), backend)))
                except SpecError as exc:
                    check_diagnostics(exc.diagnostics, text, f"compile_spec({backend}) file names")
                    results.append((ERROR, [(d.code, d.span) for d in exc.diagnostics]))
                except Exception as exc:  # noqa: BLE001
                    raise _crash(stage, exc, text) from exc
            (plain_outcome, plain), (hostile_outcome, hostile) = results
            if plain_outcome != hostile_outcome or (plain_outcome == ERROR and plain != hostile):
                raise BadModule(f"{described} changes the outcome of compile_spec({backend}): "
                                f"{plain_outcome} {plain if plain_outcome == ERROR else ''} (plain), "
                                f"{hostile_outcome} {hostile if hostile_outcome == ERROR else ''} (hostile)"
                                f"\n--- input:\n{_shown(hostile_source)}",
                                f"{backend}: the file name changes the outcome")
            outcome = plain_outcome
            if outcome == OK:
                check_module(hostile, f"{backend} module of {described}", hostile_source)
                try:
                    a, b = _tokens(plain, replacements), _tokens(hostile, replacements)
                except (tokenize.TokenError, SyntaxError) as exc:
                    raise BadModule(f"the {backend} module of {described} does not tokenize: {exc}",
                                    f"{backend} module: does not tokenize") from exc
                if a != b:
                    raise BadModule(f"the {backend} module's tokens depend on the file name ({described}): "
                                    f"{_first_difference(a, b)}\n--- input:\n{_shown(hostile_source)}",
                                    f"{backend} module: tokens depend on the file name")
        status, output = run_cli(["check", str(hostile_spec)])
    if "Traceback (most recent call last)" in output:
        raise TracebackPrinted(f"sciml check {described} printed a traceback:\n{_shown(output, 6000)}",
                               "sciml check file names: traceback printed")
    if status not in (0, 1) or "internal error" in output:
        raise _internal_error(status, output, "sciml check (file names)", f"{described}\n{hostile_source}")
    if outcome == OK and status != 0:   # (compile_spec may refuse what check accepts: E901)
        raise BadModule(f"sciml check {described} exits {status}, compile_spec says {outcome}:\n{_shown(output)}",
                        "sciml check file names: exit status disagrees")
    return outcome


# ---------------------------------------------------------------------------------------------
# Choices: Hypothesis's draw or a random.Random


class DrawChoices:
    def __init__(self, draw):
        from hypothesis import strategies as st
        self._draw, self._st = draw, st

    def choice(self, seq):
        return self._draw(self._st.sampled_from(seq))

    def integer(self, lo, hi):
        return self._draw(self._st.integers(lo, hi))

    def boolean(self):
        return self._draw(self._st.booleans())


class RandomChoices:
    def __init__(self, rng):
        self._rng = rng

    def choice(self, seq):
        return self._rng.choice(seq)

    def integer(self, lo, hi):
        return self._rng.randint(lo, hi)

    def boolean(self):
        return self._rng.random() < 0.5


# ---------------------------------------------------------------------------------------------
# Inputs


def _zoo() -> dict[str, str]:
    return {p.relative_to(SPECS).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(SPECS.glob("**/*.sciml"))}


ZOO = _zoo()
ZOO_PATHS = tuple(ZOO)
# Specs that generate code: splicing into them reaches the later stages.
WORKING = tuple(f"{path}.sciml" for path in WORKING_PATHS)

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


def _rules(start: str):
    return fuzz_grammar().grammar.compile([start], ())[1]


@lru_cache(maxsize=None)
def terminal_values(start: str) -> dict[str, tuple[str, ...]]:
    """What each terminal reachable from `start` may be: names and numbers from the zoo and the
    language, literals as themselves.  Words are padded with spaces so that neighbours never lex
    as one token."""
    g = fuzz_grammar()
    reachable = {sym.name for rule in _rules(start) for sym in rule.expansion if isinstance(sym, Terminal)}
    reachable |= set(g.ignore_tokens)

    def padded(values):
        return tuple(f" {v} " for v in values)
    values = {"NAME": padded(NAMES), "NUMBER": padded(NUMBERS), "STRING": padded(STRINGS),
              "POW": padded(["^", "**"]), "TRANSPOSE": ("^T ",),
              "WS": (" ", "\n", "\t", "\n\n  "), "COMMENT": (" # comment\n",)}
    for terminal in g.terminals:
        if terminal.name not in values:
            assert terminal.pattern.type == "str", f"give the terminal {terminal.name} values here"
            values[terminal.name] = (f" {terminal.pattern.value} ",)
    return {name: v for name, v in values.items() if name in reachable}


@lru_cache(maxsize=None)
def shallow_expansions(start: str):
    """{rule: [expansion, ...]} and {rule: the expansions that end soonest}."""
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
    shallow = {name: [e for e in options if cost(e) == min(cost(x) for x in options)]
               for name, options in expansions.items()}
    return expansions, shallow


def random_program(c, start: str = "start", limit: int = 10) -> str:
    """A program (statement, expression) of the grammar, drawn with `c` (RandomChoices), nested
    about `limit` rules deep at most; the long run's counterpart of `grammar_strategy`."""
    deep, shallow = shallow_expansions(start)
    values = terminal_values(start)
    ignore = [v for name in fuzz_grammar().ignore_tokens for v in values.get(name, ())]
    out: list[str] = []
    stack = [(start, False, 0)]   # (symbol name, is terminal, depth)
    while stack:
        name, terminal, depth = stack.pop()
        if terminal:
            out.append(c.choice(values[name]))
            if ignore and c.integer(0, 9) == 0:
                out.append(c.choice(ignore))
            continue
        options = (deep if depth < limit else shallow)[name]
        expansion = c.choice(options)
        for sym in reversed(expansion):
            stack.append((sym.name, isinstance(sym, Terminal), depth + 1))
    return "".join(out)


def _lines_with_code(text: str) -> list[int]:
    return [i for i, line in enumerate(text.split("\n"))
            if line.strip() and not line.lstrip().startswith("#")]


def splice_statement(c, text: str, statement: str) -> str:
    """`text` with `statement` replacing one of its lines or inserted."""
    lines = text.split("\n")
    if c.boolean():
        lines[c.choice(_lines_with_code(text))] = statement
    else:
        lines.insert(c.integer(1, len(lines)), statement)
    return "\n".join(lines)


def _slots(tokens):
    return [i for i, tok in enumerate(tokens) if re.fullmatch(r"[^\W\d]\w*|\d.*", tok) and tok not in KEYWORDS]


def splice_expression(c, text: str, expression: str) -> str:
    """`text` with `(expression)` for one of its names or numbers (outside comments)."""
    tokens = TOKEN.findall(text)
    tokens[c.choice(_slots(tokens))] = "(" + expression + ")"
    return "".join(tokens)


# -- mutations: each takes (c, text) and returns the new text


def _significant(tokens):
    return [i for i, tok in enumerate(tokens) if not tok.isspace()]


def _pick_token(c, tokens, predicate=lambda tok: True):
    candidates = [i for i in _significant(tokens) if predicate(tokens[i])]
    return c.choice(candidates) if candidates else None


def m_delete_token(c, text):
    tokens = TOKEN.findall(text)
    i = _pick_token(c, tokens)
    if i is not None:
        tokens[i] = ""
    return "".join(tokens)


def m_duplicate_token(c, text):
    tokens = TOKEN.findall(text)
    i = _pick_token(c, tokens)
    if i is not None:
        tokens[i] = tokens[i] + " " + tokens[i]
    return "".join(tokens)


def m_swap_tokens(c, text):
    tokens = TOKEN.findall(text)
    sig = _significant(tokens)
    if not sig:
        return text
    a = c.integer(0, len(sig) - 1)
    b = a + 1 if c.boolean() and a + 1 < len(sig) else c.integer(0, len(sig) - 1)
    tokens[sig[a]], tokens[sig[b]] = tokens[sig[b]], tokens[sig[a]]
    return "".join(tokens)


def m_delete_line(c, text):
    lines = text.split("\n")
    del lines[c.integer(0, len(lines) - 1)]
    return "\n".join(lines)


def m_duplicate_line(c, text):
    lines = text.split("\n")
    i = c.integer(0, len(lines) - 1)
    lines.insert(c.integer(0, len(lines)), lines[i])
    return "\n".join(lines)


def m_swap_lines(c, text):
    lines = text.split("\n")
    a, b = c.integer(0, len(lines) - 1), c.integer(0, len(lines) - 1)
    lines[a], lines[b] = lines[b], lines[a]
    return "\n".join(lines)


def m_replace_name(c, text):
    tokens = TOKEN.findall(text)
    i = _pick_token(c, tokens, lambda tok: re.fullmatch(r"[^\W\d]\w*", tok) is not None)
    if i is not None:
        local = sorted({tok for tok in tokens if re.fullmatch(r"[^\W\d]\w*", tok)})
        tokens[i] = c.choice(c.choice([local, NAMES, NUMBERS]))
    return "".join(tokens)


def m_change_number(c, text):
    tokens = TOKEN.findall(text)
    i = _pick_token(c, tokens, lambda tok: tok[0].isdigit())
    if i is not None:
        tokens[i] = c.choice(["0", "-1", "1e400", "-1e400", "1e-400", "0.0", "1.5",
                              str(10 ** 30), str(2 ** 63), "(0 - 1)", "(1 / 0)", "1e30"])
    return "".join(tokens)


def m_delete_char(c, text):
    if not text:
        return text
    i = c.integer(0, len(text) - 1)
    return text[:i] + text[i + 1:]


# ASCII punctuation, and some characters that are whitespace or line ends to some and not others
PUNCTUATION = (list("()[]{},.:;=+-*/^|~#\"'!@$%&?<>\\`\t\n")
               + ["\r", "\x0c", "\x00", "\u00a0", "\u2028", "\u00e9"])


def m_insert_punctuation(c, text):
    i = c.integer(0, len(text))
    return text[:i] + c.choice(PUNCTUATION) + text[i:]


# -- deep nesting

NESTING_DEPTHS = [1, 2, 3, 10, 50, 99, 100, 101, 200, 256, 500, 999, 1000, 1001, 1500, 2000]
NESTING_CALLS = ["tanh", "exp", "sin", "abs", "sqrt", "sigmoid", "relu", "softplus", "mean", "sum", "f"]
NESTINGS = ["minus", "spaced minus", "parentheses", "minus parentheses", "calls", "lists", "norms",
            "sum chain", "product chain", "power chain", "transpose chain", "attribute chain", "mixed"]


def nest(kind: str, k: int, inner: str, call: str = "tanh") -> str:
    """`inner` nested `k` deep (or a chain of k operators: a tree as deep)."""
    if kind == "minus":
        return "-" * k + inner
    if kind == "spaced minus":
        return "- " * k + inner
    if kind == "parentheses":
        return "(" * k + inner + ")" * k
    if kind == "minus parentheses":
        return "-(" * k + inner + ")" * k
    if kind == "calls":
        return f"{call}(" * k + inner + ")" * k
    if kind == "lists":
        return "[" * k + inner + "]" * k
    if kind == "norms":
        return "|(" * k + inner + ")|" * k
    if kind == "sum chain":
        return " + ".join([inner] * (k + 1))
    if kind == "product chain":
        return " * ".join([inner] * (k + 1))
    if kind == "power chain":
        return inner + " ^ 1" * k
    if kind == "transpose chain":
        return inner + "^T" * k
    if kind == "attribute chain":
        return inner + ".x" * k
    if kind == "mixed":   # -( tanh( ( [ ... ] ) ) ) repeated
        return "-(tanh(([" * (k // 4 + 1) + inner + "])))" * (k // 4 + 1)
    raise ValueError(kind)


_EXPRESSION_BEFORE = {"=", "(", ",", "+", "-", "*", "/", "^", "**", "[", "|", "loss", "report", "~"}


def m_deep_nesting(c, text):
    """A name or number (one in an expression, mostly) nested k deep, k up to 2000."""
    tokens = TOKEN.findall(text)
    slots = _slots(tokens)
    if not slots:
        return text
    in_expression = []
    for i in slots:
        before = next((tokens[j] for j in range(i - 1, -1, -1) if not tokens[j].isspace()), "")
        if before in _EXPRESSION_BEFORE:
            in_expression.append(i)
    i = c.choice(in_expression if in_expression and c.integer(0, 4) else slots)
    k = c.choice(NESTING_DEPTHS) if c.boolean() else c.integer(1, 2000)
    tokens[i] = nest(c.choice(NESTINGS), k, tokens[i], c.choice(NESTING_CALLS))
    return "".join(tokens)


# -- huge and tiny numbers

EXTREME_NUMBERS = [
    "10^400", "2^1024", "2^1023", "10**400", "-(2^1024)", "(10^400)", "10^-400", "2^-1075", "2^-1074",
    "1e400", "-1e400", "1e-400", "1e308", "2e308", "1.7976931348623157e308", "1.8e308", "4.9e-324",
    "2.5e-324", "1e-320", "1e999999999", "1e-999999999", "1.5e30000", "0." + "0" * 400 + "1",
    "9" * 5000, "1" + "0" * 139, "9" * 140, "123456789" * 16, "1" + "0" * 4299, "1" + "0" * 4300,
    "2^63", "2^64", "-2^63", "99999999999999999999.5", "1" + "0" * 400 + ".0",
    "2^2^2^2^2^2", "2^2^2^2^2", "2 ** 2 ** 2 ** 2 ** 2 ** 2", "10^10^10", "9^9^9", "(2^2)^2^2^2",
    "10^400 / 10^400", "10^400 - 10^400", "1e400 * 0", "0^0", "0^-1", "(0 - 1)^0.5", "(1 / 0)",
    "1 / 10^400", "2^1024 * 0", "10^400000", "(10^400)^T",
]


def m_extreme_number(c, text):
    """One to three numbers (step counts, widths, matrix entries, linspace and sample counts)
    made huge, tiny or a power tower."""
    tokens = TOKEN.findall(text)
    numbers = [i for i in _significant(tokens) if tokens[i][0].isdigit()]
    if not numbers:
        return text
    for _ in range(c.integer(1, 3)):
        tokens[c.choice(numbers)] = c.choice(EXTREME_NUMBERS)
    return "".join(tokens)


# -- odd line breaks

LINE_BREAKS = ["\r", "\r\n", "\f", "\v", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def m_odd_line_break(c, text):
    """A line break other than '\\n' for a '\\n', beside one, or in the middle of a line; or every
    '\\n' replaced (a file from another system)."""
    brk = c.choice(LINE_BREAKS)
    newlines = [i for i, ch in enumerate(text) if ch == "\n"]
    how = c.choice(["for", "before", "after", "mid-line", "mid-line", "every"])
    if how == "every":
        return text.replace("\n", brk)
    if how != "mid-line" and newlines:
        i = c.choice(newlines)
        if how == "for":
            return text[:i] + brk + text[i + 1:]
        if how == "before":
            return text[:i] + brk + text[i:]
        return text[:i + 1] + brk + text[i + 1:]
    i = c.integer(0, len(text))
    return text[:i] + brk + text[i:]


MUTATIONS = [m_delete_token, m_duplicate_token, m_swap_tokens, m_delete_line, m_duplicate_line,
             m_swap_lines, m_replace_name, m_change_number, m_delete_char, m_insert_punctuation]
HOSTILE_MUTATIONS = {"deep nesting": m_deep_nesting, "numbers": m_extreme_number,
                     "line breaks": m_odd_line_break}


def mutate(c, text: str, first, others=MUTATIONS, extra: int = 1) -> str:
    """`first(c, text)`, then up to `extra` more mutations from `others`."""
    text = first(c, text)
    for _ in range(c.integer(0, extra)):
        text = c.choice(others)(c, text)
    return text


# -- invalid bytes (for `sciml check` on a file)

BOM = b"\xef\xbb\xbf"
INVALID_BYTES = [b"\xff", b"\xc3", b"\x00", b"\xfe", b"\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf0\x9f\x98",
                 b"\xf4\x90\x80\x80", b"\xe9", b"\xff\xfe"]


def b_insert(c, data: bytes) -> bytes:
    i = c.integer(0, len(data))
    return data[:i] + c.choice(INVALID_BYTES) + data[i:]


def b_replace(c, data: bytes) -> bytes:
    if not data:
        return data
    i = c.integer(0, len(data) - 1)
    return data[:i] + c.choice(INVALID_BYTES) + data[i + 1:]


def b_at_line_start(c, data: bytes) -> bytes:
    starts = [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A]
    i = c.choice(starts)
    return data[:i] + c.choice(INVALID_BYTES + [BOM]) + data[i:]


def b_bom_start(c, data: bytes) -> bytes:
    return BOM + data


def b_bom_mid(c, data: bytes) -> bytes:
    i = c.integer(0, len(data))
    return data[:i] + BOM + data[i:]


def b_lone_lead_at_end(c, data: bytes) -> bytes:
    return data + c.choice([b"\xc3", b"\xe2\x80", b"\xf0\x9f\x98"])


def b_nul(c, data: bytes) -> bytes:
    i = c.integer(0, len(data))
    return data[:i] + b"\x00" * c.choice([1, 1, 2, 100]) + data[i:]


def b_other_encoding(c, data: bytes) -> bytes:
    text = data.decode("utf-8", errors="replace")
    return text.encode(c.choice(["utf-16", "utf-16-be", "utf-32", "latin-1"]), errors="replace")


BYTE_MUTATIONS = [b_insert, b_insert, b_replace, b_at_line_start, b_bom_start, b_bom_start, b_bom_mid,
                  b_lone_lead_at_end, b_nul, b_other_encoding]


def mutate_bytes(c, text: str) -> bytes:
    """`text` (maybe with odd line breaks) in UTF-8 with one to three byte mutations."""
    if c.integer(0, 2) == 0:
        text = m_odd_line_break(c, text)
    data = text.encode("utf-8", errors="surrogatepass")
    for _ in range(c.integer(1, 3)):
        data = c.choice(BYTE_MUTATIONS)(c, data)
    return data


# -- hostile file names

FILE_NAME_PIECES = ["\n", "\r", "\r\n", '"', "'", '"""', "'''", "\\", "\\n", "\\x00", "#", "# x\n",
                    "\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\t", " ", "{", "}", "{0}", "%s", "$HOME",
                    "`", ";", "\u202e", "\x1b[31m", "\u00e9", "\ufeff", "*", "?", "--help", "..", "\x7f",
                    "\"\"\"; import os #", "\n'''\nimport os\n"]
DATA_SPEC = DATA_FILE_SPEC.lstrip("\n").replace("{file}", "{DATA}")
DATA_CSV = b"x[0],x[1],label\n0.5,-1.0,1\n-0.25,0.75,0\n1.5,2.0,1\n"


def hostile_file_name(c, suffix: str, quotable: bool = False) -> str:
    """A file name of one to three hostile pieces (and a letter or two), ending in `suffix`;
    `quotable`: none of '"' and '\\n', which a `load "..."` string cannot hold."""
    pieces = [p for p in FILE_NAME_PIECES if not (quotable and ('"' in p or "\n" in p))]
    name = "".join(c.choice(pieces) + c.choice(["", "a", "b c"]) for _ in range(c.integer(1, 3)))
    return name + suffix


def file_name_case(c) -> dict:
    """The arguments of `check_file_names`, but `root`: a working spec or the data spec under
    hostile names."""
    folder = hostile_file_name(c, "", quotable=False) if c.integer(0, 3) == 0 else "hostile"
    if c.boolean():
        return dict(source=ZOO[c.choice(WORKING)], spec_name=hostile_file_name(c, c.choice([".sciml", ""])),
                    folder=folder)
    return dict(source=DATA_SPEC, spec_name=hostile_file_name(c, ".sciml"), folder=folder,
                data_name=hostile_file_name(c, ".csv", quotable=True), data=DATA_CSV)
