"""Naive Bayes: gdm.naive_bayes vs scikit-learn on digits, plus an Ng & Jordan comparison.

1. GaussianNB, MultinomialNB (raw 0-16 counts) and BernoulliNB (binarize=8) on digits
   (float64, 75 / 25 split): max |P_ours - P_sklearn| over the test set (target 1e-5), fit
   (cold / warm) and predict_proba times, and partial_fit in 5 batches.
2. Ng & Jordan (2001) in miniature: test error of generative (GaussianNB) vs discriminative
   (LogisticRegression) classifiers as the training set grows, on digits, 5 draws per size.
   NB approaches its (higher) asymptote with fewer examples; LR overtakes it with more.

    python -m experiments.benchmarks.naive_bayes
"""

from __future__ import annotations

import argparse
import warnings

import jax
import numpy as np
from sklearn import naive_bayes as sk_nb
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from experiments.benchmarks import common
from gdm import naive_bayes
from gdm.linear_model import LogisticRegression

COLUMNS = ["model", "max_abs_proba_diff", "partial_fit_max_abs_diff", "accuracy",
           "sk_accuracy", "fit_cold_s", "fit_warm_s", "sk_fit_s", "predict_s",
           "sk_predict_s", "ratio_warm", "ratio_cold"]
NJ_COLUMNS = ["n_train", "nb_error", "lr_error", "nb_error_std", "lr_error_std"]
MODELS = [("GaussianNB", {}), ("MultinomialNB", {}), ("BernoulliNB", {"binarize": 8.0})]


def run_model(name, params, xtr, ytr, xte, yte):
    ours, peer = getattr(naive_bayes, name)(**params), getattr(sk_nb, name)(**params)
    _, fit_cold = common.timed(lambda: ours.fit(xtr, ytr))
    ours.predict_proba(xte)
    _, fit_warm = common.timed(lambda: ours.fit(xtr, ytr))
    proba, predict_s = common.timed(lambda: ours.predict_proba(xte))
    _, sk_fit = common.timed(lambda: peer.fit(xtr, ytr))
    sk_proba, sk_predict = common.timed(lambda: peer.predict_proba(xte))
    batches = np.array_split(np.arange(len(ytr)), 5)
    inc, sk_inc = getattr(naive_bayes, name)(**params), getattr(sk_nb, name)(**params)
    for b in batches:
        inc.partial_fit(xtr[b], ytr[b], classes=np.arange(10))
        sk_inc.partial_fit(xtr[b], ytr[b], classes=np.arange(10))
    row = dict(model=name, max_abs_proba_diff=float(np.abs(proba - sk_proba).max()),
               partial_fit_max_abs_diff=float(np.abs(inc.predict_proba(xte)
                                                     - sk_inc.predict_proba(xte)).max()),
               accuracy=float(np.mean(ours.classes_[proba.argmax(1)] == yte)),
               sk_accuracy=float(np.mean(peer.classes_[sk_proba.argmax(1)] == yte)),
               fit_cold_s=fit_cold, fit_warm_s=fit_warm, sk_fit_s=sk_fit,
               predict_s=predict_s, sk_predict_s=sk_predict,
               ratio_warm=(fit_warm + predict_s) / (sk_fit + sk_predict),
               ratio_cold=(fit_cold + predict_s) / (sk_fit + sk_predict))
    print(row, flush=True)
    return row


def ng_jordan(x, y, sizes=(20, 40, 80, 160, 320, 640, 1280), draws: int = 5):
    """Test error vs training size; each draw holds out the same 500 test digits."""
    x = x / 16.0
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    test, pool = order[:500], order[500:]
    rows = []
    for n in sizes:
        nb_err, lr_err = [], []
        for _ in range(draws):
            idx = rng.choice(pool, n, replace=False)
            if len(np.unique(y[idx])) < 10:
                continue
            nb = naive_bayes.GaussianNB(var_smoothing=1e-2).fit(x[idx], y[idx])
            lr = LogisticRegression(C=1.0, max_iter=500).fit(x[idx], y[idx])
            nb_err.append(1 - nb.score(x[test], y[test]))
            lr_err.append(1 - lr.score(x[test], y[test]))
        rows.append(dict(n_train=n, nb_error=float(np.mean(nb_err)),
                         lr_error=float(np.mean(lr_err)), nb_error_std=float(np.std(nb_err)),
                         lr_error_std=float(np.std(lr_err))))
        print(rows[-1], flush=True)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip_ng_jordan", action="store_true")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    x, y = load_digits(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=0)
    rows = [run_model(name, params, xtr, ytr, xte, yte) for name, params in MODELS]
    print(common.write_report("naive_bayes", rows, COLUMNS, extra=dict(
        jax_devices=str(jax.devices()), data="digits, raw 0-16 counts, float64")))
    if not args.skip_ng_jordan:
        nj = ng_jordan(x, y)
        print(common.write_report("ng_jordan", nj, NJ_COLUMNS, extra=dict(
            data="digits / 16, 500 held-out test digits, 5 draws per size",
            models="GaussianNB(var_smoothing=1e-2) vs LogisticRegression(C=1)")))


if __name__ == "__main__":
    main()
