"""Matplotlib pictures of convolution: small matrices with their numbers, images on a diverging
colour map centred on zero, and one step of the sliding window.

Every number drawn comes from convlib's own functions (``correlate2d``, ``pad2d``,
``output_shape``, ``stride_leftover``), so a picture can never drift from the code.

Public names and signatures:

- ``show_grid(X, ax=None, title=None, highlight=None, cmap=None, fmt=None) -> Figure``
  X: matrix of shape (H, W). highlight: ``(top, left, height, width)``, a list of such
  rectangles, or a boolean mask of shape (H, W) (cells outlined in red).
- ``show_images(images, titles=None, cmap=None, ncols=None, size=3.0, colorbar=True,
  suptitle=None) -> Figure``: one image (H, W) / (H, W, 3) or a list of them; signed data gets
  the diverging map ``'RdBu_r'`` with ``vmin = -vmax`` (zero is white, nothing is clamped).
- ``show_window_step(X, K, position=0, stride=1, padding=0, dilation=1,
  padding_mode="zeros") -> Figure``: the padded input with the window at output position
  ``position`` (flat index in row-major order, or ``(i, j)``), the kernel, and the output filled
  in up to that position.
- ``window_steps(X, K, stride=1, padding=0, dilation=1, padding_mode="zeros") -> WindowSteps``:
  the geometry and numbers behind that picture (used by animations and widgets).
- ``WindowPainter(steps, cell=26)``: that picture drawn with Pillow; ``.show(position)`` takes
  milliseconds (animations, fast widget redraws); ``.image`` is the (h, w, 3) uint8 picture,
  ``.png()`` its PNG bytes, ``.texts`` the strings written in each grid's cells.

Figures made here without an ``ax`` are closed before they are returned, so a notebook shows
them once: as the cell's last expression, or with ``display(fig)``.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass, field

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgb
from matplotlib.patches import Rectangle

from .conv import correlate2d
from .padding import pad2d, resolve_padding2d
from .shapes import output_shape, stride_leftover

__all__ = ["show_grid", "show_images", "show_window_step", "window_steps", "WindowSteps",
           "WindowPainter", "DIVERGING_CMAP"]

DIVERGING_CMAP = "RdBu_r"

# Cell colours of the sliding-window pictures.
COLOURS = {
    "input": "#ffffff", "padding": "#d9d9d9", "inserted": "#fff3c4", "window": "#9ecae1",
    "dropped": "#fcbba1", "done": "#c7e9c0", "current": "#6baed6", "todo": "#ffffff",
    "kernel": "#9ecae1",
}


def _new_figure(figsize):
    """A pyplot figure (so the notebook's inline backend knows how to show it), closed at once
    so that it is shown only when returned or displayed, never a second time."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=figsize)
    plt.close(fig)
    return fig


def _to_numpy(X, name):
    if hasattr(X, "detach"):
        X = X.detach().cpu().numpy()
    A = np.asarray(X)
    if A.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {A.dtype}")
    return A


def _format_number(v, fmt=None):
    if fmt is not None:
        return format(v, fmt)
    if not np.isfinite(v):
        return str(v)
    if float(v).is_integer() and abs(v) < 1e5:
        return str(int(v))
    return f"{v:.2f}" if abs(v) < 100 else f"{v:.0f}"


def _text_colour(rgb):
    r, g, b = rgb[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def _symmetric_limits(A):
    finite = A[np.isfinite(A)]
    vmax = float(np.max(np.abs(finite))) if finite.size else 1.0
    return -(vmax or 1.0), (vmax or 1.0)


# ----------------------------------------------------------------------------- show_grid

def show_grid(X, ax=None, title=None, highlight=None, cmap=None, fmt=None):
    """Draw a small matrix as coloured cells with its numbers written on them.

    X: array or tensor of shape (H, W).
    ax: an existing matplotlib Axes, or None for a new figure sized to the matrix.
    title: text above the grid.
    highlight: None; ``(top, left, height, width)``; a list of those; or a boolean mask of shape
        (H, W). Highlighted cells are outlined in red.
    cmap: colour map; default: ``'RdBu_r'`` centred on zero when X has negative values, else
        ``'Blues'`` from 0 to max.
    fmt: format spec for the numbers (e.g. ``'.1f'``); default: integers as integers, else 2
        decimals.

    Returns the matplotlib Figure.
    """
    A = _to_numpy(X, "X").astype(float)
    if A.ndim != 2:
        raise ValueError(f"show_grid draws a matrix of shape (H, W), got shape {A.shape}")
    H, W = A.shape
    if ax is None:
        fig = _new_figure((max(1.2, 0.45 * W + 0.4), max(1.0, 0.45 * H + (0.5 if title else 0.2))))
        ax = fig.add_axes([0.02, 0.02, 0.96, 0.96 - (0.35 / (0.45 * H + 0.5) if title else 0)])
    fig = ax.figure
    finite = A[np.isfinite(A)]
    signed = finite.size and finite.min() < 0
    if cmap is None:
        cmap = DIVERGING_CMAP if signed else "Blues"
    if signed or cmap == DIVERGING_CMAP:
        vmin, vmax = _symmetric_limits(A)
    else:
        vmin, vmax = 0.0, float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    im = ax.imshow(A, cmap=cmap, vmin=vmin, vmax=vmax * 1.6 if cmap == "Blues" else vmax)
    colours = im.cmap(im.norm(A))
    fig_w, fig_h = fig.get_size_inches()
    cell_points = 72 * min(fig_w / max(W, 1), fig_h / max(H, 1))
    longest = max(len(_format_number(v, fmt)) for v in A.ravel()[:400])
    fontsize = max(5.0, min(12.0, 0.36 * cell_points / max(1.0, longest / 2.2)))
    for (i, j), v in np.ndenumerate(A):
        ax.text(j, i, _format_number(v, fmt), ha="center", va="center", fontsize=fontsize,
                color=_text_colour(colours[i, j]))
    _grid_lines(ax, H, W)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    for top, left, h, w in _highlight_rectangles(highlight, (H, W)):
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), w, h, fill=False, edgecolor="red",
                               linewidth=2.5))
    return fig


