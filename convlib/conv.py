"""Single-channel convolution: cross-correlation and true convolution, in 1-D and 2-D.

Deep learning's "convolution" (``torch.nn.functional.conv2d``) is a cross-correlation: slide the
kernel K over the (padded) image X and take a dot product at every stop,

    Y[i, j] = sum over a, b of X[i*s + a*d, j*s + b*d] * K[a, b]

(s: stride, d: dilation). The convolution of signal processing (``scipy.signal.convolve2d``)
first flips the kernel on both axes; for a symmetric kernel the two are equal.

Each operation comes twice with the same contract: ``*_loop`` reads like the formula, the other
collects all windows into the columns of a matrix (im2col, ``convlib.windows``) and does one
matrix product. Both accept numpy arrays or torch tensors and return the same kind as X (see
``convlib.validate`` for the dtype policy: integers are computed in floating point, never
truncated). NaN and inf propagate as in torch and scipy: no error, no replacement. No autograd:
torch inputs are detached.
"""

import numpy as np

from .padding import pad_array
from .shapes import check_fits, output_size, resolve_padding
from .validate import as_float_array, check_positive_pair, output_like, result_dtype
from .windows import windows_view

_FIX_2D = ("for one channel pass X[c] (or squeeze the extra axes); for a batch "
           "(N, C, H, W) use convlib.conv2d_nchw")
_FIX_1D = "pass a single signal; for images use convlib.correlate2d"


def _prepare(X, K, stride, padding, dilation, padding_mode, nd):
    """Check and convert the arguments; return the padded image, the kernel, stride, dilation
    as numpy arrays / tuples of 2 (a 1-D problem becomes a 2-D one of height 1)."""
    if nd == 2:
        Xa = as_float_array(X, "image X", ndim=2, shape_hint="(H, W)", fix=_FIX_2D)
        Ka = as_float_array(K, "kernel K", ndim=2, shape_hint="(kH, kW)")
    else:
        Xa = as_float_array(X, "signal x", ndim=1, shape_hint="(L,)", fix=_FIX_1D)
        Ka = as_float_array(K, "kernel k", ndim=1, shape_hint="(k,)")
    stride = check_positive_pair(stride, "stride", nd)
    dilation = check_positive_pair(dilation, "dilation", nd)
    amounts = resolve_padding(padding, Ka.shape, dilation, stride)
    dtype = result_dtype(Xa, Ka)
    Xp = pad_array(Xa if Xa.dtype == dtype else Xa.astype(dtype), amounts, padding_mode)
    check_fits(Xp.shape, Ka.shape, dilation)
    Ka = Ka if Ka.dtype == dtype else Ka.astype(dtype)
    if nd == 1:
        return Xp[None, :], Ka[None, :], (1,) + stride, (1,) + dilation
    return Xp, Ka, stride, dilation


def _correlate_loop(Xp, K, stride, dilation):
    (kh, kw), (sh, sw), (dh, dw) = K.shape, stride, dilation
    H_out = output_size(Xp.shape[0], kh, sh, 0, dh)  # Xp is padded already
    W_out = output_size(Xp.shape[1], kw, sw, 0, dw)
    Y = np.zeros((H_out, W_out), dtype=Xp.dtype)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf propagate silently, as in torch
        for i in range(H_out):
            for j in range(W_out):
                for a in range(kh):
                    for b in range(kw):
                        Y[i, j] += Xp[i * sh + a * dh, j * sw + b * dw] * K[a, b]
    return Y


