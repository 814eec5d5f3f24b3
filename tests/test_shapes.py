"""convlib.shapes against what torch actually does: output shapes of real convolutions, the
padding torch applies for 'same', receptive fields measured with autograd, parameter counts of
real layers, and multiply-adds counted by torch's FLOP counter and by brute force."""

import math
import warnings

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convlib import shapes

SETTINGS = settings(max_examples=80, deadline=None)
small = st.integers(1, 4)


def torch_out_len(n, k, stride, pad_before, pad_after, dilation):
    """Length torch produces for a 1-D input padded explicitly, or None if torch refuses."""
    x = torch.zeros(1, 1, n + pad_before + pad_after, dtype=torch.float64)
    w = torch.zeros(1, 1, k, dtype=torch.float64)
    try:
        return F.conv1d(x, w, stride=stride, dilation=dilation).shape[-1]
    except RuntimeError:
        return None


# -- output sizes ----------------------------------------------------------------------------

@SETTINGS
@given(h=st.integers(1, 16), w=st.integers(1, 16), kh=st.integers(1, 6), kw=st.integers(1, 6),
       sh=small, sw=small, ph=st.integers(0, 3), pw=st.integers(0, 3),
       dh=st.integers(1, 3), dw=st.integers(1, 3))
def test_output_shape_matches_torch_conv2d_or_both_refuse(h, w, kh, kw, sh, sw, ph, pw, dh, dw):
    x = torch.zeros(1, 1, h, w)
    weight = torch.zeros(1, 1, kh, kw)
    try:
        expected = tuple(F.conv2d(x, weight, stride=(sh, sw), padding=(ph, pw),
                                  dilation=(dh, dw)).shape[-2:])
    except RuntimeError:
        expected = None
    if expected is None:
        with pytest.raises(ValueError, match="larger than the padded input"):
            shapes.output_shape((h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw))
    else:
        assert shapes.output_shape((h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw)) == expected
        assert shapes.output_size(h, kh, sh, ph, dh) == expected[0]
        assert shapes.output_size(w, kw, sw, pw, dw) == expected[1]


@SETTINGS
@given(n=st.integers(1, 20), k=st.integers(1, 6), s=small, before=st.integers(0, 4),
       after=st.integers(0, 4), d=st.integers(1, 3))
def test_output_size_with_uneven_padding_matches_torch_on_explicitly_padded_input(n, k, s, before,
                                                                               after, d):
    expected = torch_out_len(n, k, s, before, after, d)
    assume(expected is not None)
    assert shapes.output_size(n, k, s, (before, after), d) == expected


def test_output_shape_four_sided_padding_matches_f_pad_then_conv2d():
    x = torch.zeros(1, 1, 9, 7)
    weight = torch.zeros(1, 1, 3, 4)
    top, bottom, left, right = 0, 2, 3, 1
    padded = F.pad(x, (left, right, top, bottom))
    expected = tuple(F.conv2d(padded, weight, stride=2).shape[-2:])
    assert shapes.output_shape((9, 7), (3, 4), 2, (top, bottom, left, right)) == expected


def test_output_size_uses_floor_when_stride_does_not_divide():
    # (6 - 3) / 2 + 1 = 2.5: torch gives 2 windows (starting at 0 and 2)
    assert torch_out_len(6, 3, 2, 0, 0, 1) == 2
    assert shapes.output_size(6, 3, stride=2) == 2


@pytest.mark.parametrize("word", ["valid", "same", "full"])
def test_output_shape_padding_words_match_torch_and_scipy(word):
    X = np.arange(42.0).reshape(6, 7)
    K = np.ones((3, 2))
    got = shapes.output_shape((6, 7), (3, 2), padding=word)
    if word == "full":
        expected = scipy.signal.correlate2d(X, K, mode="full").shape
    else:
        with warnings.catch_warnings():   # torch warns that an even 'same' kernel copies the input
            warnings.simplefilter("ignore", UserWarning)
            expected = tuple(F.conv2d(torch.as_tensor(X)[None, None],
                                      torch.as_tensor(K)[None, None], padding=word).shape[-2:])
    assert got == expected


