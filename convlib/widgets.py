"""Interactive widgets (ipywidgets) for exploring convolution; every number shown is computed by
convlib (``correlate2d``, ``conv2d_nchw``, ``output_size``, ``stride_leftover``, ``pad2d``).

Public names and signatures (each returns an ``ipywidgets.VBox`` subclass; show it by making it
the cell's last expression):

- ``conv_explorer(height=7, width=7, kernel_size=3, stride=1, padding=0, dilation=1,
  padding_mode="zeros") -> ConvExplorer``: IntSliders described ``height``, ``width``, ``kernel``,
  ``stride``, ``padding``, ``dilation``, a Dropdown ``padding mode``, a ``position`` slider and a
  Play button. Draws the padded input with its numbers, the kernel window at the current output
  position and the output filling in. ``w.formula`` (an ``ipywidgets.HTML``) contains
  ``output size: {H_out} x {W_out}`` and the formula with the numbers filled in; rows/columns a
  stride leaves over are named there and drawn in red; impossible settings are reported there
  (``output size: impossible — …``) instead of raising.
- ``kernel_playground(image=None, kernel="sobel_x") -> KernelPlayground``: a photo (default
  ``convlib.images.photo((150, 128))``), a Dropdown ``kernel`` (``convlib.kernels.KERNEL_NAMES``
  plus ``custom``), 9 FloatText boxes holding the 3x3 values (editing one switches to
  ``custom``), a Dropdown ``padding mode`` (``zeros``, ``reflect``, ``replicate``, ``circular``,
  ``valid`` = no padding), and the feature map beside the input on the diverging map ``RdBu_r``
  with vmin = -vmax (zero is white; negatives are never clamped). ``w.label`` (HTML) reads
  ``kernel: sobel_x | feature map min -0.91, max 0.88 | …``.
- ``channels_view(image_rgb=None) -> ChannelsView``: an RGB photo split into R, G, B; one kernel
  per channel (Dropdowns ``red kernel``, ``green kernel``, ``blue kernel``), the per-channel
  responses, and their sum plus ``bias`` (FloatSlider) — equal to ``conv2d_nchw`` with one
  filter of shape (1, 3, 3, 3).

Every widget exposes, for tests and curious students:
- ``w.controls``: dict from the descriptions above to the control widgets;
- ``w.state``: dict of what is shown now (shapes, arrays, texts, PNG bytes, ``redraw_seconds``);
- ``w.image``: the ``ipywidgets.Image`` showing the picture; ``w.redraw()`` redraws.

ConvExplorer ``state`` keys: ``input_shape``, ``kernel_shape``, ``stride``, ``padding``,
``dilation``, ``padding_mode``, ``X``, ``K``, ``padded`` (the grid drawn), ``output_shape``
((H_out, W_out) or None), ``output`` (full Y = correlate2d), ``output_so_far`` (NaN after the
current position), ``position`` ((i, j) or None), ``window`` ({"rows", "cols"}: padded indices
the kernel taps cover), ``leftover`` ((rows, cols)), ``dropped_rows`` / ``dropped_cols`` (padded
indices no window reaches), ``message`` (None, or why the setting is impossible),
``formula_text``, ``png``, ``redraw_seconds``.
"""

from __future__ import annotations

import html
import io
import time

import ipywidgets as W
import numpy as np

from .conv import correlate2d
from .figures import DIVERGING_CMAP, WindowPainter, window_steps
from .kernels import KERNEL_NAMES, kernel
from .layers import conv2d_nchw
from .shapes import output_size, stride_leftover

