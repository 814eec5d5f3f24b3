"""The backward pass of a convolution layer: the gradients of ``conv2d_nchw``, equal to torch
autograd.

For single-channel valid cross-correlation Y = X ⋆ K (Y[i, j] = sum over a, b of
X[i + a, j + b] K[a, b]) and a loss L with upstream gradient G = dL/dY:

    dL/dK = X ⋆ G                  each kernel entry sees the inputs it multiplied, weighted by G
    dL/dX = G * K, 'full'           the full *convolution* of G with K (K flipped): each output
                                    pixel sends its gradient back to the inputs of its window
    dL/db = sum of G

With channels, groups, stride, padding and dilation the same wiring holds: every output
position (n, o, i, j) adds G[n, o, i, j] * W[o] into the gradient of its input window and
G[n, o, i, j] * (its input window) into dL/dW[o]. A stride s spreads G out (s - 1 zeros between
its entries: the dilation of dL/dY) before the full convolution; padding is cropped off at the end.

``conv2d_backward_loop`` reads like that sentence; ``conv2d_backward`` does it with im2col: one
batched matrix product for dL/dW, one for the columns of dL/dX, folded back with col2im.
"""

from typing import NamedTuple

import numpy as np

from .padding import resolve_padding2d
from .shapes import check_fits, output_size
from .validate import as_float_array, check_positive_pair, output_like, quiet_nan, result_dtype
from .windows import add_windows, columns

_X_SHAPE = "(N, C_in, H, W) or (C_in, H, W)"


class ConvGradients(NamedTuple):
    """The gradients of a convolution layer's loss with respect to its three inputs."""

    grad_x: object       # like x: (N, C_in, H, W)
    grad_weight: object  # like weight: (C_out, C_in/groups, kH, kW)
    grad_bias: object    # (C_out,)


class _Problem(NamedTuple):
    X: np.ndarray        # (N, C_in, H + top + bottom, W + left + right), padded with zeros
    W: np.ndarray        # (C_out, C_in/groups, kH, kW)
    G: np.ndarray        # (N, C_out, H_out, W_out)
    stride: tuple
    dilation: tuple
    groups: int
    crop: tuple          # (top, left, H, W): where the unpadded input sits in X
    unbatched: bool


def _problem(x, weight, grad_out, stride, padding, dilation, groups):
    X = as_float_array(x, "input x", ndim=(3, 4), shape_hint=_X_SHAPE)
    Wt = as_float_array(weight, "weight", ndim=4, shape_hint="(C_out, C_in/groups, kH, kW)")
    G = as_float_array(grad_out, "grad_out", ndim=(3, 4),
                       shape_hint="(N, C_out, H_out, W_out) or (C_out, H_out, W_out)")
    dtype = result_dtype(X, Wt, G)
    unbatched = X.ndim == 3
    if G.ndim != X.ndim:
        raise ValueError(f"grad_out has {G.ndim} axes but x has {X.ndim}; grad_out is the "
                         f"gradient of conv2d's output, which has x's batch axis (or none)")
    X, G = (X[None], G[None]) if unbatched else (X, G)
    (g,) = check_positive_pair(groups, "groups", 1)
    C_out, c_in_g, kh, kw = Wt.shape
    N, C_in, H, W = X.shape
    if C_in % g or C_out % g or c_in_g * g != C_in:
        raise ValueError(f"weight of shape {tuple(Wt.shape)} with groups={g} does not fit x with "
                         f"{C_in} channels: the weight's channel axis must be C_in/groups and "
                         f"groups must divide C_in and C_out")
    stride = check_positive_pair(stride, "stride")
    dilation = check_positive_pair(dilation, "dilation")
    top, bottom, left, right = resolve_padding2d(padding, (kh, kw), dilation, stride)
    Xp = np.pad(X.astype(dtype, copy=False), ((0, 0), (0, 0), (top, bottom), (left, right)))
    check_fits(Xp.shape[-2:], (kh, kw), dilation)
    expected = (N, C_out, output_size(Xp.shape[2], kh, stride[0], 0, dilation[0]),
                output_size(Xp.shape[3], kw, stride[1], 0, dilation[1]))
    if tuple(G.shape) != expected:
        shown = expected[1:] if unbatched else expected
        raise ValueError(f"grad_out must have the shape of conv2d's output {shown}, got "
                         f"{tuple(G.shape[1:] if unbatched else G.shape)}; pass the gradient of "
                         f"the output of this very convolution")
    return _Problem(Xp, Wt.astype(dtype, copy=False), G.astype(dtype, copy=False), stride,
                    dilation, g, (top, left, H, W), unbatched)


