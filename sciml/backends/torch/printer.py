"""sympy's TorchPrinter, taught the IR's array operations (see common/printer.py)."""
from __future__ import annotations

import sys

from sciml.backends.common.printer import ArrayPrinterMixin


def _torch_printer_class():
    """Import sympy's TorchPrinter without importing torch (sympy probes for it on import)."""
    if "sympy.printing.pytorch" in sys.modules or "torch" in sys.modules:
        from sympy.printing.pytorch import TorchPrinter
        return TorchPrinter
    sys.modules["torch"] = None  # makes sympy's optional import fail fast
    try:
        from sympy.printing.pytorch import TorchPrinter
    finally:
        del sys.modules["torch"]
    return TorchPrinter


class TorchCodePrinter(ArrayPrinterMixin, _torch_printer_class()):
    SPELLING = {
        "sqrt": "torch.sqrt({})",
        "relu": "torch.relu({})",
        "step": "torch.heaviside({0}, torch.zeros_like({0}))",
        "sigmoid": "torch.sigmoid({})",
        "softplus": "torch.nn.functional.softplus({})",
        "softmax": "torch.softmax({}, dim=-2)",   # the features: (features, samples), (draws, features, samples)
        "mean": "torch.mean({})",
        "sum": "torch.sum({})",
        "norm": "torch.linalg.vector_norm({})",
        "sample_norm": "torch.linalg.vector_norm({}, dim=0, keepdim=True)",
        "squared_norm": "torch.sum(torch.square({}))",
        "squared_sample_norm": "torch.sum(torch.square({}), dim=0, keepdim=True)",
        # of a name: a product, whose backward is two products, where a pow's is three operations
        "squared_norm_of_name": "torch.sum({0} * {0})",
        "squared_sample_norm_of_name": "torch.sum({0} * {0}, dim=0, keepdim=True)",
        # J (outputs, directions, samples): its trace and the sum of its squares, per sample
        "jacobian_trace": "torch.diagonal({}, dim1=0, dim2=1).sum(-1)[None]",
        "jacobian_squared_norm": "torch.sum(torch.square({}), dim=(0, 1))[None]",
        # v . J v over the features (axis 0), averaged over the probes (then axis 0)
        "probe_trace": "torch.mean(torch.sum({} * {}, dim=0), dim=0, keepdim=True)",
        "entry_sum": "torch.sum({}, dim=0, keepdim=True)",
        "entry_min": "torch.amin({}, dim=0, keepdim=True)",
        "entry_max": "torch.amax({}, dim=0, keepdim=True)",
        "inner": "torch.sum({} * {}, dim=0, keepdim=True)",
        "feature_sum": "torch.sum({}, dim=0)",
        # a vae: draws side by side on the sample axis; log sum exp over the draws (axis 0)
        "repeat_samples": "{}.repeat(1, {})",
        "logsumexp_rows": "torch.logsumexp({}, dim=0)",
        # the index of the largest of one value per sample (a row)
        "argmax_samples": "torch.argmax({}.reshape(-1))",
    }

    def __init__(self, names, numbers=frozenset(), scalars=frozenset()):
        super().__init__(names, {"torch_version": "2.13.0", "strict": True}, numbers, scalars)