def _grid_lines(ax, H, W, colour="0.4", lw=0.8):
    segments = [[(-0.5, r - 0.5), (W - 0.5, r - 0.5)] for r in range(H + 1)]
    segments += [[(c - 0.5, -0.5), (c - 0.5, H - 0.5)] for c in range(W + 1)]
    ax.add_collection(LineCollection(segments, colors=colour, linewidths=lw))
    ax.set_xlim(-0.5, W - 0.5)
    ax.set_ylim(H - 0.5, -0.5)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _highlight_rectangles(highlight, shape):
    if highlight is None:
        return []
    mask = np.asarray(highlight)
    if mask.dtype == bool:
        if mask.shape != shape:
            raise ValueError(f"highlight mask has shape {mask.shape}, the grid {shape}")
        return [(i, j, 1, 1) for i, j in zip(*np.nonzero(mask), strict=True)]
    if mask.ndim == 1 and mask.size == 4:
        return [tuple(int(v) for v in mask)]
    if mask.ndim == 2 and mask.shape[1] == 4:
        return [tuple(int(v) for v in r) for r in mask]
    raise ValueError("highlight must be (top, left, height, width), a list of those, or a boolean "
                     f"mask of shape {shape}")


# ----------------------------------------------------------------------------- show_images

IMAGE_LABEL = "image: gray"
CLIPPED_LABEL = "image: gray, clipped to [0, 1]"
RESPONSE_LABEL = "signed response: red +, blue \u2212, white 0"
KINDS = ("image", "response")


