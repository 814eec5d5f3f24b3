"""What leaves the course folder agrees with the gradebook: the LMS files carry no score where
nothing was graded (never a 0 that would overwrite a real grade), hand grades given in the
formgrader reach the feedback, the report and tests.csv, the grader's warnings reach the
instructor and the student, and every command that fails says why and writes nothing (an
unknown --student, a student id with a space, a notebook of another assignment in the zip, a
closed pipe included).

Scores are recorded with the grader's own save_to_gradebook (tests/test_workflow.py,
record_graded); the expected values below are worked out by hand from the toy assignment:
test_add is worth 2 points, the written answer `reflection` 1, so a notebook is out of 3."""

import csv
import shutil
import subprocess
import sys

import pytest

from autograder.course import init
from autograder.gradebook import open_gradebook
from tests.test_workflow import (
    assert_clean_failure,
    cli,
    make_zip,
    record_graded,
    snapshot,
    student_notebook,
    write_toy_solutions,
)

pytestmark = pytest.mark.slow  # runs nbgrader

EDITED = "test cell 'test_add' was edited; the original test was run"


@pytest.fixture(scope="module")
def released_two(tmp_path_factory):
    """A course with two released assignments, toy and toy2 (the same notebook renamed)."""
    base = tmp_path_factory.mktemp("grades")
    solutions = write_toy_solutions(base / "solutions")
    (solutions / "toy2").mkdir()
    shutil.copy(solutions / "toy" / "toy.ipynb", solutions / "toy2" / "toy2.ipynb")
    course = init(base / "course", solutions=solutions)
    proc = cli("release", "toy", "toy2", "--course", course.root)
    assert proc.returncode == 0, proc.stderr
    return course.root


