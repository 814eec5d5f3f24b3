"""The sandboxed grader agrees with every course notebook: the instructor's own answers, put into
the student version, earn every autograded point; the untouched student version earns none."""

import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.course import init, release
from autograder.grade import grade_assignment
from tests.fixtures import submissions as S

ASSIGNMENTS = sorted(p.name for p in (Path(__file__).resolve().parent.parent / "solutions")
                     .iterdir() if p.is_dir())


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_answers_get_every_autograded_point_and_the_stub_none(assignment, tmp_path,
                                                                       sandbox_pool):
    course = init(tmp_path / "course", assignments=[assignment])
    release(course, assignment)
    name = f"{assignment}.ipynb"
    solved = S.released_notebook(course.root, assignment)
    source = nbformat.read(course.root / "source" / assignment / name, as_version=4)
    answers = {S._meta(c).get("grade_id"): c.source for c in source.cells
               if S._meta(c).get("solution") and c.cell_type == "code"}
    for cell in solved.cells:
        gid = S._meta(cell).get("grade_id")
        if cell.cell_type == "code" and S._meta(cell).get("solution") and gid in answers:
            cell.source = S._without_markers(answers[gid])
    for student, nb in (("solved", solved), ("untouched", None)):
        folder = course.root / "submitted" / student / assignment
        folder.mkdir(parents=True)
        if nb is None:
            shutil.copy(course.root / "release" / assignment / name, folder / name)
        else:
            nbformat.write(nb, folder / name)

    results = {r["student"]: r for r in grade_assignment(course.root, assignment,
                                                         sandboxes=sandbox_pool,
                                                         log=lambda *_: None)}
    auto = [c for c in results["solved"]["cells"] if c["status"] != "manual"]
    not_passed = [(c["grade_id"], c["status"], c["mistake"], c["message"]) for c in auto
                  if c["status"] != "passed"]
    assert auto and not not_passed, not_passed
    assert not results["solved"]["flags"]
    untouched = [c for c in results["untouched"]["cells"] if c["status"] != "manual"]
    assert sum(c["points"] for c in untouched) == 0
    assert {c["mistake"] for c in untouched} <= {"not_implemented", None}, untouched
