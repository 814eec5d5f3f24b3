"""What the usual mistakes compute: for each graded exercise, the wrong answers to try.

A test cell passes ``mistakes=conv2d_mistakes()`` (or another exercise's dictionary) to
``convlib.checks.check_function``; when the student's output differs from the reference, each
function here is called on the same inputs and the first whose output the student's equals names
the mistake (its code is explained in ``convlib.mistakes``). Each function takes the exercise's
arguments and returns what the mistake produces: an array, a list of alternatives, or ``None``
where the mistake is not defined on that input.

Every value is computed in float64 numpy (``oracle``), independently of the rest of convlib (a
bug in the reference library cannot hide the same bug in a student's answer). One module per
part of the course: ``forward`` (notebooks 01 to 06), ``backward`` (07), ``pooling`` (08), one
section per notebook; the notebooks import everything from here.
"""

from .backward import (
    GRADIENT_PARTS,
    backward_mistakes,
    backward_reference,
    backward_results,
    backward_single_mistakes,
    backward_single_reference,
    check_gradients,
    gradient_part,
    gradient_shape_mistake,
    numerical_grad_mistakes,
    numerical_grad_reference,
    relative_error_mistakes,
    relative_error_reference,
)
from .forward import (
    check_layer_params,
    check_output_size,
    check_predicted_shapes,
    check_receptive_field,
    conv1d_mistakes,
    conv2d_mistakes,
    conv2d_multi_mistakes,
    conv2d_multi_reference,
    conv2d_strided_mistakes,
    conv2d_strided_reference,
    convolve2d_mistakes,
    im2col_conv2d_mistakes,
    layer_param_mistakes,
    output_size_mistakes,
    predicted_shape_mistakes,
    receptive_field_mistakes,
)
from .pooling import (
    pool2d_backward_mistakes,
    pool2d_mistakes,
)

__all__ = [
    "check_layer_params", "check_output_size", "check_predicted_shapes", "check_receptive_field",
    "conv1d_mistakes", "conv2d_mistakes", "conv2d_multi_mistakes", "conv2d_multi_reference",
    "conv2d_strided_mistakes", "conv2d_strided_reference", "convolve2d_mistakes",
    "im2col_conv2d_mistakes", "layer_param_mistakes", "output_size_mistakes",
    "predicted_shape_mistakes", "receptive_field_mistakes", "GRADIENT_PARTS", "backward_mistakes",
    "backward_reference", "backward_results", "backward_single_mistakes",
    "backward_single_reference", "check_gradients", "gradient_part", "gradient_shape_mistake",
    "numerical_grad_mistakes", "numerical_grad_reference",
    "relative_error_mistakes", "relative_error_reference", "pool2d_backward_mistakes",
    "pool2d_mistakes",
]
