"""A latent neural ODE that maps each digit to the next (seed 004): the held-out predictions
labelled by a classifier trained on the real digits.

1. Compile specs/likelihood/latent_node.sciml (encoder E, latent ODE dh/dt = F(h) by RK4,
   decoder D) and train it as the spec says on the training part of scikit-learn's digits, each
   image paired with an image of the next digit (9 -> 0).
2. A logistic regression (scikit-learn, multinomial) trained on the training images and their
   labels: the judge of what a predicted image shows (its accuracy on the held-out real images is
   printed beside).
3. The held-out pairs: for each held-out image of a digit k, the predicted image D(h(T)) from
   h(0) = E(image); the fraction the classifier labels k + 1 (mod 10).  Target: >= 80%.
4. A figure: held-out images, their predicted next digits, and the label the classifier gives.

    python examples/latent_node.py [--spec PATH] [--backend jax|torch] [--seeds 0 1 2] [--steps N] [--threads 1]
        [--figure docs/figures/latent_node.png] [--json results.json]
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

SPEC = ROOT / "specs" / "likelihood" / "latent_node.sciml"
TARGET = 0.8


def predicted_next(module, params, images: np.ndarray) -> np.ndarray:
    """D(h(T)) from h(0) = E(images), numpy (features, samples) in and out, float64 on the CPU."""
    runtime = module._runtime
    p, device = runtime.place_params(params, runtime.DTYPES["float64"], "cpu")
    x = runtime.to_arrays({"x": images}, runtime.DTYPES["float64"], device)["x"]
    value = module.D(p, module.solve(p, module.E(p, x)))
    return value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)


def judge(train_images: np.ndarray, train_labels: np.ndarray):
    from sklearn.linear_model import LogisticRegression
    return LogisticRegression(max_iter=5000, C=1.0).fit(train_images.T, train_labels)


def run(seed: int, args) -> dict:
    module = compile_and_import(Path(args.spec), args.backend, tempfile.mkdtemp(prefix="sciml-latent-node-"))
    if args.threads:
        module._runtime.set_threads(args.threads)
    data = module.make_data()
    started = time.perf_counter()
    params, final = module.train(module.init_params(seed), data, steps=args.steps, seed=seed, log_every=1000)
    seconds = time.perf_counter() - started
    train, test = data["train"], data["test"]
    classifier = judge(train["x"], train["label"])
    predicted = predicted_next(module, params, test["x"])
    labels = classifier.predict(predicted.T)
    wanted = (test["label"] + 1) % 10
    return {"spec": Path(args.spec).name, "backend": args.backend, "seed": seed,
            "steps": args.steps or sum(s[2] for s in module.STAGES), "train_seconds": round(seconds, 1),
            "final_loss": final, "report_next_mse": float(module.reports(params, data)["next"]),
            "classifier_accuracy_on_real_test_images": float(np.mean(classifier.predict(test["x"].T) == test["label"])),
            "next_digit_accuracy": float(np.mean(labels == wanted)),
            "within_target": bool(np.mean(labels == wanted) >= TARGET),
            "_test": test, "_predicted": predicted, "_labels": labels}


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(SPEC))
    parser.add_argument("--backend", choices=("torch", "jax"), default="jax")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the spec's)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: the backend's default)")
    parser.add_argument("--figure", default=None, help="write held-out images and their predictions here")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    runs = [run(seed, args) for seed in args.seeds]
    results = [{k: v for k, v in r.items() if not k.startswith("_")} for r in runs]
    print(f"{'seed':>4s} {'next digit':>10s} {'judge on real':>13s} {'mse':>8s} {'time s':>7s}")
    for r in results:
        print(f"{r['seed']:4d} {r['next_digit_accuracy']:10.3f} {r['classifier_accuracy_on_real_test_images']:13.3f} "
              f"{r['report_next_mse']:8.4f} {r['train_seconds']:7.0f}")
    print(json.dumps(results, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    if args.figure:
        _plot(args.figure, runs[0])
    return results


def _plot(path, run):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    test, predicted, labels = run["_test"], run["_predicted"], run["_labels"]
    chosen = [int(np.flatnonzero(test["label"] == k)[0]) for k in range(10)]
    fig, axes = plt.subplots(2, 10, figsize=(8.0, 2.4))
    for column, index in enumerate(chosen):
        for row, images in enumerate((test["x"], predicted)):
            axes[row, column].imshow(np.clip(images[:, index], 0, 1).reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
            axes[row, column].set_xticks([])
            axes[row, column].set_yticks([])
        axes[0, column].set_title(f"{test['label'][index]}", fontsize=7)
        axes[1, column].set_xlabel(f"judged {labels[index]}", fontsize=7)   # below: clear of the row above
    fig.suptitle(f"latent neural ODE: held-out digit -> predicted next digit ({run['next_digit_accuracy']:.0%} "
                 "judged right)", fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
