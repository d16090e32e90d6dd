"""Size buckets and padding (gdm._buckets), against numpy's own np.pad."""

from __future__ import annotations

import numpy as np
import pytest

from gdm._buckets import bucket_size, pad_rows, pad_to, pad_to_shape


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