def show_images(images, titles=None, cmap=None, ncols=None, size=3.0, colorbar=True,
                suptitle=None, kind=None):
    """Show images side by side: pictures in gray, signed responses on a map centred on zero.

    images: one array (H, W) or (H, W, 3), or a list of them (numpy or torch).
    titles: one title per image, or None.
    kind: what each single-channel array is, one for all or a list with one per image:
        ``'image'``: a picture (a photo, its blur, its sharpened or shifted copy): gray, with
            values clipped to [0, 1] (a sharpened photo overshoots a little: that is clipped,
            and the panel says so);
        ``'response'``: a signed filter response (edges, Laplacian): the diverging map
            ``RdBu_r`` with vmin = -vmax, so zero is white and negatives are never clamped;
        None (default): ``'response'`` if the array has a negative value, else ``'image'``
            (gray from 0 to max(1, largest value), not clipped).
        Every panel says below it which one it is.
    cmap: a colour map name for all images (or a list, one per image) instead of the kind's.
    ncols: images per row (default: all in one row, at most 4).
    size: inches per image. colorbar: add a colour bar to each single-channel image.

    Returns the matplotlib Figure.
    """
    if isinstance(images, (list, tuple)):
        arrays = [_to_numpy(im, "image") for im in images]
    else:
        arrays = [_to_numpy(images, "image")]
    n = len(arrays)
    if titles is not None and len(titles) != n:
        raise ValueError(f"got {len(titles)} titles for {n} images")
    kinds = list(kind) if isinstance(kind, (list, tuple)) else [kind] * n
    if len(kinds) != n or any(k not in (*KINDS, None) for k in kinds):
        raise ValueError(f"kind must be one of {KINDS} or None, or a list of {n} of them; "
                         f"got {kind!r}")
    cmaps = cmap if isinstance(cmap, (list, tuple)) else [cmap] * n
    ncols = ncols or min(n, 4)
    nrows = -(-n // ncols)
    fig = _new_figure((size * ncols * (1.2 if colorbar else 1.0), size * nrows + 0.5))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= n:
            ax.set_visible(False)
            continue
        A = arrays[k].astype(float)
        if A.ndim == 3 and A.shape[-1] in (3, 4):
            ax.imshow(np.clip(A, 0, 1) if A.max() <= 1 else A / 255.0)
        elif A.ndim == 2:
            im = _show_channel(ax, A, kinds[k], cmaps[k])
            if colorbar:
                fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        else:
            raise ValueError(f"image {k} has shape {A.shape}; expected (H, W) or (H, W, 3)")
        if titles is not None:
            ax.set_title(titles[k], fontsize=10)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def _show_channel(ax, A, kind, cmap):
    """Draw one (H, W) array as an image or a signed response; label the panel with which."""
    finite = A[np.isfinite(A)]
    if kind is None:
        kind = "response" if finite.size and finite.min() < 0 else None
    if kind == "response":
        vmin, vmax = _symmetric_limits(A)
        label = RESPONSE_LABEL
        cmap = cmap or DIVERGING_CMAP
    elif kind == "image":
        clipped = bool(finite.size) and (finite.min() < 0 or finite.max() > 1)
        A, vmin, vmax = np.clip(A, 0, 1), 0.0, 1.0
        label = CLIPPED_LABEL if clipped else IMAGE_LABEL
    else:  # automatic, no negative values: gray from 0, not clipped
        vmin, vmax = 0.0, max(1.0, float(finite.max())) if finite.size else 1.0
        label = IMAGE_LABEL
    if cmap == DIVERGING_CMAP and kind != "response":
        vmin, vmax = _symmetric_limits(A)
    im = ax.imshow(A, cmap=cmap or "gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xlabel(label, fontsize=8)
    return im


# ----------------------------------------------------------------------------- sliding window

@dataclass
class WindowSteps:
    """Everything a picture of the sliding window needs; all numbers come from convlib.

    X: input (H, W); K: kernel (kH, kW) as used on the grid; padded: the grid the window slides
    over, shape (H + top + bottom, W + left + right); kinds: same shape, cell kind strings
    ('input', 'padding', 'inserted'); pads: (top, bottom, left, right); Y: the full output
    (H_out, W_out); stride, dilation: (sh, sw), (dh, dw); leftover: (rows, cols) of the padded
    grid that no window reaches (the floor in the output-size formula drops them).
    """

    X: np.ndarray
    K: np.ndarray
    padded: np.ndarray
    kinds: np.ndarray
    pads: tuple
    Y: np.ndarray
    stride: tuple
    dilation: tuple
    leftover: tuple
    title: str = ""
    labels: dict = field(default_factory=dict)

    @property
    def out_shape(self):
        return self.Y.shape

    @property
    def n_positions(self):
        return int(self.Y.size)

    def position(self, p):
        """(i, j) of output position p (flat row-major index or a pair)."""
        if isinstance(p, (tuple, list)):
            i, j = (int(v) for v in p)
        else:
            i, j = divmod(int(p), self.Y.shape[1])
        if not (0 <= i < self.Y.shape[0] and 0 <= j < self.Y.shape[1]):
            raise ValueError(f"position {p} is outside the output {self.Y.shape[0]}x"
                             f"{self.Y.shape[1]}")
        return i, j

    def window_cells(self, p):
        """Row and column indices (into ``padded``) the kernel taps touch at position p."""
        i, j = self.position(p)
        (sh, sw), (dh, dw) = self.stride, self.dilation
        kh, kw = self.K.shape
        return i * sh + dh * np.arange(kh), j * sw + dw * np.arange(kw)

    @property
    def dropped_rows(self):
        n = self.padded.shape[0]
        return list(range(n - self.leftover[0], n))

    @property
    def dropped_cols(self):
        n = self.padded.shape[1]
        return list(range(n - self.leftover[1], n))


def _pair(v):
    return (int(v), int(v)) if np.ndim(v) == 0 else tuple(int(x) for x in v)


def window_steps(X, K, stride=1, padding=0, dilation=1, padding_mode="zeros"):
    """Geometry and numbers of the sliding window of ``correlate2d(X, K, ...)``.

    X: (H, W); K: (kH, kW); stride, dilation: int or pair; padding: as ``correlate2d``.
    Returns a :class:`WindowSteps`. Raises ValueError (from convlib) when the kernel does not fit.
    """
    X = _to_numpy(X, "X").astype(float)
    K = _to_numpy(K, "K").astype(float)
    stride, dilation = _pair(stride), _pair(dilation)
    pads = resolve_padding2d(padding, K.shape, dilation=dilation, stride=stride)
    output_shape(X.shape, K.shape, stride, pads, dilation)  # the friendly error if it cannot fit
    padded = np.asarray(pad2d(X, pads, mode=padding_mode))
    Y = np.asarray(correlate2d(X, K, stride=stride, padding=pads, dilation=dilation,
                               padding_mode=padding_mode))
    kinds = np.full(padded.shape, "padding", dtype=object)
    top, _, left, _ = pads
    kinds[top:top + X.shape[0], left:left + X.shape[1]] = "input"
    leftover = (stride_leftover(X.shape[0], K.shape[0], stride[0], pads[:2], dilation[0]),
                stride_leftover(X.shape[1], K.shape[1], stride[1], pads[2:], dilation[1]))
    return WindowSteps(X, K, padded, kinds, tuple(pads), Y, stride, dilation, leftover)


@functools.lru_cache(maxsize=8)
def _font(size):
    from matplotlib import font_manager
    from PIL import ImageFont

    return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size)


def _hex(colour):
    return tuple(int(round(255 * v)) for v in to_rgb(colour))


class WindowPainter:
    """The padded input with the window, the kernel, and the output filling in, drawn with
    Pillow (a step takes a few milliseconds, so widgets and GIFs stay fast).

    steps: a :class:`WindowSteps`. cell: pixels per grid cell.
    ``show(p)`` moves the window to output position p (flat row-major index or (i, j)) and
    returns self; then ``image`` is the picture as an (h, w, 3) uint8 array, ``png()`` its PNG
    bytes, ``output_so_far()`` the output grid as drawn (NaN where not computed yet) and
    ``texts`` a dict from grid name (``input``, ``kernel``, ``output``) to the (rows, cols)
    array of the strings written in its cells ('' where nothing is written).
    """

    def __init__(self, steps, cell=26):
        self.steps, self.cell = steps, cell
        P, K, Y = steps.padded, steps.K, steps.Y
        self.font = _font(max(8, int(cell * 0.46)))
        self.title_font = _font(max(8, int(cell * 0.5)))
        margin, gap, title_h = 8, cell, int(cell * 1.45)
        widths = [max(s[1], 4) * cell for s in (P.shape, K.shape, Y.shape)]
        rows = max(P.shape[0], K.shape[0], Y.shape[0])
        footer = int(cell * 0.9) if any(steps.leftover) else 0
        self.size = (2 * margin + sum(widths) + 2 * gap,
                     2 * margin + title_h + rows * cell + footer)
        self.origins = []
        x = margin
        for w in widths:
            self.origins.append((x, margin + title_h))
            x += w + gap
        labels = steps.labels
        self.titles = [
            labels.get("input", f"input {steps.X.shape[0]}x{steps.X.shape[1]}\n"
                                f"padded {P.shape[0]}x{P.shape[1]}"),
            labels.get("kernel", f"kernel\n{K.shape[0]}x{K.shape[1]}"),
            labels.get("output", f"output\n{Y.shape[0]}x{Y.shape[1]}"),
        ]
        self.footer = labels.get(
            "dropped", "red: padded rows/columns no window reaches (the floor drops them)"
        ) if footer else ""
        self.texts = {"input": np.vectorize(_format_number, otypes=[object])(P),
                      "kernel": np.vectorize(_format_number, otypes=[object])(K),
                      "output": np.full(Y.shape, "", dtype=object)}
        self._all_output = np.vectorize(_format_number, otypes=[object])(Y)
        colours = np.empty(P.shape, dtype=object)
        for kind in ("input", "padding", "inserted"):
            colours[steps.kinds == kind] = COLOURS[kind]
        if steps.leftover[0]:
            colours[-steps.leftover[0]:, :] = COLOURS["dropped"]
        if steps.leftover[1]:
            colours[:, -steps.leftover[1]:] = COLOURS["dropped"]
        self._input_colours = colours
        self.position, self.image, self._flat = None, None, None

    def _grid(self, draw, g, fills, texts, text_colours=None):
        x0, y0 = self.origins[g]
        c = self.cell
        for (i, j), fill in np.ndenumerate(fills):
            box = (x0 + j * c, y0 + i * c, x0 + (j + 1) * c, y0 + (i + 1) * c)
            draw.rectangle(box, fill=fill, outline="#666666")
            if texts[i, j]:
                colour = "black" if text_colours is None else text_colours[i, j]
                draw.text(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2 + 1), texts[i, j],
                          fill=colour, font=self.font, anchor="mm")

    def show(self, p):
        """Move the window to output position p (flat index or (i, j)); returns self."""
        from PIL import Image, ImageDraw

        s = self.steps
        i, j = s.position(p)
        flat = i * s.Y.shape[1] + j
        img = Image.new("RGB", self.size, "white")
        draw = ImageDraw.Draw(img)
        for g, title in enumerate(self.titles):
            x0, y0 = self.origins[g]
            draw.multiline_text((x0, y0 - 4), title, fill="black", font=self.title_font,
                                anchor="ld", spacing=2)
        fills = self._input_colours.copy()
        rows, cols = s.window_cells((i, j))
        fills[np.ix_(rows, cols)] = COLOURS["window"]
        grey = np.where(s.kinds == "input", "black", "#595959")
        self._grid(draw, 0, fills, self.texts["input"], grey)
        self._grid(draw, 1, np.full(s.K.shape, COLOURS["kernel"], dtype=object),
                   self.texts["kernel"])
        order = np.arange(s.Y.size).reshape(s.Y.shape)
        out = np.where(order < flat, COLOURS["done"], COLOURS["todo"]).astype(object)
        out[i, j] = COLOURS["current"]
        self.texts["output"] = np.where(order <= flat, self._all_output, "").astype(object)
        self._grid(draw, 2, out, self.texts["output"])
        x0, y0 = self.origins[0]
        c = self.cell
        draw.rectangle((x0 + cols[0] * c - 1, y0 + rows[0] * c - 1, x0 + (cols[-1] + 1) * c + 1,
                        y0 + (rows[-1] + 1) * c + 1), outline="#08519c", width=3)
        if self.footer:
            draw.text((x0, self.size[1] - 6), self.footer, fill="#a50f15", font=self.font,
                      anchor="ld")
        self.image = np.asarray(img)
        self.position, self._flat = (i, j), flat
        return self

    def output_so_far(self):
        """The output as drawn now: the numbers written so far, NaN where nothing is written."""
        Y = np.full(self.steps.Y.shape, np.nan)
        written = self.texts["output"] != ""
        Y[written] = self.steps.Y[written]
        return Y

    def png(self):
        """The current picture as PNG bytes."""
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(self.image).save(buf, format="PNG", compress_level=1)
        return buf.getvalue()


def show_window_step(X, K, position=0, stride=1, padding=0, dilation=1, padding_mode="zeros"):
    """One step of the sliding window: padded input with the window, kernel, output so far.

    X: (H, W); K: (kH, kW); position: flat index (row-major) or (i, j) of the output cell;
    stride, padding, dilation, padding_mode: as :func:`convlib.correlate2d`.
    Returns a matplotlib Figure (the numbers in the output grid are correlate2d's).
    """
    dpi = 100
    painter = WindowPainter(window_steps(X, K, stride, padding, dilation, padding_mode), cell=32)
    image = painter.show(position).image
    fig = _new_figure((image.shape[1] / dpi, image.shape[0] / dpi))
    fig.set_dpi(dpi)
    # An Axes, not fig.figimage: IPython's inline backend shows nothing for a figure without
    # axes. One that fills the figure, pixel for pixel, with the axis hidden.
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(image, interpolation="nearest", aspect="auto")
    ax.set_axis_off()
    return fig
