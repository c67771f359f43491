"""Taylor mode through the runtime's layer classes: one call per hidden layer (torch).

The same u_taylor as taylor_code.py writes, with each hidden layer one call instead of one line
per product:

    h1, h1_x, h1_t, h1_xx = TaylorInputLayer.apply(W1, b1, h0, tanh_derivatives, jet)
    h2, h2_x, h2_t, h2_xx = TaylorLayer.apply(W2, b2, h1, h1_x, h1_t, h1_xx, tanh_derivatives, jet)

TaylorLayer and TaylorInputLayer (sciml/runtime/torch.py) compute the rules of taylor_code.py's
docstring and carry their backward written out by hand, which makes fewer passes over the
(width, points) arrays than autograd's record of each product (docs/results.md, "Benchmark: the
PINN training step").  `jet` says what the layers carry: (directions, pairs), the inputs' index
of each first-order stream h_i, then for each second-order stream the pairs (i, j) of positions
in `directions` whose products a_i a_j it takes (one for h_xt, one per coordinate for a
Laplacian).  The activation comes as a function of the module, `tanh_derivatives(a)`: sigma
and its first three derivatives at a, sympy's (the third for the backward of the second-order
streams; the first two where only first derivatives are carried).

The route is taken where the backend has the classes (Spelling.taylor_layers), the network has a
hidden layer and a derivative is asked, and sympy writes the activation's derivatives that far
(relu's second is not a function: its first-order u_taylor stays written out).  The last layer,
affine, stays written out: u = W9 @ h8 + b9, u_x = W9 @ h8_x.
"""
from __future__ import annotations

import sympy

from sciml.backends.common.quoting import docstring
from sciml.backends.common.taylor_code import TaylorWriter, activation_derivatives, requests
from sciml.lowering import ir


def third_derivative(activation: str):
    """sigma'''(a) as a sympy expression in a, h (= sigma(a)), slope (= sigma'(a)) and curvature
    (= sigma''(a)), the shortest of: the chain rule on activation_derivatives' sigma''
    (d/da of f(h, slope) = f_h slope + f_slope curvature), sympy's sigma''' in h, and, where
    sigma' is a polynomial in h, those reduced modulo slope = sigma'(h) (tanh''' = slope (4 -
    6 slope), sigmoid''' = slope (1 - 6 slope))."""
    a, h, slope, curvature = sympy.symbols("a h slope curvature")
    sigma, first, second = activation_derivatives(activation)
    chain = second.diff(a) + second.diff(h) * slope + second.diff(slope) * curvature
    written = [chain, sigma.diff(a, 3).xreplace({sigma: h})]
    candidates = []
    for expr in written:
        if first.is_polynomial(h) and first.free_symbols <= {h} and expr.is_polynomial(h, slope, curvature):
            reduced = sympy.reduced(sympy.expand(expr), [slope - first], h, slope, curvature, order="lex")[1]
            if reduced.free_symbols <= {slope, curvature}:
                candidates += [sympy.horner(reduced, slope), sympy.factor(reduced)]
        candidates += [sympy.factor(expr), expr]
    return min(candidates, key=sympy.count_ops)


def derivative_count(net: ir.Network, orders: dict, spelling) -> int:
    """How many of sigma, sigma', sigma'', sigma''' the Taylor layers of `net` take for `orders`:
    4 where second derivatives are carried, 3 where only first; 0 where u_taylor is written out
    product by product (see the module's docstring)."""
    wanted = requests(net, orders)
    top = max(r.order for r in wanted)
    if not spelling.taylor_layers or len(net.widths) < 3 or top == 0:
        return 0
    derivatives = third_derivative(net.activation) if top == 2 else activation_derivatives(net.activation)[2]
    return 0 if derivatives.has(sympy.Derivative) else top + 2


def derivatives_function(activation: str, count: int, name: str, spelling) -> list[str]:
    """`def tanh_derivatives(a):` the first `count` of h = sigma(a), slope, curvature and third
    (sigma's first three derivatives in a), one line each, as TaylorLayer takes them."""
    sigma, first, second = activation_derivatives(activation)
    table = {"a": "a", "h": "h", "slope": "slope", "curvature": "curvature"}
    printer = spelling.printer(table)
    printer._settings["order"] = "none"
    value = (spelling.taylor_values or {}).get(activation)
    names = ["h", "slope", "curvature", "third"][:count]
    what = ["its first derivative", "its first two derivatives", "its first three derivatives"][count - 2]
    lines = [f"def {name}(a):",
             f'    """{docstring(activation)}(a) and {what} at a, for the Taylor layers (TaylorLayer):',
             f'    sympy\'s, written in h = {docstring(activation)}(a) and the derivatives before."""',
             f"    h = {value[0]}   # {value[1]}" if value else f"    h = {printer.doprint(sigma)}",
             f"    slope = {printer.doprint(first)}"]
    if count > 2:
        lines.append(f"    curvature = {printer.doprint(second)}")
    if count > 3:
        lines.append(f"    third = {printer.doprint(third_derivative(activation))}")
    return lines + [f"    return {', '.join(names)}"]


