"""Autoencoder vs PCA reconstruction error over a sweep of code sizes (experiments/ae_vs_pca.py).

Each code size is one ordinary training run (sub-workdir code_<K>, so the sweep resumes run by
run); PCA is scikit-learn's, fitted on the same training split and scored on the same test
split with the same per-pixel MSE as the reconstruct task.
"""

from __future__ import annotations

import copy
import os

import ml_collections
import numpy as np
from sklearn.decomposition import PCA

from gdm.figures import generative
from gdm.runners.findings import finding
from gdm.train.logging import write_results
from gdm.train.loop import load_dataset, train_and_evaluate

PUBLISHED = ("30-D codes on MNIST: deep autoencoder 3.00 vs PCA 13.87 squared error per image "
             "(Hinton & Salakhutdinov 2006, Fig. 2)")


def findings(results: dict) -> list[dict]:
    """The autoencoder below PCA at every code size, and the gap at the largest size."""
    sizes = sorted(int(k.split("@")[1]) for k in results if k.startswith("ae/mse@"))
    wins = [k for k in sizes if results[f"ae/mse@{k}"] < results[f"pca/mse@{k}"]]
    per_size = ", ".join(f"{k}: {results[f'ae/sse@{k}']:.2f} vs {results[f'pca/sse@{k}']:.2f}"
                         for k in sizes)
    return [finding("autoencoder reconstructs better than PCA at every code size", PUBLISHED,
                    f"AE below PCA at {len(wins)} of {len(sizes)} sizes (squared error per "
                    f"image, AE vs PCA: {per_size})", len(wins) == len(sizes))]


def code_sizes_of(config: ml_collections.ConfigDict) -> tuple[int, ...]:
    sizes = config.get("code_sizes", None)
    if sizes is None:
        raise ValueError("config.code_sizes is missing (e.g. (2, 5, 10, 20, 30))")
    sizes = (sizes,) if isinstance(sizes, int) else tuple(sizes)
    if not sizes or any(not isinstance(k, int) or isinstance(k, bool) or k < 1 for k in sizes):
        raise ValueError(f"config.code_sizes must be positive integers, got {sizes!r}")
    return sizes


def pca_errors(x_train: np.ndarray, x_test: np.ndarray, code_size: int, seed: int,
               ) -> tuple[float, float]:
    """(MSE per value, squared error per example) of a PCA with `code_size` components."""
    flat_train = x_train.reshape(len(x_train), -1)
    flat_test = x_test.reshape(len(x_test), -1)
    if code_size > min(flat_train.shape):
        raise ValueError(f"config.code_sizes: {code_size} exceeds what PCA can fit on "
                         f"{flat_train.shape[0]} examples of {flat_train.shape[1]} features")
    pca = PCA(n_components=code_size, random_state=seed).fit(flat_train)
    squared = np.square(pca.inverse_transform(pca.transform(flat_test)) - flat_test)
    return float(squared.mean()), float(squared.sum(axis=1).mean())


def run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    if config.task != "reconstruct" or config.model.name != "autoencoder":
        raise ValueError("the ae_vs_pca runner needs config.task='reconstruct' and "
                         "config.model.name='autoencoder'")
    sizes = code_sizes_of(config)
    dataset = load_dataset(config)
    results: dict[str, float] = {}
    for size in sizes:
        sub = copy.deepcopy(config)
        with sub.unlocked():
            sub.runner = "train"
            sub.model.code_size = int(size)
            del sub["code_sizes"]
        out = train_and_evaluate(sub, os.path.join(workdir, f"code_{size}"), quiet=True)
        pca_mse, pca_sse = pca_errors(dataset.x_train, dataset.x_test, size, config.seed)
        results.update({f"ae/mse@{size}": out["eval/mse"], f"ae/sse@{size}": out["eval/sse"],
                        f"pca/mse@{size}": pca_mse, f"pca/sse@{size}": pca_sse})
        print(f"code size {size}: autoencoder MSE {out['eval/mse']:.5f}, PCA MSE "
              f"{pca_mse:.5f}", flush=True)
    generative.mse_curve(sizes, {"autoencoder": [results[f"ae/mse@{k}"] for k in sizes],
                                 "PCA": [results[f"pca/mse@{k}"] for k in sizes]},
                         os.path.join(workdir, "figures"))
    os.makedirs(workdir, exist_ok=True)
    write_results(workdir, results)
    return results
