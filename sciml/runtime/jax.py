"""The JAX half of the training runtime (mirror: torch.py): jax arrays, jax.grad, optax."""
import jax
import jax.numpy as jnp
import numpy as np
import optax

from sciml.runtime.common import Runtime


class JaxRuntime(Runtime):
    """Runtime for an emitted JAX module: its `loss`, `loss_terms` and `evaluate_reports`."""

    DTYPES = {"float32": jnp.float32, "float64": jnp.float64}
    OPTIMIZERS = {"adam": optax.adam(1.0), "sgd": optax.sgd(1.0)}  # unit steps: update scales them by lr

    def __init__(self, model):
        super().__init__(model)
        # compiled once per optimizer and batch shape, for every stage and call
        self.update = jax.jit(self.update_step, static_argnames="optimizer_name")

    @staticmethod
    def to_arrays(fields, dtype, device):
        """numpy fields -> jax arrays; integer fields stay integers."""
        return {name: jax.device_put(jnp.asarray(value, dtype=jnp.int64 if value.dtype.kind in "iu" else dtype),
                                     device)
                for name, value in fields.items()}

    @staticmethod
    def to_numpy(p):
        return {name: np.asarray(value) for name, value in p.items()}

    @staticmethod
    def place(params, dtype, device):
        """numpy params -> jax arrays on the named device."""
        device = jax.devices(device)[0]
        return {name: jax.device_put(jnp.asarray(value, dtype=dtype), device) for name, value in params.items()}, device

    def update_step(self, p, opt_state, batch, optimizer_name, lr):
        """One training step: (new p, new optimizer state, loss at p); the learning rate is an
        argument, so one compile serves every stage."""
        value, grads = jax.value_and_grad(self.model.loss)(p, batch)
        updates, opt_state = self.OPTIMIZERS[optimizer_name].update(grads, opt_state, p)
        return jax.tree_util.tree_map(lambda x, u: x + lr * u, p, updates), opt_state, value

    def train(self, params, data, steps=None, seed=0, device="cpu", dtype=jnp.float64, log_every=100,
              monitor=None):
        """Train from numpy `params`; return (numpy params, loss on the evaluation batch).
        monitor(step, numpy params), if given, sees the weights every monitor.every steps."""
        p, device = self.place(params, dtype, device)
        rng = np.random.default_rng(seed)
        fields, names = self.training_fields(data)
        done = 0
        self.say_nothing_to_train()
        if monitor is not None:
            monitor(0, params)
        for optimizer_name, lr, count, batch_size in self.stages(steps):
            opt_state = jax.device_put(self.OPTIMIZERS[optimizer_name].init(p), device)  # placed like p: one compile
            for _ in range(count):
                batch = self.to_arrays(self.sample(fields, names, batch_size, rng), dtype, device)
                updated, opt_state, value = self.update(p, opt_state, batch, optimizer_name, lr)
                if not np.isfinite(float(value)):
                    raise self.diverged(done + 1, value, p, batch)
                p = updated
                done += 1
                if monitor is not None and done % monitor.every == 0:
                    monitor(done, self.to_numpy(p))
                self.log(done, float(value), log_every)
        batch = self.to_arrays(self.evaluation_batch(data), dtype, device)
        value = self.model.loss(p, batch)
        if not np.isfinite(float(value)):
            raise self.diverged(done, value, p, batch)
        return self.to_numpy(p), float(value)

    def diverged(self, step, value, p, batch):
        """The Diverged error for a loss `value` that is not finite at training `step`."""
        terms = self.to_numpy(self.model.loss_terms(p, batch))
        return self.diverged_error(step, float(value), terms, self.to_numpy(p))

    def loss_and_grad(self, params, batch, dtype=jnp.float64, device="cpu"):
        """Loss and gradients at numpy `params` on the numpy `batch`, returned as numpy."""
        p, device = self.place(params, dtype, device)
        value, grads = jax.value_and_grad(self.model.loss)(p, self.to_arrays(batch, dtype, device))
        return float(value), self.to_numpy(grads)

    def reports(self, params, data, dtype=jnp.float64, device="cpu"):
        """The spec's reports at numpy `params`, each on its data set, as Python numbers or lists."""
        p, device = self.place(params, dtype, device)
        arrays = {name: self.to_arrays(fields, dtype, device) for name, fields in data.items()}
        values = self.model.evaluate_reports(p, arrays)
        return {name: np.asarray(value).tolist() for name, value in values.items()}
