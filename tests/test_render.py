"""convlib.render: values get the colours matplotlib would give them (gray clipped, diverging
centred on zero), pictures are placed where the widgets say, and the image-or-response rule of
convlib.kernels.output_kind matches what a kernel does to a flat image."""

import io

import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from convlib import figures, render
from convlib.kernels import KERNEL_NAMES, kernel, output_kind

RDBU_R = matplotlib.colormaps["RdBu_r"]


def mpl_diverging(A, vmax):
    """What matplotlib's imshow(A, cmap='RdBu_r', vmin=-vmax, vmax=vmax) paints, 0-255."""
    return RDBU_R(matplotlib.colors.Normalize(-vmax, vmax)(A))[..., :3] * 255


# ----------------------------------------------------------------------------- diverging

def test_diverging_lut_maps_zero_to_the_middle_of_the_map_white():
    centre = render.diverging(np.zeros((1, 1)), vmax=3.0)[0, 0]
    np.testing.assert_array_equal(centre, render.DIVERGING_LUT[len(render.DIVERGING_LUT) // 2])
    np.testing.assert_allclose(centre, np.array(RDBU_R(0.5)[:3]) * 255, atol=1)
    assert centre.min() > 240  # white, neither red nor blue


@settings(max_examples=80, deadline=None)
@given(st.floats(-50, 50, allow_nan=False), st.floats(0.01, 60))
def test_diverging_is_symmetric_v_and_minus_v_sit_at_mirrored_entries(v, vmax):
    plus, minus = render.diverging(np.array([[v, -v]]), vmax)[0]
    lut = render.DIVERGING_LUT
    index = {tuple(c): k for k, c in enumerate(lut)}  # RdBu_r's 255 entries are distinct
    assert index[tuple(plus)] + index[tuple(minus)] == len(lut) - 1
    if v / vmax > 0.01:  # beyond the middle entry's half-width
        assert index[tuple(plus)] > len(lut) // 2 > index[tuple(minus)]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.floats(0.1, 10))
def test_diverging_paints_what_matplotlib_paints(seed, scale):
    A = np.random.default_rng(seed).normal(size=(6, 7)) * scale
    vmax = np.abs(A).max()
    np.testing.assert_allclose(render.diverging(A), mpl_diverging(A, vmax), atol=4)


def test_diverging_positive_is_red_negative_blue_and_nothing_is_clamped():
    A = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
    rgb = render.diverging(A).astype(int)
    assert rgb[0, 4, 0] > rgb[0, 4, 2] + 50 and rgb[0, 3, 0] > rgb[0, 3, 2]  # red
    assert rgb[0, 0, 2] > rgb[0, 0, 0] + 50 and rgb[0, 1, 2] > rgb[0, 1, 0]  # blue
    # -0.5 and -2 are different colours: the negatives are not clamped to the zero colour
    assert (rgb[0, 0] != rgb[0, 1]).any() and (rgb[0, 1] != rgb[0, 2]).any()


def test_diverging_default_vmax_is_the_largest_absolute_value():
    A = np.array([[-1.0, 4.0]])
    np.testing.assert_array_equal(render.diverging(A), render.diverging(A, vmax=4.0))
    assert render.symmetric_limit(A) == 4.0
    assert render.symmetric_limit(np.zeros((2, 2))) == 1.0
    assert render.symmetric_limit(np.array([np.nan, -2.0])) == 2.0


# ----------------------------------------------------------------------------- gray

def test_gray_clips_to_zero_one_and_is_gray():
    A = np.array([[-0.5, 0.0, 0.5, 1.0, 1.7]])
    rgb = render.gray(A)
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    np.testing.assert_array_equal(rgb[0, :, 0], [0, 0, 128, 255, 255])


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6))
def test_gray_paints_what_matplotlib_gray_paints_on_zero_one(seed):
    A = np.random.default_rng(seed).uniform(-0.3, 1.3, size=(5, 5))
    expected = matplotlib.colormaps["gray"](np.clip(A, 0, 1))[..., :3] * 255
    np.testing.assert_allclose(render.gray(A), expected, atol=1)


def test_non_finite_values_get_their_own_colour():
    A = np.array([[np.nan, 0.5, np.inf]])
    for rgb in (render.gray(A), render.diverging(A, 1.0)):
        assert tuple(rgb[0, 0]) == render.NAN_RGB and tuple(rgb[0, 2]) == render.NAN_RGB
        assert tuple(rgb[0, 1]) != render.NAN_RGB


def test_colourise_follows_the_kind_and_refuses_others():
    A = np.array([[-1.0, 2.0]])
    np.testing.assert_array_equal(render.colourise(A, "image"), render.gray(A))
    np.testing.assert_array_equal(render.colourise(A, "response", 3.0), render.diverging(A, 3.0))
    with pytest.raises(ValueError, match="kind must be one of"):
        render.colourise(A, "photo")


def test_tint_draws_one_channel_from_black_to_its_colour():
    rgb = render.tint(np.array([[0.0, 1.0]]), "green")
    np.testing.assert_array_equal(rgb[0], [[0, 0, 0], [0, 255, 0]])


# ----------------------------------------------------------------------------- labels

def test_label_says_clipped_only_when_something_was_clipped():
    assert render.label(np.array([[0.0, 1.0]]), "image") == render.IMAGE_LABEL
    assert render.label(np.array([[-0.1, 0.5]]), "image") == render.CLIPPED_LABEL
    assert render.label(np.array([[0.5, 1.01]]), "image") == render.CLIPPED_LABEL
    assert render.label(np.array([[0.5, 1.01]]), "response") == render.RESPONSE_LABEL


