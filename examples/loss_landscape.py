"""The loss landscape of seed 003: a network with two parameters, drawn over the plane.

specs/ode/loss_landscape.sciml is the ResNet Y_{j+1} = Y_j + (10/N) tanh(K(theta) Y_j), N = 100,
with K(theta) the 3x3 matrix of seed 003, fitted to the states that theta = (1, 1) produces
(200 forward Euler steps of the true model).  This script compiles the spec for torch,
evaluates the emitted `loss` on a grid of (theta1, theta2), and writes the contour plot and
the grid values (.npz), then trains from (0.5, 0.5) and draws the optimizer's path.

    python examples/loss_landscape.py [--grid 61] [--out docs/figures]
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

SPEC = ROOT / "specs" / "ode" / "loss_landscape.sciml"


def landscape(module, axis):
    batch = module.to_arrays(module.evaluation_batch(module.make_data()), torch.float64, "cpu")
    values = np.empty((len(axis), len(axis)))
    with torch.no_grad():
        for row, theta2 in enumerate(axis):
            for col, theta1 in enumerate(axis):
                p = {"theta1": torch.tensor(theta1), "theta2": torch.tensor(theta2)}
                values[row, col] = float(module.loss(p, batch))
    return values


def optimizer_path(module, seed, stops):
    """(theta1, theta2, loss) after 0, stops[0], stops[1], ... training steps (the spec's Adam)."""
    data, params = module.make_data(), module.init_params(seed)
    path = [(float(params["theta1"]), float(params["theta2"]),
             module.loss_and_grad(params, module.evaluation_batch(data))[0])]
    done = 0
    for stop in stops:
        params, value = module.train(params, data, steps=stop - done, seed=seed, log_every=0)
        path.append((float(params["theta1"]), float(params["theta2"]), value))
        done = stop
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=61, help="points per axis on [-1, 3]")
    parser.add_argument("--out", default=str(ROOT / "docs" / "figures"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        module = compile_and_import(SPEC, "torch", tmp)
        axis = np.linspace(-1.0, 3.0, args.grid)
        values = landscape(module, axis)
        path = optimizer_path(module, args.seed, stops=[25, 50, 100, 200, 300])

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "loss_landscape.npz", theta=axis, loss=values, path=np.array(path))
    best = np.unravel_index(np.argmin(values), values.shape)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(5.5, 4.5))
    shown = ax.contourf(axis, axis, np.log10(values + 1e-12), levels=30, cmap="viridis")
    figure.colorbar(shown, label="log10 loss")
    ax.plot([1.0], [1.0], "r*", markersize=12, label="theta* = (1, 1), the data's parameters")
    trail = np.array(path)
    ax.plot(trail[:, 0], trail[:, 1], "w.-", label="Adam from (0.5, 0.5), 300 steps")
    ax.set_xlabel("theta1")
    ax.set_ylabel("theta2")
    ax.set_title("loss_landscape: 1/2 |Y_N(theta) - C|^2, N = 100")
    ax.legend(loc="lower left", fontsize=8)
    figure.tight_layout()
    figure.savefig(out / "loss_landscape.png", dpi=120)
    print(json.dumps({"grid": args.grid, "min_loss": float(values.min()),
                      "argmin": [float(axis[best[1]]), float(axis[best[0]])],
                      "loss_at_start": path[0][2], "after_300_steps": path[-1],
                      "figure": str(out / "loss_landscape.png")}, indent=2))


if __name__ == "__main__":
    main()
