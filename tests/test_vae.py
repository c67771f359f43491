"""Variational autoencoders (kind vae) as emitted, in float64: the digits generator's parts, the
closed-form KL against its Monte Carlo estimate, the ELBO and the importance-weighted bound
against log p(x) computed by quadrature over a 2-D latent, a short training run, and what the
writer refuses."""
import numpy as np
import pytest

from helpers import load_module
from sciml.frontend.diagnostics import SpecError
from sciml.pipeline import compile_spec

VAE = """
model small_vae : vae
const n = 64, k = 2
data train = generate digits(seed = 0, part = train)
data test  = generate digits(seed = 0, part = test)
net mu(x), log_var(x) = mlp(n -> 16 -> k, tanh)
net g(z) = mlp(k -> 16 -> n, tanh)
param log_s : R = -1.0
latent z : R[k] ~ normal(mu(train.x), exp(log_var(train.x) / 2))
loss -elbo(train.x, decoder = {decoder}, prior = normal(0, 1){options})
train adam(lr = 3e-3, steps = {steps}, batch = 128)
report iwae = iwae(train.x, samples = 50) with data = test
"""


def vae_module(tmp_path, backend="torch", decoder="normal(g(z), exp(log_s))", options="", steps=1):
    text = VAE.format(decoder=decoder, options=options, steps=steps)
    return load_module(compile_spec(text, "small_vae.sciml", backend), f"small_vae_{backend}_{abs(hash(text))}",
                       tmp_path)


def tensors(params):
    import torch
    return {k: torch.tensor(v) for k, v in params.items()}


def test_digits_parts_are_disjoint_and_make_up_the_whole(tmp_path):
    module = vae_module(tmp_path)
    data = module.make_data()
    train, test = data["train"]["x"], data["test"]["x"]
    assert train.shape == (64, 1438) and test.shape == (64, 359)
    assert 0.0 <= train.min() and train.max() <= 1.0
    everything = module.digits(seed=0, part="all", test_fraction=0.2, pairs=False)["x"]
    rows = {tuple(c) for c in everything.T}
    assert {tuple(c) for c in train.T} | {tuple(c) for c in test.T} == rows
    assert not {tuple(c) for c in train.T} & {tuple(c) for c in test.T} or len(rows) < 1797   # duplicates only


def test_digit_pairs_show_the_next_digit(tmp_path):
    module = vae_module(tmp_path)
    everything = module.digits(seed=0, part="all", test_fraction=0.2, pairs=False)
    label_of = {tuple(c): l for c, l in zip(everything["x"].T, everything["label"])}
    pairs = module.digits(seed=3, part="test", test_fraction=0.2, pairs=True)
    assert all(label_of[tuple(y)] == (l + 1) % 10 for y, l in zip(pairs["y"].T, pairs["label"]))


def test_closed_form_kl_equals_its_monte_carlo_estimate(tmp_path):
    import torch
    module = vae_module(tmp_path)
    rng = np.random.default_rng(0)
    mean, std = torch.tensor(rng.normal(size=(2, 3))), torch.tensor(rng.uniform(0.3, 2.0, size=(2, 3)))
    draws = 200_000
    eps = torch.tensor(rng.standard_normal((2, 3 * draws)))
    z = mean.repeat(1, draws) + std.repeat(1, draws) * eps
    estimates = -module.log_ratio_z(z, mean.repeat(1, draws), std.repeat(1, draws)).reshape(draws, 3)
    exact = module.kl_z(mean, std)[0]
    error = estimates.std(dim=0) / np.sqrt(draws)
    assert torch.all(torch.abs(estimates.mean(dim=0) - exact) < 4 * error)


