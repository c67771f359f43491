"""The long fuzzing run, outside CI: N cases across every input class of tests/fuzz_inputs.py
(grammar programs, spliced statements and expressions, mutated zoo specs, deep nesting, huge and
tiny numbers, odd line breaks, invalid bytes through `sciml check`, hostile file and data
names), each checked with the rule of tests/test_fuzz.py in a long-lived worker process with a
hard time limit (a hang is counted and its worker replaced, not waited on).

    .venv/bin/python scripts/fuzz.py [--cases 20000] [--seed 0] [--jobs 2] [--timeout 5]
                                     [--out /tmp/sciml-fuzz] [--classes nesting,bytes]
    .venv/bin/python scripts/fuzz.py --show 1234      # one case: its class, input and outcome

Prints the count of each outcome: ok, error (diagnostics), internal error (an exception from the
compiler, or `sciml` exit 2), traceback (printed by, or escaping, `sciml`), slow (over
--timeout), bad span (outside the input, or quoting another line than the input's line at
'\\n'), bad module (invalid Python, or tokens that depend on a file name), died (the worker
process was killed: memory, a crash of the interpreter); per class, and the failures grouped by
stage and place.  Each failing input goes to OUT/<outcome>-<case>.sciml (the exact bytes; a file
names case as .txt), with OUT/<outcome>-<case>.log (what broke the rule); OUT/summary.txt and
OUT/summary.json hold the report.  Case i depends only on --seed, --classes and i.  Exit status
0 when every case gave ok or error, 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from multiprocessing.connection import wait
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import fuzz_inputs as fi  # noqa: E402  (after the path)

OUTCOMES = ["ok", "error", "internal error", "traceback", "slow", "bad span", "bad module", "died"]
FAILURES = OUTCOMES[2:]
# class: weight (how often it is drawn)
CLASSES = {"grammar": 2, "statement": 2, "expression": 2, "mutation": 3, "nesting": 2, "numbers": 2,
           "line_breaks": 2, "bytes": 2, "file_names": 1}


# ---------------------------------------------------------------------------------------------
# Cases


def make_case(seed: int, i: int, classes) -> tuple[str, object]:
    """(class, input) of case i: a str (check_source), bytes (check_cli) or a dict
    (check_file_names)."""
    rng = random.Random(f"sciml-fuzz:{seed}:{i}")
    c = fi.RandomChoices(rng)
    names, weights = zip(*classes.items())
    kind = rng.choices(names, weights)[0]
    limit = c.choice([4, 6, 8, 10, 12])
    if kind == "grammar":
        program = ""
        for _ in range(4):
            program = program or fi.random_program(c, "start", limit)
        return kind, ("model fuzz\n" + program) if c.integer(0, 3) else program
    if kind == "statement":
        return kind, fi.splice_statement(c, fi.ZOO[c.choice(fi.WORKING)], fi.random_program(c, "statement", limit))
    if kind == "expression":
        return kind, fi.splice_expression(c, fi.ZOO[c.choice(fi.WORKING)], fi.random_program(c, "expr", limit))
    if kind == "mutation":
        text = fi.ZOO[c.choice(fi.WORKING if c.boolean() else fi.ZOO_PATHS)]
        for _ in range(c.integer(1, 3)):
            text = c.choice(fi.MUTATIONS)(c, text)
        return kind, text
    if kind == "nesting":
        return kind, fi.mutate(c, fi.ZOO[c.choice(fi.WORKING)], fi.m_deep_nesting, extra=c.choice([0, 0, 1]))
    if kind == "numbers":
        text = fi.ZOO[c.choice(fi.WORKING if c.integer(0, 3) else fi.ZOO_PATHS)]
        return kind, fi.mutate(c, text, fi.m_extreme_number, extra=c.choice([0, 0, 1]))
    if kind == "line_breaks":
        text = fi.ZOO[c.choice(fi.WORKING if c.boolean() else fi.ZOO_PATHS)]
        return kind, fi.mutate(c, text, fi.m_odd_line_break, others=fi.MUTATIONS + [fi.m_odd_line_break])
    if kind == "bytes":
        return kind, fi.mutate_bytes(c, fi.ZOO[c.choice(fi.WORKING if c.boolean() else fi.ZOO_PATHS)])
    if kind == "file_names":
        return kind, fi.file_name_case(c)
    raise ValueError(kind)


def run_case(kind: str, case, timeout: float, scratch: Path) -> dict:
    """Check one case; {"outcome", "where", "detail", "seconds"}."""
    start = time.perf_counter()
    result = {"outcome": "ok", "where": "", "detail": ""}
    try:
        if isinstance(case, str):
            outcome = fi.check_source(case, seconds=timeout)
        elif isinstance(case, bytes):
            outcome = fi.check_cli(case, scratch, seconds=timeout)
        else:
            folder = Path(tempfile.mkdtemp(dir=scratch))
            outcome = fi.check_file_names(root=folder, seconds=timeout, **case)
        result["outcome"] = {"ok": "ok", "error": "error", "skipped": "ok"}[outcome]
    except fi.RuleBroken as exc:
        result.update(outcome=exc.outcome, where=exc.where, detail=str(exc))
    except RecursionError as exc:   # in the rule itself (rendering a deep diagnostic, say)
        result.update(outcome="internal error", where=f"the rule: RecursionError in {fi.innermost_sciml_frame(exc)}",
                      detail=repr(exc))
    except MemoryError:
        result.update(outcome="died", where="MemoryError", detail="MemoryError")
    result["seconds"] = time.perf_counter() - start
    return result


# ---------------------------------------------------------------------------------------------
# Workers


def _worker(conn, seed, classes, timeout, memory_mb, scratch):
    import resource
    import tempfile as tf
    if memory_mb:
        with_limit = memory_mb * 2 ** 20
        try:
            resource.setrlimit(resource.RLIMIT_AS, (with_limit, with_limit))
        except (ValueError, OSError):
            pass
    scratch = Path(scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    tf.tempdir = str(scratch)    # sciml's internal-error log goes here, one per worker
    while True:
        try:
            i = conn.recv()
        except EOFError:
            return
        if i is None:
            return
        kind, case = make_case(seed, i, classes)
        result = run_case(kind, case, timeout, scratch)
        result.update(case=i, kind=kind)
        conn.send(result)


class Worker:
    def __init__(self, ctx, args, classes, number):
        self.conn, child = ctx.Pipe()
        scratch = Path(tempfile.mkdtemp(prefix=f"sciml-fuzz-worker{number}-"))
        self.scratch = scratch
        self.process = ctx.Process(target=_worker, args=(child, args.seed, classes, args.timeout, args.memory,
                                                         str(scratch)), daemon=True)
        self.process.start()
        child.close()
        self.case, self.started = None, 0.0

    def send(self, i):
        self.case, self.started = i, time.monotonic()
        self.conn.send(i)

    def stop(self, kill=False):
        if kill:
            self.process.kill()
        else:
            try:
                self.conn.send(None)
            except OSError:
                pass
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()
        _remove(self.scratch)


def _remove(folder: Path):
    import shutil
    shutil.rmtree(folder, ignore_errors=True)


def run_all(args, classes, cases, report) -> list[dict]:
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    hard = args.timeout + 5.0     # the worker's own alarm stops Python code at timeout + 1 s
    todo = list(reversed(cases))
    results: list[dict] = []
    workers = [Worker(ctx, args, classes, k) for k in range(min(args.jobs, len(cases)))]
    try:
        while todo or any(w.case is not None for w in workers):
            for w in workers:
                if w.case is None and todo:
                    w.send(todo.pop())
            busy = [w for w in workers if w.case is not None]
            deadline = min(w.started for w in busy) + hard
            ready = wait([w.conn for w in busy], timeout=max(0.0, deadline - time.monotonic()))
            for k, w in enumerate(workers):
                if w.case is None:
                    continue
                result = None
                if w.conn in ready:
                    try:
                        result = w.conn.recv()
                    except (EOFError, OSError):
                        result = {"case": w.case, "outcome": "died", "where": "the worker process died",
                                  "detail": f"exit code {w.process.exitcode}"}
                elif time.monotonic() - w.started > hard:
                    result = {"case": w.case, "outcome": "slow", "where": "killed (a long call in C?)",
                              "detail": f"no answer after {hard:.0f} s: the worker was killed"}
                if result is None:
                    continue
                result.setdefault("seconds", time.monotonic() - w.started)
                if result["outcome"] in ("died", "slow") and "kind" not in result:
                    w.stop(kill=True)
                    workers[k] = w = Worker(ctx, args, classes, k)
                w.case = None
                results.append(result)
                report(result, len(results))
    finally:
        for w in workers:
            w.stop(kill=w.case is not None)
    return results


# ---------------------------------------------------------------------------------------------
# Report


def _slug(outcome: str) -> str:
    return outcome.replace(" ", "_")


def write_failure(out: Path, seed: int, classes, result: dict):
    kind, case = make_case(seed, result["case"], classes)
    stem = out / f"{_slug(result['outcome'])}-{result['case']:06d}"
    if isinstance(case, str):
        (stem.with_suffix(".sciml")).write_bytes(case.encode("utf-8", errors="surrogatepass"))
    elif isinstance(case, bytes):
        (stem.with_suffix(".sciml")).write_bytes(case)
    else:
        described = "\n".join(f"{k} = {v!r}" for k, v in case.items() if k != "source")
        (stem.with_suffix(".txt")).write_text(f"{described}\n--- source:\n{case['source']}", encoding="utf-8")
    (stem.with_suffix(".log")).write_text(
        f"case {result['case']} (seed {seed}), class {kind}: {result['outcome']}\n{result.get('where', '')}\n\n"
        f"{result.get('detail', '')}\n", encoding="utf-8", errors="replace")


def summary(args, classes, results, seconds) -> tuple[str, dict]:
    counts = Counter(r["outcome"] for r in results)
    by_class = defaultdict(Counter)
    for r in results:
        by_class[r.get("kind") or make_case(args.seed, r["case"], classes)[0]][r["outcome"]] += 1
    groups = defaultdict(list)
    for r in results:
        if r["outcome"] in FAILURES:
            groups[(r["outcome"], r.get("where", ""))].append(r["case"])
    slowest = max(results, key=lambda r: r.get("seconds", 0.0)) if results else None
    lines = [f"sciml fuzz: {len(results)} cases, seed {args.seed}, {args.jobs} jobs, timeout {args.timeout:g} s, "
             f"{seconds:.0f} s", ""]
    lines += [f"  {o:<15}{counts.get(o, 0):>7}" for o in OUTCOMES]
    if slowest:
        lines += ["", f"slowest case: {slowest['seconds']:.2f} s (case {slowest['case']}, {slowest['outcome']})"]
    lines += ["", "by class:  " + "  ".join(f"{o:>8}" for o in OUTCOMES)]
    for kind in classes:
        if kind in by_class:
            lines.append(f"  {kind:<12}" + "  ".join(f"{by_class[kind].get(o, 0):>8}" for o in OUTCOMES))
    if groups:
        lines += ["", "failures by stage and place (count, outcome, where, cases):"]
        for (outcome, where), found in sorted(groups.items(), key=lambda g: -len(g[1])):
            lines.append(f"  {len(found):>6}  {outcome:<14} {where}   e.g. {', '.join(map(str, found[:4]))}")
    data = {"cases": len(results), "seed": args.seed, "jobs": args.jobs, "timeout": args.timeout,
            "seconds": round(seconds, 1), "counts": {o: counts.get(o, 0) for o in OUTCOMES},
            "slowest": slowest and {"case": slowest["case"], "seconds": round(slowest["seconds"], 3)},
            "by_class": {k: dict(v) for k, v in by_class.items()},
            "failures": [{"outcome": o, "where": w, "cases": found} for (o, w), found in groups.items()]}
    return "\n".join(lines) + "\n", data


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=fi.SLOW_SECONDS, help="seconds a case may take")
    parser.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "sciml-fuzz"))
    parser.add_argument("--classes", help=f"comma-separated, of: {', '.join(CLASSES)} (default: all)")
    parser.add_argument("--memory", type=int, default=4096, help="MiB of address space per worker (0: no limit)")
    parser.add_argument("--show", type=int, metavar="CASE", help="run one case here and print it")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    classes = CLASSES
    if args.classes:
        wanted = args.classes.split(",")
        unknown = [k for k in wanted if k not in CLASSES]
        if unknown:
            parser.error(f"unknown classes {unknown}; the classes are {', '.join(CLASSES)}")
        classes = {k: CLASSES[k] for k in wanted}

    if args.show is not None:
        kind, case = make_case(args.seed, args.show, classes)
        print(f"case {args.show} (seed {args.seed}), class {kind}:\n{case!r}\n")
        with tempfile.TemporaryDirectory() as scratch:
            result = run_case(kind, case, args.timeout, Path(scratch))
        print(f"{result['outcome']} ({result['seconds']:.2f} s) {result['where']}\n{result['detail']}")
        return 0 if result["outcome"] in ("ok", "error") else 1

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*"):
        if old.is_file() and (old.name.startswith(tuple(_slug(o) + "-" for o in FAILURES))
                              or old.name.startswith("summary.")):
            old.unlink()
    # warm up before the workers fork: sympy, the parser, both backends
    try:
        fi.check_source(fi.ZOO["ode/classifier.sciml"])
    except fi.RuleBroken as exc:
        print(f"warning: the zoo's classifier breaks the rule: {exc.where}", file=sys.stderr)
    start = time.monotonic()
    every = max(1, args.cases // 20)
    failed = Counter()

    def report(result, done):
        if result["outcome"] in FAILURES:
            failed[result["outcome"]] += 1
            write_failure(out, args.seed, classes, result)
        if not args.quiet and (done % every == 0 or done == args.cases):
            rate = done / max(1e-9, time.monotonic() - start)
            print(f"  {done}/{args.cases} cases, {rate:.1f}/s, failures: {dict(failed) or 'none'}",
                  file=sys.stderr, flush=True)

    results = run_all(args, classes, list(range(args.cases)), report)
    text, data = summary(args, classes, results, time.monotonic() - start)
    text += f"\nfailing inputs: {out}/\n"
    (out / "summary.txt").write_text(text, encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(text, end="")
    return 1 if any(data["counts"][o] for o in FAILURES) else 0


if __name__ == "__main__":
    sys.exit(main())
