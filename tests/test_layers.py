"""Multi-channel layers (convlib.layers) against torch.nn.functional.conv2d / conv_transpose2d."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from convlib import (
    conv2d_nchw,
    conv2d_nchw_loop,
    conv_transpose2d,
    conv_transpose2d_loop,
    layers,
    windows,
)
from tests.oracle import oracle_or_refusal

SETTINGS = settings(max_examples=60, deadline=None)
pairs = st.tuples(st.integers(1, 2), st.integers(1, 3))


@st.composite
def layer_cases(draw):
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    N = draw(st.integers(1, 2))
    H, W = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.one_of(st.integers(1, 3), pairs))
    dilation = draw(st.one_of(st.integers(1, 2), pairs))
    paddings = [st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)),
                st.just("valid")]
    if stride in (1, (1, 1)):
        paddings.append(st.just("same"))
    padding = draw(st.one_of(*paddings))
    mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    bias = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    x = rng.standard_normal((N, c_in, H, W))
    w = rng.standard_normal((c_out, c_in // groups, kh, kw))
    b = rng.standard_normal(c_out) if bias else None
    return x, w, b, dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                         padding_mode=mode)


def torch_layer(x, w, b, stride, padding, dilation, groups, padding_mode):
    """The oracle: nn.Conv2d carrying the given weights (float64)."""
    c_out, c_in_g, kh, kw = w.shape
    layer = torch.nn.Conv2d(c_in_g * groups, c_out, (kh, kw), stride=stride, padding=padding,
                            dilation=dilation, groups=groups, bias=b is not None,
                            padding_mode=padding_mode, dtype=torch.float64)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer.weight.copy_(torch.as_tensor(w))
        if b is not None:
            layer.bias.copy_(torch.as_tensor(b))
        return layer(torch.as_tensor(x)).numpy()


@SETTINGS
@given(layer_cases())
def test_conv2d_nchw_loop_and_vectorised_equal_nn_conv2d_or_both_refuse(case):
    x, w, b, kw = case
    expected = oracle_or_refusal(lambda: torch_layer(x, w, b, **kw),
                                 lambda: conv2d_nchw(x, w, b, **kw),
                                 lambda: conv2d_nchw_loop(x, w, b, **kw))
    if expected is None:
        return
    np.testing.assert_allclose(conv2d_nchw(x, w, b, **kw), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(conv2d_nchw_loop(x, w, b, **kw), expected, rtol=1e-10, atol=1e-12)
    # The blocks of output rows that share one columns buffer: one and two rows per block,
    # so that there are several blocks and a last one shorter than the others.
    N, _, _, W_out = expected.shape
    row_bytes = N * x.shape[1] * w.shape[2] * w.shape[3] * W_out * x.itemsize
    # With a stride, each block's columns come from its stride phases (forced here: these
    # inputs are below PHASE_SPLIT_SIZE).
    for rows, phase_split in ((1, None), (2, None), (1, 0), (2, 0)):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(layers, "_BLOCK_BYTES", rows * row_bytes)
            if phase_split is not None:
                patch.setattr(windows, "PHASE_SPLIT_SIZE", phase_split)
            np.testing.assert_allclose(conv2d_nchw(x, w, b, **kw), expected,
                                       rtol=1e-10, atol=1e-12)


@SETTINGS
@given(layer_cases())
def test_conv2d_nchw_unbatched_input_gives_unbatched_output_like_torch(case):
    x, w, b, kw = case
    expected = oracle_or_refusal(lambda: torch_layer(x[:1], w, b, **kw)[0],
                                 lambda: conv2d_nchw(x[0], w, b, **kw))
    if expected is None:
        return
    y = conv2d_nchw(x[0], w, b, **kw)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-12)


def test_depthwise_convolution_filters_each_channel_with_its_own_kernel():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 8, 9))
    w = rng.standard_normal((4, 1, 3, 3))
    y = conv2d_nchw(x, w, groups=4, padding=1)
    expected = F.conv2d(torch.tensor(x), torch.tensor(w), padding=1, groups=4).numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-12)
    # channel c of the output only depends on channel c of the input
    x2 = x.copy()
    x2[:, 1] += 1.0
    changed = np.abs(conv2d_nchw(x2, w, groups=4, padding=1) - y).max(axis=(0, 2, 3)) > 0
    np.testing.assert_array_equal(changed, [False, True, False, False])


def test_torch_float32_layer_matches_f_conv2d():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 16, 15, generator=gen)
    w = torch.randn(8, 3, 5, 5, generator=gen)
    b = torch.randn(8, generator=gen)
    y = conv2d_nchw(x, w, b, stride=2, padding=2)
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float32
    torch.testing.assert_close(y, F.conv2d(x, w, b, stride=2, padding=2), rtol=1e-4, atol=1e-4)


def test_integer_batch_is_not_truncated():
    x = np.arange(2 * 2 * 4 * 4).reshape(2, 2, 4, 4)
    w = np.full((1, 2, 2, 2), 0.1)
    y = conv2d_nchw(x, w)
    assert y.dtype == np.float64
    expected = F.conv2d(torch.tensor(x, dtype=torch.float64), torch.tensor(w)).numpy()
    np.testing.assert_allclose(y, expected)
    assert not np.allclose(y, np.round(y))


@st.composite
def transpose_cases(draw):
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 2))
    c_out_g = draw(st.integers(1, 2))
    N = draw(st.integers(1, 2))
    H, W = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    dilation = draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1))
                           for s, d in zip(stride, dilation, strict=True))
    padding = draw(st.tuples(st.integers(0, 2), st.integers(0, 2)))
    bias = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    x = rng.standard_normal((N, c_in, H, W))
    w = rng.standard_normal((c_in, c_out_g, kh, kw))
    b = rng.standard_normal(c_out_g * groups) if bias else None
    return x, w, b, dict(stride=stride, padding=padding, output_padding=output_padding,
                         groups=groups, dilation=dilation)


@SETTINGS
@given(transpose_cases())
def test_conv_transpose2d_loop_and_vectorised_equal_torch_or_both_refuse(case):
    x, w, b, kw = case
    tb = None if b is None else torch.tensor(b)
    expected = oracle_or_refusal(
        lambda: F.conv_transpose2d(torch.tensor(x), torch.tensor(w), tb, **kw).numpy(),
        lambda: conv_transpose2d(x, w, b, **kw), lambda: conv_transpose2d_loop(x, w, b, **kw))
    if expected is None:
        return
    np.testing.assert_allclose(conv_transpose2d(x, w, b, **kw), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(conv_transpose2d_loop(x, w, b, **kw), expected,
                               rtol=1e-10, atol=1e-12)
    unbatched = conv_transpose2d(x[0], w, b, **kw)
    np.testing.assert_allclose(unbatched, expected[0], rtol=1e-10, atol=1e-12)


@SETTINGS
@given(transpose_cases())
def test_conv_transpose2d_is_the_adjoint_of_conv2d_nchw(case):
    # <conv(y), x> == <y, conv_transpose(x)> for the same weight: the defining property.
    # output_padding >= stride (torch allows it when < dilation) adds rows no strided conv
    # reads back, so the adjoint is only defined for output_padding < stride.
    x, w, _, kw = case
    stride, padding, dilation, groups = (kw[k] for k in ("stride", "padding", "dilation",
                                                         "groups"))
    output_padding = tuple(op if op < s else 0
                           for op, s in zip(kw["output_padding"], stride, strict=True))
    transpose = dict(stride=stride, padding=padding, groups=groups, dilation=dilation,
                     output_padding=output_padding)
    if oracle_or_refusal(lambda: F.conv_transpose2d(torch.tensor(x), torch.tensor(w), **transpose),
                         lambda: conv_transpose2d(x, w, **transpose)) is None:
        return
    z = conv_transpose2d(x, w, **transpose)
    y = np.random.default_rng(0).standard_normal(z.shape)
    conv_y = conv2d_nchw(y, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    assert conv_y.shape == x.shape
    np.testing.assert_allclose(np.vdot(conv_y, x), np.vdot(y, z), rtol=1e-9, atol=1e-9)


def test_conv_transpose2d_stamps_the_kernel_at_every_stride_step():
    # one input pixel of value 2 at (1, 0), stride 2: the output is 2*K placed at row 2, col 0
    x = np.zeros((1, 1, 2, 2))
    x[0, 0, 1, 0] = 2.0
    K = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    y = conv_transpose2d(x, K, stride=2)
    expected = np.zeros((1, 1, 5, 5))
    expected[0, 0, 2:5, 0:3] = 2 * K[0, 0]
    np.testing.assert_array_equal(y, expected)
    np.testing.assert_array_equal(conv_transpose2d_loop(x, K, stride=2), expected)


def test_torch_float32_transposed_matches_torch():
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(1, 4, 6, 5, generator=gen)
    w = torch.randn(4, 3, 4, 4, generator=gen)
    y = conv_transpose2d(x, w, stride=2, padding=1)
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float32
    torch.testing.assert_close(y, F.conv_transpose2d(x, w, stride=2, padding=1),
                               rtol=1e-4, atol=1e-4)
