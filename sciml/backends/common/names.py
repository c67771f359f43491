"""Map the names of a spec to safe Python identifiers.

A spec may name things `lambda`, `print`, `torch`, `self` or `α`; the emitted module must
neither break nor change meaning.  Every user name goes through `safe_names`, which keeps a
name that is already a plain, free identifier and otherwise derives a new one, deterministically.
"""
from __future__ import annotations

import builtins
import keyword
import re

from sciml.schemes import registry

# Names the emitted modules define or import themselves.
MODULE_NAMES = frozenset("""
argparse json sys time pathlib np torch jax jnp optax diffrax torchdiffeq
main train loss loss_and_grad evaluate_reports init_params make_data solve batch_of to_arrays
configure p batch data h j k1 k2 k3 k4 step rng value grads optimizer opt_state update args
N_STEPS T_END OBSERVED_STEPS DTYPE DEVICE params reports result eye matrix_of pad mse
softmax_cross_entropy accuracy smooth_in_time spirals two_moons simulate_ode ode_rhs
inverse_step initial_state sample stages evaluation_batch OPTIMIZERS MODEL BACKEND STAGES TRAIN_SET
SAMPLE_FIELDS OBSERVED_TIMES trajectory implicit times odeint extra x g a a1 a2 a3 a4
ReversibleSolve reversible_solve reversible_forward reversible_backward ctx names values inputs
outputs saved pullback grad_step grad_p grad_values total column like size count index fields
x1 x2 log_det gaussian_nll check_stability StabilityMonitor STABILITY_BOUNDS monitor load_npz load_csv
ode_data os csv DataError data_path data_values data_dir SPEC_FOLDER
carry weights at_observed_steps functools lr
Diverged diverged loss_terms STABILITY_FINDINGS OBSERVED_STATES
Runtime TorchRuntime JaxRuntime RuntimeCommandLine TrainingProgress CheckpointFiles TrainingPlots
TaylorLayer TaylorInputLayer
SPEC_SHA256 SCIML_VERSION dataclasses io math re
DOMAIN_BOX POINT_SETS POINTS_RESAMPLE draw_points points_in_box uniform_points latin_hypercube_points
sobol_points qmc draw_batch point_draw
coordinates reference_grid REFERENCE_GRID burgers_cole_hopf
ou_paths PATHS mean_over std_over batch_norm on_paths step_weights normalized_step_weights stacked_statistics running statistics
loss_and_statistics BATCH_NORM_MOMENTUM
eight_gaussians checkerboard time_row along identity_directions right_sides squared_norm DSM_DRAWS PRIOR_SCALE PRIOR_SHIFT PRIOR_VARIANCE prior drawn samples t_j dW_j start
""".split()) | frozenset(f"{name}_step" for name in registry.NAMES)   # the simulated data's steps


# Shapes of the names the emitted code derives from user names (k1_Y, Y_previous, Y_T, I2, ...):
# a user name of that shape is renamed so that no derived name can shadow it.
DERIVED = re.compile(r"^(k[1-4]_|dt_|d2?\w*_dt2?$)|_(previous|T|obs|path)$")


def _ascii_form(name: str) -> str:
    if name.isascii():
        return name
    return "".join(c if c.isascii() else f"u{ord(c):04x}" for c in name)


def safe_names(names, reserved=MODULE_NAMES) -> dict[str, str]:
    """{user name: identifier}; identifiers are distinct, ASCII, and clash with nothing."""
    taken = set(reserved)
    out = {}
    for name in names:
        candidate = _ascii_form(name)
        if (not candidate.isidentifier() or keyword.iskeyword(candidate) or keyword.issoftkeyword(candidate)
                or hasattr(builtins, candidate) or candidate.startswith("_") or candidate in taken
                or DERIVED.search(candidate)):
            candidate = candidate.lstrip("_") or "v"
            candidate = candidate + "_" if candidate[0].isalpha() else "v_" + candidate
        while candidate in taken or not candidate.isidentifier():
            candidate += "_"
        taken.add(candidate)
        out[name] = candidate
    return out


def unused_key(base: str, taken: set) -> str:
    """`base`, with underscores added until no name in `taken` has it (a batch entry beside the
    data fields: eps_z, t, weights_F)."""
    while base in taken:
        base += "_"
    return base
