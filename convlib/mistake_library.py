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

from .mistakes import CheckFailed
from .validate import as_int_tuple

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
# The output-size function and the shape predictions are checked on plain numbers: the mistakes
# give numbers (tuples), not functions. conv2d_strided is checked with check_function.

__all__ += ["check_output_size", "check_predicted_shapes", "conv2d_strided_mistakes",
            "conv2d_strided_reference", "output_size_mistakes", "predicted_shape_mistakes"]


def output_size_mistakes(n, f, stride=1, padding=0, dilation=1):
    """What the usual slips of O = floor((N - F' + 2P) / S) + 1 give along one axis (F' =
    D(F - 1) + 1): ``{code: value}`` (a float where the slip keeps the fraction; None where the
    slip does not apply)."""
    span = n - (dilation * (f - 1) + 1)
    return {
        "no_floor": (span + 2 * padding) / stride + 1,
        "rounded_up": -(-(span + 2 * padding) // stride) + 1,
        "padding_once": (span + padding) // stride + 1,
        "no_plus_one": (span + 2 * padding) // stride,
        "stride_applied_to_all": (span + 2 * padding + 1) // stride,
        "dilation_ignored": (n - f + 2 * padding) // stride + 1 if dilation != 1 else None,
    }


def check_output_size(fn, cases, *, name="output_size"):
    """``fn(n, f, stride, padding)`` against ``convlib.shapes.output_size`` on each ``(label,
    args)`` case: the value (the expected one shown, the slip named), then that it is an int."""
    from . import checks
    from .shapes import output_size

    for label, args in cases:
        try:
            got = fn(*args)
        except Exception:  # noqa: BLE001  (check_function below reports what was raised)
            got = None
        if got is not None:
            checks.check_value(got, output_size(*args), case=label, name=name, reveal=True,
                               mistakes=output_size_mistakes(*args))
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
    kernel (kH, kW), stride, padding, dilation)``; a list is taken as a tuple."""
    import torch
    import torch.nn.functional as F

    from . import checks

    for key, (hw, khw, s, p, d) in layers.items():
        expected = tuple(F.conv2d(torch.zeros(1, 1, *hw), torch.zeros(1, 1, *khw), stride=s,
                                  padding=p, dilation=d).shape[-2:])
        got = _entry(predicted, key, name)
        checks.check_value(tuple(got) if isinstance(got, list) else got, expected,
                           case=f'layer "{key}"', name=name,
                           mistakes=predicted_shape_mistakes(hw, khw, s, p, d))


def conv2d_strided_reference(image, kernel, stride=1, padding=0):
    """torch's cross-correlation with stride and zero padding, in float64: the oracle."""
    import torch
    import torch.nn.functional as F

    X = torch.as_tensor(_np(image))[None, None]
    K = torch.as_tensor(_np(kernel))[None, None]
    return F.conv2d(X, K, stride=as_int_tuple(stride, "stride"),
                    padding=as_int_tuple(padding, "padding"))[0, 0].numpy()


def _strided(x, k, stride=1, padding=0):
    """Zero-padded, strided cross-correlation in float64 numpy (private oracle): the valid
    output at stride 1, every stride-th row and column kept."""
    (ph, pw), (sh, sw) = as_int_tuple(padding, "padding"), as_int_tuple(stride, "stride")
    out = _correlate_valid(np.pad(_np(x), ((ph, ph), (pw, pw))), k)
    return None if out is None else out[::sh, ::sw]


def _swapped(pair, name):
    """A stride or padding with its (rows, columns) swapped."""
    return as_int_tuple(pair, name)[::-1]


def _window_not_strided(x, k, stride=1, padding=0):
    """The right number of outputs, but output (i, j) reads the window at (i, j)."""
    full, right = _strided(x, k, 1, padding), _strided(x, k, stride, padding)
    return None if right is None else full[:right.shape[0], :right.shape[1]]


