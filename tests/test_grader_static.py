"""The trusted static from-scratch analysis: forbidden calls reachable from the graded function
are found through aliases, helpers, getattr and patched modules; the student's own checks in
other cells are not held against them."""

import pytest

from convlib.forbidden import FORBIDDEN_CONV_CALLS
from convlib.scan import scan_function, scan_tampering

SETUP = (1, "import numpy as np\nimport torch\nimport scipy.signal\n"
            "import torch.nn.functional as F")
LOOPS = (2, "def conv2d(x, k):\n    out = np.zeros((2, 2))\n    for i in range(2):\n"
            "        for j in range(2):\n            out[i, j] = np.sum(x[i:i+2, j:j+2] * k)\n"
            "    return out")


def scan(*cells):
    return scan_function([SETUP, *cells], "conv2d", FORBIDDEN_CONV_CALLS)


def test_plain_loops_and_fft_are_clean():
    assert scan(LOOPS) == []
    assert scan((2, "def conv2d(x, k):\n    return np.real(np.fft.ifft2(np.fft.fft2(x)))")) == []


def test_the_students_own_scipy_comparison_in_another_cell_does_not_count():
    check = (3, "from scipy.signal import correlate2d\nprint(correlate2d(1, 2), conv2d(1, 2))")
    assert scan(LOOPS, check) == []


@pytest.mark.parametrize("code, expected", [
    ("def conv2d(x, k):\n    return scipy.signal.correlate2d(x, k, 'valid')",
     "scipy.signal.correlate2d"),
    ("from scipy.signal import convolve2d as c\ndef conv2d(x, k):\n    return c(x, k)",
     "scipy.signal"),
    ("def conv2d(x, k):\n    return F.conv2d(x[None, None], k[None, None])",
     "torch.nn.functional.conv2d"),
    ("G = F\ndef conv2d(x, k):\n    return G.conv2d(x, k)", "torch.nn.functional.conv2d"),
    ("def conv2d(x, k):\n    return helper(x, k)\ndef helper(a, b):\n    return np.convolve(a, b)",
     "numpy.convolve"),
    ("def conv2d(x, k):\n    return getattr(scipy.signal, 'correlate' + '2d')(x, k)",
     "computed attribute name"),
    ("def conv2d(x, k):\n    return eval('scipy.signal.correlate2d')(x, k)", "eval"),
    ("def conv2d(x, k):\n    return torch.nn.Conv2d(1, 1, 3)(x)", "torch.nn.Conv2d"),
    ("import convlib\ndef conv2d(x, k):\n    return convlib.conv2d(x, k)", "convlib.conv2d"),
])
def test_forbidden_calls_reachable_from_the_function_are_named(code, expected):
    findings = scan((2, code))
    assert findings and expected in findings[0]


def test_a_module_patched_in_another_cell_is_followed():
    patch = (3, "np.sum = scipy.signal.correlate2d")
    findings = scan(LOOPS, patch)
    assert findings and "scipy.signal.correlate2d" in findings[0] and "cell 3" in findings[0]


def test_cells_with_magics_are_still_analysed():
    code = (2, "%matplotlib inline\ndef conv2d(x, k):\n    return scipy.signal.correlate2d(x, k)")
    assert scan(code)


def test_a_parameter_named_like_an_imported_helper_is_not_that_helper():
    setup = (1, "import torch\nfrom convlib import correlate2d, kernel")
    code = (2, "def conv2d(image, kernel):\n    M, N = kernel.shape\n"
               "    return (image.unfold(0, M, 1).unfold(1, N, 1) * kernel).sum((-1, -2))")
    assert scan_function([setup, code], "conv2d", FORBIDDEN_CONV_CALLS) == []


def test_an_import_inside_the_function_is_followed():
    code = (2, "def conv2d(x, k):\n    import scipy.signal as ss\n"
               "    return ss.correlate2d(x, k)")
    assert "scipy.signal.correlate2d" in scan(code)[0]


# Ways around the run-time record a reviewer found (each scored marks it should not have), and
# their neighbours: each must be named by scan_tampering.
TAMPERING = [
    ('import operator\nimport torch.nn.functional as F\n'
     '_lib = operator.attrgetter("con" + "v2d")(F)', "operator.attrgetter"),
    ('from operator import attrgetter\nimport numpy as np\n'
     'row = attrgetter("_core.multiarray.correlate2")(np)', "import attrgetter"),
    ('import operator, torch\ng = operator.methodcaller("conv2d", 1, 2)', "operator.methodcaller"),
    ('import torch\nname = "autograd.grad.__wrapped__"', "__wrapped__"),
    ('from torch._decomp import decompositions as D\ncols = D.im2col', "torch._decomp"),
    ('import torch\ncols = torch._refs', "torch._refs"),
    ('import os\nC = os.sys.modules["ctypes"]', "os.sys.modules"),
    ('def f(m):\n    return m.sys.modules', "m.sys.modules"),
    ('import numpy as np\nc = np.core._internal.ctypes', "ctypes"),
    ('import functools, torch\nf = functools.reduce(getattr, ["nn", "functional"], torch)',
     "`getattr` passed around as a value"),
    ('import torch\nd = getattr(torch, "_decomp")', "getattr(…, '_decomp')"),
]


@pytest.mark.parametrize("code, expected", TAMPERING)
def test_ways_around_the_record_are_named(code, expected):
    findings = scan_tampering([(1, code)])
    assert any(expected in f for f in findings), findings


@pytest.mark.parametrize("code", [
    'import numpy as np\nif __name__ == "__main__":\n    print(np.lib.stride_tricks)',
    'import torch\nx = getattr(torch, "float32")\ny = torch.nn.functional.unfold',
    'def f(result):\n    return result.code, result.types, result.site',
    '"""Slides the kernel: __call__ of a layer, __init__ of a class."""',
    'import operator\nprint(operator.mul(2, 3))',
])
def test_everyday_code_is_not_tampering(code):
    assert scan_tampering([(1, code)]) == []
