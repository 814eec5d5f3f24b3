"""Max and average pooling, forward and backward, equal to ``torch.nn.functional``.

A pooling layer slides a window over each channel on its own and keeps one number per window:

    max pooling      Y[n, c, i, j] = max over a, b of Xp[n, c, i*s + a, j*s + b]
    average pooling  Y[n, c, i, j] = mean over a, b of Xp[n, c, i*s + a, j*s + b]

with the stride s equal to the window size unless given, and Xp the input padded with -inf
(max) or zeros (average, which counts the padding in the mean, as torch does by default).
Output size: floor((H + 2p - k) / s) + 1, as for a convolution.

Backward: average pooling shares each output's gradient equally among its k*k inputs; max
pooling sends it all to the input that won (the first maximum in reading order, as torch does),
so every other input of the window gets zero.

``*_loop`` forms read like the formulas; the others use a window view and one reduction.
"""

import numpy as np

from .shapes import check_fits, output_size
from .validate import (
    as_float_array,
    check_nonnegative_pair,
    check_positive_pair,
    output_like,
    quiet_nan,
)
from .windows import add_windows, windows_view

_X_SHAPE = "(N, C, H, W) or (C, H, W)"


def _arguments(x, kernel_size, stride, padding):
    """(X as (N, C, H, W), kernel, stride, padding pairs, whether x had no batch axis)."""
    X = as_float_array(x, "input x", ndim=(3, 4), shape_hint=_X_SHAPE)
    kernel = check_positive_pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else check_positive_pair(stride, "stride")
    padding = check_nonnegative_pair(padding, "padding")
    if any(2 * p > k for p, k in zip(padding, kernel, strict=True)):
        raise ValueError(f"padding {padding} must be at most half the kernel size {kernel} "
                         f"(torch's rule: a window may not lie in the padding only); use less "
                         f"padding or a larger window")
    unbatched = X.ndim == 3
    X = X[None] if unbatched else X
    check_fits((X.shape[2] + 2 * padding[0], X.shape[3] + 2 * padding[1]), kernel, (1, 1))
    return X, kernel, stride, padding, unbatched


