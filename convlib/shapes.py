"""Convolution arithmetic: output sizes, padding, receptive fields and parameter counts.

Notation used throughout (as in the notebooks):

    N  input size (height or width)      F  kernel size          S  stride
    P  padding (each side)               D  dilation             O  output size

    effective kernel size   F' = D(F - 1) + 1
    output size             O  = floor((N + P_before + P_after - F') / S) + 1

Every function works on plain Python integers and agrees with the shapes that
``torch.nn.functional.conv2d`` / ``conv_transpose2d`` actually produce
(see ``tests/test_shapes.py``).
"""

import operator

__all__ = [
    "output_size", "output_shape", "stride_leftover", "divides_evenly", "effective_kernel_size",
    "same_padding", "full_padding", "padding_to_keep_size", "transposed_output_size",
    "receptive_field", "receptive_fields", "param_count", "dense_param_count", "mult_adds",
]

PADDING_WORDS = ("valid", "same", "full")


# -- argument checks -------------------------------------------------------------------------

def _int(value, name):
    """Return ``value`` as an int; bools, floats and strings are refused with a TypeError."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got the bool {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        kind = type(value).__name__
        raise TypeError(f"{name} must be an integer, got {value!r} ({kind})") from None


def _positive(value, name):
    value = _int(value, name)
    if value < 1:
        raise ValueError(f"{name} must be a positive integer (1, 2, ...), got {value}")
    return value


def _non_negative(value, name):
    value = _int(value, name)
    if value < 0:
        raise ValueError(f"{name} must be zero or positive, got {value}; "
                         "padding adds rows and columns, it cannot remove them")
    return value


def _pair(value, name, check):
    """An int (used for both height and width) or a pair ``(h, w)``, each checked by ``check``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an integer or a pair (height, width), got {value!r}")
        return check(value[0], name), check(value[1], name)
    value = check(value, name)
    return value, value


def _padding_1d(padding, k, dilation, stride):
    """Resolve a 1-D padding (int, ``(before, after)`` or a word) to ``(before, after)``."""
    if isinstance(padding, str):
        word = padding.lower()
        if word == "valid":
            return 0, 0
        if word == "same":
            if stride != 1:
                # torch refuses too: with a stride the output cannot keep the input's size.
                raise ValueError("padding='same' is not supported with stride > 1 (torch refuses "
                                 "it too); compute the padding with padding_to_keep_size or pass "
                                 "an integer padding")
            return same_padding(k, dilation)
        if word == "full":
            return full_padding(k, dilation)
        raise ValueError(f"unknown padding {padding!r}; use an integer, a pair (before, after) "
                         f"or one of {PADDING_WORDS}")
    if isinstance(padding, (tuple, list)):
        if len(padding) != 2:
            raise ValueError("padding must be an integer or a pair (before, after), "
                             f"got {padding!r}")
        return _non_negative(padding[0], "padding"), _non_negative(padding[1], "padding")
    padding = _non_negative(padding, "padding")
    return padding, padding


def _padding_2d(padding, kernel_hw, dilation, stride):
    """Resolve 2-D padding to ``((top, bottom), (left, right))``.

    Accepts an int (all four sides), ``(ph, pw)`` (torch's convention: ``ph`` on top and bottom,
    ``pw`` on left and right), ``(top, bottom, left, right)``, or ``'valid'``/``'same'``/``'full'``.
    """
    if isinstance(padding, str):
        return (_padding_1d(padding, kernel_hw[0], dilation[0], stride[0]),
                _padding_1d(padding, kernel_hw[1], dilation[1], stride[1]))
    if isinstance(padding, (tuple, list)):
        if len(padding) == 2:
            ph, pw = (_non_negative(p, "padding") for p in padding)
            return (ph, ph), (pw, pw)
        if len(padding) == 4:
            top, bottom, left, right = (_non_negative(p, "padding") for p in padding)
            return (top, bottom), (left, right)
        raise ValueError("padding must be an integer, (ph, pw), (top, bottom, left, right) or one "
                         f"of {PADDING_WORDS}; got {padding!r}")
    p = _non_negative(padding, "padding")
    return (p, p), (p, p)


# -- sizes -----------------------------------------------------------------------------------

def effective_kernel_size(k, dilation=1):
    """Span of a dilated kernel: ``D(F - 1) + 1`` (3 taps with dilation 2 span 5 pixels)."""
    return _positive(dilation, "dilation") * (_positive(k, "kernel size") - 1) + 1


def _fit(n, k, stride, padding, dilation):
    """Checked arithmetic shared by output_size and stride_leftover: (padded n, span, stride)."""
    n = _positive(n, "input size")
    k = _positive(k, "kernel size")
    stride = _positive(stride, "stride")
    dilation = _positive(dilation, "dilation")
    before, after = _padding_1d(padding, k, dilation, stride)
    padded = n + before + after
    span = effective_kernel_size(k, dilation)
    if span > padded:
        what = f"kernel {k}"
        if dilation != 1:
            what += f" with dilation {dilation} (spans {span})"
        raise ValueError(f"{what} is larger than the padded input {padded}; "
                         "add padding or use a smaller kernel")
    return padded, span, stride


