"""The torch half of the training runtime (mirror: jax.py): tensors, autograd, torch.optim."""
import math
import sys

import numpy as np
import torch

from sciml.runtime.common import Runtime


class TorchRuntime(Runtime):
    """Runtime for an emitted torch module: its `loss`, `loss_terms` and `evaluate_reports`."""

    DTYPES = {"float32": torch.float32, "float64": torch.float64}
    # Adam fused: one pass over each parameter (torch >= 2.4 on CPU and GPU), where the default
    # runs seven, each over the whole of a stacked weight (a 5x faster step in float64 for the 19
    # stacked networks of the deep BSDE; the same updates to rounding)
    OPTIMIZERS = {"adam": lambda params, lr: torch.optim.Adam(params, lr=lr, fused=True), "sgd": torch.optim.SGD,
                  # one training step is one L-BFGS iteration with a strong-Wolfe line search; torch gives
                  # the search max_eval - 1 evaluations, and max_iter = 1 alone makes max_eval 1: none, so a
                  # first trial step that fails the Armijo test would end the step where it began; and
                  # its stopping tests (a gradient below 1e-7, a change below 1e-9) off, so that every
                  # step takes an iteration, as optax's does (else a float64 PINN stalls for good once
                  # its gradient is that small: every later step returns at once)
                  "lbfgs": lambda params, lr: torch.optim.LBFGS(params, lr=lr, max_iter=1, max_eval=1 + 25,
                                                                tolerance_grad=0.0, tolerance_change=0.0,
                                                                history_size=50, line_search_fn="strong_wolfe")}
    CHECKPOINT_KIND = "safetensors"
    DATA_SHARE = 0.5  # the training data goes on a GPU once when it takes at most this share of its free memory

    def __init__(self, model):
        super().__init__(model)
        self.step_loss = None  # the loss of the training step: the module's, or torch.compile of it
        self.lbfgs_best = None  # (optimizer, batch, parameters, loss, gradients): the last L-BFGS step's lowest evaluation

    def seed(self, seed):
        torch.manual_seed(seed)

    def set_threads(self, count):
        """Intra-op threads as asked; one inter-op thread (the training step is one chain of ops)."""
        torch.set_num_threads(count)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:   # already set, or parallel work has started: keep what it is
            pass
        return torch.get_num_threads()

    @staticmethod
    def to_arrays(fields, dtype, device):
        """numpy fields -> tensors; integer fields stay integers."""
        return {name: torch.as_tensor(value, device=device,
                                      dtype=torch.long if value.dtype.kind in "iu" else dtype)
                for name, value in fields.items()}

    @staticmethod
    def to_numpy(p):
        return {name: value.detach().cpu().numpy() for name, value in p.items()}

    @staticmethod
    def place_params(params, dtype, device):
        """numpy params -> leaf tensors that require gradients, and the device."""
        return {name: torch.tensor(value, dtype=dtype, device=device, requires_grad=True)
                for name, value in params.items()}, device

    def fits(self, nbytes, device):
        """Whether `nbytes` of training data fit on `device` beside the training (CPU: always)."""
        device = torch.device(device)
        if device.type != "cuda":
            return True
        free, _ = torch.cuda.mem_get_info(device)
        return nbytes <= self.DATA_SHARE * free

    @staticmethod
    def take(placed, names, index, device):
        """The samples `index` (numpy) of the placed per-sample fields, indexed on the device.
        The same values and memory layout as numpy's value[..., index] converted."""
        index = torch.as_tensor(index, device=device)
        return {name: value.movedim(-1, 0)[index].movedim(0, -1) if name in names else value
                for name, value in placed.items()}

    def prepare_step(self, compile=False):
        """The loss of the training step: torch.compile of the module's with `compile` (falling
        back to eager, with a message, where torch.compile is missing or fails); how it runs."""
        self.step_loss = self.model.loss
        if not compile:
            return "eager"
        if not hasattr(torch, "compile"):
            return self.compile_failed("this torch has no torch.compile")
        try:
            self.step_loss = torch.compile(self.model.loss)
        except Exception as exc:  # e.g. a Python version that torch.compile does not support yet
            return self.compile_failed(f"{type(exc).__name__}: {exc}")
        return "torch.compile"

    def compile_failed(self, why):
        why = (str(why).strip().splitlines() or ["no detail"])[0][:200]
        print(f"{self.model.MODEL}: --compile: torch.compile is not available here ({why}); "
              "training eagerly", file=sys.stderr)
        self.step_loss = self.model.loss
        self.last_run["compile"] = f"eager (torch.compile failed: {why})"
        return self.last_run["compile"]

    def new_optimizer(self, name, lr, p, device):
        return self.OPTIMIZERS[name](list(p.values()), lr=lr)

    def training_step(self, optimizer, p, batch):
        """One step at `p` on `batch`: (p, the loss before the step); p is left as it was when
        the loss is not finite."""
        if isinstance(optimizer, torch.optim.LBFGS):
            return self.lbfgs_step(optimizer, p, batch)
        optimizer.zero_grad()
        statistics = None
        try:
            if hasattr(self.model, "loss_and_statistics"):   # batch normalization (eager)
                value, statistics = self.model.loss_and_statistics(p, batch)
            else:
                value = self.step_loss(p, batch)
            loss = value.item()
            if math.isfinite(loss):
                value.backward()
        except Exception as exc:
            if self.step_loss is self.model.loss:
                raise
            self.compile_failed(f"{type(exc).__name__}: {exc}")  # the first compiled call compiles
            return self.training_step(optimizer, p, batch)
        if math.isfinite(loss):
            optimizer.step()
            if statistics is not None:
                with torch.no_grad():
                    for name, value in self.running_statistics(p, statistics).items():
                        p[name].copy_(value)
        return p, loss

    def lbfgs_step(self, optimizer, p, batch):
        """One L-BFGS iteration: the line search evaluates the loss at trial points (the closure);
        returns (p, the loss before the step).  The step begins by evaluating the loss where the
        last step's line search ended, which is the lowest point that search evaluated: when the
        parameters equal it exactly (same optimizer, same batch), its loss and gradients are
        taken instead of computed again, one evaluation a step saved."""
        last = self.lbfgs_best
        if last is not None and not (last[0] is optimizer and last[1].keys() == batch.keys()
                                     and all(last[1][name] is batch[name] for name in batch)):
            last = None
        calls, self.lbfgs_best = [], None

        def closure():
            optimizer.zero_grad()
            calls.append(None)
            if len(calls) == 1 and last is not None and all(torch.equal(q, saved) for q, saved in zip(p.values(), last[2])):
                for q, grad in zip(p.values(), last[4]):
                    q.grad = None if grad is None else grad.clone()
                self.lbfgs_best = last
                return last[3].clone()
            value = self.model.loss(p, batch)
            if not torch.isfinite(value):
                return value
            value.backward()
            if self.lbfgs_best is None or value < self.lbfgs_best[3]:   # the lowest point so far: kept
                self.lbfgs_best = (optimizer, batch, [q.detach().clone() for q in p.values()], value.detach(),
                                   [None if q.grad is None else q.grad.clone() for q in p.values()])
            return value
        loss = optimizer.step(closure).item()
        return p, loss

    @staticmethod
    def optimizer_arrays(optimizer, p):
        """The optimizer's state as numpy: {'NAME.KEY': array} for parameter NAME of `p` (none for
        L-BFGS, whose history starts again on resume)."""
        if isinstance(optimizer, torch.optim.LBFGS):
            return {}
        names = list(p)  # torch numbers the parameters in the order they were given
        state = optimizer.state_dict()["state"]
        return {f"{names[index]}.{key}": (value.detach().cpu().numpy() if torch.is_tensor(value) else np.asarray(value))
                for index, entries in sorted(state.items()) for key, value in sorted(entries.items())
                if value is not None}  # SGD without momentum keeps a None buffer

    @staticmethod
    def restore_optimizer(optimizer, arrays, p):
        """`optimizer` (made for `p`) with the state `arrays` of optimizer_arrays loaded into it."""
        if isinstance(optimizer, torch.optim.LBFGS) or not arrays:
            return optimizer
        place = {name: index for index, name in enumerate(p)}
        state = {}
        for key, value in arrays.items():
            name, entry = key.rsplit(".", 1)
            state.setdefault(place[name], {})[entry] = torch.as_tensor(np.array(value))
        optimizer.load_state_dict({"state": state, "param_groups": optimizer.state_dict()["param_groups"]})
        return optimizer

    def loss_value(self, p, batch):
        with torch.no_grad():
            return self.evaluation_loss(p, batch).item()

    def terms(self, p, batch):
        """The module's loss_terms at `p` on `batch`, as numpy."""
        with torch.no_grad():
            return self.to_numpy(self.model.loss_terms(p, batch))

    def loss_and_grad(self, params, batch, dtype=torch.float64, device="cpu"):
        """Loss and gradients at numpy `params` on the numpy `batch`, returned as numpy."""
        p, device = self.place_params(params, dtype, device)
        value = self.model.loss(p, self.to_arrays(batch, dtype, device))
        if not p:  # no trainable parameter: nothing to differentiate
            return value.item(), {}
        grads = torch.autograd.grad(value, list(p.values()), allow_unused=True)
        return value.item(), {name: (np.zeros_like(params[name]) if g is None else g.detach().cpu().numpy())
                              for name, g in zip(p, grads)}

    def reports(self, params, data, dtype=torch.float64, device="cpu"):
        """The spec's reports at numpy `params`, each on its data set, as Python numbers or lists."""
        p = {name: torch.as_tensor(value, dtype=dtype, device=device) for name, value in params.items()}
        arrays = {name: self.to_arrays(fields, dtype, device) for name, fields in data.items()}
        arrays.update(self.report_draws(dtype, device))
        with torch.no_grad():
            values = self.model.evaluate_reports(p, arrays)
        return {name: self.report_value(value.detach().cpu()) if hasattr(value, "detach") else value
                for name, value in values.items()}


