"""The Burgers reference solution (Cole-Hopf by Gauss-Hermite quadrature) solves the PDE: its
initial values, its boundary values, its symmetry, the PDE residual by finite differences, and
the quadrature converged (issue 10, item 6: the reference of the Burgers result)."""
import numpy as np

from sciml.backends.common.reference_code import reference_functions

NAMESPACE = {"np": np}
exec("\n".join(reference_functions(["burgers_cole_hopf"])), NAMESPACE)
u = NAMESPACE["burgers_cole_hopf"]
NU = 0.01 / np.pi


def test_initial_and_boundary_values():
    x = np.linspace(-1, 1, 257)
    assert np.max(np.abs(u(NU, x, 0.0) + np.sin(np.pi * x))) < 1e-12
    t = np.linspace(0.01, 0.99, 50)
    assert np.max(np.abs(u(NU, -1.0, t))) < 1e-10 and np.max(np.abs(u(NU, 1.0, t))) < 1e-10


def test_odd_in_x():
    x, t = np.meshgrid(np.linspace(0.05, 0.95, 19), np.linspace(0.1, 0.9, 9))
    assert np.max(np.abs(u(NU, x, t) + u(NU, -x, t))) < 1e-10


def test_it_solves_burgers_equation():
    """Central differences of the exact solution, before the front steepens (t <= 0.2) and at
    x away from the shock: the residual is at the differences' own O(dx^2) error."""
    dx, dt = 1e-4, 1e-5
    x, t = np.meshgrid(np.linspace(-0.9, -0.2, 15), np.linspace(0.05, 0.2, 4))
    u_t = (u(NU, x, t + dt) - u(NU, x, t - dt)) / (2 * dt)
    u_x = (u(NU, x + dx, t) - u(NU, x - dx, t)) / (2 * dx)
    u_xx = (u(NU, x + dx, t) - 2 * u(NU, x, t) + u(NU, x - dx, t)) / dx**2
    residual = u_t + u(NU, x, t) * u_x - NU * u_xx
    assert np.max(np.abs(residual)) < 1e-4 * np.max(np.abs(u_t))


def test_the_quadrature_has_converged_on_the_papers_grid():
    x, t = np.meshgrid(np.linspace(-1, 1, 256), np.arange(100) * 0.01)
    assert np.max(np.abs(u(NU, x, t, nodes=200) - u(NU, x, t, nodes=350))) < 1e-10


def test_the_shock_forms_at_zero():
    """The paper's picture: by t = 0.5 the slope at x = 0 is steep (about -150 at nu = 0.01/pi)."""
    dx = 1e-5
    slope = (u(NU, dx, 0.5) - u(NU, -dx, 0.5)) / (2 * dx)
    assert slope < -100
