"""Score-based diffusion on two moons (VE) and on eight Gaussians (VP): denoising score matching,
then sampling by the derived reverse-time SDE and by the probability-flow ODE.

1. Compile specs/sde/score_diffusion.sciml (VE, two moons) and specs/sde/score_diffusion_vp.sciml
   (VP, eight Gaussians) and train each as its spec says (Adam, batch 512).
2. Draw 2,000 samples with the emitted `sample(params, count, seed, method)`: the reverse SDE
   (Euler-Maruyama, method = 'sde') and the probability-flow ODE (RK4 backwards, method = 'ode').
3. The energy distance (2 E|A - B| - E|A - A'| - E|B - B'|, 0 iff the laws agree; V-statistics)
   of the samples to 2,000 held-out points (the spec's generator with another seed), beside the
   floor (2,000 more data points against the same held-out ones) and a Gaussian fitted to the
   training set (2,000 of its samples).  Targets: below the Gaussian, within 3x the floor.

    python examples/score_diffusion.py [--steps N] [--backend jax] [--threads 1]
        [--figure docs/figures/score_diffusion.png] [--json results.json]
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

SPECS = {"two moons (VE)": ROOT / "specs" / "sde" / "score_diffusion.sciml",
         "8 Gaussians (VP)": ROOT / "specs" / "sde" / "score_diffusion_vp.sciml"}
COUNT = 2000


def energy_distance(a: np.ndarray, b: np.ndarray) -> float:
    """2 E|A - B| - E|A - A'| - E|B - B'| for samples in columns (V-statistics)."""
    def mean_distance(x, y):
        total = 0.0
        for start in range(0, x.shape[1], 500):   # 500 x 2000 distances at a time
            block = x[:, start:start + 500]
            total += np.sum(np.sqrt(np.sum((block[:, :, None] - y[:, None, :]) ** 2, axis=0)))
        return total / (x.shape[1] * y.shape[1])
    return 2 * mean_distance(a, b) - mean_distance(a, a) - mean_distance(b, b)


def generate(module, generator, samples, seed):
    """`samples` points of the spec's data generator (the module's function of that name) with
    another seed."""
    options = {k: v for k, v in generator["options"].items() if k not in ("samples", "seed")}
    return getattr(module, generator["name"])(samples=samples, seed=seed, **options)["x"]


def run(label, spec, args) -> dict:
    module = compile_and_import(spec, args.backend, tempfile.mkdtemp(prefix="sciml-score-"))
    if args.threads:
        module._runtime.set_threads(args.threads)
    data = module.make_data()
    started = time.perf_counter()
    losses = []
    params, final = module.train(module.init_params(args.seed), data, steps=args.steps, seed=args.seed,
                                 log_every=1000, losses=losses)
    seconds = time.perf_counter() - started
    generator = _generator(spec)
    held_out = generate(module, generator, COUNT, seed=1000)
    more_data = generate(module, generator, COUNT, seed=2000)
    train = data["train"]["x"]
    mean, cov = train.mean(axis=1, keepdims=True), np.cov(train)
    gaussian = mean + np.linalg.cholesky(cov) @ np.random.default_rng(args.seed + 7).standard_normal((2, COUNT))
    started = time.perf_counter()
    sde = module.sample(params, COUNT, seed=args.seed + 1, method="sde")
    ode = module.sample(params, COUNT, seed=args.seed + 1, method="ode")
    sampling = time.perf_counter() - started
    result = {"dataset": label, "spec": spec.name, "backend": args.backend,
              "steps": args.steps or sum(s[2] for s in module.STAGES), "train_seconds": round(seconds, 1),
              "sampling_seconds": round(sampling, 1), "final_loss": final,
              "loss_last_500_mean": float(np.mean(losses[-500:])),
              "energy_sde": energy_distance(sde, held_out), "energy_ode": energy_distance(ode, held_out),
              "energy_floor": energy_distance(more_data, held_out),
              "energy_gaussian": energy_distance(gaussian, held_out)}
    result["sde_below_gaussian"] = bool(result["energy_sde"] < result["energy_gaussian"])
    result["sde_within_3x_floor"] = bool(result["energy_sde"] <= 3 * result["energy_floor"])
    return {"result": result, "held_out": held_out, "sde": sde, "ode": ode}


def _generator(spec) -> dict:
    """The data line's generator and options, read from the compiled IR."""
    from sciml.pipeline import front_end
    _, model, _ = front_end(spec.read_text(), str(spec))
    dataset = model.dataset(model.training_set)
    return {"name": dataset.generator, "options": dict(dataset.options)}


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the spec's)")
    parser.add_argument("--backend", choices=("torch", "jax"), default="jax")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: the backend's default)")
    parser.add_argument("--only", choices=tuple(SPECS), default=None, help="one data set only")
    parser.add_argument("--figure", default=None, help="write the samples' scatter plots here")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    runs = [run(label, spec, args) for label, spec in SPECS.items() if args.only in (None, label)]
    results = [r["result"] for r in runs]
    print(f"{'data':18s} {'sde':>9s} {'ode':>9s} {'floor':>9s} {'gaussian':>9s}  sde<gauss  sde<=3floor")
    for r in results:
        print(f"{r['dataset']:18s} {r['energy_sde']:9.5f} {r['energy_ode']:9.5f} {r['energy_floor']:9.5f} "
              f"{r['energy_gaussian']:9.5f}  {str(r['sde_below_gaussian']):9s}  {r['sde_within_3x_floor']}")
    print(json.dumps(results, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    if args.figure:
        _plot(args.figure, runs)
    return results


def _plot(path, runs):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(runs), 3, figsize=(9, 3.1 * len(runs)), squeeze=False)
    for row, run_ in zip(axes, runs):
        r = run_["result"]
        for ax, (key, title, colour) in zip(row, (("held_out", "held-out data", "tab:blue"),
                                                  ("sde", f"reverse SDE  (ED {r['energy_sde']:.4f})", "tab:orange"),
                                                  ("ode", f"probability flow  (ED {r['energy_ode']:.4f})", "tab:green"))):
            ax.scatter(*run_[key], s=1.5, color=colour)
            ax.set_title(f"{r['dataset']}: {title}" if key == "held_out" else title, fontsize=9)
            ax.set_aspect("equal")
            reference = run_["held_out"]
            pad = 0.5
            ax.set_xlim(reference[0].min() - pad, reference[0].max() + pad)
            ax.set_ylim(reference[1].min() - pad, reference[1].max() + pad)
    fig.suptitle(f"floor (data vs data, 2,000 points) and a fitted Gaussian: "
                 + "; ".join(f"{r['result']['dataset']} {r['result']['energy_floor']:.4f} / "
                             f"{r['result']['energy_gaussian']:.4f}" for r in runs), fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
