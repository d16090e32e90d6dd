"""The report as a list of blocks, written out as Markdown and as self-contained HTML.

Blocks are ("h1" | "h2" | "h3" | "p", text), ("table", header, rows) and ("img", path relative
to the report's directory); both writers walk the same list, so report.md and report.html
always hold the same content (the HTML with its figures embedded as base64 PNGs).
"""

from __future__ import annotations

import base64
import html
import importlib.metadata
import math
import os
import platform
import shutil

import numpy as np

VERSIONED = ("jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "numpy", "scikit-learn",
             "scikit-image", "matplotlib")


def jsonable(value):
    """`value` with numpy scalars/arrays and tuples turned into JSON types."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def machine() -> str:
    """The machine and library versions, one line."""
    import jax

    devices = jax.devices()
    versions = []
    for package in VERSIONED:
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return (f"{platform.platform()}, {os.cpu_count()} CPU cores, {len(devices)} "
            f"{devices[0].platform} device(s) ({devices[0].device_kind}); Python "
            f"{platform.python_version()}, {', '.join(versions)}")


def figures_of(workdir: str, name: str) -> list[str]:
    """Every PNG an experiment wrote, relative to the report's directory."""
    found = []
    for root, _, files in os.walk(os.path.join(workdir, name)):
        found += [os.path.relpath(os.path.join(root, f), workdir) for f in files
                  if f.endswith(".png")]
    return sorted(found)


def markdown_blocks(text: str) -> list[tuple]:
    """A results.md (tables and lines of text) as blocks."""
    blocks, table = [], []
    for line in [*text.splitlines(), ""]:
        if line.strip().startswith("|"):
            table.append([c.strip() for c in line.strip().strip("|").split("|")])
            continue
        if table:
            rows = [r for r in table[1:] if not all(set(c) <= set("-: ") for c in r)]
            blocks.append(("table", table[0], rows))
            table = []
        if line.strip():
            blocks.append(("p", line.strip()))
    return blocks


def _scalars_table(results: dict) -> list[tuple]:
    rows = [[k, f"{v:.4g}"] for k, v in sorted(results.items())
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)]
    return [("table", ["metric", "value"], rows)] if rows else []


def entry_blocks(workdir: str, status: dict) -> list[tuple]:
    name = status["name"]
    blocks = [("h2", name)]
    if status["state"] != "ok":
        return blocks + [("p", f"**failed** after {status['seconds']:.0f} s: "
                               f"{status.get('error', '')} (log: {name}/log.txt)")]
    blocks.append(("p", f"Wall time {status['seconds']:.0f} s."))
    claims = status.get("findings", [])
    if claims:
        blocks += [("h3", "Checked claims"),
                   ("table", ["claim", "published", "ours", ""],
                    [[c["claim"], c["published"], c["measured"],
                      "holds" if c["holds"] else "differs"] for c in claims])]
    if "findings_error" in status:
        blocks.append(("p", f"Claims could not be checked: {status['findings_error']}"))
    figures = figures_of(workdir, name)
    if figures:
        blocks.append(("h3", "Figures"))
        blocks += [("img", path) for path in figures]
    table_path = os.path.join(workdir, name, "results.md")
    blocks.append(("h3", "Results"))
    if os.path.exists(table_path):
        with open(table_path) as f:
            blocks += markdown_blocks(f.read())
    else:
        blocks += _scalars_table(status.get("results", {}))
    return blocks


def report_blocks(workdir: str, statuses: list[dict], seconds: float) -> list[tuple]:
    """The whole report: machine, summary table, then one section per experiment."""
    summary = []
    for s in statuses:
        claims = s.get("findings", [])
        held = f"{sum(c['holds'] for c in claims)} of {len(claims)}" if claims else "-"
        summary.append([s["name"], s["state"], f"{s['seconds']:.0f} s", held])
    blocks = [("h1", "gdm report"), ("p", f"Machine: {machine()}."),
              ("p", f"{len(statuses)} experiments, "
                    f"{sum(s['state'] != 'ok' for s in statuses)} failed; their wall times "
                    f"sum to {sum(s['seconds'] for s in statuses):.0f} s; this run took "
                    f"{seconds:.0f} s (experiments reused from an earlier run keep their "
                    "own wall time)."),
              ("table", ["experiment", "status", "wall time", "claims held"], summary)]
    for status in statuses:
        blocks += entry_blocks(workdir, status)
    return blocks


def to_markdown(blocks: list[tuple]) -> str:
    out = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3"):
            out.append(f"{'#' * int(kind[1])} {block[1]}")
        elif kind == "p":
            out.append(block[1])
        elif kind == "img":
            out.append(f"![{os.path.basename(block[1])}]({block[1]})")
        else:
            _, header, rows = block
            cells = [header, ["---"] * len(header), *rows]
            out.append("\n".join("| " + " | ".join(c.replace("|", "/") for c in r) + " |"
                                 for r in cells))
    return "\n\n".join(out) + "\n"


def _inline(text: str) -> str:
    parts = html.escape(text).split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))


def to_html(blocks: list[tuple], workdir: str) -> str:
    out = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3", "p"):
            out.append(f"<{kind}>{_inline(block[1])}</{kind}>")
        elif kind == "img":
            with open(os.path.join(workdir, block[1]), "rb") as f:
                data = base64.b64encode(f.read()).decode()
            out.append(f'<figure><img alt="{html.escape(block[1])}" '
                       f'src="data:image/png;base64,{data}"><figcaption>'
                       f"{html.escape(block[1])}</figcaption></figure>")
        else:
            _, header, rows = block
            head = "".join(f"<th>{_inline(c)}</th>" for c in header)
            body = "".join("<tr>" + "".join(f'<td class="{c}">{_inline(c)}</td>'
                                            if c in ("holds", "differs")
                                            else f"<td>{_inline(c)}</td>" for c in r) + "</tr>"
                           for r in rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    style = ("body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
             "padding:.25em .5em;vertical-align:top}img{max-width:100%}"
             ".holds{color:#1a7f37}.differs{color:#b35900;font-weight:bold}")
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>gdm report</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(out) + "\n</body></html>\n")


def write_report(workdir: str, statuses: list[dict], seconds: float) -> dict[str, str]:
    """Writes workdir/report.md and workdir/report.html; returns their paths."""
    blocks = report_blocks(workdir, statuses, seconds)
    paths = {"markdown": os.path.join(workdir, "report.md"),
             "html": os.path.join(workdir, "report.html")}
    with open(paths["markdown"], "w") as f:
        f.write(to_markdown(blocks))
    with open(paths["html"], "w") as f:
        f.write(to_html(blocks, workdir))
    return paths


def publish(workdir: str, statuses: list[dict], directory: str) -> None:
    """Copies report.md and every figure it shows into `directory` (same relative paths), so
    a copy of the report can be committed beside the code."""
    for status in statuses:
        for path in figures_of(workdir, status["name"]):
            os.makedirs(os.path.dirname(os.path.join(directory, path)), exist_ok=True)
            shutil.copyfile(os.path.join(workdir, path), os.path.join(directory, path))
    shutil.copyfile(os.path.join(workdir, "report.md"), os.path.join(directory, "report.md"))
