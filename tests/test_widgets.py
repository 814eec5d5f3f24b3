"""convlib.widgets in-process: move the controls, read ``state`` and the drawn picture, and
compare with torch."""

import io

import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from convlib import figures, render, widgets
from convlib.images import photo
from convlib.kernels import KERNEL_NAMES, kernel

TORCH_MODE = {"reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def torch_correlate(X, K, stride=1, padding=0, dilation=1, mode="zeros"):
    x = torch.as_tensor(np.asarray(X, dtype=float))[None, None]
    k = torch.as_tensor(np.asarray(K, dtype=float))[None, None]
    if mode == "zeros":
        return F.conv2d(x, k, stride=stride, padding=padding, dilation=dilation)[0, 0].numpy()
    if padding:
        x = F.pad(x, (padding,) * 4, mode=TORCH_MODE[mode])
    return F.conv2d(x, k, stride=stride, dilation=dilation)[0, 0].numpy()


def set_controls(w, **values):
    for name, value in values.items():
        w.controls[name.replace("_", " ")].value = value


# ----------------------------------------------------------------------------- conv explorer

def test_explorer_has_the_documented_controls():
    w = widgets.conv_explorer()
    for name in ("height", "width", "kernel", "stride", "padding", "dilation", "padding mode",
                 "position"):
        assert w.controls[name].description == name
    assert w.controls["play"].description == "Play"
    assert w.controls["padding mode"].options == ("zeros", "reflect", "replicate", "circular")


def test_explorer_7x7_kernel_3_stride_2_padding_1_gives_4_x_4():
    w = widgets.conv_explorer()
    assert "output size: 5 x 5" in w.formula.value
    set_controls(w, stride=2, padding=1)
    assert "output size: 4 x 4" in w.formula.value
    assert w.state["output_shape"] == (4, 4)
    assert "floor((7 + 2·1 − 1·(3 − 1) − 1) / 2) + 1 = 4" in w.formula.value
    np.testing.assert_allclose(w.state["output"], torch_correlate(w.state["X"], w.state["K"],
                                                                  2, 1))


def test_explorer_constructor_arguments_set_the_controls():
    w = widgets.conv_explorer(height=5, width=6, kernel_size=2, stride=2, padding=1, dilation=1,
                              padding_mode="replicate")
    assert w.state["input_shape"] == (5, 6) and w.state["kernel_shape"] == (2, 2)
    assert w.state["padding_mode"] == "replicate"
    assert w.state["output_shape"] == torch_correlate(
        w.state["X"], w.state["K"], 2, 1, 1, "replicate").shape


@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 12), wd=st.integers(1, 12), k=st.integers(1, 7), s=st.integers(1, 4),
       p=st.integers(0, 4), d=st.integers(1, 3),
       mode=st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
def test_explorer_agrees_with_torch_or_explains_why_impossible(h, wd, k, s, p, d, mode):
    w = widgets.conv_explorer()
    set_controls(w, height=h, width=wd, kernel=k, stride=s, padding=p, dilation=d,
                 padding_mode=mode)
    X, K = w.state["X"], w.state["K"]
    assert X.shape == (h, wd) and K.shape == (k, k)
    try:
        Y = torch_correlate(X, K, s, p, d, mode)
    except RuntimeError:  # torch refuses: too large a kernel, or padding too large for mode
        Y = None
    if Y is None or Y.size == 0:
        assert w.state["message"], "torch refused these settings but the widget did not say"
        assert "output size: impossible" in w.formula.value
        assert w.image.layout.display == "none"
        return
    assert w.state["message"] is None
    assert w.state["output_shape"] == Y.shape
    assert f"output size: {Y.shape[0]} x {Y.shape[1]}" in w.formula.value
    np.testing.assert_allclose(w.state["output"], Y)
    assert w.controls["position"].max == Y.size - 1
    assert w.controls["play"].max == Y.size - 1


def test_explorer_impossible_kernel_is_reported_not_raised():
    w = widgets.conv_explorer(height=4, width=4)
    set_controls(w, kernel=5)
    assert "output size: impossible" in w.formula.value
    assert "kernel 5x5 is larger than the padded input 4x4" in w.formula.value
    assert w.state["output_shape"] is None
    set_controls(w, padding=1)  # padded 6x6 now fits
    assert "output size: 2 x 2" in w.formula.value and w.state["message"] is None
    assert w.image.layout.display is None


def test_explorer_reflect_padding_too_large_is_reported_not_raised():
    w = widgets.conv_explorer(height=3, width=3)
    set_controls(w, padding_mode="reflect", padding=3)
    assert "output size: impossible" in w.formula.value
    assert "reflect" in w.state["message"]