__all__ = ["conv_explorer", "kernel_playground", "channels_view", "ConvExplorer",
           "KernelPlayground", "ChannelsView"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
_BASE = np.random.default_rng(0).integers(0, 4, size=(16, 16)).astype(float)
_KERNEL_3 = np.array([[0.0, 1, 2], [2, 2, 0], [0, 1, 2]])


def _explorer_kernel(k):
    if k == 3:
        return _KERNEL_3
    return np.random.default_rng(k).integers(0, 3, size=(k, k)).astype(float)


def _png(rgb):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


# ----------------------------------------------------------------------------- conv explorer

class ConvExplorer(W.VBox):
    """The convolution explorer; see the module docstring for controls and ``state``."""

    def __init__(self, height=7, width=7, kernel_size=3, stride=1, padding=0, dilation=1,
                 padding_mode="zeros"):
        def slider(name, value, lo, hi):
            return W.IntSlider(value=value, min=lo, max=hi, description=name,
                               continuous_update=False)

        c = {
            "height": slider("height", height, 1, 12),
            "width": slider("width", width, 1, 12),
            "kernel": slider("kernel", kernel_size, 1, 7),
            "stride": slider("stride", stride, 1, 4),
            "padding": slider("padding", padding, 0, 4),
            "dilation": slider("dilation", dilation, 1, 3),
            "padding mode": W.Dropdown(options=PADDING_MODES, value=padding_mode,
                                       description="padding mode"),
            "position": W.IntSlider(value=0, min=0, max=0, description="position"),
            "play": W.Play(value=0, min=0, max=0, interval=700, description="Play"),
        }
        c["padding mode"].style.description_width = "initial"
        W.jslink((c["play"], "value"), (c["position"], "value"))
        self.controls = c
        self.formula = W.HTML()
        self.info = W.HTML()
        self.image = W.Image(format="png")
        self.state = {}
        self._painter = None
        self._busy = False
        for name in ("height", "width", "kernel", "stride", "padding", "dilation",
                     "padding mode"):
            c[name].observe(self._on_geometry, names="value")
        c["position"].observe(self._on_position, names="value")
        super().__init__([
            W.HBox([W.VBox([c["height"], c["width"], c["kernel"]]),
                    W.VBox([c["stride"], c["padding"], c["dilation"]]),
                    W.VBox([c["padding mode"]])]),
            W.HBox([c["play"], c["position"]]),
            self.formula, self.image, self.info,
        ])
        self.redraw()

    # -- callbacks
    def _on_geometry(self, change):
        if not self._busy:
            self.redraw()

    def _on_position(self, change):
        if not self._busy:
            self._show_position()

    # -- drawing
    def redraw(self):
        """Recompute everything from the controls and redraw (also called by every control)."""
        start = time.perf_counter()
        c = self.controls
        H, Wd, k = c["height"].value, c["width"].value, c["kernel"].value
        s, p, d = c["stride"].value, c["padding"].value, c["dilation"].value
        mode = c["padding mode"].value
        X, K = _BASE[:H, :Wd].copy(), _explorer_kernel(k)
        self.state = {"input_shape": (H, Wd), "kernel_shape": (k, k), "stride": s, "padding": p,
                      "dilation": d, "padding_mode": mode, "X": X, "K": K, "message": None,
                      "output_shape": None, "position": None, "window": None}
        try:
            steps = window_steps(X, K, stride=s, padding=p, dilation=d, padding_mode=mode)
        except ValueError as exc:
            self._show_impossible(str(exc))
            self.state["redraw_seconds"] = time.perf_counter() - start
            return
        self._painter = WindowPainter(steps)
        n = steps.n_positions
        self._busy = True
        try:  # shrink the position range first so the value is clamped without a redraw
            for name in ("position", "play"):
                w = c[name]
                if w.value > n - 1:
                    w.value = n - 1
                w.max = n - 1
        finally:
            self._busy = False
        self.state.update({
            "padded": steps.padded, "output": steps.Y, "output_shape": steps.out_shape,
            "leftover": steps.leftover, "dropped_rows": steps.dropped_rows,
            "dropped_cols": steps.dropped_cols,
        })
        self._write_formula(steps)
        self.image.layout.display = None
        self._show_position(start)

    def _show_position(self, start=None):
        start = time.perf_counter() if start is None else start
        if self._painter is None or self.state.get("message"):
            return
        steps = self._painter.steps
        pos = min(self.controls["position"].value, steps.n_positions - 1)
        painter = self._painter.show(pos)
        i, j = painter.position
        rows, cols = steps.window_cells((i, j))
        png = painter.png()
        self.image.value = png
        window = steps.padded[np.ix_(rows, cols)]
        terms = " + ".join(f"{_num(x)}·{_num(w)}" for x, w in
                           zip(window.ravel(), steps.K.ravel(), strict=True))
        self.info.value = (f"Y[{i}, {j}] = sum of window × kernel = {terms} = "
                           f"<b>{_num(steps.Y[i, j])}</b>")
        self.state.update({"position": (i, j), "window": {"rows": rows.tolist(),
                                                          "cols": cols.tolist()},
                           "output_so_far": painter.output_so_far(), "png": png,
                           "redraw_seconds": time.perf_counter() - start})

    def _write_formula(self, steps):
        st = self.state
        (H, Wd), k, s, p, d = st["input_shape"], st["kernel_shape"][0], st["stride"], \
            st["padding"], st["dilation"]
        h_out = output_size(H, k, s, p, d)
        w_out = output_size(Wd, k, s, p, d)
        lines = [f"<b>output size: {h_out} x {w_out}</b>"]
        for name, n, o in (("H", H, h_out), ("W", Wd, w_out)):
            lines.append(f"{name}_out = floor(({name} + 2P − D(K − 1) − 1) / S) + 1 = "
                         f"floor(({n} + 2·{p} − {d}·({k} − 1) − 1) / {s}) + 1 = {o}")
        rows_left = stride_leftover(H, k, s, p, d)
        cols_left = stride_leftover(Wd, k, s, p, d)
        if rows_left or cols_left:
            parts = []
            if rows_left:
                parts.append(f"{_count(rows_left, 'row')} at the bottom (padded "
                             f"{_index_list('row', steps.dropped_rows)})")
            if cols_left:
                parts.append(f"{_count(cols_left, 'column')} on the right (padded "
                             f"{_index_list('column', steps.dropped_cols)})")
            verb = "is" if len(parts) == 1 and 1 in (rows_left, cols_left) else "are"
            lines.append(f"stride {s} does not divide evenly: {' and '.join(parts)} {verb} "
                         "never covered by a window — the floor drops them (drawn in red)")
        else:
            lines.append(f"stride {s} divides evenly: every padded row and column is used")
        self.formula.value = "<br>".join(lines)
        st["formula_text"] = html.unescape(self.formula.value.replace("<br>", "\n")
                                           .replace("<b>", "").replace("</b>", ""))

    def _show_impossible(self, message):
        self._painter = None
        self.state.update({"message": message, "output": None, "output_so_far": None,
                           "padded": None, "leftover": None, "dropped_rows": [],
                           "dropped_cols": [], "png": None})
        self.formula.value = (f"<b>output size: impossible</b> — {html.escape(message)}")
        self.state["formula_text"] = f"output size: impossible — {message}"
        self.info.value = ""
        self.image.layout.display = "none"


def _num(v):
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:.2f}"