def _answer(p, grad_xp, grad_w, x, weight, grad_out):
    top, left, H, W = p.crop
    grad_x = grad_xp[:, :, top:top + H, left:left + W]
    grad_b = p.G.sum(axis=(0, 2, 3))
    if p.unbatched:
        grad_x = grad_x[0]
    return ConvGradients(output_like(np.ascontiguousarray(grad_x), x),
                         output_like(grad_w, weight), output_like(grad_b, grad_out))


@quiet_nan
def conv2d_backward_loop(x, weight, grad_out, stride=1, padding=0, dilation=1, groups=1):
    """The gradients of ``conv2d_nchw(x, weight, bias, ...)`` in loop form.

    x: the layer's input (N, C_in, H, W) or (C_in, H, W); weight: (C_out, C_in/groups, kH, kW);
    grad_out: dL/dY, the shape of the layer's output (N, C_out, H_out, W_out) (or unbatched).
    stride, padding, dilation, groups: as given to the forward pass (zero padding).

    Returns ConvGradients(grad_x, grad_weight, grad_bias), shaped like x, weight and (C_out,).
    """
    p = _problem(x, weight, grad_out, stride, padding, dilation, groups)
    (sh, sw), (dh, dw) = p.stride, p.dilation
    C_out, c_in_g, kh, kw = p.W.shape
    per_group = C_out // p.groups
    grad_xp, grad_w = np.zeros_like(p.X), np.zeros_like(p.W)
    N, _, H_out, W_out = p.G.shape
    for n in range(N):
        for o in range(C_out):
            c0 = (o // per_group) * c_in_g  # the first input channel this filter sees
            for i in range(H_out):
                for j in range(W_out):
                    rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
                    cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
                    g = p.G[n, o, i, j]
                    grad_w[o] += g * p.X[n, c0:c0 + c_in_g, rows, cols]
                    grad_xp[n, c0:c0 + c_in_g, rows, cols] += g * p.W[o]
    return _answer(p, grad_xp, grad_w, x, weight, grad_out)


@quiet_nan
def conv2d_backward(x, weight, grad_out, stride=1, padding=0, dilation=1, groups=1):
    """The gradients of ``conv2d_nchw(x, weight, bias, stride, padding, dilation, groups)``,
    equal to torch autograd.

    x: the layer's input (N, C_in, H, W) or (C_in, H, W); weight: (C_out, C_in/groups, kH, kW);
    grad_out: dL/dY of shape (N, C_out, H_out, W_out) (or (C_out, H_out, W_out)), where
        H_out = floor((H + top + bottom - dh(kH-1) - 1) / sh) + 1, likewise W_out.

    Returns ConvGradients(grad_x, grad_weight, grad_bias) of shapes (N, C_in, H, W),
    (C_out, C_in/groups, kH, kW) and (C_out,), each the same kind (numpy/torch) as its input.
    Vectorised: im2col of x; dL/dW = sum over the batch of G @ cols^T; dL/dX = col2im(W^T @ G).
    """
    p = _problem(x, weight, grad_out, stride, padding, dilation, groups)
    C_out, c_in_g, kh, kw = p.W.shape
    N, _, H_out, W_out = p.G.shape
    g, k = p.groups, c_in_g * kh * kw
    cols = columns(p.X, (kh, kw), p.stride, p.dilation).reshape(N, g, k, H_out * W_out)
    G = p.G.reshape(N, g, C_out // g, H_out * W_out)
    grad_w = np.matmul(G, cols.transpose(0, 1, 3, 2)).sum(axis=0).reshape(p.W.shape)
    grad_cols = np.matmul(p.W.reshape(g, C_out // g, k).transpose(0, 2, 1), G)  # (N, g, k, L)
    grad_xp = add_windows(grad_cols.reshape(N, g * c_in_g, kh, kw, H_out, W_out),
                          p.X.shape[-2:], p.stride, p.dilation)
    return _answer(p, grad_xp, grad_w, x, weight, grad_out)


__all__ = ["ConvGradients", "conv2d_backward", "conv2d_backward_loop"]
