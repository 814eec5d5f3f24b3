"""The geometry of the sliding window: where the kernel sits at each output position, which
cells are padding, and which padded rows and columns no window reaches.

Every number comes from convlib's own functions (``correlate2d``, ``pad2d``,
``resolve_padding2d``, ``output_shape``, ``stride_leftover``), so a picture drawn from it (the
explorer widget, the animations, ``figures.show_window_step``) can never drift from the code.
Nothing here draws.

Public names and signatures:

- ``window_steps(X, K, stride=1, padding=0, dilation=1, padding_mode="zeros") -> WindowSteps``.
- ``WindowSteps``: ``X`` (H, W), ``K`` (kH, kW), ``padded`` (H + top + bottom, W + left +
  right), ``kinds`` (same shape: ``'input'``, ``'padding'`` or ``'inserted'``), ``pads`` (top,
  bottom, left, right), ``Y`` (H_out, W_out), ``stride`` and ``dilation`` (pairs), ``leftover``
  ((rows, cols) the floor of the output-size formula drops), ``labels`` (captions to draw);
  ``out_shape``, ``n_positions``, ``position(p) -> (i, j)``, ``window_cells(p) -> (rows, cols)``,
  ``dropped_rows``, ``dropped_cols`` (after the last window: the floor drops them),
  ``skipped_rows``, ``skipped_cols`` (between windows: the stride jumps past them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .conv import correlate2d
from .padding import pad2d, resolve_padding2d
from .shapes import output_shape, stride_leftover
from .validate import as_float_array, check_positive_pair

__all__ = ["WindowSteps", "window_steps"]


@dataclass
class WindowSteps:
    """Everything a picture of the sliding window needs; all numbers come from convlib.

    X: input (H, W); K: kernel (kH, kW) as used on the grid; padded: the grid the window slides
    over, shape (H + top + bottom, W + left + right); kinds: same shape, cell kind strings
    ('input', 'padding', 'inserted'); pads: (top, bottom, left, right); Y: the full output
    (H_out, W_out); stride, dilation: (sh, sw), (dh, dw); leftover: (rows, cols) of the padded
    grid that no window reaches (the floor in the output-size formula drops them).
    """

    X: np.ndarray
    K: np.ndarray
    padded: np.ndarray
    kinds: np.ndarray
    pads: tuple
    Y: np.ndarray
    stride: tuple
    dilation: tuple
    leftover: tuple
    labels: dict = field(default_factory=dict)

    @property
    def out_shape(self):
        return self.Y.shape

    @property
    def n_positions(self):
        return int(self.Y.size)

    def position(self, p):
        """(i, j) of output position p (flat row-major index or a pair)."""
        if isinstance(p, (tuple, list)):
            i, j = (int(v) for v in p)
        else:
            i, j = divmod(int(p), self.Y.shape[1])
        if not (0 <= i < self.Y.shape[0] and 0 <= j < self.Y.shape[1]):
            raise ValueError(f"position {p} is outside the output {self.Y.shape[0]}x"
                             f"{self.Y.shape[1]}")
        return i, j

    def window_cells(self, p):
        """Row and column indices (into ``padded``) the kernel taps touch at position p:
        rows i·S + D·a for a in 0..kH−1, columns j·S + D·b for b in 0..kW−1."""
        i, j = self.position(p)
        (sh, sw), (dh, dw) = self.stride, self.dilation
        kh, kw = self.K.shape
        return i * sh + dh * np.arange(kh), j * sw + dw * np.arange(kw)

    @property
    def skipped_rows(self):
        """Padded rows before the last window's end that no kernel tap reads: the stride jumps
        past them (S > D(kH − 1) + 1) or stride and dilation together leave them out."""
        return _skipped(self.Y.shape[0], self.K.shape[0], self.stride[0], self.dilation[0])

    @property
    def skipped_cols(self):
        """Padded columns before the last window's end that no kernel tap reads."""
        return _skipped(self.Y.shape[1], self.K.shape[1], self.stride[1], self.dilation[1])

    @property
    def dropped_rows(self):
        n = self.padded.shape[0]
        return list(range(n - self.leftover[0], n))

    @property
    def dropped_cols(self):
        n = self.padded.shape[1]
        return list(range(n - self.leftover[1], n))


def _skipped(n_out, k, stride, dilation):
    read = {i * stride + a * dilation for i in range(n_out) for a in range(k)}
    return [r for r in range(max(read) + 1) if r not in read]


def window_steps(X, K, stride=1, padding=0, dilation=1, padding_mode="zeros"):
    """Geometry and numbers of the sliding window of ``correlate2d(X, K, ...)``.

    X: (H, W); K: (kH, kW); stride, dilation: int or pair; padding: as ``correlate2d``.
    Returns a :class:`WindowSteps` whose ``Y`` has shape (H_out, W_out) with
    H_out = floor((H + top + bottom − D(kH − 1) − 1) / S) + 1 (the same for W).
    Raises ValueError (from convlib) when the kernel does not fit.
    """
    X = as_float_array(X, "X", ndim=2, shape_hint="(H, W)").astype(float)
    K = as_float_array(K, "K", ndim=2, shape_hint="(kH, kW)").astype(float)
    stride = check_positive_pair(stride, "stride")
    dilation = check_positive_pair(dilation, "dilation")
    pads = resolve_padding2d(padding, K.shape, dilation=dilation, stride=stride)
    output_shape(X.shape, K.shape, stride, pads, dilation)  # the friendly error if it cannot fit
    padded = np.asarray(pad2d(X, pads, mode=padding_mode))
    Y = np.asarray(correlate2d(X, K, stride=stride, padding=pads, dilation=dilation,
                               padding_mode=padding_mode))
    kinds = np.full(padded.shape, "padding", dtype=object)
    top, _, left, _ = pads
    kinds[top:top + X.shape[0], left:left + X.shape[1]] = "input"
    leftover = (stride_leftover(X.shape[0], K.shape[0], stride[0], pads[:2], dilation[0]),
                stride_leftover(X.shape[1], K.shape[1], stride[1], pads[2:], dilation[1]))
    return WindowSteps(X, K, padded, kinds, tuple(pads), Y, stride, dilation, leftover)
