"""convlib: an exact, readable reference for the convolution operations this course teaches.

Every operation comes in a loop form that reads like the formula (``*_loop``) and a vectorised form
with the same contract, and agrees with ``torch.nn.functional`` and ``scipy.signal``.
Figures, animations and widgets live in submodules (``convlib.figures``, ``convlib.animations``,
``convlib.widgets``) so that importing convlib stays light.
"""

# -- operations (conv, layers, backward, pooling, padding, windows, linear) --
from .backward import ConvGradients, conv2d_backward, conv2d_backward_loop  # noqa: F401
from .conv import (  # noqa: F401
    conv1d,
    conv2d,
    convolve1d,
    convolve1d_loop,
    convolve2d,
    convolve2d_loop,
    correlate1d,
    correlate1d_loop,
    correlate2d,
    correlate2d_loop,
)
from .layers import (  # noqa: F401
    conv2d_nchw,
    conv2d_nchw_loop,
    conv_transpose2d,
    conv_transpose2d_loop,
)
from .linear import conv_matrix  # noqa: F401
from .padding import pad1d, pad2d, resolve_padding1d, resolve_padding2d  # noqa: F401
from .pooling import (  # noqa: F401
    avg_pool2d,
    avg_pool2d_backward,
    avg_pool2d_backward_loop,
    avg_pool2d_loop,
    max_pool2d,
    max_pool2d_backward,
    max_pool2d_backward_loop,
    max_pool2d_loop,
)
from .windows import col2im, im2col, sliding_windows  # noqa: F401

# isort: split

# -- arithmetic, kernels, images, seed examples (shapes, kernels, images, examples) --
from . import examples, images  # noqa: F401  (images imports matplotlib lazily)
from .kernels import KERNEL_NAMES, kernel  # noqa: F401
from .shapes import (  # noqa: F401
    dense_param_count,
    divides_evenly,
    effective_kernel_size,
    full_padding,
    mult_adds,
    output_shape,
    output_size,
    padding_to_keep_size,
    param_count,
    receptive_field,
    receptive_fields,
    same_padding,
    stride_leftover,
    transposed_output_size,
)