class TaylorLayersWriter(TaylorWriter):
    """taylor_code.TaylorWriter with each hidden layer one call of the runtime's classes."""

    def __init__(self, net: ir.Network, names: dict, spelling, orders: dict, function_name: str,
                 derivatives: str):
        super().__init__(net, names, spelling, orders, function_name)
        self.derivatives = derivatives
        self.jet = self.locals.fresh("jet")

    def streams(self, base: str) -> list[str]:
        """The names of a layer's streams in the order the classes take them: the value, the
        first-order ones, the pairs', the Laplacians'."""
        return ([base] + [self.first_name(base, i) for i in self.directions]
                + [self.pair_name(base, pair) for pair in self.pairs]
                + [self.lap_name(base, key) for key in self.laplacians])

    def jet_text(self) -> tuple[str, str]:
        """(the jet literal, what it says in words)."""
        position = {i: k for k, i in enumerate(self.directions)}
        pairs = [((position[i], position[j]),) for i, j in self.pairs]
        pairs += [tuple((position[i], position[i]) for i in key.over) for key in self.laplacians]
        name = lambda i: self.suffix[i]  # noqa: E731
        words = [f"{self.first_name('h', i)} along {name(i)}" for i in self.directions]
        words += [f"{self.pair_name('h', pair)} from the pair ({name(pair[0])}, {name(pair[1])})"
                  for pair in self.pairs]
        words += [f"{self.lap_name('h', key)} from the pairs "
                  + ", ".join(f"({name(i)}, {name(i)})" for i in key.over) for key in self.laplacians]
        return repr((tuple(self.directions), tuple(pairs))), ", ".join(words)

    def rules(self) -> list[str]:
        words = self.jet_text()[1]
        rules = super().rules()
        text = (f"{rules[-1]}  Each hidden layer is one call of the runtime's TaylorLayer (TaylorInputLayer "
                f"for the first): these rules, their backward written out by hand; {self.jet} = what the "
                f"layers carry: {docstring(words)}.")
        return rules[:-1] + _wrapped(text)

    def header(self) -> list[str]:
        return super().header() + [f"    {self.jet} = {self.jet_text()[0]}"]

    def hidden(self, layer: int) -> list[str]:
        W, b = f"W{layer}", f"b{layer}"
        below = ["h0"] if layer == 1 else self.streams(f"h{layer - 1}")
        call = "TaylorInputLayer.apply" if layer == 1 else "TaylorLayer.apply"
        return _call(self.streams(f"h{layer}"), call, [W, b, *below, f"{self.derivatives}, {self.jet}"])


def _call(targets: list[str], function: str, arguments: list[str], width: int = 110) -> list[str]:
    """`    a, b = function(x, y, ...)`, its arguments wrapped under the parenthesis past `width`."""
    head = f"    {', '.join(targets)} = {function}("
    lines, line = [], head
    for k, argument in enumerate(arguments):
        text = argument + (")" if k == len(arguments) - 1 else ", ")
        if len(line) + len(text.rstrip()) > width and line.strip() != head.strip():
            lines.append(line.rstrip())
            line = " " * len(head)
        line += text
    return lines + [line]


def _wrapped(line: str, width: int = 100) -> list[str]:
    """A docstring line past `width` broken at spaces, as the others read."""
    out = []
    while len(line) > width and " " in line[4:width]:
        cut = line.rindex(" ", 4, width)
        out.append(line[:cut])
        line = "    " + line[cut + 1:]
    return out + [line]


def taylor_layers_function(net: ir.Network, names: dict, spelling, orders: dict, function_name: str,
                           derivatives: str) -> list[str]:
    """taylor_code.taylor_function's u_taylor, each hidden layer one call of TaylorLayer (or
    TaylorInputLayer for the first); `derivatives` names the module's function of the activation
    (derivatives_function, with derivative_count(net, orders, spelling) values)."""
    return TaylorLayersWriter(net, names, spelling, orders, function_name, derivatives).lines()

