"""Single-channel convolution (convlib.conv) against torch.nn.functional, scipy.signal and numpy."""

import warnings

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import convlib
from convlib import (
    conv1d,
    conv2d,
    convolve1d,
    convolve1d_loop,
    convolve2d,
    convolve2d_loop,
    correlate1d,
    correlate1d_loop,
    correlate2d,
    correlate2d_loop,
)
from tests.oracle import oracle_or_refusal

MODES = ["zeros", "reflect", "replicate", "circular"]
SETTINGS = settings(max_examples=80, deadline=None)


def torch_correlate2d(X, K, stride=1, padding=0, dilation=1, padding_mode="zeros"):
    """The oracle: torch's conv2d / nn.Conv2d on one channel (float64)."""
    x = torch.as_tensor(np.asarray(X, dtype=np.float64))[None, None]
    k = torch.as_tensor(np.asarray(K, dtype=np.float64))[None, None]
    kh, kw = k.shape[-2:]
    d = (dilation, dilation) if isinstance(dilation, int) else dilation
    if padding == "full":  # torch has no 'full'; its definition is d(k-1) on each side
        padding = (d[0] * (kh - 1), d[1] * (kw - 1))
    if isinstance(padding, tuple) and len(padding) == 4:
        top, bottom, left, right = padding
        x = F.pad(x, (left, right, top, bottom),
                  mode="constant" if padding_mode == "zeros" else padding_mode)
        padding = 0
    layer = torch.nn.Conv2d(1, 1, (kh, kw), stride=stride, padding=padding, dilation=dilation,
                            bias=False, padding_mode=padding_mode, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's note about even kernels with 'same'
            return layer(x)[0, 0].numpy()


@st.composite
def conv_cases(draw, modes=tuple(MODES)):
    H, W = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    dilation = draw(st.one_of(st.integers(1, 2), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    paddings = [st.integers(0, 3), st.tuples(st.integers(0, 3), st.integers(0, 3)),
                st.tuples(*[st.integers(0, 3)] * 4), st.just("valid"), st.just("full")]
    if stride in (1, (1, 1)):
        paddings.append(st.just("same"))
    padding = draw(st.one_of(*paddings))
    mode = draw(st.sampled_from(modes))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    return rng.standard_normal((H, W)), rng.standard_normal((kh, kw)), dict(
        stride=stride, padding=padding, dilation=dilation, padding_mode=mode)


@SETTINGS
@given(conv_cases())
def test_correlate2d_loop_and_vectorised_equal_torch_or_both_refuse(case):
    X, K, kw = case
    expected = oracle_or_refusal(lambda: torch_correlate2d(X, K, **kw),
                                 lambda: correlate2d(X, K, **kw),
                                 lambda: correlate2d_loop(X, K, **kw))
    if expected is None:  # torch refused (kernel too large, padding too large for the mode)
        return
    np.testing.assert_allclose(correlate2d(X, K, **kw), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(correlate2d_loop(X, K, **kw), expected, rtol=1e-10, atol=1e-12)


@SETTINGS
@given(conv_cases(modes=("zeros",)))
def test_convolve2d_equals_torch_with_flipped_kernel(case):
    X, K, kw = case
    expected = oracle_or_refusal(lambda: torch_correlate2d(X, K[::-1, ::-1].copy(), **kw),
                                 lambda: convolve2d(X, K, **kw),
                                 lambda: convolve2d_loop(X, K, **kw))
    if expected is None:
        return
    np.testing.assert_allclose(convolve2d(X, K, **kw), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(convolve2d_loop(X, K, **kw), expected, rtol=1e-10, atol=1e-12)


@SETTINGS
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 5), st.integers(1, 5),
       st.sampled_from(["valid", "full"]), st.integers(0, 2**31))
def test_convolve2d_and_correlate2d_match_scipy_valid_and_full(H, W, kh, kw, mode, seed):
    rng = np.random.default_rng(seed)
    X, K = rng.standard_normal((H, W)), rng.standard_normal((kh, kw))
    if mode == "valid" and (kh > H or kw > W):
        with pytest.raises(ValueError, match="larger than the padded input"):
            correlate2d(X, K, padding="valid")
        return
    np.testing.assert_allclose(correlate2d(X, K, padding=mode),
                               scipy.signal.correlate2d(X, K, mode), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(convolve2d(X, K, padding=mode),
                               scipy.signal.convolve2d(X, K, mode), rtol=1e-10, atol=1e-12)


@SETTINGS
@given(st.integers(4, 9), st.integers(4, 9), st.integers(1, 4), st.integers(1, 4),
       st.integers(0, 2**31))
def test_correlate2d_same_matches_scipy_correlate2d_same_for_every_kernel_size(H, W, kh, kw, seed):
    rng = np.random.default_rng(seed)
    X, K = rng.standard_normal((H, W)), rng.standard_normal((kh, kw))
    np.testing.assert_allclose(correlate2d(X, K, padding="same"),
                               scipy.signal.correlate2d(X, K, "same"), rtol=1e-10, atol=1e-12)


@SETTINGS
@given(st.integers(4, 9), st.integers(4, 9), st.sampled_from([1, 3, 5]), st.sampled_from([1, 3]),
       st.integers(0, 2**31))
def test_convolve2d_same_matches_scipy_for_odd_kernels(H, W, kh, kw, seed):
    rng = np.random.default_rng(seed)
    X, K = rng.standard_normal((H, W)), rng.standard_normal((kh, kw))
    np.testing.assert_allclose(convolve2d(X, K, padding="same"),
                               scipy.signal.convolve2d(X, K, "same"), rtol=1e-10, atol=1e-12)


@SETTINGS
@given(st.integers(4, 9), st.integers(4, 9), st.sampled_from([1, 2, 3, 4]),
       st.sampled_from([2, 4]), st.integers(0, 2**31))
def test_convolve2d_same_even_kernel_is_scipy_shifted_by_one_pixel(H, W, kh, kw, seed):
    # the docstring's claim: along each even axis convlib[i] == scipy[i + 1]
    rng = np.random.default_rng(seed)
    X, K = rng.standard_normal((H, W)), rng.standard_normal((kh, kw))
    ours, theirs = convolve2d(X, K, padding="same"), scipy.signal.convolve2d(X, K, "same")
    sh, sw = (kh + 1) % 2, (kw + 1) % 2
    np.testing.assert_allclose(ours[:H - sh, :W - sw], theirs[sh:, sw:], rtol=1e-10, atol=1e-12)
    assert not np.allclose(ours, theirs)  # and the shift is real, not a coincidence


def test_same_padding_even_kernel_pads_bottom_and_right():
    # an impulse at (2, 3) under a 2x2 kernel: with the extra padding row/column at the bottom /
    # right, output (i, j) sees X[i..i+1, j..j+1], so the impulse lands at (1..2, 2..3)
    X = np.zeros((6, 6))
    X[2, 3] = 1.0
    K = np.array([[1.0, 2.0], [3.0, 4.0]])
    expected = np.zeros((6, 6))
    expected[1:3, 2:4] = [[4.0, 3.0], [2.0, 1.0]]
    np.testing.assert_array_equal(correlate2d(X, K, padding="same"), expected)
    np.testing.assert_array_equal(torch_correlate2d(X, K, padding="same"), expected)


def test_seed_one_dimensional_example_starts_with_minus_two():
    y = correlate1d([1, 2, 3, 4, 5], [1, 0, -1])
    np.testing.assert_array_equal(y, [-2.0, -2.0, -2.0])
    assert y[0] == -2.0
    torch_y = F.conv1d(torch.tensor([[[1.0, 2, 3, 4, 5]]]), torch.tensor([[[1.0, 0, -1]]]))
    np.testing.assert_array_equal(y, torch_y[0, 0].numpy())


@SETTINGS
@given(st.integers(1, 12), st.integers(1, 5), st.integers(1, 3), st.integers(1, 3),
       st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 3), st.integers(0, 3)),
                 st.sampled_from(["valid", "same", "full"])),
       st.sampled_from(MODES), st.integers(0, 2**31))
def test_correlate1d_loop_and_vectorised_equal_torch_conv1d(L, k, stride, dilation, padding,
                                                            mode, seed):
    if padding == "same":
        stride = 1
    rng = np.random.default_rng(seed)
    x, kern = rng.standard_normal(L), rng.standard_normal(k)
    if padding == "full":
        amounts = (dilation * (k - 1),) * 2
    elif padding == "same":
        total = dilation * (k - 1)
        amounts = (total // 2, total - total // 2)
    elif padding == "valid":
        amounts = (0, 0)
    else:
        amounts = padding if isinstance(padding, tuple) else (padding, padding)
    def oracle():
        xp = F.pad(torch.tensor(x)[None, None], amounts,
                   mode="constant" if mode == "zeros" else mode)
        return F.conv1d(xp, torch.tensor(kern)[None, None], stride=stride,
                        dilation=dilation)[0, 0].numpy()

    expected = oracle_or_refusal(oracle, *(lambda fn=fn: fn(x, kern, stride, padding, dilation,
                                                            mode)
                                          for fn in (correlate1d, correlate1d_loop)))
    if expected is None:
        return
    for fn in (correlate1d, correlate1d_loop):
        np.testing.assert_allclose(fn(x, kern, stride, padding, dilation, mode), expected,
                                   rtol=1e-10, atol=1e-12)


@SETTINGS
@given(st.integers(1, 12), st.integers(1, 6), st.integers(0, 2**31))
def test_convolve1d_matches_numpy_convolve_and_correlate1d_matches_numpy_correlate(L, k, seed):
    rng = np.random.default_rng(seed)
    x, kern = rng.standard_normal(L), rng.standard_normal(k)
    np.testing.assert_allclose(convolve1d(x, kern, padding="full"), np.convolve(x, kern, "full"),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(convolve1d_loop(x, kern, padding="full"),
                               np.convolve(x, kern, "full"), rtol=1e-10, atol=1e-12)
    if k <= L:
        np.testing.assert_allclose(correlate1d(x, kern), np.correlate(x, kern, "valid"),
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(8, 8), (12, 10), (10, 10), (12, 8)])
def test_seed_conv2d_call_matches_the_seed_answer_on_its_four_test_images(shape):
    gen = torch.Generator().manual_seed(sum(shape))
    image, kernel = torch.randn(shape, generator=gen), torch.randn(3, 3, generator=gen)
    ours = conv2d(image, kernel)
    assert isinstance(ours, torch.Tensor) and ours.dtype == torch.float32
    assert ours.shape == (shape[0] - 2, shape[1] - 2)
    torch.testing.assert_close(ours, convlib.examples.seed_conv2d(image, kernel), rtol=1e-5,
                               atol=1e-5)


def test_seed_4x4_example_is_minus_eight_as_correlation_and_plus_eight_as_convolution():
    # the seed computes [[1, 1], [-1, -1]] on 1..16 by hand as -8 everywhere, which is the
    # cross-correlation; scipy.signal.convolve2d flips the kernel and gets +8
    image = np.arange(1, 17).reshape(4, 4)
    kernel = np.array([[1, 1], [-1, -1]])
    np.testing.assert_array_equal(correlate2d(image, kernel), np.full((3, 3), -8.0))
    np.testing.assert_array_equal(convolve2d(image, kernel), np.full((3, 3), 8.0))
    np.testing.assert_array_equal(convolve2d(image, kernel),
                                  scipy.signal.convolve2d(image, kernel, "valid"))


def test_torch_inputs_give_torch_outputs_matching_torch_in_float32():
    gen = torch.Generator().manual_seed(0)
    X, K = torch.randn(9, 11, generator=gen), torch.randn(3, 2, generator=gen)
    for fn in (correlate2d, correlate2d_loop):
        Y = fn(X, K, stride=2, padding=(1, 2), dilation=(1, 2), padding_mode="reflect")
        assert isinstance(Y, torch.Tensor) and Y.dtype == torch.float32
        layer = torch.nn.Conv2d(1, 1, (3, 2), stride=2, padding=(1, 2), dilation=(1, 2),
                                bias=False, padding_mode="reflect")
        with torch.no_grad():
            layer.weight.copy_(K[None, None])
            torch.testing.assert_close(Y, layer(X[None, None])[0, 0], rtol=1e-5, atol=1e-5)


def test_convolve_is_correlate_with_kernel_flipped_on_both_axes_for_torch_kernels():
    gen = torch.Generator().manual_seed(1)
    X, K = torch.randn(6, 7, generator=gen), torch.randn(3, 4, generator=gen)
    torch.testing.assert_close(convolve2d(X, K), correlate2d(X, torch.flip(K, (0, 1))))
    torch.testing.assert_close(convolve2d_loop(X, K), correlate2d(X, torch.flip(K, (0, 1))))


def test_conv_aliases_are_the_cross_correlations():
    assert convlib.conv2d is correlate2d and convlib.conv1d is correlate1d
    assert conv1d is correlate1d


def test_integer_images_are_computed_in_float64_not_truncated():
    X = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], dtype=np.int64)
    K = np.full((2, 2), 1, dtype=np.int32)
    Y = correlate2d(X, K * 1, padding=0) / 4  # exact sums first
    np.testing.assert_array_equal(Y, [[3.0, 4.0], [6.0, 7.0]])
    Y = correlate2d(X, np.full((2, 2), 0.25))
    assert Y.dtype == np.float64
    np.testing.assert_array_equal(Y, [[3.0, 4.0], [6.0, 7.0]])
    Z = correlate2d(X, np.full((2, 2), 0.3))  # 0.3 * 12 = 3.6, not 3
    np.testing.assert_allclose(Z, 0.3 * np.array([[12, 16], [24, 28]]))
    assert correlate2d_loop(X, K).dtype == np.float64


