"""Text of the JAX module that does not depend on the spec (mirror: ../torch/template.py)."""

IMPORTS = ["import argparse", "import functools", "import json", "import pathlib", "import sys", "import time", "",
           "import numpy as np", "import jax", "import jax.numpy as jnp", "import optax", "",
           'jax.config.update("jax_enable_x64", True)  # float64 on request, as in the torch module']
ADAPTIVE_IMPORT = "import diffrax"

AS_CONST = "jnp.asarray({value}, dtype={like}.dtype)"
EYE = "jnp.eye({n}, dtype={like}.dtype)"
STACK = "jnp.stack({})"
CONCAT = "jnp.concatenate([{}], axis=0)"
LINEAR_SOLVE = "jnp.linalg.solve({}, {})"
DEFAULT_LIKE = "jnp.zeros((), dtype=jnp.float64)"

ADAPTIVE = '''
    times = jnp.asarray(OBSERVED_TIMES if OBSERVED_TIMES[0] == 0 else (0.0,) + OBSERVED_TIMES,
                        dtype={y}.dtype)
    adjoint = diffrax.BacksolveAdjoint() if {adjoint} else diffrax.RecursiveCheckpointAdjoint()
    solution = diffrax.diffeqsolve(diffrax.ODETerm(lambda t, {state}, p: {call}), diffrax.Dopri5(), t0=0.0,
                                   t1=T_END, dt0=None, y0={start}, args=p, saveat=diffrax.SaveAt(ts=times),
                                   stepsize_controller=diffrax.PIDController(rtol={rtol}, atol={atol}),
                                   adjoint=adjoint, max_steps=100000)
    {solved} = solution.ys if OBSERVED_TIMES[0] == 0 else {trimmed_ys}
    return {results}
'''

REVERSIBLE = '''
@jax.custom_vjp
def reversible_solve(p, {y}, {z}):
    """Verlet without stored activations (memory = recompute): see reversible_backward."""
    for j in range(N_STEPS):
        {y}, {z} = step(p, j, {y}, {z})
    return {y}, {z}


def reversible_forward(p, {y}, {z}):
    {y}, {z} = reversible_solve(p, {y}, {z})
    return ({y}, {z}), (p, {y}, {z})


def reversible_backward(saved, grads):
    """Walk the steps in reverse, recomputing each step's input from its output with inverse_step."""
    p, {y}, {z} = saved
    grad_{y}, grad_{z} = grads
    grad_p = jax.tree_util.tree_map(jnp.zeros_like, p)
    for j in reversed(range(N_STEPS)):
        {y}, {z} = inverse_step(p, j, {y}, {z})
        _, pullback = jax.vjp(lambda p, {y}, {z}: step(p, j, {y}, {z}), p, {y}, {z})
        grad_step, grad_{y}, grad_{z} = pullback((grad_{y}, grad_{z}))
        grad_p = jax.tree_util.tree_map(jnp.add, grad_p, grad_step)
    return grad_p, grad_{y}, grad_{z}


reversible_solve.defvjp(reversible_forward, reversible_backward)


def solve(p, {y}, {z}):
    """{title}: {steps} steps on [0, T_END], activations recomputed backwards."""
    {y}, {z} = reversible_solve(p, {y}, {z})
    return {results}
'''

