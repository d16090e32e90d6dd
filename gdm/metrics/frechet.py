"""Frechet distance between samples and data in the feature space of gdm's own classifier.

NOT Inception FID. FID (Heusel et al. 2017) embeds images with an ImageNet Inception-v3 network,
which needs downloaded weights and is meaningless on 28x28 digits anyway. Here the embedding is
the penultimate layer (84 units, after ReLU) of a LeNet-5 that gdm trains on the same data
(same dataset, preprocessing and seed) through the shared training loop, so the metric works
offline and for any image dataset gdm loads. Numbers are comparable between models measured
with the same classifier (same cache key), not with published FIDs: the ordering is what
transfers (Lucic et al. 2018 report NS-GAN 6.8 vs VAE 16.6 FID on MNIST).

    d^2 = |mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2))

Reference statistics come from the training split; `eval/frechet_distance_floor` is the
distance of the held-out test split to them: what a perfect generator would score at that
sample size (the estimate is biased upwards for small sample sizes, so compare models at the
same number of samples, the tasks use as many samples as test examples).

The classifier is trained once per (dataset, preprocessing, seed) and cached under `cache_dir`
(default $GDM_CACHE or ~/.cache/gdm, subfolder frechet/<key>): its loop workdir (orbax
checkpoints, metrics.jsonl, results.json) plus `reference.npz` with the training features'
mean and covariance.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
from typing import Any

import jax
import ml_collections
import numpy as np

_LOADED: dict[str, tuple[Any, Any, dict]] = {}  # classifiers restored in this process
FEATURE_LAYER = "Dense_1"  # LeNet-5's 84-unit layer: the input of the logits layer.


def gaussian_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and unbiased covariance (D, D) of features (N, D), in float64."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"features must have shape (N >= 2, D), got {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(mean1: np.ndarray, cov1: np.ndarray, mean2: np.ndarray,
                     cov2: np.ndarray) -> float:
    """Squared Frechet (2-Wasserstein) distance between N(mean1, cov1) and N(mean2, cov2).

    Tr((S1 S2)^(1/2)) is computed as the sum of square roots of the eigenvalues of the
    symmetric PSD matrix S1^(1/2) S2 S1^(1/2) (same spectrum as S1 S2), which avoids the
    complex round-off of a general matrix square root. Float64 on host: it runs once per
    evaluation on a D x D matrix, and float32 loses the cancellation when the sets are close.
    """
    mean1, mean2 = np.asarray(mean1, np.float64), np.asarray(mean2, np.float64)
    cov1, cov2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
    if mean1.shape != mean2.shape or cov1.shape != cov2.shape or cov1.shape != 2 * mean1.shape:
        raise ValueError(f"shapes do not match: means {mean1.shape}, {mean2.shape}; "
                         f"covariances {cov1.shape}, {cov2.shape}")
    root1 = _sqrt_psd(cov1)
    middle = root1 @ cov2 @ root1
    trace_sqrt = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)))
    diff = mean1 - mean2
    return float(max(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * trace_sqrt, 0.0))


def default_cache_dir() -> str:
    return os.path.join(os.environ.get("GDM_CACHE") or os.path.expanduser("~/.cache/gdm"),
                        "frechet")


def classifier_config(config: ml_collections.ConfigDict,
                      num_train_steps: int = 1500) -> ml_collections.ConfigDict:
    """The run config of the feature classifier: the generative run's data settings and seed,
    LeNet-5, Adam 1e-3, batch 128, images unflattened (1,500 steps: ~24 epochs of the 8,000
    image benchmark split: 97.5% test accuracy binarized at 0.5)."""
    cfg = copy.deepcopy(config)
    with cfg.unlocked():
        cfg.task = "classify"
        cfg.runner = "train"
        cfg.model = ml_collections.ConfigDict({"name": "lenet5"})
        cfg.task_options = ml_collections.ConfigDict()
        cfg.dataset.flatten = False
        cfg.batch_size = 128
        cfg.eval_batch_size = 1000
        cfg.num_train_steps = int(num_train_steps)
        cfg.log_every_steps = 100
        cfg.eval_every_steps = int(num_train_steps)
        cfg.checkpoint_every_steps = int(num_train_steps)
        cfg.keep_checkpoints = 1
        cfg.optimizer = ml_collections.ConfigDict({
            "name": "adam", "learning_rate": 1e-3, "schedule": "constant", "warmup_steps": 0,
            "momentum": 0.9, "weight_decay": 0.0})
    return cfg


def cache_key(config: ml_collections.ConfigDict) -> str:
    """Dataset, preprocessing and seed: what decides the classifier and the reference set."""
    ds = config.dataset
    fields = {"name": ds.name, "data_dir": os.path.abspath(os.path.expanduser(ds.data_dir))
              if ds.get("data_dir") else "",
              "normalize": ds.get("normalize", "auto"), "binarize": ds.get("binarize", -1.0),
              "test_fraction": ds.get("test_fraction", 0.2),
              "validation_fraction": ds.get("validation_fraction", 0.0), "seed": config.seed}
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:10]
    return f"{ds.name}-seed{config.seed}-{digest}"


@functools.partial(jax.jit, static_argnames=("model",))
def _features_chunk(model, variables, x):
    _, state = model.apply(variables, x, train=False, capture_intermediates=True,
                           mutable=["intermediates"])
    return jax.nn.relu(state["intermediates"][FEATURE_LAYER]["__call__"][0])


class ClassifierFeatures:
    """The feature map x -> relu(LeNet-5 penultimate layer), trained and cached on first use."""

    def __init__(self, config: ml_collections.ConfigDict, cache_dir: str | None = None,
                 num_train_steps: int = 1500, chunk_size: int = 500):
        self.config = classifier_config(config, num_train_steps)
        self.directory = os.path.join(cache_dir or default_cache_dir(), cache_key(config))
        self.chunk_size = chunk_size
        self._model = self._variables = None
        self.results: dict[str, Any] = {}

    def _load(self) -> None:
        if self._model is not None:
            return
        if self.directory in _LOADED:  # one restore per process and cache entry
            self._model, self._variables, self.results = _LOADED[self.directory]
            return
        from gdm.train import loop  # lazy: the metric module stays importable without training
        from gdm.train.restore import restore_state

        workdir = os.path.join(self.directory, "classifier")
        results_path = os.path.join(workdir, "results.json")
        if os.path.exists(results_path):  # trained earlier: the loop wrote results at the end
            with open(results_path) as f:
                self.results = json.load(f)
        else:
            self.results = loop.train_and_evaluate(self.config, workdir, quiet=True)
        _, self._model, state = restore_state(self.config, workdir)
        self._variables = {"params": state.params, **state.model_state}
        _LOADED[self.directory] = (self._model, self._variables, self.results)

    def __call__(self, x: np.ndarray, image_shape: tuple[int, ...]) -> np.ndarray:
        """Features (N, 84) of samples x (N, ...) reshaped to `image_shape`, in fixed-size
        chunks so one compiled function serves any N."""
        self._load()
        x = np.asarray(x, np.float32).reshape(len(x), *image_shape)
        out = []
        for start in range(0, len(x), self.chunk_size):  # chunks bound memory; shapes repeat
            chunk = x[start:start + self.chunk_size]
            padded = np.zeros((self.chunk_size, *image_shape), np.float32)
            padded[:len(chunk)] = chunk
            feats = _features_chunk(self._model, self._variables, padded)
            out.append(np.asarray(feats)[:len(chunk)])
        return np.concatenate(out)


def _reference(features: ClassifierFeatures, config: ml_collections.ConfigDict):
    """(train mean, train covariance, floor) from the cache, computed once."""
    path = os.path.join(features.directory, "reference.npz")
    if os.path.exists(path):
        with np.load(path, allow_pickle=False) as ref:
            return ref["mean"], ref["cov"], float(ref["floor"]), tuple(ref["image_shape"])
    from gdm import data

    ds = config.dataset
    dataset = data.load(ds.name, data_dir=ds.get("data_dir") or None, seed=config.seed,
                        test_fraction=ds.get("test_fraction", 0.2),
                        validation_fraction=ds.get("validation_fraction", 0.0),
                        normalize=ds.get("normalize", "auto"), flatten=False,
                        binarize=None if ds.get("binarize", -1.0) < 0 else ds.binarize)
    if dataset.image_shape is None:
        raise ValueError(f"the Frechet distance needs an image dataset; {ds.name!r} is not one")
    image_shape = dataset.image_shape
    mean, cov = gaussian_statistics(features(dataset.x_train, image_shape))
    floor = frechet_distance(*gaussian_statistics(features(dataset.x_test, image_shape)),
                             mean, cov)
    os.makedirs(features.directory, exist_ok=True)
    tmp = path + f".{os.getpid()}.tmp.npz"
    np.savez(tmp, mean=mean, cov=cov, floor=floor, image_shape=np.asarray(image_shape))
    os.replace(tmp, path)  # atomic: concurrent runs never read a half-written file
    return mean, cov, floor, image_shape


def frechet_distance_to_data(samples: np.ndarray, config: ml_collections.ConfigDict, *,
                             cache_dir: str | None = None,
                             classifier_steps: int = 1500) -> dict[str, float]:
    """Frechet distance of `samples` to the training data of `config.dataset`.

    Args:
      samples: (N, ...) model samples in the data's scale ([0, 1] images), flat or NHWC; use
        as many as the test split has examples so they compare with the floor.
      config: the generative run's config (its seed and dataset settings pick the classifier
        and the reference data).
      cache_dir: cache root (default $GDM_CACHE or ~/.cache/gdm, then frechet/).
    Returns:
      {"eval/frechet_distance": samples vs training data,
       "eval/frechet_distance_floor": held-out test data vs training data,
       "eval/frechet_classifier_accuracy": the feature classifier's test accuracy}.
    """
    features = ClassifierFeatures(config, cache_dir, classifier_steps)
    mean, cov, floor, image_shape = _reference(features, config)
    distance = frechet_distance(*gaussian_statistics(features(samples, image_shape)), mean, cov)
    out = {"eval/frechet_distance": distance, "eval/frechet_distance_floor": floor}
    accuracy = features.results.get("eval/accuracy") if features.results else None
    if accuracy is not None:
        out["eval/frechet_classifier_accuracy"] = float(accuracy)
    return out
