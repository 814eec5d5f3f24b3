"""The mistakes of notebooks 01 to 06: valid cross-correlation (01, 02), stride and padding
(03), channels (04), correlation vs convolution (05), going further (06).

See ``convlib.mistake_library`` for how a test cell uses them.
"""

import numpy as np

from ..mistakes import CheckFailed
from ..validate import as_int_tuple
from .oracle import as_float64, correlate_valid

__all__ = ["conv1d_mistakes", "conv2d_mistakes"]


# -- 01 and 02: valid cross-correlation ---------------------------------------------------------

def _same_pad(x, k):
    x, k = as_float64(x), as_float64(k)
    pads = [((n - 1) // 2, n - 1 - (n - 1) // 2) for n in k.shape]
    return correlate_valid(np.pad(x, pads), k)


def _full_pad(x, k):
    x, k = as_float64(x), as_float64(k)
    return correlate_valid(np.pad(x, [(n - 1, n - 1) for n in k.shape]), k)


def _flipped(x, k):
    k = as_float64(k)
    return correlate_valid(x, k[(slice(None, None, -1),) * k.ndim])


def _mean(x, k):
    out = correlate_valid(x, k)
    return None if out is None else out / as_float64(k).size


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
        "kernel_transposed": lambda x, k: correlate_valid(x, as_float64(k).T),
        "padding_added": _padded,
        "mean_not_sum": _mean,
    }


# -- 03 stride and padding ----------------------------------------------------------------------
# The output-size function and the shape predictions are checked on plain numbers: the mistakes
# give numbers (tuples), not functions. conv2d_strided is checked with check_function.

__all__ += ["check_output_size", "check_predicted_shapes", "conv2d_strided_mistakes",
            "conv2d_strided_reference", "output_size_mistakes", "predicted_shape_mistakes"]


def output_size_mistakes(n, f, stride=1, padding=0, dilation=1):
    """What the usual slips of O = floor((N - F' + 2P) / S) + 1 give along one axis (F' =
    D(F - 1) + 1): ``{code: value}`` (a float where the slip keeps the fraction; None where the
    slip does not apply). Where two slips give the same value the first is named."""
    span = n - (dilation * (f - 1) + 1)
    return {
        "no_floor": (span + 2 * padding) / stride + 1,
        "rounded_up": -(-(span + 2 * padding) // stride) + 1,
        "rounded_to_nearest": round((span + 2 * padding) / stride + 1),  # x.5 to even
        "stride_ignored": span + 2 * padding + 1 if stride != 1 else None,
        "padding_ignored": span // stride + 1 if padding else None,
        "padding_once": (span + padding) // stride + 1,
        "no_plus_one": (span + 2 * padding) // stride,
        "stride_applied_to_all": (span + 2 * padding + 1) // stride,
        "dilation_ignored": (n - f + 2 * padding) // stride + 1 if dilation != 1 else None,
    }


# (n, f, stride, padding) on which the slips of output_size_mistakes give different numbers:
# fractions below, at and above .5, padding with and without a stride
_OUTPUT_SIZE_PROBES = [(5, 3, 1, 0), (6, 3, 2, 0), (8, 3, 3, 0), (7, 2, 3, 1), (10, 4, 3, 1),
                       (9, 2, 4, 2), (11, 3, 2, 2), (13, 5, 1, 2), (12, 5, 3, 1)]


def _slips_followed(fn, args):
    """The slips of ``output_size_mistakes(*args)`` that ``fn`` makes on ``args`` AND on every
    probe: one wrong number can equal a slip by chance ((n + f + 2p) // s - 1 is the
    rounded-up value on N=6, F=3, S=2), a function that follows the slip everywhere cannot."""
    answers = {}

    def answer(probe):
        if probe not in answers:
            try:
                answers[probe] = fn(*probe)
            except Exception:  # noqa: BLE001  (a function that fails here follows no slip)
                answers[probe] = None
        return answers[probe]

    def same(got, slip):
        try:
            return got is not None and float(got) == float(slip)
        except (TypeError, ValueError):
            return False

    followed = {}
    for code, value in output_size_mistakes(*args).items():
        if value is None or not same(answer(tuple(args)), value):
            continue
        if all(same(answer(probe), output_size_mistakes(*probe)[code])
               for probe in _OUTPUT_SIZE_PROBES if output_size_mistakes(*probe)[code] is not None):
            followed[code] = value
    return followed


def check_output_size(fn, cases, *, name="output_size"):
    """``fn(n, f, stride, padding)`` against ``convlib.shapes.output_size`` on each ``(label,
    args)`` case: the value (the expected one shown; a slip is named only if ``fn`` makes it on
    other inputs too), then that it is an int."""
    from .. import checks
    from ..shapes import output_size

    for label, args in cases:
        try:
            got = fn(*args)
        except Exception:  # noqa: BLE001  (check_function below reports what was raised)
            got = None
        if got is not None:
            checks.check_value(got, output_size(*args), case=label, name=name, reveal=True,
                               mistakes=_slips_followed(fn, args))
        checks.check_function(fn, [(label, args)], output_size, name=name, returns="number")
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            raise checks.CheckFailed(
                f"{name} on {label}: the value is right but it is {type(got).__name__}, not an "
                "int. Use // (floor division) so the result is a whole number you can pass to "
                "range() or np.zeros().", mistake="wrong_type", case=label)


def predicted_shape_mistakes(hw, kernel_hw, stride=1, padding=0, dilation=1):
    """What the usual slips give for the (H_out, W_out) of one layer: ``{code: (h, w)}``."""
    per_axis = [output_size_mistakes(n, f, stride, padding, dilation)
                for n, f in zip(hw, kernel_hw, strict=True)]
    out = {code: tuple(axis[code] for axis in per_axis) for code in per_axis[0]
           if code not in ("no_plus_one", "stride_applied_to_all")}
    right = tuple((n - (dilation * (f - 1) + 1) + 2 * padding) // stride + 1
                  for n, f in zip(hw, kernel_hw, strict=True))
    out["transposed"] = right[::-1]
    return {code: None if None in v else v for code, v in out.items()}


def _entry(answers, key, name):
    """``answers[key]`` of a dict answer, one layer per key; a missing entry fails the check."""
    try:
        return answers[key]
    except (KeyError, TypeError, IndexError):
        raise CheckFailed(f'{name} has no entry "{key}": keep the dict with all keys.',
                          mistake="wrong_type", case=f'layer "{key}"') from None


def check_predicted_shapes(predicted, layers, *, name="predicted_shapes"):
    """Each ``predicted[key]`` against the shape torch gives for ``layers[key] = (input (H, W),
    kernel (kH, kW), stride, padding, dilation)``. The numbers are what is asked: a list or an
    array is taken as a tuple, and 24.0 counts as 24 (accepted rather than refused: a shape
    written as [24, 24] is not a wrong prediction)."""
    import torch
    import torch.nn.functional as F

    from .. import checks

    for key, (hw, khw, s, p, d) in layers.items():
        expected = tuple(F.conv2d(torch.zeros(1, 1, *hw), torch.zeros(1, 1, *khw), stride=s,
                                  padding=p, dilation=d).shape[-2:])
        got = _entry(predicted, key, name)
        checks.check_value(tuple(got) if isinstance(got, (list, np.ndarray)) else got, expected,
                           case=f'layer "{key}"', name=name,
                           mistakes=predicted_shape_mistakes(hw, khw, s, p, d))


def conv2d_strided_reference(image, kernel, stride=1, padding=0):
    """torch's cross-correlation with stride and zero padding, in float64: the oracle."""
    import torch
    import torch.nn.functional as F

    X = torch.as_tensor(as_float64(image))[None, None]
    K = torch.as_tensor(as_float64(kernel))[None, None]
    return F.conv2d(X, K, stride=as_int_tuple(stride, "stride"),
                    padding=as_int_tuple(padding, "padding"))[0, 0].numpy()


def _strided(x, k, stride=1, padding=0):
    """Zero-padded, strided cross-correlation in float64 numpy (private oracle): the valid
    output at stride 1, every stride-th row and column kept."""
    (ph, pw), (sh, sw) = as_int_tuple(padding, "padding"), as_int_tuple(stride, "stride")
    out = correlate_valid(np.pad(as_float64(x), ((ph, ph), (pw, pw))), k)
    return None if out is None else out[::sh, ::sw]


def _swapped(pair, name):
    """A stride or padding with its (rows, columns) swapped."""
    return as_int_tuple(pair, name)[::-1]


def _window_not_strided(x, k, stride=1, padding=0):
    """The right number of outputs, but output (i, j) reads the window at (i, j)."""
    full, right = _strided(x, k, 1, padding), _strided(x, k, stride, padding)
    return None if right is None else full[:right.shape[0], :right.shape[1]]


def _stride_ignored(x, k, stride=1, padding=0):
    """Stride 1 in the size and in the slices: the padded stride-1 result."""
    return None if as_int_tuple(stride, "stride") == (1, 1) else _strided(x, k, 1, padding)


def _padded_one_side(x, k, stride=1, padding=0):
    """The padding put on one side only: P (or all 2P) rows above or below, columns left or
    right, then slid at the stride."""
    (ph, pw), (sh, sw) = as_int_tuple(padding, "padding"), as_int_tuple(stride, "stride")
    if (ph, pw) == (0, 0):
        return None
    outs = []
    for rows, cols in (((ph, 0), (pw, 0)), ((0, ph), (0, pw)), ((2 * ph, 0), (2 * pw, 0)),
                       ((0, 2 * ph), (0, 2 * pw))):
        out = correlate_valid(np.pad(as_float64(x), (rows, cols)), k)
        outs.append(None if out is None else out[::sh, ::sw])
    return outs


def _rounded_up(x, k, stride=1, padding=0):
    """The output size rounded up: one more window where the stride does not divide, reading
    zeros past the end of the padded image."""
    (ph, pw), (sh, sw) = as_int_tuple(padding, "padding"), as_int_tuple(stride, "stride")
    x, k = as_float64(x), as_float64(k)
    xp = np.pad(x, ((ph, ph + sh), (pw, pw + sw)))
    rows = -(-(x.shape[0] + 2 * ph - k.shape[0]) // sh) + 1
    cols = -(-(x.shape[1] + 2 * pw - k.shape[1]) // sw) + 1
    out = correlate_valid(xp, k)
    return None if out is None else out[::sh, ::sw][:rows, :cols]


def conv2d_strided_mistakes():
    """Candidate wrong answers for ``fn(image, kernel, stride=1, padding=0)``. An output of a
    wrong shape is named by the first of these with that shape (the stride-1 size, the size
    without padding, ...), so each size slip gets its own hint."""
    return {
        "kernel_flipped": lambda x, k, s=1, p=0: _strided(x, as_float64(k)[::-1, ::-1], s, p),
        "window_not_strided": _window_not_strided,
        "stride_ignored": (_stride_ignored,
                           "Your output is what stride 1 gives: use the stride both for the "
                           "size, H_out = (H + 2*ph - kH) // sh + 1, and in the slice, where "
                           "window (i, j) starts at row i*sh, column j*sw."),
        "stride_pair_swapped": lambda x, k, s=1, p=0: _strided(x, k, _swapped(s, "stride"), p),
        "padding_pair_swapped": lambda x, k, s=1, p=0: _strided(x, k, s, _swapped(p, "padding")),
        "padding_ignored": (lambda x, k, s=1, p=0: _strided(x, k, s, 0),
                            "Your output ignores the padding: add ph rows of zeros above AND "
                            "below the image and pw columns left AND right before sliding."),
        "padding_once": (_padded_one_side,
                         "Your image is padded on one side only: add ph rows of zeros above "
                         "AND ph below, pw columns on the left AND pw on the right "
                         "(np.pad(X, ((ph, ph), (pw, pw))))."),
        "rounded_up": (_rounded_up,
                       "Your output has one window too many where the stride does not divide: "
                       "the output size is rounded DOWN, H_out = (H + 2*ph - kH) // sh + 1 "
                       "(floor division), because a window that would stick out of the padded "
                       "image is not a position."),
        "kernel_transposed": lambda x, k, s=1, p=0: _strided(x, as_float64(k).T, s, p),
    }


# -- 04 channels --------------------------------------------------------------------------------
# conv2d_multi takes one image (C_in, H, W) or a batch (N, C_in, H, W), a weight
# (C_out, C_in, kH, kW) and an optional bias (C_out,).

__all__ += ["check_layer_params", "conv2d_multi_mistakes", "conv2d_multi_reference",
            "layer_param_mistakes"]


def conv2d_multi_reference(x, weight, bias=None):
    """torch.nn.functional.conv2d in float64 for one image or a batch: the oracle."""
    import torch
    import torch.nn.functional as F

    x = torch.as_tensor(as_float64(x))
    w = torch.as_tensor(as_float64(weight))
    b = None if bias is None else torch.as_tensor(as_float64(bias))
    y = F.conv2d(x[None] if x.ndim == 3 else x, w, b).numpy()
    return y[0] if x.ndim == 3 else y


def _multi(x, w, b=None):
    """Multi-channel valid cross-correlation in float64 numpy (private oracle); None when the
    shapes do not fit together."""
    x, w = as_float64(x), as_float64(w)
    if x.ndim not in (3, 4) or w.ndim != 4 or x.shape[-3] != w.shape[1] \
            or w.shape[2] > x.shape[-2] or w.shape[3] > x.shape[-1]:
        return None
    windows = np.lib.stride_tricks.sliding_window_view(x, w.shape[2:], axis=(-2, -1))
    # windows: (..., C_in, H_out, W_out, kH, kW); sum over C_in, kH, kW for each output channel
    y = np.einsum("...cijab,ocab->...oij", windows, w)
    return y if b is None else y + as_float64(b).reshape(-1, 1, 1)


def _bias_or_zero(b, w):
    return np.zeros(as_float64(w).shape[0]) if b is None else as_float64(b)


def _last_channel_only(x, w, b=None):
    return _multi(as_float64(x)[..., -1:, :, :], as_float64(w)[:, -1:], b)


def _channels_not_summed(x, w, b=None):
    w = as_float64(w)
    parts = [_multi(as_float64(x)[..., c:c + 1, :, :], w[:, c:c + 1], b) for c in range(w.shape[1])]
    return None if any(p is None for p in parts) else np.stack(parts, axis=-3)


def _bias_per_channel(x, w, b=None):
    y = _multi(x, w, b)
    extra = (as_float64(w).shape[1] - 1) * _bias_or_zero(b, w)
    return None if y is None else y + extra.reshape(-1, 1, 1)


def _channels_averaged(x, w, b=None):
    y = _multi(x, w)
    return None if y is None else y / as_float64(w).shape[1] + _bias_or_zero(b, w).reshape(-1, 1, 1)


def conv2d_multi_mistakes():
    """Candidate wrong answers for ``fn(x, weight, bias=None)`` = multi-channel valid
    cross-correlation (one image or a batch)."""
    return {
        "weight_axes_swapped": lambda x, w, b=None: _multi(x, np.swapaxes(as_float64(w), 0, 1), b),
        "kernel_transposed": lambda x, w, b=None: _multi(x, np.swapaxes(as_float64(w), 2, 3), b),
        "kernel_flipped": lambda x, w, b=None: _multi(x, as_float64(w)[:, :, ::-1, ::-1], b),
        "bias_missing": lambda x, w, b=None: None if b is None else _multi(x, w),
        "bias_added_per_channel": _bias_per_channel,
        "last_channel_only": _last_channel_only,
        "channels_not_summed": _channels_not_summed,
        "channels_averaged": _channels_averaged,
        "batch_dropped": lambda x, w, b=None: _multi(as_float64(x)[0], w, b)
        if as_float64(x).ndim == 4 else None,
    }


def layer_param_mistakes(c_in, c_out, k, bias=True, groups=1):
    """What the usual slips of K * K * (C_in / g) * C_out (+ C_out) give: ``{code: count}``."""
    weights = k * k * (c_in // groups) * c_out
    biases = c_out if bias else 0
    return {
        "bias_forgotten": weights if bias else None,
        "bias_counted": weights + c_out if not bias else None,
        "groups_ignored": k * k * c_in * c_out + biases if groups != 1 else None,
        "in_channels_ignored": k * k * c_out + biases,
        "kernel_not_squared": k * (c_in // groups) * c_out + biases,
    }


def check_layer_params(answers, layers, *, name="layer_params"):
    """Each ``answers[key]`` against the parameters torch creates for ``nn.Conv2d(c_in, c_out,
    k, bias=bias, groups=groups)``, ``layers[key] = (c_in, c_out, k, bias, groups)``."""
    import torch.nn as nn

    from .. import checks

    for key, (c_in, c_out, k, bias, groups) in layers.items():
        layer = nn.Conv2d(c_in, c_out, k, bias=bias, groups=groups)
        expected = sum(p.numel() for p in layer.parameters())   # count what torch made
        got = _entry(answers, key, name)
        checks.check_value(got, expected, case=f'layer "{key}"', name=name,
                           mistakes=layer_param_mistakes(c_in, c_out, k, bias, groups))


# -- 05 correlation vs convolution ---------------------------------------------------------------
# convolve2d(image, kernel) is true convolution, 'valid': the kernel flipped on both axes.

__all__ += ["convolve2d_mistakes"]


def _correlate_flipped(x, k, rows, cols):
    """Valid cross-correlation with the kernel reversed along the chosen axes."""
    k = as_float64(k)
    return correlate_valid(x, k[::-1 if rows else 1, ::-1 if cols else 1])


def convolve2d_mistakes():
    """Candidate wrong answers for ``convolve2d(image, kernel)`` (the transposed kernel with an
    explanation of its own: here the answer is flipped, not transposed)."""
    return {
        "kernel_not_flipped": lambda X, K: _correlate_flipped(X, K, False, False),
        "flipped_one_axis": lambda X, K: [_correlate_flipped(X, K, True, False),
                                          _correlate_flipped(X, K, False, True)],
        "kernel_transposed": (
            lambda X, K: correlate_valid(X, as_float64(K).T),
            "The kernel was transposed (K.T) instead of flipped: a transpose swaps rows and "
            "columns, a flip turns the kernel by 180 degrees."),
    }


# -- 06 going further ---------------------------------------------------------------------------
# receptive_field(layers) returns a number (check_receptive_field adds what an empty stack
# means). im2col_conv2d is a valid cross-correlation.

__all__ += ["check_receptive_field", "im2col_conv2d_mistakes", "receptive_field_mistakes"]


def _strides_ignored(layers):
    return 1 + sum(k - 1 for k, _ in layers)


def _own_stride_used(layers):
    field, jump = 1, 1
    for k, s in layers:
        jump *= s
        field += (k - 1) * jump
    return field


def _kernels_added(layers):
    field, jump = 0, 1
    for k, s in layers:
        field += k * jump
        jump *= s
    return field


def receptive_field_mistakes():
    """Candidate wrong answers for ``fn(layers)``, layers a list of (kernel, stride) pairs."""
    return {"strides_ignored": _strides_ignored, "own_stride_used": _own_stride_used,
            "kernels_added": _kernels_added}


def check_receptive_field(fn, cases, *, name="receptive_field"):
    """``fn(layers)`` against ``convlib.shapes.receptive_field`` on each ``(label, (layers,))``
    case; a wrong number is matched against ``receptive_field_mistakes``."""
    from .. import checks
    from ..shapes import receptive_field

    for label, args in cases:
        empty = not args[0]  # no layer: no slip to name, only where the field starts
        try:
            checks.check_function(fn, [(label, args)], receptive_field, name=name,
                                  returns="number",
                                  mistakes=None if empty else receptive_field_mistakes())
        except checks.CheckFailed as err:
            if err.mistake == "wrong_values" and empty:
                raise checks.CheckFailed(f"{err} With no layer, a pixel sees only itself: the "
                                         "field starts at 1.", mistake="wrong_values",
                                         case=label) from None
            raise


def _patches_in_column_order(x, k):
    """The right windows, written into the output in column-major order."""
    y = correlate_valid(x, k)
    return None if y is None else y.ravel().reshape(y.shape[1], y.shape[0]).T


def im2col_conv2d_mistakes():
    """Candidate wrong answers for ``fn(image, kernel)`` built as patch matrix @ kernel: those
    of conv2d and the patch matrix's rows in the wrong order."""
    return {**conv2d_mistakes(), "patches_in_column_order": _patches_in_column_order}
