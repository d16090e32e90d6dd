"""Random forest on digits: test and out-of-bag error vs number of trees (Breiman 2001).

Breiman: the error converges as trees are added (no overfitting), and the OOB error estimates
it. gdm.ensemble.RandomForestClassifier, 1..200 trees, 5 seeds (each its own split and
forest), plus the 8x8 feature-importance image; gdm/runners/forest_trees.py states the
measured findings. `:tiny` grows 100 trees for 2 seeds (for tests).

    python -m gdm.main --config=experiments/forest_trees.py --workdir=/tmp/forest_trees
"""

import ml_collections


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.runner = "forest_trees"
    c.seed = 0
    c.seeds = 5
    c.n_trees = 200
    c.points = 12  # tree counts on a geometric grid from 1 to n_trees
    c.test_fraction = 0.25
    c.max_features = "sqrt"
    if arg == "tiny":
        c.seeds = 2
        c.n_trees = 100
        c.points = 6
    elif arg:
        raise ValueError(f"forest_trees config arg must be 'tiny' or empty, got {arg!r}")
    return c
