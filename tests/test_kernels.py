"""convlib.kernels: each kernel does what its name says under torch's cross-correlation
(F.conv2d), and the edge kernels equal scipy.ndimage's independent implementations."""

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal
import torch
import torch.nn.functional as F

from convlib import images
from convlib.kernels import KERNEL_NAMES, kernel


def correlate(X, K, padding=0):
    """torch's cross-correlation of one 2-D image with one 2-D kernel, as numpy float64."""
    x = torch.as_tensor(np.array(X, dtype=np.float64))[None, None]
    k = torch.as_tensor(np.asarray(K, dtype=np.float64))[None, None]
    return F.conv2d(x, k, padding=padding)[0, 0].numpy()


def random_image(h=9, w=11, seed=0):
    return np.random.default_rng(seed).random((h, w))


@pytest.mark.parametrize("name", KERNEL_NAMES)
def test_every_kernel_is_a_fresh_3x3_float64_array(name):
    K = kernel(name)
    assert K.shape == (3, 3) and K.dtype == np.float64
    K[...] = 99.0   # changing a returned kernel must not change the next one
    assert not np.all(kernel(name) == 99.0)


def test_unknown_kernel_name_lists_the_valid_names():
    with pytest.raises(ValueError) as info:
        kernel("blurr")
    for name in KERNEL_NAMES:
        assert name in str(info.value)


def test_fixed_kernels_refuse_other_sizes_and_centred_kernels_refuse_even_sizes():
    with pytest.raises(ValueError, match="only as a 3x3"):
        kernel("sobel_x", size=5)
    with pytest.raises(ValueError, match="odd size"):
        kernel("shift_left", size=4)
    with pytest.raises(ValueError, match="positive integer"):
        kernel("box_blur", size=0)
    with pytest.raises(ValueError, match="sigma"):
        kernel("gaussian_blur", sigma=0)


@pytest.mark.parametrize("size", [1, 3, 5])
def test_identity_kernel_returns_the_image_unchanged_with_same_padding(size):
    X = random_image()
    np.testing.assert_array_equal(correlate(X, kernel("identity", size), padding="same"), X)


@pytest.mark.parametrize("size", [3, 5])
@pytest.mark.parametrize("name, moved", [
    # expected content movement by one pixel, written with numpy slicing
    ("shift_right", lambda X, Y: (Y[:, 1:], X[:, :-1])),
    ("shift_left", lambda X, Y: (Y[:, :-1], X[:, 1:])),
    ("shift_down", lambda X, Y: (Y[1:, :], X[:-1, :])),
    ("shift_up", lambda X, Y: (Y[:-1, :], X[1:, :])),
])
def test_shift_kernels_move_image_content_one_pixel_under_torch_conv2d(name, moved, size):
    X = random_image()
    Y = correlate(X, kernel(name, size), padding="same")
    got, expected = moved(X, Y)
    np.testing.assert_array_equal(got, expected)
    # and the impulse moves: a single bright pixel at the centre lands one step away
    I = images.impulse(5, 5)
    r, c = np.argwhere(correlate(I, kernel(name, size), padding="same") == 1)[0]
    step = {"shift_right": (2, 3), "shift_left": (2, 1), "shift_down": (3, 2), "shift_up": (1, 2)}
    assert (r, c) == step[name]


@pytest.mark.parametrize("name, kwargs", [("box_blur", {"size": 3}), ("box_blur", {"size": 4}),
                                          ("gaussian_blur", {"size": 5, "sigma": 1.2}),
                                          ("gaussian_blur", {"size": 3, "sigma": 0.7})])
def test_blurs_sum_to_one_and_keep_a_constant_image_constant(name, kwargs):
    K = kernel(name, **kwargs)
    assert K.sum() == pytest.approx(1.0, abs=1e-12)
    Y = correlate(np.full((10, 10), 0.37), K)   # no padding: interior only
    np.testing.assert_allclose(Y, 0.37, rtol=0, atol=1e-12)


def test_box_blur_is_the_mean_of_each_window():
    X = random_image()
    np.testing.assert_allclose(correlate(X, kernel("box_blur", 3)),
                               ndi.uniform_filter(X, 3)[1:-1, 1:-1], atol=1e-12)


def test_gaussian_blur_equals_scipy_gaussian_window_outer_product():
    size, sigma = 7, 1.5
    g = scipy.signal.windows.gaussian(size, sigma)
    expected = np.outer(g, g) / np.outer(g, g).sum()
    np.testing.assert_allclose(kernel("gaussian_blur", size, sigma), expected, rtol=1e-12)


