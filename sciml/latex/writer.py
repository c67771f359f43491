"""`sciml latex`: the continuous model, the scheme's update equations and the loss, as LaTeX.

The maths is printed from the IR with a subclass of sympy's `LatexPrinter` that knows the array
operations of `symbols.py`; names come from the spec (Greek names print as Greek letters).
Never imports torch or jax; the output depends on the IR only (deterministic).
"""
from __future__ import annotations

import sympy
from sympy.printing.conventions import split_super_sub
from sympy.printing.latex import LatexPrinter, translate
from sympy.printing.precedence import PRECEDENCE

from sciml.lowering import ir
from sciml.lowering import symbols as S
from sciml.schemes import registry

_OPERATORS = {"SoftmaxOf": "softmax", "Accuracy": "accuracy", "MeanOf": "mean", "SumOf": "sum",
              "Softplus": "softplus", "Step": "H"}


def _text(name: str) -> str:
    """Plain text for \\mathrm{}: LaTeX's special characters escaped."""
    for a, b in (("\\", r"\backslash "), ("_", r"\_"), ("{", r"\{"), ("}", r"\}"), ("#", r"\#"),
                 ("$", r"\$"), ("%", r"\%"), ("&", r"\&"), ("^", r"\^{}"), ("~", r"\~{}")):
        name = name.replace(a, b)
    return name


def symbol_latex(name: str, *extra_subscripts: str) -> str:
    """A spec name as maths: `gamma` -> \\gamma, `K1` -> K_{1}, `train.x` -> \\mathrm{train.x};
    extra subscripts (a step index) join the name's own: K1 at step j -> K_{1,j}."""
    if "." in name or not name.replace("_", "").isalnum():
        base, subs, sups = r"\mathrm{" + _text(name) + "}", [], []
    else:
        base, sups, subs = split_super_sub(name)
        base = translate(base)
        if len(base) > 1 and not base.startswith("\\"):
            base = r"\mathrm{" + _text(base) + "}"
        subs = [translate(s) for s in subs]
        sups = [translate(s) for s in sups]
    subs = subs + list(extra_subscripts)
    out = base
    if subs:
        out += "_{" + ",".join(subs) + "}"
    if sups:
        out += "^{" + ",".join(sups) + "}"
    return out


