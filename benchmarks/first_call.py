"""First call (trace + XLA compile + first step) and steady step time of an emitted JAX module's
training step (value_and_grad of its loss + Adam), float32, CPU, one thread.
    .venv/bin/python benchmarks/first_call.py MODULE.py [samples]"""
import os, sys, time, importlib.util, statistics
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
import numpy as np
path = sys.argv[1]
samples = int(sys.argv[2]) if len(sys.argv) > 2 else 50
spec = importlib.util.spec_from_file_location("m", path)
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
import jax, jax.numpy as jnp, optax
cpu = jax.devices("cpu")[0]
dtype = jnp.float32
optimizer_name, lr, _, batch_size = mod.STAGES[0]
data = mod.make_data()
fields, names = data[mod.TRAIN_SET], mod.SAMPLE_FIELDS.get(mod.TRAIN_SET, ())
rng = np.random.default_rng(0)
batches = [mod.to_arrays(mod.sample(fields, names, batch_size, rng), dtype, cpu) for _ in range(samples + 1)]
p = {k: jax.device_put(jnp.asarray(v, dtype=dtype), cpu) for k, v in mod.init_params(0).items()}
optimizer = optax.adam(lr)
opt = jax.device_put(optimizer.init(p), cpu)
@jax.jit
def update(p, opt_state, batch):
    value, grads = jax.value_and_grad(mod.loss)(p, batch)
    updates, opt_state = optimizer.update(grads, opt_state, p)
    return optax.apply_updates(p, updates), opt_state, value
t = time.perf_counter()
p, opt, v = jax.block_until_ready(update(p, opt, batches[0]))
first = time.perf_counter() - t
times = []
for b in batches[1:]:
    t = time.perf_counter()
    p, opt, v = jax.block_until_ready(update(p, opt, b))
    times.append(time.perf_counter() - t)
q = statistics.quantiles(times, n=4)
print(f"{os.path.basename(path)}: first call {first:.2f} s; step median {q[1]*1e3:.2f} ms (q1 {q[0]*1e3:.2f}, q3 {q[2]*1e3:.2f}), n={len(times)}, loss {float(v):.6g}")
