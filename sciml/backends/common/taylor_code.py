"""Input derivatives of a field network, pushed forward through the MLP (Taylor mode).

For a field u(x_1..x_d) = mlp(d -> w_1 -> ... -> m, sigma), the emitted `u_taylor(p, x, t)`
returns, at a batch of points, the value and the input derivatives asked for, each carried
through the layers alongside the activations: for a = W h + b and h+ = sigma(a),

    h+_i   = sigma'(a) a_i                                  a_i  = W h_i
    h+_ij  = sigma''(a) a_i a_j + sigma'(a) a_ij            a_ij = W h_ij
    lap h+ = sigma''(a) sum_i a_i^2 + sigma'(a) W lap h     (the Laplacian carried as one quantity)

from h = (x_1, ..., x_d), h_i = e_i (so a_i of the first layer is column i of W_1), h_ij = 0; the
last layer is affine, so its derivatives are W_L times those of the layer below.  sigma' and
sigma'' come from sympy, written in the layer's activation h = sigma(a) where that is shorter
(tanh' = 1 - h^2, tanh'' = -2 h tanh').  The orders are known statically: one line per quantity
and layer, nothing computed that is not asked for.  The reference route, nested autodiff, is
taylor_autodiff_code.py; both take the same `orders`.

The inputs are the network's own (one row (1, n) per coordinate, as `u(p, x, t)` takes them);
the weights are the module's (`p['u.W1']` (w_1, d), `p['u.b1']` (w_1, 1)).
"""
from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

import sympy

from sciml.backends.common.quoting import docstring, literal
from sciml.lowering import ir
from sciml.lowering import symbols as S


@dataclass(frozen=True)
class Laplacian:
    """The key of a Laplacian in `orders`: the sum of the pure second derivatives over the
    inputs `over` (indices into the network's inputs; the space coordinates of u(x, y, t))."""

    over: tuple


#: the highest order Taylor mode is written to; autodiff takes any
TAYLOR_ORDER = 2


@dataclass(frozen=True)
class Request:
    """One quantity asked for: its key in `orders` (() the value, (i,) du/dx_i, (i, j) the
    second derivative, i <= j; or a Laplacian) and the name it is returned under."""

    key: object
    name: str

    @property
    def order(self) -> int:
        return 2 if isinstance(self.key, Laplacian) else len(self.key)


def requests(net: ir.Network, orders: dict) -> list[Request]:
    """`orders` ({(): 'u', (0,): 'u_x', (0, 0): 'u_xx', Laplacian((0, 1)): 'lap_u'}) checked and
    in its own order (the order of the returned tuple); mixed pairs are sorted ((1, 0) is (0, 1)).
    ValueError for an index out of range, a name that is no identifier, a quantity asked twice."""
    d, out, keys = len(net.features), [], set()
    if not orders:
        raise ValueError(f"no derivative of {net.name} asked for")
    for key, name in orders.items():
        if isinstance(key, Laplacian):
            if not key.over or len(set(key.over)) != len(key.over):
                raise ValueError(f"a Laplacian of {net.name} over {key.over!r}: name each input once")
            key = Laplacian(tuple(sorted(key.over)))
            indices = key.over
        else:
            key = tuple(sorted(key))
            indices = key
        if any(not isinstance(i, int) or not 0 <= i < d for i in indices):
            raise ValueError(f"{net.name} has {d} inputs; no derivative along {indices!r}")
        if not (isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)):
            raise ValueError(f"{name!r} is not a name for a derivative of {net.name}")
        if key in keys or name in {r.name for r in out}:
            raise ValueError(f"{key!r} -> {name!r}: each quantity once, each under its own name")
        keys.add(key)
        out.append(Request(key, name))
    return out


def require_smooth(net: ir.Network, order: int) -> None:
    """ValueError unless the activation has a derivative of `order` (sympy's: relu's slope is a
    step, whose derivative sympy leaves unevaluated, so relu stops at order 1)."""
    if net.activation not in S.ACTIVATIONS:
        raise ValueError(f"{net.name}: no derivative rule for the activation {net.activation!r}")
    a = sympy.Symbol("a")
    derivative = S.ACTIVATIONS[net.activation](a)
    for k in range(1, order + 1):
        derivative = derivative.diff(a)
        if derivative.has(sympy.Derivative):
            raise ValueError(
                f"{net.name} = mlp(..., {net.activation}) has no derivative of order {k} in its inputs "
                f"({net.activation}^({k}) is not a function), so derivatives of order {order} of it are "
                f"not defined: use a smooth activation (tanh, sin, softplus, sigmoid)")


