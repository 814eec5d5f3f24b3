"""Images for the course, all made locally: nothing is downloaded at run time.

* ``photo`` / ``photo_rgb``: the photograph of Grace Hopper that ships inside matplotlib
  (``matplotlib.cbook.get_sample_data("grace_hopper.jpg")``), as floats in [0, 1].
* ``digit``: an MNIST-like 28x28 digit (white on black, centred, slightly blurred) drawn with
  matplotlib's bundled DejaVu font.
* test patterns: ``vertical_edge``, ``horizontal_edge``, ``checkerboard``, ``impulse``,
  ``gradient``.

Every function returns a new float64 numpy array and is deterministic.
"""

import functools

import numpy as np

__all__ = ["photo", "photo_rgb", "digit", "vertical_edge", "horizontal_edge", "checkerboard",
           "impulse", "gradient"]

# ITU-R BT.601 luma weights, the ones Pillow's convert("L") uses
_LUMA = np.array([0.299, 0.587, 0.114])


def _check_size(size):
    if size is None:
        return None
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1
                   for s in size)):
        raise ValueError(f"size must be None or a pair of positive integers (height, width), "
                         f"got {size!r}")
    return int(size[0]), int(size[1])


@functools.lru_cache(maxsize=8)
def _photo_rgb_uint8(size):
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f, Image.open(f) as im:
        im = im.convert("RGB")
        if size is not None:
            im = im.resize((size[1], size[0]), Image.Resampling.LANCZOS)
        data = np.asarray(im, dtype=np.uint8).copy()
    data.setflags(write=False)
    return data


def photo_rgb(size=None):
    """The Grace Hopper photograph in colour.

    size: None for the original 600 (height) x 512 (width) pixels, or ``(h, w)`` to resize
        (Lanczos).
    Returns: float64 array of shape (H, W, 3) with values in [0, 1].
    """
    return _photo_rgb_uint8(_check_size(size)) / 255.0


def photo(size=None):
    """The Grace Hopper photograph in grayscale (luma 0.299 R + 0.587 G + 0.114 B).

    size: None for the original resolution, or ``(h, w)`` to resize.
    Returns: float64 array of shape (H, W) with values in [0, 1].
    """
    return np.clip(photo_rgb(size) @ _LUMA, 0.0, 1.0)


