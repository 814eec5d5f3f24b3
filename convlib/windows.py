"""Sliding windows, im2col and col2im: how a convolution becomes one matrix product.

``sliding_windows`` returns every window the kernel sees as a read-only *view* (no copy);
``im2col`` lays the windows out as the columns of a matrix, exactly like
``torch.nn.functional.unfold``, so that a whole convolution layer is ``weight_matrix @ columns``;
``col2im`` is its adjoint (``torch.nn.functional.fold``): it adds each column back where its
window came from, which is what the transposed convolution does.
"""

import math

import numpy as np

from .padding import pad_array
from .shapes import check_fits, effective_kernel_size, output_size, size_text
from .validate import (
    as_float_array,
    as_int_tuple,
    check_nonnegative_pair,
    check_positive_pair,
    output_like,
    quiet_nan,
)


def span(k, d):
    """How many input pixels a kernel of size k with dilation d covers: d(k-1) + 1."""
    return effective_kernel_size(k, d)


def windows_view(A, kernel, stride, dilation):
    """Windows of numpy array ``A`` (..., H, W) as a read-only view (..., H_out, W_out, kH, kW).

    No checks and no copy (unless A itself is a strided view): window (i, j) holds
    ``A[..., i*sh + a*dh, j*sw + b*dw]`` at [a, b]; moving one window down is sh rows of A, one
    kernel row down is dh rows (hence the strides). The caller has checked that the kernel
    fits (:func:`convlib.shapes.check_fits`).
    """
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    A = np.ascontiguousarray(A)  # the windows are offsets into one buffer
    H, W = A.shape[-2:]
    H_out, W_out = (H - dh * (kh - 1) - 1) // sh + 1, (W - dw * (kw - 1) - 1) // sw + 1
    *lead, rows, cols = A.strides
    # np.ndarray over A's buffer: what as_strided does, without its ~15 µs of bookkeeping
    V = np.ndarray(A.shape[:-2] + (H_out, W_out, kh, kw), A.dtype, buffer=A,
                   strides=(*lead, rows * sh, cols * sw, rows * dh, cols * dw))
    V.flags.writeable = False
    return V


def sliding_windows(X, kernel_hw, stride=1, dilation=1):
    """Every window a kernel of size ``kernel_hw`` sees in ``X``, as a read-only view.

    X: image of shape (H, W) (numpy or torch; pad it first with ``pad2d`` if needed).
    kernel_hw: (kH, kW); stride, dilation: int or (h, w) pair.

    Returns an array (same kind as X) of shape (H_out, W_out, kH, kW) with
    ``windows[i, j, a, b] = X[i*sh + a*dh, j*sw + b*dw]``, where
    H_out = floor((H - dh(kH-1) - 1) / sh) + 1 and likewise W_out.
    For numpy input this is a view into X: writing to it is not allowed (it is read-only).
    """
    A = as_float_array(X, "image X", ndim=2, shape_hint="(H, W)")
    kernel = check_positive_pair(kernel_hw, "kernel size")
    stride = check_positive_pair(stride, "stride")
    dilation = check_positive_pair(dilation, "dilation")
    check_fits(A.shape, kernel, dilation, what="input")
    return output_like(windows_view(A, kernel, stride, dilation), X)


def _batched(x, name):
    A = as_float_array(x, name, ndim=(3, 4), shape_hint="(N, C, H, W) or (C, H, W)")
    return (A[None], True) if A.ndim == 3 else (A, False)


def im2col(x, kernel_hw, stride=1, dilation=1, padding=0):
    """Unfold every window of a batch into a column: ``torch.nn.functional.unfold``.

    x: input of shape (N, C, H, W) (or (C, H, W), then the result has no batch axis).
    kernel_hw: (kH, kW); stride, dilation, padding (zeros): int or (h, w) pair.

    Returns cols of shape (N, C*kH*kW, H_out*W_out): column l = i*W_out + j holds the window at
    output position (i, j), its rows ordered channel first, then kernel row a, then column b.
    H_out = floor((H + 2ph - dh(kH-1) - 1) / sh) + 1, and likewise W_out.
    """
    A, unbatched = _batched(x, "input x")
    kernel = check_positive_pair(kernel_hw, "kernel size")
    stride = check_positive_pair(stride, "stride")
    dilation = check_positive_pair(dilation, "dilation")
    ph, pw = check_nonnegative_pair(padding, "padding")
    A = pad_array(A, ((ph, ph), (pw, pw)))
    check_fits(A.shape[-2:], kernel, dilation)
    cols = columns(A, kernel, stride, dilation)
    return output_like(cols[0] if unbatched else cols, x)


def columns(A, kernel, stride, dilation, buffer=None):
    """im2col of an already padded numpy batch (N, C, H, W) -> (N, C*kH*kW, H_out*W_out).

    One copy, laid out (N, C, kH, kW, H_out, W_out) so that ``weight (C_out, C*kH*kW) @ cols``
    is the output in NCHW order with no further copy. With a stride and a large input the
    copy goes through the stride's phase images (see :func:`_strided_columns`).
    buffer: optional flat array of A's dtype with at least N*C*kH*kW*H_out*W_out entries; the
    columns are written into its start (conv2d_nchw reuses one buffer for all its blocks).
    """
    V = windows_view(A, kernel, stride, dilation)  # (N, C, H_out, W_out, kH, kW)
    N, C, H_out, W_out, kh, kw = V.shape
    shape = (N, C, kh, kw, H_out, W_out)
    cols = (np.empty(shape, dtype=A.dtype) if buffer is None
            else buffer[: math.prod(shape)].reshape(shape))
    if tuple(stride) != (1, 1) and cols.size >= PHASE_SPLIT_SIZE:
        _strided_columns(A, cols, stride, dilation)
    else:
        cols[...] = V.transpose(0, 1, 4, 5, 2, 3)
    return cols.reshape(N, C * kh * kw, H_out * W_out)