def output_size(n, k, stride=1, padding=0, dilation=1):
    """Output length along one axis of a convolution (correlation) layer.

    n: input size N; k: kernel size F; stride: S >= 1; dilation: D >= 1;
    padding: P (int, same on both sides), ``(before, after)``, or ``'valid'``/``'same'``/``'full'``.

    Returns O = floor((N + P_before + P_after - D(F - 1) - 1) / S) + 1, the size torch produces.
    Raises ValueError when the (dilated) kernel is larger than the padded input.
    """
    padded, span, stride = _fit(n, k, stride, padding, dilation)
    return (padded - span) // stride + 1


def stride_leftover(n, k, stride=1, padding=0, dilation=1):
    """How many padded rows (or columns) at the end no window reaches: the part the floor drops.

    Returns (N + P_before + P_after - D(F - 1) - 1) mod S; 0 when the stride divides evenly.
    Example: N=6, F=3, S=2 -> windows start at 0 and 2, the last row is never used -> 1.
    """
    padded, span, stride = _fit(n, k, stride, padding, dilation)
    return (padded - span) % stride


def divides_evenly(n, k, stride=1, padding=0, dilation=1):
    """True when the windows tile the padded input exactly (``stride_leftover(...) == 0``)."""
    return stride_leftover(n, k, stride, padding, dilation) == 0


def output_shape(input_hw, kernel_hw, stride=1, padding=0, dilation=1):
    """Output ``(H_out, W_out)`` of a 2-D convolution.

    input_hw: ``(H, W)``; kernel_hw: ``(kH, kW)`` or an int; stride, dilation: int or ``(sh, sw)``;
    padding: int, ``(ph, pw)``, ``(top, bottom, left, right)``, or
    ``'valid'``/``'same'``/``'full'``.

    Returns ``(H_out, W_out)`` with each side given by :func:`output_size`.
    Raises ValueError ("kernel 5x5 is larger than the padded input 4x4; ...") if it does not fit.
    """
    if not isinstance(input_hw, (tuple, list)) or len(input_hw) != 2:
        raise ValueError(f"input_hw must be a pair (height, width), got {input_hw!r}")
    h, w = _positive(input_hw[0], "input height"), _positive(input_hw[1], "input width")
    kh, kw = _pair(kernel_hw, "kernel size", _positive)
    sh, sw = _pair(stride, "stride", _positive)
    dh, dw = _pair(dilation, "dilation", _positive)
    (top, bottom), (left, right) = _padding_2d(padding, (kh, kw), (dh, dw), (sh, sw))
    ph, pw = h + top + bottom, w + left + right
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if span_h > ph or span_w > pw:
        dilated = ""
        if (dh, dw) != (1, 1):
            dilated = f" with dilation {dh}x{dw} (spans {span_h}x{span_w})"
        raise ValueError(f"kernel {kh}x{kw}{dilated} is larger than the padded input {ph}x{pw}; "
                         "add padding or use a smaller kernel")
    return (ph - span_h) // sh + 1, (pw - span_w) // sw + 1


# -- padding ---------------------------------------------------------------------------------

def same_padding(k, dilation=1):
    """Padding ``(before, after)`` that keeps the size at stride 1: torch's ``padding='same'`` rule.

    The total is D(F - 1); ``before = total // 2`` and ``after`` gets the rest, so an even kernel
    pads one more row/column at the bottom/right (exactly what ``F.conv2d(padding='same')`` does).
    """
    total = effective_kernel_size(k, dilation) - 1
    return total // 2, total - total // 2


def full_padding(k, dilation=1):
    """Padding ``(before, after)`` for a 'full' convolution: D(F - 1) on each side.

    Every position where kernel and input overlap by at least one pixel gives an output,
    so O = N + D(F - 1) (this is ``scipy.signal.convolve2d(mode='full')``).
    """
    p = effective_kernel_size(k, dilation) - 1
    return p, p


def padding_to_keep_size(n, f, stride=1):
    """The seeds' formula for the padding that makes O = N: P = (S(N - 1) - N + F) / 2.

    It comes from solving N = (N + 2P - F) / S + 1 for P, ignoring the floor. Returns an int when
    the result is a whole number, otherwise a float ending in .5 (e.g. F even at S = 1 gives
    P = (F - 1) / 2 = 1.5 for F = 4). No symmetric integer padding then keeps the size; torch's
    ``padding='same'`` instead pads asymmetrically (``same_padding``: 1 before, 2 after for F = 4)
    and refuses ``'same'`` when the stride is larger than 1. With S > 1 the formula asks for a
    large padding (N=5, F=3, S=2 gives P = 3); because of the floor a smaller padding often also
    gives O = N.
    """
    n = _positive(n, "input size")
    f = _positive(f, "kernel size")
    stride = _positive(stride, "stride")
    twice = stride * (n - 1) - n + f
    if twice % 2 == 0:
        return twice // 2
    return twice / 2


