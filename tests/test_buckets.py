"""Size buckets and padding (gdm._buckets), against numpy's own np.pad."""

from __future__ import annotations

import numpy as np
import pytest

from gdm._buckets import (
    ALIGNMENT,
    aligned,
    aligned_empty,
    bucket_size,
    pad_rows,
    pad_to,
    pad_to_shape,
)


@pytest.mark.parametrize("shape, target", [((5, 3), (8, 4)), ((5, 3), (5, 7)), ((5, 3), (9, 3)),
                                           ((2, 3, 4), (3, 5, 6)), ((4,), (9,)), ((3, 3), (3, 3)),
                                           ((0, 2), (4, 2))])
@pytest.mark.parametrize("value", [0, -1.5])
def test_pad_to_shape_equals_np_pad(shape, target, value):
    x = np.random.default_rng(0).random(shape).astype(np.float32)
    out = pad_to_shape(x, target, value)
    expected = np.pad(x, [(0, t - s) for s, t in zip(shape, target, strict=True)],
                      constant_values=value)
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(out, expected)


def test_pad_to_one_axis_and_errors():
    x = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(pad_to(x, 4, 1, value=7), [[0, 1, 2, 7], [3, 4, 5, 7]])
    np.testing.assert_array_equal(pad_to(np.ones(2, bool), 3), [True, True, False])
    with pytest.raises(ValueError, match="down to"):
        pad_to(x, 1, 0)


def test_bucket_sizes_grow_geometrically_and_cover_n():
    sizes = [bucket_size(n) for n in range(1, 5000)]
    assert all(s >= n and s % 8 == 0 for n, s in enumerate(sizes, start=1))
    assert len(set(sizes)) < 30  # logarithmically many programs
    padded, mask = pad_rows(np.ones((13, 2)))
    assert padded.shape[0] == bucket_size(13) and mask.sum() == 13 and padded[13:].sum() == 0


@pytest.mark.parametrize("dtype", [np.int8, np.float32, np.float64])
def test_padded_and_packed_arrays_start_aligned(dtype):
    """Padded arrays and HMM blocks start on ALIGNMENT bytes (JAX then reads them in place);
    `aligned` copies only what is not, and keeps the values."""
    from gdm._hmm.sequences import pack
    rng = np.random.default_rng(0)
    for shape in [(5,), (3, 7), (2, 3, 5)]:
        empty = aligned_empty(shape, dtype)
        assert empty.shape == shape and empty.dtype == dtype
        assert empty.ctypes.data % ALIGNMENT == 0
    x = rng.normal(size=(7, 5)).astype(dtype)
    padded = pad_to_shape(x, (9, 8), 3)
    assert padded.ctypes.data % ALIGNMENT == 0
    np.testing.assert_array_equal(padded, np.pad(x, ((0, 2), (0, 3)), constant_values=3))
    offset = np.empty(x.size + 1, dtype)[1:].reshape(x.shape)
    offset[...] = x
    copy = aligned(offset)
    assert copy.ctypes.data % ALIGNMENT == 0 and copy is not offset
    np.testing.assert_array_equal(copy, x)
    assert aligned(copy) is copy
    for lengths in (np.array([40, 40, 40]), np.array([40, 3, 17])):
        X = rng.normal(size=(int(lengths.sum()), 2)).astype(dtype)
        block, _ = pack(X, lengths)
        assert block.ctypes.data % ALIGNMENT == 0
