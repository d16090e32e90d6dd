"""The experiments the report runs, each at the size that keeps the whole report CPU-sized.

An Entry names an experiment file and the overrides that make it small enough (the generative
experiments default to full MNIST; the report runs them on the offline 8x8 digits), a tiny
setting for the tests, and its MNIST version, which runs when the report is given an MNIST IDX
directory. `seconds` is the wall time expected on 2 CPU cores, for the ETA before any entry has
finished. Checked claims come from the runner module's `findings(results)`; experiments that
train through the loop (no runner module) name a function here, called with the results,
the entry's config and the other entries' results.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from gdm.runners.findings import finding


@dataclasses.dataclass(frozen=True)
class Entry:
    """One experiment of the report: its config file (`file.py` or `file.py:arg`) and the
    overrides (dotted key -> value) of the report's, the tests' and the MNIST settings."""

    name: str
    config: str
    overrides: dict = dataclasses.field(default_factory=dict)
    tiny_config: str | None = None  # default: `config`
    tiny_overrides: dict = dataclasses.field(default_factory=dict)
    mnist_config: str | None = None  # None: no MNIST version
    mnist_overrides: dict = dataclasses.field(default_factory=dict)
    seconds: float = 60.0
    findings: Callable[..., list[dict]] | None = None  # (results, config, others)


def independent_pixels_ll(config) -> float:
    """Test log-likelihood (nats per image) of independent Bernoulli pixels fitted to the
    training split (Laplace-smoothed): the closed-form floor any model of the joint should
    beat."""
    from gdm.train.loop import load_dataset

    ds = load_dataset(config)
    x_train = np.asarray(ds.x_train, np.float64).reshape(len(ds.x_train), -1)
    x_test = np.asarray(ds.x_test, np.float64).reshape(len(ds.x_test), -1)
    p = (x_train.sum(0) + 1.0) / (len(x_train) + 2.0)
    return float(np.mean(x_test @ np.log(p) + (1.0 - x_test) @ np.log1p(-p)))


def _frechet_gap(results: dict, claim: str, published: str) -> list[dict]:
    if "eval/frechet_distance" not in results:
        return []
    fd, floor = results["eval/frechet_distance"], results["eval/frechet_distance_floor"]
    return [finding(claim, published, f"{fd:.1f} vs {floor:.1f} for held-out real data",
                    fd < 10 * max(floor, 1e-9))]


def gan_findings(results: dict, config, others: dict) -> list[dict]:
    """Lucic et al.'s ordering (GAN samples closer to the data than a VAE's) and the gap of
    the GAN's samples to held-out data, under the same classifier features."""
    out = _frechet_gap(results, "GAN samples near the data (Frechet distance within 10x the "
                       "real-data floor)", "NS-GAN FID 6.8 on MNIST with Inception features "
                       "(Lucic et al. 2018); gdm uses LeNet-5 features, so only gaps transfer")
    suffix = "_mnist" if config.dataset.name == "mnist_idx" else ""
    vae = others.get(f"vae_manifold{suffix}", {})  # the VAE on the same data
    if "eval/frechet_distance" in results and "eval/frechet_distance" in vae:
        gan_fd, vae_fd = results["eval/frechet_distance"], vae["eval/frechet_distance"]
        out.append(finding("GAN samples closer to the data than the VAE's",
                           "NS-GAN FID 6.8 vs VAE 23.8 on MNIST (Lucic et al. 2018, Table 2)",
                           f"GAN {gan_fd:.1f} vs VAE {vae_fd:.1f}", gan_fd < vae_fd))
    return out


def rbm_findings(results: dict, config, others: dict) -> list[dict]:
    """The AIS log-likelihood against the independent-pixel model on the same split, and the
    Gibbs samples against held-out data."""
    ll, floor = results["eval/log_likelihood"], independent_pixels_ll(config)
    out = [finding("RBM log-likelihood above independent pixels (AIS, nats per image)",
                   "-125.5 for a 500-hidden CD-1 RBM on MNIST (Salakhutdinov & Murray "
                   "2008, Table 2)",
                   f"{ll:.1f} vs {floor:.1f} for independent pixels", ll > floor)]
    return out + _frechet_gap(results, "Gibbs samples near the data (Frechet distance within "
                              "10x the real-data floor)", "samples resemble digits (Hinton 2002)")


def vae_findings(results: dict, config, others: dict) -> list[dict]:
    """The VAE's bound against the independent-pixel model, and its samples."""
    elbo, floor = results["eval/elbo"], independent_pixels_ll(config)
    out = [finding("VAE test ELBO above independent pixels (nats per image)",
                   "about -140 on MNIST with a 2-D latent (Kingma & Welling 2014, Fig. 2)",
                   f"{elbo:.1f} vs {floor:.1f} for independent pixels", elbo > floor)]
    return out + _frechet_gap(results, "samples near the data (Frechet distance within 10x "
                              "the real-data floor)", "every region of the latent grid decodes "
                              "to a digit (Kingma & Welling 2014, Fig. 4)")


