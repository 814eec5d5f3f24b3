"""Bad input gets a clear ValueError / TypeError naming the problem and the fix — never a silent
wrong answer or a deep numpy traceback."""

import re

import numpy as np
import pytest
import torch

import convlib as cl

X = np.zeros((4, 4))
K = np.ones((3, 3))
batch = np.zeros((1, 4, 5, 5))

CASES = [
    # (id, call, exception type, pattern the message must contain)
    ("image_3d", lambda: cl.correlate2d(np.zeros((1, 4, 4)), K), ValueError,
     r"image X must be 2-D of shape \(H, W\), got shape \(1, 4, 4\).*conv2d_nchw"),
    ("kernel_1d", lambda: cl.correlate2d(X, np.ones(3)), ValueError,
     r"kernel K must be 2-D .*got shape \(3,\)"),
    ("signal_2d", lambda: cl.correlate1d(X, np.ones(3)), ValueError, r"signal x must be 1-D"),
    ("kernel_too_large", lambda: cl.correlate2d(X, np.ones((5, 5))), ValueError,
     r"^kernel 5x5 is larger than the padded input 4x4; add padding or use a smaller kernel$"),
    ("kernel_too_large_loop", lambda: cl.correlate2d_loop(X, np.ones((5, 2))), ValueError,
     r"kernel 5x2 is larger than the padded input 4x4"),
    ("kernel_fits_only_with_padding", lambda: cl.convolve2d(X, np.ones((7, 7)), padding=1),
     ValueError, r"kernel 7x7 is larger than the padded input 6x6"),
    ("dilated_kernel_too_large", lambda: cl.correlate2d(X, K, dilation=2), ValueError,
     r"kernel 3x3 with dilation 2x2 spans 5x5, which is larger than the padded input 4x4"),
    ("kernel_too_long_1d", lambda: cl.correlate1d(np.zeros(4), np.ones(5)), ValueError,
     r"kernel of length 5 is larger than the padded input of length 4"),
    ("layer_kernel_too_large", lambda: cl.conv2d_nchw(batch, np.ones((2, 4, 6, 6))), ValueError,
     r"kernel 6x6 is larger than the padded input 5x5"),
    ("stride_zero", lambda: cl.correlate2d(X, K, stride=0), ValueError,
     r"stride must be a positive integer \(1, 2, \.\.\.\), got 0"),
    ("stride_negative", lambda: cl.conv2d_nchw(batch, np.ones((2, 4, 3, 3)), stride=(1, -1)),
     ValueError, r"stride must be a positive integer .*got \(1, -1\)"),
    ("dilation_zero", lambda: cl.correlate1d(np.zeros(5), np.ones(2), dilation=0), ValueError,
     r"dilation must be a positive integer"),
    ("dilation_negative", lambda: cl.conv_transpose2d(batch, np.ones((4, 1, 3, 3)),
                                                      dilation=-2), ValueError,
     r"dilation must be a positive integer"),
    ("stride_float", lambda: cl.correlate2d(X, K, stride=1.5), TypeError,
     r"stride must be an integer or a tuple of 2 integers, got 1.5 \(float\)"),
    ("stride_bool", lambda: cl.correlate2d(X, K, stride=True), TypeError,
     r"stride must be an integer or a tuple of 2 integers, got the bool True"),
    ("stride_three_values", lambda: cl.correlate2d(X, K, stride=(1, 2, 3)), ValueError,
     r"stride must be an integer or a tuple of 2 integers, got \(1, 2, 3\)"),
    ("padding_negative", lambda: cl.correlate2d(X, K, padding=-1), ValueError,
     r"padding must be >= 0, got -1"),
    ("padding_negative_pad2d", lambda: cl.pad2d(X, (0, 0, -1, 0)), ValueError,
     r"padding must be >= 0"),
    ("padding_negative_transpose", lambda: cl.conv_transpose2d(batch, np.ones((4, 1, 3, 3)),
                                                               padding=-1), ValueError,
     r"padding must be >= 0"),
    ("padding_unknown_string", lambda: cl.correlate2d(X, K, padding="half"), ValueError,
     r"unknown padding 'half'; use an int, a tuple of ints, or one of 'valid', 'same', 'full'"),
    ("padding_unknown_string_layer", lambda: cl.conv2d_nchw(batch, np.ones((1, 4, 3, 3)),
                                                            padding="SAME-ish"), ValueError,
     r"unknown padding"),
    ("padding_mode_unknown", lambda: cl.correlate2d(X, K, padding=1, padding_mode="mirror"),
     ValueError, r"unknown padding_mode 'mirror'; use one of 'zeros', 'reflect'"),
    ("padding_mode_unknown_pad2d", lambda: cl.pad2d(X, 1, "constant"), ValueError,
     r"unknown padding_mode 'constant'"),
    ("reflect_too_large", lambda: cl.correlate2d(X, K, padding=4, padding_mode="reflect"),
     ValueError, r"reflect padding of 4 needs an input larger than 4 along the height, got 4"),
    ("reflect_too_large_same", lambda: cl.correlate2d(np.zeros((1, 6)), K, padding="same",
                                                      padding_mode="reflect"), ValueError,
     r"reflect padding of 1 needs an input larger than 1 along the height"),
    ("reflect_too_large_1d", lambda: cl.correlate1d(np.zeros(2), np.ones(2), padding=2,
                                                    padding_mode="reflect"), ValueError,
     r"reflect padding of 2 .* along the length, got 2"),
    ("circular_wraps_twice", lambda: cl.conv2d_nchw(batch, np.ones((1, 4, 3, 3)), padding=6,
                                                    padding_mode="circular"), ValueError,
     r"circular padding of 6 would wrap around the height \(5\) more than once"),
    ("same_with_stride", lambda: cl.correlate2d(X, K, stride=2, padding="same"), ValueError,
     r"padding='same' is not supported with stride"),
    ("same_with_stride_layer", lambda: cl.conv2d_nchw(batch, np.ones((1, 4, 3, 3)), stride=2,
                                                      padding="same"), ValueError,
     r"'same' is not supported with stride"),
    ("channels_mismatch", lambda: cl.conv2d_nchw(np.zeros((1, 3, 5, 5)), np.ones((2, 4, 3, 3))),
     ValueError, r"weight of shape \(2, 4, 3, 3\) expects 4 input channels .* but x has 3"),
    ("groups_do_not_divide", lambda: cl.conv2d_nchw(batch, np.ones((3, 2, 3, 3)), groups=2),
     ValueError, r"groups=2 must divide both the input channels \(4\) and the output channels"),
    ("groups_weight_mismatch", lambda: cl.conv2d_nchw(batch, np.ones((4, 4, 3, 3)), groups=2),
     ValueError, r"the weight's channel axis must be C_in/groups = 2"),
    ("groups_zero", lambda: cl.conv2d_nchw(batch, np.ones((2, 4, 3, 3)), groups=0), ValueError,
     r"groups must be a positive integer"),
    ("bias_wrong_shape", lambda: cl.conv2d_nchw(batch, np.ones((2, 4, 3, 3)), np.ones(3)),
     ValueError, r"bias must have shape \(2,\)"),
    ("weight_3d", lambda: cl.conv2d_nchw(batch, np.ones((4, 3, 3))), ValueError,
     r"weight must be 4-D of shape \(C_out, C_in/groups, kH, kW\)"),
    ("layer_input_2d", lambda: cl.conv2d_nchw(X, np.ones((1, 1, 3, 3))), ValueError,
     r"input x must be 3-D or 4-D .*correlate2d"),
    ("transpose_channels_mismatch", lambda: cl.conv_transpose2d(np.zeros((1, 3, 5, 5)),
                                                                np.ones((2, 4, 3, 3))),
     ValueError, r"expects 2 input channels .*\(C_in, C_out/groups, kH, kW\).* but x has 3"),
    ("transpose_groups", lambda: cl.conv_transpose2d(np.zeros((1, 3, 5, 5)),
                                                     np.ones((3, 1, 3, 3)), groups=2),
     ValueError, r"groups=2 must divide"),
    ("transpose_output_padding", lambda: cl.conv_transpose2d(batch, np.ones((4, 1, 3, 3)),
                                                             stride=2, output_padding=2),
     ValueError, r"output_padding 2 must be smaller than the stride \(2\) or the dilation \(1\)"),
    ("transpose_padding_eats_output", lambda: cl.conv_transpose2d(np.zeros((1, 2, 1, 1)),
                                                                  np.ones((2, 1, 1, 1)),
                                                                  padding=1), ValueError,
     r"removes the whole output"),
    ("transpose_padding_string", lambda: cl.conv_transpose2d(batch, np.ones((4, 1, 3, 3)),
                                                             padding="same"), ValueError,
     r"conv_transpose2d takes padding as numbers"),
    ("complex_numpy", lambda: cl.correlate2d(X + 1j, K), TypeError,
     r"image X is complex \(complex128\).*real part"),
    ("complex_kernel", lambda: cl.correlate2d(X, K * 1j), TypeError, r"kernel K is complex"),
    ("complex_torch", lambda: cl.conv2d_nchw(torch.zeros(1, 1, 4, 4, dtype=torch.complex64),
                                             torch.ones(1, 1, 3, 3)), TypeError,
     r"input x is complex \(torch.complex64\)"),
    ("object_dtype", lambda: cl.correlate2d(np.array([[1, None], [2, 3]]), K), TypeError,
     r"image X has dtype object, which is not numeric"),
    ("string_dtype", lambda: cl.correlate2d(np.array([["a", "b"], ["c", "d"]]), K), TypeError,
     r"image X has dtype <U1, which is not numeric"),
    ("ragged_list", lambda: cl.correlate2d([[1, 2], [3]], K), TypeError,
     r"image X could not be read as an array"),
    ("none_image", lambda: cl.correlate2d(None, K), TypeError, r"image X is None"),
    ("ragged_kernel_convolve", lambda: cl.convolve2d(X, [[1, 2], [3]]), TypeError,
     r"kernel K could not be read as an array"),
    ("none_kernel_convolve", lambda: cl.convolve1d([1.0, 2.0], None), TypeError,
     r"kernel k is None"),
    ("empty_image", lambda: cl.correlate2d(np.zeros((0, 4)), K), ValueError,
     r"image X is empty \(shape \(0, 4\)\)"),
    ("empty_kernel", lambda: cl.correlate2d(X, np.zeros((3, 0))), ValueError,
     r"kernel K is empty"),
    ("empty_torch_batch", lambda: cl.conv2d_nchw(torch.zeros(0, 4, 5, 5), torch.ones(1, 4, 3, 3)),
     ValueError, r"input x is empty"),
    ("empty_signal", lambda: cl.correlate1d([], [1.0]), ValueError, r"signal x is empty"),
    ("im2col_input_2d", lambda: cl.im2col(X, (2, 2)), ValueError, r"input x must be 3-D or 4-D"),
    ("im2col_kernel_zero", lambda: cl.im2col(batch, (0, 2)), ValueError,
     r"kernel size must be a positive integer"),
    ("sliding_windows_too_large", lambda: cl.sliding_windows(X, (5, 1)), ValueError,
     r"kernel 5x1 is larger than the input 4x4"),
    ("col2im_wrong_columns", lambda: cl.col2im(np.zeros((1, 9, 5)), (4, 4), (3, 3)), ValueError,
     r"cols of shape \(1, 9, 5\) do not match a 3x3 kernel"),
    ("conv_matrix_empty_size", lambda: cl.conv_matrix((0, 3), K), ValueError,
     r"input_hw must be the image size"),
    ("conv_matrix_kernel_too_large", lambda: cl.conv_matrix((2, 2), K), ValueError,
     r"kernel 3x3 is larger than the padded input 2x2"),
    ("pad2d_string", lambda: cl.pad2d(X, "same"), ValueError, r"resolve_padding2d"),
]


