"""One shape for a figure's published claims checked against what the run measured.

Each figure runner defines `findings(results) -> list[dict]` built from `finding(...)`; the
report (gdm/runners/report.py) shows them as a table with a holds/differs mark, so a reader
sees the paper's number beside ours without opening results.json.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def finding(claim: str, published: str, measured: str, holds: bool) -> dict:
    """A checked claim: what the paper says, what we measured, and whether ours agrees.

    `claim` names the statement in a few words ("NB reaches its asymptote faster: digits_3v8"),
    `published` the paper's number or finding with its source, `measured` ours as text with
    the numbers, `holds` whether the measurement agrees with the claim.
    """
    for name, value in (("claim", claim), ("published", published), ("measured", measured)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"finding {name} must be a non-empty string, got {value!r}")
    return {"claim": claim, "published": published, "measured": measured, "holds": bool(holds)}


def paired_difference(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error of a - b over paired runs (the same seeds, splits or training
    sets for both); the error is 0 for a single pair. A difference over two standard errors is
    what the figures' findings call "better" or "worse"."""
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0
    return float(d.mean()), se


def paired(a: Sequence[float], b: Sequence[float]) -> dict:
    """a vs b over paired runs: the mean difference, its standard error, and which is better
    ("first", "second", or "tie" where the difference is within two standard errors)."""
    mean, se = paired_difference(a, b)
    better = "tie" if abs(mean) <= 2 * se or mean == 0 else ("first" if mean > 0 else "second")
    return {"difference": mean, "se": se, "better": better}


def winner(comparison: dict, first: str, second: str) -> str:
    """The name of the better side of a `paired` comparison, or "tie"."""
    return {"first": first, "second": second, "tie": "tie"}[comparison["better"]]
