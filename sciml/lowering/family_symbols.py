"""The sympy vocabulary of the families beyond the ODE: noise, fields and their derivatives,
reductions over a named sample axis, and the losses of PINNs, score matching, VAEs and
Bayesian networks.  Unevaluated functions like those of `symbols.py`: the maths stays a tree
that printers and the analysis walk.  Symbol arguments name things (a noise, a coordinate, an
axis, a network); they are never parsed from user text."""
from __future__ import annotations

import sympy

from sciml.lowering.symbols import ArrayOp

DT = sympy.Symbol("dt")          # the time step in an SDE: d(X) = f * dt + g * dW


class Increment(ArrayOp):
    """Increment(W): dW, the increment of the Brownian motion W over the current step; one
    draw per step, shared by every equation that names it."""

    nargs = 1


class Partial(ArrayOp):
    """Partial(u, x): the derivative of u in the coordinate x (nested for higher orders)."""

    nargs = 2


class Laplacian(ArrayOp):
    """Laplacian(u, x, y, ...): the sum of the second derivatives in the space coordinates."""


class Divergence(ArrayOp):
    """Divergence(v, x, y, ...): the sum of d v_i / d x_i over the space coordinates (in one
    dimension, of a scalar: d v / d x)."""


class Convolution(ArrayOp):
    """Convolution(kernel, u, x): the 3-tap kernel [k1, k2, k3] run along the grid axis x as a CNN
    runs it (cross-correlation): k1 u_{i-1} + k2 u_i + k3 u_{i+1} at each node i.  `kernel` is a
    vector of R[3] (a parameter, a constant or a written-out vector, possibly scaled)."""

    nargs = 3


class GridStencil(ArrayOp):
    """GridStencil(v, kind, dx): a finite difference on a grid (method_of_lines.py), v the
    values at the nodes with one end node added each side: kind second, (v[i-1] - 2 v[i] +
    v[i+1]) / dx^2, or central, (v[i+1] - v[i-1]) / (2 dx), at the unknown nodes.
    GridStencil(v, kind, dx, axis) on a 2-D grid: along axis 0 (x) or 1 (y), as a column."""

    nargs = (3, 4)


class GridConvolution(ArrayOp):
    """GridConvolution(kernel, v): Convolution on a grid (method_of_lines.py), v the values at
    the nodes with one end node added each side: kernel[1] v[i-1] + kernel[2] v[i] +
    kernel[3] v[i+1] at the unknown nodes; GridConvolution(kernel, v, axis) on a 2-D grid."""

    nargs = (2, 3)


class UpwindDivergence(ArrayOp):
    """UpwindDivergence(v, u, dx): d(v u)/dx by first-order upwind fluxes, v and u at the nodes
    with their ends (method_of_lines.py, advection = upwind); (v, u, dx, axis) on a 2-D grid."""

    nargs = (3, 4)


class UpwindDerivative(ArrayOp):
    """UpwindDerivative(a, u, dx): a d(u)/dx on a right side (u moves at -a), differenced from
    upwind: backward where a < 0, forward where a > 0; a at the unknown nodes, u with its ends;
    (a, u, dx, axis) on a 2-D grid."""

    nargs = (3, 4)


class NodeCall(ArrayOp):
    """NodeCall(net, *values): a network applied at every grid node (the nodes on axis 0)."""


class OnGrid(ArrayOp):
    """OnGrid(StateAt(u, times)): a grid state's values at every node of the grid (its end
    nodes included), at the observation times: (times, nodes)."""

    nargs = 1


class SpaceGradient(ArrayOp):
    """SpaceGradient(u, x, y, ...): the vector of the derivatives in the space coordinates."""


class NetDivergence(ArrayOp):
    """NetDivergence(F(...), z, estimator, probes, distribution): the trace of the Jacobian of the
    network call F(...) in its input z; estimator 'exact' (distribution 'none') or 'hutchinson'
    with `probes` random probes, 'rademacher' or 'normal'."""

    nargs = 5


class NetJacobian(ArrayOp):
    """NetJacobian(F(...), z): the Jacobian of the network call F(...) in its input z."""

    nargs = 2


class MeanOver(ArrayOp):
    """MeanOver(x, axis): the mean over one named sample axis."""

    nargs = 2


class StdOver(ArrayOp):
    """StdOver(x, axis): the standard deviation over one named sample axis (all, for axis 'all')."""

    nargs = 2


class CovarianceOver(ArrayOp):
    """CovarianceOver(x, axis): the covariance matrix over a named axis (1/(N-1) normalization)."""

    nargs = 2


class Trace(ArrayOp):
    nargs = 1


class ArgMax(ArrayOp):
    """The index of the largest entry over the sample axis."""

    nargs = 1


class Residual(ArrayOp):
    """The mean square of the PDE residual over the interior points."""

    nargs = 0


class ConditionFit(ArrayOp):
    """ConditionFit(section): the weighted mean squares of the initial or boundary conditions."""

    nargs = 1


class RitzEnergy(ArrayOp):
    """RitzEnergy(density): the integral of the energy density over the domain (Monte Carlo)."""

    nargs = 1


class ValueRange(ArrayOp):
    """ValueRange(data.field): 101 values from the least to the largest of a data field."""

    nargs = 1


class RelativeL2(ArrayOp):
    """RelativeL2(u, exact): |u - exact| / |exact| over the report grid of the domain: for a
    domain with t the paper's 256 x 100 grid (Raissi et al. 2019: x = linspace(lower, upper, 256),
    t = lower + (upper - lower) k / 100, k = 0..99); for a box without t, 101 points per
    coordinate, ends included.  RelativeL2(N, exact, data.field): on ValueRange(data.field), the
    exact form read at those values."""

    nargs = (2, 3)


class Reference(ArrayOp):
    """Reference(name, *arguments): a known solution of the library (burgers_cole_hopf(nu))."""


class ScoreMatching(ArrayOp):
    """ScoreMatching(s, x0, t_low, t_high, weight): denoising score matching of the score network
    s on the data x0, times drawn uniformly in [t_low, t_high], the transition kernel of the SDE,
    weighted by lambda(t): the symbol diffusion (g^2), variance (v(t)) or a number."""

    nargs = 5


class Elbo(ArrayOp):
    """Elbo(x, latent, decoder, mean, scale, prior_mean, prior_std, kl, samples): the evidence
    lower bound of x, decoder 'normal' (mean, scale) or 'bernoulli' (probabilities in mean), a
    normal prior; kl 'analytic' or 'monte_carlo', `samples` draws of the latent per sample."""

    nargs = 9


class ImportanceBound(ArrayOp):
    """ImportanceBound(x, K): the importance-weighted bound (Burda et al. 2016) of the model's
    elbo with K draws of the latent per sample, the mean over the samples of x."""

    nargs = 2


class KlToPrior(ArrayOp):
    """KlToPrior(F, mean, std): the KL divergence of network F's weight posterior to a normal prior."""

    nargs = 3


REFERENCE_SOLUTIONS = {"burgers_cole_hopf": 1}   # name: number of arguments
# the report grid of RelativeL2 (the emitted module's REFERENCE_GRID, `sciml latex` says it)
REPORT_SPACE_POINTS_WITH_TIME, REPORT_TIME_POINTS, REPORT_POINTS_PER_COORDINATE = 256, 100, 101


class SquaredNorm(ArrayOp):
    """SquaredNorm(v): |v|^2 of each sample (column), the entries' squares summed, a row."""

    nargs = 1
