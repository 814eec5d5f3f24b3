"""A catalogue of example submissions for the 02_conv2d exercise: honest variants, common
mistakes, attacks on the grader and malformed files, each with the outcome the grader must give.

    from autograder.submissions import VARIANTS, write_submission
    write_submission(course_dir, "s01", "02_conv2d", VARIANTS["loops_seed"])

`write_submission` takes the released notebook (course/release/<a>/<nb>.ipynb, or the source
notebook with solutions and hidden tests removed) and replaces the cell that defines the graded
function with the variant's code, inserts its extra cells after it, applies its notebook edits,
or writes its raw bytes. Used by the grader's tests, the benchmark and the demo class.

`fixture_source_notebook()` builds a small instructor notebook shaped like 02_conv2d (a
`conv2d(image, kernel)` exercise, a self-check with hidden tests, a from-scratch check, an
answer variable and a hand-graded reflection), for tests that must not depend on the real one.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

ASSIGNMENT = "02_conv2d"


@dataclass(frozen=True)
class Variant:
    """One example submission and the outcome the grader must give it.

    expect: "full" (every autograded point), "partial" (loses the points of the conv2d tests it
    fails, with `mistake` named on a failing cell), "error" (status "error": unreadable), or
    "no_gain" (an attack: at most the score of the `baseline` variant, which has the same
    conv2d without the attack).
    flags: flags the results must carry (others may be present only if listed in `may_flag`).
    """

    name: str
    description: str
    code: str | None = None  # the cell defining conv2d; None keeps the released stub
    extra: tuple = ()  # code cells inserted right after it
    expect: str = "full"
    mistake: str | None = None
    flags: tuple = ()
    may_flag: tuple = ()
    baseline: str | None = None
    edit: str | None = None  # name of a notebook edit in EDITS
    raw: str | None = None  # name of a raw-file builder in RAW
    params: dict = field(default_factory=dict, hash=False, compare=False)


# ----------------------------------------------------------------------------- honest code

LOOPS_SEED = '''import torch

def conv2d(image, kernel):
    H, W = list(image.size())
    M, N = list(kernel.size())
    out = torch.zeros(H - M + 1, W - N + 1, dtype=torch.float32)
    for i in range(H - M + 1):
        for j in range(W - N + 1):
            out[i, j] = torch.sum(image[i:i + M, j:j + N] * kernel)
    return out
'''

VECTORISED = '''import torch

def conv2d(image, kernel):
    M, N = kernel.shape
    windows = image.unfold(0, M, 1).unfold(1, N, 1)   # (H-M+1, W-N+1, M, N)
    return (windows * kernel).sum(dim=(-1, -2))
'''

NUMPY_INSIDE = '''import numpy as np
import torch

def conv2d(image, kernel):
    x, k = np.asarray(image, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    H, W = x.shape
    M, N = k.shape
    windows = np.lib.stride_tricks.sliding_window_view(x, (M, N))
    return torch.from_numpy(np.einsum("ijab,ab->ij", windows, k))
'''

FFT = '''import numpy as np
import torch

def conv2d(image, kernel):
    x, k = image.double().numpy(), kernel.double().numpy()
    H, W = x.shape
    M, N = k.shape
    size = (H + M - 1, W + N - 1)
    full = np.fft.irfft2(np.fft.rfft2(x, size) * np.fft.rfft2(k[::-1, ::-1], size), size)
    return torch.tensor(full[M - 1:H, N - 1:W], dtype=torch.float32)
'''

FLOAT64 = LOOPS_SEED.replace("torch.float32", "torch.float64")

PRINTS_AND_WARNS = '''import sys
import warnings
import torch

def conv2d(image, kernel):
    H, W = image.shape
    M, N = kernel.shape
    print(f"image {H}x{W}, kernel {M}x{N}")
    warnings.warn("this is a slow loop")
    print("debug", file=sys.stderr)
    out = torch.empty(H - M + 1, W - N + 1)
    for i in range(H - M + 1):
        for j in range(W - N + 1):
            out[i, j] = (image[i:i + M, j:j + N] * kernel).sum()
    return out
'''

HONEST_SELF_CHECK_WITH_SCIPY = '''from scipy.signal import correlate2d
x, k = torch.rand(6, 5), torch.rand(3, 2)
expected = correlate2d(x.numpy(), k.numpy(), "valid")
print("matches scipy:", np.allclose(conv2d(x, k).numpy(), expected, atol=1e-5))
'''


def _mistake(old, new):
    assert old in LOOPS_SEED
    return LOOPS_SEED.replace(old, new)


# ----------------------------------------------------------------------------- attacks

STUB = "def conv2d(image, kernel):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
ZEROS = '''import torch

def conv2d(image, kernel):
    H, W = image.shape
    M, N = kernel.shape
    return torch.zeros(H - M + 1, W - N + 1)
'''

ATTACK_INPUT_TRANSFORMER = '''ip = get_ipython()
ip.input_transformers_post.append(lambda lines: ["pass\\n"])
'''

ATTACK_PATCH_TESTING = '''import numpy as np
import torch
import builtins
np.testing.assert_allclose = lambda *a, **k: None
np.allclose = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
torch.allclose = lambda *a, **k: True
builtins.abs = lambda x: 0
builtins.max = lambda *a, **k: 0
import sys
sys.modules["convlib.checks"] = type(sys)("convlib.checks")
'''

ARRAY_FUNCTION = '''import numpy as np

class Always(np.ndarray):
    def __array_function__(self, func, types, args, kwargs):
        return True
    def __array_ufunc__(self, *args, **kwargs):
        return True
    def __eq__(self, other):
        return True

def conv2d(image, kernel):
    H, W = image.shape
    M, N = kernel.shape
    return np.zeros((H - M + 1, W - N + 1)).view(Always)
'''

FAKE_EQUALITY = '''class Anything:
    shape = property(lambda self: (3, 3))
    dtype = "float32"
    def __eq__(self, other):
        return True
    def __array__(self, *args, **kwargs):
        raise RuntimeError("no")
    def __getattr__(self, name):
        return lambda *a, **k: self

def conv2d(image, kernel):
    return Anything()
'''

SCIPY_CONVOLVE = '''import scipy.signal
import torch

def conv2d(image, kernel):
    out = scipy.signal.correlate2d(image.numpy(), kernel.numpy(), mode="valid")
    return torch.from_numpy(out)
'''

OBFUSCATED_SCIPY = '''import torch

def conv2d(image, kernel):
    lib = __import__("scipy." + "sig" + "nal", fromlist=["x"])
    fn = getattr(lib, "correl" + "ate2d")
    return torch.from_numpy(fn(image.numpy(), kernel.numpy(), mode="valid"))
'''

TORCH_FUNCTIONAL = '''import torch
import torch.nn.functional as F
G = F

def conv2d(image, kernel):
    return G.conv2d(image[None, None], kernel[None, None])[0, 0]
'''

DETACHED_GRADEBOOK = '''import os, time, glob
pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(3)
        for path in glob.glob("/**/gradebook.db", recursive=True) + [{gradebook!r}]:
            try:
                import sqlite3
                db = sqlite3.connect(path)
                db.execute("UPDATE grade SET manual_score = 1000")
                db.commit()
            except Exception:
                pass
        with open({gradebook!r} + ".attack", "w") as f:
            f.write("escaped")
    os._exit(0)
'''

READ_COURSE = '''import glob, os
found = []
roots = ["/opt", "/tmp", "/root", "/home", "/srv", "/mnt", {course!r}, os.path.expanduser("~")]
for pattern in [root + "/**/*.ipynb" for root in roots] + [root + "/**/*.db" for root in roots]:
    try:
        found += glob.glob(pattern, recursive=True)
    except Exception:
        pass
for path in found:
    try:
        print(open(path).read())
    except Exception as err:
        print("cannot read", path, err)
for path in [{course!r} + "/gradebook.db", {course!r} + "/source"]:
    print(path, os.path.exists(path))
'''

WRITE_OUTSIDE = '''import os
for path in [{canary!r}, os.path.join({course!r}, "gradebook.db"), "/usr/evil", "/opt/grader/x"]:
    for mode in ("a", "w"):
        try:
            with open(path, mode) as f:
                f.write("overwritten by the student")
        except Exception as err:
            print(type(err).__name__, path)
try:
    os.remove({canary!r})
except Exception as err:
    print(type(err).__name__)
try:
    print(open({canary!r}).read())
except Exception as err:
    print(type(err).__name__)
'''

OS_EXIT = "import os\nos._exit(0)\n"
KILL_SELF = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"
KILL_PARENT = ("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
               "os.kill(1, signal.SIGKILL)\n")
SYS_EXIT = "import sys\nsys.exit(0)\n"

INFINITE_LOOP = '''import signal
import torch

def conv2d(image, kernel):
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM, signal.SIGXCPU):
        signal.signal(sig, signal.SIG_IGN)
    while True:
        pass
'''

MEMORY = '''import torch

def conv2d(image, kernel):
    hog = []
    while True:
        hog.append(bytearray(256 * 2**20))
'''

OUTPUT_FLOOD = "for _ in range(20000):\n    print('x' * 1000)\n"

FORK_SLEEPERS = '''import os, time
for _ in range(200):
    try:
        if os.fork() == 0:
            os.setsid()
            time.sleep(1000)
            os._exit(0)
    except OSError:
        break
'''


# ----------------------------------------------------------------------------- the catalogue

def _v(*args, **kwargs):
    v = Variant(*args, **kwargs)
    return v.name, v


VARIANTS = dict([
    # honest: full marks
    _v("loops_seed", "the seed's nested loops, torch.zeros float32", LOOPS_SEED),
    _v("loops_using_setup_imports", "the seed's loops relying on the notebook's own setup "
       "cell for `import torch`", LOOPS_SEED.replace("import torch\n\n", "")),
    _v("vectorised_windows", "unfold into windows, multiply, sum", VECTORISED),
    _v("numpy_inside_torch", "numpy sliding windows and einsum inside, torch out", NUMPY_INSIDE),
    _v("fft", "FFT-based, with floating-point error", FFT),
    _v("float64", "loops into a float64 tensor", FLOAT64),
    _v("prints_and_warns", "prints, warns and writes to stderr while working", PRINTS_AND_WARNS),
    _v("self_check_with_scipy", "loops, plus the student's own comparison with scipy in "
       "another cell", LOOPS_SEED, extra=(HONEST_SELF_CHECK_WITH_SCIPY,)),
    # common mistakes
    _v("kernel_flipped", "flips the kernel (true convolution)",
       _mistake("* kernel)", "* torch.flip(kernel, (0, 1)))"), expect="partial",
       mistake="kernel_flipped"),
    _v("kernel_transposed", "multiplies by the transposed kernel",
       _mistake("* kernel)", "* kernel.T)").replace("M, N = list(kernel.size())",
                                                   "M, N = list(kernel.T.size())"),
       expect="partial", mistake="kernel_transposed"),
    _v("output_too_small", "loops one position short",
       _mistake("for i in range(H - M + 1)", "for i in range(H - M)"), expect="partial",
       mistake="output_too_small"),
    _v("integer_truncation", "integer output tensor",
       _mistake("dtype=torch.float32", "dtype=torch.int32"), expect="partial",
       mistake="integer_truncation"),
    _v("mean_not_sum", "averages instead of summing",
       _mistake("torch.sum(", "torch.mean("), expect="partial", mistake="mean_not_sum"),
    _v("transposed_output", "returns the output transposed",
       _mistake("    return out", "    return out.T"), expect="partial", mistake="transposed"),
    _v("input_modified", "zeroes the image in place after computing",
       _mistake("    return out", "    image.zero_()\n    return out"), expect="partial",
       mistake="input_modified"),
    _v("not_implemented", "the released stub, untouched", None, expect="partial",
       mistake="not_implemented"),
    _v("wrong_type", "returns a list", _mistake("    return out", "    return out.tolist()"),
       expect="partial", mistake="wrong_type"),
    # attacks: never more than the baseline
    _v("attack_input_transformer", "stub + an IPython input transformer that turns every later "
       "cell into `pass`", STUB, extra=(ATTACK_INPUT_TRANSFORMER,), expect="no_gain",
       baseline="not_implemented"),
    _v("attack_patch_testing", "zeros + replaced np.testing/torch.testing/allclose/abs/max/"
       "sys.modules", ZEROS, extra=(ATTACK_PATCH_TESTING,), expect="no_gain",
       baseline="zeros"),
    _v("attack_patch_isinstance", "zeros + builtins.isinstance always True (breaks its own "
       "process)", ZEROS, extra=("import builtins\nbuiltins.isinstance = lambda *a, **k: True\n",),
       expect="no_gain", baseline="zeros", may_flag=("crashed",)),
    _v("zeros", "returns zeros of the right shape (a baseline for attacks)", ZEROS,
       expect="partial", mistake="wrong_values"),
    _v("attack_array_function", "ndarray subclass whose __array_function__/__eq__ answer True",
       ARRAY_FUNCTION, expect="no_gain", baseline="zeros_numpy"),
    _v("zeros_numpy", "returns a numpy array of zeros (a baseline for attacks)",
       "import numpy as np\n\ndef conv2d(image, kernel):\n    H, W = image.shape\n"
       "    M, N = kernel.shape\n    return np.zeros((H - M + 1, W - N + 1))\n",
       expect="partial", mistake="wrong_type"),
    _v("attack_fake_equality", "returns an object whose __eq__ is always True", FAKE_EQUALITY,
       expect="partial", mistake="wrong_type"),
    _v("attack_scipy", "calls scipy.signal.correlate2d in the from-scratch exercise",
       SCIPY_CONVOLVE, expect="partial", mistake="forbidden_call", flags=("forbidden_call",)),
    _v("attack_scipy_obfuscated", "reaches scipy.signal.correlate2d through __import__ and "
       "getattr with built strings", OBFUSCATED_SCIPY, expect="partial",
       mistake="forbidden_call", flags=("forbidden_call",)),
    _v("attack_torch_functional", "calls F.conv2d through an alias", TORCH_FUNCTIONAL,
       expect="partial", mistake="forbidden_call", flags=("forbidden_call",)),
    _v("attack_detached_gradebook", "stub + a detached process that later writes manual_score "
       "into gradebook.db", STUB, extra=(DETACHED_GRADEBOOK,), expect="no_gain",
       baseline="not_implemented", params={"gradebook": "gradebook.db"}),
    _v("attack_read_course", "stub + prints every notebook it can find (source, solutions)",
       STUB, extra=(READ_COURSE,), expect="no_gain", baseline="not_implemented",
       may_flag=("output_limit",), params={"course": "."}),
    _v("attack_write_outside", "stub + writes/deletes files outside its folder", STUB,
       extra=(WRITE_OUTSIDE,), expect="no_gain", baseline="not_implemented",
       params={"canary": "/tmp/canary", "course": "."}),
    _v("attack_os_exit", "correct conv2d, then os._exit(0) before the tests", LOOPS_SEED,
       extra=(OS_EXIT,), expect="partial", flags=("crashed",)),
    _v("attack_kill_self", "correct conv2d, then SIGKILL to itself", LOOPS_SEED,
       extra=(KILL_SELF,), expect="partial", flags=("crashed",)),
    _v("attack_kill_parent", "stub, then SIGKILL to its parent and to PID 1", STUB,
       extra=(KILL_PARENT,), expect="no_gain", baseline="not_implemented", flags=("crashed",),
       may_flag=("crashed",)),
    _v("attack_sys_exit", "stub + sys.exit(0)", STUB, extra=(SYS_EXIT,), expect="no_gain",
       baseline="not_implemented"),
    _v("attack_infinite_loop", "conv2d loops forever ignoring signals", INFINITE_LOOP,
       expect="partial", flags=("timeout",)),
    _v("attack_memory", "conv2d allocates until memory runs out", MEMORY, expect="partial",
       flags=("memory_limit",)),
    _v("attack_output_flood", "correct conv2d + prints 20 MB", LOOPS_SEED,
       extra=(OUTPUT_FLOOD,), expect="full", flags=("output_limit",)),
    _v("attack_fork_sleepers", "stub + forks sleeping, detached children until refused",
       STUB, extra=(FORK_SLEEPERS,), expect="no_gain", baseline="not_implemented",
       may_flag=("crashed",)),  # crashed: stopped by the process watchdog
    _v("attack_edit_test", "stub + test cells replaced by `pass`", STUB, expect="no_gain",
       baseline="not_implemented", edit="edit_tests", flags=("tampered",)),
    _v("attack_relabel_test", "stub + test cells re-labelled as solution cells with `pass`",
       STUB, expect="no_gain", baseline="not_implemented", edit="relabel_tests",
       flags=("tampered",)),
    _v("attack_delete_test", "stub + test cells deleted", STUB, expect="no_gain",
       baseline="not_implemented", edit="delete_tests", flags=("tampered",)),
    _v("attack_fake_points", "stub + an extra cell marked as a 100-point test", STUB,
       expect="no_gain", baseline="not_implemented", edit="fake_points"),
    # malformed files
    _v("invalid_json", "not JSON", raw="invalid_json", expect="error"),
    _v("nbformat3", "an nbformat 3 notebook", raw="nbformat3", expect="error"),
    _v("binary", "random binary bytes", raw="binary", expect="error"),
    _v("huge", "a 6 MB notebook", raw="huge", expect="error"),
    _v("empty_file", "an empty file", raw="empty", expect="error"),
    _v("missing_notebook", "the notebook is missing, another one is there instead",
       raw="missing", expect="error"),
    _v("extra_file", "correct notebook plus an unexpected file", LOOPS_SEED, raw="extra_file",
       expect="full"),
])

HONEST = [n for n, v in VARIANTS.items() if v.expect == "full" and not v.flags and not v.raw]
MISTAKES = [n for n, v in VARIANTS.items() if v.expect == "partial" and not n.startswith(
    "attack_")]
ATTACKS = [n for n in VARIANTS if n.startswith("attack_")]
MALFORMED = [n for n, v in VARIANTS.items() if v.expect == "error"]


# ----------------------------------------------------------------------------- notebook edits

def _test_indices(nb):
    return [i for i, c in enumerate(nb.cells) if _meta(c).get("grade") and not _meta(
        c).get("solution") and c.cell_type == "code"]


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _edit_tests(nb):
    for i in _test_indices(nb):
        nb.cells[i].source = "pass"


def _relabel_tests(nb):
    for i in _test_indices(nb):
        meta = nb.cells[i].metadata["nbgrader"]
        meta.update(grade=False, solution=True, grade_id=meta["grade_id"] + "_mine")
        nb.cells[i].source = "pass"


def _delete_tests(nb):
    for i in reversed(_test_indices(nb)):
        del nb.cells[i]


def _fake_points(nb):
    from nbformat.v4 import new_code_cell
    cell = new_code_cell("pass")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                 "grade_id": "bonus", "points": 100, "schema_version": 3}
    nb.cells.append(cell)


EDITS = {"edit_tests": _edit_tests, "relabel_tests": _relabel_tests,
         "delete_tests": _delete_tests, "fake_points": _fake_points}


# ----------------------------------------------------------------------------- building files

def released_notebook(course_dir, assignment=ASSIGNMENT, notebook=None):
    """The student version: release/ if present, else source/ with solutions and hidden tests
    removed the way nbgrader does it."""
    import nbformat
    course = Path(course_dir)
    notebook = notebook or assignment
    release = course / "release" / assignment / f"{notebook}.ipynb"
    if release.exists():
        return nbformat.read(release, as_version=4)
    nb = nbformat.read(course / "source" / assignment / f"{notebook}.ipynb", as_version=4)
    from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions
    resources = {}
    for pre in (ClearSolutions(), ClearOutput(), ClearHiddenTests()):
        nb, resources = pre.preprocess(nb, resources)
    return nb


def solution_cell_index(nb, function="conv2d"):
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and _meta(cell).get("solution") and \
                f"def {function}(" in cell.source:
            return i
    raise ValueError(f"no solution cell defines {function}()")


def _without_markers(source):
    return "\n".join(line for line in source.split("\n")
                     if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line)


def build_notebook(released, variant, function="conv2d", solved=None):
    """The variant's notebook: a copy of `released` with its code put in. `solved` (the source
    notebook) answers every other exercise correctly, so only the variant's code differs."""
    from nbformat.v4 import new_code_cell
    nb = copy.deepcopy(released)
    index = solution_cell_index(nb, function)
    if solved is not None:
        answers = {_meta(c).get("grade_id"): c.source for c in solved.cells
                   if _meta(c).get("solution")}
        for i, cell in enumerate(nb.cells):
            gid = _meta(cell).get("grade_id")
            if i != index and _meta(cell).get("solution") and gid in answers:
                cell.source = _without_markers(answers[gid])
    params = variant.params
    if variant.code is not None:
        nb.cells[index].source = variant.code
    for offset, extra in enumerate(variant.extra, start=1):
        nb.cells.insert(index + offset, new_code_cell(extra.format(**params) if params
                                                      else extra))
    if variant.edit:
        EDITS[variant.edit](nb)
    return nb


