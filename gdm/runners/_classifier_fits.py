"""One measured fit of one classifier on one training subsample: accuracy, times, memory.

The pieces of gdm/runners/classifier_table.py that touch a model: the estimators of each
family (gdm and its scikit-learn counterpart), the neural networks trained through the one
training loop, and the probes that time them and read their peak memory.

Memory: the growth of the process's resident set during the fit, in MiB. Linux keeps the peak
resident set (VmHWM in /proc/self/status); writing "5" to /proc/self/clear_refs resets it to
the current size, so VmHWM after the fit minus VmRSS before it is the most memory the fit held
at once beyond what the process already had, JAX's compiled programs and buffers included.
Memory an earlier fit freed to the allocator and this one reuses does not count, so it is a
lower bound on the fit's working set. Where the reset is not possible the value is None.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import time
import warnings
from collections.abc import Callable

import jax
import ml_collections
import numpy as np
from sklearn import ensemble as sk_ensemble
from sklearn import linear_model as sk_linear
from sklearn import neighbors as sk_neighbors
from sklearn import neural_network as sk_nn
from sklearn import svm as sk_svm
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from gdm.config import load_config
from gdm.data import Dataset
from gdm.ensemble import RandomForestClassifier
from gdm.linear_model import LogisticRegression
from gdm.neighbors import KNeighborsClassifier
from gdm.svm import SVC

NETWORKS = ("mlp", "cnn")
MEMORY_METHOD = ("peak resident-set growth during the fit: VmHWM after it minus VmRSS before "
                 "it, VmHWM reset through /proc/self/clear_refs (Linux); MiB")


def estimators(family: str, config: ml_collections.ConfigDict, seed: int
               ) -> tuple[Callable[[], object], Callable[[], object]]:
    """(gdm factory, scikit-learn factory) of an estimator family, same hyperparameters."""
    if family == "svm":
        kw = dict(C=float(config.svm_C), gamma="scale")
        return lambda: SVC(**kw), lambda: sk_svm.SVC(**kw)
    if family == "forest":
        kw = dict(n_estimators=int(config.n_trees), random_state=seed)
        return (lambda: RandomForestClassifier(**kw),
                lambda: sk_ensemble.RandomForestClassifier(**kw))
    if family == "knn":
        k = int(config.knn_k)
        return (lambda: KNeighborsClassifier(n_neighbors=k),
                lambda: sk_neighbors.KNeighborsClassifier(n_neighbors=k))
    if family == "logreg":
        kw = dict(C=1.0, max_iter=int(config.logreg_max_iter))
        return lambda: LogisticRegression(**kw), lambda: sk_linear.LogisticRegression(**kw)
    raise ValueError(f"unknown estimator family {family!r}")


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


class PeakMemory:
    """`with PeakMemory() as m: fit()`, then m.mib: the fit's peak resident-set growth."""

    def __enter__(self) -> PeakMemory:
        self.mib = None
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self._start = _status_kib("VmRSS")
        except (OSError, KeyError):
            self._start = None
        return self

    def __exit__(self, *exc) -> None:
        if self._start is not None:
            self.mib = max(_status_kib("VmHWM") - self._start, 0) / 1024.0


def timed(fn: Callable[[], object]) -> tuple[object, float, float | None]:
    """(fn(), seconds, peak memory growth in MiB) of one call."""
    with PeakMemory() as memory:
        start = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - start
    return out, seconds, memory.mib


def supports_proba(model, x: np.ndarray) -> bool:
    """Whether the fitted model gives class probabilities: predict_proba exists and returns
    one row per example over its classes, each summing to 1."""
    if not hasattr(model, "predict_proba"):
        return False
    p = np.asarray(model.predict_proba(x[:8]))
    return p.shape == (min(8, len(x)), len(model.classes_)) and bool(
        np.allclose(p.sum(1), 1.0, atol=1e-4))


