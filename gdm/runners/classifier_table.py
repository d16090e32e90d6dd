"""SVM vs forest vs k-NN vs linear vs naive Bayes vs DNNs on one split.

Every discriminative family of gdm (plus naive Bayes, the generative baseline) on the same
train/test arrays; one table of test accuracy, fit and predict time. Estimators are timed twice
(cold, with JAX compilation, then warm); neural models train through the one loop, their time
includes compilation. Results: "<model>/accuracy", "<model>/fit_seconds".
"""

from __future__ import annotations

import os
import time

import jax
import ml_collections

from gdm import data
from gdm.config import load_config
from gdm.ensemble import RandomForestClassifier
from gdm.linear_model import LogisticRegression
from gdm.naive_bayes import GaussianNB
from gdm.neighbors import KNeighborsClassifier
from gdm.svm import SVC
from gdm.train.logging import write_results
from gdm.train.loop import train_and_evaluate

ESTIMATORS = {
    "RBF SVM (C=10)": lambda seed: SVC(C=10.0, gamma="scale"),
    "random forest (100 trees)": lambda seed: RandomForestClassifier(100, random_state=seed),
    "k-NN (k=3)": lambda seed: KNeighborsClassifier(n_neighbors=3),
    "logistic regression": lambda seed: LogisticRegression(max_iter=200),
    "naive Bayes (Gaussian)": lambda seed: GaussianNB(),
}
NEURAL = {"MLP": "experiments/mlp_digits.py", "LeNet-5 CNN": "experiments/cnn_digits.py"}


def _time(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    ds = data.load(config.dataset.name, data_dir=config.dataset.data_dir or None,
                   seed=config.seed, flatten=True)
    rows, results = [], {}
    for name, make in ESTIMATORS.items():
        _, cold = _time(lambda make=make: make(config.seed).fit(ds.x_train, ds.y_train))
        model, warm = _time(lambda make=make: make(config.seed).fit(ds.x_train, ds.y_train))
        accuracy, predict = _time(lambda model=model: float(model.score(ds.x_test, ds.y_test)))
        rows.append((name, accuracy, f"{cold:.2f} / {warm:.2f}", f"{predict:.2f}"))
        results.update({f"{name}/accuracy": accuracy, f"{name}/fit_seconds": warm})
        print(f"{name}: accuracy {accuracy:.4f}, fit {warm:.2f} s warm", flush=True)
    for name, path in NEURAL.items():
        if "CNN" in name and ds.image_shape is None:
            continue  # convolutions need images; tabular sets get the MLP only
        sub = load_config(path)
        sub.seed = config.seed
        sub.dataset.name = config.dataset.name
        sub.dataset.data_dir = config.dataset.data_dir
        sub.num_train_steps = config.neural_steps
        sub.log_every_steps = sub.eval_every_steps = sub.checkpoint_every_steps = \
            config.neural_steps
        out, seconds = _time(lambda sub=sub, name=name: train_and_evaluate(
            sub, os.path.join(workdir, name.split()[0].lower()), quiet=True))
        rows.append((name, out["eval/accuracy"], f"{seconds:.2f} (incl. compile)", "-"))
        results.update({f"{name}/accuracy": out["eval/accuracy"],
                        f"{name}/fit_seconds": seconds})
        print(f"{name}: accuracy {out['eval/accuracy']:.4f}, train {seconds:.1f} s", flush=True)
    lines = [f"| model ({config.dataset.name}: {len(ds.x_train)} train / {len(ds.x_test)} test)"
             " | test accuracy | fit s (cold / warm) | predict s (1st call) |", "|---|---|---|---|"]
    lines += [f"| {n} | {a:.2%} | {f} | {p} |" for n, a, f, p in rows]
    device = jax.devices()[0]
    table = "\n".join(lines) + (f"\n\nMeasured on {os.cpu_count()} CPU cores, jax "
                                f"{jax.__version__} on {device.platform}.\n")
    write_results(workdir, results, table)
    return results
