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

from .validate import (
    check_nonnegative,
    check_nonnegative_pair,
    check_positive,
    check_positive_pair,
)

__all__ = [
    "output_size", "output_shape", "stride_leftover", "divides_evenly", "effective_kernel_size",
    "same_padding", "full_padding", "padding_to_keep_size", "resolve_padding", "check_fits",
    "transposed_output_size", "receptive_field", "receptive_fields", "param_count",
    "dense_param_count", "mult_adds",
]

PADDING_WORDS = ("valid", "same", "full")


# -- the two rules every operation shares: padding amounts, and does the kernel fit ----------

def resolve_padding(padding, kernel, dilation, stride):
    """Turn a ``padding=`` argument into one ``(before, after)`` pair per spatial axis.

    kernel, dilation, stride: tuples of checked ints, one per axis (1 or 2 axes).
    padding: an int p (p on both sides of every axis); one int per axis (torch's ``(ph, pw)``);
        two per axis, ``(before, after)`` in 1-D or ``(top, bottom, left, right)`` in 2-D; or
        ``'valid'`` (none), ``'same'`` (total D(F-1) per axis, the extra pixel of an even kernel
        after: torch's rule; stride 1 only) or ``'full'`` (D(F-1) on each side).

    Returns a tuple of ``len(kernel)`` pairs of ints >= 0, e.g. ``((1, 1), (2, 2))``.
    """
    n = len(kernel)
    if type(padding) is int and padding >= 0:  # the common case, first: it runs on every call
        return ((padding, padding),) * n
    if isinstance(padding, str):
        word = padding.lower()
        if word == "valid":
            return ((0, 0),) * n
        if word == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"padding='same' is not supported with stride > 1 (got stride "
                                 f"{stride if n > 1 else stride[0]}; torch refuses it too): "
                                 f"with a stride the output cannot keep the input size; pass "
                                 f"the padding as numbers instead (see padding_to_keep_size)")
            return tuple(same_padding(k, d) for k, d in zip(kernel, dilation, strict=True))
        if word == "full":
            return tuple(full_padding(k, d) for k, d in zip(kernel, dilation, strict=True))
        raise ValueError(f"unknown padding {padding!r}; use an int, a tuple of ints, or one of "
                         f"{', '.join(map(repr, PADDING_WORDS))}")
    if isinstance(padding, (list, tuple)) and len(padding) == 2 * n:
        amounts = check_nonnegative_pair(padding, "padding", 2 * n)
        return tuple(amounts[2 * i: 2 * i + 2] for i in range(n))
    if isinstance(padding, (list, tuple)) and len(padding) not in (n, 2 * n):
        forms = "(before, after)" if n == 1 else "(ph, pw), (top, bottom, left, right)"
        raise ValueError(f"padding must be an int, {forms} or one of "
                         f"{', '.join(map(repr, PADDING_WORDS))}; got {tuple(padding)!r} with "
                         f"{len(padding)} values")
    return tuple((p, p) for p in check_nonnegative_pair(padding, "padding", n))


def size_text(sizes):
    """Sizes as messages write them: (5, 3) -> '5x3'."""
    return "x".join(str(n) for n in sizes)


def check_fits(padded_shape, kernel, dilation, what="padded input"):
    """Raise ValueError if the (dilated) kernel is larger than the (padded) input.

    padded_shape, kernel, dilation: tuples of checked ints, one per axis. The message says what
    to do: ``kernel 5x5 is larger than the padded input 4x4; add padding or use a smaller kernel``.
    """
    if all(d * (k - 1) < n for k, d, n in zip(kernel, dilation, padded_shape, strict=True)):
        return  # the span d(k-1)+1 fits: the common case, which runs on every call
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    if len(kernel) == 1:
        size, got = f"of length {kernel[0]}", f"of length {padded_shape[0]}"
        spanned = f"length {spans[0]}"
    else:
        size, got, spanned = size_text(kernel), size_text(padded_shape), size_text(spans)
    dilated = f" with dilation {size_text(dilation)} spans {spanned}, which" \
        if any(d > 1 for d in dilation) else ""
    raise ValueError(f"kernel {size}{dilated} is larger than the {what} {got}; "
                     f"add padding or use a smaller kernel")


# -- sizes -----------------------------------------------------------------------------------

