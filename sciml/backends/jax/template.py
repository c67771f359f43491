"""Text of the JAX module that does not depend on the spec, but for the training runtime, which is
the package sciml/runtime/ (mirror: ../torch/template.py)."""
from sciml.backends.common.grid_pieces import GRID_STENCILS, eigenbases_solver


IMPORTS = ["import sys", "", "import numpy as np", "import jax", "import jax.numpy as jnp", "",  # the model's
           'jax.config.update("jax_enable_x64", True)  # float64 on request, as in the torch module']
ADAPTIVE_IMPORT = "import diffrax"

AS_CONST = "jnp.asarray({value}, dtype={like}.dtype)"
EYE = "jnp.eye({n}, dtype={like}.dtype)"
STACK = "jnp.stack({})"
CONCAT = "jnp.concatenate([{}], axis=0)"
LINEAR_SOLVE = "jnp.linalg.solve({}, {})"
FACTOR = "jax.scipy.linalg.lu_factor({})"
FACTORED_SOLVE = "jax.scipy.linalg.lu_solve({}, {})"
DEFAULT_LIKE = "jnp.zeros((), dtype=jnp.float64)"

# IMEX on a grid (sciml/backends/common/grid_solve_code.py): shift I - scale T solved without T's
# matrix: by FFT (periodic ends), by LAPACK's tridiagonal solve (Dirichlet / Neumann ends)
DENSE_GRID_SOLVE_UP_TO = {}   # never: the FFT and gtsv cost no more than a matrix product at 64 unknowns
GRID_SOLVERS = {
    "flip": "jnp.flip({}, 0)",
    "fft": '''
def {factors}(shift, scale, like):
    """The eigenvalues of shift I - scale {matrix} at the rfft frequencies k = 0 .. {n} // 2, a
    column: {matrix} is circulant ({ends}), its eigenvalues -4 / dx^2 sin^2(pi k / {n})."""
    k = jnp.arange({half}, dtype=like.dtype)[:, None]
    return shift + scale * (4 / {dx}**2) * jnp.sin(np.pi / {n} * k) ** 2


def {solve}(factors, rhs):
    """x with (shift I - scale {matrix}) x = rhs by FFT along the nodes: rhs's rfft divided by the
    eigenvalues from {factors}, transformed back."""
    return jnp.fft.irfft(jnp.fft.rfft(rhs, axis=0) / factors, n={n}, axis=0)
''',
    "tridiagonal": '''
def {factors}(shift, scale, like):
    """The diagonals (below, on, above) of shift I - scale {matrix}: {matrix} is tridiagonal ({ends})."""
    below = jnp.asarray(np.append(0.0, np.diag({matrix}, -1)), dtype=like.dtype)
    above = jnp.asarray(np.append(np.diag({matrix}, 1), 0.0), dtype=like.dtype)
    on = jnp.asarray(np.diag({matrix}), dtype=like.dtype)
    return -scale * below, shift - scale * on, -scale * above


def {solve}(factors, rhs):
    """x with (shift I - scale {matrix}) x = rhs, the diagonals from {factors}: a tridiagonal solve
    (LAPACK's gtsv on CPU), differentiable in them."""
    return jax.lax.linalg.tridiagonal_solve(*factors, rhs)
''',
    "eigenbases": eigenbases_solver("jnp.asarray", "jnp.einsum", ""),
}

# the library's adaptive solve; {times} and {trim}: at the data times (with 0 first), or at 0 and T
ADAPTIVE_TIMES = {True: ("OBSERVED_TIMES if OBSERVED_TIMES[0] == 0 else (0.0,) + OBSERVED_TIMES",
                         "solution.ys if OBSERVED_TIMES[0] == 0 else {trimmed_ys}"),
                  False: ("(0.0, T_END)", "solution.ys")}
