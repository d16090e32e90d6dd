"""Size buckets and padding (gdm.utils.buckets), against numpy's own np.pad."""

from __future__ import annotations

import numpy as np
import pytest

from gdm.utils.buckets import (
    ALIGNMENT,
    aligned,
    aligned_empty,
    bucket_size,
    pad_rows,
    pad_to,
    pad_to_shape,
    padded_weights,
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
    (padded, labels), size = pad_rows(np.ones((13, 2)), np.arange(13))
    assert size == padded.shape[0] == labels.shape[0] == bucket_size(13)
    assert padded[:13].sum() == 26 and padded[13:].sum() == 0 and labels[13:].sum() == 0
    w = padded_weights(13, size, None)
    assert w.sum() == 13 and w[13:].sum() == 0


@pytest.mark.parametrize("minimum", [1, 2, 16, 128])
def test_bucket_grids(minimum):
    """powers_of_two_to: the next power of two up to the bound, the default grid above it;
    per_octave=4: four grid points per octave, multiples of 8."""
    for n in range(0, 6000):
        size = bucket_size(n, minimum, powers_of_two_to=2048)
        if n <= 2048:
            assert size == max(minimum, 1 << max(0, (max(n, 1) - 1).bit_length()))
        else:
            assert size == bucket_size(n)
    fine = [bucket_size(n, 8, per_octave=4) for n in range(9, 4097)]
    assert all(n <= s < n * 2**0.25 + 8 and s % 8 == 0 for n, s in enumerate(fine, start=9))
    assert len(set(fine)) <= 4 * 9  # nine octaves from 8 to 4096, at most four points each


@pytest.mark.parametrize("dtype", [np.int8, np.float32, np.float64])
def test_padded_and_packed_arrays_start_aligned(dtype):
    """Padded arrays and HMM blocks start on ALIGNMENT bytes (JAX then reads them in place);
    `aligned` copies only what is not, and keeps the values."""
    from gdm.hmm._sequences import pack
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
