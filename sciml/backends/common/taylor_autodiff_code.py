"""Input derivatives of a field network by nested autodiff: the reference route for Taylor mode.

`autodiff_function(net, names, spelling, orders, backend)` writes `def u_autodiff(p, x, t)` with
the same arguments, the same `orders` and the same returned tuple as taylor_code.taylor_function,
so an emitted module can offer `derivatives = taylor|autodiff` and call either by one line.  It
calls the module's network function (`u(p, x, t)`, model_code.networks()) and differentiates it:

    torch   torch.autograd.grad of the sum over the points (the points are independent, so the
            gradient of the sum is each point's derivative) with create_graph, nested once per
            order: every derivative is differentiable again, in the inputs and in the weights;
    JAX     the same: jax.grad of the sum over the points, nested once per order (u_x is
            jax.grad of sum(u), u_xx jax.grad of sum(u_x)).  Vmapping jax.grad and jax.jacfwd of
            the field at one point was written first; on the Burgers PINN its training step took
            twice as long (benchmarks/pinn_burgers_step.py).

Any order is written (u_xxx differentiates u_xx); the Laplacian is the sum of the pure second
derivatives.  The activation must have the derivatives asked for (taylor_code.require_smooth).
"""
from __future__ import annotations

from sciml.backends.common.taylor_code import (Laplacian, Locals, default_function_name, describe,
                                               input_names, require_plain, require_smooth, requests,
                                               subscript)
from sciml.lowering import ir


class AutodiffPlan:
    """The derivatives to compute, each under a name: those asked for, the lower orders they
    are taken from (u_x for u_xt), and the pure second derivatives a Laplacian sums."""

    def __init__(self, net: ir.Network, names: dict, orders: dict, function_name: str, route: str):
        require_plain(net)
        if net.widths[-1] != 1:
            raise ValueError(f"{net.name}: nested autodiff is written for a scalar field "
                             f"(mlp(... -> 1)); it has {net.widths[-1]} outputs")
        self.wanted = requests(net, orders)
        require_smooth(net, max(r.order for r in self.wanted))
        self.net_function = names.get(net.name, net.name)
        self.function_name = function_name or default_function_name(net, names, route)
        reserved = {"p", "torch", "jax", "jnp", "np", self.net_function, self.function_name}
        self.locals = Locals(reserved)
        self.inputs = input_names(net, names, self.locals)
        asked = {r.key: r.name for r in self.wanted}
        keys = {()}
        for key in asked:
            for derivative in ([(i, i) for i in key.over] if isinstance(key, Laplacian) else [key]):
                keys |= {derivative[:k] for k in range(1, len(derivative) + 1)}
        # nested in the order the indices are written: u_xt is d/dt of u_x
        self.keys = sorted(keys, key=lambda k: (len(k), k))
        self.laplacians = [k for k in asked if isinstance(k, Laplacian)]
        self.name = {}
        for key in self.keys + self.laplacians:     # the names asked for first, where they are free
            if key in asked and asked[key] not in self.locals.taken:
                self.name[key] = self.locals.fresh(asked[key])
        stem = asked.get((), self.net_function)
        for key in self.keys + self.laplacians:     # then the rest (u_ where u is the function)
            if key not in self.name:
                base = (stem if key == () else f"lap_{stem}" if isinstance(key, Laplacian)
                        else f"{stem}_{subscript(self.inputs, key)}")
                self.name[key] = self.locals.fresh(base)
        self.returned = ", ".join(self.name[r.key] for r in self.wanted)

    def laplacian_sum(self, key: Laplacian) -> str:
        return " + ".join(self.name[(i, i)] for i in key.over)


def torch_autodiff_function(net: ir.Network, names: dict, spelling, orders: dict,
                            function_name: str = "") -> list[str]:
    plan = AutodiffPlan(net, names, orders, function_name, "autodiff")
    arguments = ", ".join(plan.inputs)
    lines = [f"def {plan.function_name}(p, {arguments}):",
             f'    """{describe(net, names, plan.wanted)}.',
             "",
             "    By nested reverse mode: torch.autograd.grad of the sum over the points, with",
             '    create_graph, once per order (the reference route for the Taylor-mode function)."""',
             "    with torch.enable_grad():",
             f"        {arguments} = " + ", ".join(f"{x}.clone().requires_grad_(True)" for x in plan.inputs),
             f"        {plan.name[()]} = {plan.net_function}(p, {arguments})"]
    for parent in plan.keys:
        children = [k for k in plan.keys if len(k) == len(parent) + 1 and k[:-1] == parent]
        if not children:
            continue
        targets = ", ".join(plan.name[k] for k in children) + ("," if len(children) == 1 else "")
        wrt = ", ".join(plan.inputs[k[-1]] for k in children) + ("," if len(children) == 1 else "")
        lines.append(f"        {targets} = torch.autograd.grad({plan.name[parent]}.sum(), ({wrt}), "
                     f"create_graph=True, materialize_grads=True)")
    for key in plan.laplacians:
        lines.append(f"        {plan.name[key]} = {plan.laplacian_sum(key)}")
    return lines + [f"    return {plan.returned}"]


def jax_autodiff_function(net: ir.Network, names: dict, spelling, orders: dict,
                          function_name: str = "") -> list[str]:
    plan = AutodiffPlan(net, names, orders, function_name, "autodiff")
    arguments = ", ".join(plan.inputs)
    total = {}   # the sum over the points of a quantity that has derivatives to take, as a function
    lines = [f"def {plan.function_name}(p, {arguments}):",
             f'    """{describe(net, names, plan.wanted)}.',
             "",
             "    By nested reverse mode: jax.grad of the sum over the points, once per order (the",
             '    reference route for the Taylor-mode function)."""',
             f"    {plan.name[()]} = {plan.net_function}(p, {arguments})"]
    for parent in plan.keys:
        children = [k for k in plan.keys if len(k) == len(parent) + 1 and k[:-1] == parent]
        if not children:
            continue
        total[parent] = plan.locals.fresh(f"{plan.name[parent].rstrip('_') or plan.name[parent]}_sum")
        value = (f"{plan.net_function}(p, {arguments})" if parent == () else
                 f"jax.grad({total[parent[:-1]]}, argnums={parent[-1]})({arguments})")
        lines += [f"    def {total[parent]}({arguments}):",
                  f"        return jnp.sum({value})"]
        targets = ", ".join(plan.name[k] for k in children) + ("," if len(children) == 1 else "")
        wrt = ", ".join(str(k[-1]) for k in children) + ("," if len(children) == 1 else "")
        lines.append(f"    {targets} = jax.grad({total[parent]}, argnums=({wrt}))({arguments})")
    for key in plan.laplacians:
        lines.append(f"    {plan.name[key]} = {plan.laplacian_sum(key)}")
    return lines + [f"    return {plan.returned}"]


#: the autodiff writer of each backend (by its name in sciml.backends.BACKENDS)
AUTODIFF_WRITERS = {"torch": torch_autodiff_function, "jax": jax_autodiff_function}


def autodiff_function(net: ir.Network, names: dict, spelling, orders: dict, backend: str,
                      function_name: str = "") -> list[str]:
    """The lines of `def u_autodiff(p, x, t): ... return u, u_x, ...` for `backend`: the same
    arguments, orders and returned tuple as taylor_code.taylor_function (see the module's
    docstring).  ValueError for a vector field, a network that is not a plain MLP, an activation
    without the derivatives asked for."""
    return AUTODIFF_WRITERS[backend](net, names, spelling, orders, function_name)
