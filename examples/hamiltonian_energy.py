"""Energy drift: Verlet against RK4 on a learned Hamiltonian (seed 003, "high order vs symplectic").

1. Compile specs/ode/hamiltonian_energy.sciml (dq/dt = v, dv/dt = -grad V(q), V an MLP,
   Verlet) for torch and fit V to pieces of harmonic-oscillator trajectories, as the spec says.
2. Compile the same spec with `scheme rk4(steps, T)` in place of Verlet.
3. With the trained V, run each emitted `solve` again and again from (q, v) = (1, 0), for a
   long time at a coarse step h, and track the energy E = v^2 / 2 + V(q) of the learned system.

Verlet is symplectic: its energy error oscillates but stays bounded (of order h^2).  RK4 is
more accurate per step but not symplectic: its energy error grows steadily, and over long runs
it overtakes Verlet's.

    python examples/hamiltonian_energy.py [--time 20000] [--steps 4]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from sciml.modules import compile_and_import  # noqa: E402

SPEC = ROOT / "specs" / "ode" / "hamiltonian_energy.sciml"


def load(source: str, scheme: str, steps: int, folder: Path):
    """The spec compiled with `scheme` and `steps` steps per unit of time."""
    source = source.replace("scheme  verlet(steps, T)", f"scheme  {scheme}(steps, T)")
    source = source.replace("steps = 8", f"steps = {steps}")
    return compile_and_import(SPEC, "torch", folder, source, name=f"hamiltonian_energy_{scheme}_{steps}")


def energy_errors(module, p, calls: int) -> np.ndarray:
    """|E(t_k) - E(0)| after each of `calls` calls of the emitted solve (T = 1 each)."""
    q = torch.ones(1, 1, dtype=torch.float64)  # E(0) = V(1): the orbit of amplitude 1
    v = torch.zeros(1, 1, dtype=torch.float64)

    def energy(q, v):
        return float(0.5 * v[0, 0] ** 2 + module.V(p, q)[0, 0])

    start, errors = energy(q, v), []
    with torch.no_grad():
        for _ in range(calls):
            q_path, v_path = module.solve(p, q, v)  # the states at the spec's observation times
            q, v = q_path[-1], v_path[-1]
            errors.append(abs(energy(q, v) - start))
    return np.array(errors)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time", type=int, default=20000, help="length of the long run")
    parser.add_argument("--steps", type=int, default=4, help="steps per unit of time in the long run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    source = SPEC.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        trainer = load(source, "verlet", 8, Path(tmp))
        verlet = load(source, "verlet", args.steps, Path(tmp))
        rk4 = load(source, "rk4", args.steps, Path(tmp))
        params, final_loss = trainer.train(trainer.init_params(args.seed), trainer.make_data(),
                                           seed=args.seed, log_every=0)
        p = {name: torch.tensor(value) for name, value in params.items()}
        result = {"train_steps": sum(stage[2] for stage in trainer.STAGES), "final_loss": final_loss,
                  "h": 1 / args.steps, "time": args.time}
        for name, module in (("verlet", verlet), ("rk4", rk4)):
            errors = energy_errors(module, p, args.time)
            tenth = max(1, args.time // 10)
            result[name] = {"max_error_first_10pct": float(errors[:tenth].max()),
                            "max_error_last_10pct": float(errors[-tenth:].max()),
                            "error_at_end": float(errors[-1])}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
