"""The runtime record of library calls (convlib.forbidden.install_hooks) sees what the policies
name, also when the call is hidden behind a method."""

import numpy as np
import torch

from convlib.forbidden import BACKWARD_FROM_SCRATCH, first_forbidden, install_hooks


def backward_through_einsum_and_autograd(X, K, dY):
    """A 'from scratch' backward pass that asks autograd: its forward runs no convolution."""
    X = torch.as_tensor(X).clone().requires_grad_(True)
    K = torch.as_tensor(K).clone().requires_grad_(True)
    (H, W), (M, N) = X.shape, K.shape
    windows = torch.stack([torch.stack([X[i:i + M, j:j + N] for j in range(W - N + 1)])
                           for i in range(H - M + 1)])
    torch.einsum("ijab,ab->ij", windows, K).backward(torch.as_tensor(dY))
    return X.grad, K.grad


def recorded(fn, *args):
    record = []
    hooks = install_hooks(record.append)
    try:
        fn(*args)
    finally:
        hooks.remove()
    return record


def test_tensor_backward_is_recorded_and_forbidden_in_a_from_scratch_backward_pass():
    rng = np.random.default_rng(0)
    args = rng.normal(size=(4, 5)), rng.normal(size=(2, 3)), rng.normal(size=(3, 3))
    record = recorded(backward_through_einsum_and_autograd, *args)
    assert "torch.autograd.backward" in record
    assert first_forbidden(record, BACKWARD_FROM_SCRATCH) == "torch.autograd.backward"


def test_torch_autograd_grad_is_recorded_and_the_hooks_come_off():
    x = torch.ones(3, requires_grad=True)
    record = recorded(lambda: torch.autograd.grad((x * x).sum(), x))
    assert record == ["torch.autograd.grad"]
    assert recorded(lambda: torch.autograd.grad((x * x).sum(), x)) == ["torch.autograd.grad"]
    after = []
    hooks = install_hooks(after.append)
    hooks.remove()
    torch.autograd.grad((x * x).sum(), x)
    assert after == []   # removed hooks record nothing


def test_an_honest_numpy_backward_records_nothing_forbidden():
    def honest(X, K, dY):
        dK = np.array([[np.sum(X[a:a + dY.shape[0], b:b + dY.shape[1]] * dY)
                        for b in range(K.shape[1])] for a in range(K.shape[0])])
        return dK

    rng = np.random.default_rng(1)
    record = recorded(honest, rng.normal(size=(4, 5)), rng.normal(size=(2, 3)),
                      rng.normal(size=(3, 3)))
    assert first_forbidden(record, BACKWARD_FROM_SCRATCH) is None


def test_the_pooling_policy_forbids_library_pooling_convolutions_and_window_helpers():
    """POOLING_FROM_SCRATCH (notebook 08) against the record of five library ways to pool a
    (1, 1, 4, 4) batch 2x2, and a loop that pools by hand."""
    import torch.nn.functional as F

    import convlib
    from convlib.forbidden import POOLING_FROM_SCRATCH

    x = np.arange(16.0).reshape(1, 1, 4, 4)
    t = torch.from_numpy(x)
    ways = {
        "F.max_pool2d": lambda: F.max_pool2d(t, 2),
        "nn.AvgPool2d": lambda: torch.nn.AvgPool2d(2)(t),
        "convlib.max_pool2d": lambda: convlib.max_pool2d(x, 2),
        "F.conv2d": lambda: F.conv2d(t, torch.full((1, 1, 2, 2), 0.25, dtype=t.dtype), stride=2),
        "F.unfold": lambda: F.unfold(t, 2, stride=2).max(dim=1).values,
    }
    for name, way in ways.items():
        assert first_forbidden(recorded(way), POOLING_FROM_SCRATCH), name
    by_hand = lambda: np.array([[x[0, 0, i:i + 2, j:j + 2].max() for j in (0, 2)]  # noqa: E731
                                for i in (0, 2)])
    assert first_forbidden(recorded(by_hand), POOLING_FROM_SCRATCH) is None


def test_a_pooling_backward_pass_may_not_ask_autograd():
    """max_pool2d_backward written as 'pool with a loop, then torch.autograd.grad' (a reviewer's
    full-marks answer in notebook 08) is forbidden by the backward exercises' policy, while the
    forward exercises' policy, where autograd has no place to hide, leaves it alone."""
    from convlib.forbidden import POOLING_BACKWARD_FROM_SCRATCH, POOLING_FROM_SCRATCH

    def max_pool2d_backward(x, dY, k):
        X = torch.as_tensor(x).clone().requires_grad_(True)
        Y = torch.stack([torch.stack([X[..., i * k:i * k + k, j * k:j * k + k].amax((-2, -1))
                                      for j in range(dY.shape[-1])], -1)
                         for i in range(dY.shape[-2])], -2)
        return torch.autograd.grad(Y, X, torch.as_tensor(dY))[0].numpy()

    rng = np.random.default_rng(2)
    record = recorded(max_pool2d_backward, rng.normal(size=(1, 2, 4, 4)),
                      rng.normal(size=(1, 2, 2, 2)), 2)
    assert first_forbidden(record, POOLING_BACKWARD_FROM_SCRATCH) == "torch.autograd.grad"
    assert first_forbidden(record, POOLING_FROM_SCRATCH) is None