def test_integer_tensors_are_computed_in_float32():
    X = torch.arange(12).reshape(3, 4)
    Y = correlate2d(X, torch.full((2, 2), 0.5))
    assert Y.dtype == torch.float32
    expected = F.conv2d(X.float()[None, None], torch.full((1, 1, 2, 2), 0.5))[0, 0]
    torch.testing.assert_close(Y, expected)
    assert correlate2d(X, torch.ones(2, 2, dtype=torch.int64)).dtype == torch.float32


@pytest.mark.parametrize(("x_dtype", "k_dtype", "expected"), [
    (np.float32, np.float32, np.float32), (np.float32, np.float64, np.float64),
    (np.float16, np.float16, np.float32), (np.float64, np.int8, np.float64),
    (np.bool_, np.float32, np.float64), (np.uint8, np.uint8, np.float64),
])
def test_numpy_dtype_policy(x_dtype, k_dtype, expected):
    X = (np.arange(20).reshape(4, 5) % 3).astype(x_dtype)
    K = np.ones((2, 2), dtype=k_dtype)
    for fn in (correlate2d, correlate2d_loop, convolve2d):
        Y = fn(X, K)
        assert Y.dtype == expected
        np.testing.assert_allclose(Y, scipy.signal.correlate2d(X.astype(float), np.ones((2, 2)),
                                                               "valid"))