class SpecLatexPrinter(LatexPrinter):
    """sympy's LaTeX printer taught the IR's array functions; `names` overrides symbols."""

    def __init__(self, names=None, t_end=None):
        super().__init__({"mul_symbol": None, "order": "none", "mat_str": "pmatrix",
                          "mat_delim": ""})
        self.names = dict(names or {})
        self.t_end = t_end
        self.step = "h"              # the step size: h, or \Delta t where the spec names something h
        self.increment_step = None   # an sde's Increment(W): dW, or \Delta W_{j} at step j

    def _print_Symbol(self, expr, style="plain"):
        if expr.name in self.names:
            return self.names[expr.name]
        return symbol_latex(expr.name)

    def _op(self, name, *args):
        return r"\operatorname{" + name + r"}\left(" + ", ".join(self._print(a) for a in args) + r"\right)"

    def _print_Function(self, expr, exp=None):
        name = type(expr).__name__
        if name in _OPERATORS:
            out = self._op(_OPERATORS[name], *expr.args)
        elif isinstance(expr, sympy.core.function.AppliedUndef) or name not in dir(sympy):
            out = self._op(_text(name), *expr.args)
        else:
            return super()._print_Function(expr, exp)
        return out if exp is None else r"\left(" + out + r"\right)^{" + exp + "}"

    def _print_MatProduct(self, expr):
        a, b = expr.args
        if a.is_Mul and a.args[0].is_number and a.args[0].is_negative:   # (-A) x printed as - A x
            return "- " + self._print_MatProduct(type(expr)(-a, b))
        return self.parenthesize(a, PRECEDENCE["Mul"]) + " " + self.parenthesize(b, PRECEDENCE["Mul"])

    def _print_Transposed(self, expr):
        return self.parenthesize(expr.args[0], PRECEDENCE["Pow"], strict=True) + r"^{\top}"

    def _print_IdentityMatrix(self, expr):
        return "I"

    def _print_MatrixOf(self, expr):
        rows, cols, *entries = expr.args
        rows, cols = int(rows), int(cols)
        body = r" \\ ".join(" & ".join(self._print(entries[i * cols + j]) for j in range(cols))
                            for i in range(rows))
        return r"\begin{pmatrix} " + body + r" \end{pmatrix}"

    def _print_NetCall(self, expr):
        name, *inputs = expr.args
        return (self._print(name) + r"\left(" + ", ".join(self._print(x) for x in inputs) + r"\right)")

    def _jacobian(self, call, wrt) -> str:
        """dF(z, t)/dz in the model's lines; at a stage's point, where z is an expression, the
        derivative in the k-th argument there: D_1 F(z_j + h/2 k_1, t)."""
        point = self._print(wrt)
        if isinstance(wrt, sympy.Symbol) and not any(c in point for c in "+-("):   # z, or z_j
            return r"\frac{\partial " + self._print(call) + r"}{\partial " + point + "}"
        position = list(call.args[1:]).index(wrt) + 1
        return r"\mathrm{D}_{" + str(position) + "} " + self._print(call)

    def _print_NetJacobian(self, expr):
        return self._jacobian(*expr.args)

    def _print_NetDivergence(self, expr):
        """The exact trace of the Jacobian, or Hutchinson's estimate over the probes v_i."""
        call, wrt, estimator, probes, _ = expr.args
        jacobian = self._jacobian(call, wrt)
        if str(estimator) == "exact":
            return r"\operatorname{tr}\left(" + jacobian + r"\right)"
        if int(probes) == 1:
            return r"v^{\top} " + jacobian + " v"
        return r"\frac{1}{" + str(int(probes)) + r"} \sum_{i=1}^{" + str(int(probes)) + r"} v_i^{\top} " + jacobian + " v_i"

    def _print_NetGrad(self, expr):
        name, x = expr.args
        return r"\nabla " + self._print(name) + r"\left(" + self._print(x) + r"\right)"

    def _print_StateAt(self, expr, exp=None):
        state, time = expr.args
        if self.t_end is not None and time.is_number and float(time) == float(self.t_end):
            when = "T"
        else:
            when = self._print(time)
        out = self._print(state) + r"\left(" + when + r"\right)"
        return out if exp is None else out + "^{" + exp + "}"

    def _print_Relu(self, expr):
        return r"\max\left(0, " + self._print(expr.args[0]) + r"\right)"

    def _print_Sigmoid(self, expr):
        return r"\sigma\left(" + self._print(expr.args[0]) + r"\right)"

    def _print_SoftmaxCrossEntropy(self, expr):
        logits, labels = expr.args
        if isinstance(logits, S.ArrayOp) and type(logits).__name__ == "MeanOver" and \
                isinstance(logits.args[0], S.SoftmaxOf):   # of probabilities averaged over draws
            return r"\operatorname{CE}\left(" + self._print(logits) + ", " + self._print(labels) + r"\right)"
        return (r"\operatorname{CE}\left(\operatorname{softmax}\left(" + self._print(logits)
                + r"\right), " + self._print(labels) + r"\right)")

    def _print_MeanSquaredError(self, expr):
        a, b = expr.args
        return r"\operatorname{MSE}\left(" + self._print(a) + ", " + self._print(b) + r"\right)"

    def _print_FrobeniusNorm(self, expr):
        return r"\left\|" + self._print(expr.args[0]) + r"\right\|_{F}"

    def _print_SampleNorm(self, expr, exp=None):
        out = r"\left\|" + self._print(expr.args[0]) + r"\right\|"
        return out if exp is None else out + "^{" + exp + "}"

    def _print_EntrySum(self, expr):
        return r"\sum_{i} \left(" + self._print(expr.args[0]) + r"\right)_{i}"

    def _print_EntryMin(self, expr):
        return r"\min_{i} \left(" + self._print(expr.args[0]) + r"\right)_{i}"

    def _print_EntryMax(self, expr):
        return r"\max_{i} \left(" + self._print(expr.args[0]) + r"\right)_{i}"

    def _print_InnerProduct(self, expr):
        a, b = expr.args
        return r"\left\langle " + self._print(a) + ", " + self._print(b) + r"\right\rangle"

    def _print_PadTo(self, expr):
        x, n = expr.args
        return r"\operatorname{pad}_{" + self._print(n) + r"}\left(" + self._print(x) + r"\right)"

    def _print_FlowNll(self, expr):
        """mean over the samples of 1/2 |(g^-1(x) - mu)/sigma|^2 - log|det dg^-1/dx| + const."""
        flow, x, mean, std = expr.args
        g = self._print(flow)
        z = g + r"\left(" + self._print(x) + r"\right)"
        if mean != 0:
            z = z + " - " + self._print(mean)
        norm = r"\left\|" + (z if std == 1 else r"\frac{" + z + "}{" + self._print(std) + "}") + r"\right\|^{2}"
        log_det = r"\log\left|\det \frac{\partial " + g + r"}{\partial x}\right|"
        constant = r"\frac{d}{2} \log 2\pi" + ("" if std == 1 else r" + d \log " + self._print(std))
        return (r"\operatorname{mean}_{x}\left[\frac{1}{2}" + norm + " - " + log_det + r"\right] + "
                + constant)

    def _print_Increment(self, expr):
        name = str(expr.args[0])
        if self.increment_step is None:
            return "d" + symbol_latex(name)
        return r"\Delta " + symbol_latex(name, self.increment_step)

    def _print_MeanOver(self, expr):
        x, axis = expr.args
        return r"\operatorname{mean}_{" + self._axis(axis) + r"}\left(" + self._print(x) + r"\right)"

    def _print_StdOver(self, expr):
        x, axis = expr.args
        return r"\operatorname{std}_{" + self._axis(axis) + r"}\left(" + self._print(x) + r"\right)"

    def _axis(self, axis) -> str:
        return r"\mathrm{" + _text(str(axis)) + "}"

    def _print_Derivative(self, expr):
        """g'(X) for the derivative of a one-input network in its input; else d/dx of it."""
        inner = expr.expr
        if isinstance(inner, S.NetCall) and len(expr.variable_count) == 1:
            (variable, count), = expr.variable_count
            name, *inputs = inner.args
            if inputs == [variable] and count <= 3:
                return (self._print(name) + "'" * int(count) + r"\left(" + self._print(variable)
                        + r"\right)")
        return super()._print_Derivative(expr)

    def _print_SmoothInTime(self, expr):
        terms = []
        for p in expr.args:
            name = str(p)
            terms.append(r"\left\|" + symbol_latex(name, "j+1") + " - " + symbol_latex(name, "j")
                         + r"\right\|^{2}")
        return r"\sum_{j} \frac{1}{" + self.step + r"}\left(" + " + ".join(terms) + r"\right)"


