"""Multi-channel, batched convolution layers (NCHW), equal to ``torch.nn.functional``.

A convolution layer slides C_out filters, each with one kernel per input channel, over a batch:

    Y[n, o, i, j] = bias[o] + sum over c, a, b of Xp[n, c, i*sh + a*dh, j*sw + b*dw] * W[o, c, a, b]

(with ``groups`` the channels are split into independent groups; ``groups == C_in`` is a
depthwise convolution). The transposed convolution runs the same wiring backwards: every input
pixel adds a copy of its kernels, scaled by its value, to the output ("stamping").

Loop forms (``*_loop``) read like the formula; the vectorised forms use im2col / col2im and one
(batched) matrix product. numpy or torch in, the same kind out; integers are computed in floating
point; NaN and inf propagate silently, as in torch; no autograd.
"""

from typing import NamedTuple

import numpy as np

from .padding import pad_array
from .shapes import check_fits, output_size, resolve_padding, transposed_output_size
from .validate import (
    as_float_array,
    check_nonnegative_pair,
    check_positive_pair,
    output_like,
    quiet_nan,
    result_dtype,
)
from .windows import add_windows, columns, span

_X_SHAPE = "(N, C_in, H, W) or (C_in, H, W)"
_BLOCK_BYTES = 1 << 22  # im2col block of conv2d_nchw: fits a last-level cache (bench_conv.py)


def _groups(groups):
    (g,) = check_positive_pair(groups, "groups", 1)
    return g


def _arrays(x, weight, bias, weight_shape):
    """Convert x, weight, bias; return them in one dtype, plus whether x had no batch axis."""
    X = as_float_array(x, "input x", ndim=(3, 4), shape_hint=_X_SHAPE,
                       fix="for one (H, W) image use x[None] (one channel) or convlib.correlate2d")
    Wt = as_float_array(weight, "weight", ndim=4, shape_hint=weight_shape)
    arrays = [X, Wt]
    if bias is not None:
        b = as_float_array(bias, "bias", ndim=1, shape_hint="(C_out,)")
        arrays.append(b)
    dtype = result_dtype(*arrays)
    X, Wt, *b = (A if A.dtype == dtype else A.astype(dtype) for A in arrays)
    unbatched = X.ndim == 3
    return (X[None] if unbatched else X), Wt, (b[0] if b else None), unbatched


def _check_channels(C_in, C_out, g, weight_in, weight_shape, bias):
    if C_in % g or C_out % g:
        raise ValueError(f"groups={g} must divide both the input channels ({C_in}) and the output "
                         f"channels ({C_out}); choose groups among their common divisors")
    if weight_in * g != C_in:
        raise ValueError(f"weight of shape {weight_shape} expects {weight_in * g} input channels "
                         f"({weight_in} per group x groups={g}), but x has {C_in}; the weight's "
                         f"channel axis must be C_in/groups = {C_in // g}")
    if bias is not None and bias.shape != (C_out,):
        raise ValueError(f"bias must have shape ({C_out},), one value per output channel, got "
                         f"{tuple(bias.shape)}")


class ConvArgs(NamedTuple):
    """The checked arguments of a convolution layer, as numpy arrays in one dtype."""
    Xp: np.ndarray          # padded input, (N, C_in, H + top + bottom, W + left + right)
    weight: np.ndarray      # (C_out, C_in/groups, kH, kW)
    bias: np.ndarray | None  # (C_out,)
    stride: tuple           # (sh, sw)
    dilation: tuple         # (dh, dw)
    groups: int
    out_hw: tuple           # (H_out, W_out)
    unbatched: bool         # x had no batch axis: return (C_out, H_out, W_out)


def _prepare_conv(x, weight, bias, stride, padding, dilation, groups, padding_mode):
    X, Wt, b, unbatched = _arrays(x, weight, bias, "(C_out, C_in/groups, kH, kW)")
    g = _groups(groups)
    C_out, c_in_g, kh, kw = Wt.shape
    _check_channels(X.shape[1], C_out, g, c_in_g, tuple(Wt.shape), b)
    stride = check_positive_pair(stride, "stride")
    dilation = check_positive_pair(dilation, "dilation")
    amounts = resolve_padding(padding, (kh, kw), dilation, stride)
    Xp = pad_array(X, amounts, padding_mode)
    check_fits(Xp.shape[-2:], (kh, kw), dilation)
    out_hw = tuple(output_size(n, k, s, 0, d)  # Xp is padded already
                   for n, k, s, d in zip(Xp.shape[-2:], (kh, kw), stride, dilation, strict=True))
    return ConvArgs(Xp, Wt, b, stride, dilation, g, out_hw, unbatched)


