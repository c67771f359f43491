"""Text of the torch module that does not depend on the spec (mirror: ../jax/template.py)."""

IMPORTS = ["import argparse", "import json", "import pathlib", "import sys", "import time", "",
           "import numpy as np", "import torch"]
ADAPTIVE_IMPORT = "import torchdiffeq"

AS_CONST = "torch.as_tensor({value}, dtype={like}.dtype, device={like}.device)"
EYE = "torch.eye({n}, dtype={like}.dtype, device={like}.device)"
STACK = "torch.stack({})"
CONCAT = "torch.cat([{}], dim=0)"
LINEAR_SOLVE = "torch.linalg.solve({}, {})"
DEFAULT_LIKE = "torch.zeros((), dtype=torch.float64)"

ADAPTIVE = '''
    times = torch.as_tensor(OBSERVED_TIMES if OBSERVED_TIMES[0] == 0 else (0.0,) + OBSERVED_TIMES,
                            dtype={y}.dtype, device={y}.device)
    odeint = torchdiffeq.odeint_adjoint if {adjoint} else torchdiffeq.odeint
    extra = dict(adjoint_params=tuple(p.values())) if {adjoint} else dict()
    {solved} = odeint(lambda t, {state}: {call}, {start}, times, rtol={rtol}, atol={atol}, method="dopri5", **extra)
    {solved} = {solved_value} if OBSERVED_TIMES[0] == 0 else {trimmed}
    return {results}
'''

REVERSIBLE = '''
class ReversibleSolve(torch.autograd.Function):
    """Verlet without stored activations (memory = recompute): the backward pass walks the
    steps in reverse, recomputing each step's input from its output with inverse_step."""

    @staticmethod
    def forward(ctx, names, {y}, {z}, *values):
        p = dict(zip(names, values))
        for j in range(N_STEPS):
            {y}, {z} = step(p, j, {y}, {z})
        ctx.names = names
        ctx.save_for_backward({y}, {z}, *values)
        return {y}, {z}

    @staticmethod
    def backward(ctx, grad_{y}, grad_{z}):
        {y}, {z}, *values = ctx.saved_tensors
        p = dict(zip(ctx.names, values))
        grad_values = [torch.zeros_like(value) for value in values]
        for j in reversed(range(N_STEPS)):
            {y}, {z} = inverse_step(p, j, {y}, {z})
            with torch.enable_grad():
                inputs = [x.detach().requires_grad_() for x in ({y}, {z}, *values)]
                outputs = step(dict(zip(ctx.names, inputs[2:])), j, inputs[0], inputs[1])
                grads = torch.autograd.grad(outputs, inputs, (grad_{y}, grad_{z}), allow_unused=True)
            grads = [torch.zeros_like(x) if g is None else g for x, g in zip(inputs, grads)]
            grad_{y}, grad_{z} = grads[0], grads[1]
            grad_values = [total + g for total, g in zip(grad_values, grads[2:])]
        return (None, grad_{y}, grad_{z}, *grad_values)


def solve(p, {y}, {z}):
    """{title}: {steps} steps on [0, T_END], activations recomputed backwards."""
    names = tuple(p)
    {y}, {z} = ReversibleSolve.apply(names, {y}, {z}, *(p[name] for name in names))
    return {results}
'''

PIECES = {
    "gaussian_nll": '''
def gaussian_nll(z, log_det, mean, std):
    """Mean over samples of -log p(x) by the change of variables: z = g^-1(x), latent normal
    N(mean, std^2 I): 1/2 |(z - mean)/std|^2 + d log(std) + d/2 log(2 pi) - log|det dz/dx|."""
    d = z.shape[0]
    constant = float(d * np.log(std) + d / 2 * np.log(2 * np.pi))
    return torch.mean(0.5 * torch.sum(((z - mean) / std) ** 2, dim=0) - log_det) + constant
''',
    "softmax_cross_entropy": '''
def softmax_cross_entropy(logits, labels):
    """Mean over samples of -log softmax(logits)[label]; logits are (classes, samples)."""
    log_p = torch.log_softmax(logits, dim=0)
    return -torch.mean(torch.take_along_dim(log_p, labels[None, :], dim=0))
''',
    "accuracy": '''
def accuracy(logits, labels):
    """Fraction of samples whose largest logit is the label."""
    return torch.mean((torch.argmax(logits, dim=0) == labels).to(logits.dtype))
''',
    "mse": '''
def mse(a, b):
    return torch.mean((a - b) ** 2)
''',
    "smooth_in_time": '''
def smooth_in_time(*thetas):
    """h * sum_j |(theta_{j+1} - theta_j) / h|^2 for per-step parameters (axis 0 is the step)."""
    return sum(torch.sum((theta[1:] - theta[:-1]) ** 2) for theta in thetas) / h
''',
    "pad": '''
def pad(x, n):
    """Zero-pad the feature axis (axis 0) of x to length n."""
    return torch.cat([x, torch.zeros((n - x.shape[0],) + tuple(x.shape[1:]), dtype=x.dtype, device=x.device)])
''',
    "matrix_of": '''
def matrix_of(rows):
    """A matrix whose entries are scalar tensors."""
    return torch.stack([torch.stack([torch.as_tensor(entry).reshape(()) for entry in row]) for row in rows])
''',
    "initial_state": '''
def initial_state(value, size, like):
    """A state of `size` features equal to `value` in every sample of the batch `like`."""
    column = torch.as_tensor(np.array(np.broadcast_to(value, (size, 1))), dtype=like.dtype, device=like.device)
    return column.expand(size, like.shape[-1] if like.dim() > 1 else 1)
''',
}