PIECES = {
    "at_observed_steps": '''
def at_observed_steps(start, steps):
    """The states at OBSERVED_STEPS, from the start and the state after each step (axis 0 of steps)."""
    return jnp.concatenate([start[None], steps])[np.asarray(OBSERVED_STEPS)]
''',
    "gaussian_nll": '''
def gaussian_nll(z, log_det, mean, std):
    """Mean over samples of -log p(x) by the change of variables: z = g^-1(x), latent normal
    N(mean, std^2 I): 1/2 |(z - mean)/std|^2 + d log(std) + d/2 log(2 pi) - log|det dz/dx|."""
    d = z.shape[0]
    constant = float(d * np.log(std) + d / 2 * np.log(2 * np.pi))
    return jnp.mean(0.5 * jnp.sum(((z - mean) / std) ** 2, axis=0) - log_det) + constant
''',
    "softmax_cross_entropy": '''
def softmax_cross_entropy(logits, labels):
    """Mean over samples of -log softmax(logits)[label]; logits are (classes, samples)."""
    log_p = jax.nn.log_softmax(logits, axis=0)
    return -jnp.mean(jnp.take_along_axis(log_p, labels[None, :], axis=0))
''',
    "accuracy": '''
def accuracy(logits, labels):
    """Fraction of samples whose largest logit is the label."""
    return jnp.mean((jnp.argmax(logits, axis=0) == labels).astype(logits.dtype))
''',
    "mse": '''
def mse(a, b):
    return jnp.mean((a - b) ** 2)
''',
    "smooth_in_time": '''
def smooth_in_time(*thetas):
    """h * sum_j |(theta_{j+1} - theta_j) / h|^2 for per-step parameters (axis 0 is the step)."""
    return sum(jnp.sum((theta[1:] - theta[:-1]) ** 2) for theta in thetas) / h
''',
    "pad": '''
def pad(x, n):
    """Zero-pad the feature axis (axis 0) of x to length n."""
    return jnp.concatenate([x, jnp.zeros((n - x.shape[0],) + tuple(x.shape[1:]), dtype=x.dtype)])
''',
    "matrix_of": '''
def matrix_of(rows):
    """A matrix whose entries are scalar arrays."""
    return jnp.stack([jnp.stack([jnp.asarray(entry).reshape(()) for entry in row]) for row in rows])
''',
    "initial_state": '''
def initial_state(value, size, like):
    """A state of `size` features equal to `value` in every sample of the batch `like`."""
    column = jnp.asarray(np.array(np.broadcast_to(value, (size, 1))), dtype=like.dtype)
    return jnp.broadcast_to(column, (size, like.shape[-1] if like.ndim > 1 else 1))
''',
}

