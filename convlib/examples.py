"""The worked examples of the five seed lessons, as named numpy arrays.

Inputs and kernels are stored as the seeds wrote them (integers). Whatever a seed *states* as a
result is stored under a ``CLAIMED_`` name: it is a claim to check, not a truth. The checks live in
``tests/test_seeds.py`` (against torch and scipy) and the errors found are listed in
``docs/seed-errata.md``. The seeds, by number:

* seed 0 -- short notebook "why convolution", with the torch ``conv2d(image, kernel)`` loop
* seed 1 -- "The Principles of the Convolution", same loop as a graded exercise
* seed 2 -- "Day 20: CNN Introduction" (stride, padding, the 5x5 walk-through, the padding table)
* seed 3 -- lecture slides "Convolutional Layer" (1-D example, cross-correlation, parameters)
* seed 4 -- "Introduction to Convolution Operation in CNNs" (the 4x4 example, scipy)

Every seed example uses cross-correlation (no kernel flip) unless said otherwise: that is what
the seeds' loops, ``torch.nn.functional.conv2d`` and ``convlib.correlate2d`` compute.
The arrays are ordinary writable arrays: copy one before changing it in place.
"""

import numpy as np

# -- seed 3: the 1-D example -----------------------------------------------------------------

SEQUENCE_1D = np.array([1, 2, 3, 4, 5])
KERNEL_1D = np.array([1, 0, -1])
# "First output: 1x1 + 2x0 + 3x(-1) = -2"; "This kernel computes a discrete derivative"
CLAIMED_1D_FIRST_OUTPUT = -2

# -- seed 2: the 5x5 walk-through ------------------------------------------------------------

IMAGE_5X5 = np.array([
    [1, 2, 3, 0, 1],
    [0, 1, 2, 3, 1],
    [1, 0, 1, 2, 0],
    [2, 1, 0, 1, 2],
    [1, 2, 1, 0, 1],
])
KERNEL_VERTICAL_EDGE = np.array([
    [1, 0, -1],
    [1, 0, -1],
    [1, 0, -1],
])
# The nine patches the seed writes out, each with the dot product it states.
# Keys are (row, column) of the output position.
CLAIMED_PATCHES_5X5 = {
    (0, 0): (np.array([[1, 2, 3], [0, 1, 2], [1, 0, 1]]), -4),
    (0, 1): (np.array([[2, 3, 0], [1, 2, 3], [0, 1, 2]]), -2),
    (0, 2): (np.array([[3, 0, 1], [2, 3, 1], [1, 2, 0]]), 4),
    (1, 0): (np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0]]), 0),
    (1, 1): (np.array([[1, 2, 3], [0, 1, 2], [1, 0, 1]]), -4),
    (1, 2): (np.array([[2, 3, 1], [1, 2, 0], [0, 1, 2]]), 0),
    (2, 0): (np.array([[1, 0, 1], [2, 1, 0], [1, 2, 1]]), 2),
    (2, 1): (np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0]]), 0),
    (2, 2): (np.array([[1, 2, 0], [0, 1, 2], [1, 0, 1]]), -1),
}
CLAIMED_FEATURE_MAP_5X5 = np.array([
    [-4., -2., 4.],
    [0., -4., 0.],
    [2., 0., -1.],
])
# np.pad(IMAGE_5X5, pad_width=1), as the seed prints it
CLAIMED_PADDED_5X5 = np.array([
    [0, 0, 0, 0, 0, 0, 0],
    [0, 1, 2, 3, 0, 1, 0],
    [0, 0, 1, 2, 3, 1, 0],
    [0, 1, 0, 1, 2, 0, 0],
    [0, 2, 1, 0, 1, 2, 0],
    [0, 1, 2, 1, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 0],
])
CLAIMED_FEATURE_MAP_5X5_PADDED = np.array([
    [-3., -4., 0., 3., 3.],
    [-3., -4., -2., 4., 5.],
    [-2., 0., -4., 0., 6.],
    [-3., 2., 0., -1., 3.],
    [-3., 2., 2., -2., 1.],
])

# -- seed 2: the 3x3 image with a 2x2 kernel ---------------------------------------------------

IMAGE_3X3 = np.arange(1, 10).reshape(3, 3)
KERNEL_2X2_DIAGONAL = np.array([[1, 0], [0, -1]])
CLAIMED_PATCHES_3X3 = {
    (0, 0): np.array([[1, 2], [4, 5]]),
    (0, 1): np.array([[2, 3], [5, 6]]),
    (1, 0): np.array([[4, 5], [7, 8]]),
    (1, 1): np.array([[5, 6], [8, 9]]),
}
CLAIMED_FLATTENED_KERNEL_2X2 = np.array([1, 0, 0, -1])
CLAIMED_FLATTENED_TOP_LEFT_PATCH = np.array([1, 2, 4, 5])
CLAIMED_FEATURE_MAP_3X3 = np.full((2, 2), -4.0)

# -- seed 2: one 3x3 patch with the Laplacian kernel (the seed never states the result) -------

PATCH_LAPLACIAN = np.array([[1, 2, 0], [0, 1, 3], [1, 2, 1]])
KERNEL_LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]])

# -- seed 2: the vertical-edge patch and the Sobel filter -------------------------------------

PATCH_VERTICAL_EDGE = np.array([[10, 10, 200], [10, 10, 200], [10, 10, 200]])
KERNEL_SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
# "Strong response when left != right. High output -> vertical edge detected,
#  low output -> no vertical edge." (no number given)
CLAIMED_SOBEL_RULE = "high output means a vertical edge, low output means none"

# -- seed 4: the 4x4 image with a 2x2 kernel --------------------------------------------------

