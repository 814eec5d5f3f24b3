"""The mistakes of notebook 08, pooling: max and average pooling and their gradients.

See ``convlib.mistake_library`` for how a test cell uses them.
"""

import numpy as np

from .oracle import as_float64

# -- 08 pooling ---------------------------------------------------------------------------------
# Exercises fn(x, kernel_size, stride=None, padding=0) (forward) and
# fn(x, grad_out, kernel_size, stride=None, padding=0) (backward) on x of shape (N, C, H, W),
# int window, stride and padding; the right answers equal torch.nn.functional's max_pool2d and
# avg_pool2d (zero padding counted in the average) and their autograd gradients.

__all__ = ["pool2d_mistakes", "pool2d_backward_mistakes"]


def _pool_setup(x, kernel_size, stride, padding, fill):
    """(x padded with `fill`, a mask of its real cells, k, s, p, (H_out, W_out)) or None."""
    x = as_float64(x)
    k, p = int(kernel_size), int(padding)
    s = k if stride is None else int(stride)
    if x.ndim != 4:
        return None
    pads = ((0, 0), (0, 0), (p, p), (p, p))
    xp = np.pad(x, pads, constant_values=fill)
    real = np.pad(np.ones_like(x, dtype=bool), pads, constant_values=False)
    out = tuple((n + 2 * p - k) // s + 1 for n in x.shape[2:])
    return (xp, real, k, s, p, out) if min(out) >= 1 else None


def _pool(x, kernel_size, stride=None, padding=0, *, fill, reduce):
    """Y[:, :, i, j] = reduce(window (N, C, k, k), its real-cell mask) -> (N, C), in loops."""
    setup = _pool_setup(x, kernel_size, stride, padding, fill)
    if setup is None:
        return None
    xp, real, k, s, _, (H_out, W_out) = setup
    Y = np.empty(xp.shape[:2] + (H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            rows, cols = slice(i * s, i * s + k), slice(j * s, j * s + k)
            Y[:, :, i, j] = reduce(xp[:, :, rows, cols], real[:, :, rows, cols])
    return Y


def _pool_grad(x, grad_out, kernel_size, stride=None, padding=0, *, fill, share, step=None,
               add=True):
    """dL/dx when each window (n, c, i, j) hands share(window, real mask, g) to its inputs;
    `step` overrides the stride between windows, add=False overwrites instead of adding."""
    setup = _pool_setup(x, kernel_size, stride, padding, fill)
    G = as_float64(grad_out)
    if setup is None or G.ndim != 4:
        return None
    xp, real, k, s, p, _ = setup
    s = s if step is None else step
    H, W = as_float64(x).shape[2:]
    if (G.shape[2] - 1) * s + k > xp.shape[2] or (G.shape[3] - 1) * s + k > xp.shape[3]:
        return None
    grad = np.zeros_like(xp)
    for n, c, i, j in np.ndindex(*G.shape):
        rows, cols = slice(i * s, i * s + k), slice(j * s, j * s + k)
        part = share(xp[n, c, rows, cols], real[n, c, rows, cols], G[n, c, i, j])
        if add:
            grad[n, c, rows, cols] += part
        else:  # `=` where `+=` belongs: the cells this window writes keep only its share
            written = share(xp[n, c, rows, cols], real[n, c, rows, cols], 1.0) != 0
            grad[n, c, rows, cols][written] = part[written]
    return grad[:, :, p:p + H, p:p + W]


def _window_max(window, real):
    return window.max(axis=(-2, -1))


def _window_mean(window, real):
    return window.mean(axis=(-2, -1))


def _one_hot(window, flat_index, g):
    out = np.zeros(window.size)
    out[flat_index] = g
    return out.reshape(window.shape)


def _share_first_max(window, real, g):
    return _one_hot(window, int(np.argmax(window)), g)


def _share_every_tie(window, real, g):
    return np.where(window == window.max(), g, 0.0)


def _share_last_max(window, real, g):
    return _one_hot(window, window.size - 1 - int(np.argmax(window.ravel()[::-1])), g)


def _share_whole_window(window, real, g):
    return np.full(window.shape, g)


def _share_mean(window, real, g):
    return np.full(window.shape, g / window.size)


def _when(condition, value):
    return value if condition else None


def pool2d_mistakes(kind):
    """Candidate wrong answers for ``fn(x, kernel_size, stride=None, padding=0)``, max pooling
    (``kind="max"``) or average pooling (``"avg"``) of x (N, C, H, W)."""
    fill, reduce = (-np.inf, _window_max) if kind == "max" else (0.0, _window_mean)

    def pool(x, k, s=None, p=0, *, fill=fill, reduce=reduce):
        return _pool(x, k, s, p, fill=fill, reduce=reduce)

    def window_not_strided(x, k, s=None, p=0):
        """The right number of outputs, but output (i, j) reads the window at (i, j)."""
        right, every = pool(x, k, s, p), pool(x, k, 1, p)
        if right is None or every is None or (k if s is None else s) == 1:
            return None
        return every[:, :, :right.shape[2], :right.shape[3]]

    mistakes = {
        "pool_stride_one": lambda x, k, s=None, p=0: _when(s is None, pool(x, k, 1, p)),
        "window_not_strided": window_not_strided,
        "pool_padding_ignored": lambda x, k, s=None, p=0: _when(p > 0, pool(x, k, s, 0)),
    }
    if kind == "max":
        mistakes["pool_padded_with_zeros"] = lambda x, k, s=None, p=0: _when(
            p > 0, pool(x, k, s, p, fill=0.0))
    else:
        mistakes["avg_padding_excluded"] = lambda x, k, s=None, p=0: _when(p > 0, pool(
            x, k, s, p, reduce=lambda w, real: (w * real).sum(axis=(-2, -1)) / real.sum(
                axis=(-2, -1))))
        mistakes["sum_not_mean"] = lambda x, k, s=None, p=0: pool(
            x, k, s, p, reduce=lambda w, real: w.sum(axis=(-2, -1)))
    whole = np.max if kind == "max" else np.mean
    mistakes["pool_channels_mixed"] = lambda x, k, s=None, p=0: pool(
        x, k, s, p, reduce=lambda w, real: np.broadcast_to(
            whole(w, axis=(1, 2, 3))[:, None], w.shape[:2]))
    return mistakes


def pool2d_backward_mistakes(kind):
    """Candidate wrong answers for ``fn(x, grad_out, kernel_size, stride=None, padding=0)``, the
    gradient of max (``kind="max"``) or average (``"avg"``) pooling with respect to x."""
    fill, share = (-np.inf, _share_first_max) if kind == "max" else (0.0, _share_mean)

    def grad(x, g, k, s=None, p=0, **changes):
        return _pool_grad(x, g, k, s, p, **{"fill": fill, "share": share, **changes})

    mistakes = {
        "pool_stride_one": lambda x, g, k, s=None, p=0: _when(s is None, grad(x, g, k, s, p,
                                                                                step=1)),
        # a stride given, and the windows still taken at (i, j): the same step of 1
        "window_not_strided": lambda x, g, k, s=None, p=0: _when(s not in (None, 1), grad(
            x, g, k, s, p, step=1)),
    }
    if kind == "max":
        mistakes["max_grad_to_every_tie"] = lambda x, g, k, s=None, p=0: grad(
            x, g, k, s, p, share=_share_every_tie)
        mistakes["max_grad_to_last_tie"] = lambda x, g, k, s=None, p=0: grad(
            x, g, k, s, p, share=_share_last_max)
        mistakes["max_grad_to_whole_window"] = lambda x, g, k, s=None, p=0: grad(
            x, g, k, s, p, share=_share_whole_window)
        mistakes["pool_padded_with_zeros"] = lambda x, g, k, s=None, p=0: _when(
            p > 0, grad(x, g, k, s, p, fill=0.0))
    else:
        mistakes["avg_grad_not_divided"] = lambda x, g, k, s=None, p=0: grad(
            x, g, k, s, p, share=_share_whole_window)
        mistakes["avg_padding_excluded"] = lambda x, g, k, s=None, p=0: _when(p > 0, grad(
            x, g, k, s, p, share=lambda w, real, v: np.where(real, v / real.sum(), 0.0)))
    mistakes["grad_overwritten"] = lambda x, g, k, s=None, p=0: grad(x, g, k, s, p, add=False)
    return mistakes
