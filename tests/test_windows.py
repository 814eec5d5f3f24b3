"""Sliding windows, im2col and col2im against their definition and torch's unfold / fold."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from convlib import col2im, im2col, sliding_windows, windows
from tests.oracle import oracle_or_refusal

SETTINGS = settings(max_examples=60, deadline=None)
small_pairs = st.tuples(st.integers(1, 3), st.integers(1, 3))


@SETTINGS
@given(st.integers(1, 8), st.integers(1, 8), small_pairs, small_pairs,
       st.tuples(st.integers(1, 2), st.integers(1, 2)), st.integers(0, 2**31))
def test_sliding_windows_hold_the_pixels_the_formula_names(H, W, kernel, stride, dilation, seed):
    X = np.random.default_rng(seed).standard_normal((H, W))
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    if dh * (kh - 1) + 1 > H or dw * (kw - 1) + 1 > W:
        with pytest.raises(ValueError, match="larger than the input"):
            sliding_windows(X, kernel, stride, dilation)
        return
    V = sliding_windows(X, kernel, stride, dilation)
    H_out, W_out = (H - dh * (kh - 1) - 1) // sh + 1, (W - dw * (kw - 1) - 1) // sw + 1
    assert V.shape == (H_out, W_out, kh, kw)
    for i in range(H_out):
        for j in range(W_out):
            for a in range(kh):
                for b in range(kw):
                    assert V[i, j, a, b] == X[i * sh + a * dh, j * sw + b * dw]


def test_sliding_windows_is_a_read_only_view_without_copy():
    X = np.arange(30.0).reshape(5, 6)
    V = sliding_windows(X, (3, 3))
    assert np.shares_memory(V, X)
    with pytest.raises(ValueError):
        V[0, 0, 0, 0] = 1.0
    T = sliding_windows(torch.arange(30.0).reshape(5, 6), (2, 2), stride=2)
    assert isinstance(T, torch.Tensor) and T.shape == (2, 3, 2, 2)  # rows 0-1, 2-3 (row 4 left)
    torch.testing.assert_close(T[1, 2], torch.tensor([[16.0, 17.0], [22.0, 23.0]]))


@st.composite
def unfold_cases(draw, max_step=None):
    """Inputs, kernels, strides and dilations (up to max_step; by default 3 and 2)."""
    steps = st.tuples(st.integers(1, max_step or 3), st.integers(1, max_step or 3))
    dilations = st.tuples(st.integers(1, max_step or 2), st.integers(1, max_step or 2))
    N, C = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    size = st.integers(1, 10 if max_step else 7)
    H, W = draw(size), draw(size)
    return dict(shape=(N, C, H, W), kernel=draw(small_pairs), stride=draw(steps),
                dilation=draw(dilations),
                padding=draw(st.tuples(st.integers(0, 2), st.integers(0, 2))),
                seed=draw(st.integers(0, 2**31)))


@SETTINGS
@given(unfold_cases(max_step=4))
def test_im2col_equals_torch_unfold_or_both_refuse(case):
    """Both paths: the window copy, and the stride phases of large inputs
    (convlib.windows._strided_columns) forced on these small ones; strides and dilations up to
    4, so that gcd(dilation, stride) takes 1, 2 and 3."""
    x = np.random.default_rng(case["seed"]).standard_normal(case["shape"])
    kw = dict(stride=case["stride"], dilation=case["dilation"], padding=case["padding"])
    expected = oracle_or_refusal(lambda: F.unfold(torch.tensor(x), case["kernel"], **kw).numpy(),
                                 lambda: im2col(x, case["kernel"], **kw))
    if expected is None:
        return
    np.testing.assert_array_equal(im2col(x, case["kernel"], **kw), expected)
    np.testing.assert_array_equal(im2col(x[0], case["kernel"], **kw), expected[0])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(windows, "PHASE_SPLIT_SIZE", 0)
        np.testing.assert_array_equal(im2col(x, case["kernel"], **kw), expected)


def test_im2col_of_a_stem_layer_takes_the_phase_path_and_equals_torch_unfold():
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 60)).astype(np.float32)
    kw = dict(stride=2, padding=3)
    assert 3 * 7 * 7 * 32 * 30 >= windows.PHASE_SPLIT_SIZE  # columns large enough: phase path
    np.testing.assert_array_equal(im2col(x, (7, 7), **kw),
                                  F.unfold(torch.from_numpy(x), (7, 7), **kw).numpy())


@SETTINGS
@given(unfold_cases())
def test_col2im_equals_torch_fold_or_both_refuse(case):
    N, C, H, W = case["shape"]
    kh, kw_ = case["kernel"]
    kw = dict(stride=case["stride"], dilation=case["dilation"], padding=case["padding"])
    unfolded = oracle_or_refusal(lambda: F.unfold(torch.zeros(1, 1, H, W), (kh, kw_), **kw),
                                 lambda: col2im(np.zeros((N, C * kh * kw_, 1)), (H, W),
                                                (kh, kw_), **kw))
    if unfolded is None:
        return
    blocks = unfolded.shape[-1]
    cols = np.random.default_rng(case["seed"]).standard_normal((N, C * kh * kw_, blocks))
    expected = F.fold(torch.tensor(cols), (H, W), (kh, kw_), **kw).numpy()
    np.testing.assert_allclose(col2im(cols, (H, W), (kh, kw_), **kw), expected,
                               rtol=1e-12, atol=1e-12)


def test_col2im_of_im2col_counts_how_many_windows_cover_each_pixel():
    ones = np.ones((1, 1, 4, 4))
    counts = col2im(im2col(ones, (3, 3)), (4, 4), (3, 3))
    np.testing.assert_array_equal(counts[0, 0], [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2],
                                                 [1, 2, 2, 1]])


def test_col2im_rejects_columns_of_the_wrong_size():
    with pytest.raises(ValueError, match="do not match"):
        col2im(np.zeros((1, 9, 5)), (4, 4), (3, 3))
    with pytest.raises(ValueError, match="do not match"):
        col2im(np.zeros((1, 10, 4)), (4, 4), (3, 3))


def test_im2col_then_one_matrix_product_is_a_convolution_layer():
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((2, 3, 6, 7)), rng.standard_normal((5, 3, 3, 3))
    cols = im2col(x, (3, 3), padding=1)
    y = (w.reshape(5, -1) @ cols).reshape(2, 5, 6, 7)
    np.testing.assert_allclose(y, F.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy(),
                               rtol=1e-10, atol=1e-12)
