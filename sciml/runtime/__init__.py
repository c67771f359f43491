"""The training runtime of the emitted modules: batching, optimizer stages, logging, the
stability monitor's hook, the command line, the JSON result and saving.

`common.py` is the numpy half (`Runtime`), `torch.py` and `jax.py` the two backends
(`TorchRuntime`, `JaxRuntime`).  An emitted module keeps the spec (constants, data, initial
weights, the model) and binds a runtime to itself:

    _runtime = TorchRuntime(sys.modules[__name__])
    train, loss_and_grad, reports, main = _runtime.train, ...

`sciml compile --standalone` pastes the text of these files into the module instead of
importing them (`source_text`), so the compiler never imports torch or jax.  Rules for the
files, so that pasting works: top-level code is imports and the one class; the only names
defined at top level are the class names (reserved in backends/common/names.py); the
backend files import `Runtime` from `sciml.runtime.common` and nothing else from sciml.
"""
from __future__ import annotations

from importlib import resources

CLASSES = {"torch": "TorchRuntime", "jax": "JaxRuntime"}   # read by the registry, sciml.backends


def source_text(name: str) -> str:
    """The text of runtime file `name` ('common', 'torch' or 'jax'), read without importing it."""
    return resources.files(__name__).joinpath(f"{name}.py").read_text(encoding="utf-8")
