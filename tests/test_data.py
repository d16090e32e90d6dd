"""gdm.data: embedded sets, IDX files, tfds (mock_data), splits by seed, batching."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import datasets as skd

from gdm import data
from gdm.data.batching import TrainBatches, eval_batches
from gdm.data.idx import load_idx_dir, read_idx, write_idx


@pytest.mark.parametrize("name,n,d,task", [
    ("digits", 1797, (8, 8, 1), "classification"), ("iris", 150, (4,), "classification"),
    ("wine", 178, (13,), "classification"), ("breast_cancer", 569, (30,), "classification"),
    ("diabetes", 442, (10,), "regression")])
def test_bundled_sets_match_sklearn(name, n, d, task):
    ds = data.load(name, seed=3, test_fraction=0.25)
    assert ds.task == task and ds.input_shape == d
    assert len(ds.x_train) + len(ds.x_test) == n
    assert len(ds.x_test) == round(0.25 * n)
    y_all = getattr(skd, f"load_{name}")().target
    assert sorted(np.concatenate([ds.y_train, ds.y_test]).tolist()) == sorted(y_all.tolist())
    if task == "classification":
        assert ds.num_classes == len(np.unique(y_all))


def test_digits_images_scaled_and_flattened():
    ds = data.load("digits", flatten=True)
    assert ds.x_train.shape[1] == 64 and ds.image_shape == (8, 8, 1)
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() == 1.0


def test_standardize_uses_training_statistics():
    ds = data.load("wine")
    np.testing.assert_allclose(ds.x_train.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(ds.x_train.std(0), 1.0, atol=1e-4)
    assert np.abs(ds.x_test.mean(0)).max() > 1e-3  # test set is not re-centred


@pytest.mark.parametrize("name", ["moons", "circles", "blobs", "linear"])
def test_synthetic_sets_are_seeded(name):
    a = data.load(name, seed=1, n_samples=200, noise=0.1)
    b = data.load(name, seed=1, n_samples=200, noise=0.1)
    c = data.load(name, seed=2, n_samples=200, noise=0.1)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)
    assert len(a.x_train) + len(a.x_test) == 200


def test_linear_set_is_linearly_separable():
    from sklearn.svm import LinearSVC

    ds = data.load("linear", n_samples=300, noise=0.0)
    clf = LinearSVC(C=1e4, max_iter=100000).fit(ds.x_train, ds.y_train)
    assert clf.score(ds.x_train, ds.y_train) == 1.0


def test_validation_split_and_bad_fractions():
    ds = data.load("iris", test_fraction=0.2, validation_fraction=0.2)
    assert len(ds.x_val) == 30 and len(ds.x_train) == 90
    with pytest.raises(ValueError, match="test_fraction"):
        data.load("iris", test_fraction=1.5)
    with pytest.raises(ValueError, match="normalize"):
        data.load("iris", normalize="zscore")
    with pytest.raises(ValueError, match="validation"):
        data.load("iris").split("validation")


@pytest.mark.parametrize("suffix", [".gz", ""])
def test_idx_roundtrip_and_loader(tmp_path, suffix):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(50, 6, 5), dtype=np.uint8)
    labels = rng.integers(0, 10, size=50).astype(np.uint8)
    write_idx(str(tmp_path / f"t10k-images-idx3-ubyte{suffix}"), images)
    write_idx(str(tmp_path / f"t10k-labels-idx1-ubyte{suffix}"), labels)
    np.testing.assert_array_equal(read_idx(str(tmp_path / f"t10k-images-idx3-ubyte{suffix}")),
                                  images)
    ds = data.load("mnist_idx", data_dir=str(tmp_path), seed=0, test_fraction=0.2)
    assert ds.x_train.shape == (40, 6, 5, 1) and ds.x_test.shape == (10, 6, 5, 1)
    order = np.random.default_rng(0).permutation(50)
    np.testing.assert_allclose(ds.x_test[..., 0], images[order[40:]] / 255.0, atol=1e-7)
    np.testing.assert_array_equal(ds.y_train, labels[order[:40]])


def test_idx_errors(tmp_path):
    with pytest.raises(ValueError, match="data_dir"):
        load_idx_dir(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="no MNIST-format IDX"):
        load_idx_dir(str(tmp_path))
    bad = tmp_path / "t10k-images-idx3-ubyte"
    bad.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(str(bad))


def test_real_mnist_benchmark_split(mnist_dir):
    ds = data.load_mnist_benchmark(mnist_dir)
    assert ds.x_train.shape == (8000, 784) and ds.x_test.shape == (2000, 784)
    all_y = np.concatenate([ds.y_train, ds.y_test])
    # Class counts of the 10k test set (LeCun et al.) and its mean pixel value.
    assert np.bincount(all_y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    mean = np.concatenate([ds.x_train, ds.x_test]).mean() * 255
    assert abs(mean - 33.79) < 0.01
    raw_x, raw_y = load_idx_dir(mnist_dir)["test"]
    order = np.random.default_rng(0).permutation(10000)
    np.testing.assert_array_equal(ds.y_test, raw_y[order[8000:]])


def test_tfds_reading_path_without_tensorflow():
    import sys

    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=24):
        ds = data.load("mnist", flatten=False)
        cifar = data.load("cifar10", flatten=True)
    assert ds.x_train.shape == (24, 28, 28, 1) and ds.x_test.shape == (24, 28, 28, 1)
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    assert cifar.x_train.shape == (24, 32 * 32 * 3)
    assert "tensorflow" not in sys.modules


def test_tfds_unprepared_and_unknown(tmp_path):
    with pytest.raises(ValueError, match=r"not prepared.*prepare"):
        data.load("mnist", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="neither an embedded set"):
        data.load("no_such_dataset_xyz")


def test_train_batches_are_a_function_of_seed_and_step():
    x = np.arange(100, dtype=np.float32)[:, None]
    y = np.arange(100)
    a, b = TrainBatches(x, y, 10, seed=5), TrainBatches(x, y, 10, seed=5)
    epoch0 = np.concatenate([a.batch(s)["y"] for s in range(10)])
    assert sorted(epoch0.tolist()) == list(range(100))  # an epoch sees every example once
    np.testing.assert_array_equal(b.batch(13)["y"], a.batch(13)["y"])  # random access
    assert not np.array_equal(a.batch(10)["y"], a.batch(0)["y"])  # new order each epoch
    half = TrainBatches(x, y, 10, seed=5, rows=slice(5, 10))  # process 1 of 2
    np.testing.assert_array_equal(half.batch(3)["y"], a.batch(3)["y"][5:])
    with pytest.raises(ValueError, match="batch_size"):
        TrainBatches(x, y, 101, seed=0)


def test_eval_batches_pad_and_mask():
    x = np.ones((7, 2), np.float32)
    batches = list(eval_batches(x, np.arange(7), 3))
    assert [b["x"].shape for b in batches] == [(3, 2)] * 3
    assert sum(b["mask"].sum() for b in batches) == 7
    assert batches[-1]["mask"].tolist() == [1.0, 0.0, 0.0]