def write_submission(course_dir, student, assignment, variant, notebook=None, params=None):
    """Write submitted/<student>/<assignment>/<notebook>.ipynb for `variant` (a Variant or a
    name in VARIANTS); `params` fills the placeholders of attacks (paths of the canary file,
    the course, the gradebook). Returns the folder."""
    import nbformat
    variant = VARIANTS[variant] if isinstance(variant, str) else variant
    if params:
        variant = Variant(**{**variant.__dict__, "params": {**variant.params, **params}})
    notebook = notebook or assignment
    folder = Path(course_dir) / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{notebook}.ipynb"
    if variant.raw and variant.raw != "extra_file":
        RAW[variant.raw](path, released_notebook(course_dir, assignment, notebook))
        return folder
    source = Path(course_dir) / "source" / assignment / f"{notebook}.ipynb"
    solved = nbformat.read(source, as_version=4) if source.exists() else None
    nb = build_notebook(released_notebook(course_dir, assignment, notebook), variant,
                        solved=solved)
    path.write_text(nbformat.writes(nb))
    if variant.raw == "extra_file":
        (folder / "notes.exe").write_bytes(os.urandom(1000))
    return folder


def _raw_nbformat3(path, nb):
    path.write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {},
                                "worksheets": [{"cells": []}]}))


