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
from sciml.backends import BACKENDS, NAMES as BACKEND_NAMES
from sciml.frontend.diagnostics import (TOO_MANY, SpecError, count_text, render_json, render_text,
                                        with_severity)

BUG_REPORT = "this is a bug in sciml; please report it with the spec that triggered it"


def _read_bytes(path: str) -> bytes:
    """The bytes of the spec (standard input for '-'): at most one more than a spec may have,
    so that a huge file or an endless stream (/dev/zero) is refused (E006) without being read."""
    from sciml.frontend.parser import MAX_SPEC_BYTES
    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:                      # a text stream put in place of standard input
            return sys.stdin.read().encode("utf-8", "surrogateescape")
        return stream.read(MAX_SPEC_BYTES + 1)
    with open(path, "rb") as file:
        return file.read(MAX_SPEC_BYTES + 1)


def _read(path: str) -> str:
    """The text of the spec; `SpecError` (E004, E006) when it is not UTF-8 text of a spec's size."""
    from sciml.frontend.parser import decode
    return decode(_read_bytes(path))


def _report(exc: SpecError, path: str, source: str, fmt: str, notes: bool = True) -> None:
    """The diagnostics of a spec that has errors (with its warnings, and notes unless left out)."""
    shown = "<stdin>" if path == "-" else path
    diagnostics = [d for d in exc.diagnostics if notes or d.severity != "note"]
    if fmt == "json":
        print(render_json(diagnostics, shown))
    else:
        print("\n".join(render_text(d, shown, source) for d in diagnostics), file=sys.stderr)
        errors = sum(d.severity == "error" and d.code != TOO_MANY for d in diagnostics)
        rest = count_text(diagnostics, ("warning", "note"))
        stopped = any(d.code == TOO_MANY for d in diagnostics)
        print(f"{errors} error{'s' if errors != 1 else ''} in {shown}" + (f" ({rest})" if rest else "")
              + (f"; sciml stopped after {errors}" if stopped else ""), file=sys.stderr)


def _strict(findings, strict: bool) -> tuple:
    """--strict: every warning is an error."""
    if not strict:
        return tuple(findings)
    return tuple(with_severity(d, "error") if d.severity == "warning" else d for d in findings)


def cmd_compile(args) -> int:
    from sciml.pipeline import dump_stage, emit, front_end

    source = _read(args.spec)
    if args.dump:
        text = dump_stage(source, args.spec, args.dump)
    else:
        _, model, findings = front_end(source, args.spec, allow_unstable=args.allow_unstable)
        findings = _strict(findings, args.strict)
        if any(d.severity == "error" for d in findings):
            raise SpecError(findings)
        if args.format == "text":      # warnings on standard error, as compilers do; notes: check
            for d in findings:
                if d.severity == "warning":
                    print(render_text(d, "<stdin>" if args.spec == "-" else args.spec, source),
                          file=sys.stderr)
        text = emit(model, source, args.spec, args.backend, output=args.output,  # data: see -o
                    standalone=args.standalone)
    if args.output in (None, "-"):
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text, encoding="utf-8")
    return 0


def cmd_check(args) -> int:
    """Every finding (errors, warnings, notes), then a last line: `PATH: ok` or `N errors in PATH`."""
    from sciml.pipeline import front_end

    source = _read(args.spec)
    shown = "<stdin>" if args.spec == "-" else args.spec
    _, _, findings = front_end(source, args.spec, allow_unstable=args.allow_unstable)
    findings = _strict(findings, args.strict)
    if any(d.severity == "error" for d in findings):
        raise SpecError(findings)
    if args.format == "json":
        print(render_json(findings, shown))
    else:
        for d in findings:
            print(render_text(d, shown, source), file=sys.stderr)
        counts = count_text(findings)
        print(f"{shown}: ok" + (f" ({counts})" if counts else ""), file=sys.stderr)
    return 0


def cmd_latex(args) -> int:
    """The model, the scheme's update equations and the loss as LaTeX (never imports torch/jax)."""
    from sciml.latex.writer import to_latex
    from sciml.pipeline import front_end

    source = _read(args.spec)
    _, model, findings = front_end(source, args.spec, allow_unstable=args.allow_unstable)
    findings = _strict(findings, args.strict)
    if any(d.severity == "error" for d in findings):
        raise SpecError(findings)
    text = to_latex(model, standalone=args.standalone)
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
    return 0