def _pad(X, padding, value):
    (ph, pw) = padding
    return np.pad(X, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _out_hw(X, kernel, stride, padding):
    return tuple(output_size(n, k, s, p) for n, k, s, p in
                 zip(X.shape[2:], kernel, stride, padding, strict=True))


def _finish(Y, unbatched, like):
    return output_like(np.ascontiguousarray(Y[0] if unbatched else Y), like)


def _crop(grad_xp, padding, hw):
    (ph, pw), (H, W) = padding, hw
    return grad_xp[:, :, ph:ph + H, pw:pw + W]


def _check_grad(grad_out, expected, unbatched):
    G = as_float_array(grad_out, "grad_out", ndim=3 if unbatched else 4,
                       shape_hint="the shape of the pooled output")
    G = G[None] if unbatched else G
    if tuple(G.shape) != expected:
        shown = expected[1:] if unbatched else expected
        raise ValueError(f"grad_out must have the shape of the pooled output {shown}, got "
                         f"{tuple(G.shape[1:] if unbatched else G.shape)}")
    return G


# ----------------------------------------------------------------------------- forward

def _pool_loop(x, kernel_size, stride, padding, pad_value, reduce):
    """Pooling in loop form: Y[n, c, i, j] = reduce(the window of Xp[n, c] at (i*sh, j*sw)),
    Xp the input padded with pad_value."""
    X, (kh, kw), (sh, sw), padding, unbatched = _arguments(x, kernel_size, stride, padding)
    Xp = _pad(X, padding, pad_value)
    H_out, W_out = _out_hw(X, (kh, kw), (sh, sw), padding)
    N, C = X.shape[:2]
    Y = np.empty((N, C, H_out, W_out), dtype=X.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    Y[n, c, i, j] = reduce(Xp[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw])
    return _finish(Y, unbatched, x)


@quiet_nan
def max_pool2d_loop(x, kernel_size, stride=None, padding=0):
    """Max pooling in loop form; same contract as :func:`max_pool2d`."""
    return _pool_loop(x, kernel_size, stride, padding, -np.inf, np.max)


@quiet_nan
def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max pooling: ``torch.nn.functional.max_pool2d(x, kernel_size, stride, padding)``.

    x: input of shape (N, C, H, W) or (C, H, W).
    kernel_size: int or (kH, kW); stride: int, pair, or None (= kernel_size);
    padding: int or (ph, pw), implicit -inf on both sides, at most half the kernel size.

    Returns y of shape (N, C, H_out, W_out) (or (C, H_out, W_out)), the same kind as x, where
        H_out = floor((H + 2ph - kH) / sh) + 1, likewise W_out.
    """
    X, kernel, stride, padding, unbatched = _arguments(x, kernel_size, stride, padding)
    V = windows_view(_pad(X, padding, -np.inf), kernel, stride, (1, 1))
    return _finish(V.max(axis=(-2, -1)), unbatched, x)


@quiet_nan
def avg_pool2d_loop(x, kernel_size, stride=None, padding=0):
    """Average pooling in loop form; same contract as :func:`avg_pool2d`."""
    return _pool_loop(x, kernel_size, stride, padding, 0.0, np.mean)


@quiet_nan
def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Average pooling: ``torch.nn.functional.avg_pool2d(x, kernel_size, stride, padding)``
    (zero padding counted in the mean: torch's default ``count_include_pad=True``).

    x: input of shape (N, C, H, W) or (C, H, W); kernel_size, stride, padding as
    :func:`max_pool2d`. Returns y of shape (N, C, H_out, W_out), H_out = floor((H + 2ph - kH) /
    sh) + 1, likewise W_out.
    """
    X, kernel, stride, padding, unbatched = _arguments(x, kernel_size, stride, padding)
    V = windows_view(_pad(X, padding, 0.0), kernel, stride, (1, 1))
    return _finish(V.sum(axis=(-2, -1)) / (kernel[0] * kernel[1]), unbatched, x)


# ----------------------------------------------------------------------------- backward

@quiet_nan
def max_pool2d_backward_loop(x, grad_out, kernel_size, stride=None, padding=0):
    """dL/dx of max pooling in loop form; same contract as :func:`max_pool2d_backward`."""
    X, (kh, kw), (sh, sw), padding, unbatched = _arguments(x, kernel_size, stride, padding)
    Xp = _pad(X, padding, -np.inf)
    N, C = X.shape[:2]
    G = _check_grad(grad_out, (N, C, *_out_hw(X, (kh, kw), (sh, sw), padding)), unbatched)
    grad_xp = np.zeros_like(Xp)
    for n, c, i, j in np.ndindex(*G.shape):
        window = Xp[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw]
        nan = np.isnan(window)
        a, b = np.unravel_index(nan.argmax() if nan.any() else window.argmax(), window.shape)
        grad_xp[n, c, i * sh + a, j * sw + b] += G[n, c, i, j]  # all of it to the winner
    return _finish(_crop(grad_xp, padding, X.shape[2:]), unbatched, x)


@quiet_nan
def avg_pool2d_backward_loop(x, grad_out, kernel_size, stride=None, padding=0):
    """dL/dx of average pooling in loop form; same contract as :func:`avg_pool2d_backward`."""
    X, (kh, kw), (sh, sw), padding, unbatched = _arguments(x, kernel_size, stride, padding)
    N, C, H, W = X.shape
    G = _check_grad(grad_out, (N, C, *_out_hw(X, (kh, kw), (sh, sw), padding)), unbatched)
    grad_xp = np.zeros((N, C, H + 2 * padding[0], W + 2 * padding[1]), dtype=G.dtype)
    for n, c, i, j in np.ndindex(*G.shape):
        grad_xp[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw] += G[n, c, i, j] / (kh * kw)
    return _finish(_crop(grad_xp, padding, (H, W)), unbatched, x)


@quiet_nan
def max_pool2d_backward(x, grad_out, kernel_size, stride=None, padding=0):
    """dL/dx of ``max_pool2d(x, kernel_size, stride, padding)`` given grad_out = dL/dy.

    Each output's gradient goes to the first maximum of its window in reading order (a NaN
    counts as the maximum), summed where windows overlap; every other input gets zero.
    x: (N, C, H, W) or (C, H, W); grad_out: the shape of max_pool2d's output.
    Returns grad_x of x's shape, the same kind as x.
    """
    X, kernel, stride, padding, unbatched = _arguments(x, kernel_size, stride, padding)
    Xp = _pad(X, padding, -np.inf)
    V = windows_view(Xp, kernel, stride, (1, 1))  # (N, C, H_out, W_out, kH, kW)
    N, C, H_out, W_out, kh, kw = V.shape
    G = _check_grad(grad_out, (N, C, H_out, W_out), unbatched)
    flat = V.reshape(N, C, H_out, W_out, kh * kw)
    winner = np.where(np.isnan(flat).any(axis=-1), np.isnan(flat).argmax(axis=-1),
                      flat.argmax(axis=-1))
    one_hot = (np.arange(kh * kw) == winner[..., None]) * G[..., None]
    cols6 = one_hot.reshape(N, C, H_out, W_out, kh, kw).transpose(0, 1, 4, 5, 2, 3)
    grad_xp = add_windows(cols6, Xp.shape[-2:], stride, (1, 1))
    return _finish(_crop(grad_xp, padding, X.shape[2:]), unbatched, x)


@quiet_nan
def avg_pool2d_backward(x, grad_out, kernel_size, stride=None, padding=0):
    """dL/dx of ``avg_pool2d(x, kernel_size, stride, padding)`` given grad_out = dL/dy: each
    output's gradient divided by kH*kW and added to every input of its window.

    x: (N, C, H, W) or (C, H, W); grad_out: the shape of avg_pool2d's output.
    Returns grad_x of x's shape, the same kind as x.
    """
    X, kernel, stride, padding, unbatched = _arguments(x, kernel_size, stride, padding)
    H_out, W_out = _out_hw(X, kernel, stride, padding)
    N, C = X.shape[:2]
    G = _check_grad(grad_out, (N, C, H_out, W_out), unbatched) / (kernel[0] * kernel[1])
    cols6 = np.broadcast_to(G[:, :, None, None], (N, C, *kernel, H_out, W_out))
    padded_hw = (X.shape[2] + 2 * padding[0], X.shape[3] + 2 * padding[1])
    grad_xp = add_windows(cols6, padded_hw, stride, (1, 1))
    return _finish(_crop(grad_xp, padding, X.shape[2:]), unbatched, x)


__all__ = ["avg_pool2d", "avg_pool2d_backward", "avg_pool2d_backward_loop", "avg_pool2d_loop",
           "max_pool2d", "max_pool2d_backward", "max_pool2d_backward_loop", "max_pool2d_loop"]
