"""The PyTorch backend: `emit(model, source, source_name)` returns the module's text."""
from __future__ import annotations

from sciml.backends.common.model_code import Spelling
from sciml.backends.common.module import emit_module
from sciml.backends.torch import template
from sciml.backends.torch.printer import TorchCodePrinter
from sciml.lowering import ir
from sciml.schemes import registry

SPELLING = Spelling(printer=TorchCodePrinter, as_const=template.AS_CONST, eye=template.EYE,
                    stack=template.STACK, concat=template.CONCAT, linear_solve=template.LINEAR_SOLVE,
                    factor=template.FACTOR, factored_solve=template.FACTORED_SOLVE,
                    adaptive=template.ADAPTIVE, reversible=template.REVERSIBLE,
                    adaptive_times=template.ADAPTIVE_TIMES, adaptive_adjoint=template.ADAPTIVE_ADJOINT,
                    adaptive_inverse=template.ADAPTIVE_INVERSE,
                    normalized_layout=template.NORMALIZED_LAYOUT,
                    default_like=template.DEFAULT_LIKE, pieces=template.PIECES, grid_solvers=template.GRID_SOLVERS,
                    dense_grid_solve_up_to=template.DENSE_GRID_SOLVE_UP_TO,
                    solver_library="torchdiffeq", taylor_layers=True, taylor_values=template.TAYLOR_VALUES,
                    time_argument=template.TIME_ARGUMENT)


def emit(model, source: str, source_name: str, spec_folder: str = ".", standalone: bool = False) -> str:
    imports = list(template.IMPORTS)
    if isinstance(model.scheme, ir.Scheme) and registry.definition_of(model.scheme).adaptive:
        imports.append(template.ADAPTIVE_IMPORT)
    return emit_module(model, source, source_name, "torch", SPELLING, imports, spec_folder,
                       standalone)
