"""Padding (convlib.padding) against torch.nn.functional.pad and torch's padding='same'."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from convlib import pad1d, pad2d, resolve_padding1d, resolve_padding2d
from tests.oracle import oracle_or_refusal

SETTINGS = settings(max_examples=80, deadline=None)
TORCH_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
              "circular": "circular"}


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 6),
       st.one_of(st.integers(0, 4), st.tuples(st.integers(0, 4), st.integers(0, 4)),
                 st.tuples(*[st.integers(0, 4)] * 4)),
       st.sampled_from(list(TORCH_MODE)), st.booleans(), st.integers(0, 2**31))
def test_pad2d_equals_torch_pad_or_both_refuse(H, W, padding, mode, batched, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((2, 3, H, W) if batched else (H, W))
    if isinstance(padding, int):
        t = b = l = r = padding
    elif len(padding) == 2:
        (t, b), (l, r) = (padding[0],) * 2, (padding[1],) * 2
    else:
        t, b, l, r = padding
    x = torch.tensor(X) if batched else torch.tensor(X)[None, None]
    expected = oracle_or_refusal(lambda: F.pad(x, (l, r, t, b), mode=TORCH_MODE[mode]).numpy(),
                                 lambda: pad2d(X, padding, mode))
    if expected is None:
        with pytest.raises(ValueError, match=mode):  # the message names the mode
            pad2d(X, padding, mode)
        return
    expected = expected if batched else expected[0, 0]
    np.testing.assert_array_equal(pad2d(X, padding, mode), expected)
    padded_tensor = pad2d(torch.tensor(X), padding, mode)
    assert isinstance(padded_tensor, torch.Tensor)
    np.testing.assert_array_equal(padded_tensor.numpy(), expected)


@SETTINGS
@given(st.integers(1, 8), st.one_of(st.integers(0, 5), st.tuples(st.integers(0, 5),
                                                                  st.integers(0, 5))),
       st.sampled_from(list(TORCH_MODE)), st.integers(0, 2**31))
def test_pad1d_equals_torch_pad_or_both_refuse(L, padding, mode, seed):
    x = np.random.default_rng(seed).standard_normal(L)
    amounts = padding if isinstance(padding, tuple) else (padding, padding)
    expected = oracle_or_refusal(
        lambda: F.pad(torch.tensor(x)[None, None], amounts, mode=TORCH_MODE[mode])[0, 0],
        lambda: pad1d(x, padding, mode))
    if expected is None:
        return
    np.testing.assert_array_equal(pad1d(x, padding, mode), expected.numpy())


def test_pad_modes_on_a_row_match_the_module_docstring_picture():
    row = np.array([[1.0, 2.0, 3.0, 4.0]])  # a b c d
    assert pad2d(row, (0, 0, 2, 2), "zeros")[0].tolist() == [0, 0, 1, 2, 3, 4, 0, 0]
    assert pad2d(row, (0, 0, 2, 2), "reflect")[0].tolist() == [3, 2, 1, 2, 3, 4, 3, 2]
    assert pad2d(row, (0, 0, 2, 2), "replicate")[0].tolist() == [1, 1, 1, 2, 3, 4, 4, 4]
    assert pad2d(row, (0, 0, 2, 2), "circular")[0].tolist() == [3, 4, 1, 2, 3, 4, 1, 2]


@pytest.mark.parametrize(("kernel_hw", "dilation", "expected"), [
    ((3, 3), 1, (1, 1, 1, 1)), ((2, 2), 1, (0, 1, 0, 1)), ((4, 5), 1, (1, 2, 2, 2)),
    ((4, 4), 2, (3, 3, 3, 3)), ((2, 3), (3, 1), (1, 2, 1, 1)), ((1, 1), 1, (0, 0, 0, 0)),
])
def test_same_padding_even_kernel_pads_right_and_bottom(kernel_hw, dilation, expected):
    assert resolve_padding2d("same", kernel_hw, dilation) == expected


@SETTINGS
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 3), st.integers(1, 3),
       st.integers(0, 2**31))
def test_resolved_same_padding_reproduces_torch_padding_same(kh, kw, dh, dw, seed):
    rng = np.random.default_rng(seed)
    x = torch.tensor(rng.standard_normal((1, 1, 12, 13)))
    k = torch.tensor(rng.standard_normal((1, 1, kh, kw)))
    t, b, l, r = resolve_padding2d("same", (kh, kw), (dh, dw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = F.conv2d(x, k, padding="same", dilation=(dh, dw))
    ours = F.conv2d(F.pad(x, (l, r, t, b)), k, dilation=(dh, dw))
    assert ours.shape == x.shape
    torch.testing.assert_close(ours, expected)


def test_full_and_valid_padding_amounts():
    assert resolve_padding2d("full", (3, 2)) == (2, 2, 1, 1)
    assert resolve_padding2d("full", (3, 2), dilation=2) == (4, 4, 2, 2)
    assert resolve_padding2d("valid", (5, 5)) == (0, 0, 0, 0)
    assert resolve_padding2d("VALID", (5, 5)) == (0, 0, 0, 0)
    assert resolve_padding2d(1, (3, 3)) == (1, 1, 1, 1)
    assert resolve_padding2d((1, 2), (3, 3)) == (1, 1, 2, 2)
    assert resolve_padding2d((1, 2, 3, 4), (3, 3)) == (1, 2, 3, 4)
    assert resolve_padding1d("same", 4) == (1, 2)
    assert resolve_padding1d("full", 3, dilation=2) == (4, 4)
    assert resolve_padding1d((0, 3), 3) == (0, 3)


def test_same_with_stride_is_refused_as_torch_refuses_it():
    with pytest.raises(RuntimeError):
        F.conv2d(torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="'same' is not supported with stride"):
        resolve_padding2d("same", (3, 3), stride=2)
    with pytest.raises(ValueError, match="'same' is not supported with stride"):
        resolve_padding1d("same", 3, stride=(2,))


def test_pad2d_keeps_float32_converts_integers_and_never_modifies_the_input():
    X = np.arange(6, dtype=np.int64).reshape(2, 3)
    P = pad2d(X, 1, "reflect")
    assert P.dtype == np.float64
    np.testing.assert_array_equal(X, np.arange(6).reshape(2, 3))
    assert pad2d(np.zeros((2, 2), np.float32), 1).dtype == np.float32
    T = torch.arange(6).reshape(2, 3)
    assert pad2d(T, 1).dtype == torch.float32


def test_pad2d_refuses_strings_with_a_pointer_to_resolve_padding2d():
    with pytest.raises(ValueError, match="resolve_padding2d"):
        pad2d(np.zeros((3, 3)), "same")


def test_zero_padding_returns_a_new_array_not_the_input():
    X = np.zeros((3, 3))
    P = pad2d(X, 0)
    P[0, 0] = 5.0
    assert X[0, 0] == 0.0
    T = torch.zeros(3, 3)
    pad2d(T, (0, 0, 0, 0))[1, 1] = 5.0
    assert T[1, 1] == 0.0
    x = np.zeros(4)
    pad1d(x, 0)[0] = 1.0
    assert x[0] == 0.0
