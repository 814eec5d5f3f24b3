"""The float64 numpy arithmetic every mistake is computed with, independent of the rest of
convlib: a bug in the reference library cannot hide the same bug in a student's answer."""

import numpy as np

__all__ = ["as_float64", "correlate_valid"]


def as_float64(x):
    """float64 numpy copy of an array or a tensor (detached, on the CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=float)


def correlate_valid(x, k):
    """Valid cross-correlation in float64 numpy, any number of dimensions."""
    x, k = as_float64(x), as_float64(k)
    if any(kn > xn for kn, xn in zip(k.shape, x.shape, strict=True)):
        return None
    windows = np.lib.stride_tricks.sliding_window_view(x, k.shape)
    axes = tuple(range(x.ndim, 2 * x.ndim))
    return np.tensordot(windows, k, axes=(axes, tuple(range(k.ndim))))
