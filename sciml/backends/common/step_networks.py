"""Networks per time step in a time loop: `net Z(n, X) = mlp(...) for n in 1..N-1`.

A network per step is evaluated once per step, where the step begins, and its value is an
argument of every right side that reads it: the deep BSDE's Z_n = Z(t_n, X_n) drives both the
drift and the diffusion of Y (Han, Jentzen & E 2018), and is computed once for the two.  Its
weights are stacked on axis 0, one set per step; the solve takes them apart once
(`Z_weights = step_weights(p, 'Z')`: torch unbinds the stacks, JAX's scan slices them) and the
network takes one step's, `Z(Z_weights[j - 1], X)`.  At step 0, where a spec says so (`initial
Z(0) = z0`), the parameter z0 stands for it: that step is taken before the loop (every path is
at X(0) there, so the network would see no spread), the loop runs over the steps 1..N-1.

This is written for the one-stage schemes whose stage reads the states at the step's start
(Euler-Maruyama, Milstein, forward Euler); the network of a step at a scheme's inner stages is
E901 (unsupported.py).
"""
from __future__ import annotations

import dataclasses

import sympy

from sciml.backends.common.quoting import literal
from sciml.lowering import ir
from sciml.lowering import symbols as S


def value_symbol(net: ir.Network) -> sympy.Symbol:
    """The symbol that stands for the network's value at the step (no spec name has a space)."""
    return sympy.Symbol(f"{net.name} of the step")


def step_network_calls(model: ir.Model) -> dict:
    """{network name: its one call NetCall(Z, X)} of the networks per step the equations read."""
    calls = {}
    for net in model.networks:
        if not net.index:
            continue
        found = {c for eq in model.equations for c in (eq.rhs + eq.diffusion).atoms(S.NetCall)
                 if str(c.args[0]) == net.name}
        if len(found) == 1:
            calls[net.name] = found.pop()
    return calls


def one_call_each(model: ir.Model) -> list:
    """[(what, span)]: a network per step called with two different inputs in one model."""
    found = []
    for net in model.networks:
        calls = {c for eq in model.equations for c in (eq.rhs + eq.diffusion).atoms(S.NetCall)
                 if str(c.args[0]) == net.name}
        if net.index and len(calls) > 1:
            found.append((f"the network per step {net.name} at two different inputs in one model", net.span))
    return found


def with_step_values(model: ir.Model) -> ir.Model:
    """The model with each call of a network per step in its equations replaced by the symbol of
    its value at the step (value_symbol)."""
    calls = step_network_calls(model)
    if not calls:
        return model
    swap = {call: value_symbol(next(n for n in model.networks if n.name == name)) for name, call in calls.items()}
    equations = tuple(dataclasses.replace(eq, rhs=eq.rhs.xreplace(swap), diffusion=eq.diffusion.xreplace(swap))
                      for eq in model.equations)
    return dataclasses.replace(model, equations=equations)


class StepNetworks:
    """The lines that evaluate the networks per step where a step begins."""

    def __init__(self, writer, calls: dict):
        self.w = writer
        self.calls = calls   # network name -> NetCall, from step_network_calls before the swap
        self.nets = [n for n in writer.m.networks if n.name in calls]
        self.statistics = {}   # a network with batch normalization -> (its statistics' local, the steps')
        self.weights = {net.name: writer.fresh(f"{writer.names[net.name]}_weights") for net in self.nets}
        for net in self.nets:
            writer.names[value_symbol(net).name] = writer.fresh(f"{writer.names[net.name]}_{net.index}")
            writer.step_locals.append(value_symbol(net).name)
            if net.batchnorm:
                name = writer.names[net.name]
                self.statistics[net.name] = (writer.fresh(f"{name}_statistics"), writer.fresh(f"{name}_steps"))

    def weight_lines(self) -> list[str]:
        """`Z_weights = step_weights(p, 'Z')` (`normalized_step_weights(p, 'Z', running)` with batch
        normalization), before the steps: torch unbinds each stack once (a
        stack indexed in every step adds a zero stack to the backward pass each time); JAX keeps
        the stacks, which its scan takes a step at a time."""
        lines = []
        for net in self.nets:   # a batch-normalized one: in its layout's shapes, the running statistics when asked
            helper, more = ("normalized_step_weights", ", running") if net.batchnorm else ("step_weights", "")
            self.w.helpers.add(helper)
            lines.append(f"{self.weights[net.name]} = {helper}(p, {literal(self.w.names[net.name])}{more})")
        return lines

    def weights_at(self, net, step: str) -> str:
        """The code of the weights of `net` at `step`: the scanned value, or `Z_weights[j - 1]`."""
        name = self.weights[net.name]
        if step == "j" and name in self.w.step_values:
            return self.w.step_values[name]
        return f"{name}[{step} - {net.steps[0]}]" if net.steps[0] else f"{name}[{step}]"

    def collected(self) -> str:
        """The batch-normalization statistics of every step, named as the running ones."""
        parts = [f"stacked_statistics({literal(self.w.names[n])}, {steps})" for n, (_, steps) in self.statistics.items()]
        self.w.helpers.add("stacked_statistics")
        return parts[0] if len(parts) == 1 else "{" + ", ".join(f"**{part}" for part in parts) + "}"

    @property
    def peeled(self) -> bool:
        """Whether step 0 is taken before the loop (a parameter stands for a network there)."""
        return any(net.start for net in self.nets)

    def starts(self) -> list[str]:
        """The parameters that stand for the networks at step 0."""
        return [self.w.names[net.start] for net in self.nets if net.start]

    def bindings(self, step: str, states: dict) -> list[str]:
        """`Z_n = Z(Z_weights[j - 1], X)` for each network per step, `Z_n = z0` at step 0 where z0 stands
        for it; `states` maps state names to the code of their value at the step's start."""
        lines = []
        for net in self.nets:
            local = self.w.names[value_symbol(net).name]
            if step == "0" and net.start:
                lines.append(f"{local} = {self.w.names[net.start]}   # {net.name}(0) = {net.start}: "
                             "every path is at the start")
                continue
            inputs = ", ".join(states.get(self.w.names[str(a)], self.w.code(a)) for a in self.calls[net.name].args[1:])
            weights = self.weights_at(net, step)
            if net.batchnorm:   # the batch's statistics, or the running ones (batch_norm_code.py)
                targets = f"{local}, {self.statistics[net.name][0]}"
                lines.append(f"{targets} = {self.w.names[net.name]}({weights}, {inputs}, running)")
            else:
                lines.append(f"{local} = {self.w.names[net.name]}({weights}, {inputs})")
        return lines
