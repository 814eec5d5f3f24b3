"""Grades out of a course folder, into DIR/exports/ (or another folder):

- `grades.csv`: nbgrader's CSV export of the gradebook (the columns and rows `nbgrader export`
  writes: one row per student and assignment), with one difference: where a student has no
  graded submission of an assignment, the scores are left blank, not 0 (an LMS import takes a 0
  for a grade and overwrites the real one);
- `tests.csv`: one row per student, notebook and graded test, from the grader's results JSON
  with the gradebook's hand grades laid over it — assignment, student, notebook, test, points,
  max_points, status, mistake, case, ... — a long table a spreadsheet can pivot (e.g. rows =
  test, columns = status);
- with `--format canvas|moodle`, the file that LMS imports (autograder/lms.py).

Everything is read and checked before the first file is written: a command that fails
(a wrong roster, an unknown --match column or --assignment) leaves the folder as it was.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .course import PROG, Course, WorkflowError
from .feedback import mistake_text
from .gradebook import Submission, submissions
from .lms import LmsExport, lms_rows, read_roster, write_rows

GRADE_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
                 "email", "raw_score", "late_submission_penalty", "score", "max_score"]
TEST_COLUMNS = ["assignment", "student", "notebook", "test", "points", "max_points", "status",
                "by_hand", "mistake", "mistake_text", "case", "submission_status", "flags",
                "warnings"]


def test_rows(results: list[dict]) -> list[dict]:
    rows = []
    for r in sorted(results, key=lambda r: (r.get("assignment", ""), r.get("student", ""),
                                            r.get("notebook", ""))):
        common = {"assignment": r.get("assignment"), "student": r.get("student"),
                  "notebook": r.get("notebook"), "submission_status": r.get("status"),
                  "flags": ";".join(r.get("flags") or []),
                  "warnings": "; ".join(r.get("warnings") or [])}
        for c in r.get("cells") or []:
            rows.append({**common, "test": c.get("grade_id"), "points": c.get("points"),
                         "max_points": c.get("max_points"), "status": c.get("status"),
                         "by_hand": "yes" if c.get("by_hand") else "",
                         "mistake": c.get("mistake") or "",
                         "mistake_text": mistake_text(c.get("mistake")),
                         "case": c.get("case") or ""})
    return rows


def grade_rows(grades: list[Submission]) -> list[dict]:
    """grades.csv's rows, as nbgrader writes its values (str of a float), blank for no grade."""
    def number(value):
        return "" if value is None else str(value)

    return [{"assignment": g.assignment, "duedate": g.duedate, "timestamp": g.timestamp,
             "student_id": g.student, "last_name": g.last_name, "first_name": g.first_name,
             "email": g.email, "raw_score": number(g.raw_score),
             "late_submission_penalty": number(g.late_submission_penalty),
             "score": number(g.score), "max_score": number(g.max_score)} for g in grades]


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def gradebook_grades(course: Course, assignments: list[str] | None = None
                     ) -> list[Submission]:
    """Every student's total per assignment in the gradebook; a WorkflowError when an asked-for
    assignment is not there or nobody was graded yet."""
    if not (course.root / "gradebook.db").is_file():
        raise WorkflowError(f"{course.root} has no gradebook.db; run release, collect and "
                            "grade first")
    grades, known = submissions(course.db_url, course.course_id or None, assignments)
    unknown = [a for a in assignments or [] if a not in known]
    if unknown:
        raise WorkflowError(f"no assignment {', '.join(unknown)} in the gradebook (it has: "
                            f"{', '.join(known) or 'none'}); release it first, or check the name")
    if not any(g.score is not None for g in grades):
        what = f"of {', '.join(assignments)} " if assignments else ""
        raise WorkflowError(f"no graded submission {what}in the gradebook of {course.root}; "
                            f"run `{PROG} grade ASSIGNMENT --course {course.root}` first")
    return grades


class Exported(dict):
    """{name: path} of the files written; `lms` says whom the LMS file could not place."""

    lms: LmsExport | None = None


def export(course: Course, to=None, lms: str | None = None, roster=None,
           match: str | None = None, assignments: list[str] | None = None) -> Exported:
    """Write grades.csv (nbgrader's columns), tests.csv (per test) and, with `lms` ("canvas"
    or "moodle") and its `roster`, the LMS's import file. Nothing is written unless all of it
    can be."""
    out = Path(to).expanduser().resolve() if to else course.root / "exports"
    if out.exists() and not out.is_dir():
        raise WorkflowError(f"{out} is a file, not a folder; pass another --to OUT_DIR")
    grades = gradebook_grades(course, assignments)
    results = [r for r in course.results()
               if not assignments or r.get("assignment") in assignments]
    lms_file = None
    if lms:
        if roster is None:
            raise WorkflowError(f"--format {lms} needs --roster ROSTER.csv, the gradebook file "
                                "downloaded from the LMS, to find each student's LMS id")
        lms_file = lms_rows(grades, read_roster(roster, lms), lms, match)
    paths = Exported(grades=write_csv(out / "grades.csv", grade_rows(grades), GRADE_COLUMNS),
                     tests=write_csv(out / "tests.csv", test_rows(results), TEST_COLUMNS))
    if lms_file is not None:
        header, rows, paths.lms = lms_file
        paths.lms.path = paths[lms] = write_rows(out / f"{lms}-grades.csv", header, rows)
    return paths