class _Writer:
    def __init__(self, model: ir.Model):
        self.m = model
        self.p = SpecLatexPrinter(t_end=model.scheme.t_end if model.scheme else None)
        self.p.step = step_symbol(model)
        self.per_step = {p.name for p in model.parameters if p.per_step}
        self.per_step |= {n.name for n in model.networks if n.per_step}
        self.nets = {n.name for n in model.networks}
        for n in self.nets:
            self.p.names[n] = r"\mathrm{" + _text(n) + "}"
        for flow in model.flows:
            self.p.names[flow.name] = flow_symbol(flow.name)

    def tex(self, expr, names=None) -> str:
        saved = dict(self.p.names)
        self.p.names.update(names or {})
        try:
            return self.p.doprint(expr)
        finally:
            self.p.names = saved

    def state(self, name, index=None) -> str:
        return symbol_latex(name, *([index] if index else []))

    def f(self, eq, values=None, step="j") -> str:
        """The right-hand side of `eq` at step `step`, states replaced by `values` (LaTeX)."""
        names = {}
        for s in self.m.states:
            names[s.name] = (values or {}).get(s.name, self.state(s.name, step))
        for n in self.per_step:
            names[n] = (r"\mathrm{" + _text(n) + "}_{" + step + "}") if n in self.nets \
                else symbol_latex(n, step)
        if values and "t" in values:   # the stage's time, t_j + c h
            names["t"] = values["t"]
        return self.tex(eq.rhs, names)

    # -- blocks ------------------------------------------------------------------------------
    def model_lines(self) -> list[str]:
        lines = []
        for eq in self.m.equations:
            y = self.state(eq.state)
            d = r"\frac{d " + y + "}{dt}" if eq.order == 1 else \
                r"\frac{d^{" + str(eq.order) + "} " + y + "}{dt^{" + str(eq.order) + "}}"
            lines.append(f"{d} &= {self.tex(eq.rhs)}")
        for init in self.m.initials:
            y = self.state(init.state)
            lhs = y if init.order == 0 else (r"\dot{" + y + "}" if init.order == 1 else
                                             r"\frac{d^{" + str(init.order) + "} " + y + "}{dt^{"
                                             + str(init.order) + "}}")
            lines.append(f"{lhs}(0) &= {self.tex(init.value)}")
        return lines

    def flow_lines(self, flow) -> list[str]:
        """The layers as written, x1 and x2 updated in place (leftarrow), and the log-det."""
        j = symbol_latex(flow.index)
        names = {n.name: r"\mathrm{" + _text(n.name) + "}_{" + j + "}" for n in self.m.networks if n.layers}
        last = flow.first + flow.layers - 1
        lines = [rf"&\text{{for }} {j} = {flow.first}, \dots, {last}: \quad x = (x_{{1}}, x_{{2}}), "
                 rf"\ \ell = \log\left|\det \frac{{\partial {flow_symbol(flow.name)}}}{{\partial x}}\right| = 0"]
        for line in flow.lines:
            if isinstance(line, ir.Swap):
                lines.append(r"\left(x_{1}, x_{2}\right) &\leftarrow \left(x_{2}, x_{1}\right)")
                continue
            target = symbol_latex(line.target)
            lines.append(f"{target} &\\leftarrow {self.tex(line.rhs, names)}")
            if line.log_scale != 0:
                lines.append(r"\ell &\leftarrow \ell + \textstyle\sum_{k} " +
                             _parenthesized(self.tex(line.log_scale, names)) + "_{k}")
        return lines

    def inverse_lines(self, flow) -> list[str]:
        j = symbol_latex(flow.index)
        names = {n.name: r"\mathrm{" + _text(n.name) + "}_{" + j + "}" for n in self.m.networks if n.layers}
        lines = [rf"&\text{{for }} {j} = {flow.first + flow.layers - 1}, \dots, {flow.first}:"]
        for line in reversed(flow.lines):
            if isinstance(line, ir.Swap):
                lines.append(r"\left(x_{1}, x_{2}\right) &\leftarrow \left(x_{2}, x_{1}\right)")
            else:
                lines.append(f"{symbol_latex(line.target)} &\\leftarrow {self.tex(line.inverse, names)}")
        return lines

    def scheme_lines(self, equations=None) -> list[str]:
        """The update equations: the stages of the scheme's definition (stages.py), the right
        sides those of `equations` (the model's by default); an adaptive scheme, which a library
        steps, in words."""
        definition = registry.definition_of(self.m.scheme)
        if definition.adaptive:
            return self._adaptive(definition)
        from sciml.latex.stages import StageLatex
        return StageLatex(self, definition, equations).lines()

    def _adaptive(self, definition):
        s = self.m.scheme
        words = rf"\text{{{definition.latex} ({definition.name}) on }} [0, T]"
        tolerances = (r"\text{rtol } " + self.tex(sympy.Float(s.option("rtol"))) + r",\ \text{atol } "
                      + self.tex(sympy.Float(s.option("atol"))))
        grad = (r"\text{gradients by the continuous adjoint equation}" if s.option("adjoint")
                else r"\text{gradients by backpropagation through the solver steps}")
        return [r"&" + words, r"&" + tolerances, r"&" + grad]

    def grid_line(self) -> str:
        s = self.m.scheme
        whole = float(s.t_end).is_integer() and abs(s.t_end) < 1e15   # 1e300 as 10^{300}, not 301 digits
        t_end = self.tex(sympy.Integer(int(s.t_end)) if whole else sympy.Float(s.t_end))
        if registry.definition_of(s).adaptive:
            return f"T &= {t_end}"
        return (rf"{self.p.step} &= \frac{{T}}{{N}}, \quad T = {t_end}, \quad N = {s.steps}, \quad "
                rf"j = 0, \dots, N - 1")


