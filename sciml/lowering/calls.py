"""The functions of the ODE family and of flows, as a mixin of `ExpressionLowering`: softmax,
cross_entropy, accuracy, mse, mean, sum, min, max, dot, pad, smooth_in_time, grad(V, q), nll, and the forms
that belong elsewhere (linspace, normal, dt).  The other families' functions are in
family_calls.py; `expressions.CALLS` maps every function name to its method."""
from __future__ import annotations

import sympy

from sciml.frontend import ast
from sciml.lowering import family_symbols as F
from sciml.lowering import limits
from sciml.lowering import symbols as S


class Calls:
    def _call_softmax(self, node):
        (x,) = self._positional(node, 1)
        return self.typed(S.SoftmaxOf(x.expr), x.shape, x.axis)

    def _call_cross_entropy(self, node):
        probabilities, labels = self._positional(node, 2)
        if isinstance(probabilities.expr, F.MeanOver) and isinstance(probabilities.expr.args[0], S.SoftmaxOf):
            # probabilities averaged over posterior draws (seed 000): -log of the averaged probability
            return self.typed(S.SoftmaxCrossEntropy(probabilities.expr, labels.expr), ())
        if not isinstance(probabilities.expr, S.SoftmaxOf):
            self.fail("E214", "cross_entropy expects softmax(...) as its first argument",
                      node.positional[0].span, "write cross_entropy(softmax(W * Y(T) + mu), labels)")
        return self.typed(S.SoftmaxCrossEntropy(probabilities.expr.args[0], labels.expr), ())

    def _call_accuracy(self, node):
        logits, labels = self._positional(node, 2)
        inner = logits.expr.args[0] if isinstance(logits.expr, S.SoftmaxOf) else logits.expr
        return self.typed(S.Accuracy(inner, labels.expr), ())

    def _call_mse(self, node):
        a, b = self._positional(node, 2)
        self.join(node, a, b)   # the mean of squared differences, entry by entry: one axis
        if a.shape != b.shape and not (self._scalar(a) and self._scalar(b)):   # u(x, t) is R[1]
            self.fail("E201", f"mse of {self.fmt(a.shape)} and {self.fmt(b.shape)}", node.span,
                      "both arguments need the same shape")
        return self.typed(S.MeanSquaredError(a.expr, b.expr), ())

    def _call_mean(self, node):
        if any(kw.name == "over" for kw in node.keywords):
            return self.reduction(node, F.MeanOver)
        (x,) = self._positional(node, 1)
        return self.typed(S.MeanOf(x.expr), ())

    def _call_sum(self, node):
        """sum(x): every entry of every sample; sum(x, over = entries): each sample's entries (a
        path's sum_i X_i in an sde line)."""
        over = [kw for kw in node.keywords if kw.name == "over"]
        if over and not (isinstance(over[0].value, ast.Name) and over[0].value.id == "entries"):
            self.fail("E251", "sum(x, over = entries) sums each sample's entries; sum(x) sums all",
                      over[0].value.span, "write over = entries, or leave it out")
        (x,) = self._positional(node, 1, keywords=("over",))
        if over:
            if len(x.shape) > 1:
                self.fail("E201", f"sum(x, over = entries) takes a vector, not {self.fmt(x.shape)}", node.span)
            return x if not x.shape else self.typed(S.EntrySum(x.expr), (), x.axis)
        return self.typed(S.SumOf(x.expr), ())

    def _call_min(self, node):
        return self._entry_extreme(node, S.EntryMin)

    def _call_max(self, node):
        return self._entry_extreme(node, S.EntryMax)

    def _entry_extreme(self, node, cls):
        """min(x), max(x): the smallest or largest entry of each sample of a vector x."""
        if len(node.positional) != 1:
            self.fail("E206", f"{node.func}(x) takes one vector, the {node.func}imum of its entries per "
                      f"sample; got {len(node.positional)} arguments", node.span,
                      "of two values a, b: min(a, b) = a - relu(a - b), max(a, b) = b + relu(a - b)")
        (x,) = self._positional(node, 1)
        if len(x.shape) > 1:
            self.fail("E201", f"{node.func}(x) takes a vector, not {self.fmt(x.shape)}", node.span)
        return x if not x.shape else self.typed(cls(x.expr), (), x.axis)

    def _call_div(self, node):
        first = node.positional[0] if node.positional else None
        entry = self.scope.get(first.func) if isinstance(first, ast.Call) else None
        if entry is not None and entry.kind == "net":
            return self.network_divergence(node)
        return self.space_divergence(node)

    def _call_dot(self, node):
        a, b = self._positional(node, 2)
        if a.shape != b.shape or len(a.shape) != 1:
            self.fail("E201", f"dot of {self.fmt(a.shape)} and {self.fmt(b.shape)}", node.span,
                      "dot takes two vectors of the same length")
        return self.typed(S.InnerProduct(a.expr, b.expr), (), a.batched or b.axis)

    def _call_pad(self, node):
        x, n = self._positional(node, 2)
        n = self.typed(self._const_value(n.expr, node.span), n.shape)
        if not n.expr.is_Integer or len(x.shape) != 1 or x.shape[0] > int(n.expr):
            self.fail("E215", "pad(x, n) needs a vector x of length at most the integer n", node.span)
        return self.typed(S.PadTo(x.expr, n.expr), (int(n.expr),), x.axis)

    def _call_smooth_in_time(self, node):
        if node.keywords or not node.positional:
            self.fail("E206", "smooth_in_time takes one or more per-step parameters", node.span)
        for arg in node.positional:
            if isinstance(arg, ast.Name):
                self.skip_if_failed(arg.id)
            entry = self.scope.get(arg.id) if isinstance(arg, ast.Name) else None
            if entry is None or entry.kind != "param" or not entry.node.per_step:
                self.fail("E216", "smooth_in_time takes parameters declared per step, as K(t)",
                          arg.span)
        return self.typed(S.SmoothInTime(*(sympy.Symbol(a.id) for a in node.positional)), ())

    def _call_grad(self, node):
        """grad(N, x): the gradient of a scalar network N of one input, evaluated at x."""
        first = node.positional[0] if node.positional else None
        entry = self.scope.get(first.id) if isinstance(first, ast.Name) else None
        if len(node.positional) == 1 and not (entry is not None and entry.kind == "net" and not entry.node.field):
            self.require_domain()
            return self.space_gradient(node)
        if entry is None or entry.kind != "net" or len(node.positional) != 2:
            self.fail("E240", "grad(u) is the gradient of a field in the space coordinates; grad(V, q) "
                      "the gradient of a network V of one input at q", node.span)
        net = entry.node
        if node.keywords:
            self.fail("E206", f"grad() takes no argument '{node.keywords[0].name}'", node.keywords[0].span)
        if len(net.inputs) != 1 or net.widths[-1] != 1:
            self.fail("E240", f"grad({net.name}, x) needs a network of one input with one output; "
                      f"'{net.name}' has {len(net.inputs)} input(s) and {net.widths[-1]} output(s)",
                      node.span, f"declare it as: net {net.name}(x) = mlp({net.widths[0]} -> ... -> 1, ...)")
        x = self.lower(node.positional[1])
        size = 1 if self._scalar(x) else x.shape[0]
        if len(x.shape) > 1 or size != net.widths[0]:
            self.fail("E205", f"network '{net.name}' expects {net.widths[0]} input features, "
                      f"got {self.fmt(x.shape)}", node.positional[1].span)
        return self.typed(S.NetGrad(sympy.Symbol(net.name), x.expr), (net.widths[0],), x.axis)

    def _call_nll(self, node):
        """nll(g_inv, data.x, latent = normal(mean, std)): the flow's negative log-likelihood."""
        args = node.positional
        entry = self.scope.get(args[0].id) if args and isinstance(args[0], ast.Name) else None
        if len(args) != 2 or entry is None or entry.kind != "flow":
            if args and isinstance(args[0], ast.Name):
                self.skip_if_failed(args[0].id)
            self.fail("E609", "nll takes a flow and the data it maps to the latent space",
                      node.span, "write nll(g_inv, train.x, latent = normal(0, 1))")
        flow = entry.node
        x = self.lower(args[1])
        if x.shape != (flow.size,):
            self.fail("E207", f"flow '{flow.name}' maps R[{flow.size}] (two halves of {flow.half}), "
                      f"but this is {self.fmt(x.shape)}", args[1].span)
        mean, std = sympy.S.Zero, sympy.S.One
        for kw in node.keywords:
            if kw.name != "latent":
                self.fail("E206", f"nll() takes no argument '{kw.name}'", kw.span,
                          "the one option is latent = normal(mean, std)")
            value = kw.value
            if not isinstance(value, ast.Call) or value.func != "normal" or len(value.positional) != 2 \
                    or value.keywords:
                self.fail("E610", "the latent distribution is normal(mean, std)", value.span)
            mean, std = (self._const_value(self.lower(a).expr, a.span) for a in value.positional)
            if not (mean.is_number and std.is_number and mean.is_real and std.is_positive):
                self.fail("E610", "normal(mean, std) takes numbers, std > 0", value.span)
        return self.typed(S.FlowNll(sympy.Symbol(flow.name), x.expr, mean, std), ())

    def _call_linspace(self, node):
        self.fail("E103", "linspace(...) may appear only as the times of a generated data set, "
                  "in generate ode(..., t = linspace(start, stop, count))", node.func_span,
                  "generate the data set, then use its times: Y(obs.t)")

    def _call_normal(self, node):
        self.fail("E103", "normal(...) may appear only after '~' in a param declaration or as the "
                  "initial value in generate ode(...)", node.func_span,
                  "write e.g. param K : R[n, n] ~ normal(0, 0.1)")

    def _call_dt(self, node):
        if self.context in ("pde", "condition") and self.kind == "pinn":
            return self.pde_time_derivative(node)
        where = {"sde": ("in an sde line the time step is dt alone and the left side is d(X)",
                         "write: sde d(X) = f(X) * dt + g(X) * dW"),
                 "report": ("dt(...) is a derivative in time: it belongs to an equation, not a report",
                            "report the quantity itself, or a network of t"),
                 "loss": ("dt(...) is a derivative in time: it belongs to an equation, not the loss",
                          "a PINN's residual is written on its pde line and read as `residual`")}
        message, help = where.get(self.context, ("dt(...) may appear only on the left of an ode equation "
                                                 "or in a pde line", "write: ode dt(Y) = ..."))
        self.fail("E217", message, node.span, help)

    # -- states at times ----------------------------------------------------------------------
    def _state_at(self, node, entry):
        """Y(T): the state at a time known at compile time; Y(obs.t): at a data set's times;
        on a grid, u(data.x, data.t): at a data set's nodes and times."""
        if self.kind == "grid_pde":
            return self._grid_state_at(node, entry)
        (time,) = self._positional(node, 1)
        value = self._const_value(time.expr, node.span)
        if value.is_number and value.is_real:
            at = self.typed(S.StateAt(sympy.Symbol(node.func), value), entry.shape, entry.axis)
        elif self._data_times(time):
            shape = entry.shape if self._scalar(time) else time.shape + entry.shape
            at = self.typed(S.StateAt(sympy.Symbol(node.func), time.expr), shape, entry.axis)
        else:
            self.fail("E213", f"{node.func}(...) is taken at a number known at compile time or at "
                      "the times of a data set", node.span, f"write {node.func}(T) for the final "
                      f"state, or {node.func}(obs.t) with obs = generate ode(..., t = linspace(...))")
        self.state_at_spans.setdefault(at.expr, node.span)
        return at

    def _data_times(self, time) -> bool:
        """Whether `time` is the field t (the times, shared by all samples) of generate ode(...)."""
        name = str(time.expr) if isinstance(time.expr, sympy.Symbol) else ""
        entry = self.scope.get(name.split(".")[0]) if name.endswith(".t") else None
        return (entry is not None and entry.kind == "data" and entry.node.generator in ("ode", "ou_paths")
                and not time.axis)

    def _grid_state_at(self, node, entry):
        """u(data.x, data.t) (u(data.x, data.y, data.t) on a 2-D grid): the grid state at the
        nodes and times of a data set on the grid."""
        coordinates = ([c for c in self.coordinates if c != "t"] or ["x"]) + ["t"]   # no domain (E309): 1-D
        values = self._positional(node, len(coordinates))
        names = [str(v.expr) for v in values]
        sets = {n.split(".")[0] for n in names if "." in n}
        if len(sets) != 1 or [n.split(".")[-1] for n in names] != coordinates:
            written = ", ".join(f"data.{c}" for c in coordinates)
            self.fail("E213", f"{node.func}(...) on a grid is taken at a data set's nodes and times: "
                      f"{node.func}({written})", node.span)
        time = values[-1]
        shape = (time.shape[0] if time.shape else 1,) + tuple(v.shape[0] if v.shape else 1 for v in values[:-1])
        at = self.typed(S.StateAt(sympy.Symbol(node.func), time.expr), shape, None)
        self.state_at_spans.setdefault(at.expr, node.span)
        return at

    def _const_value(self, expr, span):
        values = {s: self.scope[str(s)].node.value for s in getattr(expr, "free_symbols", ())
                  if getattr(self.scope.get(str(s)), "kind", "") == "const"}   # not the whole scope: linear
        try:
            return S.numeric_form(limits.substitute(expr, values))
        except limits.OutOfRange as exc:
            self.out_of_range(exc, span)
