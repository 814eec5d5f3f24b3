"""convlib.images: shapes, ranges, dtypes and determinism; the photo against Pillow's own
grayscale conversion; the digits MNIST-like; nothing fetched from the network."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy import ndimage

from convlib import images


def test_photo_is_grayscale_float64_in_unit_range_and_not_flat():
    X = images.photo()
    assert X.shape == (600, 512) and X.dtype == np.float64
    assert 0.0 <= X.min() and X.max() <= 1.0
    assert X.std() > 0.1


def test_photo_rgb_has_three_channels_in_unit_range():
    X = images.photo_rgb()
    assert X.shape == (600, 512, 3) and X.dtype == np.float64
    assert 0.0 <= X.min() and X.max() <= 1.0
    assert not np.allclose(X[..., 0], X[..., 2])   # a colour photograph, not gray


def test_photo_matches_pillows_grayscale_conversion_within_rounding():
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f, Image.open(f) as im:
        reference = np.asarray(im.convert("L"), dtype=np.float64) / 255.0
    # Pillow rounds to 8 bits; convlib keeps the exact luma
    np.testing.assert_allclose(images.photo(), reference, rtol=0, atol=1 / 255 + 1e-12)


@pytest.mark.parametrize("size", [(64, 48), (28, 28), (1, 5)])
def test_photo_resizes_to_the_requested_height_and_width(size):
    assert images.photo(size).shape == size
    assert images.photo_rgb(size).shape == (*size, 3)
    assert 0.0 <= images.photo(size).min() and images.photo(size).max() <= 1.0


@pytest.mark.parametrize("size", [(0, 5), (5,), 28, (2.0, 3), (True, 3)])
def test_photo_rejects_bad_sizes(size):
    with pytest.raises(ValueError, match="size must be"):
        images.photo(size)


def test_photo_is_deterministic_and_callers_get_independent_copies():
    a = images.photo((32, 32))
    a[...] = -1.0
    b, c = images.photo((32, 32)), images.photo((32, 32))
    assert b.min() >= 0.0
    np.testing.assert_array_equal(b, c)


def test_images_need_no_network():
    """Photo and digits are made in a fresh process in which every socket fails."""
    code = textwrap.dedent("""
        import socket
        def refuse(*args, **kwargs):
            raise OSError("network used")
        socket.socket.connect = socket.socket.connect_ex = refuse
        socket.create_connection = socket.getaddrinfo = refuse
        from convlib import images
        images.photo((8, 8)); images.photo_rgb(); images.digit(5)
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("d", range(10))
def test_digit_is_mnist_like_white_on_black_centred_28x28(d):
    X = images.digit(d)
    assert X.shape == (28, 28) and X.dtype == np.float64
    assert X.min() >= 0.0 and X.max() == 1.0
    # black border, like MNIST's 4-pixel margin around a 20x20 box (centring may shift it)
    assert X[0].max() == 0 and X[:, 0].max() == 0 and X[:, -1].max() == 0
    rows = np.flatnonzero(X.max(axis=1) > 0.1)
    cols = np.flatnonzero(X.max(axis=0) > 0.1)
    assert 16 <= rows[-1] - rows[0] + 1 <= 23
    assert 4 <= cols[-1] - cols[0] + 1 <= 23
    cy, cx = ndimage.center_of_mass(X)
    assert abs(cy - 13.5) < 0.5 and abs(cx - 13.5) < 0.5
    # mostly background, as in MNIST (about 80% of MNIST pixels are 0)
    assert 0.5 < np.mean(X < 0.05) < 0.95
    # slightly blurred: there are intermediate grey levels
    assert np.mean((X > 0.1) & (X < 0.9)) > 0.03


def test_digits_are_distinct_and_deterministic():
    digits = [images.digit(d) for d in range(10)]
    for a in range(10):
        np.testing.assert_array_equal(digits[a], images.digit(a))
        for b in range(a + 1, 10):
            assert np.abs(digits[a] - digits[b]).max() > 0.5


def test_digit_other_sizes_and_bad_arguments():
    assert images.digit(3, size=56).shape == (56, 56)
    for bad in (10, -1, "3", 2.0, True):
        with pytest.raises(ValueError, match="digit 0..9"):
            images.digit(bad)
    with pytest.raises(ValueError, match="size"):
        images.digit(3, size=4)


def test_vertical_edge_reproduces_the_seeds_patch():
    np.testing.assert_array_equal(images.vertical_edge(3, 3, 10, 200),
                                  [[10, 10, 200], [10, 10, 200], [10, 10, 200]])
    X = images.vertical_edge(4, 6)
    assert X.dtype == np.float64
    np.testing.assert_array_equal(X, [[0, 0, 0, 1, 1, 1]] * 4)
    np.testing.assert_array_equal(images.vertical_edge(2, 5, at=1), [[0, 1, 1, 1, 1]] * 2)


def test_horizontal_edge_is_dark_on_top_and_bright_below():
    X = images.horizontal_edge(4, 3)
    assert X.shape == (4, 3) and X.dtype == np.float64
    np.testing.assert_array_equal(X, [[0] * 3, [0] * 3, [1] * 3, [1] * 3])
    np.testing.assert_array_equal(images.horizontal_edge(3, 3, 10, 200),
                                  images.vertical_edge(3, 3, 10, 200).T)


def test_checkerboard_alternates_starting_low_at_top_left():
    X = images.checkerboard(4, 6, square=2)
    assert X.shape == (4, 6) and X.dtype == np.float64
    np.testing.assert_array_equal(X[:2, :2], 0)
    np.testing.assert_array_equal(X[:2, 2:4], 1)
    np.testing.assert_array_equal(X[2:, :2], 1)
    np.testing.assert_array_equal(images.checkerboard(2, 2), [[0, 1], [1, 0]])


def test_impulse_is_one_bright_pixel():
    X = images.impulse(5, 7)
    assert X.shape == (5, 7) and X.sum() == 1 and X[2, 3] == 1
    assert images.impulse(3, 3, at=(0, 2), value=4.0)[0, 2] == 4.0
    with pytest.raises(ValueError, match="outside"):
        images.impulse(3, 3, at=(3, 0))


def test_gradient_ramps_linearly_in_the_chosen_direction():
    X = images.gradient(3, 5)
    np.testing.assert_allclose(X, np.tile([0, 0.25, 0.5, 0.75, 1.0], (3, 1)))
    Y = images.gradient(5, 3, direction="vertical", low=1, high=3)
    np.testing.assert_allclose(Y[:, 0], [1, 1.5, 2, 2.5, 3])
    np.testing.assert_allclose(np.diff(Y, axis=1), 0)
    with pytest.raises(ValueError, match="direction"):
        images.gradient(3, 3, direction="diagonal")


@pytest.mark.parametrize("fn", [images.vertical_edge, images.horizontal_edge,
                                images.checkerboard, images.impulse, images.gradient])
def test_patterns_reject_non_positive_sizes(fn):
    with pytest.raises(ValueError, match="positive integer"):
        fn(0, 3)
