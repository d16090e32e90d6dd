"""One shape for a figure's published claims checked against what the run measured.

Each figure runner defines `findings(results) -> list[dict]` built from `finding(...)`; the
report (gdm/runners/report.py) shows them as a table with a holds/differs mark, so a reader
sees the paper's number beside ours without opening results.json.
"""

from __future__ import annotations


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
