"""The one Pillow renderer: how values become colours, and pictures become PNG bytes.

Every widget and animation draws through this module (a redraw takes milliseconds, where a
matplotlib figure takes a few hundred). The colour rule is the one ``figures.show_images``
follows, with the same words on the picture:

- a **picture** (a photo, its blur, its sharpened or shifted copy) in gray, values clipped to
  [0, 1], labelled ``IMAGE_LABEL`` or, when something was clipped, ``CLIPPED_LABEL``;
- a **signed response** (edges, Laplacian) on the diverging map ``RdBu_r`` centred on zero
  (vmin = −vmax: zero is white, negatives are never clamped), labelled ``RESPONSE_LABEL``.

Public names and signatures (pictures are (h, w, 3) uint8 arrays):

- ``KINDS``, ``IMAGE_LABEL``, ``CLIPPED_LABEL``, ``RESPONSE_LABEL``, ``DIVERGING_CMAP``;
  ``label(A, kind) -> str``; ``symmetric_limit(A) -> vmax`` (largest finite |value|, 1 if none).
- ``GRAY_LUT`` (256, 3) and ``DIVERGING_LUT`` (255, 3): the colour maps as lookup tables
  (entry 127 of the diverging one is the colour of zero).
- ``gray(A)``, ``diverging(A, vmax=None)``, ``colourise(A, kind, vmax=None)``,
  ``tint(A, colour)`` (a channel from black to pure red, green or blue): (H, W) -> (H, W, 3);
  ``colour_image(A)``: an RGB picture (H, W, 3) in [0, 1] -> uint8.
- ``grid(A, cell=22, fmt=None)``: a small matrix as cells coloured on the diverging map with
  their numbers; ``draw_grid(...)`` the same into a Pillow image (used by ``WindowPainter``).
- ``enlarge(rgb, scale)``, ``side_by_side(pictures, gap=12, cell_width=None)`` (and
  ``row_offsets``: where each picture went), ``stack(pictures, gap=8)``,
  ``titled(rgb, title='', caption='')`` (``text_block(text)``: text as a picture),
  ``colour_bar(height, kind, vmax=1.0)``,
  ``png(rgb) -> bytes``.
- ``WindowPainter(steps, cell=26)``: the sliding window of a ``geometry.WindowSteps`` (padded
  input with the window, kernel, output filling in); ``.show(p)`` returns self, then ``.image``,
  ``.png()``, ``.output_so_far()``, ``.texts``.
- ``format_number(v, fmt=None)``, ``text_colour(rgb)``: how grids write numbers.
"""

from __future__ import annotations

import functools
import io

import numpy as np

__all__ = ["KINDS", "IMAGE_LABEL", "CLIPPED_LABEL", "RESPONSE_LABEL", "DIVERGING_CMAP",
           "GRAY_LUT", "DIVERGING_LUT", "COLOURS", "label", "symmetric_limit", "gray",
           "diverging", "colourise", "colour_image", "tint", "grid", "draw_grid", "enlarge",
           "side_by_side", "row_offsets", "stack", "titled", "text_block", "colour_bar", "png",
           "WindowPainter", "format_number", "text_colour", "font"]

KINDS = ("image", "response")
IMAGE_LABEL = "image: gray"
CLIPPED_LABEL = "image: gray, clipped to [0, 1]"
RESPONSE_LABEL = "signed response: red +, blue \u2212, white 0"
DIVERGING_CMAP = "RdBu_r"
NAN_RGB = (255, 0, 255)  # non-finite values: a colour neither map uses

# Cell colours of the sliding-window pictures.
COLOURS = {
    "input": "#ffffff", "padding": "#d9d9d9", "inserted": "#fff3c4", "window": "#9ecae1",
    "dropped": "#fcbba1", "done": "#c7e9c0", "current": "#6baed6", "todo": "#ffffff",
    "kernel": "#9ecae1",
}


def _table(cmap_name, n):
    import matplotlib

    rgba = matplotlib.colormaps[cmap_name](np.linspace(0.0, 1.0, n))
    return (rgba[:, :3] * 255 + 0.5).astype(np.uint8)


GRAY_LUT = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
# An odd length, so that one entry (127) is exactly the middle of the map: the colour of zero.
DIVERGING_LUT = _table(DIVERGING_CMAP, 255)


# ----------------------------------------------------------------------------- values -> colours

