"""Shared test fixtures: where the real MNIST files are (when this machine has them)."""

from __future__ import annotations

import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_DIR = os.path.join(REPO, "..", "shared", "data", "mnist")


@pytest.fixture
def mnist_dir() -> str:
    """../shared/data/mnist, or a clean skip on machines without it (users' machines)."""
    if not os.path.exists(os.path.join(MNIST_DIR, "t10k-images-idx3-ubyte.gz")):
        pytest.skip("real MNIST files not present at ../shared/data/mnist")
    return MNIST_DIR


@pytest.fixture
def python() -> str:
    return sys.executable
