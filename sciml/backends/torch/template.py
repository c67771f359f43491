"""Text of the torch module that does not depend on the spec, but for the training runtime, which is
the package sciml/runtime/ (mirror: ../jax/template.py)."""
from sciml.backends.common.grid_pieces import GRID_STENCILS, eigenbases_solver


IMPORTS = ["import sys", "", "import numpy as np", "import torch"]  # the model's; the runtime adds its own
ADAPTIVE_IMPORT = "import torchdiffeq"

AS_CONST = "torch.as_tensor({value}, dtype={like}.dtype, device={like}.device)"
EYE = "torch.eye({n}, dtype={like}.dtype, device={like}.device)"
STACK = "torch.stack({})"
CONCAT = "torch.cat([{}], dim=0)"
LINEAR_SOLVE = "torch.linalg.solve({}, {})"
FACTOR = "torch.linalg.lu_factor({})"
FACTORED_SOLVE = "torch.linalg.lu_solve(*{}, {})"
DEFAULT_LIKE = "torch.zeros((), dtype=torch.float64)"
# the activation's value in the Taylor layers' derivatives function (taylor_layers_code.py), where
# another spelling of it is faster: torch's tanh takes three times as long as its sigmoid on a CPU
TAYLOR_VALUES = {"tanh": ("2*torch.sigmoid(2*a) - 1", "= tanh(a), in a third of torch.tanh's time on a CPU")}

# IMEX on a grid (sciml/backends/common/grid_solve_code.py): shift I - scale T solved without T's
# matrix where that is cheaper, by its dense inverse up to DENSE_GRID_SOLVE_UP_TO unknowns (one
# matrix product a step costs less than an FFT there; benchmarks/mol_step.py --solvers: periodic,
# the inverse 66 us a step against rfft's 101 at 128 unknowns, 143 against 94 at 256; Dirichlet,
# 141 against the extension's 219 at 256, 570 against 232 at 512)
DENSE_GRID_SOLVE_UP_TO = {"periodic": 128, "bounded": 256}
GRID_SOLVERS = {
    "flip": "{}.flip(0)",
    "inverse": '''
def {factors}(shift, scale, like):
    """(shift I - scale {matrix})^-1, once per solve: on {m} unknowns one matrix product a step
    costs less than an FFT or a banded solve ({ends})."""
    matrix = torch.as_tensor({matrix}, dtype=like.dtype, device=like.device)
    return torch.linalg.inv(shift * torch.eye({m}, dtype=like.dtype, device=like.device) - scale * matrix)


def {solve}(factors, rhs):
    """x with (shift I - scale {matrix}) x = rhs, the inverse from {factors}."""
    return factors @ rhs
''',
    "fft": '''
def {factors}(shift, scale, like):
    """The eigenvalues of shift I - scale {matrix} at the rfft frequencies k = 0 .. {n} // 2, a
    column: {matrix} is circulant ({ends}), its eigenvalues -4 / dx^2 sin^2(pi k / {n})."""
    k = torch.arange({half}, dtype=like.dtype, device=like.device)[:, None]
    return shift + scale * (4 / {dx}**2) * torch.sin(np.pi / {n} * k) ** 2


def {solve}(factors, rhs):
    """x with (shift I - scale {matrix}) x = rhs by FFT along the nodes: rhs's rfft divided by the
    eigenvalues from {factors}, transformed back."""
    return torch.fft.irfft(torch.fft.rfft(rhs, dim=0) / factors, n={n}, dim=0)
''',
    "fft_extension": '''
def {factors}(shift, scale, like):
    """The eigenvalues of shift I - scale P at the rfft frequencies k = 0 .. {n} // 2, a column: P
    the periodic second difference on {n} nodes, -4 / dx^2 sin^2(pi k / {n}) (see {solve})."""
    k = torch.arange({half}, dtype=like.dtype, device=like.device)[:, None]
    return shift + scale * (4 / {dx}**2) * torch.sin(np.pi / {n} * k) ** 2


def {solve}(factors, rhs):
    """x with (shift I - scale {matrix}) x = rhs by FFT ({ends}): rhs extended to {n}
    values, odd about a Dirichlet end's node and even about a Neumann end's, so that the periodic
    second difference P on them is {matrix} on the unknowns; solved there, the unknowns read back."""
    zero = 0 * rhs[:1]
    extended = torch.cat([{pieces}], dim=0)
    return torch.fft.irfft(torch.fft.rfft(extended, dim=0) / factors, n={n}, dim=0)[{start}:{stop}]
''',
    "eigenbases": eigenbases_solver("torch.as_tensor", "torch.einsum", ", device=like.device"),
}

# the library's adaptive solve; {times} and {trim}: at the data times (with 0 first), or at 0 and T
ADAPTIVE_TIMES = {True: ("OBSERVED_TIMES if OBSERVED_TIMES[0] == 0 else (0.0,) + OBSERVED_TIMES",
                         "    {solved} = {solved_value} if OBSERVED_TIMES[0] == 0 else {trimmed}\n"),
                  False: ("(0.0, T_END)", "")}
