"""Interactive widgets (ipywidgets) for exploring convolution; every number shown is computed by
convlib (``correlate2d``, ``conv2d_nchw``, ``output_size``, ``stride_leftover``, ``pad2d``) and
every picture is drawn by ``convlib.render`` (the window geometry is ``convlib.geometry``'s).
This package only builds the controls and says what to draw: one module per widget
(``explorer``, ``playground``, ``channels``).

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

from .channels import ChannelsView, channels_view
from .explorer import ConvExplorer, conv_explorer
from .playground import KernelPlayground, kernel_playground

__all__ = ["conv_explorer", "kernel_playground", "channels_view", "ConvExplorer",
           "KernelPlayground", "ChannelsView"]
