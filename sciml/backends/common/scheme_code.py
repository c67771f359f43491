"""A scheme's stages (sciml/schemes/) printed as Python, one line per stage.

`StageCode` prints the sympy update formulas of a SchemeDefinition with the spec's names: a
state's value is its variable (`Y`; the older value of a two-step scheme `Y_previous`), an
auxiliary vector is `k1` (`k1_u`, `k1_v` for a system), a right side is the call of the emitted
function (`dY_dt(Y, K[j], b[j])`).  A formula without matrices is printed once per state of the
system (`u, v = u + h * du_dt(u, v), v + h * dv_dt(u, v)`); one with a matrix (IMEX's L, a linear
solve) acts on the stacked state and is printed once.  Terms print in a fixed order: the state
first, then by powers of h, so the code reads like the formula (`Y + h / 2 * k1`).

A step-invariant matrix that a stage solves with is factored once, before the time loop
(`setup`).  A structured L (a grid's, `CodeNames.operator`: grid_solve_code.py) is solved and
applied without its matrix, and the right side splits as f = E - L v (E the explicit rest: a
grid's right side less its implicit diffusion), so that IMEX's stage reads y + h E(t, y).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import sympy

from sciml.schemes.algebra import (Auxiliary, Identity, InitialRate, LinearSolve, MatrixOption, Noise,
                                   NoiseCorrection, Rate, Value, argument_role, is_matrix_expression, rate_role,
                                   h, split_term, step_scale, t, term_order)
from sciml.schemes.definition import SchemeDefinition


@dataclass
class CodeNames:
    """What the printed code calls things: `call(role, index, args, step)` is the right side of
    the index-th state of `role` with its arguments (state name -> code) at step `step`."""

    roles: dict                          # role -> [state names]
    call: Callable
    h: str = "h"
    initial_rates: dict | None = None    # role -> [names of dt(state)(0)]
    matrices: dict | None = None         # matrix option -> code
    identity: str = ""
    linear_solve: str = ""               # .format(matrix, rhs)
    factor: str = ""                     # .format(matrix): its factors, set up before the loop
    factored_solve: str = ""             # .format(factors, rhs)
    operator: object = None              # a structured L: factor(shift, scale, like), solve, apply
    like: str = ""                       # an array of the state's dtype (the operator's factors)
    concat: str = ""                     # .format(items)
    sizes: dict | None = None            # state name -> entries (to unstack)
    fresh: Callable = str                # a derived name no user name takes
    time: Callable = None                # (time, step): the code of a stage's time t_j + c h, passed to
                                         # call, noise and correction as args["t"]
    noise: Callable = None               # (role, index, args, step): g dW of a stochastic scheme
    correction: Callable = None          # (role, index, args, step): Milstein's 1/2 g g' (dW^2 - h)
    joint: Callable = None               # (role, args, step): the call of one function that returns the
                                         # rates of every state of the role (jacobian_code.py), bound
                                         # before the stage that reads them


class ExplicitRate(Rate):
    """ExplicitRate(role, time, argument): f(time, v) + L v, the right side with the scheme's
    linear term added, where the operator splits the right side so (grid_solve_code.py)."""


def with_explicit_rates(definition: SchemeDefinition, rest: bool = True) -> SchemeDefinition:
    """The definition with each right side f(t, v) written E(t, v) - L v, E the explicit rest
    (0 where not `rest`), and the stages expanded: IMEX's y + h L y + h f(t, y) reads y + h E(t, y)."""
    (option,) = {m for stage in definition.step for m in stage.value.atoms(MatrixOption)}

    def split(stages):
        out = []
        for stage in stages:
            rates = {r: (ExplicitRate(*r.args) if rest else 0) - option * r.args[2]
                     for r in stage.value.atoms(Rate)}
            out.append(dataclasses.replace(stage, value=sympy.expand(stage.value.xreplace(rates))))
        return tuple(out)
    return dataclasses.replace(definition, start=split(definition.start), step=split(definition.step),
                               readout=split(definition.readout))


