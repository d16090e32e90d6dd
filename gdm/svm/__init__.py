"""Kernel support vector machines in JAX, scikit-learn compatible.

    from gdm.svm import SVC, SVR, fit_grid
"""

from gdm.svm._classes import SVC, SVR
from gdm.svm._grid import fit_grid

__all__ = ["SVC", "SVR", "fit_grid"]
