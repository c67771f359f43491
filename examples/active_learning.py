"""Active learning with a Bayesian network (seed 000): query the pool point whose predictive
covariance has the largest trace, retrain, repeat; against queries drawn at random.

1. Compile specs/likelihood/bayes_nn.sciml (a mean-field Gaussian posterior per weight, 16 draws;
   or --spec for the deep ensemble, specs/likelihood/bayes_ensemble.sciml) for --backend.
2. Two moons: a pool of 2,000 unlabelled points (the spec's `pool` set), a test set of 1,000
   points from another seed, and 10 labelled points drawn from the pool at random (the run's seed).
3. Each round trains the spec's network from its initial weights (init_params(seed)) on the
   labelled points, measures the test accuracy of the predictive mean (`predict`), and labels one
   more pool point: the emitted `acquire(params, pool)` (the argmax report: the largest trace of
   the predictive covariance over the weight draws) on the points not yet labelled, or one of them
   at random.  20 queries: 21 accuracies per strategy.
4. The median over the seeds of each round's accuracy, for both strategies, and their mean over
   the 20 queried rounds (the area under the learning curve); a figure of both curves.

    python examples/active_learning.py [--spec PATH] [--backend torch|jax] [--seeds 0 1 2]
        [--queries 20] [--steps 1500] [--threads 1] [--figure docs/figures/active_learning.png]
        [--json results.json]
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

SPEC = ROOT / "specs" / "likelihood" / "bayes_nn.sciml"
TEST_SAMPLES, TEST_SEED, NOISE = 1000, 2, 0.1
STRATEGIES = ("acquire", "random")


def learning_curve(module, strategy: str, seed: int, queries: int, steps: int, initial: int) -> list[float]:
    """Test accuracy after training on 10 random pool points, then after each query."""
    data = module.make_data()
    pool = data["pool"]
    test = module.two_moons(samples=TEST_SAMPLES, seed=TEST_SEED, noise=NOISE)
    rng = np.random.default_rng(seed)
    labelled = list(rng.choice(pool["x"].shape[1], initial, replace=False))
    accuracies = []
    for query in range(queries + 1):
        train = {field: value[..., labelled] for field, value in pool.items()}
        params, _ = module.train(module.init_params(seed), {**data, "train": train}, steps=steps,
                                 seed=seed, log_every=0)
        predicted = np.argmax(module.predict(params, test["x"]), axis=0)
        accuracies.append(float(np.mean(predicted == test["label"])))
        if query == queries:
            break
        unlabelled = np.setdiff1d(np.arange(pool["x"].shape[1]), labelled)
        if strategy == "acquire":
            chosen = unlabelled[module.acquire(params, pool["x"][:, unlabelled])]
        else:
            chosen = rng.choice(unlabelled)
        labelled.append(int(chosen))
    return accuracies


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(SPEC))
    parser.add_argument("--backend", choices=("torch", "jax"), default="torch")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--initial", type=int, default=10, help="labelled points to start from")
    parser.add_argument("--steps", type=int, default=1500, help="training steps per round")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: the backend's default)")
    parser.add_argument("--figure", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    module = compile_and_import(Path(args.spec), args.backend, tempfile.mkdtemp(prefix="sciml-al-"))
    if args.threads:
        module._runtime.set_threads(args.threads)
    started = time.perf_counter()
    curves = {s: [learning_curve(module, s, seed, args.queries, args.steps, args.initial) for seed in args.seeds]
              for s in STRATEGIES}
    median = {s: np.median(np.array(c), axis=0) for s, c in curves.items()}
    result = {"spec": Path(args.spec).name, "backend": args.backend, "seeds": args.seeds,
              "queries": args.queries, "initial": args.initial, "steps_per_round": args.steps,
              "seconds": round(time.perf_counter() - started, 1),
              "curves": curves, "median": {s: m.round(4).tolist() for s, m in median.items()},
              "median_mean_over_queries": {s: float(np.mean(m[1:])) for s, m in median.items()},
              "median_final": {s: float(m[-1]) for s, m in median.items()}}
    result["acquire_ahead"] = bool(result["median_mean_over_queries"]["acquire"]
                                   > result["median_mean_over_queries"]["random"])
    print(f"{'labelled':>8s} " + " ".join(f"{s:>8s}" for s in STRATEGIES))
    for k in range(args.queries + 1):
        print(f"{args.initial + k:8d} " + " ".join(f"{median[s][k]:8.3f}" for s in STRATEGIES))
    print(json.dumps({k: v for k, v in result.items() if k not in ("curves", "median")}, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    if args.figure:
        _plot(args.figure, result, median)
    return result


def _plot(path, result, median):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.0, 3.2))
    labelled = result["initial"] + np.arange(result["queries"] + 1)
    for strategy, label in (("acquire", "acquire: largest trace of the predictive covariance"),
                            ("random", "random queries")):
        for curve in result["curves"][strategy]:
            ax.plot(labelled, curve, color="C0" if strategy == "acquire" else "C1", alpha=0.2, lw=0.8)
        ax.plot(labelled, median[strategy], color="C0" if strategy == "acquire" else "C1", lw=2, label=label)
    ax.set_xticks(labelled[::5])
    ax.set_xlabel("labelled points")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"{result['spec']}: two moons, median of {len(result['seeds'])} seeds", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
