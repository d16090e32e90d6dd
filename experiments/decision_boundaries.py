"""Decision boundaries of every gdm classifier on moons, circles and linear data; max margin.

Logistic regression, linear and RBF SVMs, k-NN, a decision tree, a random forest, an MLP and
Gaussian naive Bayes on 5 seeds (each its own sample and split), scikit-learn's counterparts
on the same splits, and hard-margin linear and RBF SVMs against libsvm; the expected and
measured findings are in gdm/runners/decision_boundaries.py. `:tiny` is the small setting the
tests run.

    python -m gdm.main --config=experiments/decision_boundaries.py --workdir=/tmp/db
"""

import ml_collections


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.runner = "decision_boundaries"
    c.seed = 0
    c.seeds = 5
    c.datasets = "moons,circles,linear"
    c.n_samples = 400
    c.test_fraction = 0.2
    c.resolution = 150  # grid points per axis of each panel
    # Hyperparameters, the same for gdm's models and scikit-learn's.
    c.logreg_C = 1.0
    c.linear_svm_C = 1.0
    c.rbf_svm_C = 10.0
    c.rbf_gamma = "scale"  # or a number as text, e.g. "0.5"
    c.knn_k = 15
    c.tree_max_depth = 6
    c.forest_trees = 100
    c.mlp_hidden = (32, 32)
    c.mlp_lr = 0.01
    c.mlp_alpha = 1e-4
    c.mlp_steps = 500  # full-batch Adam steps
    # Max-margin figure: hard-margin (C large) linear SVM on 'linear', RBF SVM on this set.
    c.margin_C = 1e3
    c.margin_n_samples = 120
    c.margin_rbf_dataset = "circles"
    if arg == "tiny":
        c.seeds = 2
        c.n_samples = 200
        c.resolution = 24
        c.forest_trees = 20
        c.mlp_steps = 300
    elif arg:
        raise ValueError(f"decision_boundaries config arg must be 'tiny' or empty, got {arg!r}")
    return c