# From about this many column entries on, the phase images pay for their extra copies: the
# 224x224 7x7 stride-2 stem's columns are built ~2x faster; a 12x10 image's ~3x slower.
PHASE_SPLIT_SIZE = 1 << 16


def _strided_columns(A, cols, stride, dilation):
    """Fill cols (N, C, kH, kW, H_out, W_out) with the windows of A (N, C, H, W), reading
    contiguous memory: a gappy window copy walks A with a stride, which is slow when A is big.

    The phase image (p, q) = ``A[..., p::sh, q::sw]`` holds every pixel whose row is p modulo
    sh and column q modulo sw. Kernel row a reads input row i*sh + a*dh, that is row
    i + (a*dh)//sh of phase (a*dh) % sh; the rows a0, a0 + sh/g, a0 + 2sh/g, ... (g = gcd(dh, sh))
    share a phase and sit dh/g rows apart in it: a window copy with stride 1 and dilation dh/g
    from that (contiguous) phase image. Likewise columns. One such copy per phase pair.
    """
    N, C, kh, kw, H_out, W_out = cols.shape
    (sh, sw), (dh, dw) = stride, dilation
    gh, gw = math.gcd(dh, sh), math.gcd(dw, sw)
    step_a, step_b = sh // gh, sw // gw  # kernel rows (columns) from one phase to the next
    for a0 in range(min(kh, step_a)):
        for b0 in range(min(kw, step_b)):
            r, c = a0 * dh, b0 * dw
            phase = A[:, :, r % sh::sh, c % sw::sw][:, :, r // sh:, c // sw:]
            n_a, n_b = len(range(a0, kh, step_a)), len(range(b0, kw, step_b))
            V = windows_view(phase, (n_a, n_b), (1, 1), (dh // gh, dw // gw))
            cols[:, :, a0::step_a, b0::step_b] = V[:, :, :H_out, :W_out].transpose(0, 1, 4, 5, 2, 3)


def add_windows(cols6, padded_hw, stride, dilation):
    """Adjoint of the window view: add ``cols6`` (N, C, kH, kW, Hb, Wb) into a zero array
    (N, C, *padded_hw) at ``[i*sh + a*dh, j*sw + b*dw]``. One vectorised add per kernel entry."""
    N, C, kh, kw, hb, wb = cols6.shape
    (sh, sw), (dh, dw) = stride, dilation
    out = np.zeros((N, C) + tuple(padded_hw), dtype=cols6.dtype)
    for a in range(kh):
        for b in range(kw):
            out[:, :, a * dh: a * dh + sh * (hb - 1) + 1: sh,
                b * dw: b * dw + sw * (wb - 1) + 1: sw] += cols6[:, :, a, b]
    return out


@quiet_nan
def col2im(cols, output_hw, kernel_hw, stride=1, dilation=1, padding=0):
    """Fold columns back into a batch, adding overlaps: ``torch.nn.functional.fold``.

    cols: (N, C*kH*kW, L) (or (C*kH*kW, L)), laid out as :func:`im2col` makes them, where
        L = H_blocks*W_blocks, H_blocks = floor((H + 2ph - dh(kH-1) - 1) / sh) + 1.
    output_hw: (H, W) of the image to rebuild; kernel_hw, stride, dilation, padding as im2col.

    Returns x of shape (N, C, H, W): every pixel is the sum of all column entries that im2col
    would have copied from it (so col2im(im2col(x)) counts each pixel once per window).
    """
    A = as_float_array(cols, "cols", ndim=(2, 3), shape_hint="(N, C*kH*kW, L)")
    unbatched = A.ndim == 2
    if unbatched:
        A = A[None]
    H, W = as_int_tuple(output_hw, "output size")
    kernel = check_positive_pair(kernel_hw, "kernel size")
    stride = check_positive_pair(stride, "stride")
    dilation = check_positive_pair(dilation, "dilation")
    ph, pw = check_nonnegative_pair(padding, "padding")
    padded = (H + 2 * ph, W + 2 * pw)
    check_fits(padded, kernel, dilation, what="padded output")
    hb, wb = (output_size(n, k, s, 0, d)
              for n, k, d, s in zip(padded, kernel, dilation, stride, strict=True))
    N, rows, L = A.shape
    kk = kernel[0] * kernel[1]
    if rows % kk or L != hb * wb:
        raise ValueError(f"cols of shape {tuple(A.shape)} do not match a {size_text(kernel)} "
                         f"kernel sliding over {H}x{W} (padding {ph},{pw}): expected (N, C*{kk}, "
                         f"{hb * wb}); check output_hw, kernel_hw, stride, dilation and padding")
    cols6 = A.reshape(N, rows // kk, kernel[0], kernel[1], hb, wb)
    out = add_windows(cols6, padded, stride, dilation)[:, :, ph: ph + H, pw: pw + W]
    return output_like(out[0] if unbatched else out, cols)

__all__ = ["col2im", "im2col", "sliding_windows"]
