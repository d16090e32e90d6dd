"""Regenerates the benchmark tables of docs/performance.md and README.md from results/*.json.

    python -m experiments.benchmarks.docs [--root DIR]

Every table sits between `<!-- table:NAME -->` and `<!-- /table:NAME -->` lines; the text around
the markers is the document's own and is kept as it is. The numbers live only in the JSON that
the benchmarks write, so a re-run benchmark followed by this command updates every document.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Callable
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
Row = dict[str, Any]
Column = tuple[str, Callable[[Row], Any]]


def num(value: Any, digits: int = 3) -> str:
    """A number with `digits` significant digits; '-' for missing values."""
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def col(header: str, key: str, fmt: Callable[[Any], str] = num) -> Column:
    return header, lambda row: fmt(row.get(key))


def pair(header: str, ours: str, peer: str, fmt: Callable[[Any], str] = pct) -> Column:
    return header, lambda row: f"{fmt(row.get(ours))} / {fmt(row.get(peer))}"


SVM = [col("data", "dataset"), pair("accuracy ours / sklearn", "accuracy", "sk_accuracy"),
       col("fit warm (s)", "fit_warm_s"), col("sklearn fit (s)", "sk_fit_s"),
       col("predict warm (s)", "predict_s"), col("sklearn predict (s)", "sk_predict_s"),
       col("ratio fit + predict, warm", "ratio_warm"), col("ratio cold", "ratio_cold")]
KNN = [col("data", "dataset"), col("k", "k"), pair("accuracy ours / sklearn", "accuracy",
                                                    "sk_accuracy"),
       col("predict warm (s)", "predict_s"), col("sklearn (s)", "sk_predict_s"),
       col("ratio warm", "ratio_warm"), col("ratio cold", "ratio_cold")]
LOGREG = [col("data", "dataset"), pair("accuracy ours / sklearn", "accuracy", "sk_accuracy"),
          col("fit warm (s)", "fit_warm_s"), col("sklearn (s)", "sk_fit_s"),
          col("ratio warm", "ratio_warm"), col("ratio cold", "ratio_cold")]
NAIVE_BAYES = [col("model", "model"), col("max abs. probability diff.", "max_abs_proba_diff"),
               col("fit warm (s)", "fit_warm_s"), col("sklearn (s)", "sk_fit_s"),
               col("ratio warm", "ratio_warm")]
FOREST = [col("data", "dataset"), col("metric", "metric"), pair("ours / sklearn", "ours",
                                                                "sklearn", num),
          col("fit cold (s)", "fit_cold_s"), col("fit warm (s)", "fit_warm_s"),
          col("sklearn fit (s)", "sk_fit_s"), col("fit ratio", "fit_ratio"),
          col("predict ratio", "predict_ratio")]
HMM = [col("model", "model"), col("hmmlearn impl.", "implementation"),
       col("operation", "operation"), col("ours warm (s)", "ours_warm_s"),
       col("hmmlearn (s)", "hmmlearn_s"), col("speed-up", "speedup_warm"),
       col("agreement", "agreement", str)]
RBM = [col("data", "dataset"), col("implementation", "impl"), col("hidden", "hidden"),
       col("epochs", "epochs"), col("fit warm (s)", "fit_warm_s"),
       col("pseudo-likelihood", "pseudo_likelihood")]
KNN_DEVICES = [col("data", "dataset"), col("devices", "devices"),
               col("predict warm (s)", "predict_s"), col("sklearn (s)", "sk_predict_s"),
               col("ratio", "ratio_sk"), col("vs 1 device", "ratio_1dev"),
               col("predictions differing from 1 device", "n_different_1dev")]
SVM_DEVICES = [col("data", "dataset"), col("devices", "devices"), col("fit warm (s)", "fit_s"),
               col("sklearn fit (s)", "sk_fit_s"), col("fit vs 1 device", "fit_ratio_1dev"),
               col("predict warm (s)", "predict_s"),
               col("dual_coef_ diff. from 1 device", "dual_coef_diff_1dev")]
FOREST_DEVICES = [col("data", "dataset"), col("devices", "devices"),
                  col("fit warm (s)", "fit_s"), col("sklearn fit (s)", "sk_fit_s"),
                  col("fit vs 1 device", "ratio_1dev"),
                  col("trees equal to 1 device's", "same_trees_1dev", str)]
USER = [col("estimator", "estimator"), col("peer", "peer"),
        col("first process (s)", "first_process_s"),
        col("second process (s)", "cache_process_s"), col("peer process (s)", "peer_process_s"),
        col("ratio first", "ratio_first"), col("ratio second", "ratio_cache"),
        col("import (s)", "import_s"), col("peer import (s)", "peer_import_s"),
        col("programs compiled", "compile_count")]

TABLES: dict[str, tuple[str, list[Column]]] = {
    "svm": ("svm", SVM), "knn": ("knn", KNN), "knn_gpu": ("knn_gpu", KNN),
    "logreg": ("logreg", LOGREG), "logreg_gpu": ("logreg_gpu", LOGREG),
    "naive_bayes": ("naive_bayes", NAIVE_BAYES), "forest": ("forest", FOREST),
    "forest_gpu": ("forest_gpu", FOREST), "hmm": ("hmm", HMM), "hmm_1000": ("hmm_1000", HMM),
    "hmm_gpu": ("hmm_gpu", HMM), "rbm": ("rbm", RBM), "user": ("user", USER),
    "knn_devices": ("knn_devices", KNN_DEVICES), "svm_devices": ("svm_devices", SVM_DEVICES),
    "forest_devices": ("forest_devices", FOREST_DEVICES),
}


def load(results_dir: str, name: str) -> dict[str, Any] | None:
    path = os.path.join(results_dir, f"{name}.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def render(payload: dict[str, Any], columns: list[Column]) -> str:
    """A markdown table of `payload`'s rows, then the machine it was measured on."""
    lines = ["| " + " | ".join(h for h, _ in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(row) for _, fmt in columns) + " |"
              for row in payload["rows"]]
    return "\n".join(lines) + f"\n\nMeasured on: {payload['machine']}."


