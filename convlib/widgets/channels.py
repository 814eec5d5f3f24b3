"""The channels view: an RGB photo split into R, G, B, one kernel per channel, and their sum plus
a bias, equal to ``conv2d_nchw`` with one (1, 3, 3, 3) filter (see ``convlib.widgets``)."""

from __future__ import annotations

import functools
import time

import ipywidgets as widgets
import numpy as np

from .. import render
from ..conv import correlate2d
from ..kernels import KERNEL_NAMES, kernel, output_kind
from ..layers import conv2d_nchw

__all__ = ["ChannelsView", "channels_view"]

# ----------------------------------------------------------------------------- channels view

CHANNEL_COLOURS = ("red", "green", "blue")


class ChannelsView(widgets.VBox):
    """R, G, B channels, one kernel each, the responses, and their sum plus bias.

    Drawn as three pictures, one per row, so that a change re-encodes only what it changed:
    ``images["channels"]`` (the channels and the RGB input, drawn once), ``images["kernels"]``
    (when a kernel changes) and ``images["responses"]`` (= ``image``: the responses and the
    output, on every change)."""

    def __init__(self, image_rgb=None, kernels=("sobel_x", "sobel_x", "sobel_x"), bias=0.0):
        from ..images import photo_rgb

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
