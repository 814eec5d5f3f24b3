"""convlib.figures: the numbers drawn are the right ones, signed data is centred on zero, and the
sliding-window picture agrees with torch."""

import io

import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image

from convlib import figures

matplotlib.use("Agg")


def torch_correlate(X, K, stride=1, padding=0, dilation=1, mode="zeros"):
    x = torch.as_tensor(np.asarray(X, dtype=float))[None, None]
    k = torch.as_tensor(np.asarray(K, dtype=float))[None, None]
    if mode == "zeros":
        return F.conv2d(x, k, stride=stride, padding=padding, dilation=dilation)[0, 0].numpy()
    x = F.pad(x, (padding,) * 4, mode=mode)
    return F.conv2d(x, k, stride=stride, dilation=dilation)[0, 0].numpy()


def covered(n_padded, n_out, k, stride, dilation):
    """Padded indices some window touches, enumerated window by window."""
    return {i * stride + a * dilation for i in range(n_out) for a in range(k)}


@pytest.fixture
def closing():
    made = []
    yield made.append
    import matplotlib.pyplot as plt

    for fig in made:
        plt.close(fig)


def test_show_grid_writes_every_number_of_the_matrix(closing):
    X = np.array([[1, -2, 3], [4, 5, -6]])
    fig = figures.show_grid(X, title="X")
    closing(fig)
    assert isinstance(fig, Figure)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["1", "-2", "3", "4", "5", "-6"]
    assert fig.axes[0].get_title() == "X"


def test_show_grid_writes_decimals_for_non_integers(closing):
    fig = figures.show_grid(np.array([[0.5, 1.25]]))
    closing(fig)
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.50", "1.25"]


def test_show_grid_outlines_the_highlighted_rectangle(closing):
    fig = figures.show_grid(np.zeros((4, 5)), highlight=(1, 2, 2, 3))
    closing(fig)
    boxes = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    assert len(boxes) == 1
    assert boxes[0].get_xy() == (1.5, 0.5)
    assert (boxes[0].get_width(), boxes[0].get_height()) == (3, 2)


def test_show_grid_draws_into_a_given_axes(closing):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    closing(fig)
    assert figures.show_grid(np.eye(2), ax=ax) is fig
    assert len(ax.texts) == 4


def test_show_grid_signed_data_is_centred_on_zero(closing):
    fig = figures.show_grid(np.array([[-1.0, 3.0]]))
    closing(fig)
    im = fig.axes[0].images[0]
    assert im.norm.vmin == -im.norm.vmax == -3.0
    assert im.get_cmap().name == figures.DIVERGING_CMAP


def test_show_images_signed_data_diverging_symmetric_and_not_clamped(closing):
    rng = np.random.default_rng(1)
    signed = rng.normal(size=(8, 9)) * 5
    positive = rng.uniform(0, 1, size=(8, 9))
    fig = figures.show_images([signed, positive], titles=["signed", "positive"])
    closing(fig)
    ims = [ax.images[0] for ax in fig.axes if ax.images and ax.get_title()]
    assert [ax.get_title() for ax in fig.axes if ax.images and ax.get_title()] == \
        ["signed", "positive"]
    s, p = ims
    biggest = np.abs(signed).max()
    assert s.get_cmap().name == "RdBu_r"
    assert s.norm.vmin == pytest.approx(-biggest) and s.norm.vmax == pytest.approx(biggest)
    # zero sits in the middle of the colour map: white-ish, neither red nor blue
    r, g, b, _ = s.get_cmap()(s.norm(0.0))
    assert min(r, g, b) > 0.9
    assert p.get_cmap().name == "gray" and p.norm.vmin == 0.0


def test_show_images_kind_image_is_gray_and_clipped_kind_response_is_centred(closing):
    """A sharpened photo (values a little outside [0, 1]) shown as an image stays a gray photo,
    clipped and labelled so; the same array as a response is diverging, centred on zero."""
    from convlib import correlate2d, images, kernel

    sharp = correlate2d(images.photo((32, 32)), kernel("sharpen"), padding="same")
    assert sharp.min() < 0 and sharp.max() > 1   # the overshoot the label must admit
    fig = figures.show_images([sharp, sharp, images.photo((32, 32))],
                              kind=["image", "response", "image"])
    closing(fig)
    panels = [ax for ax in fig.axes if ax.images]
    image, response, photo = (ax.images[0] for ax in panels)
    assert image.get_cmap().name == "gray"
    assert (image.norm.vmin, image.norm.vmax) == (0.0, 1.0)
    assert image.get_array().min() == 0.0 and image.get_array().max() == 1.0
    assert panels[0].get_xlabel() == figures.CLIPPED_LABEL
    assert response.get_cmap().name == figures.DIVERGING_CMAP
    assert response.norm.vmin == pytest.approx(-np.abs(sharp).max())
    assert panels[1].get_xlabel() == figures.RESPONSE_LABEL
    assert panels[2].get_xlabel() == figures.IMAGE_LABEL   # a photo in [0, 1] is not clipped


