"""Padding: turning ``padding=`` arguments into amounts, and padding arrays like torch does.

``resolve_padding2d`` turns ``1``, ``(1, 2)``, ``(top, bottom, left, right)``, ``'valid'``,
``'same'`` or ``'full'`` into four explicit amounts (the rules themselves live in
:func:`convlib.shapes.resolve_padding`, which every operation uses); ``pad2d`` pads the last two
axes with one of torch's padding modes:

    zeros      0 0 | a b c d | 0 0        (torch padding_mode='zeros', F.pad mode='constant')
    reflect    c b | a b c d | c b        mirror without repeating the edge (amount < size)
    replicate  a a | a b c d | d d        repeat the edge value
    circular   c d | a b c d | a b        wrap around, as if the image tiled (amount <= size)
"""

import numpy as np

from .shapes import resolve_padding
from .validate import as_float_array, check_nonnegative_pair, check_positive_pair, output_like

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
_NUMPY_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def resolve_padding2d(padding, kernel_hw, dilation=1, stride=1):
    """Turn a ``padding=`` argument into explicit amounts ``(top, bottom, left, right)``.

    padding: an int p (p on every side), a pair (ph, pw) (ph above and below, pw left and right),
        a 4-tuple (top, bottom, left, right), or a string:
        ``'valid'`` no padding; ``'same'`` total d(k-1) per axis so that a stride-1 output keeps
        the input size, with the smaller half before and the extra pixel of an even kernel
        after (bottom / right) — torch's rule; ``'full'`` d(k-1) on each side, so every
        position where kernel and input overlap at all is computed.
    kernel_hw: (kH, kW); dilation, stride: an int or an (h, w) pair.

    Returns (top, bottom, left, right), ints >= 0.
    Raises ValueError for negative amounts, an unknown string, or 'same' with stride > 1.
    """
    kernel = check_positive_pair(kernel_hw, "kernel size")
    dilation = check_positive_pair(dilation, "dilation")
    stride = check_positive_pair(stride, "stride")
    (top, bottom), (left, right) = resolve_padding(padding, kernel, dilation, stride)
    return top, bottom, left, right


def resolve_padding1d(padding, k, dilation=1, stride=1):
    """Turn a 1-D ``padding=`` argument (int, (left, right), 'valid', 'same', 'full') into
    explicit amounts ``(left, right)``; same rules as :func:`resolve_padding2d`."""
    (kernel,) = check_positive_pair(k, "kernel size", 1)
    (dilation,) = check_positive_pair(dilation, "dilation", 1)
    (stride,) = check_positive_pair(stride, "stride", 1)
    ((left, right),) = resolve_padding(padding, (kernel,), (dilation,), (stride,))
    return left, right


def _check_mode(mode):
    if type(mode) is str and mode == "zeros":  # the common case, without the lower()
        return mode
    if not isinstance(mode, str) or mode.lower() not in PADDING_MODES:
        raise ValueError(f"unknown padding_mode {mode!r}; use one of "
                         f"{', '.join(map(repr, PADDING_MODES))}")
    return mode.lower()


def pad_array(A, amounts, mode="zeros"):
    """Pad the trailing axes of numpy array ``A``; ``amounts`` is one (before, after) pair per
    trailing axis. The building block of :func:`pad2d` and :func:`pad1d` (no dtype conversion)."""
    mode = _check_mode(mode)
    axes = ("height", "width") if len(amounts) == 2 else ("length",)
    sizes = A.shape[-len(amounts):]
    for axis_name, (before, after), size in zip(axes, amounts, sizes, strict=True):
        biggest = max(before, after)
        if mode == "reflect" and biggest >= size:
            raise ValueError(f"reflect padding of {biggest} needs an input larger than {biggest} "
                             f"along the {axis_name}, got {size}; use less padding or "
                             f"padding_mode='replicate' or 'zeros'")
        if mode == "circular" and biggest > size:
            raise ValueError(f"circular padding of {biggest} would wrap around the {axis_name} "
                             f"({size}) more than once; use at most {size} or another "
                             f"padding_mode")
    if not any(before or after for before, after in amounts):
        return A
    if mode == "zeros":  # np.pad does the same, but with ~20 µs of overhead per call
        P = np.zeros(A.shape[:-len(amounts)] + tuple(
            n + before + after for n, (before, after) in zip(sizes, amounts, strict=True)),
            dtype=A.dtype)
        P[(...,) + tuple(slice(before, before + n)
                         for n, (before, _) in zip(sizes, amounts, strict=True))] = A
        return P
    width = [(0, 0)] * (A.ndim - len(amounts)) + [tuple(p) for p in amounts]
    return np.pad(A, width, mode=_NUMPY_MODE[mode])


def _fresh(P, A):
    # with zero padding pad_array hands back its input; the caller must get its own array
    return P.copy() if P is A else P


def pad2d(X, padding, mode="zeros"):
    """Pad the last two axes of ``X`` as ``torch.nn.functional.pad`` does.

    X: array or tensor of shape (..., H, W), e.g. (H, W) or (N, C, H, W).
    padding: int p, pair (ph, pw), or (top, bottom, left, right).
    mode: 'zeros', 'reflect' (each amount < that size), 'replicate' or 'circular'
        (each amount <= that size).

    Returns the same kind as X, shape (..., H + top + bottom, W + left + right).
    Integers are returned as floats (see the dtype policy); the input is never modified.
    """
    A = as_float_array(X, "input X", ndim=range(2, 8), shape_hint="(..., H, W)")
    if isinstance(padding, str):
        raise ValueError(f"pad2d needs explicit amounts, got {padding!r}; turn a string into "
                         f"amounts with resolve_padding2d(padding, kernel_hw)")
    if isinstance(padding, (list, tuple)) and len(padding) == 4:
        t, b, l, r = check_nonnegative_pair(padding, "padding", 4)
    else:
        ph, pw = check_nonnegative_pair(padding, "padding", 2)
        t, b, l, r = ph, ph, pw, pw
    return output_like(_fresh(pad_array(A, ((t, b), (l, r)), mode), A), X)


def pad1d(x, padding, mode="zeros"):
    """Pad the last axis of ``x`` as ``torch.nn.functional.pad`` does.

    x: array or tensor of shape (..., L); padding: int p or (left, right); mode as :func:`pad2d`.

    Returns the same kind as x, shape (..., L + left + right).
    """
    A = as_float_array(x, "input x", ndim=range(1, 8), shape_hint="(..., L)")
    if isinstance(padding, str):
        raise ValueError(f"pad1d needs explicit amounts, got {padding!r}; turn a string into "
                         f"amounts with resolve_padding1d(padding, k)")
    if isinstance(padding, (list, tuple)):
        left, right = check_nonnegative_pair(padding, "padding", 2)
    else:
        (left,) = check_nonnegative_pair(padding, "padding", 1)
        right = left
    return output_like(_fresh(pad_array(A, ((left, right),), mode), A), x)


__all__ = ["PADDING_MODES", "pad1d", "pad2d", "pad_array", "resolve_padding1d",
           "resolve_padding2d"]
