"""The pooling mistakes of convlib.mistake_library (notebook 08) compute what each mistake
produces: compared with an independent construction in torch (its pooling functions with other
arguments, unfold/fold, autograd), on inputs with ties, overlapping windows, padding and
several channels and images; and every code has an entry in the vocabulary."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convlib import mistakes
from convlib.mistake_library import pool2d_backward_mistakes, pool2d_mistakes
from tests.notebook_cells import run_cell

# (x shape, kernel, stride, padding): default stride, overlapping windows, padding, a window
# as large as the padded input
CASES = [((2, 3, 6, 7), 2, None, 0), ((1, 2, 7, 5), 3, 1, 0), ((2, 2, 7, 8), 3, 2, 1),
         ((1, 3, 5, 6), 2, None, 1), ((2, 1, 4, 4), 4, None, 2), ((1, 2, 6, 6), 3, None, 1)]


def inputs(shape, seed, ties):
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 3, shape).astype(float) if ties else rng.normal(size=shape)
    return x


def t(a):
    return torch.tensor(a, dtype=torch.float64)


def grad_of(pool, x, g):
    """dL/dx of pool(x) for upstream gradient g, by torch autograd."""
    xt = t(x).requires_grad_()
    pool(xt).backward(t(g))
    return xt.grad.numpy()


def windows(x, k, s, p, fill):
    """(N, C, k*k, L) windows of x padded with `fill` (torch's unfold), and the output size."""
    xt = F.pad(t(x), (p, p, p, p), value=fill)
    N, C, Hp, Wp = xt.shape
    cols = F.unfold(xt.reshape(N * C, 1, Hp, Wp), k, stride=s)
    out = ((Hp - k) // s + 1, (Wp - k) // s + 1)
    return cols.reshape(N, C, k * k, -1), (Hp, Wp), out


def fold(cols, padded_hw, k, s, p, H, W):
    N, C = cols.shape[:2]
    back = F.fold(cols.reshape(N * C, k * k, -1), padded_hw, k, stride=s)
    return back.reshape(N, C, *padded_hw)[:, :, p:p + H, p:p + W].numpy()


def max_grad_by_choice(x, g, k, s, p, choose):
    """The max-pooling gradient when `choose(window values (..., k*k, L))` picks the cells."""
    cols, padded_hw, _ = windows(x, k, s, p, -np.inf)
    picked = choose(cols).double()
    return fold(picked * t(g).flatten(2)[:, :, None], padded_hw, k, s, p, *x.shape[2:])


def first_in(mask):
    """Keep the first True along the window axis (dim 2)."""
    return mask & (mask.cumsum(2) == 1)


def overwritten(x, g, k, s, p, kind):
    """Each input keeps the share of the LAST window (in reading order) that wrote it."""
    N, C, H, W = x.shape
    if kind == "max":
        _, idx = F.max_pool2d(t(x), k, s, p, return_indices=True)
        want = torch.zeros(N, C, H * W, dtype=torch.float64)
        for n in range(N):
            for c in range(C):
                for i, v in zip(idx[n, c].flatten().tolist(), t(g)[n, c].flatten(), strict=True):
                    want[n, c, i] = v  # later windows replace earlier ones
        return want.reshape(N, C, H, W).numpy()
    s = k if s is None else s
    H_out, W_out = g.shape[2:]
    want = np.zeros_like(x)
    for h in range(H):
        for w in range(W):
            i, j = min((h + p) // s, H_out - 1), min((w + p) // s, W_out - 1)
            if i * s + k > h + p and j * s + k > w + p:  # the last window covering (h, w)
                want[:, :, h, w] = g[:, :, i, j] / (k * k)
    return want


def expected_forward(kind, code, x, k, s, p):
    """What each forward mistake gives, built with torch; None where it is not defined."""
    pool = F.max_pool2d if kind == "max" else F.avg_pool2d
    X = t(x)
    if code == "pool_stride_one":
        return None if s is not None else pool(X, k, 1, p).numpy()
    if code == "window_not_strided":  # the right size, the windows of stride 1
        if (k if s is None else s) == 1:
            return None
        H_out, W_out = pool(X, k, s, p).shape[2:]
        return pool(X, k, 1, p)[:, :, :H_out, :W_out].numpy()
    if code == "pool_padding_ignored":
        return None if p == 0 else pool(X, k, s, 0).numpy()
    if code == "pool_padded_with_zeros":
        return None if p == 0 else F.max_pool2d(F.pad(X, (p, p, p, p)), k, s).numpy()
    if code == "avg_padding_excluded":
        return None if p == 0 else F.avg_pool2d(X, k, s, p, count_include_pad=False).numpy()
    if code == "sum_not_mean":
        return F.avg_pool2d(X, k, s, p, divisor_override=1).numpy()
    if code == "pool_channels_mixed":  # a 3-D window spanning every channel
        pool3 = F.max_pool3d if kind == "max" else F.avg_pool3d
        C, step = x.shape[1], k if s is None else s
        y = pool3(X[:, None], (C, k, k), (1, step, step), (0, p, p))  # (N, 1, 1, H_out, W_out)
        return y[:, 0].expand(-1, C, -1, -1).numpy()
    raise KeyError(code)


def expected_backward(kind, code, x, g, k, s, p):
    pool = F.max_pool2d if kind == "max" else F.avg_pool2d
    step = k if s is None else s
    if code == "pool_stride_one":
        if s is not None:
            return None
        H_out, W_out = g.shape[2:]
        return grad_of(lambda X: pool(X, k, 1, p)[:, :, :H_out, :W_out], x, g)
    if code == "window_not_strided":  # a stride given, the windows still at (i, j)
        if s in (None, 1):
            return None
        H_out, W_out = g.shape[2:]
        return grad_of(lambda X: pool(X, k, 1, p)[:, :, :H_out, :W_out], x, g)
    if code == "max_grad_to_every_tie":
        return max_grad_by_choice(x, g, k, step, p, lambda c: c == c.amax(2, keepdim=True))
    if code == "max_grad_to_last_tie":
        return max_grad_by_choice(x, g, k, step, p, lambda c: first_in(
            (c == c.amax(2, keepdim=True)).flip(2)).flip(2))
    if code == "max_grad_to_whole_window":
        return grad_of(lambda X: F.avg_pool2d(X, k, s, p) * k * k, x, g)
    if code == "pool_padded_with_zeros":
        return None if p == 0 else grad_of(lambda X: F.max_pool2d(F.pad(X, (p, p, p, p)), k, s),
                                           x, g)
    if code == "avg_grad_not_divided":
        return grad_of(lambda X: F.avg_pool2d(X, k, s, p, divisor_override=1), x, g)
    if code == "avg_padding_excluded":
        return None if p == 0 else grad_of(
            lambda X: F.avg_pool2d(X, k, s, p, count_include_pad=False), x, g)
    if code == "grad_overwritten":
        return overwritten(x, g, k, s, p, kind)
    raise KeyError(code)


def same(got, want):
    if want is None or got is None:
        return got is None and want is None
    return got.shape == want.shape and np.allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("ties", [True, False], ids=["ties", "no ties"])
@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_each_forward_mistake_equals_its_torch_construction(kind, case, ties):
    shape, k, s, p = case
    x = inputs(shape, hash((shape, k)) % 2**32, ties)
    for code, mistake in pool2d_mistakes(kind).items():
        assert same(mistake(x, k, s, p), expected_forward(kind, code, x, k, s, p)), code


@pytest.mark.parametrize("ties", [True, False], ids=["ties", "no ties"])
@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_each_backward_mistake_equals_its_torch_construction(kind, case, ties):
    shape, k, s, p = case
    x = inputs(shape, hash((shape, k, 1)) % 2**32, ties)
    pool = F.max_pool2d if kind == "max" else F.avg_pool2d
    g = np.random.default_rng(7).normal(size=pool(t(x), k, s, p).shape)
    for code, mistake in pool2d_backward_mistakes(kind).items():
        assert same(mistake(x, g, k, s, p), expected_backward(kind, code, x, g, k, s, p)), code


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_the_mistakes_differ_from_the_right_answer_where_they_should(kind):
    """On a tied, padded, overlapping input every mistake is a different answer: a mistake
    that equalled torch's result could never be diagnosed."""
    x = inputs((2, 3, 7, 6), 3, ties=True) - 1.0
    pool = F.max_pool2d if kind == "max" else F.avg_pool2d
    for k, s, p in [(3, None, 1), (3, 2, 1), (2, None, 0)]:
        right = pool(t(x), k, s, p).numpy()
        for code, mistake in pool2d_mistakes(kind).items():
            got = mistake(x, k, s, p)
            assert got is None or not same(got, right), (code, k, s, p)
        g = np.random.default_rng(1).normal(size=right.shape)
        right_grad = grad_of(lambda X, k=k, s=s, p=p: pool(X, k, s, p), x, g)
        for code, mistake in pool2d_backward_mistakes(kind).items():
            got = mistake(x, g, k, s, p)
            overlap_only = code == "grad_overwritten" and (s or k) >= k
            if got is not None and not overlap_only:
                assert not same(got, right_grad), (code, k, s, p)


def test_every_pooling_mistake_code_is_in_the_vocabulary():
    codes = set()
    for kind in ("max", "avg"):
        codes |= set(pool2d_mistakes(kind)) | set(pool2d_backward_mistakes(kind))
    missing = codes - set(mistakes.MISTAKES)
    assert not missing, missing
    assert all(mistakes.MISTAKES[c].explanation for c in codes)


# ----------------------------------------------------------------------------- in the notebook

def student_pool(kind, *, stride_one=False, no_pad=False, zero_pad=False, exclude_pad=False,
                 no_mean=False, channels=False, unstrided=False):
    """Pooling as a student might write it, in loops, with one of the usual mistakes."""
    def pool(x, k, stride=None, padding=0):
        s = (1 if stride_one else k) if stride is None else stride
        p = 0 if no_pad else padding
        fill = -np.inf if kind == "max" and not zero_pad else 0.0
        pads = ((0, 0), (0, 0), (p, p), (p, p))
        xp = np.pad(x, pads, constant_values=fill)
        real = np.pad(np.ones_like(x), pads)
        N, C, Hp, Wp = xp.shape
        out = np.zeros((N, C, (Hp - k) // s + 1, (Wp - k) // s + 1))
        for n, c, i, j in np.ndindex(*out.shape):
            r, q = (i, j) if unstrided else (i * s, j * s)   # unstrided: windows at i:i+k
            rows, cols = slice(r, r + k), slice(q, q + k)
            w = xp[n, :, rows, cols] if channels else xp[n, c, rows, cols]
            if kind == "max":
                out[n, c, i, j] = w.max()
            else:
                count = real[n, c, rows, cols].sum() if exclude_pad else w.size
                out[n, c, i, j] = w.sum() / (1 if no_mean else count)
        return out
    return pool


def student_pool_backward(kind, *, stride_one=False, every_tie=False, last_tie=False,
                          whole=False, overwrite=False, zero_pad=False, not_divided=False,
                          exclude_pad=False):
    def backward(x, grad_out, k, stride=None, padding=0):
        s = (1 if stride_one else k) if stride is None else stride
        p = padding
        fill = -np.inf if kind == "max" and not zero_pad else 0.0
        pads = ((0, 0), (0, 0), (p, p), (p, p))
        xp = np.pad(x, pads, constant_values=fill)
        real = np.pad(np.ones_like(x), pads)
        grad = np.zeros_like(xp)
        for n, c, i, j in np.ndindex(*grad_out.shape):
            rows, cols = slice(i * s, i * s + k), slice(j * s, j * s + k)
            w, g = xp[n, c, rows, cols], grad_out[n, c, i, j]
            if kind == "max":
                ties = np.argwhere(w == w.max())
                mask = np.zeros(w.shape, dtype=bool)
                if whole or every_tie:
                    mask[:] = True if whole else (w == w.max())
                else:
                    mask[tuple(ties[-1 if last_tie else 0])] = True
                share = np.where(mask, g, 0.0)
            else:
                mask = np.ones(w.shape, dtype=bool)
                count = real[n, c, rows, cols].sum() if exclude_pad else w.size
                share = np.full(w.shape, g / (1 if not_divided else count))
            if overwrite:
                grad[n, c, rows, cols][mask] = share[mask]
            else:
                grad[n, c, rows, cols] += share
        return grad[:, :, p:p + x.shape[2], p:p + x.shape[3]]
    return backward


FORWARD_MISTAKES = [
    ("max", {"stride_one": True}, "pool_stride_one"), ("avg", {"stride_one": True},
                                                       "pool_stride_one"),
    ("max", {"no_pad": True}, "pool_padding_ignored"), ("avg", {"no_pad": True},
                                                        "pool_padding_ignored"),
    ("max", {"zero_pad": True}, "pool_padded_with_zeros"),
    ("avg", {"exclude_pad": True}, "avg_padding_excluded"),
    ("avg", {"no_mean": True}, "sum_not_mean"),
    ("max", {"channels": True}, "pool_channels_mixed"), ("avg", {"channels": True},
                                                         "pool_channels_mixed"),
    ("max", {"unstrided": True}, "window_not_strided"), ("avg", {"unstrided": True},
                                                         "window_not_strided"),
]
BACKWARD_MISTAKES = [
    ("max", {"stride_one": True}, "pool_stride_one"), ("avg", {"stride_one": True},
                                                       "pool_stride_one"),
    ("max", {"every_tie": True}, "max_grad_to_every_tie"),
    ("max", {"last_tie": True}, "max_grad_to_last_tie"),
    ("max", {"whole": True}, "max_grad_to_whole_window"),
    ("max", {"overwrite": True}, "grad_overwritten"), ("avg", {"overwrite": True},
                                                       "grad_overwritten"),
    ("max", {"zero_pad": True}, "pool_padded_with_zeros"),
    ("avg", {"not_divided": True}, "avg_grad_not_divided"),
    ("avg", {"exclude_pad": True}, "avg_padding_excluded"),
]


def run_check(grade_id, names):
    failed = run_cell("08_pooling_and_a_network", grade_id, names)
    return None if failed is None else failed.mistake


@pytest.mark.parametrize("kind, bug, code", FORWARD_MISTAKES, ids=lambda v: str(v))
def test_the_forward_self_check_names_each_mistake_of_a_loop_implementation(kind, bug, code):
    names = {"max_pool2d": student_pool("max"), "avg_pool2d": student_pool("avg")}
    assert run_check("test_pool_forward_self_check", names) is None  # honest loops pass
    names[f"{kind}_pool2d"] = student_pool(kind, **bug)
    assert run_check("test_pool_forward_self_check", names) == code


@pytest.mark.parametrize("kind, bug, code", BACKWARD_MISTAKES, ids=lambda v: str(v))
def test_the_backward_self_check_names_each_mistake_of_a_loop_implementation(kind, bug, code):
    names = {"max_pool2d_backward": student_pool_backward("max"),
             "avg_pool2d_backward": student_pool_backward("avg")}
    assert run_check("test_pool_backward_self_check", names) is None
    names[f"{kind}_pool2d_backward"] = student_pool_backward(kind, **bug)
    assert run_check("test_pool_backward_self_check", names) == code


@pytest.mark.parametrize("grade_id", ["test_pool_forward_hidden", "test_pool_backward_hidden"])
def test_the_hidden_checks_pass_honest_loops_and_fail_a_tie_or_stride_mistake(grade_id):
    if "backward" in grade_id:
        names = {"max_pool2d_backward": student_pool_backward("max"),
                 "avg_pool2d_backward": student_pool_backward("avg")}
        assert run_check(grade_id, names) is None
        names["max_pool2d_backward"] = student_pool_backward("max", last_tie=True)
        assert run_check(grade_id, names) == "max_grad_to_last_tie"
    else:
        names = {"max_pool2d": student_pool("max"), "avg_pool2d": student_pool("avg")}
        assert run_check(grade_id, names) is None
        names["avg_pool2d"] = student_pool("avg", stride_one=True)
        assert run_check(grade_id, names) == "pool_stride_one"