class TaylorLayer(torch.autograd.Function):
    """One hidden layer of a field network in Taylor mode (the emitted `u_taylor`), its backward
    written out by hand:

        h2, h2_x, h2_t, h2_xx = TaylorLayer.apply(W2, b2, h1, h1_x, h1_t, h1_xx, tanh_derivatives, jet)

    pushes the value h and its input derivatives through a = W h + b, h+ = sigma(a):

        a = W h + b        a_i = W h_i                 a_q = W h_q
        h+ = sigma(a)      h+_i = sigma'(a) a_i        h+_q = sigma'(a) a_q + sigma''(a) z_q

    z_q the sum over the pairs (i, j) of q of a_i a_j: one pair for a second derivative h_ij, the
    pairs (i, i) for a Laplacian.  `jet` = (directions, pairs): one first-order stream h_i per
    direction (an index of the network's inputs), then one second-order stream per entry of
    `pairs` (its pairs of positions in `directions`).  `sigma(a)` is the emitted function of the
    activation: sigma and its derivatives at a, sympy's (the third only where second derivatives
    are carried).

    Autograd would record each product and keep what each needs; here the backward is the chain
    rule of the lines above, from the adjoints g, g_i, g_q of the outputs, in the two products
    the forward keeps, e_i = sigma'' a_i (the a-derivative of h+_i) and d_q = sigma'' a_q +
    sigma''' z_q (that of h+_q):

        abar   = sigma' g + sum_i e_i g_i + sum_q d_q g_q
        abar_i = sigma' g_i + sum over q and its pairs (i, j) of e_j g_q   (twice for (i, i))
        abar_q = sigma' g_q

    then W's adjoint abar h^T + sum_i abar_i h_i^T + sum_q abar_q h_q^T, b's the sum of abar over
    the points, the inputs' W^T abar, W^T abar_i, W^T abar_q.  That is fewer passes over the
    (width, points) arrays than autograd makes, and only sigma', e_i and d_q are kept beside the
    inputs.  Not differentiable twice (once_differentiable)."""

    @staticmethod
    def forward(ctx, W, b, *args):
        *streams, sigma, jet = args
        directions, pairs = jet
        k = len(directions)
        h, h_i, h_q = streams[0], streams[1:1 + k], streams[1 + k:]
        a = torch.addmm(b, W, h)
        a_i = [W @ x for x in h_i]
        a_q = [W @ x for x in h_q]
        value, slope, curvature, third = TaylorLayer.derivatives(sigma, a)
        z_q = [TaylorLayer.pair_sum(a_i, q) for q in pairs]
        e_i = [curvature * x for x in a_i]
        d_q = [torch.mul(curvature, x).addcmul_(third, z) for x, z in zip(a_q, z_q)]
        ctx.jet = jet
        ctx.save_for_backward(W, *streams, slope, *e_i, *d_q)
        # h+_i and h+_q in the arrays of a_i and a_q, which the backward does not read
        return (value, *[x.mul_(slope) for x in a_i],
                *[x.mul_(slope).addcmul_(curvature, z) for x, z in zip(a_q, z_q)])

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g, *g_streams):
        directions, pairs = ctx.jet
        k, n = len(directions), 1 + len(directions) + len(pairs)
        W, *saved = ctx.saved_tensors
        streams, slope, e_i, d_q = saved[:n], saved[n], saved[n + 1:n + 1 + k], saved[n + 1 + k:]
        adjoints = TaylorLayer.adjoints(slope, e_i, d_q, pairs, g, g_streams[:k], g_streams[k:])
        grad_W = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_W = adjoints[0] @ streams[0].t()
            for adjoint, x in zip(adjoints[1:], streams[1:]):
                grad_W += adjoint @ x.t()
        if ctx.needs_input_grad[1]:
            grad_b = adjoints[0].sum(1, keepdim=True)
        W_t = W.t()
        grads = [W_t @ adjoint if needed else None for adjoint, needed in zip(adjoints, ctx.needs_input_grad[2:])]
        return (grad_W, grad_b, *grads, None, None)

    @staticmethod
    def derivatives(sigma, a):
        """(sigma, sigma', sigma'', sigma''') at a from the emitted function; None for the third
        where it writes three values (first derivatives only)."""
        values = tuple(sigma(a))
        return values + (None,) * (4 - len(values))

    @staticmethod
    def pair_sum(a_i, pairs):
        """z = sum over `pairs` of a_i a_j."""
        z = None
        for i, j in pairs:
            z = a_i[i] * a_i[j] if z is None else z.addcmul_(a_i[i], a_i[j])
        return z

    @staticmethod
    def adjoints(slope, e_i, d_q, pairs, g, g_i, g_q):
        """[abar, abar_i..., abar_q...] from the outputs' adjoints (the class's docstring)."""
        adjoint = slope * g
        for e, gi in zip(e_i, g_i):
            adjoint.addcmul_(e, gi)
        for d, gq in zip(d_q, g_q):
            adjoint.addcmul_(d, gq)
        adjoints_i = [slope * gi for gi in g_i]
        for q, gq in zip(pairs, g_q):
            for i, j in q:
                if i == j:   # d(a_i^2)/da_i = 2 a_i
                    adjoints_i[i].addcmul_(e_i[i], gq, value=2)
                else:
                    adjoints_i[i].addcmul_(e_i[j], gq)
                    adjoints_i[j].addcmul_(e_i[i], gq)
        return [adjoint, *adjoints_i, *[slope * gq for gq in g_q]]