def require_plain(net: ir.Network) -> None:
    """ValueError for a network that is not one plain MLP of its inputs."""
    if net.layers or net.index or net.per_step or net.batchnorm or net.posterior:
        raise ValueError(f"{net.name}: input derivatives are written for a plain MLP field "
                         f"(one set of weights, no batch norm, no posterior)")


def activation_derivatives(activation: str) -> tuple:
    """(sigma(a), sigma'(a), sigma''(a)) as sympy expressions in the symbols a (the affine
    value), h (= sigma(a)) and slope (= sigma'(a)): each derivative written in h where sigma
    comes back (tanh' = 1 - h^2), and sigma'' as slope * q when that is shorter (tanh'' =
    -2 h slope, sigmoid'' = slope (1 - 2 h), softplus'' = slope (1 - slope))."""
    a, h, slope = sympy.symbols("a h slope")
    sigma = S.ACTIVATIONS[activation](a)
    first = sigma.diff(a)
    second = first.diff(a)
    first_in_h = first.xreplace({sigma: h})
    second_in_h = second.xreplace({sigma: h})
    ratio = sympy.factor(sympy.cancel(second / first)).xreplace({sigma: h, first: slope})
    candidates = [second_in_h]
    if a not in ratio.free_symbols and not ratio.has(sympy.Derivative):
        candidates.append(slope * ratio)
    curvature = min(candidates, key=sympy.count_ops)
    return sigma, first_in_h, curvature


class Locals:
    """The names of one emitted function: each fresh, none taken twice."""

    def __init__(self, taken):
        self.taken = set(taken)

    def fresh(self, base: str) -> str:
        while base in self.taken or keyword.iskeyword(base):
            base += "_"
        self.taken.add(base)
        return base


def input_names(net: ir.Network, names: dict, taken: Locals, avoid=None) -> list[str]:
    """The function's arguments: the network's input names (x, t), else (not an identifier, or
    of the shape `avoid` matches: the function's own quantities) in_x0, in_x1, ..."""
    out = []
    for k, name in enumerate(net.features):
        candidate = names.get(name, name)
        if not candidate.isidentifier() or (avoid is not None and avoid.match(candidate)):
            candidate = f"in_x{k}"
        out.append(taken.fresh(candidate))
    return out


def subscript(suffix: list[str], indices) -> str:
    """The subscript of several directions: the names joined (h1_xt reads u_xt), with '_'
    between them when one name has several letters (h1_x1_x2)."""
    joiner = "" if all(len(s) == 1 for s in suffix) else "_"
    return joiner.join(suffix[i] for i in indices)


def laplacian_suffix(suffix: list[str], over: tuple, d: int) -> str:
    return "" if len(over) == d else "_" + subscript(suffix, over)


def default_function_name(net: ir.Network, names: dict, route: str) -> str:
    return f"{names.get(net.name, net.name)}_{route}"


def describe(net: ir.Network, names: dict, wanted: list[Request]) -> str:
    widths = " -> ".join(str(w) for w in net.widths)
    name = names.get(net.name, net.name)
    quantities = ", ".join(r.name for r in wanted)
    return f"{docstring(name)} = mlp({widths}, {docstring(net.activation)}): {docstring(quantities)}"


#: the names of a Taylor function's own quantities (a1, h1_x, slope1, lap_h1, W1, ...)
INNER_NAMES = re.compile(r"^(h|a|W|b|slope|curvature)\d+(_|$)|^lap_|^in_x\d")


