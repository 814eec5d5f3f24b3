"""Classic image kernels, all as float64 arrays of shape (kH, kW).

They are written for cross-correlation (what ``torch.nn.functional.conv2d`` and
``convlib.correlate2d`` compute): Y[i, j] = sum over a, b of X[i + a, j + b] K[a, b].
So ``sobel_x`` is positive where the image gets brighter from left to right, and
``shift_right`` moves the image content one pixel to the right (with ``'same'`` padding).
Under true convolution (kernel flipped) the signs and directions of the asymmetric
kernels reverse.
"""

import numpy as np

__all__ = ["KERNEL_NAMES", "kernel", "output_kind"]

KERNEL_NAMES = (
    "identity", "shift_left", "shift_right", "shift_up", "shift_down",
    "box_blur", "gaussian_blur", "sharpen", "laplacian",
    "sobel_x", "sobel_y", "prewitt_x", "prewitt_y", "emboss",
)

_FIXED_3X3 = {
    # identity - laplacian: the centre pixel plus its difference from its 4 neighbours.
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    # sum of the 4 neighbours minus 4 times the centre (the seeds' "Laplacian kernel").
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    # right column minus left column, the middle row weighted twice (smooths vertically).
    "sobel_x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel_y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "prewitt_x": [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
    "prewitt_y": [[-1, -1, -1], [0, 0, 0], [1, 1, 1]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}

# where the single 1 sits relative to the centre, (row, column) offset
_SHIFTS = {"shift_left": (0, 1), "shift_right": (0, -1), "shift_up": (1, 0), "shift_down": (-1, 0)}


def kernel(name, size=3, sigma=1.0):
    """Return the named kernel as a float64 array of shape (size, size).

    name: one of ``KERNEL_NAMES``.
    size: side length for ``identity``, ``shift_*`` (odd, >= 3; the shift is one pixel),
        ``box_blur`` and ``gaussian_blur`` (any size >= 1). The other kernels exist only as 3x3.
    sigma: standard deviation (pixels) of ``gaussian_blur``.

    Blurs are normalised to sum 1, so a constant image stays constant away from the border.
    ``sharpen`` is the classic [[0,-1,0],[-1,5,-1],[0,-1,0]] = identity - laplacian. The seeds
    build sharpening as original + (original - blurred); by linearity that is the single kernel
    ``2 * kernel('identity') - kernel('box_blur')`` (another valid sharpening kernel).
    """
    if not isinstance(name, str) or name not in KERNEL_NAMES:
        raise ValueError(f"unknown kernel {name!r}; valid names are: {', '.join(KERNEL_NAMES)}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    size = int(size)

    if name in _FIXED_3X3:
        if size != 3:
            raise ValueError(f"{name} is defined only as a 3x3 kernel; call kernel({name!r}) "
                             "without size (box_blur and gaussian_blur come in any size)")
        return np.array(_FIXED_3X3[name], dtype=np.float64)

    if name == "box_blur":
        return np.full((size, size), 1.0 / size**2)

    if name == "gaussian_blur":
        if not sigma > 0:
            raise ValueError(f"sigma must be positive, got {sigma!r}")
        t = np.arange(size, dtype=np.float64) - (size - 1) / 2
        g = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2.0 * sigma**2))
        return g / g.sum()

    # identity and the shifts need a centre pixel
    if size % 2 == 0 or (name != "identity" and size < 3):
        raise ValueError(f"{name} needs an odd size (it has a centre pixel)"
                         + ("" if name == "identity" else " of at least 3") + f"; got {size}")
    K = np.zeros((size, size))
    c = size // 2
    dr, dc = _SHIFTS.get(name, (0, 0))
    K[c + dr, c + dc] = 1.0
    return K


def output_kind(K, bias=0.0, tol=0.02):
    """Is what ``K`` computes a picture (``'image'``) or a signed response (``'response'``)?

    K: a kernel (kH, kW), or a filter (C, kH, kW) / (1, C, kH, kW) whose output is one map.
    bias: added to the output (a layer's bias).
    tol: how close to 1 (or 0) a sum must be (0.02: a kernel typed by hand, 0.11 nine times,
        counts as a blur).

    A flat region of brightness c comes out as c·sum(K) + bias. When that is c again (the
    entries sum to 1, no bias) and no channel adds a signed response (a nonzero slice whose
    entries sum to 0), the output keeps the photo's brightness: it *is* an image (identity,
    the shifts, the blurs, sharpen, emboss; three thirds of the identity make RGB gray) and is
    shown in gray, clipped to [0, 1]. Any other kernel, above all those summing to 0 (Sobel,
    Prewitt, Laplacian: a flat region goes to 0), gives a response, shown on the diverging map
    centred on zero.
    """
    K = np.asarray(K, dtype=float)
    slices = K.reshape(-1, *K.shape[-2:])
    sums = slices.sum(axis=(1, 2))
    adds_response = any(abs(s) <= tol and np.any(k != 0)
                        for s, k in zip(sums, slices, strict=True))
    keeps_brightness = abs(float(sums.sum()) - 1.0) <= tol and abs(float(bias)) <= tol
    return "image" if keeps_brightness and not adds_response else "response"
