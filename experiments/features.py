"""Hand-crafted (HOG, LBP, raw pixels) vs learned (CNN) features: accuracy vs training size.

HOG / LBP / raw pixels with an RBF SVM, LeNet-5 features (trained on a separate split) with a
linear SVM (R-CNN's recipe), and the LeNet-5 itself, on class-balanced training sets of n
examples, `subsamples` draws per n; gdm/runners/features.py states the protocol and findings.
Default: 8x8 digits, upsampled 2x for HOG and LBP. `:mnist` uses MNIST IDX files
(`dataset.data_dir`, by default $GDM_MNIST_DIR); `:tiny` is a seconds-long run for tests.

    python -m gdm.main --config=experiments/features.py --workdir=/tmp/features
"""

import ml_collections

ARGS = ("tiny", "mnist")


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.runner = "features"
    c.seed = 0
    c.dataset = ml_collections.ConfigDict(dict(name="digits", data_dir="", test_fraction=0.2))
    c.sizes = (20, 50, 100, 200, 400, 800)
    c.subsamples = 5  # class-balanced random training sets per n
    c.feature_split = 400  # training images the feature CNNs learn from, never in a set of n
    c.image_upsample = 2  # bilinear, before HOG and LBP
    c.hog = ml_collections.ConfigDict(dict(orientations=9, pixels_per_cell=4,
                                           cells_per_block=2))
    c.lbp = ml_collections.ConfigDict(dict(points=8, radius=2.0, cells=4, method="uniform"))
    c.svm = ml_collections.ConfigDict(dict(C=1.0, gamma="scale"))
    c.cnn = ml_collections.ConfigDict(dict(steps=600, batch_size=32, learning_rate=3e-3))
    if arg == "tiny":
        c.sizes = (20, 60, 200)
        c.subsamples = 2
        c.feature_split = 200
        c.cnn.steps = 150
    elif arg == "mnist":
        from gdm.data import default_mnist_dir

        c.dataset.name = "mnist_idx"
        c.dataset.data_dir = default_mnist_dir()
        c.sizes = (50, 100, 300, 1000, 3000)
        c.subsamples = 3
        c.feature_split = 2000
        c.image_upsample = 1
        c.hog.pixels_per_cell = 7  # 4x4 cells of the 28x28 image
        c.lbp.radius = 1.0
        c.cnn.steps = 1000
        c.cnn.batch_size = 64
    elif arg:
        raise ValueError(f"features config arg must be one of {ARGS} or empty, got {arg!r}")
    return c
