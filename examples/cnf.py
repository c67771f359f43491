"""Continuous normalizing flows on FFJORD's 8 Gaussians and checkerboard: the held-out negative
log-likelihood against the data's entropy.

1. Compile specs/likelihood/cnf.sciml (8 Gaussians, the exact trace) and
   specs/likelihood/cnf_checkerboard.sciml (Hutchinson's estimate, one Rademacher probe) and train
   each as its spec says (RK4, 10 steps; Adam, batch 512; RNODE's kinetic and Jacobian terms).
2. The entropy of each data set by Monte Carlo of its known density (400,000 draws of the spec's
   generator): 8 Gaussians, the mixture's density (about 2.831 nats); the checkerboard, 1/32 on
   its squares (ln 32 = 3.4657).  Also the known density's -log p on the same 20,000 held-out
   points the model is scored on, so that the gap model - truth is measured pair by pair.
3. The model's held-out -log p (the spec's `report nll`; exact trace, or for the checkerboard the
   Hutchinson estimate of draw_batch(0, 0)), and again with RK4 on 100 steps and the exact trace
   (the same weights; the spec recompiled), which checks that 10 steps integrate the density
   truly (a coarse solve could score below the entropy).  Target: within 0.05 nats of the entropy.
4. A figure: the learned density exp(-nll) on a grid, and 2,000 samples of `sample(params, ...)`.

    python examples/cnf.py [--only gaussians|checkerboard] [--backend jax] [--seeds 0 1 2]
        [--steps N] [--threads 1] [--dtype float32] [--report-every 2000]
        [--figure docs/figures/cnf_gaussians.png] [--json results.json]

Training runs in --dtype (float32 by default: twice as fast as float64 on a CPU); the held-out
scores are computed in float64.  --report-every N prints the held-out nll every N steps (a
monitor, at N / 20 of a training step's cost or less).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from sciml.modules import compile_and_import  # noqa: E402
from sciml.runtime.command import RuntimeCommandLine  # noqa: E402

SPECS = {"gaussians": ROOT / "specs" / "likelihood" / "cnf.sciml",
         "checkerboard": ROOT / "specs" / "likelihood" / "cnf_checkerboard.sciml"}
TARGET = 0.05


def true_log_density(name: str, x: np.ndarray) -> np.ndarray:
    """log p(x) of the data generator's own law, at the columns of x."""
    if name == "gaussians":   # FFJORD's 8gaussians: centers 4 (+-1, 0), ..., std 0.5, all / 1.414
        c = 1 / np.sqrt(2)
        centers = 4.0 * np.array([[1, -1, 0, 0, c, c, -c, -c], [0, 0, 1, -1, c, -c, c, -c]]) / 1.414
        s2 = (0.5 / 1.414) ** 2
        squared = np.sum((x[:, :, None] - centers[:, None, :]) ** 2, axis=0)
        top = np.max(-squared / (2 * s2), axis=1)
        return top + np.log(np.mean(np.exp(-squared / (2 * s2) - top[:, None]), axis=1)) - np.log(2 * np.pi * s2)
    # checkerboard: 1/32 on the 8 dark squares of side 2 of [-4, 4]^2 (x1 + x2 cells of even parity)
    inside = np.all(np.abs(x) < 4, axis=0) & ((np.floor(x[0] / 2) + np.floor(x[1] / 2)) % 2 == 0)
    return np.where(inside, -np.log(32.0), -np.inf)


def fine_variant(spec: Path) -> str:
    """The spec's text with RK4 on 100 steps and the exact trace: the density integrated finely."""
    text = spec.read_text().replace("rk4(10, T)", "rk4(100, T)")
    return text.replace("trace = hutchinson(1)", "trace = exact")


class HeldOut:
    """A training monitor: the spec's held-out nll every `every` steps, printed and kept."""

    def __init__(self, module, data, every: int):
        self.module, self.data, self.every, self.seen = module, data, every, []
        self.started = time.perf_counter()

    def __call__(self, step, params):
        nll = self.module.reports(params, self.data)["nll"]
        seconds = time.perf_counter() - self.started
        self.seen.append((step, round(seconds, 1), nll))
        print(f"step {step:6d}  held-out nll {nll:.4f}  ({seconds:.0f} s)", file=sys.stderr, flush=True)


