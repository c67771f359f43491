"""Thread settings for the whole suite, set before torch or jax is imported.

CI has two cores.  The tests are small models, dispatch-bound: a second intra-op thread buys
nothing, and two processes with two busy threads each (a test and the module it runs) on two
cores run many times slower.  One thread for torch, OpenMP/MKL and XLA, here and in every
subprocess the tests start (they inherit the environment).
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

try:  # torch may be absent where only the compiler is tested
    import torch
except ImportError:  # pragma: no cover
    torch = None
if torch is not None:
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
