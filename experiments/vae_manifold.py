"""VAE with a 2-D latent space on binarized MNIST: Kingma & Welling (2014), Fig. 4.

The decoder maps a 20 x 20 grid of latent points, evenly spaced in probability through the
inverse Gaussian CDF, to figures/manifold.png; figures/latent_scatter.png shows the test
posterior means by class. Same data and training as vae_mnist.py (784-500-2, Bernoulli), so the
ELBO shows what a 2-D bottleneck costs against the 20-D model (Kingma & Welling, Fig. 2: the
bound improves with the latent size). The published reference is the figure itself: digits
varying smoothly across the grid, every region decoding to a plausible digit.

Offline: `--config=experiments/vae_manifold.py:benchmark` (8,000 / 2,000 split of MNIST's 10k
test set, read from the IDX directory $GDM_MNIST_DIR), or --config.dataset.name=mnist_idx
--config.dataset.data_dir=DIR, or --config.dataset.name=digits.
"""

import os

from gdm.config import load_config


def get_config(arg=None):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vae_mnist.py")
    c = load_config(path if arg is None else f"{path}:{arg}")
    c.model.latent_size = 2
    c.task_options.iwae_samples = 1000
    return c