def effective_kernel_size(k, dilation=1):
    """Span of a dilated kernel: ``D(F - 1) + 1`` (3 taps with dilation 2 span 5 pixels)."""
    return check_positive(dilation, "dilation") * (check_positive(k, "kernel size") - 1) + 1


def _fit(n, k, stride, padding, dilation):
    """Checked arithmetic shared by output_size and stride_leftover: (padded n, span, stride)."""
    n = check_positive(n, "input size")
    k = check_positive(k, "kernel size")
    stride = check_positive(stride, "stride")
    dilation = check_positive(dilation, "dilation")
    ((before, after),) = resolve_padding(padding, (k,), (dilation,), (stride,))
    padded = n + before + after
    check_fits((padded,), (k,), (dilation,))
    return padded, dilation * (k - 1) + 1, stride


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
        raise ValueError(f"input_hw must be a pair (height, width), got {input_hw!r}; "
                         f"pass X.shape")
    h, w = check_positive(input_hw[0], "input height"), check_positive(input_hw[1], "input width")
    kernel = check_positive_pair(kernel_hw, "kernel size")
    stride = check_positive_pair(stride, "stride")
    dilation = check_positive_pair(dilation, "dilation")
    (top, bottom), (left, right) = resolve_padding(padding, kernel, dilation, stride)
    padded = h + top + bottom, w + left + right
    check_fits(padded, kernel, dilation)
    return tuple((p - d * (k - 1) - 1) // s + 1
                 for p, k, s, d in zip(padded, kernel, stride, dilation, strict=True))


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
    n = check_positive(n, "input size")
    f = check_positive(f, "kernel size")
    stride = check_positive(stride, "stride")
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
    n = check_positive(n, "input size")
    k = check_positive(k, "kernel size")
    stride = check_positive(stride, "stride")
    dilation = check_positive(dilation, "dilation")
    padding = check_nonnegative(padding, "padding")
    output_padding = check_nonnegative(output_padding, "output_padding")
    if output_padding >= stride and output_padding >= dilation:
        raise ValueError(f"output_padding {output_padding} must be smaller than the stride "
                         f"({stride}) or the dilation ({dilation}), as in torch; it only picks "
                         f"among the input sizes a strided convolution maps to the same output "
                         f"size")
    size = (n - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1
    if size < 1:
        raise ValueError(f"padding {padding} removes the whole output of the transposed "
                         f"convolution (its size would be {size}); use less padding")
    return size


# -- receptive fields ------------------------------------------------------------------------

def _layer(layer):
    if not isinstance(layer, (tuple, list)) or len(layer) not in (2, 3):
        raise ValueError(f"each layer must be (kernel, stride) or (kernel, stride, dilation), "
                         f"got {layer!r}")
    k = check_positive(layer[0], "kernel size")
    s = check_positive(layer[1], "stride")
    d = check_positive(layer[2], "dilation") if len(layer) == 3 else 1
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
    c_in = check_positive(c_in, "c_in")
    c_out = check_positive(c_out, "c_out")
    groups = check_positive(groups, "groups")
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
    kh, kw = check_positive_pair(k, "kernel size")
    return kh * kw * (c_in // groups) * c_out + (c_out if bias else 0)


def dense_param_count(n_in, n_out, bias=True):
    """Learnable numbers in a fully connected layer: n_in * n_out weights, plus n_out biases.

    A 28x28 image (784 inputs) into 1000 units: 784 * 1000 = 784,000 weights, and the bias adds
    1000 more (785,000 in ``torch.nn.Linear(784, 1000)``).
    """
    n_in = check_positive(n_in, "n_in")
    n_out = check_positive(n_out, "n_out")
    return n_in * n_out + (n_out if bias else 0)


def mult_adds(input_hw, c_in, c_out, k, stride=1, padding=0, dilation=1, groups=1):
    """Multiply-adds of one conv layer on one image (bias not counted).

    Each of the H_out * W_out * C_out outputs is a sum of kH * kW * (C_in / groups) products:
        mult_adds = H_out * W_out * C_out * kH * kW * C_in / groups
    with ``(H_out, W_out) = output_shape(input_hw, k, stride, padding, dilation)``.
    Multiplications by padded zeros are counted, as a dense implementation performs them.
    """
    c_in, c_out, groups = _groups(c_in, c_out, groups)
    kh, kw = check_positive_pair(k, "kernel size")
    h_out, w_out = output_shape(input_hw, (kh, kw), stride, padding, dilation)
    return h_out * w_out * c_out * kh * kw * (c_in // groups)
