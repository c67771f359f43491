"""The end of an emitted module: the training runtime, imported or pasted in.

The runtime is a package, `sciml.runtime` (progress.py, checkpoint.py, plot.py, command.py,
common.py, torch.py, jax.py).  A module imports its backend's class from there and binds it to
itself; `--standalone` pastes the text of the same files in place of the import (their imports
merged into the module's), so the file needs only numpy and torch (or jax and optax; matplotlib
for --plot and safetensors for torch's --checkpoint are imported only when used).  The files
are read as text: compiling never imports torch or jax.
"""
from __future__ import annotations

import ast

from sciml.runtime import CLASSES, PASTED, source_text

THIRD_PARTY = ("numpy", "torch", "jax", "optax", "sciml")


def runtime_imports(backend: str, standalone: bool, classes=()) -> tuple[list[str], list[str]]:
    """(standard-library imports, other imports) that the runtime adds to the module's; `classes`:
    more classes of the backend's runtime file that the module calls (TaylorLayer), imported
    beside its runtime class (pasted with it when standalone)."""
    if not standalone:
        names = ", ".join(sorted({CLASSES[backend], *classes}))
        return ["import sys"], [f"from sciml.runtime.{backend} import {names}"]
    std, other = [], []
    for name in (*PASTED, backend):
        for line in _parts(source_text(name))[0]:
            top = line.split()[1].split(".")[0]
            if top == "sciml":
                continue
            target = other if top in THIRD_PARTY else std
            if line not in target:
                target.append(line)
    return std, other


def runtime_lines(backend: str, standalone: bool, own_sample: bool = False) -> list[str]:
    """The training section: the pasted classes (standalone only), the binding, the main;
    `own_sample`: the module's `sample` is its own (a diffusion model's sampler), the runtime's
    mini-batch draw is not bound to that name."""
    cls = CLASSES[backend]
    if standalone:
        lines = [f"# ---- training: the runtime sciml.runtime.{backend}, pasted in by sciml compile --standalone"]
        for name in (*PASTED, backend):
            lines += [f"# -- sciml.runtime.{name}"] + _parts(source_text(name))[1] + ["", ""]
    else:
        lines = [f"# ---- training: the runtime sciml.runtime.{backend} (sciml compile --standalone pastes it in)"]
    binding = (["to_arrays, stages, evaluation_batch = _runtime.to_arrays, _runtime.stages, _runtime.evaluation_batch"]
               if own_sample else
               ["to_arrays, sample, stages, evaluation_batch = (_runtime.to_arrays, _runtime.sample, _runtime.stages,",
                "                                               _runtime.evaluation_batch)"])
    return lines + [
        f"_runtime = {cls}(sys.modules[__name__])",
        *binding,
        "train, loss_and_grad, reports, main = _runtime.train, _runtime.loss_and_grad, _runtime.reports, _runtime.main",
        "Diverged = _runtime.Diverged  # what train() raises when the loss stops being finite",
        "OPTIMIZERS, update = _runtime.OPTIMIZERS, _runtime.update  # update: one jit-compiled training step"
        if backend == "jax" else "OPTIMIZERS = _runtime.OPTIMIZERS",
        "",
        "",
        'if __name__ == "__main__":',
        "    main()",
    ]


def _parts(text: str) -> tuple[list[str], list[str]]:
    """(the import lines, the lines after the imports) of a runtime file; its docstring and
    `from __future__` lines are dropped."""
    tree = ast.parse(text)
    lines = text.split("\n")
    imports, start = [], None
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if not (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
                imports.append(ast.get_source_segment(text, node))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and start is None:
            continue  # the docstring
        elif start is None:
            first = node.decorator_list[0] if getattr(node, "decorator_list", None) else node
            start = first.lineno - 1
    return imports, "\n".join(lines[start:]).strip("\n").split("\n")
