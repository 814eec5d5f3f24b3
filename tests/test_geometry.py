"""convlib.geometry: the sliding window's output size and numbers are torch's, and the cells
each window covers are the ones torch's unfold gathers."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from convlib import figures, geometry

TORCH_MODE = {"reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def torch_correlate(X, K, stride, padding, dilation, mode="zeros"):
    x = torch.as_tensor(X)[None, None]
    k = torch.as_tensor(K)[None, None]
    if mode != "zeros":
        x = F.pad(x, (padding[1], padding[1], padding[0], padding[0]), mode=TORCH_MODE[mode])
        padding = 0
    return F.conv2d(x, k, stride=stride, padding=padding, dilation=dilation)[0, 0].numpy()


@settings(max_examples=80, deadline=None)
@given(h=st.integers(1, 10), w=st.integers(1, 10), kh=st.integers(1, 4), kw=st.integers(1, 4),
       sh=st.integers(1, 3), sw=st.integers(1, 3), ph=st.integers(0, 2), pw=st.integers(0, 2),
       dh=st.integers(1, 2), dw=st.integers(1, 2),
       mode=st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
       seed=st.integers(0, 10**6))
def test_window_steps_output_equals_torch_or_refuses_what_torch_refuses(
        h, w, kh, kw, sh, sw, ph, pw, dh, dw, mode, seed):
    rng = np.random.default_rng(seed)
    X = rng.integers(-3, 4, size=(h, w)).astype(float)
    K = rng.integers(-2, 3, size=(kh, kw)).astype(float)
    try:
        Y = torch_correlate(X, K, (sh, sw), (ph, pw), (dh, dw), mode)
    except RuntimeError:  # the kernel does not fit, or padding too large for the mode
        Y = None
    if Y is None or Y.size == 0:
        with pytest.raises(ValueError):
            geometry.window_steps(X, K, (sh, sw), (ph, pw), (dh, dw), mode)
        return
    steps = geometry.window_steps(X, K, (sh, sw), (ph, pw), (dh, dw), mode)
    assert steps.out_shape == Y.shape and steps.n_positions == Y.size
    np.testing.assert_allclose(steps.Y, Y)
    assert steps.padded.shape == (h + 2 * ph, w + 2 * pw)
    assert steps.pads == (ph, ph, pw, pw)
    assert (steps.kinds == "input").sum() == h * w
    assert (steps.kinds == "padding").sum() == steps.padded.size - h * w


@settings(max_examples=60, deadline=None)
@given(h=st.integers(2, 9), w=st.integers(2, 9), k=st.integers(1, 3), s=st.integers(1, 3),
       p=st.integers(0, 2), d=st.integers(1, 2))
def test_window_cells_are_the_cells_torch_unfold_gathers(h, w, k, s, p, d):
    if d * (k - 1) + 1 > min(h, w) + 2 * p:
        return
    X = np.zeros((h, w))
    steps = geometry.window_steps(X, np.ones((k, k)), s, p, d)
    Hp, Wp = steps.padded.shape
    # unfold an image whose value is each padded cell's flat index: column n of the result
    # lists the cells window n reads
    index = torch.arange(Hp * Wp, dtype=torch.float64).reshape(1, 1, Hp, Wp)
    columns = F.unfold(index, (k, k), dilation=d, stride=s)[0].numpy().astype(int)
    assert columns.shape[1] == steps.n_positions
    for n in range(steps.n_positions):
        rows, cols = steps.window_cells(n)
        cells = (rows[:, None] * Wp + cols[None, :]).ravel()
        assert sorted(cells) == sorted(columns[:, n])
    # what no window reads: after the last window, dropped_*; between windows, skipped_*
    read = np.zeros(Hp * Wp, bool)
    read[columns.ravel()] = True
    read = read.reshape(Hp, Wp)
    unread_rows = [r for r in range(Hp) if not read[r].any()]
    unread_cols = [c for c in range(Wp) if not read[:, c].any()]
    last_row, last_col = max(np.nonzero(read.any(axis=1))[0]), max(np.nonzero(read.any(0))[0])
    assert steps.dropped_rows == [r for r in unread_rows if r > last_row]
    assert steps.dropped_cols == [c for c in unread_cols if c > last_col]
    assert steps.skipped_rows == [r for r in unread_rows if r < last_row]
    assert steps.skipped_cols == [c for c in unread_cols if c < last_col]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_same_padding_with_an_even_kernel_pads_right_and_bottom_as_torch():
    X = np.arange(30.0).reshape(5, 6)
    K = np.ones((2, 4))
    steps = geometry.window_steps(X, K, padding="same")
    assert steps.pads == (0, 1, 1, 2)  # torch: total d(k-1), the smaller half before
    Y = F.conv2d(torch.tensor(X)[None, None], torch.tensor(K)[None, None], padding="same")
    np.testing.assert_allclose(steps.Y, Y[0, 0].numpy())


def test_positions_flat_and_pairs_agree_and_outside_is_refused():
    steps = geometry.window_steps(np.ones((5, 6)), np.ones((3, 3)))  # output 3x4
    assert steps.position(5) == steps.position((1, 1)) == (1, 1)
    with pytest.raises(ValueError, match="outside the output 3x4"):
        steps.position(12)


def test_window_steps_accepts_torch_and_refuses_a_vector_with_advice():
    steps = geometry.window_steps(torch.ones(4, 4), torch.ones(3, 3, dtype=torch.float32))
    assert steps.Y.dtype == np.float64 and steps.Y.shape == (2, 2)
    with pytest.raises(ValueError, match=r"X must be 2-D of shape \(H, W\)"):
        geometry.window_steps(np.ones(4), np.ones((3, 3)))


def test_figures_keeps_the_names_notebook_03_imports():
    assert figures.window_steps is geometry.window_steps
    assert figures.WindowSteps is geometry.WindowSteps
