"""Convolution is a linear operator: the matrix that does it.

For a fixed kernel K and input size H x W, ``correlate2d(X, K, ...)`` is linear in X, so there is
one matrix M with ``M @ X.ravel() == correlate2d(X, K, ...).ravel()``. Row i*W_out + j of M holds
the kernel entries at the input pixels window (i, j) covers and zeros elsewhere: the same few
numbers, shifted from row to row (a doubly-block Toeplitz matrix for stride 1 and zero padding).
Its transpose sends an output back onto the input: ``M.T @ Y.ravel()`` is the transposed
convolution of Y by K, which is why the transposed convolution is called "transposed".
"""

import numpy as np

from .padding import pad_array
from .shapes import check_fits, output_size, resolve_padding
from .validate import as_float_array, as_int_tuple, check_positive_pair, output_like, quiet_nan


@quiet_nan
def conv_matrix(input_hw, K, stride=1, padding=0, dilation=1, padding_mode="zeros"):
    """The matrix of the 2-D cross-correlation by K on H x W images.

    input_hw: (H, W), the image size; K: kernel of shape (kH, kW) (numpy or torch).
    stride, dilation, padding, padding_mode: as in :func:`convlib.correlate2d`.

    Returns M (same kind as K) of shape (H_out*W_out, H*W), with
        M @ X.ravel() == correlate2d(X, K, stride, padding, dilation, padding_mode).ravel()
        H_out = floor((H + top + bottom - dh(kH-1) - 1) / sh) + 1, likewise W_out.
    With padding_mode='zeros', M.T @ Y.ravel() (Y of shape (H_out, W_out)) equals
    conv_transpose2d(Y, K, stride, padding, output_padding, dilation) reshaped to (H, W), where
    output_padding is the number of rows/columns the floor in H_out dropped. Other padding modes
    are linear too (M then folds the border pixels back onto the ones they copy).
    """
    H, W = as_int_tuple(input_hw, "input_hw")
    if H < 1 or W < 1:
        raise ValueError(f"input_hw must be the image size (H, W) with H, W >= 1, got {(H, W)}; "
                         f"pass X.shape")
    Ka = as_float_array(K, "kernel K", ndim=2, shape_hint="(kH, kW)")
    kh, kw = Ka.shape
    (sh, sw) = stride = check_positive_pair(stride, "stride")
    (dh, dw) = dilation = check_positive_pair(dilation, "dilation")
    amounts = resolve_padding(padding, (kh, kw), dilation, stride)
    # Where each padded pixel comes from: pad the H*W basis images (an identity matrix)
    basis = np.eye(H * W, dtype=Ka.dtype).reshape(H * W, H, W)
    P = pad_array(basis, amounts, padding_mode)  # (H*W, Hp, Wp)
    Hp, Wp = P.shape[1:]
    check_fits((Hp, Wp), (kh, kw), dilation)
    H_out = output_size(Hp, kh, sh, 0, dh)  # Hp, Wp: padded size
    W_out = output_size(Wp, kw, sw, 0, dw)
    # Mp: the matrix on the padded image; row i*W_out + j has K[a, b] at pixel
    # (i*sh + a*dh, j*sw + b*dw)
    Mp = np.zeros((H_out, W_out, Hp, Wp), dtype=Ka.dtype)
    i, j = np.arange(H_out)[:, None], np.arange(W_out)[None, :]
    for a in range(kh):
        for b in range(kw):
            Mp[i, j, i * sh + a * dh, j * sw + b * dw] = Ka[a, b]
    if padding_mode == "zeros":  # padded pixels are zero: just drop their columns
        (top, _), (left, _) = amounts
        M = Mp[:, :, top:top + H, left:left + W].reshape(H_out * W_out, H * W)
    else:
        M = Mp.reshape(H_out * W_out, Hp * Wp) @ P.reshape(H * W, Hp * Wp).T
    return output_like(M, K)

__all__ = ["conv_matrix"]
