"""MNIST-format IDX files (gzip or raw) from a directory given by a flag or config key."""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np

# IDX type codes -> numpy dtypes (big-endian as the format stores them).
_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

_PREFIXES = {"train": ("train",), "test": ("t10k", "test")}


def read_idx(path: str) -> np.ndarray:
    """Reads one IDX file; `.gz` files are decompressed on the fly."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    type_code, ndim = data[2], data[3]
    if type_code not in _DTYPES:
        raise ValueError(f"{path}: unknown IDX type code {type_code:#x}")
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    dtype = np.dtype(_DTYPES[type_code])
    body = np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape} but holds {body.size} values")
    return body.reshape(shape).astype(dtype.newbyteorder("="))


def _find(data_dir: str, split: str, kind: str) -> str | None:
    for prefix in _PREFIXES[split]:
        ndim = "idx3" if kind == "images" else "idx1"
        for suffix in (".gz", ""):
            for sep in ("-", "."):
                path = os.path.join(data_dir, f"{prefix}-{kind}{sep}{ndim}-ubyte{suffix}")
                if os.path.exists(path):
                    return path
    return None


def load_idx_dir(data_dir: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Returns {'train': (images, labels), 'test': (...)} for the splits found in `data_dir`.

    Images are uint8 of shape (N, H, W). A directory holding only the t10k files yields only
    'test'; callers split it by seed.
    """
    if not data_dir or not os.path.isdir(data_dir):
        raise ValueError(f"dataset.data_dir {data_dir!r} does not exist or is not a directory")
    found = {}
    for split in ("train", "test"):
        images, labels = _find(data_dir, split, "images"), _find(data_dir, split, "labels")
        if images and labels:
            x, y = read_idx(images), read_idx(labels)
            if len(x) != len(y):
                raise ValueError(f"{images} has {len(x)} images but {labels} {len(y)} labels")
            found[split] = (x, y.astype(np.int32))
    if not found:
        raise ValueError(
            f"dataset.data_dir {data_dir!r} holds no MNIST-format IDX files: expected e.g. "
            "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (gzip or raw)")
    return found


def write_idx(path: str, array: np.ndarray) -> None:
    """Writes a uint8 array as IDX (gzip when `path` ends in .gz); used by tests and tools."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())
