"""Grades into an LMS: the CSV file Canvas or Moodle imports, keyed by the LMS's own ids.

    python -m autograder export --course DIR --format canvas --roster ROSTER.csv
    python -m autograder export --course DIR --format moodle --roster ROSTER.csv

The roster is the file the instructor downloads from the LMS itself, so its ids are the LMS's:

* Canvas: Grades → Export → "Export Entire Gradebook" (CSV). Its first columns are ``Student``
  ("Last, First"), ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``; a "Points Possible"
  row may follow the header. The import file keeps those five columns, in that order, then one
  column per assignment: the roster's own ``Name (id)`` header when the assignment is already in
  Canvas, else its plain name (Canvas then creates the assignment, with the points of our
  "Points Possible" row).
* Moodle: Grades → Export → "Plain text file" (CSV). Its columns include ``First name``,
  ``Last name``, ``ID number`` and ``Email address``. The import file (Grades → Import → "CSV
  file") has those four columns, then one column per assignment (the roster's grade-item header
  when one names the assignment, else the assignment's name); map it from ``Email address`` or
  ``ID number`` on Moodle's import page.

A course student (the id the course uses: a JupyterHub user name, or the name in an LMS zip such
as Canvas's ``doejane``) matches the roster row whose id columns hold that id (ignoring case):
Canvas's SIS Login ID, SIS User ID, ID or the name as Canvas writes it in submission file names;
Moodle's Username, ID number, Email address or its part before the @; or only the column given
with ``--match``. A student who matches no row or several rows, and a roster row that no graded
student matches, are listed by the command and are never dropped silently.

Scores come from the gradebook (export's grades.csv), so what the LMS gets is exactly what the
gradebook holds, manual grades included. Only graded submissions are written: an assignment with
no graded submission gets no column, and a student without a graded submission of an assignment
an empty cell, so the LMS keeps what it has (a 0 there would overwrite a real grade); a graded 0
is written as 0. The rows (`gradebook.Submission`) are the one thing a later LTI 1.3 grade
passback would need as well.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from .course import WorkflowError
from .gradebook import Submission

FORMATS = ("canvas", "moodle")
CANVAS_IDS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_IDS = ("First name", "Last name", "ID number", "Email address")
POINTS_POSSIBLE = "    Points Possible"  # as Canvas writes it (leading spaces included)


@dataclass
class LmsExport:
    """What `export --format canvas|moodle` wrote, and every student it could not place."""

    path: Path
    exported: dict[str, str] = field(default_factory=dict)       # course student -> LMS row
    unknown: list[str] = field(default_factory=list)             # graded, on no roster row
    ambiguous: dict[str, list[str]] = field(default_factory=dict)  # graded, on several rows
    not_graded: list[str] = field(default_factory=list)          # roster rows without a grade
    # exported, with answers still to be graded by hand: (student, assignment)
    pending: list[tuple[str, str]] = field(default_factory=list)

    def text(self) -> str:
        lines = [f"{self.path}: {len(self.exported)} student(s)"]
        if self.unknown:
            lines.append(f"NOT exported, on no roster row ({len(self.unknown)}): "
                         + ", ".join(self.unknown)
                         + " — add them to the roster or pass --match COLUMN")
        for student, rows in self.ambiguous.items():
            lines.append(f"NOT exported, {student} matches several roster rows: "
                         + "; ".join(rows) + " — pass --match COLUMN")
        if self.not_graded:
            lines.append(f"on the roster without a grade here, left blank "
                         f"({len(self.not_graded)}): " + ", ".join(self.not_graded))
        if self.pending:
            lines.append(f"exported with answers still to grade by hand, counted 0 until then "
                         f"({len(self.pending)}): "
                         + ", ".join(f"{s} ({a})" for s, a in self.pending)
                         + " — grade them in the formgrader and export again")
        return "\n".join(lines)


def read_grades(path: Path) -> list[Submission]:
    """The rows of the grades.csv that `export` writes (nbgrader's columns; a blank score: no
    graded submission, which is not a 0)."""
    def number(text):
        return float(text) if (text or "").strip() else None

    with Path(path).open(newline="", encoding="utf-8") as fh:
        return [Submission(r["assignment"], r.get("duedate") or "", r["student_id"],
                           r.get("last_name") or "", r.get("first_name") or "",
                           r.get("email") or "", number(r["max_score"]) or 0.0,
                           r.get("timestamp") or "", number(r.get("raw_score")),
                           number(r.get("late_submission_penalty")), number(r["score"]))
                for r in csv.DictReader(fh)]


def read_roster(path: Path, lms: str) -> list[dict]:
    """The student rows of an LMS roster CSV (Canvas's "Points Possible" row left out)."""
    path = Path(path)
    if not path.is_file():
        raise WorkflowError(f"no roster file {path}; download it from the LMS (see "
                            f"`python -m autograder export --help`)")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = reader.fieldnames or []
            rows = [r for r in reader if (r.get("Student") or "").strip() != "Points Possible"]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise WorkflowError(f"{path} is not a CSV file ({exc}); download the roster from the "
                            "LMS as CSV") from exc
    needed = CANVAS_IDS if lms == "canvas" else ("Email address",)
    missing = [c for c in needed if c not in columns]
    if missing:
        raise WorkflowError(f"{path} is not a {lms.capitalize()} roster: it has no column "
                            f"{', '.join(repr(c) for c in missing)} (its columns: "
                            f"{', '.join(columns) or 'none'})")
    if not rows:
        raise WorkflowError(f"{path} lists no students; download the roster again from the LMS")
    return rows


def _canvas_file_name(student: str) -> str:
    """"Doe, Jane" -> "doejane": the name Canvas puts in submission file names."""
    last, _, first = student.partition(",")
    return re.sub(r"[^a-z0-9]", "", (last + first).lower())


def row_ids(row: dict, lms: str, match: str | None = None) -> set[str]:
    """The ids a course student may have on this roster row, in lower case."""
    if match:
        values = [row.get(match) or ""]
    elif lms == "canvas":
        values = [row.get(c) or "" for c in ("SIS Login ID", "SIS User ID", "ID")]
        values.append(_canvas_file_name(row.get("Student") or ""))
    else:
        email = row.get("Email address") or ""
        values = [row.get("Username") or "", row.get("ID number") or "", email,
                  email.partition("@")[0]]
    return {v.strip().lower() for v in values if v.strip()}


def _describe(row: dict, lms: str) -> str:
    keys = ("Student", "SIS Login ID") if lms == "canvas" else ("Email address", "ID number")
    return " / ".join(row.get(k) or "" for k in keys)


def _column(assignment: str, roster_columns: list[str]) -> str:
    """The roster's header for this assignment ("02_conv2d (4512)", "Assignment: 02_conv2d
    (Real)") if it has one, else the assignment's own name."""
    for column in roster_columns:
        name = re.sub(r"^[^:]*:\s*", "", column) if ":" in column else column
        if name == assignment or re.fullmatch(rf"{re.escape(assignment)} \((?:\d+|Real)\)",
                                              name):
            return column
    return assignment


def _number(value: float) -> str:
    return f"{value:g}"


def lms_rows(grades: list[Submission], roster: list[dict], lms: str, match: str | None = None):
    """(header, rows, report-without-path) of the import file; rows are lists of strings.

    Only graded submissions are exported: an assignment nobody was graded on gets no column
    (else the LMS would create it), and a student without a graded submission of an assignment
    gets an empty cell (the LMS keeps what it has); a graded 0 stays 0."""
    if lms not in FORMATS:
        raise WorkflowError(f"unknown LMS format {lms!r}; use one of {', '.join(FORMATS)}")
    roster_columns = list(roster[0]) if roster else []
    if match and match not in roster_columns:
        raise WorkflowError(f"the roster has no column {match!r} to match students by (its "
                            f"columns: {', '.join(roster_columns) or 'none'})")
    ids = CANVAS_IDS if lms == "canvas" else MOODLE_IDS
    graded = [g for g in grades if g.score is not None]
    assignments = sorted({g.assignment for g in graded})
    columns = [_column(a, roster_columns) for a in assignments]
    by_id: dict[str, list[int]] = {}
    for index, row in enumerate(roster):
        for key in row_ids(row, lms, match):
            by_id.setdefault(key, []).append(index)
    report = LmsExport(Path())
    scores: dict[int, dict[str, float]] = {}
    for student in sorted({g.student for g in graded}):
        found = sorted(set(by_id.get(student.lower(), [])))
        if not found:
            report.unknown.append(student)
        elif len(found) > 1:
            report.ambiguous[student] = [_describe(roster[i], lms) for i in found]
        else:
            report.exported[student] = _describe(roster[found[0]], lms)
            scores[found[0]] = {g.assignment: g.score for g in graded if g.student == student}
            report.pending += [(student, g.assignment) for g in graded
                               if g.student == student and g.needs_manual_grade]
    rows = []
    if lms == "canvas":
        most = {g.assignment: g.max_score for g in graded}
        rows.append([POINTS_POSSIBLE, "", "", "", ""] + [_number(most[a]) for a in assignments])
    for index, row in enumerate(roster):
        if index not in scores:
            report.not_graded.append(_describe(row, lms))
        got = scores.get(index, {})
        rows.append([row.get(c) or "" for c in ids]
                    + [_number(got[a]) if a in got else "" for a in assignments])
    return list(ids) + columns, rows, report


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_lms(grades_csv: Path, roster_path: Path, lms: str, out: Path,
              match: str | None = None) -> LmsExport:
    """Write OUT/<lms>-grades.csv from export's grades.csv and the LMS roster."""
    header, rows, report = lms_rows(read_grades(grades_csv), read_roster(roster_path, lms), lms,
                                    match)
    report.path = write_rows(Path(out) / f"{lms}-grades.csv", header, rows)
    return report
