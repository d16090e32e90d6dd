"""Generative vs discriminative learning curves: naive Bayes vs logistic regression.

Ng & Jordan 2001 (Fig. 1): naive Bayes nears its asymptotic error with fewer examples than
logistic regression, whose asymptote is lower, so the curves often cross. Binary tasks,
Gaussian NB on continuous features and Bernoulli NB on binary ones, 100 random splits per
training-set size, fitted as one vmapped call per dataset (gdm/runners/gen_vs_disc.py states
the measured findings). `:tiny` runs two small sets with few splits (for tests).

    python -m gdm.main --config=experiments/gen_vs_disc.py --workdir=/tmp/gen_vs_disc
"""

import ml_collections


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.runner = "gen_vs_disc"
    c.seed = 0
    c.datasets = "breast_cancer,wine,iris,digits_3v8,digits_4v9,nb_synthetic"
    c.splits = 100
    c.points = 8
    c.test_fraction = 0.3
    c.min_per_class = 2  # the smallest training set: this many examples of each class
    c.var_smoothing = 1e-9  # GaussianNB's default
    c.alpha = 1.0  # BernoulliNB's Laplace smoothing
    c.lr_C_weak = 1e4  # "unregularized" logistic regression (unique on separable samples)
    c.lr_C = 1.0  # the L2-default line
    c.lr_tol = 1e-4
    c.lr_max_iter = 100
    c.asymptote_tol = 0.01  # "at its asymptote": within this of the error at the largest m
    if arg == "tiny":
        c.datasets = "nb_synthetic,iris"
        c.splits = 8
        c.points = 4
        c.lr_max_iter = 50
    elif arg:
        raise ValueError(f"gen_vs_disc config arg must be 'tiny' or empty, got {arg!r}")
    return c