def _count(n, word):
    return f"the last {word}" if n == 1 else f"the last {n} {word}s"


def _index_list(word, indices):
    if len(indices) == 1:
        return f"{word} {indices[0]}"
    return f"{word}s {indices[0]}–{indices[-1]}"


def conv_explorer(height=7, width=7, kernel_size=3, stride=1, padding=0, dilation=1,
                  padding_mode="zeros"):
    """Interactive explorer of output size, stride, padding and dilation (see module doc).

    height, width: input size H x W (1-12); kernel_size: K (1-7); stride: S (1-4);
    padding: P on every side (0-4); dilation: D (1-3); padding_mode: 'zeros', 'reflect',
    'replicate' or 'circular'.
    Returns a :class:`ConvExplorer` (an ipywidgets.VBox) with ``controls``, ``state``,
    ``formula`` (contains ``output size: H_out x W_out``), ``image`` and ``redraw()``.
    """
    return ConvExplorer(height, width, kernel_size, stride, padding, dilation, padding_mode)


# ----------------------------------------------------------------------------- kernel playground

def _colour_map(Y, vmax):
    import matplotlib

    cmap = matplotlib.colormaps[DIVERGING_CMAP]
    return (cmap(0.5 + 0.5 * np.asarray(Y) / vmax)[..., :3] * 255 + 0.5).astype(np.uint8)


def _side_by_side(images, scale=2, gap=12):
    """Pictures (h, w, 3) uint8 enlarged ``scale`` times (nearest) and placed in a row."""
    big = [np.repeat(np.repeat(im, scale, axis=0), scale, axis=1) for im in images]
    height = max(b.shape[0] for b in big)
    width = sum(b.shape[1] for b in big) + gap * (len(big) - 1)
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    x = 0
    for b in big:
        canvas[:b.shape[0], x:x + b.shape[1]] = b
        x += b.shape[1] + gap
    return canvas


def _colour_bar(height, vmax_label_width=16):
    ramp = np.linspace(1.0, -1.0, height)[:, None] * np.ones((1, vmax_label_width))
    return _colour_map(ramp, 1.0)


