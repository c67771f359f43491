"""Classical RK4 for diffrax, which has none of its own (0.7): its Butcher tableau on diffrax's
explicit Runge-Kutta base, for fixed steps (no error estimate).  Used by benchmarks/run.py and
benchmarks/cnf_step.py."""
from __future__ import annotations

from typing import ClassVar


def diffrax_rk4():
    """The solver class (diffrax imported on first use)."""
    import diffrax
    import numpy as np

    class RK4(diffrax.AbstractERK):
        """Classical Runge-Kutta (no error estimate: for fixed steps only)."""
        tableau: ClassVar[diffrax.ButcherTableau] = diffrax.ButcherTableau(
            a_lower=(np.array([0.5]), np.array([0.0, 0.5]), np.array([0.0, 0.0, 1.0])),
            b_sol=np.array([1 / 6, 1 / 3, 1 / 3, 1 / 6]), b_error=np.zeros(4),
            c=np.array([0.5, 0.5, 1.0]))
        interpolation_cls: ClassVar = diffrax.ThirdOrderHermitePolynomialInterpolation.from_k

        def order(self, terms):
            return 4

    return RK4
