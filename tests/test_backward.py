"""convlib.backward (the gradients of a convolution layer) against torch autograd, and against
centred differences, which know nothing of either."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from convlib.backward import conv2d_backward, conv2d_backward_loop
from convlib.layers import conv2d_nchw

SETTINGS = settings(max_examples=60, deadline=None)
BACKWARDS = [conv2d_backward, conv2d_backward_loop]
pairs = st.tuples(st.integers(1, 3), st.integers(1, 3))


@st.composite
def cases(draw):
    groups = draw(st.integers(1, 2))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.one_of(st.integers(1, 3), pairs))
    dilation = draw(st.one_of(st.integers(1, 2), st.tuples(st.integers(1, 2), st.integers(1, 2))))
    paddings = [st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)),
                st.just("valid")]
    if stride in (1, (1, 1)):
        paddings.append(st.just("same"))
    padding = draw(st.one_of(*paddings))
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    H = draw(st.integers(dh * (kh - 1) + 1, 8))
    W = draw(st.integers(dw * (kw - 1) + 1, 8))
    N = draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    x = rng.standard_normal((N, c_in, H, W))
    w = rng.standard_normal((c_out, c_in // groups, kh, kw))
    return x, w, dict(stride=stride, padding=padding, dilation=dilation, groups=groups), rng


def autograd(x, w, b, grad_out, **kw):
    """The oracle: torch's own backward pass through F.conv2d (float64)."""
    x, w, b = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(x, w, b, **kw)
    y.backward(torch.as_tensor(grad_out))
    return x.grad.numpy(), w.grad.numpy(), b.grad.numpy()


@SETTINGS
@given(cases())
@pytest.mark.parametrize("backward", BACKWARDS)
def test_conv2d_backward_equals_torch_autograd(backward, case):
    x, w, kw, rng = case
    b = rng.standard_normal(w.shape[0])
    y = conv2d_nchw(x, w, b, **kw)
    grad_out = rng.standard_normal(y.shape)
    want = autograd(x, w, b, grad_out, **kw)
    got = backward(x, w, grad_out, **kw)
    for name, g, t in zip(("grad_x", "grad_weight", "grad_bias"), got, want, strict=True):
        np.testing.assert_allclose(g, t, rtol=1e-10, atol=1e-10, err_msg=f"{name} {kw}")
    assert got.grad_x.shape == x.shape and got.grad_weight.shape == w.shape


def relative_error(a, b):
    """CS231n's measure: max |a - b| / max(|a| + |b|, tiny)."""
    return np.max(np.abs(a - b) / np.maximum(1e-12, np.abs(a) + np.abs(b)))


@pytest.mark.parametrize("backward", BACKWARDS)
def test_conv2d_backward_agrees_with_centred_differences(backward):
    """L = sum(G * conv2d(x, w, b)); each partial derivative estimated by (L(+h) - L(-h)) / 2h."""
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((2, 2, 5, 6)), rng.standard_normal((3, 2, 3, 2)), \
        rng.standard_normal(3)
    kw = dict(stride=(2, 1), padding=1, dilation=1, groups=1)
    G = rng.standard_normal(conv2d_nchw(x, w, b, **kw).shape)

    def numerical(array):
        grad, h = np.zeros_like(array), 1e-5
        for index in np.ndindex(*array.shape):
            keep = array[index]
            array[index] = keep + h
            plus = np.sum(G * conv2d_nchw(x, w, b, **kw))
            array[index] = keep - h
            minus = np.sum(G * conv2d_nchw(x, w, b, **kw))
            array[index] = keep
            grad[index] = (plus - minus) / (2 * h)
        return grad

    got = backward(x, w, G, **kw)
    for analytic, array in zip(got, (x, w, b), strict=True):
        assert relative_error(analytic, numerical(array)) < 1e-7


def test_the_3x3_example_by_hand():
    """Y = X ⋆ K on a 3x3 input with a 2x2 kernel; with dL/dY = ones, dL/dK[a, b] is the sum of
    the inputs K[a, b] touched, and dL/dX counts how many windows cover each pixel, times K."""
    X = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)   # 1 2 3 / 4 5 6 / 7 8 9
    K = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    G = np.ones((1, 1, 2, 2))
    grad_x, grad_k, grad_b = conv2d_backward(X, K, G)
    np.testing.assert_array_equal(grad_k[0, 0], [[1 + 2 + 4 + 5, 2 + 3 + 5 + 6],
                                                 [4 + 5 + 7 + 8, 5 + 6 + 8 + 9]])
    np.testing.assert_array_equal(grad_x[0, 0], [[1, 1 + 2, 2],
                                                 [1 + 3, 1 + 2 + 3 + 4, 2 + 4],
                                                 [3, 3 + 4, 4]])
    np.testing.assert_array_equal(grad_b, [4])


def test_tensors_in_give_tensors_out_and_unbatched_input_works():
    x, w = torch.randn(2, 5, 5, dtype=torch.float64), torch.randn(3, 2, 3, 3, dtype=torch.float64)
    grad_x, grad_w, grad_b = conv2d_backward(x, w, torch.ones(3, 3, 3, dtype=torch.float64))
    assert isinstance(grad_x, torch.Tensor) and grad_x.shape == (2, 5, 5)
    want = autograd(x[None].numpy(), w.numpy(), np.zeros(3), np.ones((1, 3, 3, 3)))
    np.testing.assert_allclose(grad_x.numpy(), want[0][0])
    np.testing.assert_allclose(grad_w.numpy(), want[1])


@pytest.mark.parametrize("backward", BACKWARDS)
def test_a_grad_out_of_the_wrong_shape_is_refused_with_the_shape_it_needs(backward):
    x, w = np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3))
    with pytest.raises(ValueError, match=r"shape of conv2d's output \(1, 1, 2, 2\)"):
        backward(x, w, np.zeros((1, 1, 3, 3)), stride=2)
    with pytest.raises(ValueError, match="larger than the padded input"):
        backward(np.zeros((1, 1, 2, 2)), w, np.zeros((1, 1, 1, 1)))
    with pytest.raises(ValueError, match="groups"):
        backward(np.zeros((1, 3, 5, 5)), np.zeros((2, 3, 3, 3)), np.zeros((1, 2, 3, 3)), groups=2)
