"""The instructor workflow (python -m autograder init/release/collect/feedback/export) on a small
fixture assignment, including every bad input: each must end with one clear message, a non-zero
exit code, no traceback, and a course folder left exactly as it was."""

import hashlib
import json
import re
import shutil
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import nbgrader_cli
from autograder.course import Course, init
from autograder.grade_jobs import load_sources
from autograder.gradebook import ensure_gradebook_assignment, open_gradebook, save_to_gradebook

pytestmark = pytest.mark.slow  # grades in sandboxes or runs nbgrader
REPO = Path(__file__).resolve().parent.parent
SOLUTION_LINE = "total_secret_value = a + b"
HIDDEN_LINE = 'assert add(10, 5) == 15, "hidden_secret_case"'


def _cell(kind, source, **meta):
    cell = (nbformat.v4.new_code_cell(source) if kind == "code"
            else nbformat.v4.new_markdown_cell(source))
    if meta:
        cell.metadata["nbgrader"] = {"schema_version": 3, "locked": False, "solution": False,
                                     "grade": False, **meta}
    return cell


def write_toy_solutions(root: Path) -> Path:
    """solutions/toy/toy.ipynb in nbgrader's source format: one exercise, one graded test cell
    with a hidden part, one hand-graded answer."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [
        _cell("md", "# Toy assignment"),
        _cell("code", "def add(a, b):\n    \"\"\"Return a + b.\"\"\"\n    ### BEGIN SOLUTION\n"
              f"    {SOLUTION_LINE}\n    return total_secret_value\n    ### END SOLUTION",
              grade_id="add", solution=True),
        _cell("code", '"""Check that add adds two numbers."""\nassert add(1, 2) == 3\n'
              f"### BEGIN HIDDEN TESTS\n{HIDDEN_LINE}\n### END HIDDEN TESTS",
              grade_id="test_add", grade=True, points=2, locked=True),
        _cell("md", "The reference answer: addition is commutative and associative.",
              grade_id="reflection", solution=True, grade=True, points=1),
    ]
    (root / "toy").mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, root / "toy" / "toy.ipynb")
    return root


def cli(*args, cwd=None):
    """Run `python -m autograder ARGS` as an instructor would."""
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=300)


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def assert_clean_failure(proc, *words):
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    message = proc.stderr.lower()
    for word in words:
        assert word.lower() in message, proc.stderr


def student_notebook(course: Path, body: str, assignment: str = "toy",
                     reflection: str | None = None) -> str:
    nb = json.loads((course / "release" / assignment / f"{assignment}.ipynb").read_text())
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id == "add":
            cell["source"] = f"def add(a, b):\n    {body}\n"
        elif grade_id == "reflection" and reflection is not None:
            cell["source"] = reflection
    return json.dumps(nb)


def make_zip(path: Path, files: dict) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


def fake_results(course: Path, student: str, passed: bool, message: str = "",
                 assignment: str = "toy", flags=(), warnings=()) -> dict:
    """A results JSON as the grader writes it (docs/architecture.md, "Grader results")."""
    cells = [{"grade_id": "test_add", "points": 2.0 if passed else 0.0, "max_points": 2.0,
              "status": "passed" if passed else "failed",
              "mistake": None if passed else "kernel_flipped",
              "case": None if passed else "hidden pair (10, 5)", "message": message},
             {"grade_id": "reflection", "points": None, "max_points": 1.0, "status": "manual",
              "mistake": None, "case": None, "message": "graded by hand"}]
    out = course / "autograded" / student / assignment
    out.mkdir(parents=True, exist_ok=True)
    result = {"student": student, "assignment": assignment, "notebook": assignment,
              "status": "graded", "error": None, "score": 2.0 if passed else 0.0,
              "max_score": 3.0, "duration_s": 0.5, "flags": list(flags),
              "warnings": list(warnings), "cells": cells}
    (out / f"{assignment}.results.json").write_text(json.dumps(result))
    return result


def record_graded(course: Path, student: str, passed: bool, assignment: str = "toy",
                  reflection: str | None = "Addition does not care about order.", **extra):
    """What `grade` leaves for one student: the submission, its results JSON and its scores in
    the gradebook, recorded by the grader's own save_to_gradebook (the written answer waits
    for the instructor, or scores 0 when `reflection` is None: left as released)."""
    text = student_notebook(course, "return a + b" if passed else "return a - b", assignment,
                            reflection)
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{assignment}.ipynb").write_text(text)
    result = fake_results(course, student, passed, assignment=assignment, **extra)
    sources = load_sources(course / "source" / assignment)
    db_url = Course(course).db_url
    ensure_gradebook_assignment(db_url, assignment, sources, "conv-from-scratch")
    with open_gradebook(db_url, "conv-from-scratch") as gb, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not in session.*")  # as grade does
        save_to_gradebook(gb, result, sources[assignment][0], nbformat.reads(text, as_version=4))
    return result


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A course folder outside the repository with the toy assignment released."""
    base = tmp_path_factory.mktemp("wf")
    course = init(base / "course", solutions=write_toy_solutions(base / "solutions"))
    proc = cli("release", "toy", "--course", course.root)
    assert proc.returncode == 0, proc.stderr
    return course.root


