#!/usr/bin/env python
"""Rewrite the expected output of every bad spec from the current compiler.

Each `tests/bad/NAME.sciml` holds one mistake; `tests/bad/NAME.expected` is exactly what

    python -m sciml check tests/bad/NAME.sciml        (run from the repository root)

prints on standard error, followed by a last line `exit: STATUS`.  Messages show paths as
written in the spec; should the absolute path of the repository root appear all the same, it is
written as <ROOT> so that the files do not depend on where the checkout lives.

Usage (from anywhere):
    python tests/bad/regenerate.py            rewrite every .expected file
    python tests/bad/regenerate.py E202 E506  only the specs whose names start with these
    python tests/bad/regenerate.py --check    rewrite nothing; list the files that would change

Then review `git diff tests/bad`: every changed message, caret and help line is a change that
users will see.  tests/test_bad_specs.py compares the files byte for byte.
"""
from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
import sys
from pathlib import Path

BAD = Path(__file__).resolve().parent
ROOT = BAD.parent.parent


def normalize(text: str) -> str:
    """Output with the machine-specific root path replaced by <ROOT>."""
    return text.replace(str(ROOT), "<ROOT>")


def render(stderr: str, status: int) -> str:
    """The contents of an .expected file."""
    return normalize(stderr) + f"exit: {status}\n"


def specs() -> list[Path]:
    return sorted(BAD.glob("*.sciml"))


def check_output(spec: Path) -> str:
    """Run `python -m sciml check` on `spec` the way a user would, from the repository root."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONIOENCODING"] = "utf-8"   # a quoted line may hold U+FFFD (E004), whatever the locale
    proc = subprocess.run([sys.executable, "-m", "sciml", "check", spec.relative_to(ROOT).as_posix()],
                          cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8")
    return render(proc.stderr, proc.returncode)


def main(argv: list[str]) -> int:
    check_only = "--check" in argv
    prefixes = [a for a in argv if not a.startswith("--")]
    chosen = [s for s in specs() if not prefixes or s.stem.startswith(tuple(prefixes))]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 4) as pool:  # one process per spec
        outputs = list(pool.map(check_output, chosen))
    changed = []
    for spec, text in zip(chosen, outputs):
        expected = spec.with_suffix(".expected")
        old = expected.read_bytes().decode("utf-8") if expected.exists() else None
        if text != old:
            changed.append(expected.name)
            if not check_only:
                expected.write_bytes(text.encode("utf-8"))
        if "internal error" in text or "Traceback" in text:
            print(f"warning: {spec.name} crashes the compiler", file=sys.stderr)
    stale = [e.name for e in sorted(BAD.glob("*.expected")) if not e.with_suffix(".sciml").exists()]
    for name in stale:
        print(f"warning: {name} has no .sciml; delete it", file=sys.stderr)
    verb = "would change" if check_only else "rewrote"
    print(f"{verb} {len(changed)} file(s)" + (": " + ", ".join(changed) if changed else ""))
    return 1 if check_only and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
