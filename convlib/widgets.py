"""Interactive widgets (ipywidgets) for exploring convolution; every number shown is computed by
convlib (``correlate2d``, ``conv2d_nchw``, ``output_size``, ``stride_leftover``, ``pad2d``) and
every picture is drawn by ``convlib.render`` (the window geometry is ``convlib.geometry``'s).
This module only builds the controls and says what to draw.

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
  ``valid`` = no padding), and the output beside the input, coloured by
  ``convlib.kernels.output_kind`` (named and edited kernels alike): a picture (entries sum to
  1: identity, shifts, blurs, sharpen, emboss) in gray clipped to [0, 1], a signed response
  (Sobel, Prewitt, Laplacian) on the diverging map ``RdBu_r`` with vmin = -vmax (zero is white;
  negatives are never clamped). Each panel carries the label ``figures.show_images`` writes
  (``render.IMAGE_LABEL``, ``CLIPPED_LABEL``, ``RESPONSE_LABEL``). ``w.label`` (HTML) reads
  ``kernel: sobel_x | feature map min -0.91, max 0.88 | … | entries sum to 0.00: the output is
  not a picture, signed response: …``. ``state`` keys: ``kernel_name``, ``K``, ``padding_mode``,
  ``feature_map``, ``kind``, ``output_label``, ``input_label``, ``min``, ``max``, ``vmax``,
  ``png``, ``panels`` (name -> (x, y) of each panel in the picture), ``redraw_seconds``.
- ``channels_view(image_rgb=None) -> ChannelsView``: an RGB photo split into R, G, B; one kernel
  per channel (Dropdowns ``red kernel``, ``green kernel``, ``blue kernel``), the per-channel
  responses, and their sum plus ``bias`` (FloatSlider) — equal to ``conv2d_nchw`` with one
  filter of shape (1, 3, 3, 3). Each response and the output are coloured by the same rule.
  Three pictures, one per row (``w.images``: ``channels``, ``kernels``, ``responses``; ``w.image``
  is the responses row, the one every control changes; ``state["pngs"]`` their PNG bytes).

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

import functools
import html
import time

import ipywidgets as widgets
import numpy as np

from . import render
from .conv import correlate2d
from .geometry import window_steps
from .kernels import KERNEL_NAMES, kernel, output_kind
from .layers import conv2d_nchw
from .render import WindowPainter

__all__ = ["conv_explorer", "kernel_playground", "channels_view", "ConvExplorer",
           "KernelPlayground", "ChannelsView"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
_BASE = np.random.default_rng(0).integers(0, 4, size=(16, 16)).astype(float)
_KERNEL_3 = np.array([[0.0, 1, 2], [2, 2, 0], [0, 1, 2]])


def _explorer_kernel(k):
    if k == 3:
        return _KERNEL_3
    return np.random.default_rng(k).integers(0, 3, size=(k, k)).astype(float)


# ----------------------------------------------------------------------------- conv explorer

class ConvExplorer(widgets.VBox):
    """The convolution explorer; see the module docstring for controls and ``state``."""

    def __init__(self, height=7, width=7, kernel_size=3, stride=1, padding=0, dilation=1,
                 padding_mode="zeros"):
        def slider(name, value, lo, hi):
            return widgets.IntSlider(value=value, min=lo, max=hi, description=name,
                               continuous_update=False)

        c = {
            "height": slider("height", height, 1, 12),
            "width": slider("width", width, 1, 12),
            "kernel": slider("kernel", kernel_size, 1, 7),
            "stride": slider("stride", stride, 1, 4),
            "padding": slider("padding", padding, 0, 4),
            "dilation": slider("dilation", dilation, 1, 3),
            "padding mode": widgets.Dropdown(options=PADDING_MODES, value=padding_mode,
                                       description="padding mode"),
            "position": widgets.IntSlider(value=0, min=0, max=0, description="position"),
            "play": widgets.Play(value=0, min=0, max=0, interval=700, description="Play"),
        }
        c["padding mode"].style.description_width = "initial"
        widgets.jslink((c["play"], "value"), (c["position"], "value"))
        self.controls = c
        self.formula = widgets.HTML()
        self.info = widgets.HTML()
        self.image = widgets.Image(format="png")
        self.state = {}
        self._painter = None
        self._busy = False
        for name in ("height", "width", "kernel", "stride", "padding", "dilation",
                     "padding mode"):
            c[name].observe(self._on_geometry, names="value")
        c["position"].observe(self._on_position, names="value")
        super().__init__([
            widgets.HBox([widgets.VBox([c["height"], c["width"], c["kernel"]]),
                          widgets.VBox([c["stride"], c["padding"], c["dilation"]]),
                          widgets.VBox([c["padding mode"]])]),
            widgets.HBox([c["play"], c["position"]]),
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
        H, W, k = c["height"].value, c["width"].value, c["kernel"].value
        s, p, d = c["stride"].value, c["padding"].value, c["dilation"].value
        mode = c["padding mode"].value
        X, K = _BASE[:H, :W].copy(), _explorer_kernel(k)
        self.state = {"input_shape": (H, W), "kernel_shape": (k, k), "stride": s, "padding": p,
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
        (H, W), k, s, p, d = st["input_shape"], st["kernel_shape"][0], st["stride"], \
            st["padding"], st["dilation"]
        (h_out, w_out), (rows_left, cols_left) = steps.out_shape, steps.leftover
        skipped = (("row", steps.skipped_rows), ("column", steps.skipped_cols))
        lines = [f"<b>output size: {h_out} x {w_out}</b>"]
        for name, n, o in (("H", H, h_out), ("W", W, w_out)):
            lines.append(f"{name}_out = floor(({name} + 2P − D(K − 1) − 1) / S) + 1 = "
                         f"floor(({n} + 2·{p} − {d}·({k} − 1) − 1) / {s}) + 1 = {o}")
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
        elif any(cells for _, cells in skipped):
            lines.append(f"stride {s} divides evenly: nothing is left over after the last "
                         "window")
        else:
            lines.append(f"stride {s} divides evenly: every padded row and column is used")
        if any(cells for _, cells in skipped):
            parts = [f"{word}s {', '.join(map(str, cells))}" if len(cells) > 1
                     else f"{word} {cells[0]}" for word, cells in skipped if cells]
            lines.append(f"the windows skip padded {' and '.join(parts)}: with stride {s} and "
                         f"dilation {d} no kernel tap lands there")
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

class KernelPlayground(widgets.VBox):
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
            "kernel": widgets.Dropdown(options=list(KERNEL_NAMES) + ["custom"],
                                       value=kernel_name, description="kernel"),
            "padding mode": widgets.Dropdown(options=list(PADDING_MODES) + ["valid"],
                                             value="zeros", description="padding mode"),
        }
        c["padding mode"].style.description_width = "initial"
        self.values = [widgets.FloatText(value=0.0, step=0.5,
                                         layout=widgets.Layout(width="70px"))
                       for _ in range(9)]
        for n, box in enumerate(self.values):
            c[f"k{n // 3}{n % 3}"] = box
        self.controls = c
        self.label = widgets.HTML()
        self.image = widgets.Image(format="png")
        self.state = {}
        self._busy = False
        # the input never changes: its panel is drawn once, not at every redraw
        self._input_label = render.label(self.X, "image")
        self._input_panel = render.titled(render.enlarge(render.gray(self.X), 2),
                                          caption=f"input\n{self._input_label}")
        self._fill_boxes(kernel(kernel_name, size=3))
        c["kernel"].observe(self._on_kernel, names="value")
        c["padding mode"].observe(lambda change: self.redraw(), names="value")
        for box in self.values:
            box.observe(self._on_value, names="value")
        grid = widgets.GridBox(self.values,
                               layout=widgets.Layout(grid_template_columns="repeat(3, 75px)"))
        super().__init__([widgets.HBox([widgets.VBox([c["kernel"], c["padding mode"]]), grid]),
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
        """Recompute the feature map from the controls and redraw: in gray (clipped to [0, 1])
        when the kernel's output is a picture, on the diverging map centred on zero when it is
        a signed response (``convlib.kernels.output_kind`` decides, for edited kernels too)."""
        start = time.perf_counter()
        name = self.controls["kernel"].value
        mode = self.controls["padding mode"].value
        K = np.array([box.value for box in self.values], dtype=float).reshape(3, 3)
        if mode == "valid":
            Y = np.asarray(correlate2d(self.X, K, padding="valid"))
        else:
            Y = np.asarray(correlate2d(self.X, K, padding="same", padding_mode=mode))
        kind = output_kind(K)
        lo, hi = float(np.min(Y)), float(np.max(Y))
        vmax = render.symmetric_limit(Y)
        output_label = render.label(Y, kind)
        panels = [self._input_panel,
                  render.titled(render.enlarge(render.colourise(Y, kind, vmax), 2),
                                caption=f"output\n{output_label}"),
                  render.colour_bar(2 * Y.shape[0], kind, vmax)]
        offsets = render.row_offsets(panels)
        png = render.png(render.side_by_side(panels))
        self.image.value = png
        what = ("the output is a picture" if kind == "image"
                else "the output is not a picture")
        colours = (f"blue −{vmax:.2f}, white 0, red +{vmax:.2f}" if kind == "response"
                   else "black 0, white 1")
        self.label.value = (
            f"kernel: <b>{html.escape(name)}</b> | feature map min {lo:.2f}, max {hi:.2f} | "
            f"{'valid (no padding)' if mode == 'valid' else f'{mode} padding'}, "
            f"{Y.shape[0]} x {Y.shape[1]} | entries sum to {K.sum():.2f}: {what}, "
            f"<b>{html.escape(output_label)}</b> ({colours})")
        self.state = {"kernel_name": name, "K": K, "padding_mode": mode, "feature_map": Y,
                      "kind": kind, "output_label": output_label, "input_label": self._input_label,
                      "min": lo, "max": hi, "vmax": vmax, "png": png,
                      "panels": {"input": (offsets[0], 0), "output": (offsets[1], 0),
                                 "colour bar": (offsets[2], 0)},
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

CHANNEL_COLOURS = ("red", "green", "blue")


class ChannelsView(widgets.VBox):
    """R, G, B channels, one kernel each, the responses, and their sum plus bias.

    Drawn as three pictures, one per row, so that a change re-encodes only what it changed:
    ``images["channels"]`` (the channels and the RGB input, drawn once), ``images["kernels"]``
    (when a kernel changes) and ``images["responses"]`` (= ``image``: the responses and the
    output, on every change)."""

    def __init__(self, image_rgb=None, kernels=("sobel_x", "sobel_x", "sobel_x"), bias=0.0):
        from .images import photo_rgb

        rgb = photo_rgb((96, 82)) if image_rgb is None else np.asarray(image_rgb, dtype=float)
        if rgb.ndim != 3 or rgb.shape[-1] != 3:
            raise ValueError(f"channels_view needs an RGB image (H, W, 3), got shape {rgb.shape}")
        self.rgb = rgb
        c = {}
        for colour, name in zip(CHANNEL_COLOURS, kernels, strict=True):
            c[f"{colour} kernel"] = widgets.Dropdown(options=KERNEL_NAMES, value=name,
                                                     description=f"{colour} kernel")
            c[f"{colour} kernel"].style.description_width = "initial"
        c["bias"] = widgets.FloatSlider(value=bias, min=-2.0, max=2.0, step=0.1,
                                        description="bias", continuous_update=False)
        self.controls = c
        self.label = widgets.HTML()
        self.images = {row: widgets.Image(format="png")
                       for row in ("channels", "kernels", "responses")}
        self.image = self.images["responses"]
        self.state = {}
        self._drawn_kernels = None
        top = [render.titled(render.enlarge(render.tint(rgb[..., ch], colour), 2),
                             title=f"{colour} channel")
               for ch, colour in enumerate(CHANNEL_COLOURS)]
        top.append(render.titled(render.enlarge(render.colour_image(rgb), 2), title="RGB input"))
        # one column width for the three rows, so that they line up
        caption = render.font(12).getlength(render.RESPONSE_LABEL) + 4
        self._column = int(max(caption, *(p.shape[1] for p in top)))
        self._show("channels", self._row(top))
        for w in c.values():
            w.observe(lambda change: self.redraw(), names="value")
        super().__init__([widgets.HBox(list(c.values())), self.label, *self.images.values()])
        self.redraw()

    def _row(self, panels):
        return render.side_by_side(panels, gap=12, cell_width=self._column)

    def _show(self, row, picture):
        self.images[row].value = render.png(picture)
        return picture

    def redraw(self):
        """Recompute responses and their sum from the controls and redraw."""
        start = time.perf_counter()
        names = [self.controls[f"{c} kernel"].value for c in CHANNEL_COLOURS]
        bias = float(self.controls["bias"].value)
        x = np.moveaxis(self.rgb, -1, 0)  # (3, H, W)
        weight = np.stack([kernel(n, size=3) for n in names])[None]  # (1, 3, 3, 3)
        responses = np.stack([np.asarray(correlate2d(x[ch], weight[0, ch], padding="same"))
                              for ch in range(3)])
        layer = np.asarray(conv2d_nchw(x, weight, np.array([bias]), padding="same"))[0]
        total = responses.sum(axis=0) + bias
        kinds = [output_kind(weight[0, ch]) for ch in range(3)]
        out_kind = output_kind(weight, bias)
        if names != self._drawn_kernels:
            self._show("kernels", self._kernel_row(names))
            self._drawn_kernels = names
        picture = self._show("responses", self._response_row(responses, kinds, layer, out_kind,
                                                             bias))
        matches = bool(np.allclose(total, layer))
        self.label.value = (
            f"one filter of shape (1, 3, 3, 3): kernels {', '.join(names)}; bias {bias:+.2f}; "
            f"output min {float(layer.min()):.2f}, max {float(layer.max()):.2f}; sum of responses "
            f"+ bias {'equals' if matches else 'DIFFERS FROM'} conv2d_nchw")
        self.state = {"kernel_names": names, "weight": weight, "bias": bias, "channels": x,
                      "responses": responses, "sum_plus_bias": total, "output": layer,
                      "response_kinds": kinds, "output_kind": out_kind,
                      "matches_layer": matches, "png": self.image.value,
                      "pngs": {row: image.value for row, image in self.images.items()},
                      "size": picture.shape[:2],
                      "redraw_seconds": time.perf_counter() - start}

    def _kernel_row(self, names):
        panels = [_kernel_panel(colour, name) for colour, name in zip(CHANNEL_COLOURS, names,
                                                                      strict=True)]
        panels.append(render.text_block("sum of the 3 responses\n+ bias\n↓"))
        return self._row(panels)

    def _response_row(self, responses, kinds, layer, out_kind, bias):
        """The responses (the signed ones share one scale) and the output (about 3x larger: its
        own scale, with a colour bar)."""
        signed = [r for r, k in zip(responses, kinds, strict=True) if k == "response"]
        vmax = render.symmetric_limit(np.stack(signed)) if signed else 1.0
        panels = []
        for ch, colour in enumerate(CHANNEL_COLOURS):
            caption = render.label(responses[ch], kinds[ch])
            if kinds[ch] == "response":
                caption += f"\n±{vmax:.2f}, shared by the responses"
            panels.append(render.titled(
                render.enlarge(render.colourise(responses[ch], kinds[ch], vmax), 2),
                title=f"{colour} response", caption=caption))
        out_vmax = render.symmetric_limit(layer)
        output = render.enlarge(render.colourise(layer, out_kind, out_vmax), 2)
        bar = render.colour_bar(output.shape[0], out_kind, out_vmax)
        panels.append(render.titled(render.side_by_side([output, bar], gap=4),
                                    title=f"output = sum + bias ({bias:+.1f})",
                                    caption=render.label(layer, out_kind)))
        return self._row(panels)


@functools.lru_cache(maxsize=64)
def _kernel_panel(colour, name):
    return render.titled(render.grid(kernel(name, size=3)), title=f"{colour} kernel:\n{name}")


def channels_view(image_rgb=None):
    """An RGB image split into channels, one kernel per channel, the responses, their sum + bias.

    image_rgb: (H, W, 3) in [0, 1]; default ``convlib.images.photo_rgb((96, 82))``.
    Returns a :class:`ChannelsView` with ``controls`` (``red kernel``, ``green kernel``,
    ``blue kernel``, ``bias``), ``label``, ``image``, ``state`` and ``redraw()``; ``state``
    holds ``responses`` (3, H, W), ``sum_plus_bias`` and ``output`` (= conv2d_nchw, (H, W)),
    ``response_kinds`` and ``output_kind`` (``'image'`` or ``'response'``, by
    ``convlib.kernels.output_kind``: how each panel is coloured and labelled).
    """
    return ChannelsView(image_rgb)
