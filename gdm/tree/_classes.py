"""Decision trees computed in JAX, with scikit-learn's API (`from gdm.tree import ...`).

Features are binned once (at most `max_bins` quantile bins, exact midpoints when a feature has
fewer distinct values), then the tree grows breadth first with vectorized histogram split
search; see gdm/tree/_grow.py. With few distinct values per feature the splits are exactly
scikit-learn's. Missing values are not supported (NaN raises ValueError).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import StrOptions

from gdm.tree._base import CHUNK_DOC, _BaseForest
from gdm.utils.validation import store_init_params

__all__ = ["DecisionTreeClassifier", "DecisionTreeRegressor"]


class _ClassifierOutputs:
    """predict / predict_proba / apply shared by the tree and forest classifiers."""

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (n_samples, n_classes): leaf class fractions, averaged over
        trees for a forest."""
        proba = self._mean_value(X)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class DecisionTreeClassifier(_ClassifierOutputs, ClassifierMixin, _BaseForest):
    __doc__ = f"""Decision tree classifier (CART, binary splits) grown in JAX.

    Parameters follow sklearn.tree.DecisionTreeClassifier: criterion ("gini", "entropy",
    "log_loss"), max_depth (None: grow until pure or stopped by min_samples_*),
    min_samples_split, min_samples_leaf, max_features, random_state, class_weight; plus
    max_bins : int, default=256
        Histogram bins per feature (2..256).
    {CHUNK_DOC}
    """

    _parameter_constraints = {
        **_BaseForest._parameter_constraints,
        "criterion": [StrOptions({"gini", "entropy", "log_loss"})],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(self, *, criterion="gini", max_depth=None, min_samples_split=2,
                 min_samples_leaf=1, min_weight_fraction_leaf=0.0,
                 max_features=None, random_state=None, class_weight=None,
                 max_bins=256, node_chunk=32, chunk_size=None, sample_chunk=4096,
                 n_devices=None):
        store_init_params(self, locals())

    def fit(self, X, y, sample_weight=None) -> DecisionTreeClassifier:
        return self._fit(X, y, sample_weight)

    def apply(self, X) -> np.ndarray:
        """Index of the leaf each sample ends in (node ids are breadth-first)."""
        return self._apply(X)[:, 0]


class DecisionTreeRegressor(RegressorMixin, _BaseForest):
    __doc__ = f"""Decision tree regressor (squared error) grown in JAX.

    Parameters follow sklearn.tree.DecisionTreeRegressor: criterion ("squared_error"),
    max_depth, min_samples_split, min_samples_leaf, max_features, random_state; plus
    max_bins : int, default=256
    {CHUNK_DOC}
    """

    _classifier = False
    _parameter_constraints = {
        **_BaseForest._parameter_constraints,
        "criterion": [StrOptions({"squared_error"})],
    }

    def __init__(self, *, criterion="squared_error", max_depth=None, min_samples_split=2,
                 min_samples_leaf=1, min_weight_fraction_leaf=0.0,
                 max_features=None, random_state=None, max_bins=256,
                 node_chunk=32, chunk_size=None, sample_chunk=4096, n_devices=None):
        store_init_params(self, locals())

    def fit(self, X, y, sample_weight=None) -> DecisionTreeRegressor:
        return self._fit(X, y, sample_weight)

    def predict(self, X) -> np.ndarray:
        return self._mean_value(X)[:, 0].astype(np.float64)

    def apply(self, X) -> np.ndarray:
        return self._apply(X)[:, 0]