RUNTIME = '''

# ---- training (jax)
def to_arrays(fields, dtype, device):
    """numpy fields -> jax arrays; integer fields stay integers."""
    return {name: jax.device_put(jnp.asarray(value, dtype=jnp.int64 if value.dtype.kind in "iu" else dtype),
                                 device)
            for name, value in fields.items()}


def sample(fields, sample_names, size, rng):
    """A mini-batch: the same random samples (last axis) of every per-sample field."""
    count = next((fields[name].shape[-1] for name in sample_names), 0)
    if not sample_names or size == 0 or size >= count:
        return fields
    index = rng.choice(count, size, replace=False)
    return {name: value[..., index] if name in sample_names else value for name, value in fields.items()}


def evaluation_batch(data):
    """The fixed batch that the reported loss is measured on: the first samples."""
    if not TRAIN_SET:
        return {}
    fields, names = data[TRAIN_SET], SAMPLE_FIELDS.get(TRAIN_SET, ())
    size = max((stage[3] for stage in STAGES), default=0)
    return {name: value[..., :size] if name in names and size else value for name, value in fields.items()}


def stages(steps):
    """The spec's training stages, cut or extended to `steps` steps in all (None: as written)."""
    if steps is None:
        return list(STAGES)
    out, left = [], steps
    for optimizer, lr, count, batch in STAGES:
        take = min(count, left)
        if take:
            out.append((optimizer, lr, take, batch))
        left -= take
    if left and STAGES:  # no STAGES: nothing to train, however many steps are asked for
        optimizer, lr, _, batch = STAGES[-1]
        out.append((optimizer, lr, left, batch))
    return out


OPTIMIZERS = {"adam": optax.adam(1.0), "sgd": optax.sgd(1.0)}  # unit steps: update scales them by lr


@functools.partial(jax.jit, static_argnames="optimizer_name")
def update(p, opt_state, batch, optimizer_name, lr):
    """One training step: (new p, new optimizer state, loss at p).  Module level, the learning
    rate an argument: compiled once per optimizer and batch shape, for every stage and call."""
    value, grads = jax.value_and_grad(loss)(p, batch)
    updates, opt_state = OPTIMIZERS[optimizer_name].update(grads, opt_state, p)
    return jax.tree_util.tree_map(lambda x, u: x + lr * u, p, updates), opt_state, value


def train(params, data, steps=None, seed=0, device="cpu", dtype=jnp.float64, log_every=100,
          monitor=None):
    """Train from numpy `params`; return (numpy params, loss on the evaluation batch).
    monitor(step, numpy params), if given, sees the weights every monitor.every steps."""
    device = jax.devices(device)[0]
    p = {name: jax.device_put(jnp.asarray(value, dtype=dtype), device) for name, value in params.items()}
    rng = np.random.default_rng(seed)
    fields, names = data.get(TRAIN_SET, {}), SAMPLE_FIELDS.get(TRAIN_SET, ())
    done = 0
    if not STAGES:
        print(f"{MODEL}: no trainable parameter; 0 training steps", file=sys.stderr)
    if monitor is not None:
        monitor(0, params)
    for optimizer_name, lr, count, batch_size in stages(steps):
        opt_state = jax.device_put(OPTIMIZERS[optimizer_name].init(p), device)  # placed like p: one compile
        for _ in range(count):
            batch = to_arrays(sample(fields, names, batch_size, rng), dtype, device)
            updated, opt_state, value = update(p, opt_state, batch, optimizer_name, lr)
            if not np.isfinite(float(value)):
                raise diverged(done + 1, value, p, batch)
            p = updated
            done += 1
            if monitor is not None and done % monitor.every == 0:
                monitor(done, {name: np.asarray(value) for name, value in p.items()})
            if log_every and done % log_every == 0:
                print(f"step {done:6d}  loss {float(value):.6e}", file=sys.stderr)
    batch = to_arrays(evaluation_batch(data), dtype, device)
    value = loss(p, batch)
    if not np.isfinite(float(value)):
        raise diverged(done, value, p, batch)
    return {name: np.asarray(value) for name, value in p.items()}, float(value)


def diverged(step, value, p, batch):
    """The Diverged error for a loss `value` that is not finite at training `step`."""
    terms = {text: np.asarray(array) for text, array in loss_terms(p, batch).items()}
    params = {name: np.asarray(array) for name, array in p.items()}
    return Diverged(divergence_message(step, float(value), terms, params), step)


def loss_and_grad(params, batch, dtype=jnp.float64, device="cpu"):
    """Loss and gradients at numpy `params` on the numpy `batch`, returned as numpy."""
    device = jax.devices(device)[0]
    p = {name: jax.device_put(jnp.asarray(value, dtype=dtype), device) for name, value in params.items()}
    value, grads = jax.value_and_grad(loss)(p, to_arrays(batch, dtype, device))
    return float(value), {name: np.asarray(g) for name, g in grads.items()}


def reports(params, data, dtype=jnp.float64, device="cpu"):
    device = jax.devices(device)[0]
    p = {name: jax.device_put(jnp.asarray(value, dtype=dtype), device) for name, value in params.items()}
    arrays = {name: to_arrays(fields, dtype, device) for name, fields in data.items()}
    values = evaluate_reports(p, arrays)
    return {name: np.asarray(value).tolist() for name, value in values.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=f"Train {MODEL} ({BACKEND}).")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the spec's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--json", action="store_true", help="print one JSON line with the results")
    parser.add_argument("--out", help="folder to save the trained parameters in")
    parser.add_argument("--check-stability", action="store_true",
                        help="check the step-size bounds of the analysis with the weights during training")
    parser.add_argument("--check-every", type=int, default=10, help="training steps between checks")
    parser.add_argument("--data-dir", help="the folder of the data files (default: $SCIML_DATA_DIR, "
                        "then beside this file, then the spec's folder)")
    args = parser.parse_args(argv)
    dtype = {"float32": jnp.float32, "float64": jnp.float64}[args.dtype]
    try:
        data = make_data(args.data_dir)
    except DataError as exc:  # a data file that does not fit the model: which file, which field
        print(f"{MODEL}: error: {exc}", file=sys.stderr)
        sys.exit(2)
    start = time.perf_counter()
    monitor = StabilityMonitor(args.check_every) if args.check_stability else None
    try:
        params, final = train(init_params(args.seed), data, args.steps, args.seed, args.device, dtype,
                              monitor=monitor)
    except Diverged as exc:  # nothing is saved; the message says the step, the term and the cause
        print(f"{MODEL}: error: {exc}", file=sys.stderr)
        if args.json:
            print(json.dumps({"model": MODEL, "backend": BACKEND, "status": "diverged", "step": exc.step,
                              "seed": args.seed, "dtype": args.dtype, "message": str(exc)}))
        sys.exit(3)
    result = {"model": MODEL, "backend": BACKEND, "status": "ok", "loss": final, "seed": args.seed,
              "steps": sum(stage[2] for stage in stages(args.steps)), "dtype": args.dtype,
              "device": args.device, "seconds": round(time.perf_counter() - start, 3),
              "reports": reports(params, data, dtype, args.device)}
    if monitor is not None:
        result["stability"] = monitor.summary()
    if args.out:
        folder = pathlib.Path(args.out)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{MODEL}_{BACKEND}_params.npz"
        partial = target.with_name(target.name + ".partial")   # written whole, then renamed
        with open(partial, "wb") as file:
            np.savez(file, **params)
        partial.replace(target)
    print(json.dumps(result) if args.json else f"{MODEL}: loss {final:.6e}  reports {result['reports']}")


if __name__ == "__main__":
    main()
'''
