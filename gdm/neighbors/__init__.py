"""k-nearest-neighbour estimators in JAX with scikit-learn's API.

    from gdm.neighbors import KNeighborsClassifier, KNeighborsRegressor

`_kernels` holds the compiled distance, candidate and voting kernels.
"""

from gdm.neighbors._classes import KNeighborsClassifier, KNeighborsRegressor

__all__ = ["KNeighborsClassifier", "KNeighborsRegressor"]
