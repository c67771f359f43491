"""The divergence stop: when the training loss is not finite, the run stops at that step and
says why — which loss term and which state is not finite, which parameter, and the stability
finding of `sciml check` that predicted it (an A202 bound that the weights break, say).

What the module holds of it: `loss_terms(p, batch)` in the model half (the loss term by term as
written, and the states it reads), written by the shared ModelWriter, and the spec's data
(STABILITY_FINDINGS, OBSERVED_STATES).  The message and the `Diverged` error are the runtime's
(sciml/runtime/common.py), so both backends say the same thing.
"""
from __future__ import annotations

from sciml.lowering import ir



def emit_divergence_section(model: ir.Model, writer) -> list[str]:
    """The analysis' stability findings and the states the loss reads, for the runtime's message."""
    findings = tuple(model.stability_findings)
    states = tuple(state_text(atom) for atom in writer.observed)
    listed = (["STABILITY_FINDINGS = ("] + [f"    {f!r}," for f in findings] + [")"]
              if findings else ["STABILITY_FINDINGS = ()"])
    return (["# ---- the divergence stop: a loss that is not finite ends the run, saying why",
             "# the stability findings of sciml check: (line:column, code, severity, message)"]
            + listed + [f"OBSERVED_STATES = {states!r}"])


def loss_terms_function(writer, source_lines: list) -> list[str]:
    """`loss_terms(p, batch)`: each term of the loss as written, and each state the loss reads,
    by its text in the spec (the backend's arrays)."""
    m = writer.m
    names = writer.field_names(m.training_set, "batch")
    terms = m.loss_terms or ((m.loss, m.loss_span),)
    lines = ["def loss_terms(p, batch):",
             '    """The loss term by term, as written, and the states it reads."""']
    lines += writer._unpack(m.loss)
    if writer.observed:
        lines.append(writer._solve_call(names))
    entries, bound = [], set()
    for expr, span in terms:
        expr, term_names, bindings = writer._literals(expr, names)
        lines += [b for b in bindings if b not in bound]
        bound |= set(bindings)
        entries.append(f"        {term_text(source_lines, span)!r}: {writer.code(expr, term_names)},")
    for atom in writer.observed:   # a grid state: its values at every node of the grid
        on_grid = writer.names.get(f"on grid {atom.args[0]}")
        value = writer.names[str(atom)]
        entries.append(f"        {state_text(atom)!r}: {f'{on_grid}({value})' if on_grid else value},")
    return lines + ["    return {"] + entries + ["    }", "", ""]


def state_text(atom) -> str:
    state, time = atom.args
    return f"{state}(t = {float(time):g})" if time.is_number else f"{state}({time})"


def term_text(source_lines: list, span) -> str:
    """The spec's text of a span, on one line (a term written over several lines joined)."""
    if not 1 <= span.line <= len(source_lines):
        return "loss"
    if span.end_line == span.line:
        return source_lines[span.line - 1][span.column - 1:span.end_column - 1]
    parts = [source_lines[span.line - 1][span.column - 1:]]
    parts += source_lines[span.line:span.end_line - 1]
    parts.append(source_lines[min(span.end_line, len(source_lines)) - 1][:span.end_column - 1])
    return " ".join(part.strip() for part in parts)