def test_explorer_names_the_rows_and_columns_a_stride_drops():
    w = widgets.conv_explorer(height=6, width=7, stride=2)
    # rows: windows start at 0 and 2 and cover rows 0-4; row 5 is never used.
    # cols: windows start at 0, 2, 4 and cover cols 0-6: nothing left over.
    assert w.state["dropped_rows"] == [5] and w.state["dropped_cols"] == []
    assert "does not divide evenly" in w.formula.value
    assert "padded row 5" in w.formula.value and "column" not in w.formula.value.split(
        "does not divide evenly")[1]
    set_controls(w, height=7)
    assert w.state["dropped_rows"] == [] and "divides evenly" in w.formula.value
    assert "does not divide" not in w.formula.value


def test_explorer_names_the_rows_a_stride_longer_than_the_kernel_skips():
    w = widgets.conv_explorer(height=7, width=5, kernel_size=1, stride=2)
    # 1x1 windows at rows 0, 2, 4, 6 and columns 0, 2, 4: 7 - 1 and 5 - 1 divide by 2
    X = w.state["X"]
    np.testing.assert_allclose(w.state["output"], torch_correlate(X, w.state["K"], 2))
    assert "every padded row and column is used" not in w.formula.value
    assert "the windows skip padded rows 1, 3, 5 and columns 1, 3" in w.formula.value
    set_controls(w, kernel=2)  # 2x2 windows at 0, 2, 4 cover 0-5: row 6 dropped, none skipped
    assert "skip" not in w.formula.value and w.state["dropped_rows"] == [6]


def test_explorer_dropped_rows_are_drawn_in_red():
    w = widgets.conv_explorer(height=6, width=6, stride=2)
    image = np.asarray(Image.open(io.BytesIO(w.state["png"])).convert("RGB"))
    red = np.array([0xfc, 0xbb, 0xa1])
    assert (np.abs(image.astype(int) - red).sum(axis=-1) == 0).sum() > 100
    set_controls(w, height=7, width=7)
    image = np.asarray(Image.open(io.BytesIO(w.state["png"])).convert("RGB"))
    assert (np.abs(image.astype(int) - red).sum(axis=-1) == 0).sum() == 0


def test_explorer_position_moves_the_window_and_fills_the_output():
    w = widgets.conv_explorer(stride=2, padding=1, dilation=1)
    Y = torch_correlate(w.state["X"], w.state["K"], 2, 1)
    w.controls["position"].value = 6  # row 1, column 2 of the 4x4 output
    assert w.state["position"] == (1, 2)
    assert w.state["window"] == {"rows": [2, 3, 4], "cols": [4, 5, 6]}
    so_far = w.state["output_so_far"]
    assert np.isfinite(so_far).sum() == 7
    np.testing.assert_allclose(so_far.ravel()[:7], Y.ravel()[:7])
    assert f"= <b>{int(Y[1, 2])}</b>" in w.info.value


def test_explorer_dilation_spreads_the_window():
    w = widgets.conv_explorer(dilation=2)
    w.controls["position"].value = 4  # output 3x3 -> (1, 1)
    assert w.state["window"] == {"rows": [1, 3, 5], "cols": [1, 3, 5]}


def test_explorer_shrinking_the_output_clamps_the_position():
    w = widgets.conv_explorer()
    w.controls["position"].value = 24  # last of 5x5
    set_controls(w, stride=3)  # output 2x2
    assert w.controls["position"].max == 3 and w.controls["position"].value == 3
    assert w.state["position"] == (1, 1)


# ----------------------------------------------------------------------------- kernel playground

def test_playground_kernel_choice_changes_label_and_feature_map():
    w = widgets.kernel_playground()
    X = photo((150, 128))
    assert "kernel: <b>sobel_x</b>" in w.label.value
    for name in ("laplacian", "gaussian_blur", "emboss"):
        w.controls["kernel"].value = name
        Y = torch_correlate(X, kernel(name), 1, 1)
        np.testing.assert_allclose(w.state["feature_map"], Y, atol=1e-12)
        assert f"kernel: <b>{name}</b>" in w.label.value
        assert f"min {Y.min():.2f}, max {Y.max():.2f}" in w.label.value
        values = [box.value for box in w.values]
        np.testing.assert_array_equal(values, kernel(name).ravel())


def test_playground_dropdown_offers_every_classic_kernel_and_custom():
    w = widgets.kernel_playground()
    assert list(w.controls["kernel"].options) == list(KERNEL_NAMES) + ["custom"]


def test_playground_editing_a_value_switches_to_custom():
    w = widgets.kernel_playground(kernel="identity")
    w.controls["k01"].value = -1.0
    assert w.controls["kernel"].value == "custom"
    K = kernel("identity").copy()
    K[0, 1] = -1.0
    np.testing.assert_array_equal(w.state["K"], K)
    assert "kernel: <b>custom</b>" in w.label.value


