"""Bayesian networks (kind bayes) as emitted, in float64: the weight draws and the predictive
covariance against a numpy forward pass, the KL in closed form, acquire() as the argmax of the
score, a deep ensemble's independent members, and the predictive variance after a short training
run: larger away from the labelled points than on them."""
import numpy as np
import pytest

from helpers import SPECS, compile_and_load, load_module
from sciml.pipeline import compile_spec

BAYES_NN = SPECS / "likelihood" / "bayes_nn.sciml"
ENSEMBLE = SPECS / "likelihood" / "bayes_ensemble.sciml"
LAYERS = ("1", "2", "3")


def softplus(x):
    return np.logaddexp(0.0, x)


def posterior_weights(params, eps):
    """Each layer's (W, b) per draw, from eps (draws, entries) in the documented order: W1 row by
    row, b1, W2, b2, ...; w = mean + softplus(rho) * eps."""
    layers, start = [], 0
    for k in LAYERS:
        pair = []
        for name in (f"W{k}", f"b{k}"):
            mean, rho = params[f"F.{name}"], params[f"F.rho_{name}"]
            block = eps[:, start:start + mean.size].reshape((-1,) + mean.shape)
            pair.append(mean + softplus(rho) * block)
            start += mean.size
        layers.append(pair)
    assert start == eps.shape[1]
    return layers


def probabilities(layers, x):
    """softmax over classes of the tanh MLP, per draw: (draws, classes, samples)."""
    z = x
    for index, (W, b) in enumerate(layers):
        z = W @ z + b
        if index < len(layers) - 1:
            z = np.tanh(z)
    z = z - z.max(axis=-2, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=-2, keepdims=True)


def covariance(p):
    centred = p - p.mean(axis=0)
    return np.einsum("dis,djs->ijs", centred, centred) / (p.shape[0] - 1)


@pytest.fixture(scope="module")
def bayes_nn(tmp_path_factory):
    return compile_and_load(BAYES_NN, "torch", tmp_path_factory.mktemp("bayes_nn"))


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory):
    return compile_and_load(ENSEMBLE, "torch", tmp_path_factory.mktemp("ensemble"))


def perturbed(params, seed=7, scale=0.3):
    """Means moved off their initial values and spreads widened, so every draw differs."""
    rng = np.random.default_rng(seed)
    return {k: v + scale * rng.standard_normal(v.shape) if ".rho_" not in k else np.full(v.shape, -1.0)
            for k, v in params.items()}