def quadrature_log_likelihood(module, p, x):
    """log p(x) = log int p(x | z) p(z) dz on a 2-D grid of z (x: (64, samples))."""
    import torch
    axis = np.linspace(-7.0, 7.0, 281)
    za, zb = np.meshgrid(axis, axis)
    grid = torch.tensor(np.stack([za.ravel(), zb.ravel()]))
    cell = (axis[1] - axis[0]) ** 2
    values = []
    for column in x.T:
        log_joint = (module.log_likelihood_x(p, column[:, None].expand(-1, grid.shape[1]), grid)
                     - 0.5 * torch.sum(grid ** 2, dim=0, keepdim=True) - np.log(2 * np.pi))
        values.append(torch.logsumexp(log_joint[0], dim=0) + np.log(cell))
    return torch.stack(values)


def test_elbo_below_iwae_below_log_likelihood_by_quadrature(tmp_path):
    """On a model trained a little: ELBO < IWAE(5000) <= log p(x), the bound within a few
    hundredths of a nat of the quadrature; with K = 1 the bound is the ELBO in expectation."""
    import torch
    module = vae_module(tmp_path, steps=300)
    params, _ = module.train(module.init_params(0), module.make_data(), steps=300, seed=0, log_every=0)
    p = tensors(params)
    x = torch.tensor(module.make_data()["test"]["x"][:, :6])
    exact = quadrature_log_likelihood(module, p, x)
    mean, std = module.encode_z(p, x)
    draws = 4000
    z = mean.repeat(1, draws) + std.repeat(1, draws) * torch.tensor(np.random.default_rng(1).standard_normal((2, 6 * draws)))
    elbo = (module.log_likelihood_x(p, x.repeat(1, draws), z).reshape(draws, 6).mean(dim=0)
            - module.kl_z(mean, std)[0])
    bound = torch.stack([module.iwae_z(p, x[:, [b]], 5000) for b in range(6)])
    assert torch.all(elbo < bound) and torch.all(bound <= exact + 0.02)
    assert torch.all(exact - bound < 0.05), (exact - bound)
    # one draw (K = 1) of each of many copies of a sample: the ELBO's Monte Carlo estimate
    copies = torch.stack([module.iwae_z(p, x[:, [b]].repeat(1, draws), 1) for b in range(6)])
    assert torch.allclose(copies, elbo, atol=0.1), (copies - elbo)
    assert torch.all(exact - elbo > 0)                 # the gap is the KL to the true posterior


def test_short_training_raises_the_held_out_bound(tmp_path):
    module = vae_module(tmp_path, backend="jax", steps=400)
    data = module.make_data()
    start = module.reports(module.init_params(0), data)["iwae"]
    params, _ = module.train(module.init_params(0), data, steps=400, seed=0, log_every=0)
    end = module.reports(params, data)["iwae"]
    assert end > start + 20, (start, end)


def test_sample_and_reconstruct_give_images(tmp_path):
    module = vae_module(tmp_path, decoder="bernoulli(sigmoid(g(z)))", options=", kl = monte_carlo, samples = 3")
    params = module.init_params(0)
    images = module.sample(params, 5, seed=2)
    assert images.shape == (64, 5) and np.all((0 < images) & (images < 1))
    assert np.array_equal(images, module.sample(params, 5, seed=2))
    assert module.reconstruct(params, module.make_data()["test"]["x"][:, :4]).shape == (64, 4)


@pytest.mark.parametrize("decoder, options", [("normal(g(z), exp(log_s))", ""),
                                              ("bernoulli(sigmoid(g(z)))", ", kl = monte_carlo, samples = 3")])
def test_backends_agree_on_elbo_and_bound(tmp_path, decoder, options):
    import jax
    jax.config.update("jax_enable_x64", True)
    torch_module = vae_module(tmp_path, "torch", decoder, options)
    jax_module = vae_module(tmp_path, "jax", decoder, options)
    params, data = torch_module.init_params(0), torch_module.make_data()
    assert torch_module.reports(params, data)["iwae"] == pytest.approx(jax_module.reports(params, data)["iwae"],
                                                                        rel=1e-10)


def test_bernoulli_decoder_without_sigmoid_is_refused():
    text = VAE.format(decoder="bernoulli(g(z))", options="", steps=1)
    with pytest.raises(SpecError) as caught:
        compile_spec(text, "small_vae.sciml", "torch")
    assert "sigmoid" in str(caught.value.diagnostics[0].message)
