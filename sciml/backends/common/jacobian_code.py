"""The divergence and the Jacobian of a network in a right side (a continuous normalizing flow's
dt(l) = -div(F(z, t), z), RNODE's |jacobian(F(z, t), z)|^2), pushed forward through the MLP.

For F = mlp(...) of inputs (x_0, x_1, ...) and a direction v of the input x_w, the emitted
`F_jvp(p, x0, x1, v)` returns F and its derivative along v, carried layer by layer beside the
activations (forward mode): for a = W h + b and h+ = sigma(a),

    da = W dh        (the first layer: the columns of W_1 that x_w meets, times v)
    dh+ = sigma'(a) da

with sigma' from sympy, in h+ where it is shorter (tanh' = 1 - h^2: taylor_code's
activation_derivatives); the last layer is affine.  v holds several directions on its middle
axis, (n_w, k, samples), and each layer's W meets them all in one matrix product
(`along(W, dz)`: W times each direction, a tensordot over the features):

    exact        v = the n_w unit vectors (identity_directions): dF v is the Jacobian, row i
                 the derivative in x_w,i; div = its trace, |jacobian|^2 = the sum of its squares
    hutchinson   v = k random probes (Rademacher or normal, drawn with numpy, one draw per
                 solve, shared by every term that reads them): div ~ mean over the probes of
                 v . (dF v) (Hutchinson 1989; FFJORD)

All the right sides of a system that reads such a derivative are written as one function,
`right_sides(...)`, so that the network and its derivative are evaluated once per stage for all
the states (the scheme's stage binds them: `k1_z, k1_l = right_sides(z, t, p)`).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from sciml.backends.common.quoting import docstring, literal
from sciml.backends.common.taylor_code import activation_derivatives
from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.lowering import symbols as S

PROBES = "probes"   # the batch's field of Hutchinson's probes (draw_batch)


class JacobianTrace(S.ArrayOp):
    """JacobianTrace(J): the trace of each sample's Jacobian J (outputs, directions, samples)."""

    nargs = 1


class JacobianSquaredNorm(S.ArrayOp):
    """JacobianSquaredNorm(J): the sum of the squares of each sample's Jacobian entries."""

    nargs = 1


class ProbeTrace(S.ArrayOp):
    """ProbeTrace(v, Jv): Hutchinson's estimate of the trace, the mean over the probes v of v . Jv."""

    nargs = 2


@dataclass(frozen=True)
class Pass:
    """One forward-mode evaluation of a network call and its derivative in one input."""

    call: sympy.Basic        # the NetCall
    wrt: int                 # which input of the network the derivative is in
    exact: bool              # the Jacobian (unit directions), or J v along the probes
    probes: int              # Hutchinson's k (0 for exact)
    value: str               # the code names of F(...) and of its derivative
    derivative: str


def has_network_derivatives(model: ir.Model) -> bool:
    return any(e.rhs.has(F.NetDivergence, F.NetJacobian) for e in model.equations)


def unsupported(model: ir.Model) -> list:
    """[(what, span)] of the network derivatives this writer cannot write."""
    found = []
    for equation in model.equations:
        rhs = equation.rhs
        squared = rhs.replace(lambda e: _is_squared_jacobian(e), lambda e: sympy.Integer(0))
        if squared.has(F.NetJacobian):
            found.append(("a network's Jacobian other than |jacobian(F(...), z)|^2", equation.span))
        for call in rhs.atoms(F.NetDivergence, F.NetJacobian):
            net = call.args[0].args[0]
            found += [(f"the derivative of {net} = mlp(..., {n.activation}) in a right side: a "
                       "network of plain layers (no batch norm, posterior or steps)", equation.span)
                      for n in model.networks if n.name == str(net)
                      and (n.layers or n.index or n.per_step or n.batchnorm or n.posterior)]
        if len({(int(d.args[3]), str(d.args[4])) for d in rhs.atoms(F.NetDivergence)
                if str(d.args[2]) == "hutchinson"}) > 1:
            found.append(("Hutchinson estimates with different numbers or kinds of probes", equation.span))
        if equation.order != 1 and rhs.has(F.NetDivergence, F.NetJacobian):
            found.append(("a network's divergence in a second-order equation", equation.span))
    if model.noises and has_network_derivatives(model):
        found.append(("a network's divergence in an SDE", model.equations[0].span))
    if any(d.name == "probes" for d in model.draws):
        used = {model.training_set} | {r.dataset for r in model.reports if r.dataset}
        found += [("Hutchinson's probes for data of unknown size (a file)", d.span) for d in model.datasets
                  if d.name in used and "samples" not in dict(d.options)]
    return found


def _is_squared_jacobian(e) -> bool:
    return isinstance(e, sympy.Pow) and e.exp == 2 and isinstance(e.base, S.SampleNorm) \
        and isinstance(e.base.args[0], F.NetJacobian)