def conv2d_strided_mistakes():
    """Candidate wrong answers for ``fn(image, kernel, stride=1, padding=0)``."""
    return {
        "kernel_flipped": lambda x, k, s=1, p=0: _strided(x, _np(k)[::-1, ::-1], s, p),
        "window_not_strided": _window_not_strided,
        "stride_pair_swapped": lambda x, k, s=1, p=0: _strided(x, k, _swapped(s, "stride"), p),
        "padding_pair_swapped": lambda x, k, s=1, p=0: _strided(x, k, s, _swapped(p, "padding")),
        "padding_ignored": (lambda x, k, s=1, p=0: _strided(x, k, s, 0),
                            "Your output ignores the padding: add ph rows of zeros above AND "
                            "below the image and pw columns left AND right before sliding."),
        "kernel_transposed": lambda x, k, s=1, p=0: _strided(x, _np(k).T, s, p),
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

    x = torch.as_tensor(_np(x))
    w = torch.as_tensor(_np(weight))
    b = None if bias is None else torch.as_tensor(_np(bias))
    y = F.conv2d(x[None] if x.ndim == 3 else x, w, b).numpy()
    return y[0] if x.ndim == 3 else y


def _multi(x, w, b=None):
    """Multi-channel valid cross-correlation in float64 numpy (private oracle); None when the
    shapes do not fit together."""
    x, w = _np(x), _np(w)
    if x.ndim not in (3, 4) or w.ndim != 4 or x.shape[-3] != w.shape[1] \
            or w.shape[2] > x.shape[-2] or w.shape[3] > x.shape[-1]:
        return None
    windows = np.lib.stride_tricks.sliding_window_view(x, w.shape[2:], axis=(-2, -1))
    # windows: (..., C_in, H_out, W_out, kH, kW); sum over C_in, kH, kW for each output channel
    y = np.einsum("...cijab,ocab->...oij", windows, w)
    return y if b is None else y + _np(b).reshape(-1, 1, 1)


def _bias_or_zero(b, w):
    return np.zeros(_np(w).shape[0]) if b is None else _np(b)


def _last_channel_only(x, w, b=None):
    return _multi(_np(x)[..., -1:, :, :], _np(w)[:, -1:], b)


def _channels_not_summed(x, w, b=None):
    w = _np(w)
    parts = [_multi(_np(x)[..., c:c + 1, :, :], w[:, c:c + 1], b) for c in range(w.shape[1])]
    return None if any(p is None for p in parts) else np.stack(parts, axis=-3)


def _bias_per_channel(x, w, b=None):
    y = _multi(x, w, b)
    extra = (_np(w).shape[1] - 1) * _bias_or_zero(b, w)
    return None if y is None else y + extra.reshape(-1, 1, 1)


def _channels_averaged(x, w, b=None):
    y = _multi(x, w)
    return None if y is None else y / _np(w).shape[1] + _bias_or_zero(b, w).reshape(-1, 1, 1)


def conv2d_multi_mistakes():
    """Candidate wrong answers for ``fn(x, weight, bias=None)`` = multi-channel valid
    cross-correlation (one image or a batch)."""
    return {
        "weight_axes_swapped": lambda x, w, b=None: _multi(x, np.swapaxes(_np(w), 0, 1), b),
        "kernel_transposed": lambda x, w, b=None: _multi(x, np.swapaxes(_np(w), 2, 3), b),
        "kernel_flipped": lambda x, w, b=None: _multi(x, _np(w)[:, :, ::-1, ::-1], b),
        "bias_missing": lambda x, w, b=None: None if b is None else _multi(x, w),
        "bias_added_per_channel": _bias_per_channel,
        "last_channel_only": _last_channel_only,
        "channels_not_summed": _channels_not_summed,
        "channels_averaged": _channels_averaged,
        "batch_dropped": lambda x, w, b=None: _multi(_np(x)[0], w, b) if _np(x).ndim == 4
        else None,
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

    from . import checks

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
    k = _np(k)
    return _correlate_valid(x, k[::-1 if rows else 1, ::-1 if cols else 1])


def convolve2d_mistakes():
    """Candidate wrong answers for ``convolve2d(image, kernel)`` (the transposed kernel with an
    explanation of its own: here the answer is flipped, not transposed)."""
    return {
        "kernel_not_flipped": lambda X, K: _correlate_flipped(X, K, False, False),
        "flipped_one_axis": lambda X, K: [_correlate_flipped(X, K, True, False),
                                          _correlate_flipped(X, K, False, True)],
        "kernel_transposed": (
            lambda X, K: _correlate_valid(X, _np(K).T),
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
    from . import checks
    from .shapes import receptive_field

    for label, args in cases:
        try:
            checks.check_function(fn, [(label, args)], receptive_field, name=name,
                                  returns="number", mistakes=receptive_field_mistakes())
        except checks.CheckFailed as err:
            if err.mistake == "wrong_values" and not args[0]:
                raise checks.CheckFailed(f"{err} With no layer, a pixel sees only itself: the "
                                         "field starts at 1.", mistake="wrong_values",
                                         case=label) from None
            raise


def _patches_in_column_order(x, k):
    """The right windows, written into the output in column-major order."""
    y = _correlate_valid(x, k)
    return None if y is None else y.ravel().reshape(y.shape[1], y.shape[0]).T


def im2col_conv2d_mistakes():
    """Candidate wrong answers for ``fn(image, kernel)`` built as patch matrix @ kernel: those
    of conv2d and the patch matrix's rows in the wrong order."""
    return {**conv2d_mistakes(), "patches_in_column_order": _patches_in_column_order}


# -- 07 backward --------------------------------------------------------------------------------
# The backward exercises return three gradients, (dX, dK, db) or (grad_x, grad_weight,
# grad_bias); check_function compares one array, so check_gradients checks each gradient on its
# own: gradient_part(fn, index) is the function giving that one gradient, and
# backward_mistakes(part) / backward_single_mistakes(part) what each mistake makes of it.

__all__ += ["GRADIENT_PARTS", "backward_mistakes",
            "backward_reference", "backward_results", "backward_single_mistakes",
            "backward_single_reference", "check_gradients", "gradient_part",
            "numerical_grad_mistakes", "relative_error_mistakes", "relative_error_reference"]

GRADIENT_PARTS = ("grad_x", "grad_weight", "grad_bias")
_SINGLE_NAMES = ("dX", "dK", "db")


def _three(out, name):
    """The three gradients of a backward pass's result; numbers become 0-d arrays. None is
    handed on as it is (check_function then asks for a `return`)."""

    if out is None:
        return None
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        shown = type(out).__name__ + (f" of length {len(out)}" if isinstance(
            out, (tuple, list)) else "")
        raise CheckFailed(f"{name} returned a {shown}; return the three gradients (input, "
                          "kernel, bias) as one tuple.", mistake="wrong_type")
    return tuple(np.asarray(v) if isinstance(v, (int, float, np.number)) else v for v in out)


def backward_results(fn, args, name):
    """``fn(*args)`` as three gradients, or ``CheckFailed`` (``not_implemented`` for a stub,
    ``wrong_type`` for anything but three gradients): a from-scratch cell's first call."""
    from .from_scratch import not_implemented

    try:
        out = fn(*args)
    except NotImplementedError:
        raise not_implemented(name, case="a first run") from None
    three = _three(out, name)
    if three is None:
        raise CheckFailed(f"{name} returned {'None' if out is None else type(out).__name__}; "
                          "return the three gradients (input, kernel, bias) as one tuple.",
                          mistake="wrong_type", case="a first run")
    return three


def gradient_part(fn, index, name):
    """The function ``(*args) -> fn(*args)[index]``: one of the three gradients."""

    def part(*args):
        out = fn(*args)
        three = _three(out, name)
        return out if three is None else three[index]

    return part


def check_gradients(fn, cases, *, name, single=False):
    """``check_function`` on each gradient of the backward pass ``fn`` in turn, against
    ``backward_reference`` with ``backward_mistakes`` (``single``: ``fn(X, K, dY) -> (dX, dK,
    db)`` against ``backward_single_reference`` with ``backward_single_mistakes``)."""
    from . import checks
    from .validate import copy_input

    reference = backward_single_reference if single else backward_reference
    mistakes_of = backward_single_mistakes if single else backward_mistakes
    for label, args in cases:  # case by case: the first failing input is the one reported
        expected = reference(*[copy_input(a) for a in args])  # once, for its three parts
        for index, part in enumerate(GRADIENT_PARTS):
            shown = _SINGLE_NAMES[index] if single else part
            checks.check_function(gradient_part(fn, index, name), [(label, args)],
                                  lambda *_, value=expected[index]: value,
                                  name=f"{name} ({shown})", returns="numpy",
                                  mistakes=mistakes_of(part))


def _dilate(g, stride):
    """Spread the last two axes out: stride - 1 zeros between neighbouring entries."""
    *lead, h, w = g.shape
    out = np.zeros((*lead, (h - 1) * stride + 1, (w - 1) * stride + 1))
    out[..., ::stride, ::stride] = g
    return out


def _fit(a, hw):
    """`a` cropped or zero-padded on the bottom and right to `hw` on its last two axes (None,
    a mistake that does not apply, stays None)."""
    if a is None:
        return None
    out = np.zeros((*a.shape[:-2], *hw))
    h, w = min(hw[0], a.shape[-2]), min(hw[1], a.shape[-1])
    out[..., :h, :w] = a[..., :h, :w]
    return out


def _grad_x(G, W, stride, *, flip=True, full=True, dilate=True, swap=False):
    """sum over o of the convolution of (dilated) G[n, o] with W[o, c], 'full' or 'valid';
    with ``swap`` W[c, o] instead of W[o, c]. Shape as it comes (not fitted to x)."""
    G, W = _np(G), _np(W)
    if swap:
        if W.shape[0] != W.shape[1]:
            return None
        W = W.transpose(1, 0, 2, 3)
    kh, kw = W.shape[-2:]
    if dilate:
        G = _dilate(G, stride)
    if full:
        G = np.pad(G, ((0, 0), (0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1)))
    K = W[..., ::-1, ::-1] if flip else W
    rows = []
    for n in range(G.shape[0]):
        per_channel = []
        for c in range(W.shape[1]):
            parts = [_correlate_valid(G[n, o], K[o, c]) for o in range(W.shape[0])]
            if any(p is None for p in parts):
                return None
            per_channel.append(sum(parts))
        rows.append(per_channel)
    return np.array(rows)


def _grad_w(X, G, stride, kernel_hw, *, dilate=True, batch="sum"):
    """dL/dW[o, c] = (sum over n of) X[n, c] correlated with (dilated) G[n, o], cropped to the
    kernel. ``batch``: "sum" (right), "first" (image 0 only) or "mean"."""
    X, G = _np(X), _np(G)
    kh, kw = kernel_hw
    if dilate:
        G = _dilate(G, stride)
    per_image = np.array([[[_correlate_valid(X[n, c], G[n, o])[:kh, :kw]
                            for c in range(X.shape[1])] for o in range(G.shape[1])]
                          for n in range(X.shape[0])])
    return {"sum": per_image.sum(axis=0), "first": per_image[0],
            "mean": per_image.mean(axis=0)}[batch]


def _true_grad_x(x, weight, grad_out, stride=1):
    return _fit(_grad_x(grad_out, weight, stride), _np(x).shape[-2:])


def backward_mistakes(part):
    """Wrong answers for one gradient of ``fn(x, weight, grad_out, stride=1)`` (NCHW, valid):
    ``part`` is "grad_x", "grad_weight" or "grad_bias"."""
    def hw(x):
        return _np(x).shape[-2:]

    if part == "grad_x":
        return {
            "grad_flip_forgotten": lambda x, w, g, s=1: _fit(_grad_x(g, w, s, flip=False), hw(x)),
            "grad_valid_not_full": lambda x, w, g, s=1: [_grad_x(g, w, s, full=False),
                                                         _grad_x(g, w, s, full=False, flip=False)],
            "grad_stride_ignored": lambda x, w, g, s=1: [_fit(_grad_x(g, w, s, dilate=False),
                                                              hw(x)),
                                                         _grad_x(g, w, s, dilate=False)],
            "grad_wrong_axis": lambda x, w, g, s=1: _fit(_grad_x(g, w, s, swap=True), hw(x)),
        }
    if part == "grad_weight":
        def kernel(w):
            return _np(w).shape[-2:]

        return {
            "grad_flip_added": lambda x, w, g, s=1: [
                _grad_w(x, g, s, kernel(w))[..., ::-1, ::-1],
                _grad_w(x, _np(g)[..., ::-1, ::-1], s, kernel(w))],
            "grad_stride_ignored": lambda x, w, g, s=1: _grad_w(x, g, s, kernel(w), dilate=False),
            "grad_batch_not_summed": lambda x, w, g, s=1: [
                _grad_w(x, g, s, kernel(w), batch="first"),
                _grad_w(x, g, s, kernel(w), batch="mean")],
        }
    if part == "grad_bias":
        return {
            "grad_batch_not_summed": lambda x, w, g, s=1: [_np(g)[0].sum(axis=(1, 2)),
                                                           _np(g).sum(axis=(2, 3)).mean(axis=0)],
            "grad_wrong_axis": lambda x, w, g, s=1: [_np(g).sum(axis=(1, 2, 3)),
                                                     _np(g).sum(axis=(2, 3)),
                                                     np.asarray(_np(g).sum())],
        }
    raise ValueError(f"part must be one of {GRADIENT_PARTS}, got {part!r}")


def _as_layer(mistakes):
    """Single-channel mistakes from the NCHW ones: (X, K, dY) as (1, 1, H, W) arrays."""
    def single(f):
        def wrong(X, K, dY):
            out = f(_np(X)[None, None], _np(K)[None, None], _np(dY)[None, None], 1)
            outs = out if isinstance(out, list) else [out]
            return [None if o is None else np.asarray(o).reshape(np.asarray(o).shape[2:])
                    if np.ndim(o) == 4 else np.asarray(o) for o in outs]
        return wrong
    return {code: single(f) for code, f in mistakes.items()}


def backward_single_mistakes(part):
    """Wrong answers for one gradient of ``fn(X, K, dY) -> (dX, dK, db)``: single channel,
    stride 1, valid. ``part`` is "grad_x" (dX), "grad_weight" (dK) or "grad_bias" (db)."""
    if part == "grad_bias":
        return {"mean_not_sum": lambda X, K, dY: np.asarray(_np(dY).mean())}
    mistakes = _as_layer(backward_mistakes(part))
    return {code: f for code, f in mistakes.items()
            if code not in ("grad_stride_ignored", "grad_batch_not_summed", "grad_wrong_axis")}


def backward_reference(x, weight, grad_out, stride=1):
    """(grad_x, grad_weight, grad_bias) in float64 numpy: convlib.conv2d_backward, checked
    against torch autograd on the same inputs (a disagreement is a bug in the reference)."""
    import torch

    from .backward import conv2d_backward

    ours = [np.asarray(g, dtype=float) for g in conv2d_backward(_np(x), _np(weight),
                                                                 _np(grad_out), stride=stride)]
    xt = torch.tensor(_np(x), requires_grad=True)
    wt = torch.tensor(_np(weight), requires_grad=True)
    bt = torch.zeros(wt.shape[0], dtype=torch.float64, requires_grad=True)
    torch.nn.functional.conv2d(xt, wt, bt, stride=stride).backward(torch.tensor(_np(grad_out)))
    for mine, theirs in zip(ours, (xt.grad, wt.grad, bt.grad), strict=True):
        if not np.allclose(mine, theirs.numpy(), rtol=1e-9, atol=1e-9):
            raise RuntimeError("convlib.conv2d_backward disagrees with torch autograd here: a "
                               "bug in the course's reference, not in your answer")
    return tuple(ours)


def backward_single_reference(X, K, dY):
    """(dX, dK, db) of Y = X ⋆ K (single channel, valid) for dL/dY = dY: backward_reference on
    (1, 1, H, W) arrays, db a number."""
    gx, gw, gb = backward_reference(_np(X)[None, None], _np(K)[None, None], _np(dY)[None, None])
    return gx[0, 0], gw[0, 0], float(gb[0])


def _rel(a, b, denominator):
    a, b = _np(a), _np(b)
    d = denominator(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(d == 0, 0.0, np.abs(a - b) / np.where(d == 0, 1.0, d))


def relative_error_reference(a, b):
    """|a - b| / max(|a|, |b|) elementwise in float64, 0 where a and b are both 0."""
    return _rel(a, b, np.maximum)


def relative_error_mistakes():
    """Wrong answers for ``relative_error(a, b)`` = |a - b| / max(|a|, |b|) elementwise, 0 where
    both are 0 (CS231n's relative error)."""
    def zero_division(a, b):
        out = _rel(a, b, np.maximum)
        out[(_np(a) == 0) & (_np(b) == 0)] = np.nan
        return out

    def signed(a, b):
        return _rel(a, b, np.maximum) * np.sign(_np(a) - _np(b))

    return {
        "rel_error_one_sided": lambda a, b: [_rel(a, b, lambda p, q: q),
                                             _rel(a, b, lambda p, q: p)],
        "rel_error_sum_denominator": lambda a, b: _rel(a, b, np.add),
        "rel_error_not_relative": lambda a, b: np.abs(_np(a) - _np(b)),
        "rel_error_signed": signed,
        "rel_error_zero_division": zero_division,
    }


def numerical_grad_mistakes():
    """Wrong answers for ``numerical_grad_x(x, weight, grad_out, stride=1, h=...)``: the centred
    differences of L(x) = sum(conv2d(x, weight, stride) * grad_out)."""
    return {
        "grad_step_not_halved": lambda x, w, g, s=1, h=None: 2 * _true_grad_x(x, w, g, s),
        "grad_all_perturbed": lambda x, w, g, s=1, h=None: np.full(
            _np(x).shape, _true_grad_x(x, w, g, s).sum()),
    }


# -- 08 pooling ---------------------------------------------------------------------------------
# Exercises fn(x, kernel_size, stride=None, padding=0) (forward) and
# fn(x, grad_out, kernel_size, stride=None, padding=0) (backward) on x of shape (N, C, H, W),
# int window, stride and padding; the right answers equal torch.nn.functional's max_pool2d and
# avg_pool2d (zero padding counted in the average) and their autograd gradients.

__all__ += ["pool2d_mistakes", "pool2d_backward_mistakes"]


def _pool_setup(x, kernel_size, stride, padding, fill):
    """(x padded with `fill`, a mask of its real cells, k, s, p, (H_out, W_out)) or None."""
    x = _np(x)
    k, p = int(kernel_size), int(padding)
    s = k if stride is None else int(stride)
    if x.ndim != 4:
        return None
    pads = ((0, 0), (0, 0), (p, p), (p, p))
    xp = np.pad(x, pads, constant_values=fill)
    real = np.pad(np.ones_like(x, dtype=bool), pads, constant_values=False)
    out = tuple((n + 2 * p - k) // s + 1 for n in x.shape[2:])
    return (xp, real, k, s, p, out) if min(out) >= 1 else None


def _pool(x, kernel_size, stride=None, padding=0, *, fill, reduce):
    """Y[:, :, i, j] = reduce(window (N, C, k, k), its real-cell mask) -> (N, C), in loops."""
    setup = _pool_setup(x, kernel_size, stride, padding, fill)
    if setup is None:
        return None
    xp, real, k, s, _, (H_out, W_out) = setup
    Y = np.empty(xp.shape[:2] + (H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            rows, cols = slice(i * s, i * s + k), slice(j * s, j * s + k)
            Y[:, :, i, j] = reduce(xp[:, :, rows, cols], real[:, :, rows, cols])
    return Y


def _pool_grad(x, grad_out, kernel_size, stride=None, padding=0, *, fill, share, step=None,
               add=True):
    """dL/dx when each window (n, c, i, j) hands share(window, real mask, g) to its inputs;
    `step` overrides the stride between windows, add=False overwrites instead of adding."""
    setup = _pool_setup(x, kernel_size, stride, padding, fill)
    G = _np(grad_out)
    if setup is None or G.ndim != 4:
        return None
    xp, real, k, s, p, _ = setup
    s = s if step is None else step
    H, W = _np(x).shape[2:]
    if (G.shape[2] - 1) * s + k > xp.shape[2] or (G.shape[3] - 1) * s + k > xp.shape[3]:
        return None
    grad = np.zeros_like(xp)
    for n, c, i, j in np.ndindex(*G.shape):
        rows, cols = slice(i * s, i * s + k), slice(j * s, j * s + k)
        part = share(xp[n, c, rows, cols], real[n, c, rows, cols], G[n, c, i, j])
        if add:
            grad[n, c, rows, cols] += part
        else:  # `=` where `+=` belongs: the cells this window writes keep only its share
            written = share(xp[n, c, rows, cols], real[n, c, rows, cols], 1.0) != 0
            grad[n, c, rows, cols][written] = part[written]
    return grad[:, :, p:p + H, p:p + W]


def _window_max(window, real):
    return window.max(axis=(-2, -1))


def _window_mean(window, real):
    return window.mean(axis=(-2, -1))


def _one_hot(window, flat_index, g):
    out = np.zeros(window.size)
    out[flat_index] = g
    return out.reshape(window.shape)


def _share_first_max(window, real, g):
    return _one_hot(window, int(np.argmax(window)), g)


def _share_every_tie(window, real, g):
    return np.where(window == window.max(), g, 0.0)


def _share_last_max(window, real, g):
    return _one_hot(window, window.size - 1 - int(np.argmax(window.ravel()[::-1])), g)


def _share_whole_window(window, real, g):
    return np.full(window.shape, g)


def _share_mean(window, real, g):
    return np.full(window.shape, g / window.size)


def _when(condition, value):
    return value if condition else None


def pool2d_mistakes(kind):
    """Candidate wrong answers for ``fn(x, kernel_size, stride=None, padding=0)``, max pooling
    (``kind="max"``) or average pooling (``"avg"``) of x (N, C, H, W)."""
    fill, reduce = (-np.inf, _window_max) if kind == "max" else (0.0, _window_mean)

    def pool(x, k, s=None, p=0, *, fill=fill, reduce=reduce):
        return _pool(x, k, s, p, fill=fill, reduce=reduce)

    mistakes = {
        "pool_stride_one": lambda x, k, s=None, p=0: _when(s is None, pool(x, k, 1, p)),
        "pool_padding_ignored": lambda x, k, s=None, p=0: _when(p > 0, pool(x, k, s, 0)),
    }
    if kind == "max":
        mistakes["pool_padded_with_zeros"] = lambda x, k, s=None, p=0: _when(
            p > 0, pool(x, k, s, p, fill=0.0))
    else:
        mistakes["avg_padding_excluded"] = lambda x, k, s=None, p=0: _when(p > 0, pool(
            x, k, s, p, reduce=lambda w, real: (w * real).sum(axis=(-2, -1)) / real.sum(
                axis=(-2, -1))))
        mistakes["sum_not_mean"] = lambda x, k, s=None, p=0: pool(
            x, k, s, p, reduce=lambda w, real: w.sum(axis=(-2, -1)))
    whole = np.max if kind == "max" else np.mean
    mistakes["pool_channels_mixed"] = lambda x, k, s=None, p=0: pool(
        x, k, s, p, reduce=lambda w, real: np.broadcast_to(
            whole(w, axis=(1, 2, 3))[:, None], w.shape[:2]))
    return mistakes


def pool2d_backward_mistakes(kind):
    """Candidate wrong answers for ``fn(x, grad_out, kernel_size, stride=None, padding=0)``, the
    gradient of max (``kind="max"``) or average (``"avg"``) pooling with respect to x."""
    fill, share = (-np.inf, _share_first_max) if kind == "max" else (0.0, _share_mean)

    def grad(x, g, k, s=None, p=0, **changes):
        return _pool_grad(x, g, k, s, p, **{"fill": fill, "share": share, **changes})

    mistakes = {
        "pool_stride_one": lambda x, g, k, s=None, p=0: _when(s is None, grad(x, g, k, s, p,
                                                                                step=1)),
    }
    if kind == "max":
        mistakes["max_grad_to_every_tie"] = lambda x, g, k, s=None, p=0: grad(
            x, g, k, s, p, share=_share_every_tie)
        mistakes["max_grad_to_last_tie"] = lambda x, g, k, s=None, p=0: grad(
            x, g, k, s, p, share=_share_last_max)
        mistakes["max_grad_to_whole_window"] = lambda x, g, k, s=None, p=0: grad(
            x, g, k, s, p, share=_share_whole_window)
        mistakes["pool_padded_with_zeros"] = lambda x, g, k, s=None, p=0: _when(
            p > 0, grad(x, g, k, s, p, fill=0.0))
    else:
        mistakes["avg_grad_not_divided"] = lambda x, g, k, s=None, p=0: grad(
            x, g, k, s, p, share=_share_whole_window)
        mistakes["avg_padding_excluded"] = lambda x, g, k, s=None, p=0: _when(p > 0, grad(
            x, g, k, s, p, share=lambda w, real, v: np.where(real, v / real.sum(), 0.0)))
    mistakes["grad_overwritten"] = lambda x, g, k, s=None, p=0: grad(x, g, k, s, p, add=False)
    return mistakes