def _raw_huge(path, nb):
    import nbformat
    from nbformat.v4 import new_markdown_cell
    nb = copy.deepcopy(nb)
    nb.cells.append(new_markdown_cell("x" * (6 * 2**20)))
    path.write_text(nbformat.writes(nb))


def _raw_missing(path, nb):
    import nbformat
    (path.parent / "my_notebook.ipynb").write_text(nbformat.writes(nb))


RAW = {
    "invalid_json": lambda path, nb: path.write_text('{"cells": [ this is not json'),
    "nbformat3": _raw_nbformat3,
    "binary": lambda path, nb: path.write_bytes(bytes(range(256)) * 64),
    "huge": _raw_huge,
    "empty": lambda path, nb: path.write_bytes(b""),
    "missing": _raw_missing,
}


# ----------------------------------------------------------------------------- fixture notebook

FIXTURE_TESTS = {"test_conv2d": 4.0, "test_conv2d_from_scratch": 2.0, "test_output_size": 1.0}
FIXTURE_MANUAL = {"reflection": 2.0}

_FIXTURE_SOLUTION = '''import torch

def conv2d(image, kernel):
    """Valid cross-correlation of image (H, W) with kernel (M, N) -> (H-M+1, W-N+1)."""
    ### BEGIN SOLUTION
    H, W = image.shape
    M, N = kernel.shape
    out = torch.zeros(H - M + 1, W - N + 1, dtype=torch.float32)
    for i in range(H - M + 1):
        for j in range(W - N + 1):
            out[i, j] = torch.sum(image[i:i + M, j:j + N] * kernel)
    return out
    ### END SOLUTION
'''

