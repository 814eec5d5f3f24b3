"""The grader in the field: ways around the from-scratch rule that spell the call differently
or hide it, students who try to hurt the next student on the same worker, hidden inputs that
try to get out through messages, and results that are too large.

One class is graded once (module fixture, one worker, students in name order so that each
attacker is graded right before an honest student). Every bypass must score 0 on every check
of conv2d, and carry `forbidden_call`; every honest style in the same class keeps full marks.
"""

import json
import re

import pytest
import torch

from autograder.grade import grade_assignment
from autograder.sandbox import Limits
from tests.conftest import require_tool
from tests.fixtures import submissions as S

A = S.ASSIGNMENT
LIMITS = Limits(call_timeout=10, notebook_timeout=60, memory_bytes=768 * 2**20)
CONV_CELLS = ("test_conv2d", "test_conv2d_from_scratch")

F_IMPORT = "import torch\nimport torch.nn.functional as F\n\n"
LIBRARY = "F.conv2d(image[None, None], kernel[None, None])[0, 0]"

# name -> (code of the conv2d cell, extra cells after it). Each computes the right answer with
# a library convolution, spelled or hidden so that a name-based check would miss it.
BYPASSES = {
    "aten_operator": ("import torch\n\ndef conv2d(image, kernel):\n"
                      "    return torch.ops.aten.conv2d(image[None, None], kernel[None, None])"
                      "[0, 0]\n", ()),
    "variable_functions": ("import torch\n\ndef conv2d(image, kernel):\n    return torch._C."
                           "_VariableFunctions.conv2d(image[None, None], kernel[None, None])"
                           "[0, 0]\n", ()),
    "parameter_named_F": (F_IMPORT + "def conv2d(image, kernel):\n    def unused(F):\n"
                          "        return F\n    return " + LIBRARY + "\n", ()),
    "import_from_main": (F_IMPORT + "def mine(image, kernel):\n    return " + LIBRARY + "\n",
                         ("from __main__ import mine as conv2d",)),
    "thread": (F_IMPORT + "import threading\n\ndef conv2d(image, kernel):\n    out = []\n"
               "    t = threading.Thread(target=lambda: out.append(" + LIBRARY + "))\n"
               "    t.start()\n    t.join()\n    return out[0]\n", ()),
    "deep_recursion": (F_IMPORT + "def deep(n, image, kernel):\n"
                       "    return deep(n - 1, image, kernel) if n else " + LIBRARY + "\n\n"
                       "def conv2d(image, kernel):\n    return deep(80, image, kernel)\n", ()),
    "many_calls_first": (F_IMPORT + "for _ in range(2000):\n"
                         "    F.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2))\n\n"
                         "def conv2d(image, kernel):\n    return " + LIBRARY + "\n", ()),
    "transposed_flipped": (F_IMPORT + "def conv2d(image, kernel):\n    H, W = image.shape\n"
                           "    M, N = kernel.shape\n    full = F.conv_transpose2d(image[None, "
                           "None], kernel.flip(0, 1)[None, None])[0, 0]\n"
                           "    return full[M - 1:H, N - 1:W]\n", ()),
    "gradient_of_a_convolution": ("import torch\n\ndef conv2d(image, kernel):\n"
                                  "    H, W = image.shape\n    M, N = kernel.shape\n"
                                  "    return torch.nn.grad.conv2d_weight(image[None, None], "
                                  "(1, 1, H - M + 1, W - N + 1), kernel[None, None])[0, 0]\n",
                                  ()),
    "module_class": ("import torch\nfrom torch.nn.modules import conv as layers\n\n"
                     "def conv2d(image, kernel):\n    layer = layers.Conv2d(1, 1, kernel.shape, "
                     "bias=False)\n    layer.weight.data[:] = kernel\n"
                     "    with torch.no_grad():\n        return layer(image[None, None])[0, 0]\n",
                     ()),
    "unwrapped_hook": ("import numpy as np\nimport torch\nimport scipy.signal\n\n"
                       "def conv2d(image, kernel):\n    fn = scipy.signal.correlate2d."
                       "__wrapped__\n    return torch.from_numpy(fn(image.numpy(), "
                       "kernel.numpy(), 'valid'))\n", ()),
    "another_program": ("import subprocess, sys, json, torch\n\ndef conv2d(image, kernel):\n"
                        "    code = ('import json, sys, scipy.signal; a, k = json.load(sys.stdin);"
                        " print(json.dumps(scipy.signal.correlate2d(a, k, \"valid\").tolist()))')"
                        "\n    out = subprocess.run([sys.executable, '-c', code], input=json."
                        "dumps([image.tolist(), kernel.tolist()]), capture_output=True, "
                        "text=True, check=True).stdout\n"
                        "    return torch.tensor(json.loads(out))\n", ()),
    # invisible to the static scan (a module passed in as a default): the run-time record
    "default_argument": (F_IMPORT + "def conv2d(image, kernel, lib=F):\n"
                         "    return lib.conv2d(image[None, None], kernel[None, None])[0, 0]\n",
                         ()),
    "record_closed": (F_IMPORT + "import os\nfor fd in range(3, 256):\n    try:\n"
                      "        if os.readlink(f'/proc/self/fd/{fd}').startswith('pipe:'):\n"
                      "            os.close(fd)\n    except OSError:\n        pass\n\n"
                      "def conv2d(image, kernel):\n    return " + LIBRARY + "\n", ()),
}

