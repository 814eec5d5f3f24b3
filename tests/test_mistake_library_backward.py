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
from tests.notebook_cells import run_cell

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


# ----------------------------------------------------------------------------- 07 in the notebook

NB07 = "07_backward"


def single_right(X, K, dY):
    return signal.convolve2d(dY, K, mode="full"), signal.correlate2d(X, dY, mode="valid"), dY.sum()


def dx_of_dy_shape(X, K, dY):
    """dX computed only where dY has entries: a loop over range(H_out), range(W_out)."""
    full = signal.convolve2d(dY, K, mode="full")
    return full[:dY.shape[0], :dY.shape[1]], signal.correlate2d(X, dY, mode="valid"), dY.sum()


@pytest.mark.parametrize("student, code, words", [
    (_valid_dx, "grad_valid_not_full", "padded"),
    (dx_of_dy_shape, "grad_valid_not_full", "padded"),
    (lambda X, K, dY: (single_right(X, K, dY)[1], single_right(X, K, dY)[0], dY.sum()),
     "gradients_out_of_order", "(dX, dK, db)"),
    (_mean_db, "grad_bias_mean", "SUM of dL/dY"),
])
def test_the_single_channel_self_check_gives_the_hint_that_fixes_it(student, code, words):
    """dX at the wrong size or the gradients in another order used to be told "the loop must
    run over range(N - F + 1)", the opposite of the fix; db = dY.mean() "divided by the number
    of kernel entries", with "expected shape (), got ()"."""
    assert run_cell(NB07, "test_backward_single_self_check",
                    {"conv2d_backward_single": single_right}) is None
    failed = run_cell(NB07, "test_backward_single_self_check",
                      {"conv2d_backward_single": student})
    assert failed is not None and failed.mistake == code, str(failed)
    assert words in str(failed)
    for wrong in ("range(N - F + 1)", "kernel entries", "shape ()"):
        assert wrong not in str(failed)


def scatter_backward(x, weight, grad_out, stride=1, *, flip=False):
    """The exercise's scatter form; ``flip`` stamps the flipped kernel."""
    kH, kW = weight.shape[2:]
    stamp = weight[:, :, ::-1, ::-1] if flip else weight
    grad_x, grad_weight = np.zeros_like(x), np.zeros_like(weight)
    for i in range(grad_out.shape[2]):
        for j in range(grad_out.shape[3]):
            rows, cols = slice(i * stride, i * stride + kH), slice(j * stride, j * stride + kW)
            g = grad_out[:, :, i, j]
            grad_weight += np.einsum("no,nchw->ochw", g, x[:, :, rows, cols])
            grad_x[:, :, rows, cols] += np.einsum("no,ochw->nchw", g, stamp)
    return grad_x, grad_weight, grad_out.sum(axis=(0, 2, 3))


def test_a_scatter_form_that_stamps_the_flipped_kernel_is_not_told_to_flip():
    names = {"conv2d_backward": scatter_backward}
    assert run_cell(NB07, "test_backward_self_check", names) is None
    names = {"conv2d_backward": lambda *a: scatter_backward(*a, flip=True)}
    failed = run_cell(NB07, "test_backward_self_check", names)
    assert failed.mistake == "grad_flip_forgotten", str(failed)
    assert "scatter form" in str(failed) and "the kernel as it is" in str(failed)


def numerical(x, weight, grad_out, stride=1, h=1e-5, *, form="centred", loss="tanh"):
    """numerical_grad_x as a student writes it: centred or one-sided, of the tanh loss of the
    exercise or of the linear loss sum(y * grad_out)."""
    x = np.array(x, dtype=float)

    def L(v):
        y = F.conv2d(torch.tensor(v), torch.tensor(weight), stride=stride).numpy()
        return float(((np.tanh(y) if loss == "tanh" else y) * grad_out).sum())

    out, base = np.zeros_like(x), L(x)
    for idx in np.ndindex(x.shape):
        saved = x[idx]
        x[idx] = saved + h
        plus = L(x)
        x[idx] = saved - h
        minus = L(x)
        x[idx] = saved
        out[idx] = {"centred": (plus - minus) / (2 * h), "forward": (plus - base) / h,
                    "backward": (base - minus) / h}[form]
    return out


@pytest.mark.parametrize("visible", [True, False], ids=["visible", "graded"])
def test_a_one_sided_numerical_gradient_fails_with_its_own_hint(visible):
    """On the linear loss sum(y * grad_out) a one-sided difference is exact and passed; the
    check's loss has a tanh, so it is off by about h / 2 times the curvature."""
    def run(**how):
        return run_cell(NB07, "test_numerical_grad_x",
                        {"numerical_grad_x": lambda *a: numerical(*a, **how)}, visible=visible)

    assert run() is None
    for form in ("forward", "backward"):
        failed = run(form=form)
        assert failed is not None and failed.mistake == "grad_one_sided", str(failed)
    assert run(loss="linear") is not None    # the gradient of another loss is not this one