@pytest.mark.parametrize(("x_dtype", "expected"), [
    (torch.float16, torch.float32), (torch.bfloat16, torch.float32),
    (torch.float64, torch.float64), (torch.int32, torch.float32), (torch.bool, torch.float32),
    (torch.float8_e4m3fn, torch.float32),
])
def test_torch_dtype_policy(x_dtype, expected):
    X = (torch.arange(20).reshape(4, 5) % 2).to(x_dtype)
    Y = correlate2d(X, torch.ones(2, 2, dtype=x_dtype))
    assert Y.dtype == expected
    torch.testing.assert_close(Y.double(), F.conv2d(X.double()[None, None],
                                                    torch.ones(1, 1, 2, 2).double())[0, 0])


@pytest.mark.skipif(not hasattr(torch, "float4_e2m1fn_x2"), reason="this torch has no float4")
def test_a_torch_dtype_that_cannot_become_float32_is_refused_with_what_to_pass():
    packed = torch.zeros(4, 4, dtype=torch.uint8).view(torch.float4_e2m1fn_x2)
    with pytest.raises(TypeError, match="cannot be converted to float32; pass a float32"):
        correlate2d(packed, torch.ones(2, 2))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_propagate_like_torch(bad):
    X = np.arange(36, dtype=np.float64).reshape(6, 6)
    X[2, 3] = bad
    K = np.array([[1.0, -1.0, 0.5], [2.0, 0.0, 1.0], [0.0, 3.0, -2.0]])
    expected = torch_correlate2d(X, K, padding=1)
    for fn in (correlate2d, correlate2d_loop):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # silent, like torch: no RuntimeWarning either
            Y = fn(X, K, padding=1)
        np.testing.assert_array_equal(np.isnan(Y), np.isnan(expected))
        np.testing.assert_array_equal(np.isinf(Y), np.isinf(expected))
        finite = np.isfinite(expected)
        np.testing.assert_allclose(Y[finite], expected[finite])
    assert np.isnan(Y).any() or np.isinf(Y).any()


def test_inputs_are_not_modified():
    X = np.arange(20, dtype=np.float64).reshape(4, 5)
    K = np.array([[1.0, 2.0], [3.0, 4.0]])
    X0, K0 = X.copy(), K.copy()
    T, TK = torch.tensor(X), torch.tensor(K)
    for fn in (correlate2d, correlate2d_loop, convolve2d, convolve2d_loop):
        fn(X, K, padding="same", padding_mode="reflect")
        fn(T, TK, padding=1)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(K, K0)
    np.testing.assert_array_equal(T.numpy(), X0)


def test_lists_are_accepted_and_return_numpy():
    Y = correlate2d([[1, 2, 3], [4, 5, 6]], [[1, 1]])
    assert isinstance(Y, np.ndarray)
    np.testing.assert_array_equal(Y, [[3.0, 5.0], [9.0, 11.0]])
