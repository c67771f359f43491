"""The IMEX pass: the implicit part -L*Y of an IMEX step is stable for every h (A203).

Lowering has checked that L is symmetric positive semi-definite, so (I + h*L)^-1 has 2-norm <= 1:
backward Euler damps every mode of the stiff part.  The finding shows L's eigenvalues.
"""
from __future__ import annotations

import sympy

from sciml.analysis.found import Found, Options
from sciml.analysis.jacobian.eigenvalues import eigenvalues
from sciml.analysis.stability import STABLE
from sciml.frontend.diagnostics import finding
from sciml.lowering import ir
from sciml.lowering.mathtext import number_text
from sciml.schemes import registry


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    scheme = model.scheme
    if scheme is None or not registry.definition_of(scheme).matrix_options:
        return Found()
    (option,) = registry.definition_of(scheme).matrix_options
    name = scheme.option(option)
    constant = next((c for c in model.constants if c.name == name), None)
    shown, smallest = "", None
    if constant is not None:
        eigen = eigenvalues(sympy.ImmutableMatrix(constant.value))
        if eigen is not None:
            values = sorted({float(sympy.re(e)) for e in eigen})
            shown = f" (eigenvalues {', '.join(number_text(round(x, 12) + 0.0) for x in values)})"
            smallest = values[0]
    found = finding("A203", "note", f"the implicit part -{name}*Y of the IMEX step is stable for "
                    f"every h: {name} is symmetric positive semi-definite{shown}, so "
                    f"(I + h*{name})^-1 has 2-norm <= 1", scheme.span,
                    "backward Euler damps every mode of the stiff part, whatever the step",
                    scheme=scheme.kind, verdict=STABLE, part="implicit",
                    smallest_eigenvalue=smallest)
    return Found((found,))