_FIXTURE_TEST = '''"""Check that conv2d computes a valid cross-correlation."""
import torch
from convlib.checks import check_function, conv2d_mistakes
from convlib.conv import correlate2d

g = torch.Generator().manual_seed(0)
cases = [("the 5x7 image with an asymmetric 3x2 kernel",
          (torch.randn(5, 7, generator=g), torch.randn(3, 2, generator=g)))]
check_function(conv2d, cases, correlate2d, name="conv2d", mistakes=conv2d_mistakes())
print("conv2d passes the visible check")
### BEGIN HIDDEN TESTS
secret_sizes_7f3a = [(12, 10, 3, 3), (6, 9, 2, 4), (4, 4, 4, 4)]
hidden = [(f"hidden image {h}x{w}, {m}x{n} kernel",
           (torch.randn(h, w, generator=g), torch.randn(m, n, generator=g)))
          for h, w, m, n in secret_sizes_7f3a]
check_function(conv2d, hidden, correlate2d, name="conv2d", mistakes=conv2d_mistakes())
### END HIDDEN TESTS
'''

_FIXTURE_SCRATCH = '''"""Check that conv2d is written from scratch (no library convolution)."""
from convlib.checks import check_from_scratch

check_from_scratch(conv2d)
'''

_FIXTURE_ANSWER = '''# Output size of a valid 3x3 convolution of a 28x28 image: (rows, columns).
output_size = None
### BEGIN SOLUTION
output_size = (26, 26)
### END SOLUTION
'''

