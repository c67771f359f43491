"""Hostile and broken input at the front end (issue 8): bytes that are not UTF-8 text, deep
nesting, odd line breaks, floods of errors, huge inputs and huge literals.  Each gets a
positioned diagnostic (E004, E005, E001, E008, E006) and exit status 1, never a traceback.

The timing test is a coarse hang guard (a quadratic front end takes minutes on its input), not a
benchmark: the front end's speed is measured by profiling, see docs/language.md, Limits.
"""
from __future__ import annotations

import io
import json
import os
import sys
import time
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sciml.cli import main  # noqa: E402
from sciml.frontend.diagnostics import (MAX_ERRORS, Span, SpecError, capped, error,  # noqa: E402
                                        render_text, source_lines)
from sciml.lowering.dump import dump  # noqa: E402
from sciml.latex.writer import to_latex  # noqa: E402
from sciml.pipeline import emit, front_end  # noqa: E402
from sciml.frontend.parser import MAX_DEPTH, MAX_SPEC_CHARS, decode, parse  # noqa: E402

RESNET = (ROOT / "specs" / "ode" / "resnet.sciml").read_bytes()
ODD_BREAKS = ["\f", "\v", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\r"]


def working(rhs: str = "tanh(W * Y)", loss: str = "mse(Y(1.0), train.x)") -> str:
    return ("model m\ndata train = generate spirals(samples = 10)\nstate Y : R[2]\n"
            f"param W : R[2, 2]\node dt(Y) = {rhs}\ninitial Y(0) = train.x\n"
            f"scheme euler(2, 1.0)\nloss {loss}\ntrain adam(lr = 1e-2, steps = 1)\n")


@pytest.fixture
def check(tmp_path, capsys, monkeypatch):
    """check(data: bytes, *options) -> (status, stdout, stderr) of `sciml check` on a file."""
    def run(data: bytes, *options, name="spec.sciml"):
        path = tmp_path / name
        path.write_bytes(data)
        monkeypatch.chdir(tmp_path)
        capsys.readouterr()
        status = main(["check", name, *options])
        out, err = capsys.readouterr()
        assert "Traceback" not in err and "internal error" not in err, err
        return status, out, err
    return run


def caret_under(err: str, line: int) -> tuple[str, int]:
    """(the quoted source line, the index in it of the first caret) for the first diagnostic."""
    lines = err.splitlines()
    quoted = next(i for i, text in enumerate(lines) if text.startswith(f"{line:>4} | "))
    gutter = len(f"{line:>4} | ")
    return lines[quoted][gutter:], lines[quoted + 1].index("^") - gutter


# ---- bytes that are not UTF-8 text -------------------------------------------------------------

def test_a_byte_that_is_not_utf8_is_e004_at_its_line_and_column(check):
    status, _, err = check(b"model m\nconst a = 1\xff\n")
    assert status == 1
    assert "spec.sciml:2:12: error[E004]: the file is not valid UTF-8 (byte 0xff)" in err
    text, caret = caret_under(err, 2)
    assert text == "const a = 1\ufffd" and caret == 11


def test_the_column_of_a_bad_byte_counts_characters_not_bytes(check):
    status, _, err = check("model m\n# é ü 変\n".encode() + b"const a = \xc3(\n")
    assert status == 1 and "spec.sciml:3:11: error[E004]" in err


@pytest.mark.parametrize("data", [bytes(range(256)) * 4, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
                                  "model m\n".encode("utf-16")], ids=["binary", "png", "utf16"])
def test_a_binary_file_is_e004(check, data):
    status, _, err = check(data)
    assert status == 1 and "error[E004]" in err


def test_a_utf16_file_is_told_to_be_saved_as_utf8(check):
    _, _, err = check("model m\n".encode("utf-16"))
    assert ":1:1: error[E004]: the file is not valid UTF-8 (byte 0xff)" in err
    assert "UTF-16" in err


def test_a_nul_byte_is_e004(check):
    status, _, err = check(b"model m\nconst a = 1\x00\n")
    assert status == 1 and ":2:12: error[E004]: the file contains a NUL byte" in err


def test_e004_in_json(check):
    status, out, _ = check(b"model m\n\xfe\n", "--format", "json")
    (d,) = json.loads(out)["diagnostics"]
    assert status == 1 and (d["code"], d["line"], d["column"]) == ("E004", 2, 1)


def test_standard_input_is_read_as_bytes(capsys, monkeypatch):
    class Stdin:
        buffer = io.BytesIO(b"model m\nconst a = 1\xff\n")
    monkeypatch.setattr(sys, "stdin", Stdin())
    assert main(["check", "-"]) == 1
    assert "<stdin>:2:12: error[E004]" in capsys.readouterr().err


def test_a_byte_order_mark_is_accepted(check):
    status, _, err = check(b"\xef\xbb\xbf" + RESNET, name="resnet.sciml")
    assert status == 0, err
    assert err.rstrip().splitlines()[-1].startswith("resnet.sciml: ok")


def test_columns_after_a_byte_order_mark_are_those_an_editor_shows(check):
    _, _, err = check("\ufeffmodel m const a = zz\n".encode())
    assert "spec.sciml:1:19: error[E101]" in err
    text, caret = caret_under(err, 1)
    assert text.startswith("model m") and caret == 18


def test_decode():
    assert decode(b"\xef\xbb\xbfmodel m\n") == "model m\n"
    with pytest.raises(SpecError) as exc:
        decode(b"model m\n\n  \x80")
    (d,) = exc.value.diagnostics
    assert (d.code, d.span.line, d.span.column) == ("E004", 3, 3)


# ---- deep nesting --------------------------------------------------------------------------------

@pytest.mark.parametrize("loss", ["-" * 1000 + "1", "+".join(["1"] * 10_000), "tanh(" * 1000 + "1" + ")" * 1000,
                                  "[" * 1000 + "1" + "]" * 1000, "x" + "^T" * 1000, "a" + ".b" * 1000])
def test_deep_nesting_is_e005_not_a_crash(check, loss):
    status, _, err = check(f"model m\nloss {loss}\n".encode())
    assert status == 1
    assert "spec.sciml:2:" in err and f"error[E005]: expression nested too deeply (more than {MAX_DEPTH} levels)" in err


def test_e005_points_at_the_level_past_the_limit(check):
    _, _, err = check(f"model m\nloss {'-' * 1000}1\n".encode())
    column = len("loss ") + MAX_DEPTH + 1           # the minus sign MAX_DEPTH + 1
    assert f"spec.sciml:2:{column}: error[E005]" in err


def test_a_thousand_parentheses_are_not_nesting(check):
    status, _, err = check(f"model m\nconst a = {'(' * 1000}1{')' * 1000}\n".encode())
    assert status == 1 and "E005" not in err and "E309" in err    # only what the spec lacks


def test_each_deep_statement_is_reported():
    source = "model m\n" + "".join(f"loss {'-' * 200}{i}\n" for i in range(3))
    with pytest.raises(SpecError) as exc:
        parse(source)
    assert [(d.code, d.span.line) for d in exc.value.diagnostics] == [("E005", 2), ("E005", 3), ("E005", 4)]


def _nested(depth: int, wrap) -> str:
    text = "Y"
    for _ in range(depth):
        text = wrap(text)
    return text


AT_THE_LIMIT = {     # right sides nested MAX_DEPTH levels deep, each deep in its own way
    "minus": "-" * (MAX_DEPTH - 4) + "tanh(W * Y)",
    "sum": " + ".join(["tanh(W * Y)"] * (MAX_DEPTH - 3)),
    "matrix products": _nested(MAX_DEPTH - 2, lambda e: f"W * {e}"),
    "calls": _nested(MAX_DEPTH // 2 - 1, lambda e: f"relu({e} + Y)"),
    "quotients": _nested(MAX_DEPTH // 2 - 1, lambda e: f"(Y / ({e} + 2))"),
}


@pytest.mark.parametrize("rhs", AT_THE_LIMIT.values(), ids=AT_THE_LIMIT.keys())
def test_an_expression_at_the_limit_goes_through_every_stage(rhs):
    """Nothing after the parser recurses so deep that MAX_DEPTH levels exhaust Python's stack."""
    source = working(rhs)
    spec, model, _ = front_end(source, "deep.sciml")
    dump(spec), dump(model), to_latex(model)
    for backend in ("torch", "jax"):
        emit(model, source, "deep.sciml", backend)


# ---- line breaks: lines end at \n only, everywhere ------------------------------------------------

@pytest.mark.parametrize("char", ODD_BREAKS, ids=ascii)
def test_an_odd_line_break_in_a_comment_does_not_shift_the_lines(check, char):
    _, _, err = check(f"model m # a{char}b\nconst a = 1, b = zz\n".encode())
    assert "spec.sciml:2:18: error[E101]: unknown name 'zz'" in err
    text, caret = caret_under(err, 2)
    assert text == "const a = 1, b = zz" and caret == 17


@pytest.mark.parametrize("char", ODD_BREAKS + ["\ufeff", "\xa0", "\x00"], ids=ascii)
def test_an_odd_character_in_a_line_is_a_space_or_e001_at_its_column(char):
    source = f"model m\nconst a = 1,{char}b = zz\n"
    with pytest.raises(SpecError) as exc:
        front_end(source, "spec.sciml")
    d = exc.value.diagnostics[0]
    rendered = render_text(d, "spec.sciml", source)
    if char in "\f\r":                        # whitespace to the parser
        assert (d.code, d.span.line, d.span.column) == ("E101", 2, 18)
    else:
        assert (d.code, d.span.line, d.span.column) == ("E001", 2, 13)
        assert f"U+{ord(char):04X}" in d.help
    quoted, carets = rendered.splitlines()[1:3]
    assert quoted == "   2 | const a = 1, b = zz"      # the character shown as a space
    assert carets.index("^") == len("   2 | ") + d.span.column - 1


def test_the_end_of_the_file_is_on_the_last_line_the_parser_counted():
    with pytest.raises(SpecError) as exc:
        front_end("model m\nloss # one line\u2028two\x85three\n", "spec.sciml")
    (d,) = exc.value.diagnostics
    assert (d.code, d.span.line) == ("E003", 2)


def test_crlf_and_tabs(check):
    _, _, err = check(b"model m\r\nconst a =\t\tzz\r\n")
    assert "spec.sciml:2:12: error[E101]" in err and "\r" not in err
    text, caret = caret_under(err, 2)
    assert text == "const a =  zz" and caret == 11


def test_wide_characters_move_the_caret_by_their_width(check):
    _, _, err = check("model m\nconst 変数 = 1, x = zz\n".encode())
    text, caret = caret_under(err, 2)
    width = sum(2 if unicodedata.east_asian_width(c) == "W" else 1 for c in text[:text.index("zz")])
    assert caret == width


def test_source_lines_break_at_newlines_only():
    text = "a\fb\r\nc\u2028d\x85e\n\nf\rg\n"
    assert source_lines(text) == ("a\fb", "c\u2028d\x85e", "", "f\rg")
    assert source_lines("") == () and source_lines("x") == ("x",)


def test_a_huge_line_is_quoted_around_the_caret():
    line = "const a = " + "1 + " * 100_000 + "zz"
    column = line.index("zz") + 1
    source = f"model m\n{line}\n"
    d = error("E101", "unknown name 'zz'", Span(2, column, 2, column + 2))
    quoted, carets = render_text(d, "spec.sciml", source).splitlines()[1:3]
    assert len(quoted) < 600 and quoted.startswith("   2 | ... ")
    assert quoted[carets.index("^"):carets.index("^") + 2] == "zz"


def test_a_message_quoting_a_huge_name_is_cut_short(check):
    _, _, err = check(f"model m\nconst a = {'z' * 100_000}\n".encode())
    assert max(len(line) for line in err.splitlines()) < 1000


# ---- floods of errors, and time linear in the size -----------------------------------------------

def test_after_50_errors_sciml_stops_with_e008(check):
    status, _, err = check(("model m\n" + "const a = 1\n" * 200).encode())
    codes = [line.split("error[")[1][:4] for line in err.splitlines() if "error[" in line]
    assert status == 1 and codes == ["E102"] * MAX_ERRORS + ["E008"]
    assert f"spec.sciml:{MAX_ERRORS + 3}:7: error[E008]: too many errors; stopping" in err
    assert err.rstrip().endswith(f"{MAX_ERRORS} errors in spec.sciml; sciml stopped after {MAX_ERRORS}")


def test_the_cap_keeps_the_first_errors_by_position_and_stopping_last():
    found = [error("E101", f"e{i}", Span(100 - i, 1, 100 - i, 2)) for i in range(60)]
    kept = capped(found)
    assert len(kept) == MAX_ERRORS + 1 and kept[-1].code == "E008"
    assert [d.span.line for d in kept[:-1]] == list(range(41, 41 + MAX_ERRORS))
    assert kept[-1].span.line == 41 + MAX_ERRORS
    assert capped(kept) == kept                        # capping again changes nothing


@pytest.mark.parametrize("unit", ["const a = 1\n", "loss 1\n", "const a{i} = b{i}\n"])
def test_a_quarter_megabyte_of_pasted_lines_is_not_quadratic(unit):
    """Hang guard only: the quadratic front end took about 10 s on 0.1 MB of these."""
    lines = [unit.format(i=i) for i in range(250_000 // len(unit))]
    source = "model m\n" + "".join(lines)
    start = time.perf_counter()
    with pytest.raises(SpecError) as exc:
        front_end(source, "spec.sciml")
    assert time.perf_counter() - start < 60
    assert sum(d.severity == "error" for d in exc.value.diagnostics) <= MAX_ERRORS + 1


def test_a_chain_of_constants_is_not_quadratic():
    """Hang guard only: each constant read every constant before it (4,000 of them took 28 s)."""
    source = "model m\nconst a0 = 1\n" + "".join(f"const a{i} = a{i - 1} + 1\n" for i in range(1, 10_000))
    start = time.perf_counter()
    with pytest.raises(SpecError) as exc:
        front_end(source, "spec.sciml")
    assert time.perf_counter() - start < 60
    assert {d.code for d in exc.value.diagnostics} == {"E309"}      # no state, scheme, loss, train


def test_a_spec_larger_than_the_limit_is_e006_before_it_is_parsed():
    source = "model m\n" + "const a = 1\n" * (MAX_SPEC_CHARS // 12 + 1)
    start = time.perf_counter()
    with pytest.raises(SpecError) as exc:
        parse(source)
    assert time.perf_counter() - start < 10
    (d,) = exc.value.diagnostics
    assert d.code == "E006" and d.span.line == (MAX_SPEC_CHARS - 8) // 12 + 2


def test_a_huge_file_or_an_endless_stream_is_refused_unread(check, capsys):
    status, _, err = check(b"# " + b"x" * (5 << 20) + b"\n")
    assert status == 1 and "error[E006]: the spec is larger than 256 KiB" in err
    quoted = next(line for line in err.splitlines() if line.startswith("   1 | "))
    assert len(quoted) < 600
    if os.path.exists("/dev/zero"):
        assert main(["check", "/dev/zero"]) == 1
        assert "error[E006]" in capsys.readouterr().err


# ---- huge literals: the parser keeps the text, the checks after it judge the number ---------------

@pytest.mark.parametrize("line", ["const a = {n}", "net f(x) = mlp(2 -> {n} -> 2, tanh)",
                                  "scheme euler({n}, 1.0)", "const b = {n}.{n}e{n}"])
def test_an_integer_of_5000_digits_is_parsed_as_written(check, line):
    digits = "9" * 5000
    source = f"model m\n{line.format(n=digits)}\n"
    spec = parse(source)
    assert digits in repr(spec)
    status, _, _ = check(source.encode())      # then a diagnostic (E230), never a crash
    assert status == 1