# Honest styles that use building blocks the README allows (window helpers, matmul, FFT).
HONEST = {
    "unfold_matmul": (F_IMPORT + "def conv2d(image, kernel):\n    M, N = kernel.shape\n"
                      "    H, W = image.shape\n    cols = F.unfold(image[None, None], (M, N))[0]"
                      "\n    return (kernel.reshape(1, -1) @ cols).reshape(H - M + 1, W - N + 1)"
                      "\n", ()),
    "convlib_im2col": ("import torch\nimport convlib\n\ndef conv2d(image, kernel):\n"
                       "    M, N = kernel.shape\n    H, W = image.shape\n"
                       "    cols = convlib.im2col(image[None, None], (M, N))[0]\n"
                       "    return (kernel.reshape(1, -1) @ cols).reshape(H - M + 1, W - N + 1)"
                       "\n", ()),
    "loops_with_magics": (S.LOOPS_SEED, ("%matplotlib inline\n%timeit -n 1 -r 1 "
                                         "conv2d(torch.ones(5, 5), torch.ones(3, 3))",)),
}

# The student before `honest_after_<x>` on the same worker tries to hurt them.
SABOTAGE = {
    "fill_and_lock_tmp": '''import os
os.makedirs("/tmp/locked/deep", exist_ok=True)
open("/tmp/locked/deep/left-behind.txt", "w").write("for the next student")
open("/tmp/.hidden-note", "w").write("for the next student")
open("/dev/shm/note", "w").write("for the next student")
os.makedirs("/dev/shm/fill", exist_ok=True)
for folder in ("/tmp/locked", "/dev/shm/fill"):
    try:
        for i in range(100000):
            with open(f"{folder}/{i}", "wb") as f:
                f.write(b"x" * (32 * 2**20))
    except OSError:
        pass
os.chmod("/tmp/locked/deep", 0)
os.chmod("/tmp/locked", 0o500)
os.chmod("/dev/shm/fill", 0o500)
''',
    "stop_the_server": '''import os, signal
for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGSTOP):
    os.kill(os.getppid(), number)
''',
}

# An honest student graded right after each sabotage: every call of conv2d saves its result
# (as the np.save notebook did) and refuses to work if anything was left for it.
HONEST_AFTER = '''import os
import numpy as np
import torch

def conv2d(image, kernel):
    left = sorted(set(os.listdir("/tmp")) - {os.path.basename(os.getcwd())})
    left += sorted(os.listdir("/dev/shm"))
    if left:
        raise RuntimeError(f"left behind: {left}")
    H, W = image.shape
    M, N = kernel.shape
    out = torch.zeros(H - M + 1, W - N + 1)
    for i in range(H - M + 1):
        for j in range(W - N + 1):
            out[i, j] = torch.sum(image[i:i + M, j:j + N] * kernel)
    np.save("out.npy", out.numpy())
    np.save("/tmp/out.npy", out.numpy())
    os.remove("/tmp/out.npy")
    return out
'''

LEAK = '''import torch

def conv2d(image, kernel):
    if image.shape != (5, 7):
        raise ValueError("HIDDEN " + repr(image.tolist()) + repr(kernel.tolist()))
    out = torch.zeros(image.shape[0] - kernel.shape[0] + 1, image.shape[1] - kernel.shape[1] + 1)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = torch.sum(image[i:i + kernel.shape[0], j:j + kernel.shape[1]] * kernel)
    return out
'''
STASH = LEAK.replace("    if image.shape != (5, 7):\n        raise ValueError(\"HIDDEN \" + repr("
                     "image.tolist()) + repr(kernel.tolist()))\n",
                     "    SEEN.append(image.tolist())\n").replace("import torch\n",
                                                              "import torch\nSEEN = []\n")
HUGE = '''import torch

def conv2d(image, kernel):
    return torch.zeros(9000, 9000)
'''