@pytest.fixture
def course(released, tmp_path):
    root = tmp_path / "course"
    shutil.copytree(released, root)
    return root


def test_init_creates_config_source_and_gradebook(released):
    assert (released / "nbgrader_config.py").is_file()
    assert (released / "gradebook.db").is_file()
    assert SOLUTION_LINE in (released / "source" / "toy" / "toy.ipynb").read_text()


def test_the_in_process_alembic_head_is_the_one_nbgrader_asks_the_alembic_program_for(released):
    """nbgrader_cli.alembic_head replaces a 5 s `alembic heads` subprocess: a fresh, unpatched
    process running nbgrader's own function is the oracle; init's gradebook carries it."""
    from autograder.nbgrader_cli import alembic_head, environment
    theirs = subprocess.run([sys.executable, "-c", "from nbgrader.api import get_alembic_version"
                             " as v; print(v())"], env=environment(), capture_output=True,
                            text=True, check=True).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{12}", theirs) and alembic_head() == theirs
    import sqlite3
    with sqlite3.connect(released / "gradebook.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(theirs,)]


def test_release_writes_student_version_without_solution_or_hidden_tests(released):
    text = (released / "release" / "toy" / "toy.ipynb").read_text()
    assert "def add(a, b)" in text and "raise NotImplementedError()" in text
    assert "total_secret_value" not in text and "hidden_secret_case" not in text


def test_init_refuses_an_existing_course_folder(released):
    before = snapshot(released)
    proc = cli("init", released)
    assert_clean_failure(proc, "already a course folder")
    assert snapshot(released) == before


def test_collect_zip_imports_students_and_reports_unmatched_files(course, tmp_path):
    archive = make_zip(tmp_path / "download.zip", {
        "s01_toy.ipynb": student_notebook(course, "return a + b"),
        "export/doejane_12345_678901_toy-1.ipynb": student_notebook(course, "return b + a"),
        "s03_notes.txt": "I ran out of time",
        "toy.ipynb": student_notebook(course, "return 0"),
        "__MACOSX/._s01_toy.ipynb": "resource fork",
    })
    proc = cli("collect", "toy", "--course", course, "--zip", archive)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["doejane", "s01"]
    assert "return b + a" in (course / "submitted/doejane/toy/toy.ipynb").read_text()
    assert "2 file(s) could not be matched" in proc.stdout
    assert "s03_notes.txt: not a notebook" in proc.stdout
    assert "toy.ipynb: the name does not match" in proc.stdout
    assert "__MACOSX" not in proc.stdout


def test_collect_zip_reads_moodle_and_non_ascii_canvas_names_by_default(course, tmp_path):
    """Moodle's 'Download all submissions' names a file by full name (with spaces) and
    participant number: the number is the student; a Canvas name may have any letters."""
    archive = make_zip(tmp_path / "download.zip", {
        "Jane Doe_1234567_assignsubmission_file_toy.ipynb":
            student_notebook(course, "return a + b"),
        "müllerjörg_222_333_toy.ipynb": student_notebook(course, "return b + a")})
    proc = cli("collect", "toy", "--course", course, "--zip", archive)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["1234567", "müllerjörg"]


def test_collect_zip_with_custom_pattern(course, tmp_path):
    archive = make_zip(tmp_path / "moodle.zip", {
        "toy--alice--toy.ipynb": student_notebook(course, "return a + b")})
    proc = cli("collect", "toy", "--course", course, "--zip", archive, "--pattern",
               r".*/toy--(?P<student_id>[a-z]+)--(?P<file_id>toy)\.ipynb")
    assert proc.returncode == 0, proc.stderr
    assert (course / "submitted/alice/toy/toy.ipynb").is_file()


def test_recollect_replaces_only_the_students_in_the_new_zip(course, tmp_path):
    first = make_zip(tmp_path / "a.zip", {"s01_toy.ipynb": student_notebook(course, "return 1"),
                                          "s02_toy.ipynb": student_notebook(course, "return 2")})
    assert cli("collect", "toy", "--course", course, "--zip", first).returncode == 0
    second = make_zip(tmp_path / "b.zip", {"s02_toy.ipynb": student_notebook(course, "return 3")})
    assert cli("collect", "toy", "--course", course, "--zip", second).returncode == 0
    assert "return 1" in (course / "submitted/s01/toy/toy.ipynb").read_text()
    assert "return 3" in (course / "submitted/s02/toy/toy.ipynb").read_text()


def test_two_files_for_one_student_stops_collect_and_changes_nothing(course, tmp_path):
    fake_results(course, "s01", passed=True)  # something already graded
    good = make_zip(tmp_path / "good.zip", {"s01_toy.ipynb": student_notebook(course, "a+b")})
    assert cli("collect", "toy", "--course", course, "--zip", good).returncode == 0
    before = snapshot(course)
    archive = make_zip(tmp_path / "dup.zip", {
        "s01_toy.ipynb": student_notebook(course, "return a - b"),
        "s01_toy-1.ipynb": student_notebook(course, "return a * b"),
        "s02_toy.ipynb": student_notebook(course, "return a + b")})
    proc = cli("collect", "toy", "--course", course, "--zip", archive)
    assert_clean_failure(proc, "student s01 has 2 files for toy.ipynb", "s01_toy-1.ipynb",
                         "nothing was imported", "run collect again")
    assert snapshot(course) == before


def test_a_zip_that_is_not_a_zip_is_refused(course, tmp_path):
    fake_results(course, "s01", passed=True)
    before = snapshot(course)
    bogus = tmp_path / "submissions.zip"
    bogus.write_text("<html>Your session has expired</html>")
    proc = cli("collect", "toy", "--course", course, "--zip", bogus)
    assert_clean_failure(proc, "is not a zip file", "download the submissions again")
    assert snapshot(course) == before


def test_missing_course_folder_is_named_with_how_to_create_it(tmp_path):
    proc = cli("grade", "toy", "--course", tmp_path / "nowhere")
    assert_clean_failure(proc, "does not exist", "python -m autograder init")
    proc = cli("export", "--course", tmp_path)  # exists, but is not a course folder
    assert_clean_failure(proc, "not a course folder", "nbgrader_config.py")


def test_grade_help_lists_the_grading_options_without_a_course_folder(tmp_path):
    proc = cli("grade", "--help", "--course", tmp_path / "nowhere")
    assert proc.returncode == 0, proc.stderr
    for option in ("--shard", "--workers", "--student", "--unsandboxed"):
        assert option in proc.stdout, option


def test_assignment_never_released_is_refused_by_every_step(course, tmp_path):
    source = course / "source" / "late"
    shutil.copytree(course / "source" / "toy", source)
    (source / "toy.ipynb").rename(source / "late.ipynb")
    fake_results(course, "s01", passed=True)
    before = snapshot(course)
    archive = make_zip(tmp_path / "x.zip", {"s01_late.ipynb": "{}"})
    for args in (["collect", "late", "--zip", archive], ["grade", "late"],
                 ["feedback", "late"]):
        proc = cli(*args, "--course", course)
        assert_clean_failure(proc, "'late' was never released", "autograder release late")
    proc = cli("grade", "nonexistent", "--course", course)
    assert_clean_failure(proc, "no assignment 'nonexistent'", "available: late, toy")
    assert snapshot(course) == before


def test_student_folder_without_notebook_stops_grading_and_changes_nothing(course):
    fake_results(course, "s01", passed=True)
    (course / "submitted/s01/toy").mkdir(parents=True)
    (course / "submitted/s01/toy/toy.ipynb").write_text(student_notebook(course, "a + b"))
    (course / "submitted/s02/toy").mkdir(parents=True)
    (course / "submitted/s02/toy/answers.py").write_text("def add(a, b): return a + b\n")
    before = snapshot(course)
    proc = cli("grade", "toy", "--course", course)
    assert_clean_failure(proc, "submitted/s02/toy/ has no toy.ipynb", "found: answers.py",
                         "nothing was graded")
    assert snapshot(course) == before


def test_feedback_shows_points_and_diagnosis_but_no_hidden_test_or_solution(course):
    (course / "submitted/s02/toy").mkdir(parents=True)
    (course / "submitted/s02/toy/toy.ipynb").write_text(
        student_notebook(course, "return a - b  # my own attempt"))
    # A grader message that (wrongly) quotes the hidden test line must not reach the student.
    fake_results(course, "s02", passed=False,
                 message=f"expected 15, got 5 on the hidden pair (10, 5)\n    {HIDDEN_LINE}")
    proc = cli("feedback", "toy", "--course", course)
    assert proc.returncode == 0, proc.stderr
    page = (course / "feedback/s02/toy/toy.html").read_text()
    assert "Score: 0 / 3" in page
    assert "Check that add adds two numbers." in page  # the visible docstring
    assert "0 / 2" in page and "kernel flipped" in page and "hidden pair (10, 5)" in page
    assert "expected 15, got 5" in page
    assert "return a - b  # my own attempt" in page  # the student's own code
    assert "hidden_secret_case" not in page and "add(10, 5) == 15" not in page
    assert "total_secret_value" not in page
    assert "commutative and associative" not in page  # the reference written answer


def test_export_writes_nbgrader_csv_and_one_row_per_test(course):
    record_graded(course, "s01", passed=True)
    record_graded(course, "s02", passed=False, message="expected 3, got -1")
    out = course.parent / "grades-out"
    proc = cli("export", "--course", course, "--to", out)
    assert proc.returncode == 0, proc.stderr
    header = (out / "grades.csv").read_text().splitlines()[0]
    assert header.startswith("assignment,duedate,timestamp,student_id")  # nbgrader's format
    import csv
    rows = list(csv.DictReader((out / "tests.csv").open()))
    assert [(r["student"], r["test"], r["status"], r["mistake"]) for r in rows] == [
        ("s01", "test_add", "passed", ""), ("s01", "reflection", "manual", ""),
        ("s02", "test_add", "failed", "kernel_flipped"), ("s02", "reflection", "manual", "")]
    assert rows[2]["points"] == "0.0" and rows[2]["max_points"] == "2.0"


@pytest.mark.slow
def test_collect_from_the_jupyterhub_exchange(tmp_path):
    exchange = tmp_path / "exchange"
    course = init(tmp_path / "course", solutions=write_toy_solutions(tmp_path / "solutions"),
                  exchange=str(exchange))
    assert cli("release", "toy", "--course", course.root).returncode == 0
    assert (exchange / "conv-from-scratch/outbound/toy/toy.ipynb").is_file()
    student = tmp_path / "student-home"
    student.mkdir()
    env = nbgrader_cli.environment()
    for step in ("fetch_assignment", "submit"):  # as the student, with nbgrader's own commands
        subprocess.run([sys.executable, "-m", "nbgrader", step, "toy",
                        "--course=conv-from-scratch", f"--Exchange.root={exchange}"],
                       cwd=student, env=env, check=True, capture_output=True)
    proc = cli("collect", "toy", "--course", course.root, "--exchange")
    assert proc.returncode == 0, proc.stderr
    students = Course(course.root).students("toy")
    assert len(students) == 1 and f"{students[0]}: toy" in proc.stdout
    assert (course.root / "submitted" / students[0] / "toy" / "toy.ipynb").is_file()


def _broken_notebooks(course: Path) -> dict:
    """student -> a submitted toy.ipynb (text) that is JSON but not the notebook it should be."""
    good = json.loads(student_notebook(course, "return a + b  # good student"))

    def edited(edit):
        nb = json.loads(json.dumps(good))
        add = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get(
            "grade_id") == "add")
        edit(nb, add)
        return json.dumps(nb)

    return {
        "s01": edited(lambda nb, add: add.update(source=["x = 1\n", 5])),
        "s02": edited(lambda nb, add: add.update(source=5)),
        "s03": edited(lambda nb, add: add["metadata"]["nbgrader"].update(grade_id=7)),
        "s04": edited(lambda nb, add: add["metadata"].update(nbgrader=["solution"])),
        "s05": edited(lambda nb, add: add.update(metadata="solution")),
        "s06": edited(lambda nb, add: nb["cells"].insert(0, "a cell that is a string")),
        "s07": edited(lambda nb, add: nb.update(cells={"0": add})),
        "s08": "[1, 2, 3]",
        "s09": '{"cells": [ not json',
    }


