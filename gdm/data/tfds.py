"""tensorflow-datasets through `tfds.data_source` (array_record): reading needs no TensorFlow.

Preparing a dataset (download_and_prepare) still calls TensorFlow for most image sets (see
DESIGN.md), so this module never prepares implicitly: when the data is not in `data_dir`, it
fails with one message that names both ways out. `python -m gdm.data.tfds NAME --data_dir D`
prepares a set where TensorFlow is installed (pip install -e '.[prepare]').
"""

from __future__ import annotations

import os
import sys

import numpy as np

_NEEDS_PREPARING = (
    "tensorflow-datasets set {name!r} is not prepared in data_dir {data_dir!r}. Either point "
    "--config.dataset.data_dir at a directory that already holds it prepared (array_record "
    "format), or install TensorFlow (pip install -e '.[prepare]') and run "
    "`python -m gdm.data.tfds {name} --data_dir DIR` on a machine with network access. "
    "Offline alternatives: dataset.name=digits, or mnist_idx with the IDX files.")


def _features(name: str, builder) -> tuple[str, str | None]:
    keys = builder.info.supervised_keys
    if keys:
        return keys[0], keys[1]
    features = list(builder.info.features)
    image = "image" if "image" in features else features[0]
    return image, ("label" if "label" in features else None)


def _read_split(source, image_key: str, label_key: str | None, chunk: int = 4096):
    images, labels = [], []
    for start in range(0, len(source), chunk):
        keys = list(range(start, min(start + chunk, len(source))))
        try:  # batched read; tfds.testing.mock_data's source lacks it (TypeError)
            examples = source.__getitems__(keys)
        except TypeError:
            examples = [source[k] for k in keys]
        images.append(np.stack([np.asarray(e[image_key]) for e in examples]))
        if label_key:
            labels.append(np.asarray([e[label_key] for e in examples]))
    x = np.concatenate(images)
    y = np.concatenate(labels).astype(np.int32) if label_key else np.zeros(len(x), np.int32)
    return x, y


def load_arrays(name: str, data_dir: str | None = None):
    """Returns ((x_train, y_train), (x_test | None, y_test | None)) as numpy arrays."""
    import tensorflow_datasets as tfds

    data_dir = os.path.expanduser(data_dir) if data_dir else None
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        from gdm.data.embedded import NAMES

        raise ValueError(
            f"config.dataset.name {name!r} is neither an embedded set ({', '.join(NAMES)}), "
            "'mnist_idx', nor a tensorflow-datasets name") from None
    image_key, label_key = _features(name, builder)
    def source(split: str):
        try:
            return tfds.data_source(name, split=split, data_dir=data_dir, download=False)
        except (AssertionError, FileNotFoundError, NotImplementedError,
                tfds.core.registered.DatasetNotFoundError):
            raise ValueError(_NEEDS_PREPARING.format(name=name, data_dir=data_dir)) from None
        except ValueError as e:  # an unknown split name
            if split == "test" and "split" in str(e).lower():
                return None
            raise

    train = _read_split(source("train"), image_key, label_key)
    test_source = source("test")
    test = _read_split(test_source, image_key, label_key) if test_source else (None, None)
    return train, test


def prepare(name: str, data_dir: str | None) -> None:
    """Downloads and prepares `name` in array_record format (needs TensorFlow and network)."""
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        raise SystemExit("preparing tfds data needs TensorFlow: pip install -e '.[prepare]'"
                         ) from None
    import tensorflow_datasets as tfds

    tfds.builder(name, data_dir=data_dir).download_and_prepare(file_format="array_record")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("--data_dir", default=None)
    args = parser.parse_args()
    prepare(args.name, args.data_dir)
    print(f"prepared {args.name} in {args.data_dir or '~/tensorflow_datasets'}", file=sys.stderr)