def cmd_run(args) -> int:
    from sciml.pipeline import compile_spec

    source = _read(args.spec)
    text = compile_spec(source, args.spec, args.backend, allow_unstable=args.allow_unstable)
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
        if args.check_stability:
            command += ["--check-stability", "--check-every", str(args.check_every)]
        for option in ("checkpoint", "resume", "plot"):   # folders: relative to where sciml runs
            if getattr(args, option):
                command += [f"--{option}", getattr(args, option)]
        if args.checkpoint:
            command += ["--checkpoint-every", str(args.checkpoint_every)]
        if args.compile:
            command.append("--compile")
        if args.report_every:
            command += ["--report-every", str(args.report_every)]
        # data files are read from the spec's folder (the module is in a temporary one)
        spec_dir = Path(args.spec).resolve().parent if args.spec != "-" else Path.cwd()
        env = dict(os.environ)
        env.setdefault("SCIML_DATA_DIR", str(spec_dir))
        return subprocess.call(command, env=env)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sciml", description="Compile scientific ML specs to PyTorch or JAX.")
    parser.add_argument("--version", action="version", version=f"sciml {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("compile", help="write the PyTorch or JAX module of a spec")
    p.add_argument("spec", help="the .sciml file, or - for standard input")
    _backend_option(p)
    p.add_argument("-o", "--output", help="output file (default: standard output)")
    p.add_argument("--dump", choices=("ast", "ir"), help="print a stage of the compiler instead")
    p.add_argument("--standalone", action="store_true",
                   help="paste the training runtime in: the module needs only numpy and torch (or jax, optax)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="diagnostics format")
    _analysis_options(p)
    p.set_defaults(run=cmd_compile)

    p = sub.add_parser("check", help="check a spec without writing code; print every finding")
    p.add_argument("spec")
    p.add_argument("--format", choices=("text", "json"), default="text")
    _analysis_options(p)
    p.set_defaults(run=cmd_check)

    p = sub.add_parser("latex", help="print the model, the scheme and the loss as LaTeX")
    p.add_argument("spec")
    p.add_argument("--standalone", action="store_true", help="a complete compilable document")
    p.add_argument("-o", "--output", help="output file (default: standard output)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="diagnostics format")
    _analysis_options(p)
    p.set_defaults(run=cmd_latex)

    p = sub.add_parser("run", help="compile to a temporary module and train")
    p.add_argument("spec")
    _backend_option(p)
    p.add_argument("--steps", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--json", action="store_true")
    p.add_argument("--out")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--allow-unstable", action="store_true",
                   help="compile a scheme that is unstable on the model (A201 becomes a warning)")
    p.add_argument("--check-stability", action="store_true",
                   help="check the analysis' step-size bounds with the weights during training")
    p.add_argument("--check-every", type=int, default=10, help="training steps between checks")
    p.add_argument("--checkpoint", metavar="DIR", help="write checkpoints to DIR while training")
    p.add_argument("--checkpoint-every", type=int, default=100, metavar="N", help="steps between checkpoints")
    p.add_argument("--resume", metavar="DIR", help="continue from the checkpoint in DIR (of the same spec)")
    p.add_argument("--plot", metavar="DIR", help="draw the loss curve and the fit to observed data in DIR")
    p.add_argument("--compile", action="store_true", help="torch.compile the training step (torch)")
    p.add_argument("--report-every", type=int, default=0, metavar="N",
                   help="evaluate the reports every N steps too (report_history in the JSON result)")
    p.set_defaults(run=cmd_run)
    return parser


def _backend_option(p) -> None:
    p.add_argument("--backend", choices=BACKEND_NAMES, default=BACKEND_NAMES[0],
                   help="; ".join(f"{b.name}: {b.title} (pip install sciml-compiler[{b.extra}])"
                                  for b in BACKENDS))


def _analysis_options(p) -> None:
    p.add_argument("--allow-unstable", action="store_true",
                   help="accept a scheme that is unstable on the model (A201 becomes a warning)")
    p.add_argument("--strict", action="store_true", help="treat every warning as an error")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        data = _read_bytes(args.spec)
    except OSError as exc:
        print(f"sciml: error: cannot read {args.spec}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if args.spec == "-":
        sys.stdin = _Replay(data)
    from sciml.frontend.parser import shown_text
    source = shown_text(data)  # what diagnostics quote; the subcommand decodes it (E004, E006)
    try:
        return args.run(args)
    except SpecError as exc:
        _report(exc, args.spec, source, args.format, notes=args.command in ("check", "latex"))
        return 1
    except KeyboardInterrupt:
        return 2
    except MemoryError:
        print("sciml: error: out of memory", file=sys.stderr)
        return 2
    except Exception:  # a compiler bug: say so, keep the details out of the user's way
        log = Path(tempfile.gettempdir()) / "sciml-internal-error.txt"
        log.write_text(traceback.format_exc(), encoding="utf-8")
        print(f"sciml: internal error: {BUG_REPORT} (details in {log})", file=sys.stderr)
        return 2


class _Replay:
    """Standard input already read once, served again to the subcommand: `.buffer.read()` gives
    the bytes (as `sys.stdin.buffer` does), `.read()` the text."""

    def __init__(self, data: bytes):
        self.buffer = _Bytes(data)

    def read(self, size: int = -1) -> str:
        from sciml.frontend.parser import shown_text
        return shown_text(self.buffer.read())


class _Bytes:
    def __init__(self, data: bytes):
        self._data = data

    def read(self, size: int = -1) -> bytes:
        return self._data


if __name__ == "__main__":
    sys.exit(main())