def test_playground_padding_modes_change_only_the_border():
    X = np.random.default_rng(0).uniform(size=(20, 16))
    w = widgets.kernel_playground(image=X, kernel="laplacian")
    for mode in ("reflect", "replicate", "circular"):
        w.controls["padding mode"].value = mode
        np.testing.assert_allclose(w.state["feature_map"],
                                   torch_correlate(X, kernel("laplacian"), 1, 1, 1, mode))
    w.controls["padding mode"].value = "valid"
    assert w.state["feature_map"].shape == (18, 14)
    assert "valid (no padding)" in w.label.value


def test_playground_feature_map_uses_a_diverging_map_centred_on_zero():
    X = np.zeros((10, 10))
    X[:, 5:] = 1.0  # a vertical edge: sobel_x gives +4 on it; zero padding gives -1..-3 at
    w = widgets.kernel_playground(image=X, kernel="sobel_x")  # the right border
    Y = w.state["feature_map"]
    assert Y.min() < 0 < Y.max()
    assert w.state["vmax"] == pytest.approx(max(-Y.min(), Y.max()))
    image = np.asarray(Image.open(io.BytesIO(w.state["png"])).convert("RGB")).astype(int)
    left, top = w.state["panels"]["output"]  # the feature map, drawn twice as large
    fmap = image[top:top + 20, left:left + 20]
    def pixel(i, j):
        return fmap[2 * i, 2 * j]
    zero = np.argwhere(Y == 0)[0]
    pos = np.unravel_index(np.argmax(Y), Y.shape)
    neg = np.unravel_index(np.argmin(Y), Y.shape)
    assert pixel(*zero).min() > 240  # white
    r, g, b = pixel(*pos)
    assert r > 100 and r > b + 50  # red
    r, g, b = pixel(*neg)
    assert b > r + 30  # blue: negatives are visible, not clamped to the zero colour


def _output_panel(w):
    """The feature map as drawn: (H, W, 3) pixels, one per value (the picture is 2x)."""
    image = np.asarray(Image.open(io.BytesIO(w.state["png"])).convert("RGB")).astype(int)
    left, top = w.state["panels"]["output"]
    H, W = w.state["feature_map"].shape
    return image[top:top + 2 * H:2, left:left + 2 * W:2]


@pytest.mark.parametrize("name", ["identity", "shift_right", "box_blur", "gaussian_blur",
                                  "sharpen"])
def test_playground_shows_a_picture_kernel_in_gray_clipped_and_says_so(name):
    w = widgets.kernel_playground(kernel=name)
    Y = torch_correlate(photo((150, 128)), kernel(name), 1, 1)
    assert w.state["kind"] == "image"
    drawn = _output_panel(w)
    assert (drawn[..., 0] == drawn[..., 1]).all() and (drawn[..., 1] == drawn[..., 2]).all()
    # gray level = the clipped value (within rounding of values exactly half-way)
    np.testing.assert_allclose(drawn[..., 0], np.clip(Y, 0, 1) * 255, atol=0.5 + 1e-6)
    overshoots = Y.min() < 0 or Y.max() > 1  # sharpen does; identity and the blurs do not
    assert overshoots == (name == "sharpen")
    expected = figures.CLIPPED_LABEL if overshoots else figures.IMAGE_LABEL
    assert w.state["output_label"] == expected
    assert f"<b>{expected}</b>" in w.label.value and "the output is a picture" in w.label.value


@pytest.mark.parametrize("name", ["laplacian", "sobel_x", "sobel_y", "prewitt_x", "prewitt_y"])
def test_playground_shows_a_zero_sum_kernel_as_a_signed_response(name):
    w = widgets.kernel_playground(kernel=name)
    Y = w.state["feature_map"]
    assert w.state["kind"] == "response"
    assert w.state["output_label"] == figures.RESPONSE_LABEL
    assert f"<b>{figures.RESPONSE_LABEL}</b>" in w.label.value
    assert "the output is not a picture" in w.label.value
    drawn = _output_panel(w)
    vmax = np.abs(Y).max()
    for value, (i, j) in ((0.0, np.argwhere(np.abs(Y) < 1e-12)[0]),
                          (Y.max(), np.unravel_index(np.argmax(Y), Y.shape)),
                          (Y.min(), np.unravel_index(np.argmin(Y), Y.shape))):
        expected = np.array(matplotlib.colormaps["RdBu_r"](0.5 + 0.5 * value / vmax)[:3]) * 255
        np.testing.assert_allclose(drawn[i, j], expected, atol=4)


