"""Random forests grown in JAX (all trees of a fit in few compiled calls), scikit-learn's API.

    from gdm.ensemble import RandomForestClassifier, RandomForestRegressor

The trees are gdm.tree's: `_forest` adds bootstrap, out-of-bag scores and averaging.
"""

from gdm.ensemble._forest import RandomForestClassifier, RandomForestRegressor

__all__ = ["RandomForestClassifier", "RandomForestRegressor"]
