"""The training runtime of the emitted modules: batching, optimizer stages, progress,
checkpoints and resuming, plots, the stability monitor's hook, the command line, the JSON
result and saving.

`common.py` is the numpy half (`Runtime`: the training loop), `command.py` its command line
(`RuntimeCommandLine`), `progress.py` the progress bar and log lines (`TrainingProgress`),
`checkpoint.py` checkpoints and atomic writes (`CheckpointFiles`), `plot.py` the --plot
figures (`TrainingPlots`); `torch.py` and `jax.py` are the two backends (`TorchRuntime`,
`JaxRuntime`).  An emitted module keeps the spec (constants, data, initial weights, the model)
and binds a runtime to itself:

    _runtime = TorchRuntime(sys.modules[__name__])
    train, loss_and_grad, reports, main = _runtime.train, ...

`sciml compile --standalone` pastes the text of these files into the module instead of
importing them (`source_text`), so the compiler never imports torch or jax.  Rules for the
files, so that pasting works: top-level code is imports and the one class (and private
helpers); the only names defined at top level are the class names (reserved in
backends/common/names.py); a file imports from sciml only the classes of the files pasted
before it (`PASTED`); optional packages (matplotlib, safetensors) are imported where they are
used, never at the top.
"""
from __future__ import annotations

from importlib import resources

CLASSES = {"torch": "TorchRuntime", "jax": "JaxRuntime"}   # read by the registry, sciml.backends

PASTED = ("progress", "checkpoint", "plot", "command", "common")  # in this order, then the backend's file


def source_text(name: str) -> str:
    """The text of runtime file `name` (one of PASTED, 'torch' or 'jax'), read without importing it."""
    return resources.files(__name__).joinpath(f"{name}.py").read_text(encoding="utf-8")
