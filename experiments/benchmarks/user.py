"""Benchmarks as a user sees them: fresh processes, a cold and a warm compilation cache.

A user's script starts a new Python process, imports, loads data, fits and predicts. For each
estimator (gdm vs scikit-learn, and for the random forest also XGBoost's XGBRFClassifier and
LightGBM's random-forest mode) this times such a process from its start to the moment the
held-out predictions exist (`experiments/benchmarks/user_worker.py` does the work):

- first: gdm's first process ever, with an empty persistent compilation cache
  (GDM_COMPILATION_CACHE=<new empty directory>; each repeat gets its own);
- cache: a second process on the cache the first one filled;
- peer: the peer in the same kind of fresh process.

Inside each process it records import, fit and predict seconds, and for gdm the number of
programs JAX lowered, the seconds XLA spent compiling and the cache's hits. The warm columns are
in-process fit + predict repeated on the same shapes (best of --warm), as the other benchmarks
measure. GridSearchCV (3 x 3 grid, 3 folds, n_jobs=1) runs the same way, the search timed
inside the process (compilation included: the user's number) and as a whole process.

The data are the MNIST benchmark split (8,000 / 2,000, `gdm.data.load_mnist_benchmark`) from an
MNIST IDX directory given by --mnist_dir (default $GDM_MNIST_DIR), else digits / 16 with a 25%
test split, written once to an .npz that every process loads the same way. Times are medians
of --repeats; ratios are ours / peer.

    python -m experiments.benchmarks.user [--mnist_dir DIR] [--estimators svc,logreg,knn,forest]
        [--repeats 3]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from experiments.benchmarks import common
from experiments.benchmarks.user_worker import ESTIMATORS, GRIDS, READY, RESULT

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLUMNS = ["estimator", "peer", "accuracy", "peer_accuracy", "first_process_s",
           "cache_process_s", "peer_process_s", "ratio_first", "ratio_cache", "first_s",
           "cache_s", "peer_s", "import_s", "peer_import_s", "warm_s", "peer_warm_s",
           "ratio_warm", "compile_count", "compile_first_s", "compile_cache_s", "cache_hits"]
PACKAGES = ["jax", "jaxlib", "numpy", "scikit-learn", "xgboost", "lightgbm"]


def write_data(mnist_dir: str | None, path: str) -> str:
    """Writes the benchmark arrays to `path` (.npz); returns the dataset's name."""
    import numpy as np

    if mnist_dir and os.path.isdir(mnist_dir):
        from gdm.data import load_mnist_benchmark

        ds = load_mnist_benchmark(mnist_dir)
        name, arrays = "mnist", (ds.x_train, ds.y_train, ds.x_test, ds.y_test)
    else:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        x, y = load_digits(return_X_y=True)
        xtr, xte, ytr, yte = train_test_split((x / 16.0).astype(np.float32), y,
                                              test_size=0.25, random_state=0)
        name, arrays = "digits", (xtr, ytr, xte, yte)
    np.savez(path, **dict(zip(("x_train", "y_train", "x_test", "y_test"), arrays,
                              strict=True)))
    return name


