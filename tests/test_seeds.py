"""Every number and claim of the five seed lessons (``convlib.examples``) checked against torch
and scipy. Where a seed is wrong, the test asserts the claim is wrong and states the correct
value derived by the oracle; docs/seed-errata.md explains each error and how the course teaches
it instead."""

import math

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F

from convlib import examples as E


def correlate(X, K, padding=0, stride=1):
    """torch's cross-correlation (F.conv2d) of one 2-D array with one 2-D kernel, float64."""
    x = torch.as_tensor(np.array(X, dtype=np.float64))[None, None]
    k = torch.as_tensor(np.array(K, dtype=np.float64))[None, None]
    return F.conv2d(x, k, padding=padding, stride=stride)[0, 0].numpy()


def torch_out_len(n, f, s, p):
    return F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, f), stride=s, padding=p).shape[-1]


# -- seed 3: the 1-D example -----------------------------------------------------------------

def test_1d_example_first_output_is_minus_two_as_claimed():
    x = torch.as_tensor(E.SEQUENCE_1D, dtype=torch.float64)[None, None]
    k = torch.as_tensor(E.KERNEL_1D, dtype=torch.float64)[None, None]
    y = F.conv1d(x, k)[0, 0].numpy()
    np.testing.assert_array_equal(y, [-2, -2, -2])
    assert y[0] == E.CLAIMED_1D_FIRST_OUTPUT
    np.testing.assert_array_equal(y, scipy.signal.correlate(E.SEQUENCE_1D, E.KERNEL_1D, "valid"))


def test_1d_kernel_is_minus_twice_the_derivative_under_correlation():
    # the sequence rises by 1 per step, yet the output is -2: x[i] - x[i+2] = -2 * slope.
    # Under true convolution (kernel flipped) the sign is +.
    slope = np.gradient(E.SEQUENCE_1D.astype(float))[1:-1]
    np.testing.assert_array_equal(scipy.signal.correlate(E.SEQUENCE_1D, E.KERNEL_1D, "valid"),
                                  -2 * slope)
    np.testing.assert_array_equal(np.convolve(E.SEQUENCE_1D, E.KERNEL_1D, "valid"), 2 * slope)


# -- seed 2: the 5x5 walk-through ------------------------------------------------------------

@pytest.mark.parametrize("position", sorted(E.CLAIMED_PATCHES_5X5))
def test_5x5_walkthrough_every_patch_and_its_value_are_right(position):
    i, j = position
    patch, value = E.CLAIMED_PATCHES_5X5[position]
    np.testing.assert_array_equal(patch, E.IMAGE_5X5[i:i + 3, j:j + 3])
    assert correlate(E.IMAGE_5X5, E.KERNEL_VERTICAL_EDGE)[i, j] == value
    assert np.sum(patch * E.KERNEL_VERTICAL_EDGE) == value


def test_5x5_feature_map_is_right_with_torch_and_scipy():
    np.testing.assert_array_equal(correlate(E.IMAGE_5X5, E.KERNEL_VERTICAL_EDGE),
                                  E.CLAIMED_FEATURE_MAP_5X5)
    np.testing.assert_array_equal(
        scipy.signal.correlate2d(E.IMAGE_5X5, E.KERNEL_VERTICAL_EDGE, mode="valid"),
        E.CLAIMED_FEATURE_MAP_5X5)


def test_5x5_zero_padded_image_and_its_feature_map_are_right():
    padded = F.pad(torch.as_tensor(E.IMAGE_5X5), (1, 1, 1, 1)).numpy()
    np.testing.assert_array_equal(padded, E.CLAIMED_PADDED_5X5)
    np.testing.assert_array_equal(correlate(E.IMAGE_5X5, E.KERNEL_VERTICAL_EDGE, padding=1),
                                  E.CLAIMED_FEATURE_MAP_5X5_PADDED)
    assert E.CLAIMED_FEATURE_MAP_5X5_PADDED.shape == E.IMAGE_5X5.shape


def test_5x5_kernel_is_positive_for_bright_to_dark_so_it_is_minus_prewitt_x():
    # [[1, 0, -1]] * 3 subtracts the right column from the left one
    right_brighter = correlate(np.tile([0, 0, 1, 1], (3, 1)), E.KERNEL_VERTICAL_EDGE)
    assert np.all(right_brighter <= 0) and right_brighter.min() < 0


