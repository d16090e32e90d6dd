"""Every paper-style figure and table of gdm in one report: DIR/report.md and DIR/report.html.

Runs the figure experiments (gen_vs_disc, decision_boundaries, classifier_table, forest_trees,
depth_ablation, cnn_features, features) and the generative ones (ae_vs_pca, ae_vs_vae,
vae_manifold, gan_mnist, rbm_mnist on the 8x8 digits) on offline data, under 15 minutes on 2
CPU cores; gdm/runners/report.py says what the report holds.

    python -m gdm.main --config=experiments/report.py --workdir=runs/report
    --config.only=gen_vs_disc,forest_trees       a subset
    --config.mnist_dir=DIR                        adds the MNIST versions (MNIST IDX files in DIR)
    --config.force=True                           reruns experiments that already finished
    --config.publish_dir=docs/report              also copies report.md and its figures there

`:tiny` runs every experiment in its test setting (seconds each).
"""

import ml_collections


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.runner = "report"
    c.seed = 0
    c.only = ""  # comma-separated experiment names; empty: all
    c.force = False
    c.mnist_dir = ""  # MNIST IDX directory: adds <name>_mnist experiments
    c.publish_dir = ""
    c.tiny = arg == "tiny"
    if arg not in (None, "tiny"):
        raise ValueError(f"report config arg must be 'tiny' or empty, got {arg!r}")
    return c
