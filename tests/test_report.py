"""The report: every experiment end to end in its tiny setting, reuse, force, failures, subsets."""

from __future__ import annotations

import json
import os
import re

import ml_collections
import pytest

from gdm.config import load_config
from gdm.runners import report
from gdm.runners._report_entries import ENTRIES, Entry


def report_config(**overrides):
    config = load_config("experiments/report.py:tiny")
    for key, value in overrides.items():
        config[key] = value
    return config


def status_of(workdir, name) -> dict:
    with open(os.path.join(workdir, name, report.STATUS_FILE)) as f:
        return json.load(f)


def test_every_experiment_runs_and_the_html_embeds_every_figure(tmp_path):
    out = report.run(report_config(), str(tmp_path))
    assert out["failed"] == [] and out["experiments"] == len(ENTRIES)
    markdown = (tmp_path / "report.md").read_text()
    page = (tmp_path / "report.html").read_text()
    figures = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.png"))
    assert len(figures) >= len(ENTRIES)  # every experiment draws at least one figure
    for entry in ENTRIES:
        assert f"## {entry.name}" in markdown and f"<h2>{entry.name}</h2>" in page
        assert any(f.startswith(f"{entry.name}/") for f in figures), entry.name
    for path in figures:
        assert f"]({path})" in markdown, path
        assert f'alt="{path}" src="data:image/png;base64,' in page, path
    assert len(re.findall(r"data:image/png;base64,", page)) == len(figures)
    # The checked claims of every runner that has them, with their mark, in both documents.
    claims = [c for e in ENTRIES for c in status_of(tmp_path, e.name).get("findings", [])]
    assert len(claims) >= len(ENTRIES)
    for claim in claims:
        mark = "holds" if claim["holds"] else "differs"
        assert f"| {claim['measured'].replace('|', '/')} | {mark} |" in markdown
    assert "claims could not be checked" not in markdown.lower()


def test_finished_experiments_are_reused_unless_forced(tmp_path, capsys):
    config = report_config(only="forest_trees")
    report.run(config, str(tmp_path))
    first = status_of(tmp_path, "forest_trees")
    report.run(config, str(tmp_path))
    assert "forest_trees: reused" in capsys.readouterr().out
    assert status_of(tmp_path, "forest_trees") == first
    config.force = True
    report.run(config, str(tmp_path))
    assert "forest_trees: ok in" in capsys.readouterr().out
    assert status_of(tmp_path, "forest_trees")["seconds"] != first["seconds"]


def test_a_failing_experiment_is_reported_and_the_others_still_run(tmp_path, monkeypatch):
    broken = Entry("broken", "experiments/gen_vs_disc.py",
                   tiny_config="experiments/gen_vs_disc.py:tiny", tiny_overrides={"splits": 1})
    forest = next(e for e in ENTRIES if e.name == "forest_trees")
    monkeypatch.setattr(report, "ENTRIES", (broken, forest))
    out = report.run(report_config(), str(tmp_path))
    assert out["failed"] == ["broken"]
    assert status_of(tmp_path, "forest_trees")["state"] == "ok"
    markdown = (tmp_path / "report.md").read_text()
    assert "**failed**" in markdown and "config.splits must be >= 2" in markdown
    assert "config.splits must be >= 2" in (tmp_path / "broken" / "log.txt").read_text()


def test_only_picks_a_subset_and_names_unknown_experiments():
    chosen = report.selected_entries(report_config(only="rbm_mnist, gen_vs_disc"))
    assert [name for name, _, _ in chosen] == ["gen_vs_disc", "rbm_mnist"]
    with pytest.raises(ValueError, match="config.only: unknown experiment.*nope"):
        report.selected_entries(report_config(only="gen_vs_disc,nope"))


def test_mnist_dir_adds_the_mnist_versions(tmp_path):
    config = report_config(only="ae_vs_pca", mnist_dir=str(tmp_path))
    config.tiny = False
    chosen = report.selected_entries(config)
    assert [(n, s) for n, _, s in chosen] == [("ae_vs_pca", "report"), ("ae_vs_pca_mnist",
                                                                        "mnist")]
    sub = report.entry_config(chosen[1][1], "mnist", config)
    assert sub.dataset.name == "mnist_idx" and sub.dataset.data_dir == str(tmp_path)


def test_every_entry_config_loads_in_every_setting(tmp_path):
    config = report_config(mnist_dir=str(tmp_path))
    for entry in ENTRIES:
        for setting in ("report", "tiny") + (("mnist",) if entry.mnist_config else ()):
            sub = report.entry_config(entry, setting, config)
            assert sub.seed == config.seed, (entry.name, setting)


def test_bad_report_arg():
    with pytest.raises(ValueError, match="'tiny' or empty"):
        load_config("experiments/report.py:full")


def test_gan_is_compared_with_the_vae_on_the_same_data():
    from gdm.runners._report_entries import gan_findings

    gan = {"eval/frechet_distance": 50.0, "eval/frechet_distance_floor": 2.0}
    others = {"vae_manifold": {"eval/frechet_distance": 20.0},
              "vae_manifold_mnist": {"eval/frechet_distance": 200.0}}
    for name, vae_fd, holds in (("digits", 20.0, False), ("mnist_idx", 200.0, True)):
        config = ml_collections.ConfigDict({"dataset": {"name": name}})
        versus = gan_findings(gan, config, others)[-1]
        assert versus["measured"] == f"GAN 50.0 vs VAE {vae_fd:.1f}"
        assert versus["holds"] is holds