def test_kernel_larger_than_padded_input_error_says_what_to_do():
    message = "kernel 5x5 is larger than the padded input 4x4; add padding or use a smaller kernel"
    with pytest.raises(ValueError, match=message):
        shapes.output_shape((4, 4), (5, 5))
    with pytest.raises(ValueError, match="kernel of length 5 is larger than the padded input of "
                                         "length 4; add padding"):
        shapes.output_size(4, 5)
    with pytest.raises(ValueError, match="dilation"):
        shapes.output_size(4, 3, dilation=2)   # spans 5 > 4


@pytest.mark.parametrize("kwargs, match", [
    ({"stride": 0}, "stride must be a positive"),
    ({"stride": -1}, "stride must be a positive"),
    ({"dilation": 0}, "dilation must be a positive"),
    ({"padding": -1}, "padding must be >= 0, got -1; padding adds rows"),
    ({"padding": (1, -2)}, r"padding must be >= 0, got \(1, -2\)"),
    ({"padding": "same", "stride": 2}, "not supported with stride > 1"),
    ({"padding": "half"}, "unknown padding"),
])
def test_output_size_rejects_bad_arguments_with_clear_value_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        shapes.output_size(8, 3, **kwargs)


def test_torch_also_refuses_same_padding_with_stride():
    with pytest.raises(RuntimeError, match="not supported for strided"):
        F.conv2d(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 3, 3), stride=2, padding="same")


@pytest.mark.parametrize("bad", [2.0, True, "3", None])
def test_output_size_rejects_non_integers_with_type_error(bad):
    with pytest.raises(TypeError, match="integer"):
        shapes.output_size(8, bad)


def test_output_size_accepts_numpy_integers():
    assert shapes.output_size(np.int64(28), np.int32(3)) == 26


# -- stride leftover -------------------------------------------------------------------------

@SETTINGS
@given(n=st.integers(1, 20), k=st.integers(1, 5), s=st.integers(1, 5), p=st.integers(0, 2),
       d=st.integers(1, 3))
def test_stride_leftover_counts_trailing_padded_rows_no_window_touches(n, k, s, p, d):
    assume(d * (k - 1) + 1 <= n + 2 * p)
    # Empirical: the gradient of the output sum with respect to the padded input is zero exactly
    # where no window reaches; count those positions after the last one reached.
    x = torch.zeros(1, 1, n + 2 * p, dtype=torch.float64, requires_grad=True)
    w = torch.ones(1, 1, k, dtype=torch.float64)
    F.conv1d(x, w, stride=s, dilation=d).sum().backward()
    touched = np.flatnonzero(x.grad[0, 0].numpy())
    expected = (n + 2 * p) - 1 - touched[-1]
    assert shapes.stride_leftover(n, k, s, p, d) == expected
    assert shapes.divides_evenly(n, k, s, p, d) == (expected == 0)


def test_stride_leftover_example_six_rows_stride_two_drops_one():
    assert shapes.stride_leftover(6, 3, stride=2) == 1
    assert shapes.stride_leftover(7, 3, stride=2) == 0
    assert not shapes.divides_evenly(6, 3, stride=2)


# -- padding ---------------------------------------------------------------------------------

@SETTINGS
@given(n=st.integers(1, 12), kh=st.integers(1, 6), kw=st.integers(1, 6), d=st.integers(1, 3),
       seed=st.integers(0, 2**16))
def test_same_padding_equals_what_torch_padding_same_does(n, kh, kw, d, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 1, n, n + 1, generator=g, dtype=torch.float64)
    weight = torch.randn(1, 1, kh, kw, generator=g, dtype=torch.float64)
    expected = F.conv2d(x, weight, padding="same", dilation=d)
    top, bottom = shapes.same_padding(kh, d)
    left, right = shapes.same_padding(kw, d)
    got = F.conv2d(F.pad(x, (left, right, top, bottom)), weight, dilation=d)
    assert got.shape == expected.shape == x.shape
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)


def test_same_padding_even_kernel_pads_right_and_bottom():
    assert shapes.same_padding(4) == (1, 2)
    assert shapes.same_padding(2) == (0, 1)
    assert shapes.same_padding(3, dilation=2) == (2, 2)
    # torch: a 2x2 kernel with 'same' uses x[i, j], x[i, j+1], x[i+1, j], x[i+1, j+1]
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    y = F.conv2d(x, torch.ones(1, 1, 2, 2), padding="same")
    assert y[0, 0, 0, 0] == 0 + 1 + 4 + 5
    assert y[0, 0, 3, 3] == 15   # only x[3, 3]: the padding is after (bottom/right)


