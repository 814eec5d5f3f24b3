"""convlib.pooling (max and average pooling, forward and backward) against torch.nn.functional
and torch autograd."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from convlib import pooling as P

SETTINGS = settings(max_examples=60, deadline=None)
POOLS = {  # name: (torch's function, forward forms, backward forms)
    "max": (F.max_pool2d, [P.max_pool2d, P.max_pool2d_loop],
            [P.max_pool2d_backward, P.max_pool2d_backward_loop]),
    "avg": (F.avg_pool2d, [P.avg_pool2d, P.avg_pool2d_loop],
            [P.avg_pool2d_backward, P.avg_pool2d_backward_loop]),
}


@st.composite
def cases(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.one_of(st.none(), st.integers(1, 3),
                            st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = (draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2)))
    H, W = draw(st.integers(max(1, kh - 2 * padding[0]), 9)), \
        draw(st.integers(max(1, kw - 2 * padding[1]), 9))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), H, W)
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    # small integers make ties in max pooling common: the winner must be torch's
    x = rng.integers(-2, 3, shape).astype(float) if draw(st.booleans()) else \
        rng.standard_normal(shape)
    return x, (kh, kw), stride, padding, rng


def torch_pool(pool, x, kernel, stride, padding, grad_out=None):
    t = torch.tensor(x, requires_grad=True)
    y = POOLS[pool][0](t, kernel, stride, padding)
    if grad_out is None:
        return y.detach().numpy()
    (grad,) = torch.autograd.grad(y, t, torch.as_tensor(grad_out))
    return grad.numpy()


@SETTINGS
@given(cases())
@pytest.mark.parametrize("pool", POOLS)
def test_pooling_forward_and_backward_equal_torch(pool, case):
    x, kernel, stride, padding, rng = case
    want = torch_pool(pool, x, kernel, stride, padding)
    grad_out = rng.standard_normal(want.shape)
    want_grad = torch_pool(pool, x, kernel, stride, padding, grad_out)
    _, forwards, backwards = POOLS[pool]
    for forward in forwards:
        np.testing.assert_allclose(forward(x, kernel, stride, padding), want, rtol=1e-12,
                                   err_msg=forward.__name__)
    for backward in backwards:
        np.testing.assert_allclose(backward(x, grad_out, kernel, stride, padding), want_grad,
                                   rtol=1e-12, atol=1e-12, err_msg=backward.__name__)


def test_max_pooling_by_hand_and_its_gradient_goes_to_the_winner_only():
    x = np.array([[1.0, 3.0, 2.0, 0.0],
                  [4.0, 2.0, 1.0, 5.0],
                  [0.0, 1.0, 7.0, 7.0],
                  [2.0, 6.0, 7.0, 1.0]])[None]
    np.testing.assert_array_equal(P.max_pool2d(x, 2)[0], [[4, 5], [6, 7]])
    np.testing.assert_array_equal(P.avg_pool2d(x, 2)[0], [[2.5, 2], [2.25, 5.5]])
    grad = P.max_pool2d_backward(x, np.ones((1, 2, 2)), 2)[0]
    # the 7s tie: the first in reading order (row 2, column 2) wins, as in torch
    np.testing.assert_array_equal(grad, [[0, 0, 0, 0], [1, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]])


def test_nan_wins_a_max_pool_and_tensors_come_back_as_tensors():
    x = torch.tensor([[[[1.0, float("nan")], [3.0, 2.0]]]])
    assert torch.isnan(P.max_pool2d(x, 2)).all()
    grad = P.max_pool2d_backward(x, torch.ones(1, 1, 1, 1), 2)
    assert isinstance(grad, torch.Tensor)
    want = torch_pool("max", x.numpy().astype(float), 2, None, 0, np.ones((1, 1, 1, 1)))
    np.testing.assert_array_equal(grad.numpy(), want)


@pytest.mark.parametrize("forward", [P.max_pool2d, P.avg_pool2d, P.max_pool2d_loop])
def test_bad_arguments_are_refused_like_torch_with_what_to_do(forward):
    x = np.zeros((1, 1, 4, 4))
    for kernel, stride, padding, message in [(3, None, 2, "at most half the kernel size"),
                                             (5, None, 0, "larger than"),
                                             (0, None, 0, "kernel_size must be a positive"),
                                             (2, 0, 0, "stride must be a positive")]:
        with pytest.raises(ValueError, match=message):
            forward(x, kernel, stride, padding)
        with pytest.raises(RuntimeError):  # torch refuses the same arguments
            F.max_pool2d(torch.zeros(1, 1, 4, 4), kernel, stride, padding)


def test_a_grad_out_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"shape of the pooled output \(1, 1, 2, 2\)"):
        P.max_pool2d_backward(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), 2)
