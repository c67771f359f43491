"""A111 for a reversible scheme: how its step is undone, read from the inverse stages of its
definition (sciml/schemes/definitions/), and the inverse step the backends emit."""
from __future__ import annotations

import sympy

from sciml.analysis.found import Found, Options
from sciml.frontend.diagnostics import Diagnostic, finding
from sciml.lowering import ir
from sciml.lowering.mathtext import expr_text
from sciml.schemes import registry
from sciml.schemes.algebra import Rate, Value, split_term, term_order
from sciml.schemes.registry import SEPARABLE_PAIR


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    """The reversible-scheme pass."""
    return Found(tuple(reversible_findings(model)))


def reversible_findings(model: ir.Model) -> list[Diagnostic]:
    """A reversible scheme (seed 002): each step is undone exactly, in closed form, by its
    definition's inverse stages, which the backends emit as inverse_step."""
    scheme = model.scheme
    definition = registry.definition_of(scheme) if scheme is not None else None
    if definition is None or not definition.reversible:
        return []
    names = _role_names(model, definition)
    undo = ", then ".join(_undo_text(stage, names) for stage in definition.inverse)
    carried = []   # the variables of the emitted step: Y, Z; Y_previous, Y for a two-step scheme
    for role in dict.fromkeys(v.role for v in definition.carried):
        count = sum(v.role == role for v in definition.carried)
        for name in names[role]:
            carried += [name + "_previous" * (count - 1 - k) for k in range(count)]
    emitted = f"inverse_step(p, j, {', '.join(carried)})"
    recompute = scheme.option("memory") == "recompute"
    return [finding("A111", "note", f"{definition.short} is reversible: {undo}: "
                    f"{definition.reversible_reason}", scheme.span,
                    f"the inverse step is emitted as {emitted}" + ("; with memory = recompute the "
                    "backward pass uses it instead of stored states" if recompute else ""),
                    structure="reversible", scheme=scheme.kind, reversible=True)]


def _role_names(model: ir.Model, definition) -> dict:
    if definition.forms == (SEPARABLE_PAIR,):
        first, second = model.equations
        return {"y": [first.state], "z": [second.state]}
    return {"y": [s.name for s in model.states]}


def _undo_text(stage, names) -> str:
    """`Z -= h/2*dt(Z)` for a stage that changes a state by a multiple of its right side, else
    the stage as written: `Y_(j-1) = 2*Y_j - Y_(j+1) + h^2*f_j(Y_j)`."""
    target, value = stage.target, stage.value
    (state,) = names[target.role]
    terms = sorted(sympy.Add.make_args(value), key=term_order)

    def label(v):
        return f"{state}_j" if v.offset == 0 else f"{state}_(j{'+' if v.offset > 0 else ''}{v.offset})"
    if len(terms) == 2 and isinstance(terms[0], Value) and terms[0].role == target.role:
        coefficient, rate = split_term(terms[1])
        if isinstance(rate, Rate) and rate.role == target.role:
            sign = "-=" if coefficient.could_extract_minus_sign() else "+="
            return f"{state} {sign} {expr_text(abs(coefficient))}*dt({state})"
    text = ""
    for term in terms:
        coefficient, vector = split_term(term)
        negative = coefficient.could_extract_minus_sign()
        coefficient = -coefficient if negative else coefficient
        body = f"f_j({label(vector.args[2])})" if isinstance(vector, Rate) else label(vector)
        body = body if coefficient == 1 else f"{expr_text(coefficient)}*{body}"
        text += f" {'-' if negative else '+'} {body}" if text else ("-" if negative else "") + body
    return f"{label(target)} = {text}"