def test_gaussian_blur_peaks_at_centre_and_is_symmetric():
    K = kernel("gaussian_blur", 5, 1.0)
    assert np.unravel_index(K.argmax(), K.shape) == (2, 2)
    np.testing.assert_array_equal(K, K.T)
    np.testing.assert_array_equal(K, K[::-1, ::-1])


def test_classic_sharpen_is_identity_minus_laplacian():
    np.testing.assert_array_equal(kernel("sharpen"), kernel("identity") - kernel("laplacian"))
    np.testing.assert_array_equal(kernel("sharpen"), [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])


def test_seeds_sharpening_original_plus_details_is_one_kernel_two_identity_minus_blur():
    # seeds: details = original - blurred; sharpened = original + details
    X = random_image(12, 12, seed=3)
    blurred = correlate(X, kernel("box_blur"), padding="same")
    sharpened = X + (X - blurred)
    one_kernel = 2 * kernel("identity") - kernel("box_blur")
    np.testing.assert_allclose(correlate(X, one_kernel, padding="same"), sharpened, atol=1e-12)


@pytest.mark.parametrize("name", ["sharpen", "emboss"])
def test_sharpen_and_emboss_sum_to_one_so_flat_regions_keep_their_value(name):
    Y = correlate(np.full((6, 6), 0.5), kernel(name))
    np.testing.assert_allclose(Y, 0.5, atol=1e-12)


def test_sharpen_increases_contrast_across_an_edge():
    X = images.vertical_edge(6, 8, dark=0.2, bright=0.8)
    Y = correlate(X, kernel("sharpen"))   # columns 1..6 of X
    # undershoot on the dark side of the edge, overshoot on the bright side
    assert np.all(Y[:, 2] < 0.2) and np.all(Y[:, 3] > 0.8)


def test_laplacian_is_zero_on_constant_and_linear_images_and_equals_scipy_laplace():
    assert correlate(np.full((5, 5), 3.0), kernel("laplacian")) == pytest.approx(0)
    ramp = images.gradient(6, 6) + 2 * images.gradient(6, 6, direction="vertical")
    np.testing.assert_allclose(correlate(ramp, kernel("laplacian")), 0, atol=1e-12)
    X = random_image()
    np.testing.assert_allclose(correlate(X, kernel("laplacian")),
                               ndi.laplace(X)[1:-1, 1:-1], atol=1e-12)


@pytest.mark.parametrize("name, scipy_fn, axis", [("sobel_x", ndi.sobel, 1),
                                                  ("sobel_y", ndi.sobel, 0),
                                                  ("prewitt_x", ndi.prewitt, 1),
                                                  ("prewitt_y", ndi.prewitt, 0)])
def test_edge_kernels_equal_scipy_ndimage_filters(name, scipy_fn, axis):
    X = random_image()
    np.testing.assert_allclose(correlate(X, kernel(name)), scipy_fn(X, axis=axis)[1:-1, 1:-1],
                               atol=1e-12)


@pytest.mark.parametrize("name", ["sobel_x", "prewitt_x"])
def test_x_kernels_respond_positive_to_dark_to_bright_left_to_right_edge(name):
    up = correlate(images.vertical_edge(5, 6), kernel(name))
    down = correlate(images.vertical_edge(5, 6, dark=1.0, bright=0.0), kernel(name))
    assert up.max() > 0 and up.min() == 0
    np.testing.assert_array_equal(down, -up)   # bright to dark: the same size, negative
    # no response to a horizontal edge or a flat image
    np.testing.assert_array_equal(correlate(images.horizontal_edge(5, 6), kernel(name)), 0)


@pytest.mark.parametrize("name", ["sobel_y", "prewitt_y"])
def test_y_kernels_respond_positive_to_dark_to_bright_top_to_bottom_edge(name):
    Y = correlate(images.horizontal_edge(6, 5), kernel(name))
    assert Y.max() > 0 and Y.min() == 0
    np.testing.assert_array_equal(correlate(images.vertical_edge(6, 5), kernel(name)), 0)


def test_sobel_x_flips_sign_under_true_convolution():
    X = images.vertical_edge(5, 6)
    convolved = scipy.signal.convolve2d(X, kernel("sobel_x"), mode="valid")
    np.testing.assert_array_equal(convolved, -correlate(X, kernel("sobel_x")))


def test_emboss_is_bright_where_the_image_gets_brighter_towards_bottom_right():
    ramp = images.gradient(6, 6) + images.gradient(6, 6, direction="vertical")
    Y = correlate(ramp, kernel("emboss"))
    assert np.all(Y > ramp[1:-1, 1:-1])
    Y_rev = correlate(ramp[::-1, ::-1], kernel("emboss"))
    assert np.all(Y_rev < ramp[::-1, ::-1][1:-1, 1:-1])
