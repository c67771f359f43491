"""The JAX half of the training runtime (mirror: torch.py): jax arrays, jax.grad, optax."""
import jax
import jax.numpy as jnp
import numpy as np
import optax

from sciml.runtime.common import Runtime


class JaxRuntime(Runtime):
    """Runtime for an emitted JAX module: its `loss`, `loss_terms` and `evaluate_reports`."""

    DTYPES = {"float32": jnp.float32, "float64": jnp.float64}
    # unit steps: update scales them by lr; L-BFGS's step is its zoom (strong-Wolfe) line search's
    OPTIMIZERS = {"adam": optax.adam(1.0), "sgd": optax.sgd(1.0), "lbfgs": optax.lbfgs(memory_size=50)}
    CHECKPOINT_KIND = "npz"
    DATA_SHARE = 0.5  # the training data goes on an accelerator once when it takes at most this share of its free memory
    COMPILE_HELP = "accepted for symmetry with torch: the JAX training step is always jax.jit-compiled"

    def set_threads(self, count):
        """One thread: XLA's single-threaded CPU flags, which take effect when nothing has been
        computed with jax yet (the module's numpy half computes nothing with it); more: XLA's own
        thread pool, sized by XLA (None in the result).  Returns the count in use, if known."""
        import os
        flags = os.environ.get("XLA_FLAGS", "")
        if count == 1 and "intra_op_parallelism_threads" not in flags:
            os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false "
                                       "intra_op_parallelism_threads=1").strip()
        return 1 if "intra_op_parallelism_threads=1" in os.environ.get("XLA_FLAGS", "") else None

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
    def place_params(params, dtype, device):
        """numpy params -> jax arrays on the named device, and the device."""
        device = jax.devices(device)[0] if isinstance(device, str) else device
        return {name: jax.device_put(jnp.asarray(value, dtype=dtype), device) for name, value in params.items()}, device

    def fits(self, nbytes, device):
        """Whether `nbytes` of training data fit on `device` beside the training (CPU: always)."""
        stats = device.memory_stats() if hasattr(device, "memory_stats") else None
        if not stats or "bytes_limit" not in stats:
            return True
        return nbytes <= self.DATA_SHARE * (stats["bytes_limit"] - stats.get("bytes_in_use", 0))

    @staticmethod
    def take(placed, names, index, device):
        """The samples `index` (numpy) of the placed per-sample fields, indexed on the device."""
        index = jax.device_put(jnp.asarray(index), device)
        return {name: jnp.take(value, index, axis=-1) if name in names else value for name, value in placed.items()}

    @staticmethod
    def prepare_step(compile=False):
        return "jax.jit"

    def update_step(self, p, opt_state, batch, optimizer_name, lr, reuse=False):
        """One training step: (new p, new optimizer state, loss at p); the learning rate is an
        argument, so one compile serves every stage.  reuse (L-BFGS): p is the point that the
        last step's line search accepted, on the same batch, so the loss and gradient it computed
        there are taken from its state instead of being computed again."""
        if optimizer_name == "lbfgs":   # the line search evaluates the loss on the same batch
            known, known_grads = optax.tree.get(opt_state, "value"), optax.tree.get(opt_state, "grad")
            value, grads = jax.lax.cond(reuse & jnp.isfinite(known), lambda: (known, known_grads),   # reuse is
                                        lambda: jax.value_and_grad(self.model.loss)(p, batch))  # traced: one compile
            updates, opt_state = self.OPTIMIZERS[optimizer_name].update(
                grads, opt_state, p, value=value, grad=grads, value_fn=lambda q: self.model.loss(q, batch))
        elif hasattr(self.model, "loss_and_statistics"):   # batch normalization: its running statistics
            (value, statistics), grads = jax.value_and_grad(self.model.loss_and_statistics, has_aux=True)(p, batch)
            updates, opt_state = self.OPTIMIZERS[optimizer_name].update(grads, opt_state, p)
            updated = jax.tree_util.tree_map(lambda x, u: x + lr * u, p, updates)
            return {**updated, **self.running_statistics(updated, statistics)}, opt_state, value
        else:
            value, grads = jax.value_and_grad(self.model.loss)(p, batch)
            updates, opt_state = self.OPTIMIZERS[optimizer_name].update(grads, opt_state, p)
        return jax.tree_util.tree_map(lambda x, u: x + lr * u, p, updates), opt_state, value

    def new_optimizer(self, name, lr, p, device):
        """{name, lr, state}: the optax state placed like p, so that every stage shares one compile,
        and strongly typed: optax's L-BFGS starts with weakly typed scalars that its update
        returns strongly typed, which made the second step compile the update again."""
        state = jax.tree_util.tree_map(lambda leaf: jnp.asarray(leaf, dtype=leaf.dtype), self.OPTIMIZERS[name].init(p))
        return {"name": name, "lr": lr, "state": jax.device_put(state, device)}

    def training_step(self, optimizer, p, batch):
        """One step at `p` on `batch`: (the new p, the loss before the step).  An L-BFGS step
        after another on the same batch, taken whole (lr = 1), starts where the last line search
        ended: it reuses that search's loss and gradient (one evaluation a step saved)."""
        last, optimizer["batch"] = optimizer.get("batch"), batch
        reuse = (optimizer["name"] == "lbfgs" and optimizer["lr"] == 1.0 and last is not None
                 and last.keys() == batch.keys() and all(last[name] is batch[name] for name in batch))
        updated, optimizer["state"], value = self.update(p, optimizer["state"], batch, optimizer["name"],
                                                         optimizer["lr"], reuse=reuse)
        return updated, float(value)

    @staticmethod
    def optimizer_arrays(optimizer, p):
        """The optax state as numpy: {'INDEX': leaf} in the order of its tree's leaves."""
        return {str(index): np.asarray(leaf) for index, leaf in enumerate(jax.tree_util.tree_leaves(optimizer["state"]))}

    def restore_optimizer(self, optimizer, arrays, p):
        """`optimizer` with the state `arrays` of optimizer_arrays in place of its fresh one."""
        leaves, tree = jax.tree_util.tree_flatten(optimizer["state"])
        if sorted(arrays, key=int) != [str(index) for index in range(len(leaves))]:
            raise self.Refused(f"the checkpoint's optimizer state has {len(arrays)} arrays, "
                               f"{optimizer['name']} has {len(leaves)}: not resumed")
        loaded = [jax.device_put(jnp.asarray(arrays[str(index)], dtype=leaf.dtype), leaf.sharding)
                  for index, leaf in enumerate(leaves)]
        return dict(optimizer, state=jax.tree_util.tree_unflatten(tree, loaded))

    def loss_value(self, p, batch):
        return float(self.evaluation_loss(p, batch))

    def terms(self, p, batch):
        """The module's loss_terms at `p` on `batch`, as numpy."""
        return self.to_numpy(self.model.loss_terms(p, batch))

    def loss_and_grad(self, params, batch, dtype=jnp.float64, device="cpu"):
        """Loss and gradients at numpy `params` on the numpy `batch`, returned as numpy."""
        p, device = self.place_params(params, dtype, device)
        value, grads = jax.value_and_grad(self.model.loss)(p, self.to_arrays(batch, dtype, device))
        return float(value), self.to_numpy(grads)

    def reports(self, params, data, dtype=jnp.float64, device="cpu"):
        """The spec's reports at numpy `params`, each on its data set, as Python numbers or lists."""
        p, device = self.place_params(params, dtype, device)
        arrays = {name: self.to_arrays(fields, dtype, device) for name, fields in data.items()}
        arrays.update(self.report_draws(dtype, device))
        values = self.model.evaluate_reports(p, arrays)
        return {name: self.report_value(value) for name, value in values.items()}
