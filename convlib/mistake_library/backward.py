"""The mistakes of notebook 07, the backward pass: the gradients of a convolution, the relative
error and the numerical gradient.

See ``convlib.mistake_library`` for how a test cell uses them.
"""

import numpy as np

from ..mistakes import CheckFailed
from .oracle import as_float64, correlate_valid

# -- 07 backward --------------------------------------------------------------------------------
# The backward exercises return three gradients, (dX, dK, db) or (grad_x, grad_weight,
# grad_bias); check_function compares one array, so check_gradients checks each gradient on its
# own: gradient_part(fn, index) is the function giving that one gradient, and
# backward_mistakes(part) / backward_single_mistakes(part) what each mistake makes of it.

__all__ = ["GRADIENT_PARTS", "backward_mistakes",
           "backward_reference", "backward_results", "backward_single_mistakes",
           "backward_single_reference", "check_gradients", "gradient_part",
           "gradient_shape_mistake", "numerical_grad_mistakes", "numerical_grad_reference",
           "relative_error_mistakes", "relative_error_reference"]

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
    from ..from_scratch import not_implemented

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
    from .. import checks
    from ..validate import copy_input

    reference = backward_single_reference if single else backward_reference
    mistakes_of = backward_single_mistakes if single else backward_mistakes
    for label, args in cases:  # case by case: the first failing input is the one reported
        expected = reference(*[copy_input(a) for a in args])  # once, for its three parts
        for index, part in enumerate(GRADIENT_PARTS):
            shown = _SINGLE_NAMES[index] if single else part
            checks.check_function(gradient_part(fn, index, name), [(label, args)],
                                  lambda *_, value=expected[index]: value,
                                  name=f"{name} ({shown})", returns="numpy",
                                  mistakes=mistakes_of(part),
                                  shape_mistake=lambda want, got, part=part:
                                  gradient_shape_mistake(part, want, got))


def gradient_shape_mistake(part, expected_shape, got_shape):
    """The mistake a gradient of the wrong shape most likely is, when no candidate explains it:
    an input gradient smaller than the input was not padded to 'full' (not "the loop misses a
    position": dX has the input's shape); any other wrong shape, that a gradient has the shape
    of what it is the gradient of."""
    if part == "grad_x" and len(got_shape) == len(expected_shape) and all(
            g <= e for g, e in zip(got_shape, expected_shape, strict=True)):
        return "grad_valid_not_full"
    return "grad_wrong_shape"


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
    G, W = as_float64(G), as_float64(W)
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
            parts = [correlate_valid(G[n, o], K[o, c]) for o in range(W.shape[0])]
            if any(p is None for p in parts):
                return None
            per_channel.append(sum(parts))
        rows.append(per_channel)
    return np.array(rows)


def _grad_w(X, G, stride, kernel_hw, *, dilate=True, batch="sum"):
    """dL/dW[o, c] = (sum over n of) X[n, c] correlated with (dilated) G[n, o], cropped to the
    kernel. ``batch``: "sum" (right), "first" (image 0 only) or "mean"."""
    X, G = as_float64(X), as_float64(G)
    kh, kw = kernel_hw
    if dilate:
        G = _dilate(G, stride)
    per_image = np.array([[[correlate_valid(X[n, c], G[n, o])[:kh, :kw]
                            for c in range(X.shape[1])] for o in range(G.shape[1])]
                          for n in range(X.shape[0])])
    return {"sum": per_image.sum(axis=0), "first": per_image[0],
            "mean": per_image.mean(axis=0)}[batch]


def _true_grad_x(x, weight, grad_out, stride=1):
    return _fit(_grad_x(grad_out, weight, stride), as_float64(x).shape[-2:])


def _true_grads(x, w, g, s=1):
    """(grad_x, grad_weight, grad_bias) by the private oracle."""
    return (_true_grad_x(x, w, g, s), _grad_w(x, g, s, as_float64(w).shape[-2:]),
            as_float64(g).sum(axis=(0, 2, 3)))


def _out_of_order(index):
    """What the slot `index` holds when the gradients are returned in another order: one of
    the two other gradients."""
    return lambda x, w, g, s=1: [v for i, v in enumerate(_true_grads(x, w, g, s)) if i != index]


