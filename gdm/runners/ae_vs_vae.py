"""Autoencoder vs VAE with the same latent size, side by side (experiments/ae_vs_vae.py).

The point, drawn and measured: an autoencoder's codes form clusters with gaps and sit
wherever training put them, so decoding points drawn from N(0, I) gives mostly non-digits; the
VAE's KL term makes its latent space continuous and matched to that prior, so the same points
decode to digits. Both models are ordinary training runs (sub-workdirs 'vae' and 'ae'); this
runner then restores them and draws:
  figures/latent_scatter_ae_vs_vae  test codes (AE) and posterior means (VAE), by class
  figures/random_decoding_ae_vs_vae the same N(0, I) points decoded by each model
  figures/manifold_ae_vs_vae        (2-D latents) the inverse-CDF grid decoded by each model
With config.frechet, it also scores the decoded N(0, I) points of each model with gdm's
classifier-feature Frechet distance (ae/frechet_random_normal, vae/frechet_random_normal).
"""

from __future__ import annotations

import copy
import os

import jax
import ml_collections
import numpy as np

from gdm.figures import generative
from gdm.runners.findings import finding
from gdm.train.logging import write_results
from gdm.train.loop import load_dataset, train_and_evaluate
from gdm.train.restore import restore_state


def findings(results: dict) -> list[dict]:
    """The VAE's decodings of prior samples nearer the data than the autoencoder's."""
    if "vae/frechet_random_normal" not in results:
        return []
    vae, ae = results["vae/frechet_random_normal"], results["ae/frechet_random_normal"]
    return [finding("decoding z ~ N(0, I) gives digits with the VAE, not with the autoencoder",
                    "the VAE's KL term matches its codes to the prior (Kingma & Welling 2014, "
                    "Sec. 2.3 and Fig. 4)",
                    f"Frechet distance of decoded N(0, I) points: VAE {vae:.1f} vs AE {ae:.1f} "
                    f"(real-data floor {results['frechet_floor']:.1f})", vae < ae)]


RUNNER_KEYS = ("ae_model", "ae_loss", "num_random_points", "frechet", "frechet_cache_dir")


def split_configs(config: ml_collections.ConfigDict):
    """(vae_config, ae_config): the top level is the VAE run; `ae_model` and `ae_loss` replace
    its model and task for the autoencoder run (same data, optimizer, steps and seed)."""
    if config.task != "elbo" or config.model.name != "vae":
        raise ValueError("the ae_vs_vae runner needs config.task='elbo' and "
                         "config.model.name='vae' (the autoencoder comes from config.ae_model)")
    if "ae_model" not in config:
        raise ValueError("config.ae_model is missing (the autoencoder's model fields)")
    vae = copy.deepcopy(config)
    with vae.unlocked():
        vae.runner = "train"
        for key in RUNNER_KEYS:
            if key in vae:
                del vae[key]
        vae.task_options.frechet = False
    ae = copy.deepcopy(vae)
    with ae.unlocked():
        ae.task = "reconstruct"
        ae.model = ml_collections.ConfigDict({"name": "autoencoder", **config.ae_model.to_dict()})
        ae.task_options = ml_collections.ConfigDict(
            {"loss": config.get("ae_loss", "bce"), "figures": True})
    code, latent = ae.model.get("code_size", 30), vae.model.get("latent_size", 20)
    if code != latent:
        raise ValueError(f"config.ae_model.code_size ({code}) must equal config.model."
                         f"latent_size ({latent}) so both decode the same latent points")
    return vae, ae


def run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    vae_config, ae_config = split_configs(config)
    num_points = int(config.get("num_random_points", 100))
    if num_points < 1:
        raise ValueError(f"config.num_random_points must be >= 1, got {num_points}")
    results = {}
    for name, sub in (("vae", vae_config), ("ae", ae_config)):
        out = train_and_evaluate(sub, os.path.join(workdir, name), quiet=True)
        results.update({f"{name}/{k}": v for k, v in out.items()})

    dataset = load_dataset(vae_config)
    models = {}
    for name, sub in (("vae", vae_config), ("ae", ae_config)):
        _, model, state = restore_state(sub, os.path.join(workdir, name), dataset)
        models[name] = (model, {"params": state.params, **state.model_state})

    def encode(name):
        model, variables = models[name]
        return generative.encode_means(model, variables, np.asarray(dataset.x_test, np.float32))

    def decode(name, z):
        model, variables = models[name]
        return np.asarray(model.apply(variables, jax.numpy.asarray(z), method="decode"))

    directory = os.path.join(workdir, "figures")
    labels = np.asarray(dataset.y_test)
    axes = ("z1", "z2") if vae_config.model.latent_size == 2 else ("PC 1", "PC 2")
    generative.latent_scatter(
        {"autoencoder codes": (generative.project_2d(encode("ae")), labels),
         "VAE posterior means": (generative.project_2d(encode("vae")), labels)},
        directory, "latent_scatter_ae_vs_vae", axes)
    z = np.asarray(jax.random.normal(jax.random.key(int(config.seed)),
                                     (num_points, int(vae_config.model.latent_size))))
    decoded = {name: decode(name, z) for name in ("ae", "vae")}
    shape = generative.image_shape_of(dataset)
    if shape is not None:
        generative.decoded_side_by_side({"autoencoder: decode z ~ N(0, I)": decoded["ae"],
                                         "VAE: decode z ~ N(0, I)": decoded["vae"]},
                                        shape, directory, "random_decoding_ae_vs_vae")
        if vae_config.model.latent_size == 2:
            grid = generative.manifold_points(20)
            generative.decoded_side_by_side({"autoencoder": decode("ae", grid),
                                             "VAE": decode("vae", grid)},
                                            shape, directory, "manifold_ae_vs_vae")
    if config.get("frechet", False):
        from gdm.metrics.frechet import frechet_distance_to_data

        cache = config.get("frechet_cache_dir", "") or None
        for name in ("ae", "vae"):
            out = frechet_distance_to_data(decoded[name], vae_config, cache_dir=cache)
            results[f"{name}/frechet_random_normal"] = out["eval/frechet_distance"]
            results["frechet_floor"] = out["eval/frechet_distance_floor"]
    os.makedirs(workdir, exist_ok=True)
    write_results(workdir, results)
    return results
