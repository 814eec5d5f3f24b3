"""What the usual mistakes compute: for each graded exercise, the wrong answers to try.

A test cell passes ``mistakes=conv2d_mistakes()`` (or another exercise's dictionary) to
``convlib.checks.check_function``; when the student's output differs from the reference, each
function here is called on the same inputs and the first whose output the student's equals names
the mistake (its code is explained in ``convlib.mistakes``). Each function takes the exercise's
arguments and returns what the mistake produces: an array, a list of alternatives, or ``None``
where the mistake is not defined on that input.

Every value is computed in float64 numpy, independently of the rest of convlib (a bug in the
reference library cannot hide the same bug in a student's answer). One section per notebook.
"""

import numpy as np

__all__ = ["conv1d_mistakes", "conv2d_mistakes"]


# -- 01 and 02: valid cross-correlation ---------------------------------------------------------

def _np(x):
    """float64 numpy copy of an array or a tensor (detached, on the CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=float)


def _correlate_valid(x, k):
    """Valid cross-correlation in float64 numpy, any number of dimensions (private oracle)."""
    x, k = _np(x), _np(k)
    if any(kn > xn for kn, xn in zip(k.shape, x.shape, strict=True)):
        return None
    windows = np.lib.stride_tricks.sliding_window_view(x, k.shape)
    axes = tuple(range(x.ndim, 2 * x.ndim))
    return np.tensordot(windows, k, axes=(axes, tuple(range(k.ndim))))


def _same_pad(x, k):
    x, k = _np(x), _np(k)
    pads = [((n - 1) // 2, n - 1 - (n - 1) // 2) for n in k.shape]
    return _correlate_valid(np.pad(x, pads), k)


def _full_pad(x, k):
    x, k = _np(x), _np(k)
    return _correlate_valid(np.pad(x, [(n - 1, n - 1) for n in k.shape]), k)


def _flipped(x, k):
    k = _np(k)
    return _correlate_valid(x, k[(slice(None, None, -1),) * k.ndim])


def _mean(x, k):
    out = _correlate_valid(x, k)
    return None if out is None else out / _np(k).size


def _padded(x, k):
    """Both padding mistakes: 'same' (output as large as the input) and 'full'."""
    return [_same_pad(x, k), _full_pad(x, k)]


def conv1d_mistakes():
    """Candidate wrong answers for ``fn(x, k)`` = valid 1-D cross-correlation, stride 1."""
    return {
        "kernel_flipped": _flipped,
        "padding_added": _padded,
        "mean_not_sum": _mean,
    }


def conv2d_mistakes():
    """Candidate wrong answers for ``fn(image, kernel)`` = valid 2-D cross-correlation."""
    return {
        "kernel_flipped": _flipped,
        "kernel_transposed": lambda x, k: _correlate_valid(x, _np(k).T),
        "padding_added": _padded,
        "mean_not_sum": _mean,
    }


# -- 03 stride and padding ----------------------------------------------------------------------


# -- 04 channels --------------------------------------------------------------------------------


# -- 06 going further ---------------------------------------------------------------------------


# -- 07 backward --------------------------------------------------------------------------------


# -- 08 pooling ---------------------------------------------------------------------------------
