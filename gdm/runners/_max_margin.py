"""Hard-margin SVMs (C large) over seeds: margin 2/||w|| and support vectors against libsvm.

For a kernel SVM ||w||^2 = a K a^T over the support vectors, a the dual coefficients (y_i
alpha_i), so the margin of either kernel comes from the fitted attributes alone, computed the
same way for gdm.svm.SVC and sklearn.svm.SVC. Free support vectors (0 < alpha < C) lie on
|f(x)| = 1 up to the solver's tolerance; bounded ones (alpha = C) inside the margin.
"""

from __future__ import annotations

import ml_collections
import numpy as np
from sklearn import svm as sk_svm
from sklearn.metrics.pairwise import rbf_kernel

from gdm import data
from gdm.figures import boundaries as figures
from gdm.svm import SVC


def rbf_gamma(config: ml_collections.ConfigDict) -> str | float:
    """config.rbf_gamma: 'scale', 'auto' or a positive number written as text ("0.5")."""
    gamma = str(config.rbf_gamma)
    if gamma in ("scale", "auto"):
        return gamma
    try:
        value = float(gamma)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValueError(f"config.rbf_gamma must be 'scale', 'auto' or a number > 0, got "
                         f"{config.rbf_gamma!r}")
    return value


def dual_margin(svm, C: float) -> dict:
    """Margin 2/||w|| (||w||^2 = a K a^T over the support vectors), the number of support
    vectors, of bounded ones (alpha = C), and the largest | |f| - 1 | over the free ones."""
    a, sv = np.asarray(svm.dual_coef_, np.float64)[0], np.asarray(svm.support_vectors_)
    gram = sv @ sv.T if svm.kernel == "linear" else rbf_kernel(sv, sv, gamma=svm._gamma)
    free = np.abs(a) < C * (1 - 1e-6)
    f = np.asarray(svm.decision_function(sv))
    return {"margin": float(2.0 / np.sqrt(a @ gram @ a)), "n_support": int(len(a)),
            "n_bounded": int((~free).sum()),
            "free_sv_deviation": float(np.abs(np.abs(f[free]) - 1.0).max(initial=0.0))}


def fit_seeds(kernel: str, name: str, config: ml_collections.ConfigDict) -> tuple[dict, dict]:
    """Hard-margin (C large) SVMs of one kernel, one per random seed's data set, gdm's and
    libsvm's, and the picture of the first."""
    out, panel = {"dataset": name, "C": float(config.margin_C)}, None
    for s in range(int(config.seeds)):
        ds = data.load(name, seed=int(config.seed) + s, n_samples=int(config.margin_n_samples),
                       test_fraction=float(config.test_fraction), normalize="standardize")
        svm = SVC(kernel=kernel, C=config.margin_C, gamma=rbf_gamma(config), dtype="float64")
        peer = sk_svm.SVC(kernel=kernel, C=config.margin_C, gamma=rbf_gamma(config))
        for prefix, model in (("", svm), ("sklearn_", peer)):
            for key, value in dual_margin(model.fit(ds.x_train, ds.y_train),
                                          config.margin_C).items():
                out.setdefault(prefix + key, []).append(value)
        if s == 0:
            label = "linear" if kernel == "linear" else kernel.upper()
            xx, yy, points = figures.grid(ds.x_train, int(config.resolution))
            panel = {"xx": xx, "yy": yy, "x": ds.x_train, "y": ds.y_train,
                     "values": svm.decision_function(points).reshape(xx.shape),
                     "support_vectors": svm.support_vectors_,
                     "title": f"{label} SVM on {name}: margin {out['margin'][0]:.3f}\n"
                              f"{out['n_support'][0]} support vectors "
                              f"(libsvm {out['sklearn_n_support'][0]})"}
    out["max_abs_margin_diff"] = float(np.max(np.abs(np.subtract(out["margin"],
                                                                 out["sklearn_margin"]))))
    return out, panel
