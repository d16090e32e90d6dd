"""Generative vs discriminative learning curves: naive Bayes vs logistic regression.

Ng & Jordan 2001 (Fig. 1, UCI sets): naive Bayes nears its asymptotic error with fewer examples;
logistic regression's asymptote is lower, so the curves often cross. Measured here (Gaussian NB
and L2 logistic regression with scikit-learn's defaults, standardized features): logistic
regression's asymptote is lower on all three sets (digits at full size: NB ~0.20 vs LR ~0.02 test
error), but Gaussian NB is NOT ahead at small m: its per-class variances from a handful of
examples are poor (see the README's results). ~1-2 minutes on 2 CPU cores.
"""

import ml_collections


def get_config(arg=None):
    c = ml_collections.ConfigDict()
    c.runner = "gen_vs_disc"
    c.seed = 0
    c.datasets = "breast_cancer,wine,digits"
    c.repeats = 5
    c.points = 8
    return c