@functools.lru_cache(maxsize=32)
def _digit_glyph(d):
    """Render the digit large (white on black) with matplotlib's Agg and return it cropped."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1), dpi=112, facecolor="black")
    canvas = FigureCanvasAgg(fig)
    fig.text(0.5, 0.5, str(d), color="white", fontsize=60, fontweight="bold",
             family="DejaVu Sans", ha="center", va="center")
    canvas.draw()
    img = np.asarray(canvas.buffer_rgba())[..., 0].astype(np.float64) / 255.0
    rows = np.flatnonzero(img.max(axis=1) > 0.05)
    cols = np.flatnonzero(img.max(axis=0) > 0.05)
    return img[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def digit(d, size=28):
    """An MNIST-like picture of the digit ``d``: white strokes on black, floats in [0, 1].

    As in MNIST, the digit is scaled to fit a box of 20/28 of the image, slanted slightly like
    handwriting, placed so that its centre of mass is the image centre, and softened with a small
    blur. d: 0..9; size: side length (28 like MNIST).
    Returns: float64 array of shape (size, size), maximum exactly 1.
    """
    from PIL import Image
    from scipy import ndimage

    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 0 <= d <= 9:
        raise ValueError(f"d must be a digit 0..9, got {d!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"size must be an integer of at least 8, got {size!r}")
    size = int(size)

    glyph = _digit_glyph(int(d))
    # a slight italic slant: shift each row right in proportion to its height above the bottom
    h, w = glyph.shape
    slant = 0.15
    pad = int(np.ceil(slant * h))
    slanted = np.zeros((h, w + pad))
    for r in range(h):
        ndimage.shift(np.pad(glyph[r], (0, pad)), slant * (h - 1 - r), output=slanted[r],
                      order=1, mode="constant")
    glyph = np.clip(slanted, 0.0, 1.0)

    box = max(1, round(size * 20 / 28))
    scale = box / max(glyph.shape)
    gh, gw = max(1, round(glyph.shape[0] * scale)), max(1, round(glyph.shape[1] * scale))
    small = Image.fromarray(glyph.astype(np.float32), mode="F").resize((gw, gh),
                                                                      Image.Resampling.LANCZOS)
    small = np.clip(np.asarray(small, dtype=np.float64), 0.0, 1.0)

    canvas = np.zeros((size, size))
    top, left = (size - gh) // 2, (size - gw) // 2
    canvas[top:top + gh, left:left + gw] = small
    # centre of mass to the image centre, like MNIST
    cy, cx = ndimage.center_of_mass(canvas)
    centre = (size - 1) / 2
    canvas = ndimage.shift(canvas, (centre - cy, centre - cx), order=1, mode="constant")
    canvas = ndimage.gaussian_filter(canvas, sigma=0.5 * size / 28)
    canvas = np.clip(canvas, 0.0, None)
    return canvas / canvas.max()


# -- test patterns ---------------------------------------------------------------------------

def _hw(h, w):
    for name, v in (("h", h), ("w", w)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return int(h), int(w)


def vertical_edge(h=6, w=6, dark=0.0, bright=1.0, at=None):
    """A dark left part and a bright right part, separated by a vertical edge.

    at: first bright column; default ``(w + 1) // 2`` (the middle; for odd w the extra column is
    dark). ``vertical_edge(3, 3, 10, 200)`` is the seeds' patch [[10, 10, 200]] * 3.
    Returns: float64 array of shape (h, w).
    """
    h, w = _hw(h, w)
    at = (w + 1) // 2 if at is None else int(at)
    X = np.full((h, w), float(dark))
    X[:, at:] = bright
    return X


def horizontal_edge(h=6, w=6, dark=0.0, bright=1.0, at=None):
    """A dark top part and a bright bottom part; ``at`` is the first bright row (default
    ``(h + 1) // 2``). The transpose of ``vertical_edge(w, h, ...)``. Shape (h, w)."""
    return vertical_edge(w, h, dark, bright, at).T.copy()


def checkerboard(h=8, w=8, square=1, low=0.0, high=1.0):
    """Squares of side ``square`` alternating between ``low`` (top-left) and ``high``.
    Returns: float64 array of shape (h, w)."""
    h, w = _hw(h, w)
    if isinstance(square, bool) or not isinstance(square, (int, np.integer)) or square < 1:
        raise ValueError(f"square must be a positive integer, got {square!r}")
    i, j = np.indices((h, w))
    return np.where((i // square + j // square) % 2 == 0, float(low), float(high))


def impulse(h=7, w=7, at=None, value=1.0):
    """All zeros except ``value`` at ``at = (row, col)`` (default: the centre ``(h // 2, w // 2)``).

    Correlating an impulse with a kernel draws the kernel flipped; convolving draws it as is.
    Returns: float64 array of shape (h, w).
    """
    h, w = _hw(h, w)
    r, c = (h // 2, w // 2) if at is None else at
    if not (0 <= r < h and 0 <= c < w):
        raise ValueError(f"at={at!r} is outside the {h}x{w} image")
    X = np.zeros((h, w))
    X[r, c] = value
    return X


def gradient(h=6, w=6, direction="horizontal", low=0.0, high=1.0):
    """A linear ramp from ``low`` to ``high``: left to right (``'horizontal'``) or top to bottom
    (``'vertical'``). Returns: float64 array of shape (h, w)."""
    h, w = _hw(h, w)
    if direction == "horizontal":
        return np.tile(np.linspace(low, high, w), (h, 1))
    if direction == "vertical":
        return np.tile(np.linspace(low, high, h)[:, None], (1, w))
    raise ValueError(f"direction must be 'horizontal' or 'vertical', got {direction!r}")