@pytest.fixture
def course(released_two, tmp_path):
    root = tmp_path / "course"
    shutil.copytree(released_two, root)
    return root


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def write_csv(path, rows):
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def canvas_roster(path, students):
    return write_csv(path, [["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]]
                     + [[f"Doe, {s}", str(100 + i), "", s, "A"] for i, s in enumerate(students)])


def moodle_roster(path, students):
    return write_csv(path, [["First name", "Last name", "ID number", "Email address"]]
                     + [["A", s, "", f"{s}@uni.example"] for s in students])


def formgrader(course, student, cell, score=None, extra_credit=None, comment=None):
    """Grade one cell by hand as the formgrader's API handlers do (nbgrader's
    server_extensions/formgrader/apihandlers.py: GradeHandler.put, CommentHandler.put)."""
    with open_gradebook(f"sqlite:///{course / 'gradebook.db'}", "conv-from-scratch") as gb:
        if score is not None:
            grade = gb.find_grade(cell, "toy", "toy", student)
            grade.manual_score, grade.extra_credit = score, extra_credit
            grade.needs_manual_grade = grade.manual_score is None and grade.auto_score is None
        if comment is not None:
            gb.find_comment(cell, "toy", "toy", student).manual_comment = comment
        gb.db.commit()


# ------------------------------------------------------------------ defect: zeros into the LMS

def test_lms_files_leave_ungraded_work_blank_and_keep_a_graded_zero(course, tmp_path):
    """toy: s01 passes (2 points, the written answer waiting: 2 of 3), s02 fails and left the
    written answer as released (0 of 3, a real 0). toy2: released, nobody graded. s03 is on the
    roster only."""
    record_graded(course, "s01", passed=True)
    record_graded(course, "s02", passed=False, reflection=None)
    roster = canvas_roster(tmp_path / "canvas.csv", ["s01", "s02", "s03"])
    proc = cli("export", "--course", course, "--format", "canvas", "--roster", roster,
               "--to", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(tmp_path / "out" / "canvas-grades.csv")
    assert rows[0][5:] == ["toy"]  # no toy2 column: Canvas would create it, full of zeros
    assert rows[1][5:] == ["3"]  # Points Possible
    assert {r[3]: r[5] for r in rows[2:]} == {"s01": "2", "s02": "0", "s03": ""}
    assert "s01 (toy)" in proc.stdout  # its written answer still counts 0: said, not hidden

    grades = {(r["assignment"], r["student_id"]): r["score"]
              for r in csv.DictReader(open(tmp_path / "out" / "grades.csv"))}
    assert grades == {("toy", "s01"): "2.0", ("toy", "s02"): "0.0",
                      ("toy2", "s01"): "", ("toy2", "s02"): ""}

    roster = moodle_roster(tmp_path / "moodle.csv", ["s01", "s02", "s03"])
    proc = cli("export", "--course", course, "--format", "moodle", "--roster", roster,
               "--to", tmp_path / "moodle")
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(tmp_path / "moodle" / "moodle-grades.csv")
    assert rows[0][4:] == ["toy"]
    assert {r[3]: r[4] for r in rows[1:]} == {"s01@uni.example": "2", "s02@uni.example": "0",
                                              "s03@uni.example": ""}


def test_export_of_chosen_assignments(course, tmp_path):
    record_graded(course, "s01", passed=True)
    record_graded(course, "s01", passed=False, assignment="toy2")
    proc = cli("export", "--course", course, "--assignment", "toy2", "--to", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    grades = [(r["assignment"], r["student_id"], r["score"])
              for r in csv.DictReader(open(tmp_path / "out" / "grades.csv"))]
    assert grades == [("toy2", "s01", "0.0")]
    tests = {(r["assignment"], r["test"]) for r in csv.DictReader(
        open(tmp_path / "out" / "tests.csv"))}
    assert tests == {("toy2", "test_add"), ("toy2", "reflection")}
    proc = cli("export", "--course", course, "--assignment", "toy3", "--to", tmp_path / "no")
    assert_clean_failure(proc, "no assignment toy3 in the gradebook", "toy, toy2")
    assert not (tmp_path / "no").exists()


def test_export_of_an_assignment_nobody_was_graded_on_is_refused(course, tmp_path):
    record_graded(course, "s01", passed=True)
    proc = cli("export", "--course", course, "--assignment", "toy2", "--to", tmp_path / "out")
    assert_clean_failure(proc, "no graded submission of toy2")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ defect: hand grades

def test_hand_grades_reach_feedback_report_and_tests_csv(course, tmp_path):
    record_graded(course, "s01", passed=True)
    record_graded(course, "s02", passed=False)
    assert cli("feedback", "toy", "--course", course).returncode == 0
    page = (course / "feedback/s01/toy/toy.html").read_text()
    assert "Score: 2 / 3</b> (1 more to be graded by hand)" in page
    assert "– / 1</td><td>to be graded by hand" in page

    formgrader(course, "s01", "reflection", score=1, comment="Right: the order does not matter.")
    formgrader(course, "s02", "test_add", score=1.5)  # partial credit over the failed test
    formgrader(course, "s02", "reflection", score=0.5, extra_credit=0.25)
    assert cli("feedback", "toy", "--course", course).returncode == 0
    page = (course / "feedback/s01/toy/toy.html").read_text()
    assert "Score: 3 / 3</b></p>" in page  # 2 + 1, nothing more to come
    assert "1 / 1</td><td>graded by hand" in page
    assert "Right: the order does not matter." in page
    page = (course / "feedback/s02/toy/toy.html").read_text()
    assert "Score: 2.25 / 3" in page  # 1.5 + 0.5 + 0.25 extra credit
    assert "1.5 / 2</td><td>failed; points set by hand" in page
    assert "0.75 / 1</td><td>graded by hand" in page

    assert cli("report", "--course", course, "--to", tmp_path / "report").returncode == 0
    scores = {r["student"]: r for r in csv.DictReader(open(tmp_path / "report" / "scores.csv"))}
    assert (scores["s01"]["score"], scores["s01"]["percent"],
            scores["s01"]["to_grade_by_hand"]) == ("3.0", "100.0", "0.0")
    assert (scores["s02"]["score"], scores["s02"]["percent"]) == ("2.25", "75.0")

    assert cli("export", "--course", course, "--to", tmp_path / "out").returncode == 0
    tests = {(r["student"], r["test"]): (r["points"], r["by_hand"])
             for r in csv.DictReader(open(tmp_path / "out" / "tests.csv"))}
    assert tests == {("s01", "test_add"): ("2.0", ""), ("s01", "reflection"): ("1.0", "yes"),
                     ("s02", "test_add"): ("1.5", "yes"), ("s02", "reflection"): ("0.75", "yes")}
    grades = {(r["assignment"], r["student_id"]): r["score"]
              for r in csv.DictReader(open(tmp_path / "out" / "grades.csv"))}
    assert grades[("toy", "s01")] == "3.0" and grades[("toy", "s02")] == "2.25"


# ------------------------------------------------------------------ defect: warnings

def test_the_reason_for_a_flag_reaches_the_student_and_the_instructor(course, tmp_path):
    record_graded(course, "s01", passed=True, flags=["edited_tests"], warnings=[EDITED])
    record_graded(course, "s02", passed=True)
    assert cli("feedback", "toy", "--course", course).returncode == 0
    page = (course / "feedback/s01/toy/toy.html").read_text()
    assert "About your notebook" in page
    assert "test cell &#x27;test_add&#x27; was edited; the original test was run" in page
    assert "About your notebook" not in (course / "feedback/s02/toy/toy.html").read_text()
    assert cli("export", "--course", course, "--to", tmp_path / "out").returncode == 0
    warned = {r["student"]: r["warnings"]
              for r in csv.DictReader(open(tmp_path / "out" / "tests.csv"))}
    assert warned == {"s01": EDITED, "s02": ""}
    assert cli("report", "--course", course, "--to", tmp_path / "report").returncode == 0
    flagged = list(csv.DictReader(open(tmp_path / "report" / "flagged.csv")))
    assert [(r["student"], r["flags"], r["warnings"]) for r in flagged] == [
        ("s01", "edited_tests", EDITED)]


# ------------------------------------------------------------------ defects: failing commands

def test_grade_of_an_unknown_student_names_it_and_who_submitted(course):
    record_graded(course, "s01", passed=True)
    record_graded(course, "s02", passed=True)
    before = snapshot(course)
    proc = cli("grade", "toy", "--course", course, "--student", "s01", "--student",
               "nobodyhere")
    assert_clean_failure(proc, "no submission of toy from nobodyhere",
                         "the students who submitted it: s01, s02")
    assert "graded 0" not in proc.stdout
    assert snapshot(course) == before


def test_feedback_release_without_an_exchange_says_so_and_writes_nothing(course):
    record_graded(course, "s01", passed=True)
    before = snapshot(course)
    proc = cli("feedback", "toy", "--course", course, "--release")
    assert_clean_failure(proc, "no JupyterHub exchange is configured", "without --release")
    assert "Unwritable" not in proc.stderr
    assert snapshot(course) == before


def test_feedback_release_of_submissions_from_a_zip_says_so_and_writes_nothing(course,
                                                                             tmp_path):
    record_graded(course, "s01", passed=True)
    with open(course / "nbgrader_config.py", "a") as fh:
        fh.write(f"c.Exchange.root = {str(tmp_path / 'exchange')!r}\n")
    before = snapshot(course)
    proc = cli("feedback", "toy", "--course", course, "--release")
    assert_clean_failure(proc, "did not come from the exchange", "s01")
    assert snapshot(course) == before


def test_export_that_fails_writes_nothing(course, tmp_path):
    record_graded(course, "s01", passed=True)
    canvas = canvas_roster(tmp_path / "roster-canvas.csv", ["s01"])
    out = tmp_path / "out"
    for args, words in [
            (["--format", "moodle", "--roster", canvas], ["not a Moodle roster"]),
            (["--format", "canvas", "--roster", canvas, "--match", "Login"],
             ["no column 'Login'"]),
            (["--format", "canvas", "--roster", tmp_path / "missing.csv"], ["no roster file"]),
            (["--roster", canvas], ["--format canvas"]),
            (["--format", "canvas"], ["needs --roster"])]:
        proc = cli("export", "--course", course, *args, "--to", out)
        assert_clean_failure(proc, *words)
        assert not out.exists(), args
    before = snapshot(course)
    proc = cli("export", "--course", course, "--format", "moodle", "--roster", canvas)
    assert_clean_failure(proc, "not a Moodle roster")
    assert snapshot(course) == before  # nothing in COURSE/exports either


# ------------------------------------------------------------------ collect

def test_collect_names_another_assignments_notebook_and_leaves_no_scratch_copy(course,
                                                                               tmp_path):
    good = student_notebook(course, "return a + b")
    other = student_notebook(course, "return a + b", assignment="toy2")
    zip_path = make_zip(tmp_path / "lms.zip", {"s01_toy.ipynb": good, "s02_toy2.ipynb": other,
                                               "s03_homework.ipynb": good})
    proc = cli("collect", "toy", "--course", course, "--zip", zip_path)
    assert proc.returncode == 0, proc.stderr
    assert "s02_toy2.ipynb: a notebook of another assignment (toy2)" in proc.stdout
    assert "s03_homework.ipynb: the name does not match the file-name pattern" in proc.stdout
    assert "rename them in the zip" in proc.stdout  # for s03's file
    alone = make_zip(tmp_path / "other.zip", {"s01_toy.ipynb": good, "s02_toy2.ipynb": other})
    proc = cli("collect", "toy", "--course", course, "--zip", alone)
    assert proc.returncode == 0, proc.stderr
    assert "(toy2); collect it with" in proc.stdout and "rename them" not in proc.stdout
    assert (course / "submitted/s01/toy/toy.ipynb").is_file()
    assert not (course / "downloaded").exists()  # submitted/ is the one copy


def test_collect_refuses_a_student_id_with_a_space_and_imports_nothing(course, tmp_path):
    good = student_notebook(course, "return a + b")
    zip_path = make_zip(tmp_path / "lms.zip", {"s01_toy.ipynb": good,
                                               "Bad Name_toy.ipynb": good})
    before = snapshot(course)
    proc = cli("collect", "toy", "--course", course, "--zip", zip_path)
    assert_clean_failure(proc, "'Bad Name' (from Bad Name_toy.ipynb)", "no spaces",
                         "nothing was imported")
    assert snapshot(course) == before


# ------------------------------------------------------------------ output into a pipe

def test_a_closed_pipe_ends_a_command_quietly(tmp_path):
    """`python -m autograder ... | head`: the reader is gone before the command prints."""
    proc = subprocess.Popen([sys.executable, "-m", "autograder", "init", tmp_path / "c"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # long before the interpreter has started
    _, err = proc.communicate(timeout=120)
    assert b"BrokenPipe" not in err and b"Traceback" not in err, err.decode()
    assert proc.returncode == 141
    assert (tmp_path / "c" / "nbgrader_config.py").is_file()  # the work itself was done


def test_a_hand_grade_kept_through_a_regrade_is_not_reported_as_pending(course, tmp_path):
    """nbgrader sets needs_manual_grade again when a submission is graded again, even where a
    hand score stands; the LMS export must not then call that answer 'still to grade'."""
    record_graded(course, "s01", passed=True)
    record_graded(course, "s02", passed=True)
    formgrader(course, "s01", "reflection", score=1)
    record_graded(course, "s01", passed=True)  # graded again: the hand score stays
    roster = canvas_roster(tmp_path / "roster.csv", ["s01", "s02"])
    proc = cli("export", "--course", course, "--to", tmp_path / "out", "--format", "canvas",
               "--roster", roster)
    assert proc.returncode == 0, proc.stderr
    assert "still to grade by hand" in proc.stdout and "s02 (toy)" in proc.stdout, proc.stdout
    assert "s01 (toy)" not in proc.stdout, proc.stdout