ADAPTIVE = '''
    times = jnp.asarray({times}, dtype={y}.dtype)
    solution = diffrax.diffeqsolve(diffrax.ODETerm(lambda t, {state}, p: {call}), diffrax.{method}(), t0=0.0,
                                   t1=T_END, dt0=None, y0={start}, args=p, saveat=diffrax.SaveAt(ts=times),
                                   stepsize_controller=diffrax.PIDController(rtol={rtol}, atol={atol}),
                                   adjoint={odeint}, max_steps=100000)
    {solved} = {trim}
    return {results}
'''
# a continuous normalizing flow's sampler: the ode of its flow state from T_END back to 0 (cnf_code.py)
ADAPTIVE_INVERSE = '''
    solution = diffrax.diffeqsolve(diffrax.ODETerm(lambda t, {y}, p: {call}), diffrax.{method}(), t0=T_END,
                                   t1=0.0, dt0=None, y0={y}, args=p,
                                   stepsize_controller=diffrax.PIDController(rtol={rtol}, atol={atol}),
                                   max_steps=100000)
    return solution.ys[-1]
'''
# the continuous adjoint (diffrax.BacksolveAdjoint), or backpropagation through the solver's steps
ADAPTIVE_ADJOINT = {True: ("diffrax.BacksolveAdjoint()", ""), False: ("diffrax.RecursiveCheckpointAdjoint()", "")}

REVERSIBLE = '''
@jax.custom_vjp
def reversible_solve(p, {y}, {z}):
    """A reversible scheme without stored activations (memory = recompute): see reversible_backward."""
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
{start}    {y}, {z} = reversible_solve(p, {y}, {z})
    return {results}
'''