def spec_names(model: ir.Model) -> set:
    """Every name the spec declares: states, parameters, networks, constants, data sets, the
    domain's coordinates and the flows (what a symbol of the writer's own must not print as)."""
    return ({s.name for s in model.states} | {p.name for p in model.parameters} | {n.name for n in model.networks}
            | {c.name for c in model.constants} | {d.name for d in model.datasets} | {c.name for c in model.domain}
            | {f.name for f in model.flows})


def step_symbol(model: ir.Model) -> str:
    """The scheme's step size as printed: h, or \\Delta t when the spec names something h (a
    hidden state h would read as the step)."""
    return r"\Delta t" if "h" in spec_names(model) else "h"


def _align(lines: list[str]) -> str:
    return "\\begin{align*}\n" + " \\\\\n".join("  " + line for line in lines) + "\n\\end{align*}\n"


def flow_symbol(name: str) -> str:
    """g^{-1} for a flow named g_inv (the seed's notation), else the name upright."""
    if name.endswith("_inv") and len(name) > 4:
        return symbol_latex(name[:-4]) + "^{-1}"
    return r"\mathrm{" + _text(name) + "}"


def _parenthesized(text: str) -> str:
    return text if text.replace("\\", "").replace("{", "").replace("}", "").isalnum() or \
        text.startswith(r"\mathrm") and " " not in text else r"\left(" + text + r"\right)"


