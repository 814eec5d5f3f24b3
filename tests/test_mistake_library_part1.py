"""The mistakes of notebooks 03, 04 and 06 (convlib.mistake_library): each wrong answer equals
the same slip built independently with torch or scipy, on inputs where the slip differs from
the right answer, and the checks built on them name the slip and pass the right answer."""

import math
import re

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F

from convlib import mistake_library as ML
from convlib.checks import CheckFailed
from convlib.mistakes import MISTAKES
from tests.notebook_cells import run_cell

rng = np.random.default_rng(1234)


def torch_conv(x, w, b=None, stride=1, padding=0):
    """torch's cross-correlation in float64, for one (C, H, W) image, a batch, or (H, W)."""
    x = torch.as_tensor(np.asarray(x, dtype=float))
    w = torch.as_tensor(np.asarray(w, dtype=float))
    b = None if b is None else torch.as_tensor(np.asarray(b, dtype=float))
    if x.ndim == 2:
        return F.conv2d(x[None, None], w[None, None], stride=stride, padding=padding)[0, 0].numpy()
    y = F.conv2d(x[None] if x.ndim == 3 else x, w, b, stride=stride, padding=padding).numpy()
    return y[0] if x.ndim == 3 else y


def fn_of(value):
    return value[0] if isinstance(value, tuple) else value


# ----------------------------------------------------------------------------- 03

STRIDED_CASES = [((7, 9), (3, 2), (2, 3), (1, 2)), ((6, 8), (2, 4), 2, 0),
                 ((9, 5), (3, 3), (3, 1), (2, 0)), ((5, 5), (3, 3), 1, 1)]


def strided_by_torch(code, X, K, s, p):
    def pair(v):
        return (v, v) if np.ndim(v) == 0 else tuple(v)

    Kt = torch.tensor(K)
    if code == "kernel_flipped":
        return torch_conv(X, Kt.flip(0, 1), stride=s, padding=p)
    if code == "kernel_transposed":
        return torch_conv(X, Kt.T.contiguous(), stride=s, padding=p)
    if code == "stride_pair_swapped":
        return torch_conv(X, K, stride=pair(s)[::-1], padding=p)
    if code == "padding_pair_swapped":
        return torch_conv(X, K, stride=s, padding=pair(p)[::-1])
    if code == "padding_ignored":
        return torch_conv(X, K, stride=s, padding=0)
    if code == "window_not_strided":
        # every window position at stride 1, then only as many as the strided layer has
        size = torch_conv(X, K, stride=s, padding=p).shape
        return torch_conv(X, K, stride=1, padding=p)[:size[0], :size[1]]
    (sh, sw), (ph, pw) = pair(s), pair(p)
    if code == "stride_ignored":
        return None if (sh, sw) == (1, 1) else torch_conv(X, K, stride=1, padding=p)
    if code == "padding_once":  # F.pad takes (left, right, top, bottom)
        if (ph, pw) == (0, 0):
            return None
        sides = [(pw, 0, ph, 0), (0, pw, 0, ph), (2 * pw, 0, 2 * ph, 0), (0, 2 * pw, 0, 2 * ph)]
        return [torch_conv(F.pad(torch.tensor(X), side).numpy(), K, stride=s) for side in sides]
    if code == "rounded_up":
        # ceil instead of floor: pad one stride more of zeros at the end, keep ceil + 1 windows
        rows = math.ceil((hw_of(X)[0] + 2 * ph - K.shape[0]) / sh) + 1
        cols = math.ceil((hw_of(X)[1] + 2 * pw - K.shape[1]) / sw) + 1
        padded = F.pad(torch.tensor(X), (pw, pw + sw, ph, ph + sh)).numpy()
        return torch_conv(padded, K, stride=s)[:rows, :cols]
    raise AssertionError(code)


def hw_of(X):
    return np.asarray(X).shape


def alternatives(value):
    return [] if value is None else value if isinstance(value, list) else [value]


@pytest.mark.parametrize("code", sorted(ML.conv2d_strided_mistakes()))
@pytest.mark.parametrize("hw, khw, s, p", STRIDED_CASES)
def test_each_strided_mistake_equals_the_torch_construction(code, hw, khw, s, p):
    X, K = rng.normal(size=hw), rng.normal(size=khw)
    got = alternatives(fn_of(ML.conv2d_strided_mistakes()[code])(X, K, s, p))
    want = alternatives(strided_by_torch(code, X, K, s, p))
    assert len(got) == len(want), code
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and np.allclose(g, w), code


