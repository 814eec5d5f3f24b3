"""The convolution explorer: sliders for the input, kernel, stride, padding and dilation, and the
kernel window stepping over the padded input (see ``convlib.widgets`` for controls and state)."""

from __future__ import annotations

import html
import time

import ipywidgets as widgets
import numpy as np

from ..geometry import window_steps
from ..padding import PADDING_MODES
from ..render import WindowPainter

__all__ = ["ConvExplorer", "conv_explorer"]

_BASE = np.random.default_rng(0).integers(0, 4, size=(16, 16)).astype(float)
_KERNEL_3 = np.array([[0.0, 1, 2], [2, 2, 0], [0, 1, 2]])


def _explorer_kernel(k):
    if k == 3:
        return _KERNEL_3
    return np.random.default_rng(k).integers(0, 3, size=(k, k)).astype(float)


# ----------------------------------------------------------------------------- conv explorer

class ConvExplorer(widgets.VBox):
    """The convolution explorer; see ``convlib.widgets`` for controls and ``state``."""

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
