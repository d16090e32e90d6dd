"""The benchmark tables of README.md and docs/performance.md come from the results JSON."""

from __future__ import annotations

import json
import shutil

from experiments.benchmarks import docs
from tests.helpers_train import REPO


def _copy_repo_docs(tmp_path):
    shutil.copytree(f"{REPO}/experiments/benchmarks/results",
                    tmp_path / "experiments" / "benchmarks" / "results")
    (tmp_path / "docs").mkdir()
    shutil.copy(f"{REPO}/docs/performance.md", tmp_path / "docs" / "performance.md")
    shutil.copy(f"{REPO}/README.md", tmp_path / "README.md")
    return tmp_path


def test_committed_tables_are_generated_from_the_json(tmp_path):
    root = _copy_repo_docs(tmp_path)
    assert docs.generate(str(root)) == []  # nothing to rewrite: the documents are current
    assert docs.generate(str(root)) == []


def test_tables_follow_the_json(tmp_path):
    root = _copy_repo_docs(tmp_path)
    path = root / "experiments" / "benchmarks" / "results" / "forest.json"
    payload = json.loads(path.read_text())
    row = next(r for r in payload["rows"] if r["dataset"] == "mnist")
    row["fit_warm_s"], row["sk_fit_s"], row["fit_ratio"] = 3.0, 1.5, 2.0
    path.write_text(json.dumps(payload))
    written = docs.generate(str(root))
    assert sorted(p.rsplit("/", 1)[-1] for p in written) == ["README.md", "performance.md"]
    readme = (root / "README.md").read_text()
    assert "| RandomForest (100 trees) | fit, warm | 3 | 1.5 (scikit-learn) | 2 |" in readme
    table = (root / "docs" / "performance.md").read_text().split("<!-- table:forest -->")[1]
    mnist = next(line for line in table.splitlines() if line.startswith("| mnist"))
    assert mnist.rstrip(" |").split(" | ")[4:8] == ["3", "1.5", "2",
                                                 docs.num(row["predict_ratio"])]
    assert docs.generate(str(root)) == []  # idempotent