IMAGE_4X4 = np.arange(1, 17).reshape(4, 4)
KERNEL_2X2_ROWS = np.array([[1, 1], [-1, -1]])
# Stated three times: by the hand calculation ("constant -8"), as the "Expected Output" of the
# seed's own convolve2d (which flips the kernel), and as what scipy.signal.convolve2d(...,
# mode='valid') "produces" ("the same output").
CLAIMED_FEATURE_MAP_4X4 = np.full((3, 3), -8.0)
CLAIMED_4X4_DESCRIPTION = "This kernel detects horizontal changes"

# -- seed 0 / seed 1: the exercise --------------------------------------------------------------

# seed 1: "tested in 4 different images ... kernel (3, 3) ... images (8, 8), (12, 10), (10, 10),
# and (12, 8)"; the loop's output has H - M + 1 rows and W - N + 1 columns.
EXERCISE_IMAGE_SHAPES = ((8, 8), (12, 10), (10, 10), (12, 8))
EXERCISE_KERNEL_SHAPE = (3, 3)

# The seeds' reference loop: seed 1's answer (seed 0's loop without its comments), spaced as
# PEP 8 and otherwise verbatim. The one copy of it: the tests, the grader's demo class and the
# submission catalogue build their honest and mistaken students from this text.
SEED_CONV2D_SOURCE = '''import torch

def conv2d(image, kernel):
    H, W = list(image.size())
    M, N = list(kernel.size())
    out = torch.zeros(H - M + 1, W - N + 1, dtype=torch.float32)
    for i in range(H - M + 1):
        for j in range(W - N + 1):
            out[i, j] = torch.sum(image[i:i + M, j:j + N] * kernel)
    return out
'''


def _compile_seed_conv2d():
    namespace = {}
    exec(compile(SEED_CONV2D_SOURCE, "<the seeds' conv2d>", "exec"), namespace)  # our own text
    return namespace["conv2d"]


seed_conv2d = _compile_seed_conv2d()
seed_conv2d.__doc__ = """The seeds' conv2d loop, compiled from SEED_CONV2D_SOURCE (so the text
and the function cannot drift). image (H, W), kernel (M, N) torch tensors -> float32
(H - M + 1, W - N + 1): valid cross-correlation."""

# -- output sizes -------------------------------------------------------------------------------

# (N, F, S, P, claimed O) from seeds 2 and 3. All of these are whole-number cases.
CLAIMED_OUTPUT_SIZES = (
    (28, 3, 1, 0, 26),   # seed 2: a 28x28 image and a 3x3 filter give a 26x26 feature map
    (5, 3, 1, 0, 3),     # seeds 2 and 3: 5x5 input, 3x3 filter
    (5, 3, 2, 0, 2),     # seed 2: stride 2 gives 2x2
    (5, 3, 1, 1, 5),     # seed 2: padding 1 keeps 5x5
    (4, 2, 1, 0, 3),     # seed 4: 4x4 image, 2x2 kernel
)
# The seeds' formula O = (N - F + 2P) / S + 1, written without a floor.
CLAIMED_OUTPUT_SIZE_FORMULA = "(N - F + 2P) / S + 1"

# seed 2, "Solve for Padding": P = (S(N - 1) - N + F) / 2, and its two worked examples
CLAIMED_PADDING_FORMULA = "(S * (N - 1) - N + F) / 2"
CLAIMED_PADDING_EXAMPLES = (   # (N, F, S, claimed P)
    (7, 3, 1, 1),
    (7, 3, 2, 4),
)
# seed 2's table, presented as padding that "ensures the feature map has the desired size"
CLAIMED_SAME_PADDING_TABLE = (  # (N, F, S, P, O)
    (7, 3, 1, 1, 7),
    (7, 3, 2, 4, 7),
    (5, 5, 1, 2, 5),
    (5, 3, 1, 0, 3),
)
# seed 2: "Padding = (F - 1) / 2 (assuming stride = 1)"; "for odd-sized filters (e.g. 3x3),
# padding = 1"; "even-sized filters: P may be fractional"
CLAIMED_SAME_PADDING_STRIDE1 = "(F - 1) / 2"

# -- parameter counts -----------------------------------------------------------------------

# seed 2: a 28x28 grayscale image into a dense layer of 1,000 neurons
MNIST_SHAPE = (28, 28)
DENSE_UNITS = 1000
CLAIMED_PIXELS_28X28 = 784
CLAIMED_DENSE_PARAMS = 784_000
# seed 3: "MLP: 10^9 parameters for 1MP image"; "CNN: 3 x 3 x c_in x c_out ~ few thousand";
# "3x3x3 = 27 weights for RGB"; "Total parameters: K x K x C_in x C_out + C_out (bias)"
CLAIMED_MLP_PARAMS_1MP = 10**9
CLAIMED_RGB_3X3_WEIGHTS = 27

# -- concepts stated in words (checked numerically in tests/test_seeds.py) ---------------------

CLAIMED_CONCEPTS = {
    # seed 2 calls the consequence of parameter sharing "translation invariance"
    "parameter_sharing_gives": "translation invariance",
    # seed 3: cross-correlation vs convolution, "The outputs remain identical"
    "correlation_vs_convolution_outputs": "identical",
    # seed 2: padding "ensures all pixels are treated equally"
    "padding_treats_all_pixels_equally": True,
    # seed 2, stride 2 with a 2x2 filter: "move right by 2 pixels -> next 2x2 patch
    # (skips 1 column)"
    "stride2_2x2_skips_columns": 1,
    # seed 4: transposed convolution "is like reverse convolution"
    "transposed_convolution_is": "reverse convolution",
}
