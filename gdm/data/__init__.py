"""Datasets by name -> numpy arrays with train/test(/validation) splits fixed by seed.

    from gdm import data
    ds = data.load("digits", seed=0)                     # scikit-learn's bundled 8x8 digits
    ds = data.load("mnist_idx", data_dir="path/to/mnist_idx", flatten=True)
    ds = data.load("fashion_mnist", data_dir="~/tensorflow_datasets")  # tfds, no TensorFlow
"""

from __future__ import annotations

import os

import numpy as np

from gdm.data.dataset import Dataset, split_by_seed
from gdm.data.embedded import NAMES as EMBEDDED_NAMES
from gdm.data.embedded import load_embedded
from gdm.data.idx import load_idx_dir

NORMALIZATIONS = ("auto", "none", "unit", "standardize")

__all__ = ["Dataset", "EMBEDDED_NAMES", "NORMALIZATIONS", "load", "load_mnist_benchmark"]


def _raw(name: str, data_dir: str | None, seed: int, n_samples, noise):
    """Returns (task, x_train, y_train, x_test|None, y_test|None, is_image)."""
    if name in EMBEDDED_NAMES:
        task, x, y = load_embedded(name, seed=seed, n_samples=n_samples, noise=noise)
        return task, x, y, None, None, x.ndim == 3
    if name == "mnist_idx":
        splits = load_idx_dir(data_dir)
        if "train" in splits and "test" in splits:
            return ("classification", *splits["train"], *splits["test"], True)
        (x, y), = splits.values()
        return "classification", x.astype(np.float32) / 255.0, y, None, None, True
    from gdm.data import tfds as tfds_source  # imported lazily: tfds is heavy.

    (xtr, ytr), (xte, yte) = tfds_source.load_arrays(name, data_dir=data_dir)
    return "classification", xtr, ytr, xte, yte, xtr.ndim >= 3


def load(
    name: str,
    *,
    data_dir: str | None = None,
    seed: int = 0,
    test_fraction: float = 0.2,
    validation_fraction: float = 0.0,
    normalize: str = "auto",
    flatten: bool = False,
    binarize: float | None = None,
    n_samples: int | None = None,
    noise: float | None = None,
) -> Dataset:
    """Loads dataset `name` (embedded, `mnist_idx`, or any tensorflow-datasets name).

    Sets without a test split are split by `default_rng(seed).permutation`; validation is cut
    from the training part. normalize: "auto" scales images to [0, 1] and standardizes tabular
    features with training statistics; "unit" scales to [0, 1]; "standardize"; "none".
    binarize=t maps values > t to 1 (after scaling). Images are NHWC unless flatten=True.
    """
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"dataset.normalize must be one of {NORMALIZATIONS}, got {normalize!r}")
    task, xtr, ytr, xte, yte, is_image = _raw(name, data_dir, seed, n_samples, noise)
    pixels_uint8 = np.asarray(xtr).dtype == np.uint8  # tfds images: scale to [0, 1]
    xtr = np.asarray(xtr, np.float32)
    if xte is None:
        (xtr, ytr), (xva, yva), (xte, yte) = split_by_seed(
            xtr, ytr, seed=seed, test_fraction=test_fraction,
            validation_fraction=validation_fraction)
    else:
        xte = np.asarray(xte, np.float32)
        (xtr, ytr), (xva, yva), _ = split_by_seed(
            xtr, ytr, seed=seed, test_fraction=0.0, validation_fraction=validation_fraction)
    if pixels_uint8:
        xtr, xva, xte = xtr / 255.0, xva / 255.0, xte / 255.0
    if is_image and xtr.ndim == 3:
        xtr, xva, xte = xtr[..., None], xva[..., None], xte[..., None]
    if normalize == "standardize" or (normalize == "auto" and not is_image):
        mean, std = xtr.mean(0), xtr.std(0)
        std = np.where(std > 0, std, 1.0)
        xtr, xva, xte = ((a - mean) / std for a in (xtr, xva, xte))
    elif normalize == "unit" and not is_image:
        lo, hi = xtr.min(0), xtr.max(0)
        scale = np.where(hi > lo, hi - lo, 1.0)
        xtr, xva, xte = ((a - lo) / scale for a in (xtr, xva, xte))
    if binarize is not None:
        xtr, xva, xte = ((a > binarize).astype(np.float32) for a in (xtr, xva, xte))
    image_shape = tuple(xtr.shape[1:]) if is_image else None
    if flatten:
        xtr, xva, xte = (a.reshape(len(a), int(np.prod(a.shape[1:]))) for a in (xtr, xva, xte))
    ytype = np.float32 if task == "regression" else np.int32
    ytr, yva, yte = (np.asarray(a, ytype) for a in (ytr, yva, yte))
    num_classes = int(max(ytr.max(), yte.max()) + 1) if task == "classification" else 0
    return Dataset(
        name=name, task=task, num_classes=num_classes, image_shape=image_shape,
        x_train=xtr.astype(np.float32), y_train=ytr, x_test=xte.astype(np.float32), y_test=yte,
        x_val=xva.astype(np.float32) if validation_fraction else None,
        y_val=yva if validation_fraction else None)


MNIST_DIR_ENV = "GDM_MNIST_DIR"


def default_mnist_dir() -> str:
    """The MNIST IDX directory the environment names ($GDM_MNIST_DIR), or "" when unset: the
    default `dataset.data_dir` of the experiments' MNIST `:benchmark` settings."""
    return os.path.expanduser(os.environ.get(MNIST_DIR_ENV, ""))


def load_mnist_benchmark(data_dir: str, *, flatten: bool = True) -> Dataset:
    """The benchmark split: MNIST's 10k test set in IDX format, permuted by rng(0) and split
    8,000 train / 2,000 test."""
    return load("mnist_idx", data_dir=data_dir, seed=0, test_fraction=0.2, flatten=flatten)