def _leftover_dropped(x, w, g, s=1):
    """dL/dx without the rows and columns no window reached (the stride's leftover): the full
    convolution of the dilated gradient as it comes, not filled up to the input's shape."""
    out = _grad_x(g, w, s)
    return None if out is None or out.shape == as_float64(x).shape else out


def backward_mistakes(part):
    """Wrong answers for one gradient of ``fn(x, weight, grad_out, stride=1)`` (NCHW, valid):
    ``part`` is "grad_x", "grad_weight" or "grad_bias"."""
    def hw(x):
        return as_float64(x).shape[-2:]

    if part not in GRADIENT_PARTS:
        raise ValueError(f"part must be one of {GRADIENT_PARTS}, got {part!r}")
    order = {"gradients_out_of_order": _out_of_order(GRADIENT_PARTS.index(part))}
    if part == "grad_x":
        return {
            **order,
            "grad_leftover_dropped": _leftover_dropped,
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
            return as_float64(w).shape[-2:]

        return {
            **order,
            "grad_flip_added": lambda x, w, g, s=1: [
                _grad_w(x, g, s, kernel(w))[..., ::-1, ::-1],
                _grad_w(x, as_float64(g)[..., ::-1, ::-1], s, kernel(w))],
            "grad_stride_ignored": lambda x, w, g, s=1: _grad_w(x, g, s, kernel(w), dilate=False),
            "grad_batch_not_summed": lambda x, w, g, s=1: [
                _grad_w(x, g, s, kernel(w), batch="first"),
                _grad_w(x, g, s, kernel(w), batch="mean")],
        }
    return {
        **order,
        "grad_batch_not_summed": lambda x, w, g, s=1: [
            as_float64(g)[0].sum(axis=(1, 2)), as_float64(g).sum(axis=(2, 3)).mean(axis=0)],
        "grad_bias_mean": lambda x, w, g, s=1: [
            as_float64(g).mean(axis=(0, 2, 3)), as_float64(g).mean(axis=(2, 3)).sum(axis=0)],
        "grad_wrong_axis": lambda x, w, g, s=1: [
            as_float64(g).sum(axis=(1, 2, 3)), as_float64(g).sum(axis=(2, 3)),
            np.asarray(as_float64(g).sum())],
    }


def _as_batch(*arrays):
    """Single-channel (H, W) arrays as (1, 1, H, W) float64 ones."""
    return [as_float64(a)[None, None] for a in arrays]


def _as_layer(mistakes):
    """Single-channel mistakes from the NCHW ones: (X, K, dY) as (1, 1, H, W) arrays."""
    def single(f):
        def wrong(X, K, dY):
            out = f(*_as_batch(X, K, dY), 1)
            outs = out if isinstance(out, list) else [out]
            return [None if o is None else _single_shape(np.asarray(o)) for o in outs]
        return wrong
    return {code: single(f) for code, f in mistakes.items()}


def _single_shape(a):
    """A layer's gradient as the single-channel exercise returns it: (1, 1, h, w) -> (h, w),
    the bias gradient (1,) -> a number."""
    if a.ndim == 4:
        return a.reshape(a.shape[2:])
    return a.reshape(()) if a.shape == (1,) else a


def backward_single_mistakes(part):
    """Wrong answers for one gradient of ``fn(X, K, dY) -> (dX, dK, db)``: single channel,
    stride 1, valid. ``part`` is "grad_x" (dX), "grad_weight" (dK) or "grad_bias" (db)."""
    mistakes = _as_layer(backward_mistakes(part))
    kept = {code: f for code, f in mistakes.items()
            if code not in ("grad_stride_ignored", "grad_batch_not_summed", "grad_wrong_axis",
                            "grad_leftover_dropped")}
    if part == "grad_bias":
        kept["grad_bias_mean"] = lambda X, K, dY: np.asarray(as_float64(dY).mean())
    return kept


def backward_reference(x, weight, grad_out, stride=1):
    """(grad_x, grad_weight, grad_bias) in float64 numpy: convlib.conv2d_backward, checked
    against torch autograd on the same inputs (a disagreement is a bug in the reference)."""
    import torch

    from ..backward import conv2d_backward

    x, weight, grad_out = as_float64(x), as_float64(weight), as_float64(grad_out)
    ours = [np.asarray(g, dtype=float)
            for g in conv2d_backward(x, weight, grad_out, stride=stride)]
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(weight, requires_grad=True)
    bt = torch.zeros(wt.shape[0], dtype=torch.float64, requires_grad=True)
    torch.nn.functional.conv2d(xt, wt, bt, stride=stride).backward(torch.tensor(grad_out))
    for mine, theirs in zip(ours, (xt.grad, wt.grad, bt.grad), strict=True):
        if not np.allclose(mine, theirs.numpy(), rtol=1e-9, atol=1e-9):
            raise RuntimeError("convlib.conv2d_backward disagrees with torch autograd here: a "
                               "bug in the course's reference, not in your answer")
    return tuple(ours)


def backward_single_reference(X, K, dY):
    """(dX, dK, db) of Y = X ⋆ K (single channel, valid) for dL/dY = dY: backward_reference on
    (1, 1, H, W) arrays, db a number."""
    gx, gw, gb = backward_reference(*_as_batch(X, K, dY))
    return gx[0, 0], gw[0, 0], float(gb[0])


def _rel(a, b, denominator):
    a, b = as_float64(a), as_float64(b)
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
        out[(as_float64(a) == 0) & (as_float64(b) == 0)] = np.nan
        return out

    def signed(a, b):
        return _rel(a, b, np.maximum) * np.sign(as_float64(a) - as_float64(b))

    return {
        "rel_error_one_sided": lambda a, b: [_rel(a, b, lambda p, q: q),
                                             _rel(a, b, lambda p, q: p)],
        "rel_error_sum_denominator": lambda a, b: _rel(a, b, np.add),
        "rel_error_not_relative": lambda a, b: np.abs(as_float64(a) - as_float64(b)),
        "rel_error_signed": signed,
        "rel_error_zero_division": zero_division,
    }


# numerical_grad_x(x, weight, grad_out, stride=1, h=1e-5) differentiates
# L(x) = sum(tanh(conv2d(x, weight, stride)) * grad_out): the tanh gives L a curvature, so a
# one-sided difference is off by about h / 2 times it (on a loss linear in x it would be exact
# and pass).
NUMERICAL_GRAD_STEP = 1e-5


def _forward(x, w, stride):
    """conv2d(x, w, stride) of NCHW float64 arrays, in numpy (private oracle)."""
    x, w = as_float64(x), as_float64(w)
    windows = np.lib.stride_tricks.sliding_window_view(x, w.shape[2:], axis=(2, 3))
    return np.einsum("ncijab,ocab->noij", windows[:, :, ::stride, ::stride], w)


def _tanh_loss(x, w, g, stride):
    return float((np.tanh(_forward(x, w, stride)) * as_float64(g)).sum())


def numerical_grad_reference(x, weight, grad_out, stride=1, h=None):
    """dL/dx of L(x) = sum(tanh(conv2d(x, weight, stride)) * grad_out) by torch autograd, in
    float64: what a centred difference approaches."""
    import torch
    import torch.nn.functional as F

    xt = torch.tensor(as_float64(x), requires_grad=True)
    y = F.conv2d(xt, torch.tensor(as_float64(weight)), stride=stride)
    (torch.tanh(y) * torch.tensor(as_float64(grad_out))).sum().backward()
    return xt.grad.numpy()


def _one_sided(x, w, g, s=1, h=None):
    """Forward and backward differences, (L(x + h e) - L(x)) / h and (L(x) - L(x - h e)) / h."""
    h = NUMERICAL_GRAD_STEP if h is None else h
    x = as_float64(x).copy()
    base = _tanh_loss(x, w, g, s)
    forward, backward = np.zeros_like(x), np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        saved = x[idx]
        x[idx] = saved + h
        forward[idx] = (_tanh_loss(x, w, g, s) - base) / h
        x[idx] = saved - h
        backward[idx] = (base - _tanh_loss(x, w, g, s)) / h
        x[idx] = saved
    return [forward, backward]


def numerical_grad_mistakes():
    """Wrong answers for ``numerical_grad_x(x, weight, grad_out, stride=1, h=1e-5)``: the centred
    differences of L(x) = sum(tanh(conv2d(x, weight, stride)) * grad_out)."""
    def right(x, w, g, s=1):
        return numerical_grad_reference(x, w, g, s)

    return {
        "grad_one_sided": _one_sided,
        "grad_step_not_halved": lambda x, w, g, s=1, h=None: 2 * right(x, w, g, s),
        "grad_all_perturbed": lambda x, w, g, s=1, h=None: np.full(
            as_float64(x).shape, right(x, w, g, s).sum()),
    }