def _correlate1d_loop(xp, k, s, d):
    y = np.zeros(output_size(len(xp), len(k), s, 0, d), dtype=xp.dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        for i in range(len(y)):
            for a in range(len(k)):
                y[i] += xp[i * s + a * d] * k[a]
    return y


def _correlate_fast(Xp, K, stride, dilation):
    V = windows_view(Xp, K.shape, stride, dilation)  # (H_out, W_out, kH, kW), no copy
    H_out, W_out, kh, kw = V.shape
    # im2col (one copy) and one matrix product; NaN/inf propagate silently, as in torch
    with np.errstate(invalid="ignore", over="ignore"):
        return (V.reshape(H_out * W_out, kh * kw) @ K.reshape(kh * kw)).reshape(H_out, W_out)


def correlate2d(X, K, stride=1, padding=0, dilation=1, padding_mode="zeros"):
    """2-D cross-correlation of one image with one kernel (deep learning's "convolution").

    X: image of shape (H, W); K: kernel of shape (kH, kW) (numpy arrays or torch tensors).
    stride, dilation: int or (sh, sw) / (dh, dw), each >= 1.
    padding: int, (ph, pw), (top, bottom, left, right), or 'valid' (none), 'same' (output keeps
        the input size; stride must be 1; an even kernel gets its extra row/column of padding at
        the bottom/right, exactly as torch), 'full' (d(k-1) on each side).
    padding_mode: 'zeros', 'reflect', 'replicate' or 'circular' (as nn.Conv2d's padding_mode).

    Returns Y (same kind as X) of shape (H_out, W_out) with
        Y[i, j] = sum over a, b of Xp[i*sh + a*dh, j*sw + b*dw] * K[a, b]   (Xp: padded X)
        H_out = floor((H + top + bottom - dh(kH-1) - 1) / sh) + 1, likewise W_out.
    Equal to torch.nn.functional.conv2d(X[None, None], K[None, None], ...)[0, 0].

    Note on scipy: scipy.signal.correlate2d(X, K, mode) with mode 'valid', 'same' or 'full'
    agrees with padding='valid' / 'same' / 'full' (stride 1, no dilation) for every kernel size.
    scipy.signal.convolve2d does not: see :func:`convolve2d` for its even-kernel shift.
    """
    Xp, K, stride, dilation = _prepare(X, K, stride, padding, dilation, padding_mode, 2)
    return output_like(_correlate_fast(Xp, K, stride, dilation), X)


def correlate2d_loop(X, K, stride=1, padding=0, dilation=1, padding_mode="zeros"):
    """2-D cross-correlation written as the formula's four loops; same contract as
    :func:`correlate2d`.

    X: (H, W); K: (kH, kW). Returns Y of shape (H_out, W_out),
    H_out = floor((H + top + bottom - dh(kH-1) - 1) / sh) + 1, where for every output pixel
        Y[i, j] = sum over a, b of Xp[i*sh + a*dh, j*sw + b*dw] * K[a, b].
    """
    Xp, K, stride, dilation = _prepare(X, K, stride, padding, dilation, padding_mode, 2)
    return output_like(_correlate_loop(Xp, K, stride, dilation), X)


def _flip(K):
    """K reversed along every axis (numpy or torch); anything unreadable is passed on unchanged
    so that the usual input check reports it."""
    if hasattr(K, "flip"):  # torch tensor
        return K.flip(tuple(range(K.ndim)))
    try:
        A = np.asarray(K)
    except (ValueError, TypeError):
        return K
    return A[(slice(None, None, -1),) * A.ndim]


def convolve2d(X, K, stride=1, padding=0, dilation=1, padding_mode="zeros"):
    """2-D true convolution: cross-correlation with the kernel flipped on both axes.

    X: (H, W); K: (kH, kW); other arguments as :func:`correlate2d` ('same' pads the flipped
    kernel by torch's rule).

    Returns Y of shape (H_out, W_out) (formula as correlate2d) with
        Y[i, j] = sum over a, b of Xp[i*sh + a*dh, j*sw + b*dw] * K[kH-1-a, kW-1-b].
    With stride 1 and no dilation, equal to scipy.signal.convolve2d(X, K, mode) for 'valid' and
    'full', and for 'same' when the kernel size is odd. For an EVEN kernel size the two 'same'
    outputs differ by one pixel: convlib flips the kernel and then pads by torch's rule (extra
    row/column at the bottom/right), scipy keeps the centre of the 'full' output, so along each
    even axis convolve2d(X, K, padding='same')[i] == scipy.signal.convolve2d(X, K, 'same')[i + 1]
    (scipy's output is convlib's shifted by one pixel down/right).
    """
    return correlate2d(X, _flip(K), stride, padding, dilation, padding_mode)


def convolve2d_loop(X, K, stride=1, padding=0, dilation=1, padding_mode="zeros"):
    """2-D true convolution in loop form (the kernel flipped, then the four loops of
    :func:`correlate2d_loop`). X: (H, W); K: (kH, kW). Returns (H_out, W_out) as
    :func:`convolve2d`."""
    return correlate2d_loop(X, _flip(K), stride, padding, dilation, padding_mode)


def correlate1d(x, k, stride=1, padding=0, dilation=1, padding_mode="zeros"):
    """1-D cross-correlation of a signal with a kernel (torch.nn.functional.conv1d, one channel).

    x: signal of shape (L,); k: kernel of shape (K,).
    stride, dilation: int >= 1; padding: int, (left, right), 'valid', 'same' or 'full';
    padding_mode as :func:`correlate2d`.

    Returns y (same kind as x) of shape (L_out,) with y[i] = sum over a of xp[i*s + a*d] * k[a],
        L_out = floor((L + left + right - d(K-1) - 1) / s) + 1.
    Example: correlate1d([1, 2, 3, 4, 5], [1, 0, -1]) == [-2, -2, -2].
    """
    Xp, K, stride, dilation = _prepare(x, k, stride, padding, dilation, padding_mode, 1)
    return output_like(_correlate_fast(Xp, K, stride, dilation)[0], x)


def correlate1d_loop(x, k, stride=1, padding=0, dilation=1, padding_mode="zeros"):
    """1-D cross-correlation in loop form; same contract as :func:`correlate1d`.
    x: (L,); k: (K,). Returns (L_out,), L_out = floor((L + left + right - d(K-1) - 1) / s) + 1."""
    Xp, K, (_, s), (_, d) = _prepare(x, k, stride, padding, dilation, padding_mode, 1)
    return output_like(_correlate1d_loop(Xp[0], K[0], s, d), x)


def convolve1d(x, k, stride=1, padding=0, dilation=1, padding_mode="zeros"):
    """1-D true convolution (kernel reversed), as numpy.convolve / scipy.signal.convolve.

    x: (L,); k: (K,). Returns (L_out,) as :func:`correlate1d`, with
    y[i] = sum over a of xp[i*s + a*d] * k[K-1-a]; padding='full' equals np.convolve(x, k).
    """
    return correlate1d(x, _flip(k), stride, padding, dilation, padding_mode)


def convolve1d_loop(x, k, stride=1, padding=0, dilation=1, padding_mode="zeros"):
    """1-D true convolution in loop form; same contract as :func:`convolve1d`.
    x: (L,); k: (K,). Returns (L_out,)."""
    return correlate1d_loop(x, _flip(k), stride, padding, dilation, padding_mode)


# deep learning's names: what torch calls conv is a cross-correlation
conv1d = correlate1d
conv2d = correlate2d

__all__ = ["conv1d", "conv2d", "convolve1d", "convolve1d_loop", "convolve2d", "convolve2d_loop",
           "correlate1d", "correlate1d_loop", "correlate2d", "correlate2d_loop"]
