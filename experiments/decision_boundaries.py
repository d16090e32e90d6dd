"""Decision boundaries on moons, circles and linearly separable data, plus the max-margin plot.

Expected test accuracy: linear models ~85-88% on moons and ~50% on circles (no linear boundary
exists); RBF SVM, k-NN and the forest ~95-100% on both; all ~100% on 'linear'. ~1 minute on CPU.
"""

import ml_collections


def get_config(arg=None):
    c = ml_collections.ConfigDict()
    c.runner = "decision_boundaries"
    c.seed = 0
    c.datasets = "moons,circles,linear"
    c.n_samples = 400
    c.resolution = 150
    return c
