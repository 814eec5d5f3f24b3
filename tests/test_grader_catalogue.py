"""Grade a whole synthetic class built from tests/fixtures/submissions.py (one student per
variant) on a fixture assignment shaped like 02_conv2d, and check every outcome: honest variants
get full marks, mistakes lose exactly their tests with the mistake named, attacks gain nothing,
malformed files get a clear error while the rest of the class is graded; nothing outside the
sandbox is touched, feedback shows no hidden test, re-runs and interrupted runs end consistent."""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import nbgrader_cli
from autograder.grade import grade_assignment
from autograder.sandbox import Limits
from tests.conftest import require_tool
from tests.fixtures import submissions as S

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
A = S.ASSIGNMENT
LIMITS = Limits(call_timeout=5, notebook_timeout=40, memory_bytes=768 * 2**20)
AUTO_POINTS = sum(S.FIXTURE_TESTS.values())


def hidden_markers(course):
    """The lines of the fixture's hidden tests that its released version does not show (read from
    the course's source notebook, so the check follows the fixture when it changes)."""
    import nbformat

    from autograder.source_notebook import hidden_lines
    source = nbformat.read(course / "source" / A / f"{A}.ipynb", as_version=4)
    released = S.released_notebook(course)
    visible = "\n".join(c.source for c in released.cells)
    markers = {"BEGIN HIDDEN TESTS"}
    for cell in source.cells:
        lines = cell.source.split("\n")
        markers |= {lines[n - 1].strip() for n in hidden_lines(cell.source)
                    if len(lines[n - 1].strip()) > 12 and lines[n - 1].strip() not in visible}
    assert len(markers) >= 3, markers  # the fixture has hidden tests to look for
    return tuple(sorted(markers))


def student_of(name):
    return f"s_{name}"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    require_tool("bwrap", "bubblewrap")
    course = S.make_fixture_course(tmp_path_factory.mktemp("course"))
    outside = tmp_path_factory.mktemp("outside")
    canary = outside / "canary.txt"
    canary.write_text("instructor's file")
    params = {"canary": str(canary), "course": str(course),
              "gradebook": str(course / "gradebook.db")}
    for name in S.VARIANTS:
        S.write_submission(course, student_of(name), A, name, params=params)
    start = time.monotonic()
    results = grade_assignment(course, A, workers=2, limits=LIMITS)
    elapsed = time.monotonic() - start
    time.sleep(4)  # let a detached attacker's delayed write happen, if it could
    by_student = {r["student"]: r for r in results}
    return {"course": course, "results": by_student, "canary": canary, "elapsed": elapsed,
            "hidden": hidden_markers(course)}


def result(graded, name):
    return graded["results"][student_of(name)]


def auto_score(r):
    return sum(c["points"] or 0 for c in r["cells"] if c["status"] != "manual")


@pytest.mark.parametrize("name", S.HONEST + ["extra_file"])
def test_honest_variants_get_full_marks(graded, name):
    r = result(graded, name)
    assert r["status"] == "graded", r
    assert auto_score(r) == AUTO_POINTS, r["cells"]
    assert r["flags"] == []


@pytest.mark.parametrize("name", S.MISTAKES)
def test_mistakes_lose_the_conv2d_points_and_the_feedback_names_the_mistake(graded, name):
    variant = S.VARIANTS[name]
    r = result(graded, name)
    cells = {c["grade_id"]: c for c in r["cells"]}
    assert cells["test_conv2d"]["status"] == "failed"
    assert cells["test_conv2d"]["points"] == 0
    assert cells["test_conv2d"]["mistake"] == variant.mistake, cells["test_conv2d"]
    assert cells["test_conv2d"]["message"]
    assert cells["test_output_size"]["status"] == "passed"  # only the conv2d points are lost
    assert not set(r["flags"]) - set(variant.may_flag)


@pytest.mark.parametrize("name", S.ATTACKS)
def test_attacks_gain_nothing_and_carry_their_flags(graded, name):
    variant = S.VARIANTS[name]
    r = result(graded, name)
    assert r["status"] == "graded"
    if variant.expect == "no_gain":
        assert auto_score(r) <= auto_score(result(graded, variant.baseline)), r["cells"]
    elif variant.expect == "full":
        assert auto_score(r) == AUTO_POINTS
    else:  # "partial": it loses points, and every lost point is explained
        assert variant.expect == "partial", variant.expect
        assert auto_score(r) < AUTO_POINTS
        for cell in r["cells"]:
            if cell["status"] != "manual" and cell["points"] < cell["max_points"]:
                assert cell["status"] in ("failed", "error", "timeout", "forbidden"), cell
                assert cell["message"], cell
    if variant.mistake:
        assert variant.mistake in {c["mistake"] for c in r["cells"]}
    assert set(variant.flags) <= set(r["flags"]), r["flags"]
    # Code that could switch off the record of library calls is itself flagged, and then the
    # from-scratch exercise cannot score: an attack may carry these two flags on top.
    extra = set(r["flags"]) - set(variant.flags) - set(variant.may_flag)
    assert not extra - {"tampered", "forbidden_call"}, r["flags"]