def fresh_process(estimator: str, impl: str, data: str, *, cache_dir: str | None = None,
                  mode: str = "fit", warm: int = 0, n_train: int | None = None,
                  timeout: float = 3600.0) -> dict[str, Any]:
    """Runs one new `python` process (user_worker) and returns its report plus `process_s`,
    the seconds from starting it to its held-out predictions.

    cache_dir: gdm's persistent compilation cache for the process (None: off). The process
    inherits this environment otherwise, with this checkout first on PYTHONPATH.
    """
    if impl not in ESTIMATORS.get(estimator, {}):
        raise ValueError(f"impl must be one of {sorted(ESTIMATORS.get(estimator, {}))} for "
                         f"estimator {estimator!r}, got {impl!r}")
    env = dict(os.environ)
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    env["GDM_COMPILATION_CACHE"] = cache_dir or "0"
    env["PYTHONPATH"] = os.pathsep.join([REPO_ROOT, *filter(None, [env.get("PYTHONPATH")])])
    cmd = [sys.executable, "-m", "experiments.benchmarks.user_worker", "--estimator", estimator,
           "--impl", impl, "--data", data, "--mode", mode, "--warm", str(warm)]
    if n_train is not None:
        cmd += ["--n_train", str(n_train)]
    process_s, report = None, None
    with tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env,
                                cwd=REPO_ROOT)
        for line in proc.stdout:
            if line.strip() == READY and process_s is None:
                process_s = time.perf_counter() - start
            elif line.startswith(RESULT):
                report = json.loads(line[len(RESULT):])
        rc = proc.wait(timeout=timeout)
        if rc != 0 or report is None or process_s is None:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} exited with {rc}:\n{err.read()[-4000:]}")
    report["process_s"] = process_s
    return report


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _repeat_ours(estimator: str, data: str, repeats: int, **kwargs) -> tuple[list, list]:
    """(first-ever runs, warm-cache runs) of gdm: each repeat gets a new empty cache dir."""
    first, cached = [], []
    for _ in range(repeats):
        cache_dir = tempfile.mkdtemp(prefix="gdm-user-cache-")
        try:
            first.append(fresh_process(estimator, "gdm", data, cache_dir=cache_dir, **kwargs))
            cached.append(fresh_process(estimator, "gdm", data, cache_dir=cache_dir, **kwargs))
        finally:
            shutil.rmtree(cache_dir, ignore_errors=True)
        print(f"{estimator} gdm: first {first[-1]['process_s']:.2f} s, cache "
              f"{cached[-1]['process_s']:.2f} s", flush=True)
    return first, cached


def _row(estimator: str, peer: str, first: list, cached: list, peers: list,
         in_key: str) -> dict[str, Any]:
    """One table row from the runs: medians, ratios ours / peer; in_key: the in-process time
    (fit + predict, or the search)."""
    m = {k: _median(first, k) for k in ("process_s", in_key, "compile_s", "accuracy")}
    c = {k: _median(cached, k) for k in ("process_s", in_key, "compile_s", "import_s",
                                         "fit_warm_s", "predict_warm_s", "cache_hits",
                                         "cache_misses", "retrieval_s", "trace_s",
                                         "lower_s")}
    p = {k: _median(peers, k) for k in ("process_s", in_key, "import_s", "fit_warm_s",
                                        "predict_warm_s", "accuracy")}
    warm = (c["fit_warm_s"] + c["predict_warm_s"]) if c["fit_warm_s"] is not None else None
    peer_warm = (p["fit_warm_s"] + p["predict_warm_s"]) if p["fit_warm_s"] is not None else None
    return dict(
        estimator=estimator, peer=peer, accuracy=m["accuracy"], peer_accuracy=p["accuracy"],
        first_process_s=m["process_s"], cache_process_s=c["process_s"],
        peer_process_s=p["process_s"], ratio_first=_ratio(m["process_s"], p["process_s"]),
        ratio_cache=_ratio(c["process_s"], p["process_s"]), first_s=m[in_key],
        cache_s=c[in_key], peer_s=p[in_key], import_s=c["import_s"],
        peer_import_s=p["import_s"], warm_s=warm, peer_warm_s=peer_warm,
        ratio_warm=_ratio(warm, peer_warm), compile_count=first[0].get("compile_count"),
        compile_first_s=m["compile_s"], compile_cache_s=c["compile_s"],
        cache_hits=c["cache_hits"], cache_misses=c["cache_misses"],
        cache_misses_first=_median(first, "cache_misses"), retrieval_cache_s=c["retrieval_s"],
        trace_cache_s=c["trace_s"], lower_cache_s=c["lower_s"],
        missed_with_cache=sorted({n for r in cached for n in r.get("missed_programs", [])}))


def bench_fit(estimator: str, data: str, repeats: int, warm: int) -> tuple[list, dict]:
    """Rows (one per peer) for fresh-process fit + predict, and every run's report."""
    first, cached = _repeat_ours(estimator, data, repeats, warm=warm)
    for r in first + cached:
        r["fit_predict_s"] = r["fit_s"] + r["predict_s"]
    rows, raw = [], {"gdm_first": first, "gdm_cache": cached}
    for peer in (p for p in ESTIMATORS[estimator] if p != "gdm"):
        peers = [fresh_process(estimator, peer, data, warm=warm) for _ in range(repeats)]
        for r in peers:
            r["fit_predict_s"] = r["fit_s"] + r["predict_s"]
        raw[peer] = peers
        rows.append(_row(estimator, peer, first, cached, peers, "fit_predict_s"))
        print(rows[-1], flush=True)
    return rows, raw