class StageCode:
    def __init__(self, definition: SchemeDefinition, names: CodeNames):
        if names.operator is not None:
            definition = with_explicit_rates(definition, names.operator.has_explicit_rest)
        self.d, self.s = definition, names
        self.slots = {role: sum(1 for v in definition.carried if v.role == role) or 1 for role in names.roles}
        self.aux_names, self.aux_roles = {}, {}
        for stage in definition.start + definition.step + definition.inverse:
            if isinstance(stage.target, Auxiliary) and stage.target not in self.aux_names:
                role = rate_role(stage.value)
                states = names.roles[role]
                name = stage.target.name
                self.aux_names[stage.target] = [name] if len(states) == 1 else [f"{name}_{s}" for s in states]
                self.aux_roles[stage.target] = role
        self.hoisted = {}     # a step-invariant matrix -> its name (set up before the loop)
        self.stacked = {}     # role -> the name of its stacked state
        self.stacked_value = {}   # role -> the Value that name holds
        self.held = {}
        self.bound = {}   # with a joint right side: rate -> the names its stage bound it to
        self.rate_names = {}   # (role, position in a stage) -> the names a rate in a formula is bound to

    # -- which variable holds which value -----------------------------------------------------
    def variables(self, role) -> list[list[str]]:
        """The variables of each slot of `role`, oldest first: [[Y_previous], [Y]]."""
        states = self.s.roles[role]
        count = self.slots[role]
        return [[s + "_previous" * (count - 1 - k) for s in states] for k in range(count)]

    def carried_variables(self) -> list[str]:
        """The variables a step reads and writes, in the order of the definition's carried values."""
        out = []
        for role in dict.fromkeys(v.role for v in self.d.carried):
            out += [name for slot in self.variables(role) for name in slot]
        return out

    def hold(self, values):
        """Say that `values` (Values) are in the variables now, newest in the last slot."""
        self.held = {}
        for role in self.s.roles:
            mine = sorted({v for v in values if v.role == role}, key=lambda v: v.offset)
            slots = self.variables(role)
            for value, slot in zip(reversed(mine), reversed(slots)):
                self.held[value] = slot

    # -- blocks of stages ------------------------------------------------------------------
    def block(self, stages, outputs, step="j") -> list[str]:
        """The lines of `stages`, from the values held now to `outputs` held at the end."""
        lines = []
        for k, stage in enumerate(stages):
            later = set(outputs)
            for other in stages[k + 1:]:
                later |= other.value.atoms(Value)
            lines += self.assign(stage, later, step)
        return lines

    def assign(self, stage, needed, step) -> list[str]:
        target, value = stage.target, stage.value
        bindings = self._bind(stage, step) if self.s.joint is not None else []
        if isinstance(target, Auxiliary):
            role = self.aux_roles[target]
            self.held[target] = self.aux_names[target]
            if bindings and isinstance(value, Rate):   # k1 = f(t, y): bound into k1 itself
                return bindings
            codes = self.values_code(value, role, step)
            return bindings + [f"{', '.join(self.aux_names[target])} = {', '.join(codes)}"]
        role = target.role
        lines, codes = bindings, None
        if is_matrix_expression(value) and len(self.s.roles[role]) > 1:
            lines.append(self._stack(role))   # codes None: solved into the stacked name
        elif is_matrix_expression(value):
            codes = [self.stacked_code(value, step)]
        else:
            codes = self.values_code(value, role, step)
        # the values of `role` still needed, and the new one, fill its slots (oldest first)
        keep = sorted([v for v in self.held if isinstance(v, Value) and v.role == role and v in needed]
                      + [target], key=lambda v: v.offset)
        slots = self.variables(role)
        if len(keep) > len(slots):
            raise AssertionError(f"{self.d.name}: {role} needs {len(keep)} variables")
        slots = slots[len(slots) - len(keep):]
        targets, sources = [], []
        for value_kept, slot in zip(keep, slots):
            if value_kept == target:
                if codes is None:   # a stacked solve: into the stacked name, then unstacked
                    lines.append(f"{self.stacked[role]} = {self.stacked_code(value, step)}")
                    sources += self._unstack(role)
                else:
                    sources += codes
                targets += slot
            elif self.held[value_kept] != slot:
                targets += slot
                sources += self.held[value_kept]
        new_held = {v: s for v, s in self.held.items() if not (isinstance(v, Value) and v.role == role)}
        for value_kept, slot in zip(keep, slots):
            new_held[value_kept] = slot
        self.held = new_held
        pairs = [(t, s) for t, s in zip(targets, sources) if t != s]
        if pairs:
            lines.append(f"{', '.join(t for t, _ in pairs)} = {', '.join(s for _, s in pairs)}")
        return lines

    def _bind(self, stage, step) -> list[str]:
        """With a joint right side, each rate of the stage from one call, before the stage:
        `k1_z, k1_l = right_sides(z, t, p)` for k1 = f(t, y), else `dz_dt, dl_dt = ...`."""
        self.bound = {}
        lines = []
        for position, rate in enumerate(sorted(stage.value.atoms(Rate), key=str)):
            states = self.s.roles[rate.role]
            if isinstance(stage.target, Auxiliary) and stage.value == rate:
                names = self.aux_names[stage.target]
            else:
                names = self._rate_names(rate.role, position)
            argument = rate.args[2]
            args = {state: self.code(argument, i, step)
                    for i, state in enumerate(self.s.roles[argument_role(argument)])}
            if self.s.time is not None:
                args["t"] = self.s.time(rate.args[1], step)
            lines.append(f"{', '.join(names)} = {self.s.joint(rate.role, args, step)}")
            self.bound[rate] = names
        return lines

    def _rate_names(self, role, position) -> list[str]:
        """The names a rate inside a formula is bound to: dz_dt, dl_dt (the same in every step)."""
        key = (role, position)
        if key not in self.rate_names:
            suffix = "" if position == 0 else f"_{position + 1}"
            self.rate_names[key] = [self.s.fresh(f"d{state}_dt{suffix}") for state in self.s.roles[role]]
        return self.rate_names[key]

    def setup(self) -> list[str]:
        """Lines before the loop: the factors of the step-invariant matrices (IMEX's I + h L)."""
        return [f"{name} = {self._factors(matrix)}" for matrix, name in self.hoisted.items()]

    def _factors(self, matrix) -> str:
        if self.s.operator is not None:   # shift I + scale L
            (identity,), (option,) = matrix.atoms(Identity), matrix.atoms(MatrixOption)
            shift, scale = matrix.coeff(identity), matrix.coeff(option)
            if sympy.expand(matrix - shift * identity - scale * option) != 0:
                raise AssertionError(f"{self.d.name}: {matrix} is not a I + b L")
            return self.s.operator.factor(self._scale(shift) or "1", self._scale(scale) or "1", self.s.like)
        code = self.stacked_code(matrix, "")
        return self.s.factor.format(code) if self.s.factor else code

    # -- expressions -------------------------------------------------------------------------
    def values_code(self, expr, role, step) -> list[str]:
        return [self.code(expr, k, step) for k in range(len(self.s.roles[role]))]

    def code(self, expr, k, step) -> str:
        """`expr` for the k-th state of its role."""
        return self._sum(expr, lambda e: self._atom(e, k, step))

    def stacked_code(self, expr, step) -> str:
        """`expr` on the stacked state (matrix expressions)."""
        return self._sum(expr, lambda e: self._stacked_atom(e, step))

    def _atom(self, e, k, step) -> str:
        if isinstance(e, Value):
            return self.held[e][k]
        if isinstance(e, Auxiliary):
            return self.held[e][k]
        if isinstance(e, InitialRate):
            return self.s.initial_rates[e.role][k]
        if isinstance(e, Rate):
            return self._call(e, k, step)
        if isinstance(e, (Noise, NoiseCorrection)):   # g(t, v) dW; 1/2 g g' (dW^2 - h) at v
            argument = e.args[2]
            args = {state: self.code(argument, i, step)
                    for i, state in enumerate(self.s.roles[argument_role(argument)])}
            if self.s.time is not None:
                args["t"] = self.s.time(e.args[1], step)
            return (self.s.noise if isinstance(e, Noise) else self.s.correction)(e.role, k, args, step)
        raise AssertionError(f"cannot print {e} per state")

    def _stacked_atom(self, e, step) -> str:
        if isinstance(e, (Value, Auxiliary)):
            names = self.held[e]
            if len(names) == 1:
                return names[0]
            if not isinstance(e, Value) or self.stacked_value.get(e.role) != e:
                raise AssertionError(f"{self.d.name}: {e} is not the stacked value")
            return self.stacked[e.role]
        if isinstance(e, Rate):
            calls = [self._call(e, k, step) for k in range(len(self.s.roles[e.role]))]
            return calls[0] if len(calls) == 1 else self.s.concat.format(", ".join(calls))
        if isinstance(e, MatrixOption):
            return self.s.matrices[e.name]
        if isinstance(e, Identity):
            return self.s.identity
        if isinstance(e, LinearSolve):
            matrix, rhs = e.args
            rhs_code = self.stacked_code(rhs, step)
            if matrix.atoms(Value, Rate, Auxiliary):   # changes every step: solved afresh
                return self.s.linear_solve.format(self.stacked_code(matrix, step), rhs_code)
            if matrix not in self.hoisted:   # the same every step: factored once, before the loop
                self.hoisted[matrix] = self.s.fresh("implicit")
            factors = self.hoisted[matrix]
            if self.s.operator is not None:
                return self.s.operator.solve(factors, rhs_code)
            return (self.s.factored_solve or self.s.linear_solve).format(factors, rhs_code)
        raise AssertionError(f"cannot print {e} on the stacked state")

    def _call(self, rate: Rate, k, step) -> str:
        if rate in self.bound:   # bound before the stage, from the joint right side
            return self.bound[rate][k]
        argument = rate.args[2]
        role = argument_role(argument)
        args = {state: self.code(argument, i, step) for i, state in enumerate(self.s.roles[role])}
        if self.s.time is not None:   # t in a right side: the stage's time
            args["t"] = self.s.time(rate.args[1], step)
        if isinstance(rate, ExplicitRate):
            return self.s.operator.explicit_call(args, step)
        return self.s.call(rate.role, k, args, step)

    def relative_time(self, time, name: str = "t") -> str:
        """A stage's time t + c h as an offset from a variable `name` holding t: `t`, `t + h / 2`,
        `t - h` (the diffusion samplers' CodeNames.time)."""
        offset = sympy.expand(time - t)
        if offset.has(t) or offset.free_symbols - {h}:
            raise AssertionError(f"{self.d.name}: the time {time} is not t + c h")
        if offset == 0:
            return name
        negative = offset.could_extract_minus_sign()
        return f"{name} {'-' if negative else '+'} {self._scale(-offset if negative else offset)}"

    def _stack(self, role) -> str:
        """`u_v = concat(u, v)`: the newest value of `role`, stacked."""
        if role not in self.stacked:
            self.stacked[role] = self.s.fresh("_".join(self.s.roles[role]))
        current = max((v for v in self.held if isinstance(v, Value) and v.role == role), key=lambda v: v.offset)
        self.stacked_value[role] = current
        return f"{self.stacked[role]} = " + self.s.concat.format(", ".join(self.held[current]))

    def _unstack(self, role) -> list[str]:
        out, first = [], 0
        for state in self.s.roles[role]:
            size = self.s.sizes[state]
            out.append(f"{self.stacked[role]}[{first}:{first + size}]")
            first += size
        return out

    # -- arithmetic: sums of coefficient * vector ----------------------------------------------
    def _sum(self, expr, atom) -> str:
        terms = sorted(sympy.Add.make_args(expr), key=term_order)
        text = ""
        for term in terms:
            coefficient, vector = split_term(term)
            negative = coefficient.could_extract_minus_sign()
            body = self._product(-coefficient if negative else coefficient, vector, atom)
            if body is None:   # a right side that is 0 (an sde without drift): no term
                continue
            text += (" - " if negative else " + ") + body if text else ("-" if negative else "") + body
        return text or "0"

    def _product(self, coefficient, vector, atom) -> str:
        scale = self._scale(coefficient)
        factors = sympy.Mul.make_args(vector)
        matrices = [f for f in factors if isinstance(f, (MatrixOption, Identity))]
        rest = [f for f in factors if f not in matrices]
        if vector == 1:
            return scale or "1"
        if rest and isinstance(rest[0], sympy.Add):
            inner = "(" + self._sum(rest[0], atom) + ")"
        elif rest:
            inner = atom(rest[0])
            if inner == "0":
                return None
        else:
            inner = ""
        if inner and len(matrices) == 1 and isinstance(matrices[0], MatrixOption) and self.s.operator:
            inner = self.s.operator.apply(inner)   # L v by the operator, without its matrix
        elif matrices and inner:
            inner = " @ ".join([atom(m) for m in matrices] + [inner])
            inner = f"({inner})" if scale else inner
        elif matrices:
            inner = atom(matrices[0])
        return f"{scale} * {inner}" if scale else inner

    def _scale(self, coefficient) -> str:
        """h / 2, h**2 / 2, 2, or '' for 1."""
        p, q, power = step_scale(coefficient)
        parts = ([] if p == 1 else [str(p)]) + ([] if power == 0 else [self.s.h if power == 1 else f"{self.s.h}**{power}"])
        text = " * ".join(parts) if parts else ("1" if q != 1 else "")
        return f"{text} / {q}" if q != 1 else text


def data_step_function(definition: SchemeDefinition, name: str) -> list[str]:
    """def NAME(rhs, u, h_data): one step of the scheme on dt(u) = rhs(u), in numpy, for a
    simulated data set (the states of a system stacked in u)."""
    code = StageCode(definition, CodeNames(roles={"y": ["u"]}, h="h_data",
                                         call=lambda role, index, args, step: f"rhs({args['u']})"))
    code.hold(definition.carried)
    body = code.block(definition.step, definition.returned)
    return [f"def {name}(rhs, u, h_data):",
            f'    """One step of {definition.title} on dt(u) = rhs(u), for the simulated data."""',
            *[f"    {line}" for line in body], "    return u"]
