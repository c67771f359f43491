"""Which zoo specs generate code today; the rest must fail with a clean E901."""
from helpers import SPECS

WORKING_PATHS = ["ode/antisym", "ode/classifier", "ode/hamiltonian", "ode/hamiltonian_energy",
                 "ode/hamiltonian_recompute", "ode/imex", "ode/loss_landscape", "ode/node_fit",
                 "ode/node_fit_adjoint", "ode/parabolic", "ode/resnet", "ode/second_order",
                 "likelihood/flow", "likelihood/flow_nice", "likelihood/cnf", "likelihood/cnf_checkerboard",
                 "likelihood/cnf_adjoint", "likelihood/vae", "likelihood/vae_bernoulli",
                 "likelihood/latent_node", "likelihood/bayes_nn", "likelihood/bayes_ensemble",
                 "pde/heat_neural_source", "pde/heat2d_neural_source",
                 "pde/reaction_diffusion", "sde/gbm", "sde/neural_sde", "sde/ou_diagonal", "sde/deep_bsde",
                 "sde/deep_bsde_allen_cahn", "sde/deep_bsde_default_risk", "sde/deep_bsde_quadratic_gradient",
                 "sde/deep_bsde_reaction_diffusion",
                 "sde/score_diffusion",
                 "sde/score_diffusion_vp"]
WORKING = [path.split("/")[1] for path in WORKING_PATHS]
WORKING_SPECS = [SPECS / f"{path}.sciml" for path in WORKING_PATHS]
# Collocation models (PINNs, Deep Ritz) compile too: goldens and the agreement test (with the
# points of draw_batch) cover PINN_SPECS; tests/test_pinn.py trains them.
COMPILING = WORKING + ["burgers_pinn", "poisson_ritz", "heat_neural_source_pinn",
                         "poisson_pinn_hard"]
PINN_SPECS = [SPECS / "pde" / "burgers_pinn.sciml", SPECS / "pde" / "poisson_ritz.sciml",
              SPECS / "pde" / "heat_neural_source_pinn.sciml", SPECS / "pde" / "poisson_pinn_hard.sciml"]