# -- seed 2: the 3x3 image with the 2x2 kernel -------------------------------------------------

def test_3x3_example_patches_flattening_and_all_minus_four_are_right():
    for (i, j), patch in E.CLAIMED_PATCHES_3X3.items():
        np.testing.assert_array_equal(patch, E.IMAGE_3X3[i:i + 2, j:j + 2])
    np.testing.assert_array_equal(E.KERNEL_2X2_DIAGONAL.ravel(), E.CLAIMED_FLATTENED_KERNEL_2X2)
    np.testing.assert_array_equal(E.IMAGE_3X3[:2, :2].ravel(), E.CLAIMED_FLATTENED_TOP_LEFT_PATCH)
    np.testing.assert_array_equal(correlate(E.IMAGE_3X3, E.KERNEL_2X2_DIAGONAL),
                                  E.CLAIMED_FEATURE_MAP_3X3)


# -- seed 2: the Laplacian patch ---------------------------------------------------------------

def test_laplacian_patch_gives_three_at_its_only_position():
    # the seed shows the patch and the kernel but never the result
    Y = correlate(E.PATCH_LAPLACIAN, E.KERNEL_LAPLACIAN)
    assert Y.shape == (1, 1)   # "slide the filter": a 3x3 kernel fits a 3x3 patch only once
    assert Y[0, 0] == 3 == 2 + 0 - 4 * 1 + 3 + 2
    # symmetric kernel: convolution gives the same
    assert scipy.signal.convolve2d(E.PATCH_LAPLACIAN, E.KERNEL_LAPLACIAN, "valid")[0, 0] == 3


# -- seed 2: the vertical edge and the Sobel filter --------------------------------------------

def test_sobel_on_the_seeds_edge_gives_760_and_the_mirrored_edge_gives_minus_760():
    assert correlate(E.PATCH_VERTICAL_EDGE, E.KERNEL_SOBEL_X)[0, 0] == 760   # 4 * (200 - 10)
    mirrored = E.PATCH_VERTICAL_EDGE[:, ::-1]   # bright on the left, dark on the right
    assert correlate(mirrored, E.KERNEL_SOBEL_X)[0, 0] == -760
    assert correlate(np.full((3, 3), 10), E.KERNEL_SOBEL_X)[0, 0] == 0


def test_seed_claim_low_output_means_no_edge_is_wrong_the_magnitude_decides():
    # "High output -> vertical edge, low output -> no vertical edge": the strongest edge of the
    # opposite direction gives the LOWEST output of all. The magnitude |output| detects edges,
    # the sign gives the direction.
    flat = correlate(np.full((3, 3), 10), E.KERNEL_SOBEL_X)[0, 0]
    opposite_edge = correlate(E.PATCH_VERTICAL_EDGE[:, ::-1], E.KERNEL_SOBEL_X)[0, 0]
    assert opposite_edge < flat   # "low", yet a vertical edge is there
    assert abs(opposite_edge) > abs(flat)


# -- seed 4: the 4x4 example -------------------------------------------------------------------

