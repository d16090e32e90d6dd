"""How runners hand back their results: results.json (+ results.md when there is a table)."""

from __future__ import annotations

import json
import os

import jax


def write_results(workdir: str, results: dict[str, float], table: str | None = None) -> None:
    """Prints `table`; on process 0 writes it to results.md and `results` to results.json."""
    if table is not None:
        print("\n" + table)
    if jax.process_index() != 0:
        return
    if table is not None:
        with open(os.path.join(workdir, "results.md"), "w") as f:
            f.write(table)
    with open(os.path.join(workdir, "results.json"), "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