class TaylorWriter:
    """The lines of one Taylor-mode function (see the module's docstring)."""

    def __init__(self, net: ir.Network, names: dict, spelling, orders: dict, function_name: str = ""):
        require_plain(net)
        self.net, self.names, self.sp = net, names, spelling
        self.wanted = requests(net, orders)
        top = max(r.order for r in self.wanted)
        if top > TAYLOR_ORDER:
            raise ValueError(f"Taylor mode is written to order {TAYLOR_ORDER}; {net.name} is asked for "
                             f"order {top}: use derivatives = autodiff")
        require_smooth(net, top)
        self.function_name = function_name or default_function_name(net, names, "taylor")
        self.key = names.get(net.name, net.name)
        self.locals = Locals({"p", self.function_name} | {r.name for r in self.wanted})
        self.inputs = input_names(net, names, self.locals, INNER_NAMES)
        self.suffix = self.inputs   # the subscript of each direction: h1_x
        d = len(self.inputs)
        self.pairs = sorted({r.key for r in self.wanted
                             if not isinstance(r.key, Laplacian) and len(r.key) == 2})
        self.laplacians = [r.key for r in self.wanted if isinstance(r.key, Laplacian)]
        self.directions = sorted({i for r in self.wanted for i in
                                  (r.key.over if isinstance(r.key, Laplacian) else r.key)})
        self.sigma, self.first, self.second = activation_derivatives(net.activation)
        self.lap_suffix = {key: laplacian_suffix(self.suffix, key.over, d) for key in self.laplacians}

    # -- names of the layer quantities ----------------------------------------------------
    def first_name(self, base, i):
        return f"{base}_{self.suffix[i]}"

    def pair_name(self, base, pair):
        return f"{base}_{subscript(self.suffix, pair)}"

    def lap_name(self, base, key):
        return f"lap{self.lap_suffix[key]}_{base}"

    def code(self, expr, table) -> str:
        printer = self.sp.printer(table)
        printer._settings["order"] = "none"   # terms and factors as written (_product, _sum)
        return printer.doprint(expr)

    def weight(self, kind, layer) -> str:
        return f"p[{literal(f'{self.key}.{kind}{layer}')}]"

    # -- the function ------------------------------------------------------------------------
    def lines(self) -> list[str]:
        net, layers = self.net, len(self.net.widths) - 1
        lines = self.header()
        for layer in range(1, layers + 1):
            last = layer == layers
            title = "the output, affine" if last else f"sigma = {net.activation}"
            lines.append(f"    # layer {layer}: {docstring(title)}")
            lines.append(f"    W{layer}, b{layer} = {self.weight('W', layer)}, {self.weight('b', layer)}")
            lines += self.affine(layer, last) if last else self.hidden(layer)
        inner = {target for line in lines[:lines.index(f"    # layer {layers}: the output, affine")]
                 for target in _targets(line)} | {f"W{layers}", f"b{layers}"}
        clash = sorted(inner & {r.name for r in self.wanted})
        if clash:
            raise ValueError(f"{clash[0]!r} names a quantity of {self.function_name} inside it; name the "
                             f"derivatives of {net.name} otherwise")
        returned = ", ".join(r.name for r in self.wanted)
        return lines + [f"    return {returned}"]

    #: the docstring's lines after its first: the rules of the layers
    RULES = ["    Pushed forward layer by layer (Taylor mode): for a = W h + b and h+ = sigma(a),",
             "    h+_i = sigma'(a) a_i, h+_ij = sigma''(a) a_i a_j + sigma'(a) a_ij and",
             "    lap h+ = sigma''(a) sum_i a_i^2 + sigma'(a) W lap h, with a_i = W h_i, a_ij = W h_ij;",
             "    from h0 = the inputs, h0_i = e_i, h0_ij = 0."]

    def header(self) -> list[str]:
        """The def line, the docstring and h0 = the inputs stacked."""
        arguments = ", ".join(self.inputs)
        rules = self.rules()
        rules[-1] += '"""'
        stacked = self.sp.concat.format(arguments) if len(self.inputs) > 1 else self.inputs[0]
        return [f"def {self.function_name}(p, {arguments}):",
                f'    """{describe(self.net, self.names, self.wanted)}.', "", *rules,
                f"    h0 = {stacked}"]

    def rules(self) -> list[str]:
        return list(self.RULES)

    def hidden(self, layer: int) -> list[str]:
        """A hidden layer: a and its derivatives, then h = sigma(a) and its derivatives."""
        return self.affine(layer, False) + self.activated(layer)

    def affine(self, layer: int, last: bool) -> list[str]:
        """a = W h + b and its derivatives a_i = W h_i (column i of W1 in the first layer),
        a_ij = W h_ij, W lap h; in the last layer they are the outputs."""
        below, W = f"h{layer - 1}", f"W{layer}"
        out = {r.key: r.name for r in self.wanted} if last else {}
        base = f"a{layer}"
        lines = [f"    {out.get((), base)} = {W} @ {below} + b{layer}"]
        for i in self.directions:
            if layer == 1:
                value = f"{W}[:, {i}:{i + 1}]"
                if last:   # an affine network: the slope is the same at every point
                    value += f" + 0 * {out.get((), base)}"
            else:
                value = f"{W} @ {self.first_name(below, i)}"
            target = out.get((i,), self.first_name(base, i))
            if not last or (i,) in out:
                lines.append(f"    {target} = {value}")
        if layer == 1 and not last:
            return lines     # h0_ij = 0: the first layer's a_ij vanish
        zero = f"0 * {out.get((), base)}"
        for pair in self.pairs:
            value = zero if layer == 1 else f"{W} @ {self.pair_name(below, pair)}"
            lines.append(f"    {out.get(pair, self.pair_name(base, pair))} = {value}")
        for key in self.laplacians:
            value = zero if layer == 1 else f"{W} @ {self.lap_name(below, key)}"
            lines.append(f"    {out.get(key, self.lap_name(base, key))} = {value}")
        return lines

    def activated(self, layer: int) -> list[str]:
        """h = sigma(a), sigma'(a), sigma''(a) (where a second order is asked), and h's
        derivatives, one line each."""
        a, h = f"a{layer}", f"h{layer}"
        slope, curvature = f"slope{layer}", f"curvature{layer}"
        table = {"a": a, "h": h, "slope": slope}
        lines = [f"    {h} = {self.code(self.sigma, table)}",
                 f"    {slope} = {self.code(self.first, table)}"]
        second_order = bool(self.pairs or self.laplacians)
        if second_order:
            lines.append(f"    {curvature} = {self.code(self.second, table)}")
        symbol, first = sympy.Symbol, self.first_name
        for i in self.directions:
            expr = _product(symbol(slope), symbol(first(a, i)))
            lines.append(f"    {first(h, i)} = {self.code(expr, _identity(expr))}")
        for pair in self.pairs:
            i, j = pair
            directions = ((_square(symbol(first(a, i))),) if i == j
                          else (symbol(first(a, i)), symbol(first(a, j))))
            expr = _product(symbol(curvature), *directions)
            if layer > 1:
                expr = _sum(expr, _product(symbol(slope), symbol(self.pair_name(a, pair))))
            lines.append(f"    {self.pair_name(h, pair)} = {self.code(expr, _identity(expr))}")
        for key in self.laplacians:
            squares = _sum(*(_square(symbol(first(a, i))) for i in key.over))
            expr = _product(symbol(curvature), squares)
            if layer > 1:
                expr = _sum(expr, _product(symbol(slope), symbol(self.lap_name(a, key))))
            lines.append(f"    {self.lap_name(h, key)} = {self.code(expr, _identity(expr))}")
        return lines