def symmetric_limit(A):
    """The largest finite |value| of A (1.0 when there is none or it is 0): the map's vmax."""
    A = np.asarray(A, dtype=float)
    finite = A[np.isfinite(A)]
    vmax = float(np.max(np.abs(finite))) if finite.size else 0.0
    return vmax or 1.0


def label(A, kind):
    """What a panel showing A as ``kind`` says below it (``CLIPPED_LABEL`` when an image has
    values outside [0, 1])."""
    if kind == "response":
        return RESPONSE_LABEL
    if kind != "image":
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    A = np.asarray(A, dtype=float)
    finite = A[np.isfinite(A)]
    clipped = bool(finite.size) and (finite.min() < 0 or finite.max() > 1)
    return CLIPPED_LABEL if clipped else IMAGE_LABEL


def _mark_non_finite(rgb, A):
    bad = ~np.isfinite(A)
    if bad.any():
        rgb[bad] = NAN_RGB
    return rgb


def gray(A):
    """A picture (H, W) -> (H, W, 3) uint8 in gray: 0 black, 1 white, values clipped to [0, 1]."""
    A = np.asarray(A, dtype=float)
    index = np.rint(np.clip(np.nan_to_num(A), 0.0, 1.0) * 255).astype(np.intp)
    return _mark_non_finite(GRAY_LUT[index], A)


def diverging(A, vmax=None):
    """A signed response (H, W) -> (H, W, 3) uint8 on ``RdBu_r`` centred on zero: 0 is the
    middle entry (white), +vmax dark red, −vmax dark blue; v and −v sit at mirrored entries.
    vmax: default ``symmetric_limit(A)``; values beyond ±vmax take the end colours."""
    A = np.asarray(A, dtype=float)
    vmax = symmetric_limit(A) if vmax is None else float(vmax)
    half = len(DIVERGING_LUT) // 2
    # rint is odd-symmetric (rint(-x) == -rint(x)), so v and -v land on mirrored entries
    index = half + np.rint(np.clip(np.nan_to_num(A) / vmax, -1.0, 1.0) * half).astype(np.intp)
    return _mark_non_finite(DIVERGING_LUT[index], A)


def colourise(A, kind, vmax=None):
    """``gray(A)`` for kind ``'image'``, ``diverging(A, vmax)`` for ``'response'``."""
    if kind == "image":
        return gray(A)
    if kind == "response":
        return diverging(A, vmax)
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def colour_image(A):
    """An RGB picture (H, W, 3) with values in [0, 1] -> (H, W, 3) uint8, clipped to [0, 1]."""
    return (np.clip(np.nan_to_num(np.asarray(A, dtype=float)), 0.0, 1.0) * 255 + 0.5
            ).astype(np.uint8)


def tint(A, colour):
    """One colour channel (H, W) in [0, 1] -> (H, W, 3) uint8 from black to pure ``colour``
    (``'red'``, ``'green'`` or ``'blue'``)."""
    channel = {"red": 0, "green": 1, "blue": 2}[colour]
    rgb = np.zeros((*np.shape(A), 3), dtype=np.uint8)
    rgb[..., channel] = gray(A)[..., 0]
    return rgb


# ----------------------------------------------------------------------------- numbers in grids

def format_number(v, fmt=None):
    """How a grid writes v: integers as integers, else 2 decimals (0 decimals from 100)."""
    if fmt is not None:
        return format(v, fmt)
    if not np.isfinite(v):
        return str(v)
    if float(v).is_integer() and abs(v) < 1e5:
        return str(int(v))
    return f"{v:.2f}" if abs(v) < 100 else f"{v:.0f}"


def text_colour(rgb):
    """'black' on a light cell, 'white' on a dark one; rgb: floats in [0, 1]."""
    r, g, b = rgb[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


@functools.lru_cache(maxsize=8)
def font(size):
    """DejaVu Sans (it ships with matplotlib) at ``size`` pixels."""
    from matplotlib import font_manager
    from PIL import ImageFont

    return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size)


def draw_grid(img, origin, cell, fills, texts, text_size, text_colours=None):
    """Draw cells into a Pillow image: fills (rows, cols) colours, texts the strings ('' for
    none) written centred at ``text_size`` pixels, text_colours per cell (default black);
    origin: (x, y) of the top-left."""
    from PIL import ImageDraw

    draw = ImageDraw.Draw(img)
    x0, y0 = origin
    for (i, j), fill in np.ndenumerate(fills):
        box = (x0 + j * cell, y0 + i * cell, x0 + (j + 1) * cell, y0 + (i + 1) * cell)
        draw.rectangle(box, fill=fill, outline="#666666")
        if texts[i, j]:
            mask, left, top = _text_mask(texts[i, j], text_size)
            x, y = (box[0] + box[2]) // 2 + left, (box[1] + box[3]) // 2 + 1 + top
            colour = "black" if text_colours is None else text_colours[i, j]
            img.paste(colour, (x, y, x + mask.width, y + mask.height), mask)


