"""SVM vs random forest vs deep networks as the training set grows, each beside scikit-learn.

The survey claims: SVMs are strong with little data, forests train faster than SVMs as n grows,
deep networks are best with the most data. Test accuracy, fit / predict time, peak memory and
predict_proba of every model at each n (mean +- std over subsamples); gdm/runners/
classifier_table.py states the measured findings. Default: the 8x8 digits, offline.
`:mnist` runs the MNIST IDX split ($GDM_MNIST_DIR, or --config.dataset.data_dir=DIR; the
10k test set split 8,000 / 2,000) at n = 1000..8000 with LeNet-5 added; `:tiny` for tests.

    python -m gdm.main --config=experiments/classifier_table.py --workdir=/tmp/classifier_table
"""

import ml_collections

ARGS = ("tiny", "mnist")


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.runner = "classifier_table"
    c.seed = 0
    c.seeds = 2  # training subsamples per n (and model seeds)
    c.dataset = ml_collections.ConfigDict(dict(name="digits", data_dir="", test_fraction=0.2))
    c.train_sizes = (40, 100, 250, 600, 0)  # 0: the whole training split
    c.models = "svm,forest,mlp,knn,logreg"  # families; gdm and scikit-learn of each
    c.sklearn_threads = 1  # BLAS/OpenMP threads of scikit-learn's fits (threadpoolctl)
    c.svm_C = 10.0
    c.n_trees = 100
    c.knn_k = 3
    c.logreg_max_iter = 200
    c.mlp_config = "experiments/mlp_digits.py"
    c.cnn_config = "experiments/cnn_digits.py"
    c.neural_epochs = 60  # updates: neural_epochs epochs of n examples,
    c.neural_min_steps = 300  # but at least this many
    if arg == "tiny":
        c.train_sizes = (40, 120)
        c.n_trees = 30
        c.neural_epochs = 20
        c.neural_min_steps = 100
    elif arg == "mnist":
        from gdm.data import default_mnist_dir

        c.dataset.name = "mnist_idx"
        c.dataset.data_dir = default_mnist_dir()
        c.train_sizes = (1000, 2000, 4000, 8000)
        c.models = "svm,forest,mlp,cnn,knn,logreg"
        c.cnn_config = "experiments/cnn_mnist.py"
        c.neural_epochs = 20
    elif arg:
        raise ValueError(f"classifier_table config arg must be one of {ARGS} or empty, "
                         f"got {arg!r}")
    return c