def _targets(line: str) -> list[str]:
    """The names a line `    a, b = ...` assigns (none for a comment or the def)."""
    if not line.startswith("    ") or " = " not in line or line.lstrip().startswith(("#", '"')):
        return []
    return [name.strip() for name in line.split(" = ", 1)[0].split(",")]


def _product(*factors):
    """A product printed in the order written (sigma'(a) before a_i, as in the equations)."""
    return sympy.Mul(*factors, evaluate=False) if len(factors) > 1 else factors[0]


def _sum(*terms):
    return sympy.Add(*terms, evaluate=False) if len(terms) > 1 else terms[0]


def _square(x):
    return sympy.Pow(x, 2, evaluate=False)


def _identity(expr) -> dict:
    """The printer's name table for an expression whose symbols are already code names."""
    return {s.name: s.name for s in expr.free_symbols}


def taylor_function(net: ir.Network, names: dict, spelling, orders: dict,
                    function_name: str = "") -> list[str]:
    """The lines of `def u_taylor(p, x, t): ... return u, u_x, ...` (the quantities of `orders`,
    in its order; see requests).  `names` maps the spec's names to the module's (the network's
    weights are p['<name>.W1'], ...), `spelling` is the backend's (model_code.Spelling: its
    printer and concat).  ValueError for what Taylor mode does not write: an order above 2, an
    activation without the derivatives asked for (relu at order 2), a network that is not a
    plain MLP."""
    return TaylorWriter(net, names, spelling, orders, function_name).lines()