def test_strided_reference_is_torch_and_every_mistake_differs_from_it():
    X, K = rng.normal(size=(7, 9)), rng.normal(size=(3, 2))
    right = ML.conv2d_strided_reference(X, K, (2, 3), (1, 2))
    assert np.allclose(right, torch_conv(X, K, stride=(2, 3), padding=(1, 2)))
    for code, value in ML.conv2d_strided_mistakes().items():
        for wrong in alternatives(fn_of(value)(X, K, (2, 3), (1, 2))):
            assert wrong.shape != right.shape or not np.allclose(wrong, right), code


def torch_size(n, f, s=1, p=0, d=1):
    return F.conv2d(torch.zeros(1, 1, 1, n), torch.zeros(1, 1, 1, f), stride=s, padding=(0, p),
                    dilation=d).shape[-1]


def test_output_size_slips_are_what_each_slip_computes_and_the_right_value_is_torchs():
    n, f, s, p = 10, 4, 3, 1                         # (10 - 4 + 2) / 3 = 2.67: every slip differs
    slips = ML.output_size_mistakes(n, f, s, p)
    assert torch_size(n, f, s, p) == 3
    assert slips["no_floor"] == pytest.approx(8 / 3 + 1)
    assert slips["rounded_up"] == 4 and slips["padding_once"] == 3 - 1 + 1
    assert slips["no_plus_one"] == 2 and slips["stride_applied_to_all"] == 3
    assert slips["dilation_ignored"] is None
    d = ML.output_size_mistakes(15, 3, 1, 0, 2)["dilation_ignored"]
    assert d == torch_size(15, 3) != torch_size(15, 3, d=2)


def test_predicted_shape_slips_match_torch_on_a_changed_layer():
    hw, khw = (11, 8), (3, 3)
    slips = ML.predicted_shape_mistakes(hw, khw, 2, 0, 1)
    right = (torch_size(11, 3, 2), torch_size(8, 3, 2))
    assert slips["transposed"] == right[::-1]
    assert slips["dilation_ignored"] is None
    # padding counted once is the size torch gives with half of the padding on each side
    one_side = ML.predicted_shape_mistakes((9, 9), (4, 4), 1, 2, 1)["padding_once"]
    assert one_side == tuple(F.conv2d(torch.zeros(1, 1, 9, 9), torch.zeros(1, 1, 4, 4),
                                      padding=(1, 1)).shape[-2:])
    dilated = ML.predicted_shape_mistakes((15, 12), (3, 3), 1, 0, 2)["dilation_ignored"]
    assert dilated == tuple(F.conv2d(torch.zeros(1, 1, 15, 12), torch.zeros(1, 1, 3, 3)).shape[-2:])


def test_check_output_size_names_the_slip_and_passes_the_right_int():
    from convlib.shapes import output_size

    ML.check_output_size(output_size, [("N=6, F=3, S=2", (6, 3, 2, 0))])
    with pytest.raises(CheckFailed) as err:
        ML.check_output_size(lambda n, f, s=1, p=0: (n - f + 2 * p) / s + 1,
                             [("N=6, F=3, S=2", (6, 3, 2, 0))])
    assert err.value.mistake == "no_floor"
    assert str(err.value).endswith(MISTAKES["no_floor"].explanation)
    with pytest.raises(CheckFailed) as err:
        ML.check_output_size(lambda n, f, s=1, p=0: float(output_size(n, f, s, p)),
                             [("N=5, F=3", (5, 3))])
    assert err.value.mistake == "wrong_type"


def test_check_predicted_shapes_names_the_slip():
    layers = {"odd": ((11, 8), (3, 3), 2, 0, 1)}
    ML.check_predicted_shapes({"odd": (5, 3)}, layers)
    with pytest.raises(CheckFailed) as err:
        ML.check_predicted_shapes({"odd": (5.0, 3.5)}, layers)
    assert err.value.mistake == "no_floor"
    with pytest.raises(CheckFailed) as err:
        ML.check_predicted_shapes({}, layers)
    assert err.value.mistake == "wrong_type"