@pytest.mark.parametrize(("call", "error", "pattern"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input_raises_a_clear_error(call, error, pattern):
    with pytest.raises(Exception) as info:
        call()
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"
    assert re.search(pattern, str(info.value)), str(info.value)


def test_every_error_message_says_what_to_do_or_what_is_expected():
    # a message that only states the problem would be half an error message
    remedies = ("use", "pass", "add", "choose", "convert", "must", "reshape", "slice",
                "give", "expects", "needs", "should")
    for name, call, _, _ in CASES:
        try:
            call()
        except (ValueError, TypeError) as error:
            message = str(error)
            assert any(word in message for word in remedies), (name, message)
        else:
            pytest.fail(f"{name} did not raise")


def test_kernel_that_exactly_fits_is_not_an_error():
    # the boundary of the 'too large' check: kernel == padded input gives one output
    assert cl.correlate2d(X, np.ones((4, 4))).shape == (1, 1)
    assert cl.correlate2d(X, np.ones((6, 6)), padding=1).shape == (1, 1)
    assert cl.correlate2d(X, K, dilation=(1, 1), padding=(0, 0)).shape == (2, 2)
    assert cl.correlate2d(np.zeros((2, 5)), K, padding=1, padding_mode="reflect").shape == (2, 5)
    assert cl.conv2d_nchw(batch, np.ones((1, 4, 3, 3)), padding=5,
                          padding_mode="circular").shape == (1, 1, 13, 13)