def test_playground_applies_the_rule_to_an_edited_kernel():
    w = widgets.kernel_playground(kernel="laplacian")
    assert w.state["kind"] == "response"
    w.controls["k11"].value = -3.0  # laplacian + identity: sums to 1, keeps the brightness
    assert w.controls["kernel"].value == "custom" and w.state["kind"] == "image"
    assert "entries sum to 1.00" in w.label.value
    for box in w.values:  # a box blur typed by hand: 0.11 nine times sums to 0.99
        box.value = 0.11
    assert w.state["kind"] == "image"
    w.controls["k00"].value = -0.88  # now the entries sum to 0
    assert w.state["kind"] == "response" and figures.RESPONSE_LABEL in w.label.value
    w.controls["kernel"].value = "identity"  # back to a named kernel: a picture again
    assert w.state["kind"] == "image" and w.state["output_label"] == figures.IMAGE_LABEL


def test_playground_input_is_labelled_as_an_image():
    w = widgets.kernel_playground()
    assert w.state["input_label"] == figures.IMAGE_LABEL


def test_playground_refuses_a_colour_image_with_advice():
    with pytest.raises(ValueError, match="grayscale"):
        widgets.kernel_playground(image=np.zeros((4, 4, 3)))


# ----------------------------------------------------------------------------- channels view

def test_channels_view_sum_plus_bias_equals_torch_conv2d():
    rng = np.random.default_rng(2)
    rgb = rng.uniform(size=(12, 10, 3))
    w = widgets.channels_view(rgb)
    w.controls["green kernel"].value = "sobel_y"
    w.controls["blue kernel"].value = "box_blur"
    w.controls["bias"].value = 0.5
    weight = torch.tensor(np.stack([kernel("sobel_x"), kernel("sobel_y"),
                                    kernel("box_blur")]))[None]
    x = torch.tensor(np.moveaxis(rgb, -1, 0))[None]
    Y = F.conv2d(x, weight, torch.tensor([0.5], dtype=torch.float64), padding=1)[0, 0].numpy()
    np.testing.assert_allclose(w.state["output"], Y, atol=1e-12)
    np.testing.assert_allclose(w.state["sum_plus_bias"], Y, atol=1e-12)
    for ch in range(3):
        np.testing.assert_allclose(
            w.state["responses"][ch],
            F.conv2d(x[:, ch:ch + 1], weight[:, ch:ch + 1], padding=1)[0, 0].numpy(),
            atol=1e-12)
    assert "equals conv2d_nchw" in w.label.value
    assert w.state["png"][:8] == b"\x89PNG\r\n\x1a\n"


def test_channels_view_colours_each_panel_by_the_kernel_rule():
    w = widgets.channels_view(np.random.default_rng(3).uniform(size=(12, 10, 3)))
    w.controls["green kernel"].value = "box_blur"
    assert w.state["response_kinds"] == ["response", "image", "response"]
    # a blur plus two edge detectors adds signed responses: the output is not a picture
    assert w.state["output_kind"] == "response"
    for colour in ("red", "green", "blue"):
        w.controls[f"{colour} kernel"].value = "laplacian"
    assert w.state["response_kinds"] == ["response"] * 3


def test_channels_view_draws_without_matplotlib_figures(monkeypatch):
    from matplotlib.figure import Figure

    def refuse(*args, **kwargs):
        raise AssertionError("the channels view drew a matplotlib figure")

    monkeypatch.setattr(Figure, "savefig", refuse)
    monkeypatch.setattr(Figure, "__init__", refuse)
    w = widgets.channels_view(np.random.default_rng(4).uniform(size=(12, 10, 3)))
    w.controls["bias"].value = 0.5
    picture = np.asarray(Image.open(io.BytesIO(w.state["png"])).convert("RGB"))
    assert picture.shape[:2] == w.state["size"]


def test_channels_view_draws_the_red_channel_in_red():
    rgb = np.random.default_rng(5).uniform(size=(12, 10, 3))
    w = widgets.channels_view(rgb)
    picture = np.asarray(Image.open(io.BytesIO(w.state["pngs"]["channels"])).convert("RGB"))
    picture = picture.astype(int)
    # the red channel is the top-left picture, 2x, below its title: find its first row
    rows = np.nonzero((picture[:, :20, 1] == 0) & (picture[:, :20, 2] == 0)
                      & (picture[:, :20, 0] > 0))[0]
    top = rows[0]
    drawn = picture[top:top + 24:2, 0:20:2]
    np.testing.assert_array_equal(drawn[..., 0], np.rint(rgb[..., 0] * 255))
    assert (drawn[..., 1:] == 0).all()


def test_widgets_use_the_renderer_labels():
    assert figures.IMAGE_LABEL is render.IMAGE_LABEL
    assert figures.CLIPPED_LABEL is render.CLIPPED_LABEL
    assert figures.RESPONSE_LABEL is render.RESPONSE_LABEL