def test_show_images_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        figures.show_images([np.zeros((2, 2))], kind="photo")


def test_show_images_accepts_torch_tensors_and_rgb(closing):
    fig = figures.show_images([torch.ones(4, 4), np.zeros((4, 4, 3))])
    closing(fig)
    assert len([ax for ax in fig.axes if ax.images]) == 2


def test_show_images_rejects_wrong_number_of_titles():
    with pytest.raises(ValueError, match="2 titles for 1 images"):
        figures.show_images([np.zeros((2, 2))], titles=["a", "b"])


@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), k=st.integers(1, 4), s=st.integers(1, 3),
       p=st.integers(0, 2), d=st.integers(1, 2), seed=st.integers(0, 10**6))
def test_window_steps_output_and_dropped_rows_match_torch(h, w, k, s, p, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.integers(-3, 4, size=(h, w)).astype(float)
    K = rng.integers(-2, 3, size=(k, k)).astype(float)
    if d * (k - 1) + 1 > min(h, w) + 2 * p:
        with pytest.raises(ValueError, match="larger than the padded input"):
            figures.window_steps(X, K, s, p, d)
        return
    steps = figures.window_steps(X, K, s, p, d)
    Y = torch_correlate(X, K, s, p, d)
    np.testing.assert_allclose(steps.Y, Y)
    assert steps.n_positions == Y.size
    Hp, Wp = h + 2 * p, w + 2 * p
    assert steps.padded.shape == (Hp, Wp)
    rows = covered(Hp, Y.shape[0], k, s, d)
    cols = covered(Wp, Y.shape[1], k, s, d)
    assert steps.dropped_rows == [r for r in range(Hp) if r > max(rows)]
    assert steps.dropped_cols == [c for c in range(Wp) if c > max(cols)]
    # the last position's window cells are the ones enumerated above
    r, c = steps.window_cells(Y.size - 1)
    assert r.tolist() == [(Y.shape[0] - 1) * s + a * d for a in range(k)]
    assert c.tolist() == [(Y.shape[1] - 1) * s + b * d for b in range(k)]


def test_painter_writes_outputs_up_to_the_position_and_colours_the_window():
    X = np.arange(25.0).reshape(5, 5)
    K = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])
    steps = figures.window_steps(X, K, stride=2, padding=1)
    Y = torch_correlate(X, K, 2, 1)
    painter = figures.WindowPainter(steps, cell=30)
    painter.show((1, 2))
    flat = 1 * Y.shape[1] + 2
    written = painter.texts["output"]
    order = np.arange(Y.size).reshape(Y.shape)
    assert all(written[order <= flat] != "") and all(written[order > flat] == "")
    np.testing.assert_allclose(painter.output_so_far()[order <= flat], Y[order <= flat])
    assert np.isnan(painter.output_so_far()[order > flat]).all()
    # the input grid's numbers are the padded input's
    assert painter.texts["input"][1, 1] == "0" and painter.texts["input"][0, 0] == "0"
    assert painter.texts["input"][5, 5] == "24"
    # pixel just inside each cell's corner: window colour exactly on the window cells
    image = painter.image
    x0, y0 = painter.origins[0]
    window = tuple(int(round(255 * v)) for v in matplotlib.colors.to_rgb(
        figures.COLOURS["window"]))
    rows, cols = steps.window_cells((1, 2))
    for i in range(steps.padded.shape[0]):
        for j in range(steps.padded.shape[1]):
            pixel = tuple(image[y0 + i * 30 + 4, x0 + j * 30 + 4])
            assert (pixel == window) == (i in rows and j in cols), (i, j, pixel)
    png = Image.open(io.BytesIO(painter.png()))
    assert png.size == (image.shape[1], image.shape[0])


