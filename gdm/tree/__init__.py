"""Decision trees computed in JAX, with scikit-learn's API.

    from gdm.tree import DecisionTreeClassifier, DecisionTreeRegressor

Private modules: `_base` (the estimator base shared with gdm.ensemble), `_binning` (feature
quantile bins), `_grow` (breadth-first growth), `_split_search` (histogram split search),
`_sampling` (bootstrap and feature draws), `_predict` (descending the fitted trees).
"""

from gdm.tree._classes import DecisionTreeClassifier, DecisionTreeRegressor

__all__ = ["DecisionTreeClassifier", "DecisionTreeRegressor"]
