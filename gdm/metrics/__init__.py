"""Offline sample-quality metrics for generative models (see gdm.metrics.frechet)."""

from gdm.metrics.frechet import (
    ClassifierFeatures,
    frechet_distance,
    frechet_distance_to_data,
    gaussian_statistics,
)

__all__ = ["ClassifierFeatures", "frechet_distance", "frechet_distance_to_data",
           "gaussian_statistics"]
