"""The torch half of the training runtime (mirror: jax.py): tensors, autograd, torch.optim."""
import numpy as np
import torch

from sciml.runtime.common import Runtime


class TorchRuntime(Runtime):
    """Runtime for an emitted torch module: its `loss`, `loss_terms` and `evaluate_reports`."""

    DTYPES = {"float32": torch.float32, "float64": torch.float64}
    OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}

    def seed(self, seed):
        torch.manual_seed(seed)

    @staticmethod
    def to_arrays(fields, dtype, device):
        """numpy fields -> tensors; integer fields stay integers."""
        return {name: torch.as_tensor(value, device=device,
                                      dtype=torch.long if value.dtype.kind in "iu" else dtype)
                for name, value in fields.items()}

    @staticmethod
    def to_numpy(p):
        return {name: value.detach().cpu().numpy() for name, value in p.items()}

    def train(self, params, data, steps=None, seed=0, device="cpu", dtype=torch.float64, log_every=100,
              monitor=None):
        """Train from numpy `params`; return (numpy params, loss on the evaluation batch).
        monitor(step, numpy params), if given, sees the weights every monitor.every steps."""
        loss = self.model.loss
        p = {name: torch.tensor(value, dtype=dtype, device=device, requires_grad=True)
             for name, value in params.items()}
        rng = np.random.default_rng(seed)
        fields, names = self.training_fields(data)
        done = 0
        self.say_nothing_to_train()
        if monitor is not None:
            monitor(0, params)
        for optimizer_name, lr, count, batch_size in self.stages(steps):
            optimizer = self.OPTIMIZERS[optimizer_name](list(p.values()), lr=lr)
            for _ in range(count):
                batch = self.to_arrays(self.sample(fields, names, batch_size, rng), dtype, device)
                optimizer.zero_grad()
                value = loss(p, batch)
                if not torch.isfinite(value):
                    raise self.diverged(done + 1, value, p, batch)
                value.backward()
                optimizer.step()
                done += 1
                if monitor is not None and done % monitor.every == 0:
                    monitor(done, self.to_numpy(p))
                self.log(done, value.item(), log_every)
        with torch.no_grad():
            batch = self.to_arrays(self.evaluation_batch(data), dtype, device)
            value = loss(p, batch)
        if not torch.isfinite(value):
            raise self.diverged(done, value, p, batch)
        return self.to_numpy(p), value.item()

    def diverged(self, step, value, p, batch):
        """The Diverged error for a loss `value` that is not finite at training `step`."""
        with torch.no_grad():
            terms = self.to_numpy(self.model.loss_terms(p, batch))
        return self.diverged_error(step, value.item(), terms, self.to_numpy(p))

    def loss_and_grad(self, params, batch, dtype=torch.float64, device="cpu"):
        """Loss and gradients at numpy `params` on the numpy `batch`, returned as numpy."""
        p = {name: torch.tensor(value, dtype=dtype, device=device, requires_grad=True)
             for name, value in params.items()}
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
        return {name: np.asarray(value.detach().cpu()).tolist() if hasattr(value, "detach") else value
                for name, value in values.items()}
