"""Autoencoder vs VAE, both with a 2-D latent space, side by side (gdm/runners/ae_vs_vae.py).

The argument, as figures: the autoencoder's codes (left) form class clusters with gaps
and an arbitrary scale, so decoding random N(0, I) points gives few recognisable digits; the
VAE's posterior means (right) fill the prior continuously and the same points decode to digits.
Figures: latent_scatter_ae_vs_vae, random_decoding_ae_vs_vae, manifold_ae_vs_vae. Results:
vae/eval/elbo, ae/eval/mse, and with config.frechet the classifier-feature Frechet distance of
each model's decoded N(0, I) points (ae/frechet_random_normal, vae/frechet_random_normal; the
VAE's should be far lower). The VAE run is vae_manifold.py; the AE is 784-500-2 with a sigmoid
output trained on BCE, same data, optimizer, steps and seed.

Offline: `--config=experiments/ae_vs_vae.py:benchmark` (8,000 / 2,000 split of MNIST's 10k test set,
read from the IDX directory $GDM_MNIST_DIR), or --config.dataset.name=mnist_idx
--config.dataset.data_dir=DIR, or --config.dataset.name=digits.
"""

import os

import ml_collections

from gdm.config import load_config


def get_config(arg=None):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vae_manifold.py")
    c = load_config(path if arg is None else f"{path}:{arg}")
    c.runner = "ae_vs_vae"
    c.task_options.iwae_samples = 0  # the comparison is about latent spaces, not likelihoods
    c.ae_model = ml_collections.ConfigDict(dict(
        arch="mlp", code_size=2, hidden_sizes=(500,), activation="relu",
        output_activation="sigmoid", corruption="none", corruption_level=0.0))
    c.ae_loss = "bce"
    c.num_random_points = 100
    c.frechet = True
    c.frechet_cache_dir = ""
    return c