_FIXTURE_ANSWER_TEST = '''"""Check the output size of a valid 3x3 convolution of a 28x28 image."""
from convlib.checks import check_value

check_value(output_size, (26, 26), case="28x28 image, 3x3 kernel", name="output_size")
### BEGIN HIDDEN TESTS
assert tuple(output_size) == (26, 26)
### END HIDDEN TESTS
'''


def fixture_source_notebook():
    """A small instructor notebook shaped like 02_conv2d (nbgrader source format)."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    def meta(cell, grade_id, grade, solution, points=None, locked=False):
        cell.metadata["nbgrader"] = {"grade": grade, "solution": solution, "locked": locked,
                                     "grade_id": grade_id, "schema_version": 3}
        if points is not None:
            cell.metadata["nbgrader"]["points"] = points
        return cell

    cells = [
        new_markdown_cell("# 2-D convolution, from scratch\n\nWrite `conv2d(image, kernel)`."),
        new_code_cell("%matplotlib inline\nimport numpy as np\nimport torch"),
        meta(new_code_cell(_FIXTURE_SOLUTION), "conv2d", False, True),
        meta(new_code_cell(_FIXTURE_TEST), "test_conv2d", True, False, 4.0, True),
        meta(new_code_cell(_FIXTURE_SCRATCH), "test_conv2d_from_scratch", True, False, 2.0, True),
        meta(new_code_cell(_FIXTURE_ANSWER), "answer_output_size", False, True),
        meta(new_code_cell(_FIXTURE_ANSWER_TEST), "test_output_size", True, False, 1.0, True),
        meta(new_markdown_cell("Why is the output smaller than the input?\n\n"
                               "### BEGIN SOLUTION\nThe kernel must fit.\n### END SOLUTION"),
             "reflection", True, True, 2.0),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def make_fixture_course(course_dir, assignment=ASSIGNMENT):
    """A course folder with source/<assignment>/<assignment>.ipynb from the fixture."""
    import nbformat
    folder = Path(course_dir) / "source" / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(fixture_source_notebook(), folder / f"{assignment}.ipynb")
    return Path(course_dir)