def _mnist(**settings) -> dict:
    """Overrides that read the MNIST benchmark split from the report's mnist_dir."""
    return {"dataset.name": "mnist_idx", "dataset.data_dir": "{mnist_dir}", **settings}


DIGITS = {"dataset.name": "digits"}
TINY_LOOP = {"num_train_steps": 20, "log_every_steps": 10, "eval_every_steps": 20,
             "checkpoint_every_steps": 20}

ENTRIES: tuple[Entry, ...] = (
    Entry("gen_vs_disc", "experiments/gen_vs_disc.py",
          tiny_config="experiments/gen_vs_disc.py:tiny", seconds=60),
    Entry("decision_boundaries", "experiments/decision_boundaries.py",
          tiny_config="experiments/decision_boundaries.py:tiny", seconds=45),
    Entry("classifier_table", "experiments/classifier_table.py",
          tiny_config="experiments/classifier_table.py:tiny",
          mnist_config="experiments/classifier_table.py:mnist",
          mnist_overrides={"dataset.data_dir": "{mnist_dir}"}, seconds=120),
    Entry("forest_trees", "experiments/forest_trees.py",
          tiny_config="experiments/forest_trees.py:tiny", seconds=20),
    Entry("depth_ablation", "experiments/depth_ablation.py",
          tiny_config="experiments/depth_ablation.py:tiny", seconds=120),
    Entry("cnn_features", "experiments/cnn_features.py",
          tiny_config="experiments/cnn_features.py:tiny", seconds=30),
    Entry("features", "experiments/features.py", tiny_config="experiments/features.py:tiny",
          mnist_config="experiments/features.py:mnist",
          mnist_overrides={"dataset.data_dir": "{mnist_dir}"}, seconds=90),
    Entry("ae_vs_pca", "experiments/ae_vs_pca.py",
          overrides={**DIGITS, "code_sizes": (2, 5, 10, 20), "num_train_steps": 400,
                     "eval_every_steps": 400, "checkpoint_every_steps": 400,
                     "log_every_steps": 100},
          tiny_overrides={**DIGITS, "code_sizes": (2, 5), **TINY_LOOP},
          mnist_config="experiments/ae_vs_pca.py:benchmark",
          mnist_overrides=_mnist(), seconds=75),
    Entry("ae_vs_vae", "experiments/ae_vs_vae.py",
          overrides={**DIGITS, "num_train_steps": 600, "eval_every_steps": 600,
                     "checkpoint_every_steps": 600, "log_every_steps": 100},
          tiny_overrides={**DIGITS, **TINY_LOOP, "num_random_points": 16, "frechet": False},
          mnist_config="experiments/ae_vs_vae.py:benchmark", mnist_overrides=_mnist(),
          seconds=60),
    Entry("vae_manifold", "experiments/vae_manifold.py",
          overrides={**DIGITS, "num_train_steps": 600, "eval_every_steps": 600,
                     "checkpoint_every_steps": 600, "log_every_steps": 100,
                     "task_options.iwae_samples": 100},
          tiny_overrides={**DIGITS, **TINY_LOOP, "task_options.iwae_samples": 0,
                          "task_options.frechet": False},
          mnist_config="experiments/vae_manifold.py:benchmark", mnist_overrides=_mnist(),
          seconds=50, findings=vae_findings),
    Entry("gan_mnist", "experiments/gan_mnist.py",
          overrides={**DIGITS, "model.generator_features": 32,
                     "model.discriminator_features": 32, "optimizer.learning_rate": 1e-3,
                     "num_train_steps": 6000, "eval_every_steps": 6000,
                     "checkpoint_every_steps": 6000, "log_every_steps": 500},
          tiny_overrides={**DIGITS, **TINY_LOOP, "model.generator_features": 8,
                          "model.discriminator_features": 8, "task_options.frechet": False},
          mnist_config="experiments/gan_mnist.py:benchmark", mnist_overrides=_mnist(),
          seconds=60, findings=gan_findings),
    Entry("rbm_mnist", "experiments/rbm_mnist.py",
          overrides={**DIGITS, "model.num_hidden": 100, "num_train_steps": 1500,
                     "eval_every_steps": 1500, "checkpoint_every_steps": 1500,
                     "log_every_steps": 250, "task_options.ais_steps": 1000,
                     "task_options.sample_steps": 200},
          tiny_overrides={**DIGITS, **TINY_LOOP, "model.num_hidden": 16,
                          "task_options.ais_steps": 20, "task_options.ais_chains": 8,
                          "task_options.sample_steps": 5, "task_options.frechet": False},
          mnist_config="experiments/rbm_mnist.py:benchmark", mnist_overrides=_mnist(),
          seconds=25, findings=rbm_findings),
)