@functools.lru_cache(maxsize=4096)
def _text_mask(text, size):
    """The coverage mask of ``text`` centred on (0, 0), and its offset: grids write the same
    few numbers in many cells, and pasting a mask is much faster than laying out the text."""
    from PIL import Image, ImageDraw

    f = font(size)
    left, top, right, bottom = f.getbbox(text, anchor="mm")
    mask = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(mask).text((-left, -top), text, fill=255, font=f, anchor="mm")
    return mask, left, top


def grid(A, cell=22, fmt=None):
    """A small matrix (rows, cols) -> picture: cells on the diverging map centred on zero
    (as ``figures.show_grid`` colours signed data), each with its number written on it."""
    from PIL import Image

    A = np.asarray(A, dtype=float)
    colours = diverging(A)
    fills = np.empty(A.shape, dtype=object)
    ink = np.empty(A.shape, dtype=object)
    for (i, j), _ in np.ndenumerate(A):
        fills[i, j] = tuple(int(c) for c in colours[i, j])
        ink[i, j] = text_colour(colours[i, j] / 255.0)
    texts = np.vectorize(lambda v: format_number(v, fmt), otypes=[object])(A)
    img = Image.new("RGB", (A.shape[1] * cell + 1, A.shape[0] * cell + 1), "white")
    draw_grid(img, (0, 0), cell, fills, texts, max(8, int(cell * 0.42)), ink)
    return np.asarray(img)


# ----------------------------------------------------------------------------- layout

def enlarge(rgb, scale):
    """Each pixel drawn as a scale x scale block (nearest neighbour: the pixels stay visible)."""
    return np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1) if scale != 1 else rgb


def side_by_side(pictures, gap=12, cell_width=None):
    """Pictures placed in a row, top-aligned, on white; with ``cell_width``, each in a column
    that wide (so that rows stacked below line up). ``row_offsets`` gives their x positions."""
    xs = row_offsets(pictures, gap, cell_width)
    height = max(p.shape[0] for p in pictures)
    width = xs[-1] + max(pictures[-1].shape[1], cell_width or 0)
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    for x, p in zip(xs, pictures, strict=True):
        canvas[:p.shape[0], x:x + p.shape[1]] = p
    return canvas


def row_offsets(pictures, gap=12, cell_width=None):
    """The x position of each picture in ``side_by_side(pictures, gap, cell_width)``."""
    xs, x = [], 0
    for p in pictures:
        xs.append(x)
        x += max(p.shape[1], cell_width or 0) + gap
    return xs


def stack(pictures, gap=8):
    """Pictures placed in a column, left-aligned, on white."""
    width = max(p.shape[1] for p in pictures)
    height = sum(p.shape[0] for p in pictures) + gap * (len(pictures) - 1)
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    y = 0
    for p in pictures:
        canvas[y:y + p.shape[0], :p.shape[1]] = p
        y += p.shape[0] + gap
    return canvas


def titled(rgb, title="", caption="", size=12):
    """The picture with ``title`` above it and ``caption`` (e.g. its ``label``) below it; each
    may have several lines. The picture keeps its top-left corner when there is no title."""
    above, below = text_block(title, size), text_block(caption, size)
    return stack([p for p in (above, rgb, below) if p.shape[0]], gap=0)


@functools.lru_cache(maxsize=256)
def text_block(text, size=12):
    """Lines of black text on white as a picture (0 rows for no text); cached, as widgets
    write the same titles at every redraw. Do not write into the array returned."""
    from PIL import Image, ImageDraw

    if not text:
        return np.full((0, 1, 3), 255, dtype=np.uint8)
    f = font(size)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    _, _, right, bottom = measure.multiline_textbbox((0, 0), text, font=f, spacing=2)
    img = Image.new("RGB", (right + 1, bottom + 4), "white")
    ImageDraw.Draw(img).multiline_text((0, 1), text, fill="black", font=f, spacing=2)
    return np.asarray(img)


