"""Batch normalization in a network per step (`batchnorm = true`), as in Han, Jentzen & E (2018).

Each layer's input is normalized over the paths of the batch (the last axis): at the network's
input and after every affine map, beta in the place of the bias, gamma and beta per step. While
training, the batch's mean and variance are used, and the network returns them; the runtime keeps
their running averages in the parameters (`Z.mean0`, `Z.var0`, ...; momentum
BATCH_NORM_MOMENTUM, as TensorFlow's 0.99), which the optimizer leaves alone (the training loss
does not read them: their gradient is 0). The evaluation (the reported loss, `loss(p, batch,
running=True)`) normalizes with those running statistics instead.

The running statistics go in and out with the parameters, so checkpoints, `--out` and --resume
carry them without anything of their own.
"""
from __future__ import annotations

import sympy

from sciml.backends.common.quoting import literal
from sciml.lowering import ir
from sciml.lowering import symbols as S

MOMENTUM = 0.99


def normalized_network(writer, net: ir.Network, head: list, inputs: str) -> list[str]:
    """def Z(w, x0, running=False): ... return output, statistics; `head` is the def line and the
    docstring's first line, `inputs` the line that makes z of the inputs; w are the step's weights."""
    writer.helpers.add("batch_norm")
    into, product, out = writer.sp.normalized_layout   # torch: (1, features, paths), its kernel's
    inputs = "    z = " + into.format(inputs.split("z = ", 1)[1])
    lines = [head[0].replace("):", ", running=False):"),
             head[1].rstrip('"') + ";",
             "    batch normalization over the paths at the input and after every layer, beta in the",
             "    place of the bias (Han, Jentzen & E 2018), with the batch's means and variances, or the",
             '    running ones where `running`: the output, and the statistics it normalized with."""',
             "    statistics = {}", inputs, "    z = batch_norm(z, w, 0, running, statistics)"]
    layers = len(net.widths) - 1
    for layer in range(1, layers + 1):
        weight = "w[" + literal(f"W{layer}") + "]"
        normal = f"batch_norm({product.format(w=weight, z='z')}, w, {layer}, running, statistics)"
        if layer < layers:
            activated = S.ACTIVATIONS[net.activation](sympy.Symbol("affine"))
            lines.append("    z = " + writer.code(activated, {"affine": normal}))
        else:
            lines.append(f"    return {out.format(normal)}, statistics")
    return lines + ["", ""]


def statistics_entries(net: ir.Network, names: dict, copies: str) -> list[str]:
    """The running means (0) and variances (1) of init_params, one per normalized layer and step."""
    prefix = names[net.name]
    lines = []
    for k, width in enumerate(net.widths):
        lines.append(f"        {literal(f'{prefix}.mean{k}')}: np.zeros(({copies}{width}, 1)),")
        lines.append(f"        {literal(f'{prefix}.var{k}')}: np.ones(({copies}{width}, 1)),")
    return lines
