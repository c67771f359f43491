"""The torch half of the training runtime (mirror: jax.py): tensors, autograd, torch.optim."""
import math
import sys

import numpy as np
import torch

from sciml.runtime.common import Runtime


class TorchRuntime(Runtime):
    """Runtime for an emitted torch module: its `loss`, `loss_terms` and `evaluate_reports`."""

    DTYPES = {"float32": torch.float32, "float64": torch.float64}
    OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD,
                  # one training step is one L-BFGS iteration with a strong-Wolfe line search; torch gives
                  # the search max_eval - 1 evaluations, and max_iter = 1 alone makes max_eval 1: none, so a
                  # first trial step that fails the Armijo test would end the step where it began
                  "lbfgs": lambda params, lr: torch.optim.LBFGS(params, lr=lr, max_iter=1, max_eval=1 + 25,
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
        try:
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
            return self.model.loss(p, batch).item()

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
        with torch.no_grad():
            values = self.model.evaluate_reports(p, arrays)
        return {name: self.report_value(value.detach().cpu()) if hasattr(value, "detach") else value
                for name, value in values.items()}