ADAPTIVE = '''
    times = torch.as_tensor({times}, dtype={y}.dtype, device={y}.device)
    {solved} = {odeint}(lambda t, {state}: {call}, {start}, times, rtol={rtol}, atol={atol}, method="{method}"{extra})
{trim}    return {results}
'''
# a continuous normalizing flow's sampler: the ode of its flow state from T_END back to 0 (cnf_code.py)
ADAPTIVE_INVERSE = '''
    times = torch.as_tensor((T_END, 0.0), dtype={y}.dtype, device={y}.device)
    return torchdiffeq.odeint(lambda t, {y}: {call}, {y}, times, rtol={rtol}, atol={atol}, method="{method}")[-1]
'''
# the continuous adjoint (torchdiffeq.odeint_adjoint, with the parameters it differentiates in), or not
ADAPTIVE_ADJOINT = {True: ("torchdiffeq.odeint_adjoint", ", adjoint_params=tuple(p.values())"),
                    False: ("torchdiffeq.odeint", "")}

REVERSIBLE = '''
class ReversibleSolve(torch.autograd.Function):
    """A reversible scheme without stored activations (memory = recompute): the backward pass
    walks the steps in reverse, recomputing each step's input from its output with inverse_step."""

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
{start}    names = tuple(p)
    {y}, {z} = ReversibleSolve.apply(names, {y}, {z}, *(p[name] for name in names))
    return {results}
'''

# a right side's time t arrives as a number (j * h) or the solver's tensor: torch's functions take
# tensors; a 0-d float64 tensor keeps t exact and takes the dtype and device of what it meets
TIME_ARGUMENT = "t = torch.as_tensor(t, dtype=torch.float64)   # the stage's time, as a tensor"

# a batch-normalized network runs on (1, features, paths), the layout of torch's batch_norm
# kernel, from its input to its output: no reshape around each of its calls (batch_norm_code.py)
NORMALIZED_LAYOUT = ("{}[None]", "torch.bmm({w}, {z})", "{}.squeeze(0)")

