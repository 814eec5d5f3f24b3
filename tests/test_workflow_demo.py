"""The demo class runs the instructor's whole week end to end on the real 02_conv2d notebook:
init → release → collect (LMS zip) → grade (sandboxed) → feedback → export → report."""

import csv
import importlib.util
import json

import nbformat
import pytest

from autograder.__main__ import main
from autograder.demo_class import BY_NAME, CLASS, demo_students

pytestmark = pytest.mark.slow  # grades in sandboxes


@pytest.fixture
def demo_run(demo_class):
    return demo_class  # one demo run, shared with tests/test_browser_formgrader.py


def _results(course):
    return {p.parent.parent.name: json.loads(p.read_text())
            for p in course.glob("autograded/*/02_conv2d/*.results.json")}


def test_a_small_demo_class_still_has_honest_mistaken_and_broken_submissions():
    for count in (4, 8):
        students = demo_students(count)
        assert len(students) == count
        assert {s.expect for s in students} == {"full", "partial", "error"}
    assert demo_students() == CLASS


def test_the_demo_class_is_benign_and_the_attack_catalogue_is_not_installed():
    code = "\n".join(s.conv2d or "" for s in CLASS) + "\n".join(s.raw or "" for s in CLASS)
    for word in ("import os", "os.", "fork", "_exit", "sys.exit", "kill", "signal.signal",
                 "gradebook", "sqlite", "open(", "subprocess", "builtins", "get_ipython",
                 "__import__", "while True"):
        assert word not in code, word
    assert importlib.util.find_spec("autograder.submissions") is None


def test_demo_runs_every_step_and_writes_every_output(demo_run):
    root, status = demo_run
    course = root / "course"
    assert status == 0
    assert (root / "lms-download.zip").is_file()
    assert (course / "release" / "02_conv2d" / "02_conv2d.ipynb").is_file()
    assert (course / "reports" / "report.html").is_file()
    assert (course / "exports" / "grades.csv").is_file()
    assert len(list(course.glob("feedback/*/02_conv2d/*.html"))) == 8


def test_demo_grades_are_right_for_each_kind_of_submission(demo_run):
    root, _ = demo_run
    results = _results(root / "course")
    auto_max = None
    assert len(results) == 8
    for student, result in results.items():
        variant = BY_NAME[student.split("-", 1)[1].replace("-", "_")]
        if variant.expect == "error":
            assert result["status"] == "error" and result["error"]
            continue
        auto = [c for c in result["cells"] if c["status"] != "manual"]
        got, most = sum(c["points"] for c in auto), sum(c["max_points"] for c in auto)
        auto_max = auto_max or most
        if variant.expect == "full":
            assert got == most, (student, result["cells"])
        else:
            assert got < most, (student, result["cells"])
            assert variant.mistake in {c["mistake"] for c in auto}, (student, result["cells"])
        manual = [c for c in result["cells"] if c["status"] == "manual"]
        assert manual and all(c["points"] is None for c in manual)  # waiting for the instructor
    assert auto_max


def test_demo_per_test_csv_names_the_diagnosed_mistakes(demo_run):
    root, _ = demo_run
    with open(root / "course" / "exports" / "tests.csv") as f:
        rows = list(csv.DictReader(f))
    flipped = [r for r in rows if "kernel-flipped" in r["student"]]
    assert any("kernel_flipped" in r.values() for r in flipped)


def test_demo_feedback_shows_no_hidden_test_or_solution_code(demo_run):
    root, _ = demo_run
    course = root / "course"
    source = nbformat.read(course / "source" / "02_conv2d" / "02_conv2d.ipynb", as_version=4)
    secret = []
    for cell in source.cells:
        text = cell.source
        if "### BEGIN HIDDEN TESTS" in text:
            hidden = text.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
            secret += [line.strip() for line in hidden.splitlines() if len(line.strip()) > 12]
    assert secret, "the source notebook should have hidden tests"
    for page in course.glob("feedback/*/02_conv2d/*.html"):
        html = page.read_text()
        assert "BEGIN HIDDEN TESTS" not in html and "BEGIN SOLUTION" not in html
        leaked = [line for line in secret if line in html]
        assert not leaked, (page, leaked[:3])


def test_demo_grades_go_into_canvas_and_moodle_files_through_a_roster(demo_run, tmp_path,
                                                                     capsys):
    """The real gradebook of the demo class, exported for Canvas and Moodle: every student on
    the roster gets the score nbgrader's own export holds; one graded student left off the
    roster is listed, never dropped silently."""
    root, _ = demo_run
    course = root / "course"
    with (course / "exports" / "grades.csv").open(newline="") as fh:
        nbgrader_scores = {r["student_id"]: r["score"] for r in csv.DictReader(fh)}
    students = sorted(nbgrader_scores)
    on_roster, left_off = students[:-1], students[-1]
    canvas = tmp_path / "canvas-roster.csv"
    with canvas.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section"])
        for number, student in enumerate(on_roster):
            writer.writerow([f"Student, {student}", 1000 + number, "", student, "A"])
    moodle = tmp_path / "moodle-roster.csv"
    with moodle.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["First name", "Last name", "ID number", "Email address"])
        for student in on_roster:
            writer.writerow(["A", student, "", f"{student}@uni.example"])
    for lms, roster, key in (("canvas", canvas, "SIS Login ID"),
                             ("moodle", moodle, "Email address")):
        out = tmp_path / lms
        capsys.readouterr()
        assert main(["export", "--course", str(course), "--format", lms, "--roster",
                     str(roster), "--to", str(out)]) == 0
        assert f"NOT exported, on no roster row (1): {left_off}" in capsys.readouterr().out
        with (out / f"{lms}-grades.csv").open(newline="") as fh:
            rows = [r for r in csv.DictReader(fh) if r[key].strip() != "Points Possible"
                    and r[key]]
        got = {r[key].split("@")[0]: float(r["02_conv2d"]) for r in rows}
        assert got == {s: float(nbgrader_scores[s]) for s in on_roster}
        assert left_off not in got
