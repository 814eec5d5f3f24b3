"""Matplotlib pictures of convolution: small matrices with their numbers, pictures in gray and
signed responses on a diverging colour map centred on zero, and one step of the sliding window.

Every number drawn comes from convlib's own functions (``correlate2d``, ``pad2d``,
``output_shape``, ``stride_leftover``), so a picture can never drift from the code. The colour
rule and its labels are the renderer's (``convlib.render``), the window geometry is
``convlib.geometry``'s: this module only makes matplotlib figures.

Public names and signatures:

- ``show_grid(X, ax=None, title=None, highlight=None, cmap=None, fmt=None) -> Figure``
  X: matrix of shape (H, W). highlight: ``(top, left, height, width)``, a list of such
  rectangles, or a boolean mask of shape (H, W) (cells outlined in red).
- ``show_images(images, titles=None, cmap=None, ncols=None, size=3.0, colorbar=True,
  suptitle=None, kind=None) -> Figure``: one image (H, W) / (H, W, 3) or a list of them; a
  picture (``kind='image'``) in gray clipped to [0, 1], a signed response
  (``kind='response'``) on ``'RdBu_r'`` with ``vmin = -vmax`` (zero is white, nothing is
  clamped); each panel labelled ``IMAGE_LABEL``, ``CLIPPED_LABEL`` or ``RESPONSE_LABEL``.
- ``show_window_step(X, K, position=0, stride=1, padding=0, dilation=1,
  padding_mode="zeros") -> Figure``: the padded input with the window at output position
  ``position`` (flat index in row-major order, or ``(i, j)``), the kernel, and the output filled
  in up to that position.
- Kept here for the notebooks that import them from ``convlib.figures``: ``window_steps`` and
  ``WindowSteps`` (from ``convlib.geometry``), ``WindowPainter`` and ``COLOURS`` (from
  ``convlib.render``).

Figures made here without an ``ax`` are closed before they are returned, so a notebook shows
them once: as the cell's last expression, or with ``display(fig)``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.patches import Rectangle

from .geometry import WindowSteps, window_steps
from .render import (
    CLIPPED_LABEL,
    COLOURS,
    DIVERGING_CMAP,
    IMAGE_LABEL,
    KINDS,
    RESPONSE_LABEL,
    WindowPainter,
    format_number,
    symmetric_limit,
    text_colour,
)
from .render import label as kind_label

__all__ = ["show_grid", "show_images", "show_window_step", "window_steps", "WindowSteps",
           "WindowPainter", "DIVERGING_CMAP", "IMAGE_LABEL", "CLIPPED_LABEL", "RESPONSE_LABEL",
           "KINDS", "COLOURS"]


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


def _symmetric_limits(A):
    vmax = symmetric_limit(A)
    return -vmax, vmax


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
    longest = max(len(format_number(v, fmt)) for v in A.ravel()[:400])
    fontsize = max(5.0, min(12.0, 0.36 * cell_points / max(1.0, longest / 2.2)))
    for (i, j), v in np.ndenumerate(A):
        ax.text(j, i, format_number(v, fmt), ha="center", va="center", fontsize=fontsize,
                color=text_colour(colours[i, j]))
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
    # rows apart by more than the default: each panel's label below it must not run into the
    # title of the panel below
    fig.tight_layout(h_pad=2.5)
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
        label = kind_label(A, "image")
        A, vmin, vmax = np.clip(A, 0, 1), 0.0, 1.0
    else:  # automatic, no negative values: gray from 0, not clipped
        vmin, vmax = 0.0, max(1.0, float(finite.max())) if finite.size else 1.0
        label = IMAGE_LABEL
    if cmap == DIVERGING_CMAP and kind != "response":
        vmin, vmax = _symmetric_limits(A)
    im = ax.imshow(A, cmap=cmap or "gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xlabel(label, fontsize=8)
    return im


# ----------------------------------------------------------------------------- sliding window

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
