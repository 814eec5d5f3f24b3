"""The 07 backward section of convlib.mistake_library: every simulated mistake equals the same
mistake built independently with torch (or scipy), on non-square inputs, several channels and
strides; and a deliberately wrong backward pass is named by the check it would meet."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import signal

from convlib import mistake_library as ml
from convlib.checks import CheckFailed
from convlib.mistakes import MISTAKES

# (N, C_in, H, W), (C_out, kH, kW), stride: non-square, asymmetric kernels, leftover rows
LAYERS = [((2, 3, 7, 6), (3, 3, 2), 1), ((2, 3, 9, 8), (3, 3, 2), 2),
          ((3, 2, 8, 11), (4, 2, 3), 3), ((1, 1, 5, 4), (2, 2, 2), 2)]


def layer(shape, kernel, stride, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    w = rng.normal(size=(kernel[0], shape[1], *kernel[1:]))
    h_out = (shape[2] - kernel[1]) // stride + 1
    w_out = (shape[3] - kernel[2]) // stride + 1
    g = rng.normal(size=(shape[0], kernel[0], h_out, w_out))
    return x, w, g, stride


def autograd(x, w, g, stride):
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    bt = torch.zeros(w.shape[0], dtype=torch.float64, requires_grad=True)
    F.conv2d(xt, wt, bt, stride=stride).backward(torch.tensor(g))
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def candidates(mistakes, code, *args):
    out = mistakes[code](*args)
    return [np.asarray(o) for o in (out if isinstance(out, list) else [out]) if o is not None]


def pad_to(a, hw):
    return np.pad(a, [(0, 0)] * (a.ndim - 2) + [(0, hw[0] - a.shape[-2]),
                                                 (0, hw[1] - a.shape[-1])])


@pytest.mark.parametrize("shape, kernel, stride", LAYERS)
def test_the_reference_is_torch_autograd(shape, kernel, stride):
    args = layer(shape, kernel, stride)
    for mine, theirs in zip(ml.backward_reference(*args), autograd(*args), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shape, kernel, stride", LAYERS)
def test_grad_x_mistakes_are_transposed_convolutions_gone_wrong(shape, kernel, stride):
    x, w, g, s = layer(shape, kernel, stride)
    m = ml.backward_mistakes("grad_x")
    G, W = torch.tensor(g), torch.tensor(w)
    leftover = ((shape[2] - kernel[1]) % s, (shape[3] - kernel[2]) % s)
    no_flip = F.conv_transpose2d(G, W.flip(-1, -2), stride=s, output_padding=leftover).numpy()
    np.testing.assert_allclose(candidates(m, "grad_flip_forgotten", x, w, g, s)[0], no_flip)
    # 'valid' instead of 'full' = the transposed convolution cropped by kH - 1, kW - 1 each side
    valid = candidates(m, "grad_valid_not_full", x, w, g, s)
    cropped = F.conv_transpose2d(G, W, stride=s, padding=(kernel[1] - 1, kernel[2] - 1))
    np.testing.assert_allclose(valid[0], cropped.numpy())
    # stride ignored: every window treated as if it started at (i, j), not (i s, j s)
    ignored = candidates(m, "grad_stride_ignored", x, w, g, s)
    stride_one = F.conv_transpose2d(G, W, stride=1).numpy()
    np.testing.assert_allclose(ignored[0], pad_to(stride_one, shape[2:]))
    np.testing.assert_allclose(ignored[1], stride_one)
    right = autograd(x, w, g, s)[0]
    assert not np.allclose(candidates(m, "grad_flip_forgotten", x, w, g, s)[0], right)
    assert (s == 1) == np.allclose(ignored[0], right)


def test_grad_x_with_weight_axes_swapped_only_where_the_shapes_allow():
    x, w, g, s = layer((2, 3, 7, 6), (3, 3, 2), 2)
    m = ml.backward_mistakes("grad_x")
    swapped = autograd(x, w.transpose(1, 0, 2, 3).copy(), g, s)[0]
    np.testing.assert_allclose(candidates(m, "grad_wrong_axis", x, w, g, s)[0], swapped)
    x, w, g, s = layer((3, 2, 8, 11), (4, 2, 3), 3)
    assert candidates(m, "grad_wrong_axis", x, w, g, s) == []


@pytest.mark.parametrize("shape, kernel, stride", LAYERS)
def test_grad_weight_mistakes(shape, kernel, stride):
    x, w, g, s = layer(shape, kernel, stride)
    m = ml.backward_mistakes("grad_weight")
    right = autograd(x, w, g, s)[1]
    np.testing.assert_allclose(candidates(m, "grad_flip_added", x, w, g, s)[0],
                               right[..., ::-1, ::-1])
    # stride ignored = a stride-1 layer on the top-left corner the stride-1 windows reach
    h, wd = g.shape[2] + kernel[1] - 1, g.shape[3] + kernel[2] - 1
    corner = autograd(x[:, :, :h, :wd].copy(), w, g, 1)[1]
    np.testing.assert_allclose(candidates(m, "grad_stride_ignored", x, w, g, s)[0], corner)
    first, mean = candidates(m, "grad_batch_not_summed", x, w, g, s)
    np.testing.assert_allclose(first, autograd(x[:1], w, g[:1], s)[1])
    np.testing.assert_allclose(mean, right / shape[0])
    assert not np.allclose(candidates(m, "grad_flip_added", x, w, g, s)[0], right)


@pytest.mark.parametrize("shape, kernel, stride", LAYERS)
def test_grad_bias_mistakes(shape, kernel, stride):
    x, w, g, s = layer(shape, kernel, stride)
    m = ml.backward_mistakes("grad_bias")
    first, mean = candidates(m, "grad_batch_not_summed", x, w, g, s)
    np.testing.assert_allclose(first, autograd(x[:1], w, g[:1], s)[2])
    np.testing.assert_allclose(mean, autograd(*layer(shape, kernel, stride))[2] / shape[0])
    G = torch.tensor(g)
    per_image, per_map, total = candidates(m, "grad_wrong_axis", x, w, g, s)
    np.testing.assert_allclose(per_image, torch.einsum("noij->n", G).numpy())
    np.testing.assert_allclose(per_map, torch.einsum("noij->no", G).numpy())
    np.testing.assert_allclose(total, G.sum().numpy())


def test_single_channel_mistakes_against_scipy():
    rng = np.random.default_rng(3)
    X, K = rng.normal(size=(9, 7)), rng.normal(size=(2, 3))
    dY = rng.normal(size=(8, 5))
    right = ml.backward_single_reference(X, K, dY)
    np.testing.assert_allclose(right[0], signal.convolve2d(dY, K, mode="full"))
    np.testing.assert_allclose(right[1], signal.correlate2d(X, dY, mode="valid"))
    assert right[2] == pytest.approx(dY.sum())
    m = {part: ml.backward_single_mistakes(part) for part in ml.GRADIENT_PARTS}
    np.testing.assert_allclose(candidates(m["grad_x"], "grad_flip_forgotten", X, K, dY)[0],
                               signal.correlate2d(dY, K, mode="full"))
    valid = candidates(m["grad_x"], "grad_valid_not_full", X, K, dY)
    np.testing.assert_allclose(valid[0], signal.convolve2d(dY, K, mode="valid"))
    np.testing.assert_allclose(valid[1], signal.correlate2d(dY, K, mode="valid"))
    np.testing.assert_allclose(candidates(m["grad_weight"], "grad_flip_added", X, K, dY)[1],
                               signal.convolve2d(X, dY, mode="valid"))
    assert candidates(m["grad_bias"], "grad_bias_mean", X, K, dY)[0] == pytest.approx(dY.mean())


def test_relative_error_mistakes():
    a = torch.tensor([1.0, -2.0, 0.0, 3.0, 1e-3])
    b = torch.tensor([1.5, -2.0, 0.0, -1.0, 2e-3])
    m = ml.relative_error_mistakes()
    d = (a - b).abs()
    one_b, one_a = candidates(m, "rel_error_one_sided", a.numpy(), b.numpy())
    np.testing.assert_allclose(one_b, torch.nan_to_num(d / b.abs()).numpy())
    np.testing.assert_allclose(one_a, torch.nan_to_num(d / a.abs()).numpy())
    np.testing.assert_allclose(candidates(m, "rel_error_sum_denominator", a.numpy(), b.numpy())[0],
                               torch.nan_to_num(d / (a.abs() + b.abs())).numpy())
    np.testing.assert_allclose(candidates(m, "rel_error_not_relative", a.numpy(), b.numpy())[0],
                               d.numpy())
    right = torch.nan_to_num(d / torch.maximum(a.abs(), b.abs()))
    np.testing.assert_allclose(candidates(m, "rel_error_signed", a.numpy(), b.numpy())[0],
                               (right * torch.sign(a - b)).numpy())
    nan = candidates(m, "rel_error_zero_division", a.numpy(), b.numpy())[0]
    np.testing.assert_allclose(nan, (d / torch.maximum(a.abs(), b.abs())).numpy())
    assert np.isnan(nan[2]) and not np.isnan(nan[[0, 1, 3, 4]]).any()


def tanh_loss(x, w, g, s):
    """L(x) = sum(tanh(conv2d(x, w, stride=s)) * g), in torch."""
    return (torch.tanh(F.conv2d(torch.as_tensor(x), torch.tensor(w), stride=s)) *
            torch.tensor(g)).sum()


def test_numerical_gradient_reference_is_autograd_of_the_tanh_loss():
    x, w, g, s = layer((2, 3, 9, 8), (3, 3, 2), 2)
    xt = torch.tensor(x, requires_grad=True)
    tanh_loss(xt, w, g, s).backward()
    np.testing.assert_allclose(ml.numerical_grad_reference(x, w, g, s), xt.grad.numpy(),
                               rtol=1e-12, atol=1e-12)
    # the tanh is what makes a one-sided difference wrong: L is not linear in x
    assert not np.allclose(xt.grad.numpy(), autograd(x, w, g, s)[0])


def test_numerical_gradient_mistakes():
    x, w, g, s = layer((2, 3, 9, 8), (3, 3, 2), 2)
    right = ml.numerical_grad_reference(x, w, g, s)
    m = ml.numerical_grad_mistakes()
    np.testing.assert_allclose(candidates(m, "grad_step_not_halved", x, w, g, s)[0], 2 * right)
    np.testing.assert_allclose(candidates(m, "grad_all_perturbed", x, w, g, s)[0],
                               np.full(x.shape, right.sum()))
    # one-sided differences by torch: L(x + h e) - L(x), and L(x) - L(x - h e), over h
    h, base = 1e-5, tanh_loss(x, w, g, s).item()
    forward, backward = np.zeros_like(x), np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = h
        forward[idx] = (tanh_loss(x + step, w, g, s).item() - base) / h
        backward[idx] = (base - tanh_loss(x - step, w, g, s).item()) / h
    one_sided = candidates(m, "grad_one_sided", x, w, g, s)
    np.testing.assert_allclose(one_sided[0], forward, atol=1e-8)
    np.testing.assert_allclose(one_sided[1], backward, atol=1e-8)
    assert np.abs(forward - right).max() > 1e-5   # off by about h / 2 times the curvature


# ----------------------------------------------------------------------------- end to end

def torch_backward(x, w, g, stride=1, *, flip=False, batch_first=False, stride_seen=None):
    """A backward pass by autograd with one mistake switched on, as a student might make it."""
    s = stride if stride_seen is None else stride_seen
    gx, gw, gb = autograd(x, w, g, stride)
    if batch_first:
        gw, gb = autograd(x[:1], w, g[:1], stride)[1:]
    if stride_seen is not None:
        h, wd = g.shape[2] + w.shape[2] - 1, g.shape[3] + w.shape[3] - 1
        gx = pad_to(autograd(x[:, :, :h, :wd].copy(), w, g, s)[0], x.shape[2:])
    if flip:
        gw = gw[..., ::-1, ::-1].copy()
    return gx, gw, gb


@pytest.mark.parametrize("wrong, code", [
    (dict(stride_seen=1), "grad_stride_ignored"),
    (dict(flip=True), "grad_flip_added"),
    (dict(batch_first=True), "grad_batch_not_summed"),
])
def test_a_wrong_backward_is_named_by_check_gradients(wrong, code):
    args = layer((2, 3, 9, 8), (3, 3, 2), 2)

    def student(x, w, g, stride=1):
        return torch_backward(x, w, g, stride, **wrong)

    with pytest.raises(CheckFailed) as failed:
        ml.check_gradients(student, [("a layer", args)], name="student")
    assert failed.value.mistake == code, str(failed.value)
    ml.check_gradients(lambda *a: torch_backward(*a), [("a layer", args)], name="right")


def test_a_single_channel_backward_without_the_flip_is_named():
    def student(X, K, dY):
        dX = signal.correlate2d(dY, K, mode="full")
        return dX, signal.correlate2d(X, dY, mode="valid"), dY.sum()

    rng = np.random.default_rng(4)
    args = (rng.normal(size=(5, 6)), rng.normal(size=(2, 3)), rng.normal(size=(4, 4)))
    with pytest.raises(CheckFailed) as failed:
        ml.check_gradients(student, [("an image", args)], name="student", single=True)
    assert failed.value.mistake == "grad_flip_forgotten", str(failed.value)


def test_a_stub_is_not_implemented_and_a_lone_array_is_the_wrong_type():
    def stub(*args):
        raise NotImplementedError()

    with pytest.raises(CheckFailed) as failed:
        ml.backward_results(stub, (), "stub")
    assert failed.value.mistake == "not_implemented"
    args = layer((1, 1, 5, 4), (2, 2, 2), 2)
    with pytest.raises(CheckFailed) as failed:
        ml.check_gradients(lambda *a: autograd(*a)[0], [("a layer", args)], name="one array")
    assert failed.value.mistake == "wrong_type"


@pytest.mark.parametrize("returned", [None, (1, 2), np.zeros(3)])
def test_anything_but_three_gradients_is_the_wrong_type(returned):
    with pytest.raises(CheckFailed) as failed:
        ml.backward_results(lambda *a: returned, (), "conv2d_backward")
    assert failed.value.mistake == "wrong_type"


def test_every_code_of_the_section_has_an_entry_in_the_vocabulary():
    codes = set()
    for part in ml.GRADIENT_PARTS:
        codes |= set(ml.backward_mistakes(part)) | set(ml.backward_single_mistakes(part))
    codes |= set(ml.relative_error_mistakes()) | set(ml.numerical_grad_mistakes())
    assert codes and not codes - set(MISTAKES), codes - set(MISTAKES)


def _valid_dx(X, K, dY):
    return (signal.convolve2d(dY, K, mode="valid"), signal.correlate2d(X, dY, mode="valid"),
            dY.sum())


def _mean_db(X, K, dY):
    return (signal.convolve2d(dY, K, mode="full"), signal.correlate2d(X, dY, mode="valid"),
            dY.mean())


@pytest.mark.parametrize("student, code", [(_valid_dx, "grad_valid_not_full"),
                                           (_mean_db, "grad_bias_mean")])
def test_single_channel_mistakes_are_named_end_to_end(student, code):
    rng = np.random.default_rng(5)
    args = (rng.normal(size=(7, 6)), rng.normal(size=(2, 3)), rng.normal(size=(6, 4)))
    with pytest.raises(CheckFailed) as failed:
        ml.check_gradients(student, [("an image", args)], name="student", single=True)
    assert failed.value.mistake == code, str(failed.value)


def test_a_bias_gradient_summed_over_the_channels_is_the_wrong_axis():
    args = layer((2, 3, 9, 8), (3, 3, 2), 2)

    def student(x, w, g, stride=1):
        gx, gw, _ = autograd(x, w, g, stride)
        return gx, gw, g.sum(axis=(1, 2, 3))

    with pytest.raises(CheckFailed) as failed:
        ml.check_gradients(student, [("a layer", args)], name="student")
    assert failed.value.mistake == "grad_wrong_axis", str(failed.value)