def test_show_window_step_returns_a_figure_with_the_picture(closing):
    fig = figures.show_window_step(np.ones((4, 4)), np.ones((3, 3)), position=(1, 1))
    closing(fig)
    assert isinstance(fig, Figure)
    # drawn pixel for pixel: the saved figure is exactly the painter's picture
    expected = figures.WindowPainter(
        figures.window_steps(np.ones((4, 4)), np.ones((3, 3))), cell=32).show((1, 1)).image
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    saved = np.asarray(Image.open(buf).convert("RGB"))
    np.testing.assert_array_equal(saved, expected[..., :3])


def test_show_window_step_is_shown_by_the_notebook_inline_backend(closing):
    # IPython's inline backend renders with print_figure, which returns None (shows nothing)
    # for a figure without axes, and crops with bbox_inches="tight".
    from IPython.core.pylabtools import print_figure

    fig = figures.show_window_step(np.ones((4, 4)), np.ones((3, 3)), position=(1, 1))
    closing(fig)
    expected = figures.WindowPainter(
        figures.window_steps(np.ones((4, 4)), np.ones((3, 3))), cell=32).show((1, 1)).image
    png = print_figure(fig, "png")
    assert png is not None, "the inline backend would display nothing"
    shown = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    h, w = expected.shape[:2]
    assert shown.shape[0] >= h and shown.shape[1] >= w
    # the whole picture is in there, uncropped and unscaled
    top, left = (shown.shape[0] - h) // 2, (shown.shape[1] - w) // 2
    np.testing.assert_array_equal(shown[top:top + h, left:left + w], expected[..., :3])


def test_window_position_outside_the_output_is_refused():
    steps = figures.window_steps(np.ones((4, 4)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="outside the output 2x2"):
        steps.position((2, 0))


def test_figures_draws_with_matplotlib_only_the_pillow_renderer_lives_in_render():
    import inspect

    from convlib import geometry, render

    source = inspect.getsource(figures)
    assert "PIL" not in source and "ImageDraw" not in source
    # the names notebook 03 imports from convlib.figures are the geometry's and renderer's
    assert figures.WindowPainter is render.WindowPainter
    assert figures.window_steps is geometry.window_steps and figures.COLOURS is render.COLOURS


def test_show_images_and_the_widgets_label_an_image_by_the_same_rule(closing):
    from convlib import render

    rng = np.random.default_rng(3)
    inside, over = rng.uniform(0, 1, (6, 6)), rng.uniform(-0.2, 1.2, (6, 6))
    fig = figures.show_images([inside, over, over], kind=["image", "image", "response"])
    closing(fig)
    labels = [ax.get_xlabel() for ax in fig.axes if ax.images]
    assert labels == [render.label(inside, "image"), render.label(over, "image"),
                      render.label(over, "response")]
    assert labels == [figures.IMAGE_LABEL, figures.CLIPPED_LABEL, figures.RESPONSE_LABEL]


def test_the_dropped_strip_is_not_called_padding_when_there_is_none():
    """03's picture (6x6, 3x3, stride 2, no padding) said "red: padded rows/columns"."""
    unpadded = figures.WindowPainter(figures.window_steps(np.zeros((6, 6)), np.ones((3, 3)),
                                                          stride=2))
    assert unpadded.footer and "padded" not in unpadded.footer
    padded = figures.WindowPainter(figures.window_steps(np.zeros((6, 6)), np.ones((3, 3)),
                                                        stride=2, padding=1))
    assert padded.footer == unpadded.footer   # true with padding too: the same strip rule


def test_show_images_keeps_each_label_clear_of_the_title_below_it(closing):
    """08's feature maps: two rows of four with a label under each panel and a title above;
    the first row's labels ran into the second row's titles."""
    maps = list(np.random.default_rng(0).normal(size=(8, 8, 8)))
    fig = figures.show_images(maps, kind="response", ncols=4, size=2.6, colorbar=False,
                              titles=[f"conv {i}, ReLU, max pool 2x2" for i in range(8)])
    closing(fig)
    renderer = fig.canvas.get_renderer() if hasattr(fig.canvas, "get_renderer") else \
        fig._get_renderer()
    for above, below in zip(fig.axes[:4], fig.axes[4:], strict=True):
        label = above.xaxis.label.get_window_extent(renderer)
        title = below.title.get_window_extent(renderer)
        line = below.title.get_fontsize() * fig.dpi / 72    # one line of the title, in pixels
        assert label.y0 - title.y1 >= line, (label, title)