@SETTINGS
@given(n=st.integers(1, 10), k=st.integers(1, 5), d=st.integers(1, 3))
def test_full_padding_gives_every_partial_overlap(n, k, d):
    before, after = shapes.full_padding(k, d)
    assert before == after == d * (k - 1)
    assert torch_out_len(n, k, 1, before, after, d) == n + d * (k - 1)
    if d == 1:
        assert scipy.signal.correlate(np.ones(n), np.ones(k), mode="full").shape[0] == \
            shapes.output_size(n, k, padding="full")


@SETTINGS
@given(n=st.integers(1, 30), f=st.integers(1, 7), s=st.integers(1, 4))
def test_padding_to_keep_size_gives_output_equal_to_input_in_torch(n, f, s):
    p = shapes.padding_to_keep_size(n, f, s)
    assert p == (s * (n - 1) - n + f) / 2   # the seeds' formula
    if isinstance(p, int):
        assert torch_out_len(n, f, s, p, p, 1) == n
    else:
        # fractional: the asymmetric split floor/ceil works; at stride 1 no symmetric padding
        # does (with a stride the floor can hide the extra row, so it may)
        assert p % 1 == 0.5
        lo, hi = math.floor(p), math.ceil(p)
        assert torch_out_len(n, f, s, lo, hi, 1) == n
        if s == 1:
            assert torch_out_len(n, f, s, lo, lo, 1) in (n - 1, None)   # None: kernel too big
            assert torch_out_len(n, f, s, hi, hi, 1) == n + 1


def test_padding_to_keep_size_is_fractional_for_even_kernels_at_stride_one():
    assert shapes.padding_to_keep_size(9, 4) == 1.5
    assert shapes.padding_to_keep_size(9, 3) == 1
    assert isinstance(shapes.padding_to_keep_size(9, 3), int)


# -- transposed convolution ------------------------------------------------------------------

@SETTINGS
@given(n=st.integers(1, 10), k=st.integers(1, 5), s=small, p=st.integers(0, 3),
       op=st.integers(0, 3), d=st.integers(1, 3))
def test_transposed_output_size_matches_torch_conv_transpose2d(n, k, s, p, op, d):
    x = torch.zeros(1, 1, n, n)
    w = torch.zeros(1, 1, k, k)
    try:
        expected = F.conv_transpose2d(x, w, stride=s, padding=p, output_padding=op,
                                      dilation=d).shape[-1]
    except RuntimeError:
        expected = None
    if expected is None or expected < 1:
        with pytest.raises(ValueError):
            shapes.transposed_output_size(n, k, s, p, op, d)
    else:
        assert shapes.transposed_output_size(n, k, s, p, op, d) == expected


def test_transposed_convolution_undoes_the_shape_of_a_strided_convolution():
    # 7 -> 3 with k=3, s=2; the transposed conv maps 3 back to 7
    assert shapes.output_size(7, 3, 2) == 3
    assert shapes.transposed_output_size(3, 3, 2) == 7
    # 8 -> 3 as well; output_padding=1 picks 8
    assert shapes.output_size(8, 3, 2) == 3
    assert shapes.transposed_output_size(3, 3, 2, output_padding=1) == 8


# -- receptive fields ------------------------------------------------------------------------

def empirical_receptive_field(layers):
    """Extent (rows) of the input pixels that reach one output pixel of a stack of nn.Conv2d
    with all-ones weights, measured by autograd (no cancellation: all weights are positive)."""
    convs = [torch.nn.Conv2d(1, 1, k, stride=s, dilation=d, bias=False, dtype=torch.float64)
             for k, s, d in layers]
    for conv in convs:
        torch.nn.init.ones_(conv.weight)
    size = shapes.receptive_field(layers) + 4 * math.prod(s for _, s, _ in layers)
    x = torch.zeros(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    y = x
    for conv in convs:
        y = conv(y)
    i, j = y.shape[-2] // 2, y.shape[-1] // 2
    y[0, 0, i, j].backward()
    rows = np.flatnonzero(x.grad[0, 0].abs().sum(axis=1).numpy())
    cols = np.flatnonzero(x.grad[0, 0].abs().sum(axis=0).numpy())
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


layer = st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(1, 2))