def test_forbidden_calls_are_named_and_the_whole_exercise_scores_zero(graded):
    for name in ("attack_scipy", "attack_scipy_obfuscated", "attack_torch_functional"):
        cells = {c["grade_id"]: c for c in result(graded, name)["cells"]}
        scratch = cells["test_conv2d_from_scratch"]
        assert scratch["status"] == "forbidden" and scratch["points"] == 0
        assert "conv2d " in scratch["message"] and "Scored 0" in scratch["message"]
        # the values are right, and still the conv2d checks pay nothing ...
        conv = cells["test_conv2d"]
        assert conv["status"] == "forbidden" and conv["points"] == 0, conv
        assert "library convolution" in conv["message"]
        # ... while the exercise that does not call conv2d keeps its point
        assert cells["test_output_size"]["status"] == "passed"


def test_the_scipy_attack_names_the_function_it_called(graded):
    message = {c["grade_id"]: c for c in result(graded, "attack_scipy")["cells"]}[
        "test_conv2d_from_scratch"]["message"]
    assert "scipy.signal.correlate2d" in message


@pytest.mark.parametrize("name", S.MALFORMED)
def test_malformed_submissions_get_a_clear_error_and_zero(graded, name):
    r = result(graded, name)
    assert r["status"] == "error"
    assert r["error"] and S.ASSIGNMENT in r["error"]
    assert r["score"] == 0


def test_the_rest_of_the_class_is_graded_despite_malformed_and_hostile_submissions(graded):
    statuses = {n: result(graded, n)["status"] for n in S.VARIANTS}
    assert {n for n, s in statuses.items() if s == "error"} == set(S.MALFORMED)


def test_edited_relabelled_and_deleted_test_cells_are_flagged_and_the_real_tests_run(graded):
    for name in ("attack_edit_test", "attack_relabel_test", "attack_delete_test"):
        r = result(graded, name)
        assert "edited_tests" in r["flags"] and "tampered" not in r["flags"], r["flags"]
        assert r["warnings"]
        statuses = {c["grade_id"]: c["status"] for c in r["cells"]}
        assert statuses["test_conv2d"] == "failed"  # the stub still fails the real test


def test_a_fake_extra_test_cell_earns_no_points(graded):
    r = result(graded, "attack_fake_points")
    assert r["max_score"] == AUTO_POINTS + sum(S.FIXTURE_MANUAL.values())
    assert "bonus" not in {c["grade_id"] for c in r["cells"]}


def test_nothing_outside_the_sandbox_was_touched(graded):
    course = graded["course"]
    assert graded["canary"].read_text() == "instructor's file"
    assert not (course / "gradebook.db.attack").exists()
    db = sqlite3.connect(course / "gradebook.db")
    try:
        manual = db.execute("SELECT COUNT(*) FROM grade WHERE manual_score IS NOT NULL").fetchone()
    finally:
        db.close()
    assert manual == (0,)


def test_a_submission_cannot_read_the_course_sources_into_its_feedback(graded):
    import nbformat
    course = graded["course"]
    nb = nbformat.read(course / "autograded" / student_of("attack_read_course") / A /
                       f"{A}.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.outputs)
    assert f"{course}/gradebook.db False" in printed and f"{course}/source False" in printed
    for marker in graded["hidden"] + ("BEGIN SOLUTION", '"nbgrader"', "grade_id"):
        assert marker not in printed


def test_no_autograded_file_contains_hidden_test_source(graded):
    for path in (graded["course"] / "autograded").rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            for marker in graded["hidden"]:
                assert marker not in text, (path, marker)


def test_results_files_follow_the_contract(graded):
    course = graded["course"]
    for name in S.VARIANTS:
        path = course / "autograded" / student_of(name) / A / f"{A}.results.json"
        data = json.loads(path.read_text())
        assert {"student", "assignment", "notebook", "status", "error", "score", "max_score",
                "duration_s", "flags", "cells"} <= set(data)
        assert data["assignment"] == A and data["notebook"] == A
        for cell in data["cells"]:
            assert cell["status"] in ("passed", "failed", "error", "timeout", "forbidden",
                                      "manual")
            assert {"grade_id", "points", "max_points", "mistake", "case", "message"} <= set(cell)


def test_gradebook_scores_equal_the_results(graded):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{graded['course'] / 'gradebook.db'}") as gb:
        for name in S.VARIANTS:
            r = result(graded, name)
            nb = gb.find_submission_notebook(A, A, student_of(name))
            assert nb.score == pytest.approx(r["score"]), name
            assert nb.max_score == pytest.approx(r["max_score"])


def test_autograded_test_cells_carry_the_diagnostic_message(graded):
    import nbformat
    path = graded["course"] / "autograded" / student_of("kernel_flipped") / A / f"{A}.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get(
        "grade_id") == "test_conv2d")
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert errors and "kernel" in errors[0].evalue and "flip" in errors[0].evalue.lower()