class TaylorInputLayer(torch.autograd.Function):
    """The first layer of a field network in Taylor mode (see TaylorLayer), from h0 = the inputs:
    their derivatives are h0_i = e_i and h0_q = 0, so a_i = W e_i (column i of W, the same at
    every point) and a_q = 0:

        h1, h1_x, h1_t, h1_xx = TaylorInputLayer.apply(W1, b1, h0, tanh_derivatives, jet)

        a = W1 h0 + b1     h1 = sigma(a)     h1_i = sigma'(a) W1[:, i]     h1_q = sigma''(a) z_q

    Backward: abar as in TaylorLayer (with d_q = sigma''' z_q), W1's adjoint abar h0^T and, in
    column i, the sum over the points of a_i's adjoint (TaylorLayer's abar_i)."""

    @staticmethod
    def forward(ctx, W, b, h, sigma, jet):
        directions, pairs = jet
        a = torch.addmm(b, W, h)
        a_i = [W[:, i:i + 1] for i in directions]
        value, slope, curvature, third = TaylorLayer.derivatives(sigma, a)
        z_q = [TaylorLayer.pair_sum(a_i, q) for q in pairs]   # columns (width, 1)
        e_i = [curvature * x for x in a_i]
        d_q = [third * z for z in z_q]
        ctx.jet = jet
        ctx.save_for_backward(W, h, slope, *e_i, *d_q)
        return (value, *[slope * x for x in a_i], *[curvature * z for z in z_q])

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g, *g_streams):
        directions, pairs = ctx.jet
        k = len(directions)
        W, h, slope, *saved = ctx.saved_tensors
        e_i, d_q = saved[:k], saved[k:]
        adjoint, *adjoints_i = TaylorLayer.adjoints(slope, e_i, d_q, pairs, g, g_streams[:k], g_streams[k:])
        grad_W = grad_b = grad_h = None
        if ctx.needs_input_grad[0]:
            grad_W = adjoint @ h.t()
            for i, column in zip(directions, adjoints_i):   # a_i = W[:, i] at every point
                grad_W[:, i] += column.sum(1)
        if ctx.needs_input_grad[1]:
            grad_b = adjoint.sum(1, keepdim=True)
        if ctx.needs_input_grad[2]:
            grad_h = W.t() @ adjoint
        return grad_W, grad_b, grad_h, None, None