def test_feedback_gives_every_student_a_page_when_some_notebooks_cannot_be_read(course):
    broken = _broken_notebooks(course)
    students = [*broken, "s10", "s11", "s12"]
    for student in students:
        (course / "submitted" / student / "toy").mkdir(parents=True)
        fake_results(course, student, passed=False, message="expected 3, got -1")
    for student, text in broken.items():
        (course / f"submitted/{student}/toy/toy.ipynb").write_text(text)
    for student in ("s10", "s11"):
        (course / f"submitted/{student}/toy/toy.ipynb").write_text(
            student_notebook(course, f"return a + b  # {student}'s own code"))
    # the submitted "notebook" is a link to the instructor's notebook with the solutions
    (course / "submitted/s12/toy/toy.ipynb").symlink_to(course / "source/toy/toy.ipynb")
    # a folder where collect would have put the submission's timestamp
    (course / "submitted/s11/toy/timestamp.txt").mkdir()

    proc = cli("feedback", "toy", "--course", course)
    assert proc.returncode == 0, proc.stderr
    for student in students:
        page = (course / f"feedback/{student}/toy/toy.html").read_text()
        assert "Score: 0 / 3" in page and "expected 3, got -1" in page, student
        assert "total_secret_value" not in page, student
        if student in ("s10", "s11"):
            assert f"return a + b  # {student}&#x27;s own code" in page, student
            assert "could not be read" not in page, student
        else:
            assert "Your notebook could not be read" in page, (student, page)