def test_figures_and_the_renderer_share_one_set_of_labels():
    assert (figures.IMAGE_LABEL, figures.CLIPPED_LABEL, figures.RESPONSE_LABEL, figures.KINDS) \
        == (render.IMAGE_LABEL, render.CLIPPED_LABEL, render.RESPONSE_LABEL, render.KINDS)
    assert figures.DIVERGING_CMAP == render.DIVERGING_CMAP == "RdBu_r"


# ----------------------------------------------------------------------------- layout

def test_side_by_side_puts_each_picture_at_its_row_offset():
    a = np.full((3, 4, 3), 10, np.uint8)
    b = np.full((5, 2, 3), 20, np.uint8)
    canvas = render.side_by_side([a, b], gap=3)
    assert canvas.shape == (5, 4 + 3 + 2, 3)
    x = render.row_offsets([a, b], gap=3)
    assert x == [0, 7]
    assert (canvas[:3, :4] == 10).all() and (canvas[3:, :4] == 255).all()
    assert (canvas[:, 7:9] == 20).all() and (canvas[:, 4:7] == 255).all()
    wide = render.side_by_side([a, b], gap=3, cell_width=6)
    assert render.row_offsets([a, b], gap=3, cell_width=6) == [0, 9]
    assert (wide[:, 9:11] == 20).all() and wide.shape[1] == 15


def test_stack_and_titled_keep_the_picture_whole():
    a = np.zeros((4, 6, 3), np.uint8)
    np.testing.assert_array_equal(render.titled(a), a)
    t = render.titled(a, title="title", caption="caption")
    top = render.text_block("title").shape[0]
    np.testing.assert_array_equal(t[top:top + 4, :6], a)
    assert t.shape[0] == top + 4 + render.text_block("caption").shape[0]
    assert (t[:top] < 128).any()  # the title is written


def test_grid_colours_each_cell_on_the_diverging_map_centred_on_zero():
    K = np.array([[-1.0, 0.0, 2.0]])
    picture = render.grid(K, cell=20)
    expected = render.diverging(K)
    for j in range(3):
        np.testing.assert_array_equal(picture[2, 20 * j + 2], expected[0, j])  # cell corner
    centre = picture[10, 20 * 2 - 10: 20 * 3]  # the number's row in the last cell
    assert (np.abs(centre.astype(int) - expected[0, 2]).sum(axis=-1) > 100).any()  # text


def test_colour_bar_runs_from_plus_vmax_through_white_to_minus_vmax():
    bar = render.colour_bar(101, "response", vmax=2.5, width=10)
    np.testing.assert_array_equal(bar[0, 0], render.diverging(np.array([[2.5]]), 2.5)[0, 0])
    np.testing.assert_array_equal(bar[100, 0], render.diverging(np.array([[-2.5]]), 2.5)[0, 0])
    np.testing.assert_array_equal(bar[50, 0], render.DIVERGING_LUT[127])
    gray = render.colour_bar(11, "image", width=10)
    assert tuple(gray[0, 0]) == (255, 255, 255) and tuple(gray[10, 0]) == (0, 0, 0)


def test_png_round_trips_the_picture():
    rgb = np.random.default_rng(0).integers(0, 256, size=(7, 9, 3), dtype=np.uint8)
    data = render.png(rgb)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), rgb)


# ----------------------------------------------------------------------------- image or response

def flat_image_output(K, c=0.7):
    """What K makes of a flat image of brightness c, by torch (no padding: no border)."""
    x = torch.full((1, 1, 8, 8), c, dtype=torch.float64)
    return F.conv2d(x, torch.as_tensor(K, dtype=torch.float64)[None, None])[0, 0].numpy()


@pytest.mark.parametrize("name", KERNEL_NAMES)
def test_a_named_kernel_is_an_image_exactly_when_it_keeps_a_flat_images_brightness(name):
    K = kernel(name)
    keeps = np.allclose(flat_image_output(K), 0.7)
    assert (output_kind(K) == "image") == keeps
    if not keeps:  # the others send a flat region to 0: signed responses
        np.testing.assert_allclose(flat_image_output(K), 0.0, atol=1e-12)


def test_the_identity_shift_blur_sharpen_family_are_images_the_edge_kernels_responses():
    for name in ("identity", "shift_left", "shift_right", "shift_up", "shift_down", "box_blur",
                 "gaussian_blur", "sharpen"):
        assert output_kind(kernel(name)) == "image", name
    for name in ("laplacian", "sobel_x", "sobel_y", "prewitt_x", "prewitt_y"):
        assert output_kind(kernel(name)) == "response", name


def test_output_kind_of_hand_typed_and_scaled_kernels():
    assert output_kind(np.full((3, 3), 0.11)) == "image"      # sums to 0.99: a blur typed by hand
    assert output_kind(np.full((3, 3), 0.1)) == "response"    # 0.9: darker, not the picture
    assert output_kind(2 * kernel("identity")) == "response"  # twice as bright
    assert output_kind(kernel("box_blur"), bias=0.5) == "response"
    assert output_kind(np.zeros((3, 3))) == "response"


def test_output_kind_of_a_multichannel_filter():
    third = kernel("identity") / 3
    assert output_kind(np.stack([third, third, third])) == "image"  # RGB to gray
    # a blur of one channel plus edges of the others sums to 1, but adds signed responses
    mixed = np.stack([kernel("sobel_x"), kernel("box_blur"), kernel("sobel_x")])
    assert output_kind(mixed) == "response"
    assert output_kind(np.stack([kernel("box_blur"), np.zeros((3, 3)), np.zeros((3, 3))])[None]) \
        == "image"
