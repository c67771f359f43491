"""The `sciml` command: compile, check and run .sciml specs.

Exit status: 0 success, 1 errors in the spec, 2 usage or internal error.
`sciml compile` and `sciml check` never import torch or jax.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

from sciml import __version__
from sciml.compiler.diagnostics import SpecError, render_json, render_text

BUG_REPORT = "this is a bug in sciml; please report it with the spec that triggered it"


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    return Path(path).read_text(encoding="utf-8")


def _report(exc: SpecError, path: str, source: str, fmt: str) -> None:
    shown = "<stdin>" if path == "-" else path
    if fmt == "json":
        print(render_json(exc.diagnostics, shown))
    else:
        print("\n".join(render_text(d, shown, source) for d in exc.diagnostics), file=sys.stderr)
        errors = sum(d.severity == "error" for d in exc.diagnostics)
        print(f"{errors} error{'s' if errors != 1 else ''} in {shown}", file=sys.stderr)


def cmd_compile(args) -> int:
    from sciml.compiler.pipeline import compile_spec, dump_stage

    source = _read(args.spec)
    if args.dump:
        text = dump_stage(source, args.spec, args.dump)
    else:
        text = compile_spec(source, args.spec, args.backend)
    if args.output in (None, "-"):
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        Path(args.output).write_text(text, encoding="utf-8")
    return 0


def cmd_check(args) -> int:
    from sciml.compiler.pipeline import front_end
    from sciml.compiler.diagnostics import render_json

    source = _read(args.spec)
    front_end(source, args.spec)
    if args.format == "json":
        print(render_json((), "<stdin>" if args.spec == "-" else args.spec))
    else:
        print(f"{args.spec}: ok", file=sys.stderr)
    return 0


def cmd_run(args) -> int:
    from sciml.compiler.pipeline import compile_spec

    source = _read(args.spec)
    text = compile_spec(source, args.spec, args.backend)
    with tempfile.TemporaryDirectory(prefix="sciml-run-") as tmp:
        module = Path(tmp) / "model.py"
        module.write_text(text, encoding="utf-8")
        command = [sys.executable, str(module), "--seed", str(args.seed), "--device", args.device,
                   "--dtype", args.dtype]
        if args.steps is not None:
            command += ["--steps", str(args.steps)]
        if args.json:
            command.append("--json")
        if args.out:
            command += ["--out", args.out]
        return subprocess.call(command)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sciml", description="Compile scientific ML specs to PyTorch or JAX.")
    parser.add_argument("--version", action="version", version=f"sciml {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("compile", help="write the PyTorch or JAX module of a spec")
    p.add_argument("spec", help="the .sciml file, or - for standard input")
    p.add_argument("--backend", choices=("torch", "jax"), default="torch")
    p.add_argument("-o", "--output", help="output file (default: standard output)")
    p.add_argument("--dump", choices=("ast", "ir"), help="print a stage of the compiler instead")
    p.add_argument("--format", choices=("text", "json"), default="text", help="diagnostics format")
    p.set_defaults(run=cmd_compile)

    p = sub.add_parser("check", help="check a spec without writing code")
    p.add_argument("spec")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=cmd_check)

    p = sub.add_parser("run", help="compile to a temporary module and train")
    p.add_argument("spec")
    p.add_argument("--backend", choices=("torch", "jax"), default="torch")
    p.add_argument("--steps", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--json", action="store_true")
    p.add_argument("--out")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=cmd_run)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    source = ""
    try:
        source = _read(args.spec) if args.spec != "-" else ""
    except OSError as exc:
        print(f"sciml: error: cannot read {args.spec}: {exc.strerror}", file=sys.stderr)
        return 2
    if args.spec == "-":
        stdin_text = sys.stdin.read()
        sys.stdin = _Replay(stdin_text)
        source = stdin_text
    try:
        return args.run(args)
    except SpecError as exc:
        _report(exc, args.spec, source, args.format)
        return 1
    except KeyboardInterrupt:
        return 2
    except Exception:  # a compiler bug: say so, keep the details out of the user's way
        log = Path(tempfile.gettempdir()) / "sciml-internal-error.txt"
        log.write_text(traceback.format_exc(), encoding="utf-8")
        print(f"sciml: internal error: {BUG_REPORT} (details in {log})", file=sys.stderr)
        return 2


class _Replay:
    """Standard input already read once, served again to the subcommand."""

    def __init__(self, text):
        self._text = text

    def read(self):
        return self._text


if __name__ == "__main__":
    sys.exit(main())