@quiet_nan
def conv2d_nchw(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
                padding_mode="zeros"):
    """A convolution layer: ``torch.nn.functional.conv2d`` (with nn.Conv2d's padding_mode).

    x: input of shape (N, C_in, H, W), or (C_in, H, W) for a single image.
    weight: filters of shape (C_out, C_in/groups, kH, kW); bias: (C_out,) or None.
    stride, dilation: int or (h, w) pair >= 1; padding: int, (ph, pw), (top, bottom, left,
        right), 'valid', 'same' (stride 1 only; extra pixel bottom/right) or 'full'.
    groups: split channels into this many independent groups (C_in and C_out divisible by it).
    padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'.

    Returns y of shape (N, C_out, H_out, W_out) (or (C_out, H_out, W_out)) where
        H_out = floor((H + top + bottom - dh(kH-1) - 1) / sh) + 1, likewise W_out.
    Vectorised: im2col, then one batched matrix product (groups, C_out/groups, C_in/groups*kH*kW)
    @ (N, groups, C_in/groups*kH*kW, H_out*W_out).
    """
    args = _prepare_conv(x, weight, bias, stride, padding, dilation, groups, padding_mode)
    Xp, g, (sh, _), (dh, _), (H_out, W_out) = (args.Xp, args.groups, args.stride,
                                               args.dilation, args.out_hw)
    N, C_in = Xp.shape[:2]
    C_out, c_in_g, kh, kw = args.weight.shape
    Wm = args.weight.reshape(g, C_out // g, c_in_g * kh * kw)
    Y = np.empty((N, g, C_out // g, H_out * W_out), dtype=Xp.dtype)
    # A few output rows at a time, into one columns buffer that every block reuses, so that
    # the columns stay in the CPU cache between being written (im2col) and read (matmul): the
    # result is the same, and the copy writes to cached memory instead of fresh pages. Measured
    # on seven layer shapes, 4 MB blocks were best or within 0.02x of the best; one block for
    # the whole layer made 4x32x64x64 with 32 5x5 filters 2.26x torch's time instead of 1.6x.
    rows = max(1, min(H_out, _BLOCK_BYTES // (N * C_in * kh * kw * W_out * Xp.itemsize)))
    buffer = np.empty(N * C_in * kh * kw * rows * W_out, dtype=Xp.dtype)
    for i0 in range(0, H_out, rows):
        i1 = min(H_out, i0 + rows)
        block = Xp[:, :, i0 * sh: (i1 - 1) * sh + dh * (kh - 1) + 1]  # the input rows they read
        cols = columns(block, (kh, kw), args.stride, args.dilation, buffer)  # (N, C_in*kH*kW, L)
        np.matmul(Wm, cols.reshape(N, g, c_in_g * kh * kw, -1),
                  out=Y[..., i0 * W_out: i1 * W_out])
    Y = Y.reshape(N, C_out, H_out, W_out)
    if args.bias is not None:
        Y += args.bias[:, None, None]
    return output_like(Y[0] if args.unbatched else Y, x)


@quiet_nan
def conv2d_nchw_loop(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
                     padding_mode="zeros"):
    """A convolution layer in loop form; same contract as :func:`conv2d_nchw`.

    x: (N, C_in, H, W) or (C_in, H, W); weight: (C_out, C_in/groups, kH, kW); bias: (C_out,).
    Returns (N, C_out, H_out, W_out), H_out = floor((H + top + bottom - dh(kH-1) - 1) / sh) + 1:
        Y[n, o, i, j] = bias[o] + sum over c, a, b of
                        Xp[n, group_start(o) + c, i*sh + a*dh, j*sw + b*dw] * W[o, c, a, b]
    """
    args = _prepare_conv(x, weight, bias, stride, padding, dilation, groups, padding_mode)
    Xp, Wt, b, g = args.Xp, args.weight, args.bias, args.groups
    (sh, sw), (dh, dw), (H_out, W_out) = args.stride, args.dilation, args.out_hw
    N = Xp.shape[0]
    C_out, c_in_g, kh, kw = Wt.shape
    Y = np.zeros((N, C_out, H_out, W_out), dtype=Xp.dtype)
    for n in range(N):
        for o in range(C_out):
            c0 = (o // (C_out // g)) * c_in_g  # first input channel of o's group
            for i in range(H_out):
                for j in range(W_out):
                    window = Xp[n, c0:c0 + c_in_g,
                                i * sh: i * sh + span(kh, dh): dh,
                                j * sw: j * sw + span(kw, dw): dw]
                    Y[n, o, i, j] = np.sum(window * Wt[o]) + (b[o] if b is not None else 0)
    return output_like(Y[0] if args.unbatched else Y, x)


class TransposeArgs(NamedTuple):
    """The checked arguments of a transposed convolution, as numpy arrays in one dtype."""
    X: np.ndarray           # input, (N, C_in, H, W)
    weight: np.ndarray      # (C_in, C_out/groups, kH, kW)
    bias: np.ndarray | None  # (C_out,)
    stride: tuple           # (sh, sw)
    padding: tuple          # (ph, pw): rows/columns cut from each side of the full output
    dilation: tuple         # (dh, dw)
    groups: int
    full_hw: tuple          # size of the output before the padding is cut: H_out + 2 ph, ...
    out_hw: tuple           # (H_out, W_out)
    unbatched: bool         # x had no batch axis: return (C_out, H_out, W_out)


def _prepare_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation):
    X, Wt, b, unbatched = _arrays(x, weight, bias, "(C_in, C_out/groups, kH, kW)")
    g = _groups(groups)
    C_in, c_out_g, kh, kw = Wt.shape
    if C_in != X.shape[1]:
        raise ValueError(f"weight of shape {tuple(Wt.shape)} expects {C_in} input channels "
                         f"(a transposed convolution's weight is (C_in, C_out/groups, kH, kW)), "
                         f"but x has {X.shape[1]}")
    _check_channels(C_in, c_out_g * g, g, C_in // g, tuple(Wt.shape), b)
    stride = check_positive_pair(stride, "stride")
    dilation = check_positive_pair(dilation, "dilation")
    if isinstance(padding, str):
        raise ValueError(f"conv_transpose2d takes padding as numbers, got {padding!r} (as in "
                         f"torch); padding p removes p rows/columns from each side of the output")
    padding = check_nonnegative_pair(padding, "padding")
    output_padding = check_nonnegative_pair(output_padding, "output_padding")
    out = tuple(transposed_output_size(*args) for args in zip(
        X.shape[2:], (kh, kw), stride, padding, output_padding, dilation, strict=True))
    full = tuple(o + 2 * p for o, p in zip(out, padding, strict=True))
    return TransposeArgs(X, Wt, b, stride, padding, dilation, g, full, out, unbatched)


@quiet_nan
def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed convolution: ``torch.nn.functional.conv_transpose2d``.

    x: input of shape (N, C_in, H, W) or (C_in, H, W).
    weight: (C_in, C_out/groups, kH, kW) (note: C_in first, as in torch); bias: (C_out,) or None.
    stride, dilation: int or pair >= 1; padding: int or pair, rows/columns removed from each
    side of the output; output_padding: extra rows/columns at the bottom/right (smaller than
    stride or dilation).

    Returns y of shape (N, C_out, H_out, W_out) where
        H_out = (H - 1) sh - 2 ph + dh (kH - 1) + output_padding_h + 1, likewise W_out.
    It is the adjoint (transpose) of conv2d_nchw with the same weight: each input pixel x[n, c,
    i, j] adds x[n, c, i, j] * W[c] at rows i*sh + a*dh, columns j*sw + b*dw.
    Vectorised: one batched matrix product, then col2im.
    """
    args = _prepare_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation)
    X, Wt, g, (ph, pw), (H_out, W_out) = args.X, args.weight, args.groups, args.padding, args.out_hw
    N, C_in, H, W = X.shape
    _, c_out_g, kh, kw = Wt.shape
    # (groups, C_out/g*kH*kW, C_in/g) @ (N, groups, C_in/g, H*W) -> the columns of the output
    Wm = Wt.reshape(g, C_in // g, c_out_g * kh * kw).transpose(0, 2, 1)
    cols = np.matmul(Wm, X.reshape(N, g, C_in // g, H * W))
    cols6 = cols.reshape(N, g * c_out_g, kh, kw, H, W)
    Yfull = add_windows(cols6, args.full_hw, args.stride, args.dilation)
    Y = Yfull[:, :, ph:ph + H_out, pw:pw + W_out]
    if args.bias is not None:
        Y = Y + args.bias[:, None, None]
    return output_like(Y[0] if args.unbatched else Y, x)


@quiet_nan
def conv_transpose2d_loop(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                          dilation=1):
    """Transposed convolution in loop form ("stamping"); same contract as
    :func:`conv_transpose2d`.

    x: (N, C_in, H, W) or (C_in, H, W); weight: (C_in, C_out/groups, kH, kW).
    Returns (N, C_out, H_out, W_out), H_out = (H - 1) sh - 2 ph + dh (kH - 1) + oph + 1:
    for every input pixel, Yfull[n, group's outputs, i*sh + a*dh, j*sw + b*dw] += x[n, c, i, j]
    * W[c, :, a, b]; then ph, pw rows/columns are cut from each side, and bias is added.
    """
    args = _prepare_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation)
    X, Wt, g, (sh, sw), (dh, dw) = args.X, args.weight, args.groups, args.stride, args.dilation
    (ph, pw), (H_out, W_out) = args.padding, args.out_hw
    N, C_in, H, W = X.shape
    _, c_out_g, kh, kw = Wt.shape
    Yfull = np.zeros((N, g * c_out_g) + args.full_hw, dtype=X.dtype)
    for n in range(N):
        for c in range(C_in):
            o0 = (c // (C_in // g)) * c_out_g  # first output channel of c's group
            for i in range(H):
                for j in range(W):
                    Yfull[n, o0:o0 + c_out_g,
                          i * sh: i * sh + span(kh, dh): dh,
                          j * sw: j * sw + span(kw, dw): dw] += X[n, c, i, j] * Wt[c]
    Y = Yfull[:, :, ph:ph + H_out, pw:pw + W_out]
    if args.bias is not None:
        Y = Y + args.bias[:, None, None]
    return output_like(Y[0] if args.unbatched else Y, x)


__all__ = ["conv2d_nchw", "conv2d_nchw_loop", "conv_transpose2d",
           "conv_transpose2d_loop"]
