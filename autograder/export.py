"""Grades out of a course folder, into DIR/exports/ (or another folder):

- `grades.csv`: nbgrader's standard CSV export of the gradebook (one row per student and
  assignment; what `nbgrader export` writes, the format LMS import tools expect);
- `tests.csv`: one row per student, notebook and graded test, from the grader's results JSON —
  assignment, student, notebook, test, points, max_points, status, mistake, case — a long table a
  spreadsheet can pivot (e.g. rows = test, columns = status).
"""

from __future__ import annotations

import csv
from pathlib import Path

from .course import Course, WorkflowError
from .feedback import mistake_text

TEST_COLUMNS = ["assignment", "student", "notebook", "test", "points", "max_points", "status",
                "mistake", "mistake_text", "case", "submission_status", "flags"]


def test_rows(results: list[dict]) -> list[dict]:
    rows = []
    for r in sorted(results, key=lambda r: (r.get("assignment", ""), r.get("student", ""),
                                            r.get("notebook", ""))):
        common = {"assignment": r.get("assignment"), "student": r.get("student"),
                  "notebook": r.get("notebook"), "submission_status": r.get("status"),
                  "flags": ";".join(r.get("flags") or [])}
        for c in r.get("cells") or []:
            rows.append({**common, "test": c.get("grade_id"), "points": c.get("points"),
                         "max_points": c.get("max_points"), "status": c.get("status"),
                         "mistake": c.get("mistake") or "",
                         "mistake_text": mistake_text(c.get("mistake")),
                         "case": c.get("case") or ""})
    return rows


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def export(course: Course, to=None) -> dict[str, Path]:
    """Write grades.csv (nbgrader) and tests.csv (per test) and return their paths."""
    out = Path(to).expanduser().resolve() if to else course.root / "exports"
    out.mkdir(parents=True, exist_ok=True)
    grades = out / "grades.csv"
    course.nbgrader("export", f"--to={grades}")
    if not grades.is_file():
        raise WorkflowError(f"nbgrader export wrote no {grades}; is the gradebook empty? "
                            "Run release, collect and grade first")
    results = course.results()
    tests = write_csv(out / "tests.csv", test_rows(results), TEST_COLUMNS)
    return {"grades": grades, "tests": tests}
