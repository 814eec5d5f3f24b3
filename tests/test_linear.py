"""conv_matrix (convlib.linear): the convolution as a matrix, checked against torch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from convlib import conv_matrix, correlate2d
from tests.oracle import oracle_or_refusal

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def matrix_cases(draw):
    H, W = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return dict(H=H, W=W, K=np.random.default_rng(draw(st.integers(0, 2**31))).standard_normal(
        (kh, kw)), stride=draw(st.tuples(st.integers(1, 3), st.integers(1, 3))),
        padding=draw(st.tuples(st.integers(0, 2), st.integers(0, 2))),
        dilation=draw(st.tuples(st.integers(1, 2), st.integers(1, 2))))


@SETTINGS
@given(matrix_cases())
def test_conv_matrix_times_flattened_image_equals_torch_conv2d(case):
    H, W, K = case["H"], case["W"], case["K"]
    kw = {k: case[k] for k in ("stride", "padding", "dilation")}
    X = np.random.default_rng(1).standard_normal((H, W))
    expected = oracle_or_refusal(
        lambda: F.conv2d(torch.tensor(X)[None, None], torch.tensor(K)[None, None], **kw),
        lambda: conv_matrix((H, W), K, **kw))
    if expected is None:
        return
    M = conv_matrix((H, W), K, **kw)
    H_out, W_out = expected.shape[-2:]
    assert M.shape == (H_out * W_out, H * W)
    np.testing.assert_allclose(M @ X.ravel(), expected.numpy().ravel(), rtol=1e-10, atol=1e-12)


@SETTINGS
@given(matrix_cases())
def test_conv_matrix_transpose_is_torch_conv_transpose2d(case):
    H, W, K = case["H"], case["W"], case["K"]
    (sh, sw), (ph, pw), (dh, dw) = case["stride"], case["padding"], case["dilation"]
    kh, kw = K.shape
    fits = oracle_or_refusal(
        lambda: F.conv2d(torch.zeros(1, 1, H, W, dtype=torch.float64),
                         torch.tensor(K)[None, None], stride=(sh, sw), padding=(ph, pw),
                         dilation=(dh, dw)),
        lambda: conv_matrix((H, W), K, case["stride"], case["padding"], case["dilation"]))
    if fits is None:
        return
    M = conv_matrix((H, W), K, case["stride"], case["padding"], case["dilation"])
    H_out = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    W_out = (W + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    # rows/columns the floor dropped come back as output_padding
    leftover = ((H + 2 * ph - dh * (kh - 1) - 1) % sh, (W + 2 * pw - dw * (kw - 1) - 1) % sw)
    Y = np.random.default_rng(2).standard_normal((H_out, W_out))
    expected = F.conv_transpose2d(torch.tensor(Y)[None, None], torch.tensor(K)[None, None],
                                  stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw),
                                  output_padding=leftover)[0, 0]
    assert expected.shape == (H, W)
    np.testing.assert_allclose((M.T @ Y.ravel()).reshape(H, W), expected.numpy(),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv_matrix_handles_every_padding_mode(mode):
    rng = np.random.default_rng(4)
    X, K = rng.standard_normal((5, 6)), rng.standard_normal((3, 2))
    kw = dict(stride=(1, 2), padding=(1, 1, 1, 0), dilation=(2, 1), padding_mode=mode)
    M = conv_matrix((5, 6), K, **kw)
    np.testing.assert_allclose(M @ X.ravel(), correlate2d(X, K, **kw).ravel(),
                               rtol=1e-10, atol=1e-12)
    layer = torch.nn.Conv2d(1, 1, (3, 2), stride=(1, 2), padding=1, dilation=(2, 1), bias=False,
                            padding_mode=mode, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(K)[None, None])
        full = layer(torch.tensor(X)[None, None])[0, 0].numpy()
    # (top, bottom, left, right) = (1, 1, 1, 0): torch's symmetric padding 1 has one more column
    # at the right, and with stride 2 it changes nothing in the columns both compute
    ours = (M @ X.ravel()).reshape(correlate2d(X, K, **kw).shape)
    np.testing.assert_allclose(ours, full[:, :ours.shape[1]], rtol=1e-10, atol=1e-12)


def test_conv_matrix_is_doubly_block_toeplitz_for_stride_one():
    H, W, K = 5, 4, np.arange(1.0, 7.0).reshape(2, 3)
    M = conv_matrix((H, W), K, padding=1)
    H_out, W_out = 6, 4
    blocks = M.reshape(H_out, W_out, H, W).transpose(0, 2, 1, 3)  # block (i, r): W_out x W
    for i in range(H_out):
        for r in range(H):
            block = blocks[i, r]
            a = r - i + 1  # kernel row this block uses (padding 1)
            if 0 <= a < 2:
                # Toeplitz: entry (j, c) depends on c - j only, and holds K[a, c - j + 1]
                for j in range(W_out):
                    for c in range(W):
                        b = c - j + 1
                        assert block[j, c] == (K[a, b] if 0 <= b < 3 else 0.0)
            else:
                assert not block.any()
            if i > 0 and r > 0:  # the block pattern repeats down the diagonals
                np.testing.assert_array_equal(block, blocks[i - 1, r - 1])


def test_conv_matrix_follows_the_kernel_kind():
    M = conv_matrix((3, 3), torch.ones(2, 2, dtype=torch.float32))
    assert isinstance(M, torch.Tensor) and M.dtype == torch.float32 and M.shape == (4, 9)
    assert M.sum().item() == 16.0