# ----------------------------------------------------------------------------- 04

def multi_by_torch(code, x, w, b):
    wt = torch.tensor(w)
    if code == "weight_axes_swapped":
        return torch_conv(x, wt.transpose(0, 1).contiguous(), b)
    if code == "kernel_transposed":
        return torch_conv(x, wt.transpose(2, 3).contiguous(), b)
    if code == "kernel_flipped":
        return torch_conv(x, wt.flip(2, 3), b)
    if code == "bias_missing":
        return torch_conv(x, w)
    if code == "bias_added_per_channel":
        return torch_conv(x, w) + w.shape[1] * b.reshape(-1, 1, 1)
    if code == "last_channel_only":
        return torch_conv(x[..., -1:, :, :], w[:, -1:], b)
    if code == "channels_not_summed":
        # groups=C_in over the channel-repeated weight: one output per (kernel, input channel)
        c_in = w.shape[1]
        per = torch.tensor(w).reshape(-1, 1, *w.shape[2:])            # (C_out*C_in, 1, kH, kW)
        xs = torch.tensor(x if x.ndim == 4 else x[None]).repeat(1, w.shape[0], 1, 1)
        ys = F.conv2d(xs, per, groups=w.shape[0] * c_in).numpy()
        ys = ys.reshape(ys.shape[0], w.shape[0], c_in, *ys.shape[2:]) + b.reshape(1, -1, 1, 1, 1)
        return ys[0] if x.ndim == 3 else ys
    if code == "channels_averaged":
        return torch_conv(x, w / w.shape[1], b)
    if code == "batch_dropped":
        return torch_conv(x[0], w, b)
    raise AssertionError(code)


@pytest.mark.parametrize("code", sorted(ML.conv2d_multi_mistakes()))
@pytest.mark.parametrize("batch", [False, True])
def test_each_multi_channel_mistake_equals_the_torch_construction(code, batch):
    c = 3                                   # C_out = C_in so that swapped weight axes fit
    x = rng.normal(size=(2, c, 6, 5) if batch else (c, 6, 5))
    w, b = rng.normal(size=(c, c, 3, 2)), rng.normal(size=c)
    got = fn_of(ML.conv2d_multi_mistakes()[code])(x, w, b)
    if code == "batch_dropped" and not batch:
        assert got is None
        return
    want = multi_by_torch(code, x, w, b)
    assert got.shape == want.shape and np.allclose(got, want), code
    right = ML.conv2d_multi_reference(x, w, b)
    assert np.allclose(right, torch_conv(x, w, b))
    assert got.shape != right.shape or not np.allclose(got, right), code


def test_multi_channel_mistakes_that_do_not_apply_give_none():
    x, w = rng.normal(size=(2, 5, 4)), rng.normal(size=(3, 2, 2, 2))    # C_out != C_in
    mistakes = ML.conv2d_multi_mistakes()
    assert fn_of(mistakes["weight_axes_swapped"])(x, w) is None
    assert fn_of(mistakes["bias_missing"])(x, w) is None


def test_layer_param_slips_match_torch_layers_built_with_the_slip():
    def n(layer):
        return sum(p.numel() for p in layer.parameters())

    slips = ML.layer_param_mistakes(64, 128, 3, True, 4)
    assert slips["bias_forgotten"] == n(torch.nn.Conv2d(64, 128, 3, groups=4, bias=False))
    assert slips["groups_ignored"] == n(torch.nn.Conv2d(64, 128, 3))
    assert slips["in_channels_ignored"] == n(torch.nn.Conv2d(4, 128, 3, groups=4))
    assert slips["kernel_not_squared"] == n(torch.nn.Conv2d(64, 128, (3, 1), groups=4))
    assert slips["bias_counted"] is None
    assert ML.layer_param_mistakes(3, 64, 7, False)["bias_counted"] == n(torch.nn.Conv2d(3, 64, 7))


def test_check_layer_params_names_the_slip():
    layers = {"grouped": (64, 128, 3, True, 4)}
    ML.check_layer_params({"grouped": 18_560}, layers)
    with pytest.raises(CheckFailed) as err:
        ML.check_layer_params({"grouped": 73_856}, layers)
    assert err.value.mistake == "groups_ignored"
    assert str(err.value).endswith(MISTAKES["groups_ignored"].explanation)