def transposed_output_size(n, k, stride=1, padding=0, output_padding=0, dilation=1):
    """Output length of a transposed convolution (``F.conv_transpose2d``) along one axis.

    Returns O = (N - 1)S - 2P + D(F - 1) + output_padding + 1.
    ``output_padding`` must be smaller than the stride or the dilation (torch's rule); it picks one
    of the input sizes that a stride-S convolution maps to N.
    """
    n = _positive(n, "input size")
    k = _positive(k, "kernel size")
    stride = _positive(stride, "stride")
    dilation = _positive(dilation, "dilation")
    padding = _non_negative(padding, "padding")
    output_padding = _non_negative(output_padding, "output_padding")
    if output_padding >= max(stride, dilation):
        raise ValueError(f"output_padding ({output_padding}) must be smaller than the stride "
                         f"({stride}) or the dilation ({dilation})")
    size = (n - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1
    if size < 1:
        raise ValueError(f"padding {padding} removes more than the transposed convolution "
                         f"produces (output size would be {size}); use a smaller padding")
    return size


# -- receptive fields ------------------------------------------------------------------------

def _layer(layer):
    if not isinstance(layer, (tuple, list)) or len(layer) not in (2, 3):
        raise ValueError(f"each layer must be (kernel, stride) or (kernel, stride, dilation), "
                         f"got {layer!r}")
    k = _positive(layer[0], "kernel size")
    s = _positive(layer[1], "stride")
    d = _positive(layer[2], "dilation") if len(layer) == 3 else 1
    return k, s, d


def receptive_fields(layers):
    """Receptive field (in input pixels, along one axis) after each layer of a stack.

    layers: a sequence of ``(kernel, stride)`` or ``(kernel, stride, dilation)`` tuples, first
    layer first. Each layer widens the field by D(F - 1) times the product of the earlier strides
    (the distance, in input pixels, between neighbouring positions of its input):

        r_0 = 1,   r_l = r_{l-1} + D_l (F_l - 1) * S_1 * ... * S_{l-1}

    Returns a list of ints, one per layer. Padding does not change the receptive field.
    """
    fields, r, jump = [], 1, 1
    for layer in layers:
        k, s, d = _layer(layer)
        r += d * (k - 1) * jump
        jump *= s
        fields.append(r)
    return fields


def receptive_field(layers):
    """Receptive field of one output pixel of the whole stack (see :func:`receptive_fields`).

    Two 3x3 stride-1 layers see 5x5 input pixels; three see 7x7. An empty stack sees 1 pixel.
    """
    fields = receptive_fields(layers)
    return fields[-1] if fields else 1


# -- counting --------------------------------------------------------------------------------

def _groups(c_in, c_out, groups):
    c_in = _positive(c_in, "c_in")
    c_out = _positive(c_out, "c_out")
    groups = _positive(groups, "groups")
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups ({groups}) must divide both c_in ({c_in}) and c_out ({c_out})")
    return c_in, c_out, groups


def param_count(c_in, c_out, k, bias=True, groups=1):
    """Learnable numbers in a conv layer: kH * kW * (C_in / groups) * C_out, plus C_out biases.

    k: kernel size, int or ``(kH, kW)``. Equals ``sum(p.numel() for p in
    torch.nn.Conv2d(c_in, c_out, k, bias=bias, groups=groups).parameters())``.
    The count does not depend on the image size: every position shares the same weights.
    """
    c_in, c_out, groups = _groups(c_in, c_out, groups)
    kh, kw = _pair(k, "kernel size", _positive)
    return kh * kw * (c_in // groups) * c_out + (c_out if bias else 0)


def dense_param_count(n_in, n_out, bias=True):
    """Learnable numbers in a fully connected layer: n_in * n_out weights, plus n_out biases.

    A 28x28 image (784 inputs) into 1000 units: 784 * 1000 = 784,000 weights, and the bias adds
    1000 more (785,000 in ``torch.nn.Linear(784, 1000)``).
    """
    n_in = _positive(n_in, "n_in")
    n_out = _positive(n_out, "n_out")
    return n_in * n_out + (n_out if bias else 0)


def mult_adds(input_hw, c_in, c_out, k, stride=1, padding=0, dilation=1, groups=1):
    """Multiply-adds of one conv layer on one image (bias not counted).

    Each of the H_out * W_out * C_out outputs is a sum of kH * kW * (C_in / groups) products:
        mult_adds = H_out * W_out * C_out * kH * kW * C_in / groups
    with ``(H_out, W_out) = output_shape(input_hw, k, stride, padding, dilation)``.
    Multiplications by padded zeros are counted, as a dense implementation performs them.
    """
    c_in, c_out, groups = _groups(c_in, c_out, groups)
    kh, kw = _pair(k, "kernel size", _positive)
    h_out, w_out = output_shape(input_hw, (kh, kw), stride, padding, dilation)
    return h_out * w_out * c_out * kh * kw * (c_in // groups)
