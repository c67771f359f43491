"""Which zoo specs generate code today; the rest must fail with a clean E901."""
from helpers import SPECS

WORKING = ["antisym", "classifier", "hamiltonian", "hamiltonian_energy", "hamiltonian_recompute", "imex",
           "loss_landscape", "node_fit", "node_fit_adjoint", "parabolic", "resnet", "second_order"]
WORKING_SPECS = [SPECS / "ode" / f"{name}.sciml" for name in WORKING]
