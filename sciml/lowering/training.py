"""Lower the loss, train and report lines."""
from __future__ import annotations

from sciml.frontend import ast
from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.lowering import lower as common
from sciml.lowering.expressions import fmt_shape

OPTIMIZERS = ("adam", "sgd", "lbfgs")


def lower_loss(lowering, st):
    if lowering.loss is not None:
        lowering.fail("E310", "a spec has one loss (add terms with +)", st.span)
    lowering.exprs.context = "loss"
    loss = lowering.lower(st.expr)
    if loss.shape not in ((), (1,)) or loss.batched:
        what = "per sample" if loss.batched else fmt_shape(loss.shape)
        lowering.fail("E208", f"the loss must be one number, but this is {what}", st.expr.span,
                  "reduce it with mean(...), sum(...) or mse(...)")
    lowering.loss = (loss.expr, st.span)
    lowering.loss_terms = tuple((sign * lowering.lower(term).expr, term.span)
                            for sign, term in common._additive_terms(st.expr))


def lower_training(lowering, st):
    if lowering.training:
        lowering.fail("E310", "a spec has one train line (chain stages with then)", st.span)
    for stage in st.stages:
        if stage.func not in OPTIMIZERS:
            lowering.fail("E501", f"unknown optimizer '{stage.func}'", stage.func_span,
                      "optimizers: " + ", ".join(OPTIMIZERS))
        # L-BFGS's step is its line search's: lr = 1 takes it as found
        options = {"lr": 1.0 if stage.func == "lbfgs" else 1e-3, "steps": 1000, "batch": 0}
        for kw in stage.keywords:
            if kw.name not in options:
                lowering.fail("E502", f"{stage.func}() has no option '{kw.name}'", kw.span,
                          "options: lr, steps, batch")
            options[kw.name] = (lowering.real(kw.value, "lr") if kw.name == "lr"
                                else lowering.integer(kw.value, kw.name, 0 if kw.name == "batch" else 1))
            if kw.name == "lr" and options["lr"] <= 0:
                lowering.fail("E507", f"the learning rate must be positive, but lr = {options['lr']:g}",
                          kw.value.span, "typical values lie between 1e-4 and 1e-1")
        batch = next((kw for kw in stage.keywords if kw.name == "batch"), None)
        if stage.func == "lbfgs" and options["batch"]:
            lowering.fail("E502", "lbfgs takes the whole data set: its line search compares losses on the "
                          "same points", batch.span, "remove batch; mini-batches belong to adam or sgd")
        if stage.positional:
            lowering.fail("E502", "optimizer options are named, as adam(lr = 1e-3, steps = 1000)",
                      stage.positional[0].span)
        lowering.training.append(ir.TrainStage(optimizer=stage.func, span=stage.span, **options))


def lower_reports(lowering, st):
    lowering.exprs.context = "report"
    first = len(lowering.reports)
    on = _report_data(lowering, st)
    for item in st.items:
        named = isinstance(item, ast.NamedReport)   # report nll = mean(...)
        value = lowering.lower(item.expr if named else item)
        samples = lowering.kind.noise and isinstance(value.expr, S.StateAt)   # sampled paths
        if value.shape not in ((), (1,)) and not isinstance(item, ast.Name) and not samples:
            lowering.fail("E208", "a report is a number or a parameter", item.span)
        datasets = sorted({str(s).split(".")[0] for s in value.expr.free_symbols if "." in str(s)})
        if on:   # `with data = test`: the states start from that data set's fields, the rest read it too
            datasets = [on] + [d for d in datasets if d != on]
        label = item.name if named else common._label(item)
        lowering.reports.append(ir.Report(label=label, expr=value.expr,
                                      dataset=datasets[0] if datasets else "", span=item.span))
    _distinct_labels(lowering, st.items, first)


def _report_data(lowering, st) -> str:
    """The data set of `report ... with data = NAME` ('' without the clause)."""
    on = ""
    for kw in st.options:
        if not isinstance(kw, ast.Keyword):
            lowering.fail("E274", "a report's with-clause names its data set: data = NAME", kw.span,
                          "write: report ... with data = test")
        if kw.name != "data":
            lowering.fail("E274", f"a report takes no option '{kw.name}'", kw.span,
                          "the one option is data = NAME: the data set the report is evaluated on")
        names = [d.name for d in lowering.datasets]
        if not isinstance(kw.value, ast.Name) or kw.value.id not in names:
            lowering.fail("E274", f"data = {getattr(kw.value, 'id', '...')}: no data set of that name",
                          kw.value.span, "data sets: " + (", ".join(names) or "none"))
        on = kw.value.id
    return on


def _distinct_labels(lowering, items, first):
    """Two reports of one function, rel_l2(U, ...) and rel_l2(R, ...), are rel_l2_U and rel_l2_R."""
    import dataclasses
    reports = lowering.reports[first:]
    labels = [r.label for r in reports]
    for k, (report, item) in enumerate(zip(reports, items)):
        if isinstance(item, ast.NamedReport):
            if labels.count(report.label) > 1:
                lowering.fail("E274", f"two reports are named {report.label}", item.span, "give each its own name")
            continue
        if labels.count(report.label) > 1:
            argument = item.positional[0] if isinstance(item, ast.Call) and item.positional else None
            suffix = argument.id if isinstance(argument, ast.Name) else str(k + 1)
            lowering.reports[first + k] = dataclasses.replace(report, label=f"{report.label}_{suffix}")

# -- completeness -----------------------------------------------------------------------
