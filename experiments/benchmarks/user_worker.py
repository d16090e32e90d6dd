"""One fresh process of the user benchmark: import, load an .npz, fit and predict (or search).

Run by `experiments.benchmarks.user` as `python -m experiments.benchmarks.user_worker ...`.
It times what a user's script does, in order: import the estimator's module, load the arrays,
fit, predict. It prints `READY` the moment the held-out predictions exist (the parent times
the process up to that line), then optionally repeats fit + predict in the same process (warm,
as the other benchmarks measure) and prints one JSON line with every time it took.

For gdm it also records, while fitting and predicting, the programs JAX lowers
(`gdm.utils.cache.CompileCounter`), the seconds spent in XLA's backend compiler (the
'/jax/core/compile/backend_compile_duration' events summed; JAX times the persistent cache's
read inside that span, so on a hit it is the time to load the program) and the cache's hits
and misses. Peers never import JAX, so their import time is their own.

Only the standard library is imported before the timer starts; nothing here imports JAX or
scikit-learn at module level.
"""

from __future__ import annotations

import time

_START = time.perf_counter()

import argparse  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

READY = "READY"
RESULT = "RESULT "


def _sqrt_fraction(n_features: int) -> float:
    """The feature fraction per split that max_features='sqrt' picks."""
    return max(1, int(math.sqrt(n_features))) / n_features


# name -> implementation -> (module, class, kwargs from the number of features)
ESTIMATORS: dict[str, dict[str, tuple[str, str, Callable[[int], dict[str, Any]]]]] = {
    "svc": {
        "gdm": ("gdm.svm", "SVC", lambda d: dict(C=10.0, kernel="rbf", gamma="scale")),
        "sklearn": ("sklearn.svm", "SVC", lambda d: dict(C=10.0, kernel="rbf", gamma="scale")),
    },
    "logreg": {
        "gdm": ("gdm.linear_model", "LogisticRegression", lambda d: dict(C=1.0, max_iter=200)),
        "sklearn": ("sklearn.linear_model", "LogisticRegression",
                    lambda d: dict(C=1.0, max_iter=200)),
    },
    "knn": {
        "gdm": ("gdm.neighbors", "KNeighborsClassifier", lambda d: dict(n_neighbors=3)),
        "sklearn": ("sklearn.neighbors", "KNeighborsClassifier",
                    lambda d: dict(n_neighbors=3, algorithm="brute")),
    },
    "forest": {
        "gdm": ("gdm.ensemble", "RandomForestClassifier",
                lambda d: dict(n_estimators=100, random_state=0)),
        "sklearn": ("sklearn.ensemble", "RandomForestClassifier",
                    lambda d: dict(n_estimators=100, random_state=0, n_jobs=-1)),
        "xgboost": ("xgboost", "XGBRFClassifier",
                    lambda d: dict(n_estimators=100, random_state=0, tree_method="hist",
                                   subsample=0.632, colsample_bynode=_sqrt_fraction(d))),
        "lightgbm": ("lightgbm", "LGBMClassifier",
                     lambda d: dict(boosting_type="rf", n_estimators=100, random_state=0,
                                    bagging_fraction=0.632, bagging_freq=1,
                                    feature_fraction_bynode=_sqrt_fraction(d), verbose=-1)),
    },
    "gaussiannb": {
        "gdm": ("gdm.naive_bayes", "GaussianNB", lambda d: {}),
        "sklearn": ("sklearn.naive_bayes", "GaussianNB", lambda d: {}),
    },
}

# Hyperparameter grids for GridSearchCV (3 x 3, 3 folds).
GRIDS: dict[str, dict[str, list[Any]]] = {
    "svc": {"C": [1.0, 10.0, 100.0], "gamma": [0.003, 0.01, 0.03]},
    "logreg": {"C": [0.1, 1.0, 10.0], "tol": [1e-4, 1e-3, 1e-2]},
    "gaussiannb": {"var_smoothing": [1e-9, 1e-8, 1e-7]},
}