def seed4_convolve2d(image, kernel, stride=1, padding=0):
    """The seed's manual implementation, verbatim (it flips the kernel)."""
    if padding > 0:
        image = np.pad(image, padding, mode='constant')
    kernel = np.flipud(np.fliplr(kernel))
    out_h = (image.shape[0] - kernel.shape[0]) // stride + 1
    out_w = (image.shape[1] - kernel.shape[1]) // stride + 1
    output = np.zeros((out_h, out_w))
    for i in range(0, out_h * stride, stride):
        for j in range(0, out_w * stride, stride):
            region = image[i:i + kernel.shape[0], j:j + kernel.shape[1]]
            output[i // stride, j // stride] = np.sum(region * kernel)
    return output


def test_4x4_hand_calculation_minus_eight_is_cross_correlation():
    np.testing.assert_array_equal(correlate(E.IMAGE_4X4, E.KERNEL_2X2_ROWS),
                                  E.CLAIMED_FEATURE_MAP_4X4)


def test_4x4_seed_code_and_scipy_convolve2d_print_plus_eight_not_the_claimed_minus_eight():
    truth = np.full((3, 3), 8.0)   # convolution flips the kernel: [[-1, -1], [1, 1]]
    from_seed_code = seed4_convolve2d(E.IMAGE_4X4, E.KERNEL_2X2_ROWS)
    from_scipy = scipy.signal.convolve2d(E.IMAGE_4X4, E.KERNEL_2X2_ROWS, mode="valid")
    np.testing.assert_array_equal(from_seed_code, truth)
    np.testing.assert_array_equal(from_scipy, truth)
    assert not np.array_equal(from_seed_code, E.CLAIMED_FEATURE_MAP_4X4)
    assert not np.array_equal(from_scipy, E.CLAIMED_FEATURE_MAP_4X4)
    # the cross-correlation function of scipy is the one that prints -8
    np.testing.assert_array_equal(
        scipy.signal.correlate2d(E.IMAGE_4X4, E.KERNEL_2X2_ROWS, mode="valid"),
        E.CLAIMED_FEATURE_MAP_4X4)


def test_4x4_kernel_responds_to_changes_from_top_to_bottom_not_left_to_right():
    # "This kernel detects horizontal changes": it subtracts the lower row from the upper one,
    # so it sees changes from top to bottom (horizontal edges) and ignores left-right changes.
    left_right = np.tile([0.0, 0.0, 1.0, 1.0], (4, 1))
    top_bottom = left_right.T
    np.testing.assert_array_equal(correlate(left_right, E.KERNEL_2X2_ROWS), 0)
    assert np.abs(correlate(top_bottom, E.KERNEL_2X2_ROWS)).max() == 2
    # the image rises by 4 per row and 1 per column: each window gives (a + a+1) - (a+4 + a+5)


def test_4x4_output_size_is_three():
    assert correlate(E.IMAGE_4X4, E.KERNEL_2X2_ROWS).shape == (3, 3)


# -- seeds 0 and 1: the exercise ---------------------------------------------------------------

@pytest.mark.parametrize("shape", E.EXERCISE_IMAGE_SHAPES)
def test_seed_conv2d_loop_is_cross_correlation_on_the_exercise_shapes(shape):
    g = torch.Generator().manual_seed(shape[0] * 100 + shape[1])
    image = torch.randn(shape, generator=g)
    kernel = torch.randn(E.EXERCISE_KERNEL_SHAPE, generator=g)
    got = E.seed_conv2d(image, kernel)
    assert tuple(got.shape) == (shape[0] - 2, shape[1] - 2)
    torch.testing.assert_close(got, F.conv2d(image[None, None], kernel[None, None])[0, 0])


def test_kernel_as_large_as_the_image_is_allowed_seed_says_p_smaller_than_n():
    # seeds 0/1: "a kernel p x p, where p < N"; p = N is fine and gives one output
    assert correlate(np.ones((4, 4)), np.ones((4, 4))).shape == (1, 1)


# -- output sizes and the padding formula ------------------------------------------------------

@pytest.mark.parametrize("n, f, s, p, o", E.CLAIMED_OUTPUT_SIZES)
def test_claimed_output_sizes_are_what_torch_produces(n, f, s, p, o):
    assert torch_out_len(n, f, s, p) == o
    assert correlate(np.zeros((n, n)), np.zeros((f, f)), padding=p, stride=s).shape == (o, o)


def test_output_size_formula_without_floor_gives_fractions_torch_gives_the_floor():
    n, f, s, p = 6, 3, 2, 0
    # the seed's formula, evaluated as written ("2P" read as 2 * P)
    seed_formula = eval(E.CLAIMED_OUTPUT_SIZE_FORMULA.replace("2P", "2 * P"), {},
                        {"N": n, "F": f, "P": p, "S": s})
    assert seed_formula == 2.5   # not a size
    assert torch_out_len(n, f, s, p) == math.floor(seed_formula) == 2


@pytest.mark.parametrize("n, f, s, p", E.CLAIMED_PADDING_EXAMPLES)
def test_padding_formula_examples_are_right_arithmetic(n, f, s, p):
    assert (s * (n - 1) - n + f) / 2 == p
    assert torch_out_len(n, f, s, p) == n


def test_padding_formula_at_stride_two_keeps_the_size_with_outputs_that_see_only_padding():
    # N=7, F=3, S=2, P=4: padding is larger than the kernel, so the first and last windows lie
    # entirely in the zero padding and the layer no longer downsamples (the point of stride 2).
    y = F.conv1d(torch.ones(1, 1, 7), torch.ones(1, 1, 3), stride=2, padding=4)[0, 0]
    assert y.shape[0] == 7
    assert y[0] == 0 and y[-1] == 0   # windows made only of padding
    # the windows reaching the image: 5 of 7; without padding stride 2 gives 3
    assert int((y > 0).sum()) == 5 and torch_out_len(7, 3, 2, 0) == 3


def test_same_padding_table_rows_are_arithmetically_right_but_the_last_is_not_same_padding():
    for n, f, s, p, o in E.CLAIMED_SAME_PADDING_TABLE:
        assert torch_out_len(n, f, s, p) == o
    n, f, s, p, o = E.CLAIMED_SAME_PADDING_TABLE[-1]
    assert o != n   # the row (5, 3, 1, 0, 3) shrinks: it is 'valid', the formula gives P = 1
    assert (s * (n - 1) - n + f) / 2 == 1 and torch_out_len(n, f, s, 1) == n


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")
@pytest.mark.parametrize("f", [2, 4, 6])
def test_even_kernels_at_stride_one_always_need_fractional_padding(f):
    # seed 2: "Even-sized filters: P *may* be fractional" -- at stride 1 it always is: no
    # whole padding on both sides keeps the size, torch's output is always one off
    for n in range(f, 20):
        sizes = [torch_out_len(n, f, 1, p) for p in range(f)]
        assert n not in sizes and (n - 1 in sizes and n + 1 in sizes)
    # torch's 'same' splits it unevenly: one more row/column after (bottom/right)
    x = torch.arange(25.0).reshape(1, 1, 5, 5)
    k = torch.ones(1, 1, f, f)
    total = f - 1
    expected = F.conv2d(F.pad(x, (total // 2, total - total // 2) * 2), k)
    torch.testing.assert_close(F.conv2d(x, k, padding="same"), expected)


def test_stride_one_padding_formula_gives_f_minus_one_over_two_which_keeps_odd_kernels_size():
    for n in range(3, 12):
        for f in range(1, n + 1, 2):
            p = (1 * (n - 1) - n + f) / 2   # the seed's formula at S = 1
            assert p == (f - 1) // 2 and torch_out_len(n, f, 1, int(p)) == n


def test_same_padding_does_not_treat_edge_pixels_equally_full_padding_does():
    # seed 2: padding "ensures all pixels are treated equally". Count, for every pixel, how
    # many 3x3 windows use it: the gradient of the sum of outputs (all-ones kernel).
    def coverage(padding):
        x = torch.zeros(1, 1, 5, 5, requires_grad=True)
        F.conv2d(x, torch.ones(1, 1, 3, 3), padding=padding).sum().backward()
        return x.grad[0, 0].numpy()

    same = coverage(1)
    assert same[2, 2] == 9 and same[0, 0] == 4 and same[0, 2] == 6   # corners still count less
    full = coverage(2)
    np.testing.assert_array_equal(full, 9)   # only 'full' padding treats all pixels equally
    valid = coverage(0)
    assert valid[0, 0] == 1 and valid[2, 2] == 9
    # the claim against what 'same' padding (the padding the seed means) measures
    assert bool((same == 9).all()) != E.CLAIMED_CONCEPTS["padding_treats_all_pixels_equally"]


def test_stride_two_with_a_2x2_filter_skips_no_column():
    # seed 2: "move right by 2 pixels -> next 2x2 patch (skips 1 column)". Every column is
    # still used exactly once; what is skipped is a window position (the one starting at
    # column 1). Columns are skipped only when the stride is larger than the kernel.
    x = torch.zeros(1, 1, 4, 6, requires_grad=True)
    F.conv2d(x, torch.ones(1, 1, 2, 2), stride=2).sum().backward()
    np.testing.assert_array_equal(x.grad[0, 0].numpy(), 1)
    skipped = int((x.grad[0, 0].sum(axis=0) == 0).sum())
    assert skipped == 0 != E.CLAIMED_CONCEPTS["stride2_2x2_skips_columns"]
    x = torch.zeros(1, 1, 4, 6, requires_grad=True)
    F.conv2d(x, torch.ones(1, 1, 2, 2), stride=3).sum().backward()
    assert (x.grad[0, 0].sum(axis=0) == 0).any()   # stride 3 > 2 does skip columns


def test_stride_example_5x5_stride_two_gives_two_windows_covering_columns_0_to_4():
    x = torch.zeros(1, 1, 5, 5, requires_grad=True)
    F.conv2d(x, torch.ones(1, 1, 3, 3), stride=2).sum().backward()
    used_columns = np.flatnonzero(x.grad[0, 0].sum(axis=0).numpy())
    np.testing.assert_array_equal(used_columns, [0, 1, 2, 3, 4])
    assert torch_out_len(5, 3, 2, 0) == 2


# -- parameter counts ------------------------------------------------------------------------

def test_784_by_1000_counts_weights_only_the_bias_adds_1000():
    assert math.prod(E.MNIST_SHAPE) == E.CLAIMED_PIXELS_28X28
    layer = torch.nn.Linear(E.CLAIMED_PIXELS_28X28, E.DENSE_UNITS)
    assert layer.weight.numel() == E.CLAIMED_DENSE_PARAMS
    assert sum(p.numel() for p in layer.parameters()) == E.CLAIMED_DENSE_PARAMS + 1000


def test_mlp_on_a_megapixel_image_has_1e9_weights_with_1000_units():
    # the seed does not say how many units; 10^9 needs 1000 (grayscale) -- RGB would triple it
    def weights(n_in):
        return torch.nn.Linear(n_in, 1000, bias=False, device="meta").weight.numel()

    assert weights(1000 * 1000) == E.CLAIMED_MLP_PARAMS_1MP
    assert weights(3 * 1000 * 1000) == 3 * E.CLAIMED_MLP_PARAMS_1MP


def test_conv_parameter_counts_of_seed_3_match_torch():
    assert torch.nn.Conv2d(3, 1, 3, bias=False).weight.numel() == E.CLAIMED_RGB_3X3_WEIGHTS
    for c_in, c_out in [(3, 64), (64, 64)]:
        layer = torch.nn.Conv2d(c_in, c_out, 3)
        assert sum(p.numel() for p in layer.parameters()) == 3 * 3 * c_in * c_out + c_out
    # "few thousand" holds for the first layer, not for 64 -> 64 channels
    assert torch.nn.Conv2d(3, 64, 3, bias=False).weight.numel() == 1728
    assert torch.nn.Conv2d(64, 64, 3, bias=False).weight.numel() == 36864


def test_dilation_grows_the_receptive_field_without_more_parameters():
    plain, dilated = torch.nn.Conv2d(1, 1, 3), torch.nn.Conv2d(1, 1, 3, dilation=2)
    assert sum(p.numel() for p in plain.parameters()) == \
        sum(p.numel() for p in dilated.parameters())
    for layer, extent in [(plain, 3), (dilated, 5)]:
        x = torch.zeros(1, 1, 9, 9, requires_grad=True)
        layer(x)[0, 0, 0, 0].backward()
        rows = np.flatnonzero(x.grad[0, 0].abs().sum(axis=1).numpy())
        assert rows[-1] - rows[0] + 1 == extent


def test_depthwise_separable_convolution_has_fewer_parameters():
    c_in, c_out = 32, 64
    full = torch.nn.Conv2d(c_in, c_out, 3, bias=False)
    depthwise = torch.nn.Conv2d(c_in, c_in, 3, groups=c_in, bias=False)
    pointwise = torch.nn.Conv2d(c_in, c_out, 1, bias=False)
    assert depthwise.weight.numel() + pointwise.weight.numel() == 9 * 32 + 32 * 64 == 2336
    assert full.weight.numel() == 18432


# -- concepts --------------------------------------------------------------------------------

def test_convolution_is_translation_equivariant_not_invariant():
    # seed 2 calls it "translation invariance"
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 1, 12, 12, generator=g, dtype=torch.float64)
    conv = torch.nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular", bias=False,
                           dtype=torch.float64)
    shift = (2, 3)
    y, y_shifted = conv(x), conv(torch.roll(x, shift, dims=(2, 3)))
    torch.testing.assert_close(y_shifted, torch.roll(y, shift, dims=(2, 3)))   # equivariant
    assert not torch.allclose(y_shifted, y)                                     # not invariant
    # invariance needs something on top, e.g. a global max: the same for both
    torch.testing.assert_close(y_shifted.amax(), y.amax())


def test_correlation_and_convolution_outputs_differ_for_the_same_kernel():
    # seed 3: "The outputs remain identical" -- only once the kernel is flipped (or learned)
    X, K = E.PATCH_VERTICAL_EDGE, E.KERNEL_SOBEL_X
    corr = scipy.signal.correlate2d(X, K, mode="valid")
    conv = scipy.signal.convolve2d(X, K, mode="valid")
    assert corr[0, 0] == 760 and conv[0, 0] == -760
    np.testing.assert_array_equal(scipy.signal.convolve2d(X, K[::-1, ::-1], mode="valid"), corr)
    # symmetric kernels (Laplacian, blur) give the same either way
    L = E.KERNEL_LAPLACIAN
    np.testing.assert_array_equal(scipy.signal.convolve2d(E.IMAGE_5X5, L, "valid"),
                                  scipy.signal.correlate2d(E.IMAGE_5X5, L, "valid"))


def test_true_convolution_formula_of_seed_3_is_scipy_convolve2d():
    # Y[i, j] = sum_a sum_b K[a, b] X[i - a, j - b] (indices outside X count as 0): 'full' mode
    X, K = E.IMAGE_4X4, np.array([[1, 2], [3, 4]])
    Y = np.zeros((5, 5))
    for i in range(5):
        for j in range(5):
            for a in range(2):
                for b in range(2):
                    if 0 <= i - a < 4 and 0 <= j - b < 4:
                        Y[i, j] += K[a, b] * X[i - a, j - b]
    np.testing.assert_array_equal(Y, scipy.signal.convolve2d(X, K, mode="full"))


def test_transposed_convolution_restores_the_shape_not_the_values():
    # seed 4: "It's like reverse convolution". It is the transpose (adjoint) of the convolution:
    # <conv(x), y> = <x, conv_transpose(y)>, and it does not undo it.
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 1, 7, 7, generator=g, dtype=torch.float64)
    w = torch.randn(1, 1, 3, 3, generator=g, dtype=torch.float64)
    y = F.conv2d(x, w, stride=2)
    back = F.conv_transpose2d(y, w, stride=2)
    assert back.shape == x.shape
    assert not torch.allclose(back, x)
    r = torch.randn(y.shape, generator=g, dtype=torch.float64)
    torch.testing.assert_close((F.conv2d(x, w, stride=2) * r).sum(),
                               (x * F.conv_transpose2d(r, w, stride=2)).sum())


def test_raw_dot_product_is_not_a_similarity_score_a_brighter_patch_wins():
    # seeds 0/1: the dot product "is a measure of similarity". Unnormalised, a uniformly bright
    # patch beats the exact pattern; the cosine (normalised correlation) does not.
    pattern = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=float)
    bright = np.full((3, 3), 2.0)
    assert correlate(bright, pattern)[0, 0] > correlate(pattern, pattern)[0, 0]

    def cosine(a, b):
        return np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b))

    assert cosine(pattern, pattern) == pytest.approx(1.0)
    assert cosine(bright, pattern) < cosine(pattern, pattern)


def test_convolution_is_linear_as_seeds_0_and_1_say():
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(2, 1, 1, 6, 6, generator=g, dtype=torch.float64)
    w = torch.randn(1, 1, 3, 3, generator=g, dtype=torch.float64)
    torch.testing.assert_close(F.conv2d(2 * a - 3 * b, w), 2 * F.conv2d(a, w) - 3 * F.conv2d(b, w))


def test_cost_of_one_feature_map_is_h_w_fh_fw_c_multiply_adds():
    # seed 4: "For one feature map, it's O(H * W * F_h * F_w * C)"; with 'same' padding the
    # count is exact: one product per output pixel, kernel tap and input channel
    from torch.utils.flop_counter import FlopCounterMode

    h, w, fh, fw, c = 10, 12, 3, 5, 4
    with FlopCounterMode(display=False) as counter:
        F.conv2d(torch.zeros(1, c, h, w), torch.zeros(1, c, fh, fw), padding=(1, 2))
    assert counter.get_total_flops() == 2 * h * w * fh * fw * c   # a multiply-add = 2 FLOPs