def bench_grid(estimator: str, data: str, repeats: int, n_train: int | None) -> tuple:
    """A row for GridSearchCV(3 x 3 grid, 3 folds) over gdm's estimator vs scikit-learn's."""
    first, cached = _repeat_ours(estimator, data, repeats, mode="grid", n_train=n_train)
    peers = [fresh_process(estimator, "sklearn", data, mode="grid", n_train=n_train)
             for _ in range(repeats)]
    row = _row(f"{estimator} GridSearchCV", "sklearn", first, cached, peers, "grid_s")
    row.update(n_train=first[0]["n_train"], best_params=first[0]["best_params"],
               peer_best_params=peers[0]["best_params"],
               max_abs_cv_score_diff=max(abs(a - b) for a, b in zip(
                   first[0]["cv_scores"], peers[0]["cv_scores"], strict=True)))
    print(row, flush=True)
    return row, {"gdm_first": first, "gdm_cache": cached, "sklearn": peers}


def versions() -> dict[str, str | None]:
    """Installed versions of the packages the benchmark compares."""
    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def _params(estimators: list[str], data: str) -> dict[str, dict[str, str]]:
    """Each implementation's class and keyword arguments on these data."""
    import numpy as np

    with np.load(data) as arrays:
        n_features = int(arrays["x_train"].shape[1])
    return {name: {impl: f"{mod}.{cls}({make(n_features)})"
                   for impl, (mod, cls, make) in ESTIMATORS[name].items()}
            for name in estimators}


def _choices(value: str, allowed: list[str], flag: str) -> list[str]:
    names = [v for v in value.split(",") if v]
    bad = [v for v in names if v not in allowed]
    if bad:
        raise ValueError(f"{flag} must be a comma-separated subset of {allowed}, got {bad}")
    return names


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist_dir", default=os.environ.get("GDM_MNIST_DIR"))
    parser.add_argument("--data", default=None,
                        help="an .npz (x_train, y_train, x_test, y_test) to use instead")
    parser.add_argument("--estimators", default="svc,logreg,knn,forest")
    parser.add_argument("--grids", default="svc,logreg", help="estimators for GridSearchCV")
    parser.add_argument("--grid_n_train", type=int, default=2000,
                        help="GridSearchCV on the first N training rows (0: all)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warm", type=int, default=2, help="in-process warm repeats")
    parser.add_argument("--name", default="user", help="results file name")
    parser.add_argument("--out_dir", default=common.RESULTS_DIR)
    parser.add_argument("--note", default="", help="recorded in the JSON (e.g. machine load)")
    args = parser.parse_args(argv)
    estimators = _choices(args.estimators, sorted(ESTIMATORS), "--estimators")
    grids = _choices(args.grids, sorted(GRIDS), "--grids")
    if args.repeats < 1:
        raise ValueError(f"--repeats must be >= 1, got {args.repeats}")
    with tempfile.TemporaryDirectory(prefix="gdm-user-data-") as tmp:
        data = args.data or os.path.join(tmp, "data.npz")
        dataset = "given .npz" if args.data else write_data(args.mnist_dir, data)
        extra = dict(
            dataset=dataset, repeats=args.repeats, warm_repeats=args.warm,
            versions=versions(), estimators=_params(estimators, data),
            grids={g: GRIDS[g] for g in grids}, grid_cv=3,
            grid_n_train=args.grid_n_train or None, note=args.note,
            process_s="from starting `python` to the held-out predictions (median of repeats)")
        rows, raw, table = [], {}, ""
        for name in estimators + [f"{g}_grid" for g in grids]:
            if name.endswith("_grid"):
                row, raw[name] = bench_grid(name[:-5], data, args.repeats,
                                            args.grid_n_train or None)
                rows.append(row)
            else:
                fit_rows, raw[name] = bench_fit(name, data, args.repeats, args.warm)
                rows += fit_rows
            # Written after each estimator, so an interrupted run keeps what it measured.
            table = common.write_report(args.name, rows, COLUMNS, out_dir=args.out_dir,
                                        extra=dict(extra, runs=raw))
    print(table)
    return table


if __name__ == "__main__":
    main()