def _loss_lines(w: "_Writer", loss) -> list[str]:
    """L = first term, then one line per further term (a long loss stays inside the page)."""
    terms = loss.as_ordered_terms() if isinstance(loss, sympy.Add) else [loss]
    lines = [r"\mathcal{L} &= " + w.tex(terms[0])]
    for term in terms[1:]:
        negative = term.could_extract_minus_sign()
        lines.append(r"&\quad " + ("- " + w.tex(-term) if negative else "+ " + w.tex(term)))
    return lines


def document(title: str, blocks: list[tuple[str, str, str]], standalone: bool) -> str:
    """Blocks of (comment, heading, align* text): each after its comment line, or a whole article
    with a section for the model and a subsection per block."""
    if not standalone:
        return "".join(f"% {comment}\n{block}" for comment, _, block in blocks)
    sections = [f"\\section*{{{title}}}\n"]
    sections += [f"\\subsection*{{{heading}}}\n{block}" for _, heading, block in blocks]
    return ("\\documentclass{article}\n\\usepackage{amsmath}\n\\usepackage{amssymb}\n"
            "\\begin{document}\n" + "".join(sections) + "\\end{document}\n")


WRITTEN_KINDS = ("ode", "flow", "pinn", "grid_pde", "sde", "bsde", "diffusion", "cnf", "vae", "latent_ode", "bayes")


def to_latex(model: ir.Model, standalone: bool = False) -> str:
    """The model's equations, scheme and loss as `align*` environments (a whole document if asked)."""
    if model.kind not in WRITTEN_KINDS:   # the SDE, VAE, ... maths comes with their code (issues 11-13)
        from sciml.frontend.diagnostics import SpecError, error
        raise SpecError([error("E901", f"sciml latex for models of kind {model.kind} is not supported yet",
                               model.scheme.span if model.scheme is not None else model.loss_span,
                               "sciml check checks the whole spec; its LaTeX comes with its code generation")])
    if model.kind == "pinn":
        from sciml.latex.pinn import pinn_document
        return pinn_document(model, standalone)
    if model.kind == "grid_pde":
        from sciml.latex.grid import grid_document
        return grid_document(model, standalone)
    if model.kind == "diffusion":
        from sciml.latex.diffusion import diffusion_document
        return diffusion_document(model, standalone)
    if model.kind == "bayes":
        from sciml.latex.bayes import bayes_document
        return bayes_document(model, standalone)
    if model.kind == "vae":
        from sciml.latex.vae import vae_document
        return vae_document(model, standalone)
    if model.kind in ("sde", "bsde"):
        from sciml.latex.sde import sde_document
        return sde_document(model, standalone)
    w = _Writer(model)
    title = _text(model.name)
    if model.flows:
        return _flow_document(w, model, title, standalone)
    scheme = registry.definition_of(model.scheme).latex
    return document(title, [(f"{title}: the continuous model", "Model", _align(w.model_lines())),
                            (f"scheme: {scheme}", f"Scheme: {scheme}", _align([w.grid_line(), *w.scheme_lines()])),
                            ("loss", "Loss", _align(_loss_lines(w, model.loss)))], standalone)


def _flow_document(w: _Writer, model: ir.Model, title: str, standalone: bool) -> str:
    """A flow: its layers, its inverse, and the likelihood loss."""
    parts = []   # (heading, block)
    for flow in model.flows:
        g = flow_symbol(flow.name)
        inverse = g[:-len("^{-1}")] if g.endswith("^{-1}") else g + "^{-1}"
        parts += [(f"Flow ${g}$: {flow.layers} coupling layers", _align(w.flow_lines(flow))),
                  (f"Its inverse ${inverse}$", _align(w.inverse_lines(flow)))]
    parts.append(("Loss", _align(_loss_lines(w, model.loss))))
    return document(title, [(heading, heading, block) for heading, block in parts], standalone)
