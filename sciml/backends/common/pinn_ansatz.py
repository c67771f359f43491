"""The emitted field of a PINN with hard conditions: `def u(p, x, t): return G + D * u_net(p, x, t)`
(the maths, G and D and the product rule, is sciml/analysis/pinn_ansatz.py)."""
from __future__ import annotations

import sympy

from sciml.analysis.pinn_ansatz import Ansatz
from sciml.backends.common.taylor_code import Locals
from sciml.lowering import symbols as S


def field_function(ansatz: Ansatz, names: dict, code, network_function: str) -> list[str]:
    """`def u(p, x, t): return G + D * u_net(p, x, t)`: the field the rest of the module calls.
    `code(expr, names)` prints with the backend's printer."""
    name = names[ansatz.net.name]
    local = Locals({"p", "np", "torch", "jax", "jnp", name, network_function} | set(names.values()))
    arguments = {c: local.fresh(c) for c in ansatz.net.inputs}
    call = S.NetCall(sympy.Symbol("~network function"), *ansatz.coordinates)
    expr = ansatz.value + ansatz.distance * call
    text = code(expr, {"~network function": network_function, **arguments})
    return [f"def {name}(p, {', '.join(arguments.values())}):",
            f'    """The field {name} with its hard conditions: G + D * {network_function}, G the '
            'conditions\' values',
            '    interpolated from the faces, D zero on each hard face."""',
            f"    return {text}"]