@settings(max_examples=40, deadline=None)
@given(layers=st.lists(layer, min_size=1, max_size=4))
def test_receptive_field_equals_extent_measured_with_autograd(layers):
    rf = shapes.receptive_field(layers)
    assert empirical_receptive_field(layers) == (rf, rf)
    fields = shapes.receptive_fields(layers)
    assert len(fields) == len(layers) and fields[-1] == rf
    for depth in range(1, len(layers) + 1):
        assert fields[depth - 1] == shapes.receptive_field(layers[:depth])


def test_receptive_field_of_stacked_3x3_layers_grows_by_two_per_layer():
    assert shapes.receptive_fields([(3, 1)] * 3) == [3, 5, 7]
    assert empirical_receptive_field([(3, 1, 1)] * 3) == (7, 7)
    assert shapes.receptive_field([]) == 1
    # a stride-2 layer doubles the growth of the layers after it
    assert shapes.receptive_fields([(3, 2), (3, 1)]) == [3, 7]


def test_receptive_field_rejects_malformed_layers():
    with pytest.raises(ValueError, match=r"\(kernel, stride\)"):
        shapes.receptive_field([(3,)])
    with pytest.raises(ValueError, match="stride must be a positive"):
        shapes.receptive_field([(3, 0)])


# -- counting --------------------------------------------------------------------------------

@SETTINGS
@given(g=st.integers(1, 4), ci=st.integers(1, 4), co=st.integers(1, 4),
       k=st.one_of(st.integers(1, 5), st.tuples(st.integers(1, 5), st.integers(1, 5))),
       bias=st.booleans())
def test_param_count_equals_numel_of_torch_conv2d_parameters(g, ci, co, k, bias):
    c_in, c_out = g * ci, g * co
    layer = torch.nn.Conv2d(c_in, c_out, k, bias=bias, groups=g)
    assert shapes.param_count(c_in, c_out, k, bias=bias, groups=g) == \
        sum(p.numel() for p in layer.parameters())


def test_param_count_rejects_groups_that_do_not_divide_channels():
    with pytest.raises(ValueError, match="groups"):
        shapes.param_count(3, 4, 3, groups=2)


def test_dense_param_count_equals_numel_of_torch_linear():
    assert shapes.dense_param_count(784, 1000, bias=False) == 784_000
    assert shapes.dense_param_count(784, 1000) == 785_000
    assert shapes.dense_param_count(784, 1000) == \
        sum(p.numel() for p in torch.nn.Linear(784, 1000).parameters())


def brute_force_mult_adds(h, w, c_in, c_out, k, stride, padding, dilation, groups):
    """Count the products one by one: every output value times every tap that lands on the
    padded input (padded zeros included, as a dense implementation multiplies them)."""
    ph, pw = h + 2 * padding, w + 2 * padding
    count = 0
    for _ in range(c_out):
        for i in range(0, ph, stride):
            for j in range(0, pw, stride):
                if i + dilation * (k - 1) >= ph or j + dilation * (k - 1) >= pw:
                    continue
                count += (c_in // groups) * k * k
    return count


@settings(max_examples=40, deadline=None)
@given(h=st.integers(3, 9), w=st.integers(3, 9), g=st.integers(1, 2), ci=st.integers(1, 3),
       co=st.integers(1, 3), k=st.integers(1, 3), s=st.integers(1, 3), p=st.integers(0, 1),
       d=st.integers(1, 2))
def test_mult_adds_matches_torch_flop_counter_and_brute_force(h, w, g, ci, co, k, s, p, d):
    from torch.utils.flop_counter import FlopCounterMode

    c_in, c_out = g * ci, g * co
    assume(d * (k - 1) + 1 <= min(h, w) + 2 * p)
    got = shapes.mult_adds((h, w), c_in, c_out, k, stride=s, padding=p, dilation=d, groups=g)
    assert got == brute_force_mult_adds(h, w, c_in, c_out, k, s, p, d, g)
    layer = torch.nn.Conv2d(c_in, c_out, k, stride=s, padding=p, dilation=d, groups=g,
                            bias=False)
    with FlopCounterMode(display=False) as counter:
        layer(torch.zeros(1, c_in, h, w))
    assert counter.get_total_flops() == 2 * got   # torch counts a multiply-add as 2 FLOPs


def test_effective_kernel_size_of_dilated_kernel():
    assert shapes.effective_kernel_size(3, 2) == 5
    assert shapes.effective_kernel_size(1, 7) == 1