def first_row(payload: dict[str, Any] | None, **match: Any) -> Row | None:
    rows = [r for r in (payload or {}).get("rows", [])
            if all(r.get(k) == v for k, v in match.items())]
    return rows[0] if rows else None


def summary(results_dir: str) -> str:
    """The README's table: one line per family, ours beside the peer on the MNIST split."""
    specs = [  # (family, benchmark, row match, what, ours key, peer key, peer name)
        ("SVC (RBF)", "svm", {"dataset": "mnist"}, "fit, warm", "fit_warm_s", "sk_fit_s",
         "libsvm"),
        ("k-NN (k=3)", "knn", {"dataset": "mnist"}, "predict, warm", "predict_s",
         "sk_predict_s", "scikit-learn"),
        ("LogisticRegression", "logreg", {"dataset": "mnist"}, "fit, warm", "fit_warm_s",
         "sk_fit_s", "scikit-learn"),
        ("RandomForest (100 trees)", "forest", {"dataset": "mnist"}, "fit, warm",
         "fit_warm_s", "sk_fit_s", "scikit-learn"),
        ("GaussianHMM diag, 100 x 1,000", "hmm", {"model": "GaussianHMM diag",
                                                  "implementation": "log",
                                                  "operation": "decode (Viterbi)"},
         "Viterbi, warm", "ours_warm_s", "hmmlearn_s", "hmmlearn"),
    ]
    lines = ["| model | what | ours (s) | peer (s) | ratio ours / peer |",
             "|---|---|---|---|---|"]
    machines = set()
    for family, name, match, what, ours, peer, peer_name in specs:
        payload = load(results_dir, name)
        row = first_row(payload, **match)
        if row is None:
            continue
        machines.add(payload["machine"])
        lines.append(f"| {family} | {what} | {num(row[ours])} | {num(row[peer])} "
                     f"({peer_name}) | {num(row[ours] / row[peer])} |")
    return "\n".join(lines) + "\n\nMeasured on: " + "; ".join(sorted(machines)) + "."


def replace_tables(text: str, tables: dict[str, str]) -> str:
    """`text` with the body of every marked table it holds replaced by `tables[name]`."""
    def sub(match: re.Match) -> str:
        name = match.group(1)
        if name not in tables:
            return match.group(0)
        return f"<!-- table:{name} -->\n{tables[name]}\n<!-- /table:{name} -->"

    return re.sub(r"<!-- table:(\w+) -->\n(?:.*?\n)?<!-- /table:\1 -->", sub, text, flags=re.S)


def generate(root: str = ROOT) -> list[str]:
    """Rewrites the marked tables in README.md and docs/performance.md; returns the files."""
    results_dir = os.path.join(root, "experiments", "benchmarks", "results")
    tables = {"summary": summary(results_dir)}
    for table, (name, columns) in TABLES.items():
        payload = load(results_dir, name)
        if payload is not None:
            tables[table] = render(payload, columns)
    written = []
    for doc in ("README.md", os.path.join("docs", "performance.md")):
        path = os.path.join(root, doc)
        if not os.path.exists(path):
            continue
        with open(path) as f:
            text = f.read()
        new = replace_tables(text, tables)
        if new != text:
            with open(path, "w") as f:
                f.write(new)
            written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=ROOT, help="repository root")
    for path in generate(parser.parse_args().root):
        print("wrote", path)


if __name__ == "__main__":
    main()
