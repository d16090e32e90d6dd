"""Shared test fixtures: the real MNIST files, when the environment points at them."""

from __future__ import annotations

import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# An MNIST IDX directory (t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz); tests that need
# the real digits skip without it.
MNIST_DIR = os.environ.get("GDM_MNIST_DIR", "")


def has_mnist() -> bool:
    return bool(MNIST_DIR) and os.path.exists(os.path.join(MNIST_DIR,
                                                           "t10k-images-idx3-ubyte.gz"))


@pytest.fixture
def mnist_dir() -> str:
    """The directory GDM_MNIST_DIR names, or a clean skip where it is not set."""
    if not has_mnist():
        pytest.skip("set GDM_MNIST_DIR to an MNIST IDX directory to run this test")
    return MNIST_DIR


@pytest.fixture
def python() -> str:
    return sys.executable
