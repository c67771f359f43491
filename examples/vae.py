"""A variational autoencoder on scikit-learn's 8x8 digits: the held-out importance-weighted bound
against the exact held-out log-likelihood of probabilistic PCA with the same latent dimension.

1. Compile specs/likelihood/vae.sciml (a 2-D latent, a Gaussian decoder with a learned standard
   deviation, the KL in closed form) and train it as the spec says (Adam, batch 128), on the
   training part of the digits (1438 images, pixels in [0, 1]).
2. Its report: the importance-weighted bound with K = 100 draws on the 359 held-out images, in
   nats per image; it is a lower bound of the model's log p(x).
3. The reference: probabilistic PCA (Tipping & Bishop 1999) fitted by maximum likelihood in
   closed form to the same training images, x ~ N(mu, W W^T + s^2 I) with W from the leading
   eigenvectors of the sample covariance and s^2 the mean of the other eigenvalues; its exact
   log-likelihood on the held-out images, with the spec's latent dimension (and a larger one, for
   scale).  Target: the VAE's held-out bound above PPCA's held-out log-likelihood.
4. A figure: held-out images, their reconstructions (decoder means at the encoder's means) and
   decoder means at latents drawn from the prior.

    python examples/vae.py [--backend jax|torch] [--seeds 0 1 2] [--steps N] [--threads 1]
        [--figure docs/figures/vae.png] [--json results.json]
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

SPEC = ROOT / "specs" / "likelihood" / "vae.sciml"


def ppca_log_likelihood(train: np.ndarray, test: np.ndarray, latent: int) -> float:
    """Probabilistic PCA's maximum-likelihood fit to `train` (features, samples) with `latent`
    dimensions, and its mean exact log-likelihood on the columns of `test`, nats per sample."""
    mean = train.mean(axis=1, keepdims=True)
    covariance = np.cov(train, bias=True)
    values, vectors = np.linalg.eigh(covariance)
    values, vectors = values[::-1], vectors[:, ::-1]
    noise = values[latent:].mean()
    W = vectors[:, :latent] * np.sqrt(values[:latent] - noise)
    model = W @ W.T + noise * np.eye(train.shape[0])
    _, log_det = np.linalg.slogdet(model)
    centred = test - mean
    mahalanobis = np.sum(centred * np.linalg.solve(model, centred), axis=0)
    return float(np.mean(-0.5 * (train.shape[0] * np.log(2 * np.pi) + log_det + mahalanobis)))


def run(seed: int, args) -> dict:
    module = compile_and_import(SPEC, args.backend, tempfile.mkdtemp(prefix="sciml-vae-"))
    if args.threads:
        module._runtime.set_threads(args.threads)
    data = module.make_data()
    started = time.perf_counter()
    params, final = module.train(module.init_params(seed), data, steps=args.steps, seed=seed, log_every=1000)
    seconds = time.perf_counter() - started
    bound = float(module.reports(params, data)["iwae"])
    latent = module.LATENT_SIZE
    train, test = data["train"]["x"], data["test"]["x"]
    ppca = {k: ppca_log_likelihood(train, test, k) for k in sorted({latent, 8})}
    return {"spec": SPEC.name, "backend": args.backend, "seed": seed,
            "steps": args.steps or sum(s[2] for s in module.STAGES), "train_seconds": round(seconds, 1),
            "final_loss": final, "test_iwae_100": bound, "latent": latent,
            "ppca_test_log_likelihood": {str(k): v for k, v in ppca.items()},
            "above_ppca": bool(bound > ppca[latent]),
            "_module": module, "_params": params, "_test": test}


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("torch", "jax"), default="jax")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the spec's)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: the backend's default)")
    parser.add_argument("--figure", default=None, help="write reconstructions and samples here")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    runs = [run(seed, args) for seed in args.seeds]
    results = [{k: v for k, v in r.items() if not k.startswith("_")} for r in runs]
    print(f"{'seed':>4s} {'iwae(100)':>10s} {'ppca k':>10s} {'ppca 8':>8s} {'time s':>7s}")
    for r in results:
        ppca = r["ppca_test_log_likelihood"]
        print(f"{r['seed']:4d} {r['test_iwae_100']:10.3f} {ppca[str(r['latent'])]:10.3f} {ppca['8']:8.3f} "
              f"{r['train_seconds']:7.0f}")
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
    module, params, test = run["_module"], run["_params"], run["_test"][:, :10]
    rows = [("held-out images", test), ("reconstructions", module.reconstruct(params, test)),
            ("samples from the prior", module.sample(params, 10, seed=run["seed"] + 1))]
    fig, axes = plt.subplots(len(rows), 10, figsize=(8.0, 2.6))
    for (title, images), row in zip(rows, axes):
        for image, ax in zip(images.T, row):
            ax.imshow(np.clip(image, 0, 1).reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(title, fontsize=7, rotation=0, ha="right", va="center")
    fig.suptitle(f"vae on digits (latent {run['latent']}): held-out iwae(100) {run['test_iwae_100']:.2f} nats, "
                 f"ppca {run['ppca_test_log_likelihood'][str(run['latent'])]:.2f}", fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