class NetworkDerivatives:
    """The forward-mode passes of a system's right sides, their functions and the joint right
    side; `writer` is the ModelWriter (names, printer, helpers)."""

    def __init__(self, writer):
        self.w, self.m = writer, writer.m
        self.passes: list[Pass] = []
        self.functions: dict[str, str] = {}   # network name -> its tangent function's name
        for equation in self.m.equations:
            for atom in sorted(equation.rhs.atoms(F.NetDivergence, F.NetJacobian), key=str):
                self._add(atom)
        self.probes = max((p.probes for p in self.passes), default=0)
        self.probe_size = max((self._size(p) for p in self.passes if not p.exact), default=0)
        if self.probes:
            writer.names[PROBES] = writer.fresh(PROBES)

    def _net(self, call) -> ir.Network:
        return next(n for n in self.m.networks if n.name == str(call.args[0]))

    def _size(self, pass_) -> int:
        return self.arg_size(pass_.call.args[1 + pass_.wrt])

    def arg_size(self, expr) -> int:
        """The entries per sample of a network's argument: a state, a parameter, the time."""
        shapes = {s.name: s.shape for s in self.m.states}
        shapes.update({q.name: q.shape for q in self.m.parameters})
        shapes["t"] = ()
        if not isinstance(expr, sympy.Symbol) or expr.name not in shapes:
            raise AssertionError(f"the size of the network input {expr} is not known")
        shape = shapes[expr.name]
        return shape[0] if shape else 1

    def _add(self, atom):
        call, wrt = atom.args[0], atom.args[1]
        inputs = list(call.args[1:])
        if wrt not in inputs:
            raise AssertionError(f"{atom}: {wrt} is not an input")
        index = inputs.index(wrt)
        exact = isinstance(atom, F.NetJacobian) or str(atom.args[2]) == "exact"
        probes = 0 if exact else int(atom.args[3])
        for k, known in enumerate(self.passes):
            if known.call == call and known.wrt == index:
                if exact and not known.exact:   # the exact Jacobian serves the estimate too
                    self.passes[k] = Pass(call, index, True, 0, known.value, known.derivative)
                return
        net = self.w.names[str(call.args[0])]
        state = self.w.names.get(str(wrt), str(wrt))
        value = self.w.fresh(f"{net}_value")
        derivative = self.w.fresh(f"d{net}_d{state}" + ("" if exact else "_v"))
        self.passes.append(Pass(call, index, exact, probes, value, derivative))
        self.functions.setdefault(str(call.args[0]), self.w.fresh(f"{net}_jvp"))

    # -- the rewritten right sides -------------------------------------------------------------
    def rewritten(self, rhs):
        """rhs with each network call and derivative in a pass replaced by the names the pass binds."""
        def pass_of(call, wrt):
            index = list(call.args[1:]).index(wrt)
            return next(p for p in self.passes if p.call == call and p.wrt == index)

        def squared(e):
            return JacobianSquaredNorm(sympy.Symbol(pass_of(*e.base.args[0].args).derivative))

        def divergence(e):
            found = pass_of(e.args[0], e.args[1])
            if found.exact:
                return JacobianTrace(sympy.Symbol(found.derivative))
            return ProbeTrace(sympy.Symbol(PROBES), sympy.Symbol(found.derivative))

        rhs = rhs.replace(_is_squared_jacobian, squared)
        rhs = rhs.replace(lambda e: isinstance(e, F.NetDivergence), divergence)
        values = {p.call: sympy.Symbol(p.value) for p in self.passes}
        return rhs.xreplace(values)

    def probe_argument(self, names) -> str:
        """The probes of an evaluation, the first of the drawn ones, one set per sample of its data."""
        drawn = names.get(" probes", f"batch[{literal(PROBES)}]")
        like = names.get(" like")
        return f"{drawn}[..., :{like}.shape[-1]]" if like else drawn

    def numpy_lines(self) -> list[str]:
        """PROBE_SAMPLES and draw_batch(seed, step): Hutchinson's probes of a training step."""
        (draw,) = [d for d in self.m.draws if d.name == "probes"]
        count, size = draw.shape
        samples = self.probe_samples()
        shape = f"({size}, {count}, PROBE_SAMPLES)"
        value = (f"2.0 * rng.integers(0, 2, size={shape}) - 1.0" if draw.distribution == "rademacher"
                 else f"rng.standard_normal({shape})")
        kind = "Rademacher (+-1)" if draw.distribution == "rademacher" else "standard normal"
        return [f"PROBE_SAMPLES = {samples}  # Hutchinson's probes per draw: one set per sample of the largest data set",
                f"REPORTS_READ_DRAWS = {bool(self.m.reports)}  # the reports take the probes of draw_batch(0, 0)",
                "", "",
                "def draw_batch(seed, step):",
                '    """The random draws of training step `step`, from default_rng([seed, step]): Hutchinson\'s',
                f"    probes, {kind}, ({size}, {count}, PROBE_SAMPLES), one draw for the whole solve; a batch",
                '    of n samples takes the first n (the reports: those of draw_batch(0, 0))."""',
                "    rng = np.random.default_rng([seed, step])",
                f"    return {{{literal(PROBES)}: {value}}}"]

    def probe_samples(self) -> int:
        used = {self.m.training_set} | {r.dataset for r in self.m.reports if r.dataset}
        sizes = [dict(d.options).get("samples", 0) for d in self.m.datasets if d.name in used]
        return max(sizes, default=0)

    def names(self) -> dict:
        out = {p.value: p.value for p in self.passes}
        out.update({p.derivative: p.derivative for p in self.passes})
        if self.probes:
            out[PROBES] = self.w.names[PROBES]
        return out

    def pass_lines(self, printer_names) -> list[str]:
        """The lines of a right side that evaluate each pass: `F_value, dF_dz = F_jvp(p, z, t, v)`."""
        lines = []
        for p in self.passes:
            net = self._net(p.call)
            args = ", ".join(self.w.code(a, printer_names) for a in p.call.args[1:])
            if p.exact:
                size = self._size(p)
                like = self.w.code(p.call.args[1 + p.wrt], printer_names)
                self.w.helpers.add("identity_directions")
                directions = f"identity_directions({size}, {like})"
            else:
                directions = self.w.names[PROBES]
            lines.append(f"    {p.value}, {p.derivative} = {self.functions[net.name]}(p, {args}, {directions})")
        return lines

    # -- the tangent functions -----------------------------------------------------------------
    def tangent_functions(self) -> list[str]:
        lines = []
        for net_name, function in self.functions.items():
            net = next(n for n in self.m.networks if n.name == net_name)
            (wrt,) = {p.wrt for p in self.passes if str(p.call.args[0]) == net_name}
            lines += self.tangent_function(net, function, wrt) + ["", ""]
        return lines

    def tangent_function(self, net: ir.Network, function: str, wrt: int) -> list[str]:
        name = self.w.names[net.name]
        widths = " -> ".join(str(w) for w in net.widths)
        call = next(p.call for p in self.passes if str(p.call.args[0]) == net.name)
        sizes = [self.arg_size(a) for a in call.args[1:]]
        first = sum(sizes[:wrt])
        args = ", ".join(f"x{k}" for k in range(len(net.features)))
        self.w.helpers.add("along")
        lines = [f"def {function}(p, {args}, v):",
                 f'    """mlp({widths}, {docstring(net.activation)}) at ({args}) and its derivative in x{wrt}',
                 f"    along each direction of v, ({sizes[wrt]}, directions, samples), pushed forward layer by layer",
                 f'    (forward mode): the value and dF v, ({net.widths[-1]}, directions, samples)."""',
                 "    z = " + (self.w.sp.concat.format(args) if len(net.features) > 1 else "x0")]
        weight = lambda kind, layer: f"p[{literal(f'{name}.{kind}{layer}')}]"   # noqa: E731
        columns = "" if len(net.features) == 1 else f"[:, {first}:{first + sizes[wrt]}]"
        _, slope, _ = activation_derivatives(net.activation)
        a, h = sympy.symbols("a h")
        layers = len(net.widths) - 1
        for layer in range(1, layers + 1):
            W, b = weight("W", layer), weight("b", layer)
            tangent = f"along({W}{columns}, v)" if layer == 1 else f"along({W}, dz)"
            if layer == layers:
                lines.append(f"    return {W} @ z + {b}, {tangent}")
                continue
            activated = S.ACTIVATIONS[net.activation](sympy.Symbol("a"))
            lines += [f"    a = {W} @ z + {b}", f"    dz = {tangent}",
                      "    z = " + self.w.code(activated, {"a": "a"})]
            derivative = self.w.code(slope, {"a": "a", "h": "z"})
            lines.append(f"    dz = {_parenthesized(derivative)}[:, None] * dz")
        return lines

    # -- the joint right side ------------------------------------------------------------------
    def right_sides(self, function: str) -> list[str]:
        """def right_sides(<args>): the rates of every state of the system, in the order of the
        equations, the passes evaluated once."""
        w = self.w
        equations = self.m.equations
        args = self.arguments()
        states = ", ".join(w.names[e.state] for e in equations)
        lines = [f"def {function}({', '.join(args)}):",
                 f'    """The right sides of {states}, in one: each network and its derivative evaluated once."""']
        for equation in equations:
            lines += w.spec_comment(equation.span)
        lines += w.time_lines(args, sympy.Tuple(*[e.rhs for e in equations]))
        printer_names = {**w.names, **{c: w.names[c] for c in w.matrix_consts}, **self.names()}
        lines += self.pass_lines(printer_names)
        rates = [w.code(self.rewritten(e.rhs), printer_names) for e in equations]
        return lines + [f"    return {', '.join(rates)}", "", ""]

    def arguments(self) -> list[str]:
        args = self.w.rhs_args(None, sympy.Tuple(*[e.rhs for e in self.m.equations]))
        if self.probes:
            args.insert(args.index("p") if "p" in args else len(args), self.w.names[PROBES])
        return args



def _parenthesized(code: str) -> str:
    return code if code.isidentifier() or (code.startswith("(") and code.endswith(")")) else f"({code})"
