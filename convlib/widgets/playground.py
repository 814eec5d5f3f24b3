"""The kernel playground: a photo, a 3x3 kernel to choose or edit, a padding mode, and the
feature map beside the input (see ``convlib.widgets`` for controls and state)."""

from __future__ import annotations

import html
import time

import ipywidgets as widgets
import numpy as np

from .. import render
from ..conv import correlate2d
from ..kernels import KERNEL_NAMES, kernel, output_kind
from ..padding import PADDING_MODES

__all__ = ["KernelPlayground", "kernel_playground"]

# ----------------------------------------------------------------------------- kernel playground

class KernelPlayground(widgets.VBox):
    """Kernel playground; see ``convlib.widgets`` for controls and ``state``."""

    def __init__(self, image=None, kernel_name="sobel_x"):
        from ..images import photo

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