PIECES = {
    **GRID_STENCILS,
    "value_range": '''
def value_range(v):
    """101 values from the least to the largest of v, as a column (values, 1)."""
    return jnp.linspace(jnp.min(v), jnp.max(v), 101, dtype=v.dtype)[:, None]
''',
    "at_nodes": '''
def at_nodes(net, p, *values):
    """The network at every grid node and sample: the values (nodes, samples), broadcast
    together, go in as one row of points and come back in their shape."""
    values = jnp.broadcast_arrays(*values)
    return net(p, *(v.reshape(1, -1) for v in values)).reshape(values[0].shape)
''',
    "at_observed_steps": '''
def at_observed_steps(leading, steps):
    """The states at OBSERVED_STEPS: `leading` are the states before the loop (the start, and
    the first step where the scheme takes it in its setup), `steps` the state after each later
    step (axis 0)."""
    return jnp.concatenate([state[None] for state in leading] + [steps])[np.asarray(OBSERVED_STEPS)]
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
    """Mean over samples of -log softmax(logits)[label]; logits are (classes, samples), or
    (draws, classes, samples) of an ensemble: then the mean over its draws too."""
    log_p = jax.nn.log_softmax(logits, axis=-2)
    index = jnp.broadcast_to(labels, log_p.shape[:-2] + (1,) + labels.shape)
    return -jnp.mean(jnp.take_along_axis(log_p, index, axis=-2))
''',
    "accuracy": '''
def accuracy(logits, labels):
    """Fraction of samples whose largest logit is the label."""
    return jnp.mean((jnp.argmax(logits, axis=-2) == labels).astype(logits.dtype))
''',
    "ensemble_cross_entropy": '''
def ensemble_cross_entropy(logits, labels):
    """Mean over samples of -log of the ensemble's probability of the label: the softmax of
    logits (draws, classes, samples) averaged over the draws, log (1/D) sum_d p_d taken by
    log-sum-exp of the log-probabilities."""
    log_p = jax.nn.logsumexp(jax.nn.log_softmax(logits, axis=-2), axis=0) - float(np.log(logits.shape[0]))
    return -jnp.mean(jnp.take_along_axis(log_p, labels[None, :], axis=0))
''',
    "mean_over_draws": '''
def mean_over_draws(values):
    """The mean over the draws of a Bayesian network or ensemble (the first axis)."""
    return jnp.mean(values, axis=0)
''',
    "std_over_draws": '''
def std_over_draws(values):
    """The standard deviation over the draws (the first axis), 1/(N - 1) normalized as the
    covariance; the square root of at least the smallest normal number (gradient 0 at 0)."""
    variance = jnp.sum((values - jnp.mean(values, axis=0)) ** 2, axis=0) / (values.shape[0] - 1)
    return jnp.sqrt(jnp.maximum(variance, jnp.finfo(values.dtype).tiny))
''',
    "covariance_over_draws": '''
def covariance_over_draws(values):
    """The covariance over the draws (the first axis) of values (draws, features, samples):
    1/(N - 1) sum_d (v_d - mean)(v_d - mean)^T for each sample, (features, features, samples)."""
    centred = values - jnp.mean(values, axis=0)
    return jnp.einsum("di...,dj...->ij...", centred, centred) / (values.shape[0] - 1)
''',
    "posterior_draw": '''
def posterior_draw(mean, rho, eps):
    """A weight of each posterior draw, mean + softplus(rho) * eps: eps (draws, entries) shaped
    (draws,) + the weight's shape."""
    return mean + jax.nn.softplus(rho) * eps.reshape((-1,) + tuple(mean.shape))
''',
    "mean_over": '''
def mean_over(values):
    """The mean over the samples or paths (the last axis), kept as an axis of length 1."""
    return jnp.mean(values, axis=-1, keepdims=True)
''',
    "std_over": '''
def std_over(values):
    """The standard deviation over the samples or paths (the last axis; divided by their
    count), kept as an axis of length 1.  The square root is taken of at least the smallest
    normal number, so a spread of 0 (every path at one start) has gradient 0, not NaN."""
    variance = jnp.mean((values - jnp.mean(values, axis=-1, keepdims=True)) ** 2, axis=-1, keepdims=True)
    return jnp.sqrt(jnp.maximum(variance, jnp.finfo(values.dtype).tiny))
''',
    "batch_norm": '''
def batch_norm(z, w, k, running, statistics):
    """Batch normalization of layer k over the paths (the last axis; Ioffe & Szegedy 2015): each
    feature less its mean, over its standard deviation (variance + 1e-6, as Han, Jentzen & E
    2018), times gamma plus beta; the batch's mean and variance, kept in `statistics`, or with
    `running` the running ones w['mean<k>'], w['var<k>']."""
    if running:
        mean, variance = w[f"mean{k}"], w[f"var{k}"]
    else:
        mean = jnp.mean(z, axis=-1, keepdims=True)
        variance = jnp.mean((z - mean) ** 2, axis=-1, keepdims=True)
        statistics[f"mean{k}"], statistics[f"var{k}"] = mean, variance
    return (z - mean) / jnp.sqrt(variance + 1e-6) * w[f"gamma{k}"] + w[f"beta{k}"]
''',
    "step_weights": '''
def step_weights(p, net):
    """The weights of network `net`, {'W1': ..., 'beta0': ...}, stacked on axis 0 (the step):
    the scan takes one step's at a time."""
    prefix = net + "."
    return {key[len(prefix):]: value for key, value in p.items() if key.startswith(prefix)}
''',
    "normalized_step_weights": '''
def normalized_step_weights(p, net, running):
    """The weights of batch-normalized network `net`, as step_weights: the stacks, which the scan
    takes one step's at a time; the running means and variances only where `running`."""
    prefix = net + "."
    return {key[len(prefix):]: value for key, value in p.items() if key.startswith(prefix)
            and (running or key[len(prefix):].rstrip("0123456789") not in ("mean", "var"))}
''',
    "stacked_statistics": '''
def stacked_statistics(net, steps):
    """the statistics of network `net` at each step (the scan stacked them on axis 0), named as its running statistics ('Z.mean0', ...)."""
    return {f"{net}.{key}": value for key, value in steps.items()}
''',
    "on_paths": '''
def on_paths(value, like):
    """`value` (a learned start: a number or a column) on every path of `like` (the paths on
    its last axis)."""
    column = jnp.reshape(value, (-1, 1))
    return jnp.broadcast_to(column, (column.shape[0], like.shape[-1]))
''',
    "along": '''
def along(W, v):
    """W times each direction of v, (features, directions, samples): one product over the features."""
    return jnp.tensordot(W, v, axes=1)
''',
    "identity_directions": '''
def identity_directions(n, like):
    """The n unit vectors of R^n as directions, (n, n, 1): forward mode along them gives a
    network's Jacobian, (outputs, inputs, samples) (broadcast over the samples)."""
    return jnp.eye(n, dtype=like.dtype)[:, :, None]
''',
    "time_row": '''
def time_row(t, like):
    """The time t (a number, or a solver's array) as a row, one entry per sample (column) of
    `like`: a network's input t."""
    return jnp.full_like(like[:1], t)
''',
    "squared_norm": '''
def squared_norm(v):
    """|v|^2 of each sample (column): the squares of its entries summed, a row."""
    return jnp.sum(v**2, axis=0, keepdims=True)
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