# ----------------------------------------------------------------------------- 06

def field_by_autograd(layers, size=96):
    """Width of the input gradient of the centre output pixel: a stack of all-ones kernels."""
    x = torch.zeros(1, 1, 1, size, dtype=torch.float64, requires_grad=True)
    y = x
    for k, s in layers:
        y = F.conv2d(y, torch.ones(1, 1, 1, k, dtype=torch.float64), stride=(1, s))
    y[0, 0, 0, y.shape[-1] // 2].backward()
    cols = np.flatnonzero(x.grad[0, 0, 0].numpy())
    return int(cols[-1] - cols[0] + 1)


STACKS = [[(3, 2), (3, 2), (3, 1)], [(5, 1), (2, 2), (3, 1)], [(4, 3), (5, 4), (2, 1)]]


@pytest.mark.parametrize("layers", STACKS)
def test_receptive_field_slips_are_the_autograd_field_of_the_slipped_stack(layers):
    slips = {code: fn_of(f)(layers) for code, f in ML.receptive_field_mistakes().items()}
    right = field_by_autograd(layers)
    assert all(v != right for v in slips.values()), slips
    # strides ignored: the same kernels at stride 1
    assert slips["strides_ignored"] == field_by_autograd([(k, 1) for k, _ in layers])
    # own stride used = the field of the stack with a 1-wide, stride-S1 layer in front and each
    # later layer taking the next layer's stride: every jump then includes its own stride
    strides = [s for _, s in layers]
    own = [(1, strides[0])] + [(k, s) for (k, _), s in zip(layers, strides[1:] + [1],
                                                            strict=True)]
    assert slips["own_stride_used"] == field_by_autograd(own)
    # kernels added (F per layer from 0) = the field of kernels one wider, minus the first pixel
    assert slips["kernels_added"] == field_by_autograd([(k + 1, s) for k, s in layers]) - 1


def test_check_receptive_field_names_each_slip():
    from convlib.shapes import receptive_field

    case = [("[(5, 1), (2, 2), (3, 1)]", ([(5, 1), (2, 2), (3, 1)],))]   # four different answers
    ML.check_receptive_field(receptive_field, case)
    for code, wrong in ML.receptive_field_mistakes().items():
        with pytest.raises(CheckFailed) as err:
            ML.check_receptive_field(fn_of(wrong), case)
        assert err.value.mistake == code
        assert str(err.value).endswith(MISTAKES[code].explanation) and MISTAKES[code].explanation
    # an empty stack is 1 pixel; 0 is not "kernels added" (that slip's sum also starts at 0)
    with pytest.raises(CheckFailed) as err:
        ML.check_receptive_field(lambda layers: 0, [("no layers", ([],))])
    assert err.value.mistake == "wrong_values" and "the field starts at 1" in str(err.value)


@pytest.mark.parametrize("hw, khw", [((4, 5), (2, 3)), ((7, 6), (3, 3)), ((5, 9), (1, 4))])
def test_im2col_mistakes_equal_scipy_constructions(hw, khw):
    X, K = rng.normal(size=hw), rng.normal(size=khw)
    mistakes = ML.im2col_conv2d_mistakes()
    Y = scipy.signal.correlate2d(X, K, mode="valid")
    column_order = fn_of(mistakes["patches_in_column_order"])(X, K)
    # the row-major list of outputs laid out column by column
    assert np.allclose(column_order, np.reshape(Y.ravel(), Y.shape, order="F"))
    assert not np.allclose(column_order, Y)
    assert np.allclose(fn_of(mistakes["kernel_flipped"])(X, K),
                       scipy.signal.convolve2d(X, K, mode="valid"))


# ----------------------------------------------------------------------------- vocabulary

def test_every_code_of_these_sections_is_in_the_vocabulary():
    codes = set()
    for mistakes in (ML.conv2d_strided_mistakes(), ML.conv2d_multi_mistakes(),
                     ML.receptive_field_mistakes(), ML.im2col_conv2d_mistakes(),
                     ML.output_size_mistakes(6, 3, 2), ML.predicted_shape_mistakes((6, 6),
                                                                                    (3, 3), 2),
                     ML.layer_param_mistakes(3, 8, 3)):
        codes |= set(mistakes)
    assert codes - set(MISTAKES) == set()
    for name in ("check_output_size", "check_predicted_shapes", "conv2d_strided_mistakes",
                 "conv2d_multi_mistakes", "check_layer_params", "check_receptive_field",
                 "im2col_conv2d_mistakes"):
        assert name in ML.__all__


# ----------------------------------------------------------------------------- 05

def test_convolve2d_mistakes_equal_scipy_with_the_slip_and_differ_from_convolution():
    X, K = rng.normal(size=(6, 7)), rng.normal(size=(2, 3))
    right = scipy.signal.convolve2d(X, K, mode="valid")
    by_scipy = {
        "kernel_not_flipped": [scipy.signal.correlate2d(X, K, mode="valid")],
        # flipped upside down only = convolution with the left-right mirror, and vice versa
        "flipped_one_axis": [scipy.signal.convolve2d(X, K[:, ::-1], mode="valid"),
                             scipy.signal.convolve2d(X, K[::-1, :], mode="valid")],
        "kernel_transposed": [scipy.signal.correlate2d(X, K.T, mode="valid")],
    }
    mistakes = ML.convolve2d_mistakes()
    assert set(mistakes) == set(by_scipy) and set(mistakes) <= set(MISTAKES)
    for code, entry in mistakes.items():
        fn, explanation = entry if isinstance(entry, tuple) else (entry, MISTAKES[code].explanation)
        got = fn(X, K)
        got = got if isinstance(got, list) else [got]
        assert len(got) == len(by_scipy[code]) and explanation, code
        for g, expected in zip(got, by_scipy[code], strict=True):
            np.testing.assert_allclose(g, expected, atol=1e-12)
            assert g.shape != right.shape or not np.allclose(g, right)   # the slip shows


# ----------------------------------------------------------------------------- 03 in the notebook
# The notebook's own test cells, run on the slips a student makes: visible (what the student's
# kernel runs) and whole (what the grader runs).

NB03 = "03_stride_padding"


def run03(grade_id, names, visible=False):
    return run_cell(NB03, grade_id, names, visible=visible)


def output_size_right(n, f, stride=1, padding=0):
    return (n - f + 2 * padding) // stride + 1


OUTPUT_SIZE_SLIPS = {
    # round() passed every visible case (the only floor case, 2.5, rounds to even)
    "rounded_to_nearest": lambda n, f, stride=1, padding=0: round((n - f + 2 * padding) / stride
                                                                  + 1),
    "rounded_up": lambda n, f, stride=1, padding=0: math.ceil((n - f + 2 * padding) / stride) + 1,
    "stride_ignored": lambda n, f, stride=1, padding=0: n - f + 2 * padding + 1,
    "padding_ignored": lambda n, f, stride=1, padding=0: (n - f) // stride + 1,
    "padding_once": lambda n, f, stride=1, padding=0: (n - f + padding) // stride + 1,
}


@pytest.mark.parametrize("code", sorted(OUTPUT_SIZE_SLIPS))
def test_the_visible_output_size_checks_name_each_slip(code):
    """Each slip fails a visible check of notebook 03 and is named (the seed examples divide
    evenly, so the floor slips are caught by the second cell)."""
    names = {"output_size": OUTPUT_SIZE_SLIPS[code]}
    failures = [run03(grade_id, names, visible=True)
                for grade_id in ("test_output_size_seed_examples", "test_output_size_hidden")]
    failed = [f for f in failures if f is not None]
    assert failed, f"{code} passes every visible check"
    assert failed[0].mistake == code, str(failed[0])
    assert str(failed[0]).endswith(MISTAKES[code].explanation)
    assert run03("test_output_size_hidden", {"output_size": output_size_right}) is None


def test_a_wrong_formula_is_not_named_after_the_slip_it_equals_on_one_input():
    """(n + f + 2p) // s - 1 gives 3 on N=6, F=3, S=2, the rounded-up value there; it rounds
    nothing up, so no slip is named: the message only says expected and got."""
    names = {"output_size": lambda n, f, stride=1, padding=0: (n + f + 2 * padding) // stride - 1}
    for grade_id in ("test_output_size_seed_examples", "test_output_size_hidden"):
        failed = run03(grade_id, names)
        assert failed is not None and failed.mistake == "wrong_values", str(failed)
        assert re.search(r"expected \d+, got \d+\.$", str(failed)), str(failed)  # no hint
    names = {"output_size": OUTPUT_SIZE_SLIPS["rounded_up"]}
    assert run03("test_output_size_hidden", names, visible=True).mistake == "rounded_up"


RIGHT_SHAPES = {"mnist": (24, 24), "cifar": (16, 16), "resnet_stem": (112, 112), "odd": (5, 3),
                "wide_kernel": (8, 16), "dilated": (11, 8), "same_ish": (8, 8)}


@pytest.mark.parametrize("key, answer, code", [
    ("cifar", (32, 32), "stride_ignored"), ("resnet_stem", (224, 224), "stride_ignored"),
    ("odd", (9, 6), "stride_ignored"), ("cifar", (15, 15), "padding_ignored"),
    ("resnet_stem", (109, 109), "padding_ignored"), ("same_ish", (6, 6), "padding_ignored"),
])
def test_a_shape_predicted_without_the_stride_or_the_padding_is_named(key, answer, code):
    failed = run03("test_predicted_shapes", {"predicted_shapes": {**RIGHT_SHAPES, key: answer}})
    assert failed is not None and failed.mistake == code, str(failed)
    assert "not right yet" not in str(failed)


@pytest.mark.parametrize("answer", [[24, 24], (24.0, 24.0), np.array([24, 24])])
def test_a_right_shape_as_a_list_floats_or_an_array_is_accepted(answer):
    assert run03("test_predicted_shapes",
                  {"predicted_shapes": {**RIGHT_SHAPES, "mnist": answer}}) is None


def strided_student(*, stride_in_size=True, pad="both", size="floor"):
    """conv2d_strided written as the exercise shows it, with one slip switched on."""
    def conv2d_strided(image, kernel, stride=1, padding=0):
        sh, sw = (stride, stride) if np.ndim(stride) == 0 else stride
        if not stride_in_size:
            sh = sw = 1                          # stride left out of size and slice
        ph, pw = (padding, padding) if np.ndim(padding) == 0 else padding
        X, K = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
        sides = {"both": ((ph, ph), (pw, pw)), "before": ((ph, 0), (pw, 0)),
                 "after": ((0, ph), (0, pw))}[pad]
        Xp = np.pad(X, sides)
        (Hp, Wp), (kH, kW) = Xp.shape, K.shape
        if size == "ceil":                       # rounded up; zeros so the last window fits
            H_out, W_out = -(-(Hp - kH) // sh) + 1, -(-(Wp - kW) // sw) + 1
            Xp = np.pad(Xp, ((0, sh), (0, sw)))
        else:
            H_out, W_out = (Hp - kH) // sh + 1, (Wp - kW) // sw + 1
        Y = np.zeros((H_out, W_out))
        for i in range(H_out):
            for j in range(W_out):
                Y[i, j] = (Xp[i * sh:i * sh + kH, j * sw:j * sw + kW] * K).sum()
        return Y
    return conv2d_strided


@pytest.mark.parametrize("slip, code", [
    (dict(stride_in_size=False), "stride_ignored"), (dict(pad="before"), "padding_once"),
    (dict(pad="after"), "padding_once"), (dict(size="ceil"), "rounded_up"),
])
def test_the_visible_strided_checks_give_each_size_slip_its_own_hint(slip, code):
    """These used to get "too many positions ... N - F + 1 ... without padding" (or "the loop
    must run over range(N - F + 1)"): the hint of a valid convolution, not of these slips."""
    assert run03("test_conv2d_strided_hidden", {"conv2d_strided": strided_student()}) is None
    names = {"conv2d_strided": strided_student(**slip)}
    failures = [run03(grade_id, names, visible=True)
                for grade_id in ("test_conv2d_strided_seed_example", "test_conv2d_strided_hidden")]
    failed = next(f for f in failures if f is not None)
    assert failed.mistake == code, str(failed)
    assert "N - F + 1" not in str(failed)