def predict_seconds(predict: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    """(predictions, seconds of the second call): the first call compiles (JAX models)."""
    predict()
    start = time.perf_counter()
    out = np.asarray(predict())
    return out, time.perf_counter() - start


def fit_estimator(make: Callable[[], object], x: np.ndarray, y: np.ndarray,
                  x_test: np.ndarray, y_test: np.ndarray) -> dict:
    """One measured fit and prediction of an estimator."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model, fit_s, mib = timed(lambda: make().fit(x, y))
    pred, pred_s = predict_seconds(lambda: model.predict(x_test))
    return {"accuracy": float(np.mean(pred == y_test)), "fit_seconds": fit_s,
            "predict_seconds": pred_s, "memory_mib": mib,
            "predict_proba": supports_proba(model, x_test)}


def neural_steps(n: int, batch_size: int, config: ml_collections.ConfigDict) -> int:
    """Updates for n examples: `neural_epochs` epochs, at least `neural_min_steps`."""
    return max(int(config.neural_min_steps),
               math.ceil(float(config.neural_epochs) * n / batch_size))


def loop_config(family: str, config: ml_collections.ConfigDict, n: int,
                seed: int) -> ml_collections.ConfigDict:
    """The experiment config of a network family, sized for n examples."""
    sub = load_config(config[f"{family}_config"])
    sub.seed = seed
    sub.dataset.name = config.dataset.name
    sub.dataset.data_dir = config.dataset.data_dir
    sub.dataset.flatten = family == "mlp"
    sub.batch_size = min(sub.batch_size, n)
    steps = neural_steps(n, sub.batch_size, config)
    sub.num_train_steps = sub.log_every_steps = sub.eval_every_steps = steps
    sub.checkpoint_every_steps = steps
    return sub


def fit_network(family: str, config: ml_collections.ConfigDict, ds: Dataset, workdir: str,
                seed: int) -> dict:
    """One network trained through gdm.train.loop on `ds` (already the subsample); fit time is
    the loop's wall time (tracing, compilation, checkpoint and final evaluation included);
    prediction is the softmax of the restored model, jit-compiled."""
    from gdm.train.loop import train_and_evaluate
    from gdm.train.restore import restore_state
    from gdm.train.tasks.base import apply_model

    sub = loop_config(family, config, len(ds.x_train), seed)
    out, fit_s, mib = timed(lambda: train_and_evaluate(sub, workdir, quiet=True, dataset=ds))
    _, model, state = restore_state(sub, workdir, dataset=ds)
    proba = jax.jit(lambda x: jax.nn.softmax(
        apply_model(model, state.params, state.model_state, x, None, False)[0]))
    p, pred_s = predict_seconds(lambda: proba(ds.x_test))
    accuracy = float(np.mean(p.argmax(1) == ds.y_test))
    if abs(accuracy - out["eval/accuracy"]) > 1e-6:
        raise RuntimeError(f"{family}: restored model's accuracy {accuracy} differs from the "
                           f"loop's {out['eval/accuracy']}")
    ok = p.shape == (len(ds.x_test), ds.num_classes) and np.allclose(p.sum(1), 1, atol=1e-4)
    return {"accuracy": accuracy, "fit_seconds": fit_s, "predict_seconds": pred_s,
            "memory_mib": mib, "predict_proba": bool(ok), "steps": sub.num_train_steps}


def sklearn_mlp(config: ml_collections.ConfigDict, n: int, seed: int) -> Callable[[], object]:
    """scikit-learn's MLPClassifier with gdm's MLP shape, optimizer and batch size, and as many
    epochs as give it the gdm network's number of updates (or fewer: it stops when the
    training loss stalls, scikit-learn's default)."""
    sub = loop_config("mlp", config, n, seed)
    updates_per_epoch = math.ceil(n / sub.batch_size)
    return lambda: sk_nn.MLPClassifier(
        hidden_layer_sizes=(sub.model.width,) * sub.model.depth,
        activation=sub.model.activation, solver="adam",
        learning_rate_init=sub.optimizer.learning_rate, batch_size=sub.batch_size,
        max_iter=math.ceil(sub.num_train_steps / updates_per_epoch), random_state=seed)


def subsample(ds: Dataset, n: int, seed: int) -> Dataset:
    """`ds` with n training examples drawn without replacement by default_rng(seed) (the
    whole training split, reordered, when n is its size); the test split is unchanged."""
    idx = np.random.default_rng(seed).permutation(len(ds.x_train))[:n]
    return dataclasses.replace(ds, x_train=ds.x_train[idx], y_train=ds.y_train[idx])


def flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), -1)


def measure(model: str, config: ml_collections.ConfigDict, ds: Dataset, workdir: str,
            seed: int) -> dict:
    """One fit of `model` ("<family>/<gdm|sklearn>") on the subsample `ds`. A gdm estimator is
    fitted once on the same arrays before the measured fit: that first fit (its compilation,
    or the load of its programs from the persistent cache; gdm.svm.SVC's shapes depend on the
    class counts, so each subsample may need its own) is first_fit_seconds. scikit-learn runs
    with its BLAS and OpenMP pools limited to config.sklearn_threads threads."""
    family, implementation = model.split("/")
    x, x_test = flat(ds.x_train), flat(ds.x_test)
    if family in NETWORKS and implementation == "gdm":
        run_dir = os.path.join(workdir, "networks", f"{family}_n{len(x)}_seed{seed}")
        shutil.rmtree(run_dir, ignore_errors=True)  # a checkpoint there would be resumed
        if family == "mlp":
            ds = dataclasses.replace(ds, x_train=x, x_test=x_test)
        out = fit_network(family, config, ds, run_dir, seed)
        shutil.rmtree(run_dir, ignore_errors=True)
        return out
    if implementation == "sklearn":
        make = sklearn_mlp(config, len(x), seed) if family == "mlp" else \
            estimators(family, config, seed)[1]
        with threadpool_limits(int(config.sklearn_threads)):
            return fit_estimator(make, x, ds.y_train, x_test, ds.y_test)
    make = estimators(family, config, seed)[0]
    first = timed(lambda: make().fit(x, ds.y_train))[1]
    return {**fit_estimator(make, x, ds.y_train, x_test, ds.y_test), "first_fit_seconds": first}