class KernelPlayground(W.VBox):
    """Kernel playground; see the module docstring for controls and ``state``."""

    def __init__(self, image=None, kernel_name="sobel_x"):
        from .images import photo

        self.X = photo((150, 128)) if image is None else np.asarray(image, dtype=float)
        if self.X.ndim != 2:
            raise ValueError(f"kernel_playground needs a grayscale image (H, W), got shape "
                             f"{self.X.shape}; use convlib.images.photo()")
        if kernel_name not in KERNEL_NAMES:
            raise ValueError(f"unknown kernel {kernel_name!r}; choose one of "
                             f"{', '.join(KERNEL_NAMES)}")
        c = {
            "kernel": W.Dropdown(options=list(KERNEL_NAMES) + ["custom"], value=kernel_name,
                                 description="kernel"),
            "padding mode": W.Dropdown(options=list(PADDING_MODES) + ["valid"], value="zeros",
                                       description="padding mode"),
        }
        c["padding mode"].style.description_width = "initial"
        self.values = [W.FloatText(value=0.0, step=0.5, layout=W.Layout(width="70px"))
                       for _ in range(9)]
        for n, box in enumerate(self.values):
            c[f"k{n // 3}{n % 3}"] = box
        self.controls = c
        self.label = W.HTML()
        self.image = W.Image(format="png")
        self.state = {}
        self._busy = False
        self._fill_boxes(kernel(kernel_name, size=3))
        c["kernel"].observe(self._on_kernel, names="value")
        c["padding mode"].observe(lambda change: self.redraw(), names="value")
        for box in self.values:
            box.observe(self._on_value, names="value")
        grid = W.GridBox(self.values, layout=W.Layout(grid_template_columns="repeat(3, 75px)"))
        super().__init__([W.HBox([W.VBox([c["kernel"], c["padding mode"]]), grid]),
                          self.label, self.image])
        self.redraw()

    def _fill_boxes(self, K):
        self._busy = True
        try:
            for box, v in zip(self.values, np.asarray(K, dtype=float).ravel(), strict=True):
                box.value = float(v)
        finally:
            self._busy = False

    def _on_kernel(self, change):
        if change["new"] != "custom":
            self._fill_boxes(kernel(change["new"], size=3))
        self.redraw()

    def _on_value(self, change):
        if self._busy:
            return
        if self.controls["kernel"].value != "custom":
            self._busy = True
            try:
                self.controls["kernel"].value = "custom"
            finally:
                self._busy = False
        self.redraw()

    def redraw(self):
        """Recompute the feature map from the controls and redraw."""
        start = time.perf_counter()
        name = self.controls["kernel"].value
        mode = self.controls["padding mode"].value
        K = np.array([box.value for box in self.values], dtype=float).reshape(3, 3)
        if mode == "valid":
            Y = np.asarray(correlate2d(self.X, K, padding="valid"))
        else:
            Y = np.asarray(correlate2d(self.X, K, padding="same", padding_mode=mode))
        lo, hi = float(np.min(Y)), float(np.max(Y))
        vmax = max(abs(lo), abs(hi)) or 1.0
        gray = (np.clip(self.X, 0, 1)[..., None] * np.ones(3) * 255 + 0.5).astype(np.uint8)
        fmap = _colour_map(Y, vmax)
        picture = _side_by_side([gray, fmap, _colour_bar(Y.shape[0], 8)])
        png = _png(picture)
        self.image.value = png
        self.label.value = (
            f"kernel: <b>{html.escape(name)}</b> | feature map min {lo:.2f}, max {hi:.2f} | "
            f"{'valid (no padding)' if mode == 'valid' else f'{mode} padding'}, "
            f"{Y.shape[0]} x {Y.shape[1]} | colours: blue −{vmax:.2f}, white 0, "
            f"red +{vmax:.2f} (left: input, right: feature map)")
        self.state = {"kernel_name": name, "K": K, "padding_mode": mode, "feature_map": Y,
                      "min": lo, "max": hi, "vmax": vmax, "png": png,
                      "redraw_seconds": time.perf_counter() - start}


def kernel_playground(image=None, kernel="sobel_x"):
    """Apply classic or hand-edited 3x3 kernels to a photo and see the feature map.

    image: grayscale image (H, W) in [0, 1]; default ``convlib.images.photo((150, 128))``.
    kernel: initial kernel name from ``convlib.kernels.KERNEL_NAMES``.
    Returns a :class:`KernelPlayground` with ``controls`` (``kernel``, ``padding mode``,
    ``k00`` … ``k22``), ``label``, ``image``, ``state`` and ``redraw()``.
    """
    return KernelPlayground(image, kernel)


# ----------------------------------------------------------------------------- channels view

