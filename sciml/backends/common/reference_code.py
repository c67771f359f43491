"""The library's reference solutions, as numpy text for an emitted module: a report
`rel_l2(u, exact = burgers_cole_hopf(nu))` compares the trained field with them.

burgers_cole_hopf(nu, x, t): the exact solution of u_t + u u_x = nu u_xx on x in [-1, 1] with
u(x, 0) = -sin(pi x) and u(+-1, t) = 0 (Raissi, Perdikaris & Karniadakis 2019), by the Cole-Hopf
transform: u = -2 nu (log phi)_x with phi the heat equation's solution from
phi(x, 0) = exp(-cos(pi x) / (2 pi nu)), so that, with eta = sqrt(4 nu t) z,

    u(x, t) = - sum_i w_i sin(pi (x - c z_i)) f(x - c z_i) / sum_i w_i f(x - c z_i),
    f(y) = exp(-cos(pi y) / (2 pi nu)),  c = sqrt(4 nu t),

a Gauss-Hermite quadrature with nodes z_i and weights w_i (200 nodes: the paper's data to about
1e-12).  The exponents are shifted by their largest value before exp, so nu = 0.01/pi (exponents
up to 50) and smaller stay finite.
"""
from __future__ import annotations

REFERENCES = {
    "burgers_cole_hopf": '''
def burgers_cole_hopf(nu, x, t, nodes=200):
    """The exact Burgers solution from u(x, 0) = -sin(pi x), by Gauss-Hermite quadrature of the
    Cole-Hopf integral; x and t broadcast against each other."""
    z, w = np.polynomial.hermite.hermgauss(nodes)
    x, t = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(t, dtype=float))
    y = x[..., None] - np.sqrt(4 * nu * t)[..., None] * z
    exponent = -np.cos(np.pi * y) / (2 * np.pi * nu)
    f = w * np.exp(exponent - exponent.max(axis=-1, keepdims=True))
    return -np.sum(np.sin(np.pi * y) * f, axis=-1) / np.sum(f, axis=-1)
''',
}


def reference_functions(names) -> list[str]:
    """The text of the reference solutions `names`, in a fixed order."""
    return [REFERENCES[name].strip("\n") for name in sorted(names)]
