"""convlib: an exact, readable reference for the convolution operations this course teaches.

Every operation comes in a loop form that reads like the formula (``*_loop``) and a vectorised form
with the same contract, and agrees with ``torch.nn.functional`` and ``scipy.signal``.
Figures, animations and widgets live in submodules (``convlib.figures``, ``convlib.animations``,
``convlib.widgets``) so that importing convlib stays light.
"""

# -- operations (conv, layers, padding, windows, linear) --

# -- arithmetic, kernels, images, seed examples (shapes, kernels, images, examples) --
