"""--threads: the emitted module sets the backend's CPU threads before it computes anything,
and says in the JSON result how many it uses (issue 9, item 4: no oversubscribed cores)."""
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from sciml import pipeline

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "ode" / "resnet.sciml"


def _run(tmp_path, backend, *options, env=None):
    module = tmp_path / f"resnet_{backend}.py"
    module.write_text(pipeline.compile_spec(SPEC.read_text(), str(SPEC), backend, output=str(module)))
    environment = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "SCIML_THREADS")}
    environment.update(env or {}, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, str(module), "--steps", "2", "--json", *options], cwd=tmp_path,
                         capture_output=True, text=True, env=environment, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("threads", [1, 2])
def test_torch_uses_the_threads_asked_for(tmp_path, threads):
    assert _run(tmp_path, "torch", "--threads", str(threads))["threads"] == threads


def test_the_environment_sets_the_default(tmp_path):
    assert _run(tmp_path, "torch", env={"SCIML_THREADS": "1"})["threads"] == 1


def test_the_default_is_the_cpus_this_process_may_use(tmp_path):
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert _run(tmp_path, "torch")["threads"] == expected


def test_jax_runs_single_threaded_on_request(tmp_path):
    assert _run(tmp_path, "jax", "--threads", "1")["threads"] == 1


def test_the_command_line_keeps_freed_memory(tmp_path):
    """glibc's malloc is told to keep freed blocks (no page faults on every step's arrays)."""
    result = _run(tmp_path, "torch", "--threads", "1")
    expected = "kept (glibc: M_MMAP_MAX 0, M_TRIM_THRESHOLD 1 GiB)"
    if platform.libc_ver()[0] == "glibc":
        assert result["freed_memory"] == expected
    else:
        assert result["freed_memory"] == "as the C library does"