RUNTIME = '''

# ---- training (torch)
def to_arrays(fields, dtype, device):
    """numpy fields -> tensors; integer fields stay integers."""
    return {name: torch.as_tensor(value, device=device,
                                  dtype=torch.long if value.dtype.kind in "iu" else dtype)
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


OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}


def train(params, data, steps=None, seed=0, device="cpu", dtype=torch.float64, log_every=100,
          monitor=None):
    """Train from numpy `params`; return (numpy params, loss on the evaluation batch).
    monitor(step, numpy params), if given, sees the weights every monitor.every steps."""
    p = {name: torch.tensor(value, dtype=dtype, device=device, requires_grad=True)
         for name, value in params.items()}
    rng = np.random.default_rng(seed)
    fields, names = data.get(TRAIN_SET, {}), SAMPLE_FIELDS.get(TRAIN_SET, ())
    done = 0
    if not STAGES:
        print(f"{MODEL}: no trainable parameter; 0 training steps", file=sys.stderr)
    if monitor is not None:
        monitor(0, params)
    for optimizer_name, lr, count, batch_size in stages(steps):
        optimizer = OPTIMIZERS[optimizer_name](list(p.values()), lr=lr)
        for _ in range(count):
            batch = to_arrays(sample(fields, names, batch_size, rng), dtype, device)
            optimizer.zero_grad()
            value = loss(p, batch)
            if not torch.isfinite(value):
                raise diverged(done + 1, value, p, batch)
            value.backward()
            optimizer.step()
            done += 1
            if monitor is not None and done % monitor.every == 0:
                monitor(done, {name: value.detach().cpu().numpy() for name, value in p.items()})
            if log_every and done % log_every == 0:
                print(f"step {done:6d}  loss {value.item():.6e}", file=sys.stderr)
    with torch.no_grad():
        batch = to_arrays(evaluation_batch(data), dtype, device)
        value = loss(p, batch)
    if not torch.isfinite(value):
        raise diverged(done, value, p, batch)
    return {name: value.detach().cpu().numpy() for name, value in p.items()}, value.item()


def diverged(step, value, p, batch):
    """The Diverged error for a loss `value` that is not finite at training `step`."""
    with torch.no_grad():
        terms = {text: array.detach().cpu().numpy() for text, array in loss_terms(p, batch).items()}
    params = {name: array.detach().cpu().numpy() for name, array in p.items()}
    return Diverged(divergence_message(step, value.item(), terms, params), step)


def loss_and_grad(params, batch, dtype=torch.float64, device="cpu"):
    """Loss and gradients at numpy `params` on the numpy `batch`, returned as numpy."""
    p = {name: torch.tensor(value, dtype=dtype, device=device, requires_grad=True)
         for name, value in params.items()}
    value = loss(p, to_arrays(batch, dtype, device))
    if not p:  # no trainable parameter: nothing to differentiate
        return value.item(), {}
    grads = torch.autograd.grad(value, list(p.values()), allow_unused=True)
    return value.item(), {name: (np.zeros_like(params[name]) if g is None else g.detach().cpu().numpy())
                          for name, g in zip(p, grads)}


def reports(params, data, dtype=torch.float64, device="cpu"):
    p = {name: torch.as_tensor(value, dtype=dtype, device=device) for name, value in params.items()}
    arrays = {name: to_arrays(fields, dtype, device) for name, fields in data.items()}
    with torch.no_grad():
        values = evaluate_reports(p, arrays)
    return {name: np.asarray(value.detach().cpu()).tolist() if hasattr(value, "detach") else value
            for name, value in values.items()}


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
    torch.manual_seed(args.seed)
    dtype = {"float32": torch.float32, "float64": torch.float64}[args.dtype]
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