PIECES = {
    **GRID_STENCILS,
    "value_range": '''
def value_range(v):
    """101 values from the least to the largest of v, as a column (values, 1)."""
    return torch.linspace(torch.min(v).item(), torch.max(v).item(), 101, dtype=v.dtype, device=v.device)[:, None]
''',
    "at_nodes": '''
def at_nodes(net, p, *values):
    """The network at every grid node and sample: the values (nodes, samples), broadcast
    together, go in as one row of points and come back in their shape."""
    values = torch.broadcast_tensors(*values)
    return net(p, *(v.reshape(1, -1) for v in values)).reshape(values[0].shape)
''',
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
    """Mean over samples of -log softmax(logits)[label]; logits are (classes, samples), or
    (draws, classes, samples) of an ensemble: then the mean over its draws too."""
    log_p = torch.log_softmax(logits, dim=-2)
    index = labels.expand(*log_p.shape[:-2], 1, -1)
    return -torch.mean(torch.take_along_dim(log_p, index, dim=-2))
''',
    "accuracy": '''
def accuracy(logits, labels):
    """Fraction of samples whose largest logit is the label."""
    return torch.mean((torch.argmax(logits, dim=-2) == labels).to(logits.dtype))
''',
    "ensemble_cross_entropy": '''
def ensemble_cross_entropy(logits, labels):
    """Mean over samples of -log of the ensemble's probability of the label: the softmax of
    logits (draws, classes, samples) averaged over the draws, log (1/D) sum_d p_d taken by
    log-sum-exp of the log-probabilities."""
    log_p = torch.logsumexp(torch.log_softmax(logits, dim=-2), dim=0) - float(np.log(logits.shape[0]))
    return -torch.mean(torch.take_along_dim(log_p, labels[None, :], dim=0))
''',
    "mean_over_draws": '''
def mean_over_draws(values):
    """The mean over the draws of a Bayesian network or ensemble (the first axis)."""
    return torch.mean(values, dim=0)
''',
    "std_over_draws": '''
def std_over_draws(values):
    """The standard deviation over the draws (the first axis), 1/(N - 1) normalized as the
    covariance; the square root of at least the smallest normal number (gradient 0 at 0)."""
    variance = torch.sum((values - torch.mean(values, dim=0)) ** 2, dim=0) / (values.shape[0] - 1)
    return torch.sqrt(torch.clamp(variance, min=torch.finfo(values.dtype).tiny))
''',
    "covariance_over_draws": '''
def covariance_over_draws(values):
    """The covariance over the draws (the first axis) of values (draws, features, samples):
    1/(N - 1) sum_d (v_d - mean)(v_d - mean)^T for each sample, (features, features, samples)."""
    centred = values - torch.mean(values, dim=0)
    return torch.einsum("di...,dj...->ij...", centred, centred) / (values.shape[0] - 1)
''',
    "posterior_draw": '''
def posterior_draw(mean, rho, eps):
    """A weight of each posterior draw, mean + softplus(rho) * eps: eps (draws, entries) shaped
    (draws,) + the weight's shape."""
    return mean + torch.nn.functional.softplus(rho) * eps.reshape((-1,) + tuple(mean.shape))
''',
    "mean_over": '''
def mean_over(values):
    """The mean over the samples or paths (the last axis), kept as an axis of length 1."""
    return torch.mean(values, dim=-1, keepdim=True)
''',
    "std_over": '''
def std_over(values):
    """The standard deviation over the samples or paths (the last axis; divided by their
    count), kept as an axis of length 1.  The square root is taken of at least the smallest
    normal number, so a spread of 0 (every path at one start) has gradient 0, not NaN."""
    variance = torch.mean((values - torch.mean(values, dim=-1, keepdim=True)) ** 2, dim=-1, keepdim=True)
    return torch.sqrt(torch.clamp(variance, min=torch.finfo(values.dtype).tiny))
''',
    "batch_norm": '''
def batch_norm(z, w, k, running, statistics):
    """Batch normalization of layer k over the paths (the last axis; Ioffe & Szegedy 2015): each
    feature less its mean, over its standard deviation (variance + 1e-6, as Han, Jentzen & E
    2018), times gamma plus beta; the batch's mean and variance, kept in `statistics`, or with
    `running` the running ones w['mean<k>'], w['var<k>'].  torch's own kernel, one operation in
    the backward pass, on z (1, features, paths): one sample of its features over the paths,
    each feature's values side by side, the layout the network keeps from input to output."""
    if running:
        return torch.batch_norm(z, w[f"gamma{k}"], w[f"beta{k}"], w[f"mean{k}"], w[f"var{k}"], False, 0.0, 1e-6, False)
    out, mean, inverse_std = torch.native_batch_norm(z, w[f"gamma{k}"], w[f"beta{k}"], None, None, True, 0.0, 1e-6)
    statistics[f"mean{k}"], statistics[f"inverse_std{k}"] = mean, inverse_std   # 1 / sqrt(var + 1e-6)
    return out
''',
    "step_weights": '''
def step_weights(p, net):
    """The weights of network `net` step by step, [{'W1': ..., 'b1': ...}, ...]: each stack
    (axis 0 is the step) unbound once, since a stack indexed in every step would add a zero
    stack of its size to the backward pass each time."""
    prefix = net + "."
    stacks = {key[len(prefix):]: value.unbind(0) for key, value in p.items() if key.startswith(prefix)}
    return [dict(zip(stacks, step)) for step in zip(*stacks.values())]
''',
    "normalized_step_weights": '''
def normalized_step_weights(p, net, running):
    """The weights of batch-normalized network `net` step by step, as step_weights, in the
    shapes its layout (1, features, paths) takes, each stack reshaped once rather than in every
    call: W (1, out, in) for torch.bmm, gamma, beta, mean, var (features,) for the kernel; the
    running means and variances only where `running` (training normalizes with the batch's)."""
    prefix = net + "."
    stacks = {}
    for key, value in p.items():
        name = key[len(prefix):]
        if not key.startswith(prefix) or name.rstrip("0123456789") in ("mean", "var") and not running:
            continue
        stacks[name] = (value[:, None] if name.startswith("W") else value.flatten(1)).unbind(0)
    return [dict(zip(stacks, step)) for step in zip(*stacks.values())]
''',
    "stacked_statistics": '''
def stacked_statistics(net, steps):
    """the statistics of network `net` at each step (a list, one dict a step), stacked on
    axis 0 as columns, named as its running statistics ('Z.mean0', 'Z.var0', ...): the batch
    variances (biased) from the kernel's 1 / sqrt(var + 1e-6), one stack at a time."""
    stacked = {}
    for key in steps[0] if steps else {}:
        column = torch.stack([step[key] for step in steps])[..., None]
        if key.startswith("inverse_std"):
            key, column = "var" + key[len("inverse_std"):], column.pow(-2) - 1e-6
        stacked[f"{net}.{key}"] = column
    return stacked
''',
    "on_paths": '''
def on_paths(value, like):
    """`value` (a learned start: a number or a column) on every path of `like` (the paths on
    its last axis)."""
    column = torch.reshape(value, (-1, 1))
    return column.expand(column.shape[0], like.shape[-1])
''',
    "along": '''
def along(W, v):
    """W times each direction of v, (features, directions, samples): one product over the features."""
    return torch.tensordot(W, v, dims=1)
''',
    "identity_directions": '''
def identity_directions(n, like):
    """The n unit vectors of R^n as directions, (n, n, 1): forward mode along them gives a
    network's Jacobian, (outputs, inputs, samples) (broadcast over the samples)."""
    return torch.eye(n, dtype=like.dtype, device=like.device)[:, :, None]
''',
    "time_row": '''
def time_row(t, like):
    """The time t (a number, or a solver's tensor) as a row, one entry per sample (column) of
    `like`: a network's input t."""
    return torch.ones_like(like[:1]) * t
''',
    "squared_norm": '''
def squared_norm(v):
    """|v|^2 of each sample (column): the squares of its entries summed, a row."""
    return torch.sum(v**2, dim=0, keepdim=True)
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