class _MissLog(logging.Handler):
    """Collects the names of the programs the persistent cache missed (JAX logs each one)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.active = False
        self.names: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if self.active and str(record.msg).startswith("PERSISTENT COMPILATION CACHE MISS"):
            self.names.append(str(record.args[0]) if record.args else record.getMessage())


class JaxEvents:
    """Listens to jax.monitoring while `active`: backend compile seconds, persistent-cache
    hits, misses (and the missed programs' names), and the seconds spent reading the cache,
    tracing to jaxprs and lowering to MLIR (both still happen on a cache hit)."""

    def __init__(self) -> None:
        import jax

        from gdm.utils.cache import CompileCounter

        self.active = False
        self.compile_s = 0.0
        self.retrieval_s = 0.0
        self.trace_s = 0.0
        self.lower_s = 0.0
        self.cache_hits = 0
        self.cache_misses = 0
        self.counter = CompileCounter()
        self.misses = _MissLog()
        compiler_log = logging.getLogger("jax._src.compiler")
        compiler_log.addHandler(self.misses)
        compiler_log.setLevel(logging.DEBUG)
        jax.monitoring.register_event_duration_secs_listener(self._duration)
        jax.monitoring.register_event_listener(self._event)

    def _duration(self, event: str, duration: float, **kwargs) -> None:
        if self.active and event == "/jax/core/compile/backend_compile_duration":
            self.compile_s += duration
        elif self.active and event == "/jax/compilation_cache/cache_retrieval_time_sec":
            self.retrieval_s += duration
        elif self.active and event == "/jax/core/compile/jaxpr_trace_duration":
            self.trace_s += duration
        elif self.active and event == "/jax/core/compile/jaxpr_to_mlir_module_duration":
            self.lower_s += duration

    def _event(self, event: str, **kwargs) -> None:
        if self.active and event == "/jax/compilation_cache/cache_hits":
            self.cache_hits += 1
        elif self.active and event == "/jax/compilation_cache/cache_misses":
            self.cache_misses += 1

    def __enter__(self) -> JaxEvents:
        self.active = self.misses.active = True
        self.counter.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.counter.__exit__(*exc)
        self.active = self.misses.active = False

    def report(self) -> dict[str, Any]:
        return dict(compile_count=self.counter.count, compile_s=self.compile_s,
                    retrieval_s=self.retrieval_s, trace_s=self.trace_s, lower_s=self.lower_s,
                    cache_hits=self.cache_hits,
                    cache_misses=self.cache_misses, missed_programs=self.misses.names)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _load(path: str, n_train: int | None):
    import numpy as np

    with np.load(path) as data:
        xtr, ytr, xte, yte = (data[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    if n_train is not None:
        xtr, ytr = xtr[:n_train], ytr[:n_train]
    return xtr, ytr, xte, yte


def _fit_predict(est, xtr, ytr, xte, yte) -> dict[str, Any]:
    import numpy as np

    _, fit_s = _timed(lambda: est.fit(xtr, ytr))
    pred, predict_s = _timed(lambda: np.asarray(est.predict(xte)))
    return dict(fit_s=fit_s, predict_s=predict_s, accuracy=float(np.mean(pred == yte)))


def _grid_search(name: str, est, xtr, ytr, xte, yte) -> dict[str, Any]:
    import numpy as np
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(est, GRIDS[name], cv=3, n_jobs=1)
    _, grid_s = _timed(lambda: search.fit(xtr, ytr))
    pred = np.asarray(search.predict(xte))
    return dict(grid_s=grid_s, best_params=search.best_params_,
                best_cv_score=float(search.best_score_),
                cv_scores=[float(s) for s in search.cv_results_["mean_test_score"]],
                accuracy=float(np.mean(pred == yte)))


def run(name: str, impl: str, data: str, mode: str, warm: int, n_train: int | None) -> dict:
    """Everything one process does; prints READY when the first results exist."""
    module_name, class_name, make_kwargs = ESTIMATORS[name][impl]
    module, import_s = _timed(lambda: importlib.import_module(module_name))
    events = JaxEvents() if impl == "gdm" else None
    (xtr, ytr, xte, yte), load_s = _timed(lambda: _load(data, n_train))
    est = getattr(module, class_name)(**make_kwargs(xtr.shape[1]))
    with events or _Null():
        if mode == "grid":
            out = _grid_search(name, est, xtr, ytr, xte, yte)
        else:
            out = _fit_predict(est, xtr, ytr, xte, yte)
    print(READY, flush=True)
    out.update(estimator=name, impl=impl, mode=mode, n_train=int(len(xtr)),
               import_s=import_s, load_s=load_s,
               in_process_s=time.perf_counter() - _START, **(events.report() if events else {}))
    if mode == "fit" and warm > 0:
        runs = [_fit_predict(est, xtr, ytr, xte, yte) for _ in range(warm)]
        out.update(fit_warm_s=min(r["fit_s"] for r in runs),
                   predict_warm_s=min(r["predict_s"] for r in runs))
    return out


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estimator", required=True, choices=sorted(ESTIMATORS))
    parser.add_argument("--impl", required=True)
    parser.add_argument("--data", required=True, help="an .npz with x_train, y_train, x_test, "
                                                      "y_test")
    parser.add_argument("--mode", default="fit", choices=["fit", "grid"])
    parser.add_argument("--warm", type=int, default=0, help="warm fit+predict repeats after")
    parser.add_argument("--n_train", type=int, default=None, help="first rows of x_train only")
    args = parser.parse_args(argv)
    if args.impl not in ESTIMATORS[args.estimator]:
        raise ValueError(f"impl must be one of {sorted(ESTIMATORS[args.estimator])} for "
                         f"{args.estimator}, got {args.impl!r}")
    if args.mode == "grid" and args.estimator not in GRIDS:
        raise ValueError(f"estimator must be one of {sorted(GRIDS)} with mode='grid', "
                         f"got {args.estimator!r}")
    out = run(args.estimator, args.impl, args.data, args.mode, args.warm, args.n_train)
    print(RESULT + json.dumps(out), flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