def test_feedback_html_shows_the_message_but_no_hidden_test(graded):
    course = graded["course"]
    env = nbgrader_cli.environment()
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_feedback", A,
                    f"--CourseDirectory.root={course}", "--student", student_of("kernel_flipped"),
                    "--force", "--log-level=ERROR"], cwd=course, env=env, check=True,
                   capture_output=True, timeout=300)
    html = (course / "feedback" / student_of("kernel_flipped") / A / f"{A}.html").read_text()
    assert "kernel-flipped" in html or "kernel_flipped" in html or "flipped" in html
    for marker in graded["hidden"]:
        assert marker not in html


def test_a_rerun_reuses_finished_work_and_gives_the_same_results(graded):
    course = graded["course"]
    names = ["loops_seed", "kernel_flipped", "attack_scipy", "invalid_json"]
    before = {n: result(graded, n) for n in names}
    start = time.monotonic()
    again = grade_assignment(course, A, students=[student_of(n) for n in names], limits=LIMITS)
    assert time.monotonic() - start < 10  # nothing re-run: no sandbox even started
    forced = grade_assignment(course, A, students=[student_of(n) for n in names], limits=LIMITS,
                              force=True)
    for runs in (again, forced):
        for r in runs:
            name = r["student"][2:]
            assert r["score"] == before[name]["score"]
            assert r["cells"] == before[name]["cells"]
            assert r["flags"] == before[name]["flags"]


def test_a_run_killed_halfway_can_be_restarted_and_ends_consistent(tmp_path):
    require_tool("bwrap", "bubblewrap")
    course = S.make_fixture_course(tmp_path / "course")
    names = ["loops_seed", "kernel_flipped", "not_implemented", "fft"]
    for name in names:
        S.write_submission(course, student_of(name), A, name)
    # A first run is killed after the first submissions are written.
    code = ("import sys; from autograder.grade import main; "
            f"sys.exit(main([{A!r}, '--course', {str(course)!r}, '--workers', '1', '--quiet']))")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).parent.parent,
                            start_new_session=True)
    results_dir = course / "autograded"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(results_dir.rglob("*.results.json"))) < 1:
        time.sleep(0.05)
    os.killpg(proc.pid, 9)
    proc.wait()
    done_first = len(list(results_dir.rglob("*.results.json")))
    assert done_first < len(names)
    results = grade_assignment(course, A, limits=LIMITS)
    assert len(results) == len(names)
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for r in results:
            assert gb.find_submission_notebook(A, A, r["student"]).score == r["score"]
    scores = {r["student"][2:]: auto_score(r) for r in results}
    assert scores["loops_seed"] == scores["fft"] == AUTO_POINTS
    assert scores["kernel_flipped"] < AUTO_POINTS and scores["not_implemented"] < AUTO_POINTS
    shutil.rmtree(course)


def test_a_function_that_never_returns_costs_only_its_own_checks(graded):
    """conv2d loops forever: its first check times out and the student's process is replaced
    (its cells run again); conv2d is not called again, and the answer that does not use it is
    still graded."""
    cells = {c["grade_id"]: c for c in result(graded, "attack_infinite_loop")["cells"]}
    assert cells["test_conv2d"]["status"] == "timeout", cells["test_conv2d"]
    scratch = cells["test_conv2d_from_scratch"]
    assert scratch["status"] == "timeout" and "not called again" in scratch["message"], scratch
    assert cells["test_output_size"]["status"] == "passed", cells["test_output_size"]


def test_a_syntax_error_is_named_where_its_function_is_missing(graded):
    """The def line lacks its colon: the checks cannot find conv2d, and say which cell failed
    and how, not only that the name is not defined."""
    cells = {c["grade_id"]: c for c in result(graded, "syntax_error")["cells"]}
    message = cells["test_conv2d"]["message"]
    assert "not defined" in message and "SyntaxError" in message, message
    assert "starts `import torch`" in message and "(line 3 of that cell)" in message, message
    assert "ipython-input" not in message and "fix that cell first" in message, message