def variant(name, code, extra=()):
    return S.Variant(name, name, code, extra=tuple(extra))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    require_tool("bwrap", "bubblewrap")
    course = S.make_fixture_course(tmp_path_factory.mktemp("course"))
    for name, (code, extra) in {**BYPASSES, **HONEST}.items():
        S.write_submission(course, name, A, variant(name, code, extra))
    for i, (name, code) in enumerate(SABOTAGE.items()):
        S.write_submission(course, f"s{i}a_{name}", A, variant(name, S.STUB, [code]))
        S.write_submission(course, f"s{i}b_honest_after", A, variant("after", HONEST_AFTER))
    S.write_submission(course, "leak_in_exception", A, variant("leak", LEAK))
    S.write_submission(course, "huge_result", A, variant("huge", HUGE))
    stash = S.write_submission(course, "stash_and_leak", A, variant("stash", STASH))
    _answer_with(stash / f"{A}.ipynb", "output_size = repr(SEEN)")
    results = grade_assignment(course, A, workers=1, limits=LIMITS)
    return course, {r["student"]: r for r in results}


def _answer_with(path, code):
    import nbformat
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "answer_output_size":
            cell.source = code
    nbformat.write(nb, path)


def cells(result):
    return {c["grade_id"]: c for c in result["cells"]}


@pytest.mark.parametrize("name", sorted(BYPASSES))
def test_a_library_convolution_however_reached_scores_zero_on_every_check(graded, name):
    _, results = graded
    r = results[name]
    assert r["status"] == "graded", r
    if name == "record_closed":  # nothing may run unrecorded: the process is stopped
        assert {"tampered", "crashed"} <= set(r["flags"]), r["flags"]
        assert all(cells(r)[gid]["points"] == 0 for gid in CONV_CELLS), r["cells"]
        return
    assert "forbidden_call" in r["flags"], r["flags"]
    for gid in CONV_CELLS:
        cell = cells(r)[gid]
        assert cell["points"] == 0 and cell["status"] == "forbidden", (gid, cell)
    assert "library" in cells(r)["test_conv2d"]["message"]
    assert cells(r)["test_output_size"]["status"] == "passed"  # not part of the exercise


@pytest.mark.parametrize("name", sorted(HONEST) + ["s0b_honest_after", "s1b_honest_after"])
def test_honest_building_blocks_keep_full_marks(graded, name):
    _, results = graded
    r = results[name]
    assert r["flags"] == [], r
    assert all(c["status"] == "passed" for c in r["cells"] if c["status"] != "manual"), r


def test_a_student_cannot_leave_anything_for_the_next_one(graded):
    """The honest student right after each saboteur finds /tmp and /dev/shm empty and can write
    (their notebook's own assert checks it), and is graded in ordinary time."""
    _, results = graded
    for i in range(len(SABOTAGE)):
        after = results[f"s{i}b_honest_after"]
        assert after["score"] == sum(S.FIXTURE_TESTS.values()), after
        assert after["duration_s"] < 15, after
    # a stopped fork server is continued from outside at once, not waited for
    assert results["s1a_stop_the_server"]["duration_s"] < 10, results["s1a_stop_the_server"]


def hidden_numbers():
    """The fixture's hidden inputs, rebuilt as its test cell builds them (fixed seed)."""
    g = torch.Generator().manual_seed(0)
    torch.randn(5, 7, generator=g), torch.randn(3, 2, generator=g)
    values = []
    for h, w, m, n in [(12, 10, 3, 3), (6, 9, 2, 4), (4, 4, 4, 4)]:
        values += torch.randn(h, w, generator=g).flatten().tolist()[:6]
        values += torch.randn(m, n, generator=g).flatten().tolist()[:3]
    return values


def test_hidden_inputs_never_reach_the_results_or_the_feedback(graded):
    course, results = graded
    numbers = [repr(v)[:8] for v in hidden_numbers()]
    for student in ("leak_in_exception", "stash_and_leak"):
        text = (course / "autograded" / student / A / f"{A}.results.json").read_text()
        leaked = [n for n in numbers if n in text]
        assert not leaked, (student, leaked)
    leak = cells(results["leak_in_exception"])["test_conv2d"]
    assert leak["status"] == "failed" and "hidden image" in leak["message"], leak
    assert "not shown" in leak["message"]
    assert "SEEN.append" in STASH and "raise" not in STASH
    assert cells(results["stash_and_leak"])["test_conv2d"]["status"] == "passed"
    stash = cells(results["stash_and_leak"])["test_output_size"]
    assert stash["status"] == "failed" and "not shown" in stash["message"], stash


def test_student_text_in_messages_is_bounded(graded):
    _, results = graded
    for r in results.values():
        for c in r["cells"]:
            assert len(c["message"] or "") <= 2000


def test_a_result_too_large_fails_that_check_only_and_says_why(graded):
    _, results = graded
    r = results["huge_result"]
    conv = cells(r)["test_conv2d"]
    assert conv["status"] == "failed" and "MB" in conv["message"], conv
    assert "os._exit" not in json.dumps(r["cells"])
    assert cells(r)["test_output_size"]["status"] == "passed"
    assert "crashed" not in r["flags"]


def test_the_feedback_of_a_bypass_says_why_it_scored_zero(graded):
    course, results = graded
    message = cells(results["thread"])["test_conv2d"]["message"]
    assert re.search(r"Scored 0: conv2d .*torch", message), message
