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
from tests.fixtures.submissions import BYPASSES, HUGE, LEAK, SABOTAGE, STASH
from tests.fixtures.submissions import HONEST_BUILDING_BLOCKS as HONEST

pytestmark = pytest.mark.slow  # grades in sandboxes or runs nbgrader
A = S.ASSIGNMENT
LIMITS = Limits(call_timeout=10, notebook_timeout=60, memory_bytes=768 * 2**20)
CONV_CELLS = ("test_conv2d", "test_conv2d_from_scratch")


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
        S.write_submission(course, f"s{i}b_honest_after", A, variant("after", S.HONEST_AFTER))
    S.write_submission(course, "tamper_then_hang", A, variant("hang", TAMPER_THEN_HANG))
    S.write_submission(course, "leak_in_exception", A, variant("leak", LEAK))
    S.write_submission(course, "huge_result", A, variant("huge", HUGE))
    stash = S.write_submission(course, "stash_and_leak", A, variant("stash", STASH))
    _answer_with(stash / f"{A}.ipynb", "output_size = repr(SEEN)\nprint(SEEN)")
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


@pytest.mark.parametrize("name", sorted(HONEST) + [f"s{i}b_honest_after"
                                                   for i in range(len(SABOTAGE))])
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
    stopper = next(r for student, r in results.items() if student.endswith("a_stop_the_server"))
    assert stopper["duration_s"] < 10, stopper


# conv2d reaches ctypes on its first call and then never returns: the audit event was seen in
# the process the grader replaces after the timeout, and must outlive it
TAMPER_THEN_HANG = ("import os\nimport numpy as np\n\ndef conv2d(image, kernel):\n"
                    "    np.ctypeslib.load_library('libc.so.6', "
                    "f'/usr/lib/{os.uname().machine}-linux-gnu').getpid()\n"
                    "    while True:\n        pass\n")


def test_what_a_replaced_process_did_still_counts(graded):
    _, results = graded
    r = results["tamper_then_hang"]
    assert {"tampered", "timeout"} <= set(r["flags"]), r["flags"]
    assert cells(r)["test_output_size"]["status"] == "passed", r["cells"]  # graded after it


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
        for name in (f"{A}.results.json", f"{A}.ipynb"):  # the graded notebook: nbgrader's
            text = (course / "autograded" / student / A / name).read_text()  # feedback shows it
            leaked = [n for n in numbers if n in text]
            assert not leaked, (student, name, leaked)
    graded_nb = (course / "autograded" / "stash_and_leak" / A / f"{A}.ipynb").read_text()
    assert "Output not kept" in graded_nb
    leak = cells(results["leak_in_exception"])["test_conv2d"]
    assert leak["status"] == "failed" and "hidden image" in leak["message"], leak
    assert "not shown" in leak["message"]
    # the instructor still learns where: the student's ValueError, caught by the test cell's check
    assert "<test cell test_conv2d>" in leak["trace"] and "from ValueError" in leak["trace"], leak
    assert "HIDDEN" not in leak["trace"] and "HIDDEN" in LEAK
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

