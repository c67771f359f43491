"""What every step benchmark sets before torch and jax are imported: the threads, and the cores.

torch obeys its thread count, but XLA's CPU runtime does not: whatever XLA_FLAGS say, a jitted
step also runs on its Eigen pool (two `tf_XLAEigen` threads on a 2-CPU machine), so its wall time
is that of two cores and its process CPU time counts the pool's spinning.  With one thread the
process is therefore also pinned to one logical CPU (threads created later inherit the affinity):
every variant, torch or JAX or a library, gets the same single core, and wall time = CPU time.
"""
from __future__ import annotations

import os

ONE_THREAD_XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def set_threads(threads: int) -> None:
    """`threads` torch (OpenMP) threads; with 1, XLA's flags for one thread and one core for all."""
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    if threads == 1:
        os.environ.setdefault("XLA_FLAGS", ONE_THREAD_XLA_FLAGS)
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def cores_note() -> str:
    """For the report's machine line: the logical CPUs this process may run on."""
    if not hasattr(os, "sched_getaffinity"):
        return f"{os.cpu_count()} logical CPUs"
    allowed = sorted(os.sched_getaffinity(0))
    return f"{os.cpu_count()} logical CPUs, this process pinned to {', '.join(map(str, allowed))}"