def run(name: str, spec: Path, seed: int, args) -> dict:
    folder = tempfile.mkdtemp(prefix="sciml-cnf-")
    module = compile_and_import(spec, args.backend, folder)
    if args.threads:
        module._runtime.set_threads(args.threads)
    data = module.make_data()
    every = getattr(args, "report_every", 0)
    watch = HeldOut(module, data, every) if every else None
    started = time.perf_counter()
    params, final = module.train(module.init_params(seed), data, steps=args.steps, seed=seed, log_every=1000,
                                 dtype=module._runtime.DTYPES[getattr(args, "dtype", "float32")], monitor=watch)
    seconds = time.perf_counter() - started
    nll = module.reports(params, data)["nll"]
    fine = compile_and_import(spec, args.backend, folder, source=fine_variant(spec), name=f"{spec.stem}_fine")
    nll_fine = fine.reports(params, fine.make_data())["nll"]
    test = data["test"]["x"]
    truth_on_test = float(-np.mean(true_log_density(name, test)))
    generator = getattr(module, "eight_gaussians" if name == "gaussians" else "checkerboard")
    options = {"noise": 0.5} if name == "gaussians" else {}
    draws = generator(samples=400_000, seed=12345, **options)["x"]
    log_p = true_log_density(name, draws)
    entropy, entropy_error = float(-np.mean(log_p)), float(np.std(log_p) / np.sqrt(log_p.size))
    samples = module.sample(params, 2000, seed=seed + 1)
    return {"data": name, "spec": spec.name, "backend": args.backend, "seed": seed,
            "steps": args.steps or sum(s[2] for s in module.STAGES), "dtype": getattr(args, "dtype", "float32"),
            "train_seconds": round(seconds, 1), "held_out_every": watch.seen if watch else [],
            "final_loss": final, "test_nll": nll, "test_nll_rk4_100_exact": nll_fine,
            "entropy_mc": entropy, "entropy_mc_error": entropy_error, "true_nll_on_test": truth_on_test,
            "gap_to_entropy": nll - entropy, "gap_to_truth_on_test": nll - truth_on_test,
            "within_target": bool(abs(nll - entropy) <= TARGET and abs(nll_fine - entropy) <= TARGET),
            "_samples": samples, "_params": params, "_module": fine}


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=tuple(SPECS), default=None)
    parser.add_argument("--backend", choices=("torch", "jax"), default="jax")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the spec's)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: the backend's default)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                        help="training precision (the held-out scores are in float64)")
    parser.add_argument("--report-every", type=int, default=0, help="print the held-out nll every N steps")
    parser.add_argument("--figure", default=None, help="write the densities and samples here")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    RuntimeCommandLine.keep_freed_memory()   # as the emitted command line does (JAX's page faults)
    runs = [run(name, spec, seed, args) for name, spec in SPECS.items() if args.only in (None, name)
            for seed in args.seeds]
    results = [{k: v for k, v in r.items() if not k.startswith("_")} for r in runs]
    print(f"{'data':13s} {'seed':>4s} {'nll':>8s} {'nll fine':>8s} {'entropy':>8s} {'gap':>7s} {'time s':>7s}")
    for r in results:
        print(f"{r['data']:13s} {r['seed']:4d} {r['test_nll']:8.4f} {r['test_nll_rk4_100_exact']:8.4f} "
              f"{r['entropy_mc']:8.4f} {r['gap_to_entropy']:+7.4f} {r['train_seconds']:7.0f}")
    print(json.dumps(results, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    if args.figure:
        _plot(args.figure, [r for r in runs if r["seed"] == args.seeds[0]])
    return results


def _plot(path, runs):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(runs), 2, figsize=(6.4, 3.2 * len(runs)), squeeze=False)
    edge = np.linspace(-4.5, 4.5, 181)
    grid = np.stack(np.meshgrid(edge, edge)).reshape(2, -1)
    for row, r in zip(axes, runs):
        module = r["_module"]   # the fine variant: RK4 on 100 steps, the exact trace
        runtime = module._runtime
        p, device = runtime.place_params(r["_params"], runtime.DTYPES["float64"], "cpu")
        batch = runtime.to_arrays({"x": grid, "label": np.zeros(grid.shape[1], dtype=np.int64)},
                                  runtime.DTYPES["float64"], device)
        terms = module.loss_terms(p, batch)
        z_T, l_T = (_numpy(terms[key]) for key in ("z(t = 1)", "l(t = 1)"))
        density = np.exp(-0.5 * np.sum(z_T**2, axis=0) - np.log(2 * np.pi) - l_T[0]).reshape(edge.size, edge.size)
        row[0].imshow(density, extent=(edge[0], edge[-1], edge[0], edge[-1]), origin="lower", cmap="magma")
        row[0].set_title(f"{r['data']}: learned density (test nll {r['test_nll']:.3f})", fontsize=9)
        row[1].scatter(*r["_samples"], s=1.0, color="tab:blue")
        row[1].set_xlim(edge[0], edge[-1])
        row[1].set_ylim(edge[0], edge[-1])
        row[1].set_aspect("equal")
        row[1].set_title(f"2,000 samples (entropy {r['entropy_mc']:.3f})", fontsize=9)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def _numpy(value):
    return value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)


if __name__ == "__main__":
    main()