def colour_bar(height, kind, vmax=1.0, width=10, size=11):
    """A vertical colour bar ``height`` pixels tall with its values written beside it: for
    ``'response'`` +vmax (top), 0, −vmax on the diverging map; for ``'image'`` 1 and 0 in gray."""
    from PIL import Image, ImageDraw

    t = np.linspace(1.0, 0.0, height)[:, None] * np.ones((1, width))
    if kind == "response":
        ramp = diverging(vmax * (2 * t - 1), vmax)
        marks = [(0, f"+{vmax:.2f}"), (height // 2, "0"), (height - 1, f"\u2212{vmax:.2f}")]
    else:
        ramp = gray(t)
        marks = [(0, "1"), (height - 1, "0")]
    f = font(size)
    img = Image.new("RGB", (width + 6 + int(f.getlength(f"\u2212{vmax:.2f}")) + 2, height),
                    "white")
    img.paste(Image.fromarray(ramp), (0, 0))
    draw = ImageDraw.Draw(img)
    for y, text in marks:
        anchor = "lt" if y == 0 else ("lb" if y == height - 1 else "lm")
        draw.text((width + 4, y), text, fill="black", font=f, anchor=anchor)
    return np.asarray(img)


def png(rgb):
    """A picture (h, w, 3) uint8 as PNG bytes (fast compression: widgets send it at once)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


# ----------------------------------------------------------------------------- sliding window

class WindowPainter:
    """The padded input with the window, the kernel, and the output filling in, drawn with
    Pillow (a step takes a few milliseconds, so widgets and GIFs stay fast).

    steps: a :class:`convlib.geometry.WindowSteps`. cell: pixels per grid cell.
    ``show(p)`` moves the window to output position p (flat row-major index or (i, j)) and
    returns self; then ``image`` is the picture as an (h, w, 3) uint8 array, ``png()`` its PNG
    bytes, ``output_so_far()`` the output grid as drawn (NaN where not computed yet) and
    ``texts`` a dict from grid name (``input``, ``kernel``, ``output``) to the (rows, cols)
    array of the strings written in its cells ('' where nothing is written).
    """

    def __init__(self, steps, cell=26):
        self.steps, self.cell = steps, cell
        P, K, Y = steps.padded, steps.K, steps.Y
        self.text_size = max(8, int(cell * 0.46))
        self.font = font(self.text_size)
        self.title_font = font(max(8, int(cell * 0.5)))
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
            "dropped", "red: rows/columns no window reaches (the floor drops them)"
        ) if footer else ""
        written = np.vectorize(format_number, otypes=[object])
        self.texts = {"input": written(P), "kernel": written(K),
                      "output": np.full(Y.shape, "", dtype=object)}
        self._all_output = written(Y)
        colours = np.empty(P.shape, dtype=object)
        for kind in ("input", "padding", "inserted"):
            colours[steps.kinds == kind] = COLOURS[kind]
        if steps.leftover[0]:
            colours[-steps.leftover[0]:, :] = COLOURS["dropped"]
        if steps.leftover[1]:
            colours[:, -steps.leftover[1]:] = COLOURS["dropped"]
        self._input_colours = colours
        self.position, self.image = None, None

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
        c = self.cell
        draw_grid(img, self.origins[0], c, fills, self.texts["input"], self.text_size, grey)
        draw_grid(img, self.origins[1], c, np.full(s.K.shape, COLOURS["kernel"], dtype=object),
                  self.texts["kernel"], self.text_size)
        order = np.arange(s.Y.size).reshape(s.Y.shape)
        out = np.where(order < flat, COLOURS["done"], COLOURS["todo"]).astype(object)
        out[i, j] = COLOURS["current"]
        self.texts["output"] = np.where(order <= flat, self._all_output, "").astype(object)
        draw_grid(img, self.origins[2], c, out, self.texts["output"], self.text_size)
        x0, y0 = self.origins[0]
        draw.rectangle((x0 + cols[0] * c - 1, y0 + rows[0] * c - 1, x0 + (cols[-1] + 1) * c + 1,
                        y0 + (rows[-1] + 1) * c + 1), outline="#08519c", width=3)
        if self.footer:
            draw.text((x0, self.size[1] - 6), self.footer, fill="#a50f15", font=self.font,
                      anchor="ld")
        self.image = np.asarray(img)
        self.position = (i, j)
        return self

    def output_so_far(self):
        """The output as drawn now: the numbers written so far, NaN where nothing is written."""
        Y = np.full(self.steps.Y.shape, np.nan)
        written = self.texts["output"] != ""
        Y[written] = self.steps.Y[written]
        return Y

    def png(self):
        """The current picture as PNG bytes."""
        return png(self.image)