def test_predictive_mean_and_covariance_are_those_of_the_weight_draws(bayes_nn):
    params = perturbed(bayes_nn.init_params(0))
    x = bayes_nn.make_data()["pool"]["x"][:, :50]
    eps = bayes_nn.draw_batch(0, 0)["weights_F"]
    assert eps.shape == (16, 2 * 32 + 32 + 32 * 32 + 32 + 32 * 2 + 2)
    p = probabilities(posterior_weights(params, eps), x)
    np.testing.assert_allclose(bayes_nn.predict(params, x), p.mean(axis=0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(bayes_nn.predictive_covariance(params, x), covariance(p), rtol=0, atol=1e-12)
    score = np.trace(covariance(p), axis1=0, axis2=1)
    np.testing.assert_allclose(bayes_nn.uncertainty(params, x), score, rtol=0, atol=1e-12)
    assert score.min() > 0


def test_acquire_is_the_index_of_the_largest_score_and_follows_the_points(bayes_nn):
    params = perturbed(bayes_nn.init_params(1))
    pool = bayes_nn.make_data()["pool"]["x"][:, :300]
    score = bayes_nn.uncertainty(params, pool)
    best = bayes_nn.acquire(params, pool)
    assert best == int(np.argmax(score)) and score[best] > np.median(score)
    order = np.random.default_rng(0).permutation(pool.shape[1])
    assert order[bayes_nn.acquire(params, pool[:, order])] == best
    assert int(bayes_nn.reports(params, bayes_nn.make_data())["argmax"]) == \
        int(np.argmax(bayes_nn.uncertainty(params, bayes_nn.make_data()["pool"]["x"])))


def test_kl_to_the_prior_is_the_closed_form_sum_over_weights(tmp_path):
    text = BAYES_NN.read_text().replace("prior = normal(0, 1)", "prior = normal(0.5, 2)")
    module = load_module(compile_spec(text, "bayes_prior.sciml", "torch"), "bayes_prior", tmp_path)
    params = perturbed(module.init_params(0))
    import torch
    kl = float(module.kl_F({k: torch.tensor(v) for k, v in params.items()}))
    expected = 0.0
    for k in LAYERS:
        for name in (f"W{k}", f"b{k}"):
            mean, std = params[f"F.{name}"], softplus(params[f"F.rho_{name}"])
            expected += np.sum(np.log(2.0 / std) + (std ** 2 + (mean - 0.5) ** 2) / (2 * 2.0 ** 2) - 0.5)
    assert kl == pytest.approx(expected, rel=1e-12)
    # and a Monte Carlo estimate of E_q[log q(w) - log p(w)] agrees within its error
    rng = np.random.default_rng(0)
    estimates = []
    for _ in range(200):
        total = 0.0
        for k in LAYERS:
            for name in (f"W{k}", f"b{k}"):
                mean, std = params[f"F.{name}"], softplus(params[f"F.rho_{name}"])
                w = mean + std * rng.standard_normal(mean.shape)
                total += np.sum(-np.log(std) - 0.5 * ((w - mean) / std) ** 2
                                + np.log(2.0) + 0.5 * ((w - 0.5) / 2.0) ** 2)
        estimates.append(total)
    assert abs(np.mean(estimates) - expected) < 4 * np.std(estimates) / np.sqrt(len(estimates))


def test_ensemble_members_start_apart_and_train_on_their_own_losses(ensemble):
    params = ensemble.init_params(0)
    assert params["F.W1"].shape == (5, 32, 2)
    for a in range(5):
        for b in range(a + 1, 5):
            assert not np.allclose(params["F.W2"][a], params["F.W2"][b])
    batch = ensemble.evaluation_batch(ensemble.make_data())
    loss, grads = ensemble.loss_and_grad(params, batch)
    # the loss is the members' mean cross entropy
    z = params["F.W3"] @ np.tanh(params["F.W2"] @ np.tanh(params["F.W1"] @ batch["x"] + params["F.b1"])
                                 + params["F.b2"]) + params["F.b3"]
    log_p = z - np.log(np.exp(z).sum(axis=-2, keepdims=True))
    per_member = -np.mean(np.take_along_axis(log_p, batch["label"][None, None, :], axis=-2)[:, 0, :], axis=-1)
    assert loss == pytest.approx(per_member.mean(), rel=1e-12)
    # moving member 0 changes no other member's gradient
    moved = {k: v.copy() for k, v in params.items()}
    moved["F.W2"][0] += 0.5
    _, moved_grads = ensemble.loss_and_grad(moved, batch)
    for name in grads:
        np.testing.assert_allclose(moved_grads[name][1:], grads[name][1:], rtol=0, atol=1e-14)
        assert not np.allclose(moved_grads[name][0], grads[name][0])


def labelled_near_the_middle(pool, per_class=5):
    """The pool points of each class nearest the middle of the moons: the moons' tips unlabelled."""
    distance = np.linalg.norm(pool["x"] - np.array([[0.5], [0.25]]), axis=0)
    index = np.concatenate([np.flatnonzero(pool["label"] == c)[np.argsort(distance[pool["label"] == c])[:per_class]]
                            for c in (0, 1)])
    return {field: value[..., index] for field, value in pool.items()}


@pytest.mark.parametrize("which", ["bayes_nn", "ensemble"])
def test_predictive_variance_is_larger_far_from_the_labelled_points(which, request):
    module = request.getfixturevalue(which)
    data = module.make_data()
    pool = data["pool"]
    train = labelled_near_the_middle(pool)
    far = np.min(np.linalg.norm(pool["x"][:, :, None] - train["x"][:, None, :], axis=0), axis=1) > 1.0
    assert far.sum() > 10
    for seed in (0, 1):
        params, _ = module.train(module.init_params(seed), {**data, "train": train}, steps=300, seed=seed,
                                 log_every=0)
        on_data = module.uncertainty(params, train["x"]).mean()
        away = module.uncertainty(params, pool["x"][:, far]).mean()
        assert away > 5 * on_data, (seed, away, on_data)
        assert np.mean(np.argmax(module.predict(params, train["x"]), axis=0) == train["label"]) == 1.0


def test_backends_agree_on_the_acquisition_score(bayes_nn, tmp_path):
    jax_module = compile_and_load(BAYES_NN, "jax", tmp_path)
    params = perturbed(bayes_nn.init_params(2))
    pool = bayes_nn.make_data()["pool"]["x"][:, :200]
    np.testing.assert_allclose(jax_module.uncertainty(params, pool), bayes_nn.uncertainty(params, pool),
                               rtol=1e-10, atol=1e-14)
    assert jax_module.acquire(params, pool) == bayes_nn.acquire(params, pool)


@pytest.mark.parametrize("loss, averaged", [
    ("cross_entropy(mean(softmax(F(train.x)), over = draws), train.label)", "probabilities"),
    ("cross_entropy(softmax(mean(F(train.x), over = draws)), train.label)", "logits"),
    ("cross_entropy(softmax(F(train.x)), train.label)", "losses")])
def test_the_cross_entropy_averages_what_the_spec_averages(loss, averaged, tmp_path):
    text = BAYES_NN.read_text().split("loss ")[0] + f"loss {loss}\ntrain adam(lr = 1e-2, steps = 1)\n"
    module = load_module(compile_spec(text, "bayes_ce.sciml", "torch"), f"bayes_ce_{averaged}", tmp_path)
    params = perturbed(module.init_params(0))
    batch = {**module.evaluation_batch(module.make_data()), **module.draw_batch(0, 0)}
    value, _ = module.loss_and_grad(params, batch)
    layers = posterior_weights(params, batch["weights_F"])
    labels = batch["label"]
    if averaged == "logits":
        h = batch["x"]
        for W, b in layers[:-1]:
            h = np.tanh(W @ h + b)
        z = np.mean(layers[-1][0] @ h + layers[-1][1], axis=0)
        p = np.exp(z - z.max(axis=0)) / np.exp(z - z.max(axis=0)).sum(axis=0)
        expected = -np.mean(np.log(p[labels, np.arange(labels.size)]))
    else:
        p = probabilities(layers, batch["x"])
        if averaged == "probabilities":
            expected = -np.mean(np.log(p.mean(axis=0)[labels, np.arange(labels.size)]))
        else:
            expected = -np.mean(np.log(p[:, labels, np.arange(labels.size)]))
    assert value == pytest.approx(expected, rel=1e-10)
