"""First-layer filters and feature maps of a trained CNN at two depths.

LeNet-5s trained on the 8x8 digits (upsampled 2x), `seeds` of them in one vmapped call: their
first-layer 5x5 filters beside their random initialization, one test digit's feature maps
after conv1 and conv2, the filters' orientation selectivity on sinusoidal gratings, and a
logistic-regression probe on pixels / conv1 / conv2 features of trained and random networks;
gdm/runners/cnn_features.py states the protocol and the measured findings. `:tiny` is a
seconds-long run for tests.

    python -m gdm.main --config=experiments/cnn_features.py --workdir=/tmp/cnn_features
"""

import ml_collections

ARGS = ("tiny",)


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.runner = "cnn_features"
    c.seed = 0
    c.seeds = 4  # networks, trained in one vmapped call
    c.dataset = ml_collections.ConfigDict(dict(name="digits", test_fraction=0.2))
    c.image_upsample = 2  # bilinear, 8x8 -> 16x16
    c.cnn = ml_collections.ConfigDict(dict(steps=300, batch_size=32, learning_rate=3e-3))
    c.gratings = ml_collections.ConfigDict(dict(orientations=12, phases=4,
                                                frequencies=(0.125, 0.1875, 0.25, 0.3125)))
    c.probe = ml_collections.ConfigDict(dict(C=1.0, tol=1e-4, max_iter=300))
    c.example = 0  # test digit whose feature maps are drawn
    if arg == "tiny":
        c.seeds = 3
        c.cnn.steps = 150
        c.gratings.orientations = 8
        c.probe.max_iter = 100
    elif arg:
        raise ValueError(f"cnn_features config arg must be one of {ARGS} or empty, got {arg!r}")
    return c
