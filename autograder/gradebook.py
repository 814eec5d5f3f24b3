"""nbgrader's gradebook, written by the trusted grader only: the assignment's graded cells, and
each notebook's scores (manual scores that an instructor gave are kept).

`grade` records each submission here as soon as it is graded; the gradebook is SQLite, so one
process writes it at a time. The instructor's hand grades (the formgrader's scores, extra
credit and comments) live only here, so everything that shows a score reads them from here
too: `with_hand_grades` lays them over the grader's results, `submissions` lists each
student's total per assignment (None where nothing was graded).
"""

import copy
from dataclasses import dataclass

from . import nbgrader_cli


def open_gradebook(db_url, course_id):
    """nbgrader's Gradebook, created if need be (with alembic's head read in-process)."""
    from nbgrader.api import Gradebook
    nbgrader_cli.install()
    return Gradebook(db_url, course_id=course_id) if course_id else Gradebook(db_url)


def ensure_gradebook_assignment(db_url, assignment, sources, course_id=None):
    """Make sure the gradebook knows the assignment's notebooks and graded cells (as
    `nbgrader generate_assignment` records them)."""
    from nbgrader.api import MissingEntry
    from nbgrader.preprocessors import ClearSolutions, ComputeChecksums, SaveCells
    with open_gradebook(db_url, course_id) as gb:
        try:
            known = {n.name for n in gb.find_assignment(assignment).notebooks}
        except MissingEntry:
            gb.update_or_create_assignment(assignment)
            known = set()
    for name, (src, _) in sources.items():
        if name in known:
            continue
        nb = copy.deepcopy(src.nb)
        resources = {"nbgrader": {"notebook": name, "assignment": assignment, "db_url": db_url}}
        save = SaveCells()
        if course_id:
            resources["nbgrader"]["course_id"] = course_id
        for pre in (ClearSolutions(), ComputeChecksums(), save):
            nb, resources = pre.preprocess(nb, resources)


def save_to_gradebook(gb, result, source, autograded, timestamp=None):
    """Record one notebook's scores in the open Gradebook `gb`; manual scores are kept."""
    from nbgrader import utils
    from nbgrader.api import MissingEntry
    student, assignment, notebook = result["student"], result["assignment"], result["notebook"]
    by_id = {c["grade_id"]: c for c in result["cells"]}
    cells = {}
    if autograded is not None:
        for cell in autograded.cells:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid:
                cells.setdefault(gid, cell)
    try:
        gb.update_or_create_student(student)
        extra = {"timestamp": utils.parse_utc(timestamp)} if timestamp else {}
        gb.update_or_create_submission(assignment, student, **extra)
        for gid, meta in source.metadata.items():
            cell = cells.get(gid)
            checksum = None
            try:
                checksum = gb.find_source_cell(gid, notebook, assignment).checksum
            except MissingEntry:
                pass
            unanswered = cell is None or (checksum is not None and meta.get("solution") and
                                          utils.compute_checksum(cell) == checksum)
            if meta.get("grade"):
                grade = gb.find_grade(gid, notebook, assignment, student)
                if gid in source.tests:
                    grade.auto_score = float(by_id[gid]["points"]) if gid in by_id else 0.0
                else:  # written answers: by hand, unless left empty or unreadable
                    grade.auto_score = 0.0 if (unanswered or result["status"] == "error") \
                        else None
                grade.needs_manual_grade = grade.manual_score is not None or \
                    grade.auto_score is None
            if meta.get("solution") or meta.get("task"):
                comment = gb.find_comment(gid, notebook, assignment, student)
                if result["status"] == "error":
                    comment.auto_comment = result["error"]
                else:
                    comment.auto_comment = "No response." if unanswered else None
        gb.db.commit()
    except Exception:
        gb.db.rollback()
        raise


def with_hand_grades(results, db_url, course_id=None):
    """Copies of the grader's `results` (dicts of results.json) with the gradebook's word on
    every cell: nbgrader's score of the cell (the hand score when one was given, else the
    automatic one, plus extra credit), None while it waits to be graded by hand, and `by_hand`
    True where the formgrader set it; `score` is then the notebook's total as the gradebook has
    it, and `comments` maps a cell's grade_id to the comment the instructor wrote on it. A
    notebook the gradebook does not hold is returned as it is."""
    from nbgrader.api import MissingEntry
    out = []
    with open_gradebook(db_url, course_id) as gb:
        for result in results:
            result = copy.deepcopy(result)
            out.append(result)
            try:
                nb = gb.find_submission_notebook(result["notebook"], result["assignment"],
                                                 result["student"])
            except MissingEntry:
                continue
            grades = {g.name: g for g in nb.grades}
            comments = {c.name: c.manual_comment for c in nb.comments
                        if c.manual_comment and c.manual_comment.strip()}
            for cell in result.get("cells") or []:
                grade = grades.get(cell.get("grade_id"))
                if grade is None:
                    continue
                cell["by_hand"] = grade.manual_score is not None
                if waiting_for_hand_grade(grade):
                    cell["points"] = None
                else:
                    cell["points"] = float(grade.score)
            result["score"] = float(sum(c.get("points") or 0 for c in result.get("cells") or []))
            result["comments"] = comments
    return out


def waiting_for_hand_grade(grade):
    """An nbgrader Grade no one has scored yet: the grader left it to the instructor (an answer
    graded by hand) and the instructor has not given a score. nbgrader's own needs_manual_grade
    stays set after a regrade even when a hand score exists."""
    return grade.manual_score is None and grade.auto_score is None


@dataclass(frozen=True)
class Submission:
    """One student's total on one assignment in the gradebook (a row of grades.csv); `score`
    None when the student has no graded submission of it."""

    assignment: str
    duedate: str
    student: str
    last_name: str
    first_name: str
    email: str
    max_score: float
    timestamp: str = ""
    raw_score: float | None = None
    late_submission_penalty: float | None = None
    score: float | None = None
    needs_manual_grade: bool = False


def submissions(db_url, course_id=None, assignments=None):
    """Every (assignment, student) of the gradebook, as nbgrader's CSV export lists them, but
    with no score where the student has no graded submission (nbgrader writes 0 there, which an
    LMS import would take for a grade)."""
    from nbgrader.api import MissingEntry
    rows = []
    with open_gradebook(db_url, course_id) as gb:
        students = sorted(gb.students, key=lambda s: s.id)
        for assignment in gb.assignments:
            if assignments and assignment.name not in assignments:
                continue
            for student in students:
                common = dict(assignment=assignment.name, duedate=_text(assignment.duedate),
                              student=student.id, last_name=_text(student.last_name),
                              first_name=_text(student.first_name), email=_text(student.email),
                              max_score=float(assignment.max_score or 0))
                try:
                    sub = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    rows.append(Submission(**common))
                    continue
                penalty = float(sub.late_submission_penalty or 0)
                rows.append(Submission(
                    **common, timestamp=_text(sub.timestamp), raw_score=float(sub.score),
                    late_submission_penalty=penalty, score=max(0.0, sub.score - penalty),
                    needs_manual_grade=any(waiting_for_hand_grade(g) for nb in sub.notebooks
                                           for g in nb.grades)))
        names = [a.name for a in gb.assignments]
    return rows, names


def _text(value):
    return "" if value is None else str(value)
