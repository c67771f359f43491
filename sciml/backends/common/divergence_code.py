"""The divergence stop: when the training loss is not finite, the run stops at that step and
says why — which loss term and which state is not finite, which parameter, and the stability
finding of `sciml check` that predicted it (an A202 bound that the weights break, say).

Two pieces: `loss_terms(p, batch)` in the model half (the loss term by term as written, and the
states it reads), written by the shared ModelWriter, and `divergence_message`, numpy code in the
shared half, so both backends say the same thing.  Each backend's `train` raises `Diverged`
with the message; its `main` prints it, writes nothing, and exits with status 3.
"""
from __future__ import annotations

from sciml.compiler import ir

DIVERGENCE = '''
class Diverged(Exception):
    """The training loss stopped being finite; the message says where and why."""

    def __init__(self, message, step):
        super().__init__(message)
        self.step = step


def divergence_message(step, value, terms, params):
    """What went wrong at training `step` (1-based), from the numpy values of loss_terms() and
    of the parameters that produced the loss `value`."""
    lines = [f"training diverged at step {step}: the loss is {value}"]
    for text, array in terms.items():
        kind = "state" if text in OBSERVED_STATES else "loss term"
        lines += not_finite(f"{kind} {text}", array)
    for name, array in params.items():
        lines += not_finite(f"parameter {name}", array)
    finite = all(np.all(np.isfinite(array)) for array in params.values())
    broken = [(text, value) for text, value, holds in (check_stability(params) if finite else []) if not holds]
    for text, bound in broken:
        lines.append(f"  predicted by sciml check (A202): {text} fails with these weights: "
                     f"the bound is {bound:.6g}, h = {h:.6g}")
    if not broken:
        findings = [f for f in STABILITY_FINDINGS if f[1] in ("A201", "A202", "A205")]
        for where, code, severity, message in findings:
            lines.append(f"  sciml check said at {where}: {severity}[{code}]: {message}")
        if not findings:
            lines.append("  no stability finding of sciml check predicted it: try a smaller learning rate")
    return "\\n".join(lines)


def not_finite(what, array):
    """['  what is nan'] or ['  what: k of n values are not finite'], or [] when all are finite."""
    array = np.asarray(array, dtype=float)
    bad = int(array.size - np.count_nonzero(np.isfinite(array)))
    if not bad:
        return []
    if array.size == 1:
        return [f"  {what} is {array.item()}"]
    return [f"  {what}: {bad} of {array.size} values are not finite"]
'''


def emit_divergence_section(model: ir.Model, writer) -> list[str]:
    """The shared (numpy) half: the analysis' stability findings, the states the loss reads,
    and the message."""
    findings = tuple(model.stability_findings)
    states = tuple(state_text(atom) for atom in writer.observed)
    listed = (["STABILITY_FINDINGS = ("] + [f"    {f!r}," for f in findings] + [")"]
              if findings else ["STABILITY_FINDINGS = ()"])
    return (["# ---- the divergence stop: a loss that is not finite ends the run, saying why",
             "# the stability findings of sciml check: (line:column, code, severity, message)"]
            + listed + [f"OBSERVED_STATES = {states!r}", "", ""] + DIVERGENCE.strip("\n").splitlines())


def loss_terms_function(writer, source_lines: list) -> list[str]:
    """`loss_terms(p, batch)`: each term of the loss as written, and each state the loss reads,
    by its text in the spec (the backend's arrays)."""
    m = writer.m
    names = writer._field_names(m.training_set, "batch")
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
        entries.append(f"        {_text(source_lines, span)!r}: {writer.code(expr, term_names)},")
    for atom in writer.observed:
        entries.append(f"        {state_text(atom)!r}: {writer.names[str(atom)]},")
    return lines + ["    return {"] + entries + ["    }", "", ""]


def state_text(atom) -> str:
    state, time = atom.args
    return f"{state}(t = {float(time):g})" if time.is_number else f"{state}({time})"


def _text(source_lines: list, span) -> str:
    """The spec's text of a span, on one line (a term written over several lines joined)."""
    if not 1 <= span.line <= len(source_lines):
        return "loss"
    if span.end_line == span.line:
        return source_lines[span.line - 1][span.column - 1:span.end_column - 1]
    parts = [source_lines[span.line - 1][span.column - 1:]]
    parts += source_lines[span.line:span.end_line - 1]
    parts.append(source_lines[min(span.end_line, len(source_lines)) - 1][:span.end_column - 1])
    return " ".join(part.strip() for part in parts)