class ChannelsView(W.VBox):
    """R, G, B channels, one kernel each, the responses, and their sum plus bias."""

    def __init__(self, image_rgb=None, kernels=("sobel_x", "sobel_x", "sobel_x"), bias=0.0):
        from .images import photo_rgb

        rgb = photo_rgb((96, 82)) if image_rgb is None else np.asarray(image_rgb, dtype=float)
        if rgb.ndim != 3 or rgb.shape[-1] != 3:
            raise ValueError(f"channels_view needs an RGB image (H, W, 3), got shape {rgb.shape}")
        self.rgb = rgb
        c = {}
        for colour, name in zip(("red", "green", "blue"), kernels, strict=True):
            c[f"{colour} kernel"] = W.Dropdown(options=KERNEL_NAMES, value=name,
                                               description=f"{colour} kernel")
            c[f"{colour} kernel"].style.description_width = "initial"
        c["bias"] = W.FloatSlider(value=bias, min=-2.0, max=2.0, step=0.1, description="bias",
                                  continuous_update=False)
        self.controls = c
        self.label = W.HTML()
        self.image = W.Image(format="png")
        self.state = {}
        for w in c.values():
            w.observe(lambda change: self.redraw(), names="value")
        super().__init__([W.HBox(list(c.values())), self.label, self.image])
        self.redraw()

    def redraw(self):
        """Recompute responses and their sum from the controls and redraw."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        from .figures import show_grid

        start = time.perf_counter()
        names = [self.controls[f"{c} kernel"].value for c in ("red", "green", "blue")]
        bias = float(self.controls["bias"].value)
        x = np.moveaxis(self.rgb, -1, 0)  # (3, H, W)
        weight = np.stack([kernel(n, size=3) for n in names])[None]  # (1, 3, 3, 3)
        responses = np.stack([np.asarray(correlate2d(x[ch], weight[0, ch], padding="same"))
                              for ch in range(3)])
        layer = np.asarray(conv2d_nchw(x, weight, np.array([bias]), padding="same"))[0]
        total = responses.sum(axis=0) + bias

        fig = Figure(figsize=(9.6, 7.2), dpi=72)
        FigureCanvasAgg(fig)
        axes = fig.subplots(3, 4)
        # responses share one symmetric scale; the sum (about 3x larger) gets its own
        vmax = float(np.max(np.abs(responses))) or 1.0
        vmax_out = float(np.max(np.abs(layer))) or 1.0
        for ch, (colour, cmap) in enumerate(zip(("red", "green", "blue"),
                                                ("Reds_r", "Greens_r", "Blues_r"), strict=True)):
            axes[0, ch].imshow(x[ch], cmap=cmap, vmin=0, vmax=1)
            axes[0, ch].set_title(f"{colour} channel", fontsize=10)
            show_grid(weight[0, ch], ax=axes[1, ch], title=f"{colour} kernel: {names[ch]}")
            im_r = axes[2, ch].imshow(responses[ch], cmap=DIVERGING_CMAP, vmin=-vmax, vmax=vmax)
            axes[2, ch].set_title(f"{colour} response", fontsize=10)
        fig.colorbar(im_r, ax=axes[2, 2], fraction=0.046, pad=0.04)
        axes[0, 3].imshow(np.clip(self.rgb, 0, 1))
        axes[0, 3].set_title("RGB input", fontsize=10)
        axes[1, 3].axis("off")
        axes[1, 3].text(0.5, 0.5, f"sum of the 3\nresponses\n+ bias {bias:+.1f}\n↓",
                        ha="center", va="center", fontsize=11, transform=axes[1, 3].transAxes)
        im = axes[2, 3].imshow(layer, cmap=DIVERGING_CMAP, vmin=-vmax_out, vmax=vmax_out)
        axes[2, 3].set_title("output = sum + bias", fontsize=10)
        fig.colorbar(im, ax=axes[2, 3], fraction=0.046, pad=0.04)
        for ax in axes.ravel():
            ax.set_xticks([])
            ax.set_yticks([])
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        png = buf.getvalue()
        self.image.value = png
        matches = bool(np.allclose(total, layer))
        self.label.value = (
            f"one filter of shape (1, 3, 3, 3): kernels {', '.join(names)}; bias {bias:+.2f}; "
            f"output min {float(layer.min()):.2f}, max {float(layer.max()):.2f}; sum of responses "
            f"+ bias {'equals' if matches else 'DIFFERS FROM'} conv2d_nchw")
        self.state = {"kernel_names": names, "weight": weight, "bias": bias, "channels": x,
                      "responses": responses, "sum_plus_bias": total, "output": layer,
                      "matches_layer": matches, "png": png,
                      "redraw_seconds": time.perf_counter() - start}


def channels_view(image_rgb=None):
    """An RGB image split into channels, one kernel per channel, the responses, their sum + bias.

    image_rgb: (H, W, 3) in [0, 1]; default ``convlib.images.photo_rgb((96, 82))``.
    Returns a :class:`ChannelsView` with ``controls`` (``red kernel``, ``green kernel``,
    ``blue kernel``, ``bias``), ``label``, ``image``, ``state`` and ``redraw()``; ``state``
    holds ``responses`` (3, H, W), ``sum_plus_bias`` and ``output`` (= conv2d_nchw, (H, W)).
    """
    return ChannelsView(image_rgb)
