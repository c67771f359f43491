"""The bad-spec corpus, stanc3 style: every tests/bad/NAME.sciml holds one mistake, and
tests/bad/NAME.expected is exactly what `python -m sciml check tests/bad/NAME.sciml` prints on
standard error (run from the repository root), then a line `exit: STATUS`.

After an intended change to a message, caret or help line:
    python tests/bad/regenerate.py        and review `git diff tests/bad`.
"""
from __future__ import annotations

import difflib
import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "bad"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sciml.cli import main  # noqa: E402

SPECS = sorted(BAD.glob("*.sciml"))
REGENERATE = "python tests/bad/regenerate.py"
CODE = re.compile(r"^\S+:\d+:\d+: error\[(E\d{3})\]: ", re.MULTILINE)


def _regenerate_module():
    spec = importlib.util.spec_from_file_location("bad_regenerate", BAD / "regenerate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


regenerate = _regenerate_module()


def run_check(spec: Path, capsys, monkeypatch) -> tuple[str, str]:
    """(the .expected rendering, stdout) of `sciml check` on `spec`, run in-process from ROOT."""
    monkeypatch.chdir(ROOT)
    capsys.readouterr()
    try:
        status = main(["check", spec.relative_to(ROOT).as_posix()])
    except SystemExit as exc:  # argparse and friends
        status = exc.code
    out, err = capsys.readouterr()
    return regenerate.render(err, status), out


def expected_codes(text: str) -> list[str]:
    return CODE.findall(text)


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_bad_spec_output_is_pinned(spec, capsys, monkeypatch):
    actual, out = run_check(spec, capsys, monkeypatch)
    assert "Traceback" not in actual and "internal error" not in actual, \
        f"{spec.name} crashes the compiler:\n{actual}"
    assert out == "", f"`sciml check` wrote to standard output for {spec.name}:\n{out}"
    expected_file = spec.with_suffix(".expected")
    assert expected_file.exists(), f"{expected_file.name} is missing; run {REGENERATE}"
    expected = expected_file.read_bytes()
    if actual.encode("utf-8") != expected:
        diff = "".join(difflib.unified_diff(
            expected.decode("utf-8").splitlines(keepends=True), actual.splitlines(keepends=True),
            fromfile=f"tests/bad/{expected_file.name}", tofile="sciml check (now)"))
        pytest.fail(f"the diagnostics for {spec.name} changed:\n{diff}\nIf the change is intended, "
                    f"run `{REGENERATE}` and review `git diff tests/bad`.", pytrace=False)


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_bad_spec_is_an_error_with_the_code_in_its_name(spec):
    """A bad spec exits 1, and NAME starts with a code that it reports (unless the spec says that
    the code is a known issue)."""
    text = spec.with_suffix(".expected").read_text(encoding="utf-8")
    assert text.endswith("exit: 1\n"), f"{spec.name} does not exit with status 1"
    codes = expected_codes(text)
    assert codes, f"{spec.name} reports no error"
    named = spec.stem.split("_")[0]
    assert re.fullmatch(r"E\d{3}", named), f"name {spec.name} as <CODE>_<what>.sciml"
    if "KNOWN ISSUE (wrong code)" not in spec.read_bytes().decode("utf-8", errors="replace"):  # E004: not UTF-8
        assert named in codes, f"{spec.name} is named for {named} but reports {codes}"


def test_corpus_covers_at_least_30_codes():
    codes = {c for spec in SPECS
             for c in expected_codes(spec.with_suffix(".expected").read_text(encoding="utf-8"))}
    assert len(codes) >= 30, sorted(codes)
    # E9xx (not supported yet) comes from the emitter only: tests/test_zoo.py
    for family in ("E0", "E1", "E2", "E3", "E4", "E5", "E6"):
        assert any(c.startswith(family) for c in codes), f"no {family}xx code in tests/bad"


def test_every_expected_file_has_a_spec():
    orphans = [e.name for e in BAD.glob("*.expected") if not e.with_suffix(".sciml").exists()]
    assert not orphans, f"expected files without a spec: {orphans}; delete them"


def test_regenerate_matches_the_real_command_line():
    """regenerate.py runs `python -m sciml check` in a subprocess; the in-process run above must
    agree with it (spot check on one spec, since each subprocess imports sympy)."""
    spec = BAD / "E202_matvec_mismatch.sciml"
    assert regenerate.check_output(spec).encode("utf-8") == spec.with_suffix(".expected").read_bytes()
