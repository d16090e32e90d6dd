"""Random forests computed in JAX, with scikit-learn's API (`from gdm.ensemble import ...`).

Trees grow in compiled programs of several trees each (one after another inside on CPU;
in vmapped lockstep on toy problems and on GPU / TPU, as many as `chunk_size` allows) and
predict together; see gdm/tree/. Full depth by default, like scikit-learn, so accuracy
matches it.

check_estimator: every check passes except check_sample_weight_equivalence_on_dense_data,
which scikit-learn also lists as an expected failure for its own forests: with bootstrap,
sample_weight=2 and a repeated row give the same distribution of trees, not the same trees.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions

from gdm.ensemble._bagging import _ForestMixin
from gdm.tree._base import CHUNK_DOC, _BaseForest
from gdm.tree._classes import _ClassifierOutputs
from gdm.utils.validation import store_init_params

__all__ = ["RandomForestClassifier", "RandomForestRegressor"]

_FOREST_CONSTRAINTS = {
    **_BaseForest._parameter_constraints,
    "n_estimators": [Interval(Integral, 1, None, closed="left")],
    "bootstrap": ["boolean"],
    "oob_score": ["boolean", callable],
    "verbose": ["verbose"],
    "n_jobs": [Integral, None],
    "max_samples": [None, Interval(RealNotInt, 0.0, 1.0, closed="right"),
                    Interval(Integral, 1, None, closed="left")],
}


class RandomForestClassifier(_ForestMixin, _ClassifierOutputs, ClassifierMixin, _BaseForest):
    __doc__ = f"""Random forest classifier: bootstrap + per-split feature sampling, averaged
    probabilities.

    Parameters follow sklearn.ensemble.RandomForestClassifier: n_estimators, criterion,
    max_depth, min_samples_split, min_samples_leaf, max_features (default "sqrt"), bootstrap,
    oob_score, random_state, class_weight ("balanced", "balanced_subsample", dict),
    max_samples, verbose (> 0: one progress line per batch of trees grown, on stderr),
    n_jobs (CPU threads growing batches of trees at once; default -1, all cores, where
    scikit-learn's None means one: the trees are the same for every n_jobs); plus
    max_bins : int, default=256
    {CHUNK_DOC}
    Fitted: classes_, n_classes_, n_features_in_, feature_importances_, oob_score_,
    oob_decision_function_ (with oob_score=True).
    """

    _parameter_constraints = {
        **_FOREST_CONSTRAINTS,
        "criterion": [StrOptions({"gini", "entropy", "log_loss"})],
        "class_weight": [dict, StrOptions({"balanced", "balanced_subsample"}), None],
    }

    def __init__(self, n_estimators=100, *, criterion="gini", max_depth=None,
                 min_samples_split=2, min_samples_leaf=1, min_weight_fraction_leaf=0.0,
                 max_features="sqrt", bootstrap=True,
                 oob_score=False, random_state=None, verbose=0, class_weight=None,
                 max_samples=None, max_bins=256, node_chunk=32, chunk_size=None,
                 sample_chunk=4096, n_jobs=-1, n_devices=None):
        store_init_params(self, locals())

    def fit(self, X, y, sample_weight=None) -> RandomForestClassifier:
        return self._fit(X, y, sample_weight)

    def apply(self, X) -> np.ndarray:
        """Leaf index of every sample in every tree, (n_samples, n_estimators)."""
        return self._apply(X)


class RandomForestRegressor(_ForestMixin, RegressorMixin, _BaseForest):
    __doc__ = f"""Random forest regressor: bootstrap + per-split feature sampling, averaged
    leaf means.

    Parameters follow sklearn.ensemble.RandomForestRegressor (criterion "squared_error",
    max_features default 1.0, verbose and n_jobs as in RandomForestClassifier); plus
    max_bins : int, default=256
    {CHUNK_DOC}
    Fitted: n_features_in_, feature_importances_, oob_score_ (R^2), oob_prediction_.
    """

    _classifier = False
    _parameter_constraints = {
        **_FOREST_CONSTRAINTS,
        "criterion": [StrOptions({"squared_error"})],
    }

    def __init__(self, n_estimators=100, *, criterion="squared_error", max_depth=None,
                 min_samples_split=2, min_samples_leaf=1, min_weight_fraction_leaf=0.0,
                 max_features=1.0, bootstrap=True,
                 oob_score=False, random_state=None, verbose=0, max_samples=None,
                 max_bins=256, node_chunk=32, chunk_size=None, sample_chunk=4096,
                 n_jobs=-1, n_devices=None):
        store_init_params(self, locals())

    def fit(self, X, y, sample_weight=None) -> RandomForestRegressor:
        return self._fit(X, y, sample_weight)

    def predict(self, X) -> np.ndarray:
        return self._mean_value(X)[:, 0].astype(np.float64)

    def apply(self, X) -> np.ndarray:
        return self._apply(X)
