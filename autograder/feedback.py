"""Per-notebook feedback HTML that a student can learn from.

For each submission graded by `python -m autograder grade`, writes
DIR/feedback/<student>/<assignment>/<notebook>.html: the score, what the grader noticed about the
file itself (an edited or deleted test cell, a stray file: results.json `warnings`), then one row
per graded test (what it checks, points, status, the diagnosed mistake, the case and the
grader's message: expected vs. got), then the student's own answer cells with the instructor's
comments, or why the notebook could not be read: it is read as strictly as the grader reads it,
so a damaged file gets its own page and never stops the rest of the class. Scores, hand grades
and comments are the gradebook's (what the instructor gave in the formgrader).

What it never shows: hidden test code or reference solutions. The page is built only from the
grader's results JSON and the gradebook, the *released* notebook (which has neither) and the
student's own submission; as a second guard, any line of a grader message that repeats a line
of hidden test or solution code from the trusted source notebook is replaced by "[hidden]".
"""

from __future__ import annotations

import ast
import html
import json
import re
import shutil
from pathlib import Path
from typing import NamedTuple

from convlib.mistakes import title

from .course import PROG, Course, WorkflowError

STATUS_TEXT = {"passed": "passed", "failed": "failed", "error": "error (the code raised)",
               "timeout": "ran out of time", "forbidden": "forbidden call",
               "manual": "graded by hand"}

CSS = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.35rem;
vertical-align:top;text-align:left}th{background:#f3f3f3}pre{white-space:pre-wrap;margin:0;
font-size:.9em}.passed{background:#e9f7ec}.failed,.error,.timeout,.forbidden{background:#fdecea}
.manual{background:#fff8e1}.cell{border-left:4px solid #9ab;padding:.3rem .6rem;margin:.6rem 0;
background:#f7f9fb}.comment{margin:.3rem 0 0}
"""


def mistake_text(code: str | None) -> str:
    """The mistake's short title from the course's one vocabulary (convlib.mistakes)."""
    return title(code)


class Cell(NamedTuple):
    """What feedback needs of a notebook cell, every field of the right type."""

    kind: str  # "code", "markdown", ...
    source: str
    grade_id: str  # "" outside nbgrader's cells
    solution: bool


def _cell(raw) -> Cell | None:
    """The cell as a Cell, or None if it is not a well-formed notebook cell (a student may have
    written anything into the file: a source list holding numbers, metadata that is a list...)."""
    if not isinstance(raw, dict):
        return None
    source = raw.get("source", "")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        source = "".join(source)
    meta = raw.get("metadata", {})
    nbgrader = (meta.get("nbgrader") or {}) if isinstance(meta, dict) else None
    grade_id = nbgrader.get("grade_id", "") if isinstance(nbgrader, dict) else None
    kind = raw.get("cell_type")
    if not (isinstance(source, str) and isinstance(grade_id, str) and isinstance(kind, str)):
        return None
    return Cell(kind, source, grade_id, bool(nbgrader.get("solution")))


def notebook_cells(path: Path) -> list[Cell]:
    """The well-formed cells of a trusted notebook (source/ or release/); none if unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    cells = data.get("cells") if isinstance(data, dict) else None
    return [c for c in map(_cell, cells if isinstance(cells, list) else []) if c]


def student_answers(path: Path) -> tuple[list[Cell], str | None]:
    """The answer cells of a submitted notebook, read as strictly as the grader reads it (a
    regular file, not a link; within the size limit; a valid nbformat 4 notebook), and why it,
    or some of its cells, could not be read (None if it could)."""
    from .submitted import read_submission

    nb, error = read_submission(path)
    if nb is None:
        return [], error
    cells = [_cell(raw) for raw in nb.cells]
    damaged = [str(i) for i, cell in enumerate(cells, start=1) if cell is None]
    answers = [cell for cell in cells if cell and cell.solution]
    if damaged:
        return answers, (f"{path.name}: the nbgrader metadata of cell {', '.join(damaged)} is "
                         "damaged; start from a fresh copy of the released notebook and paste "
                         "your answers into it")
    return answers, None


def secret_lines(source_notebook: Path, release_notebook: Path) -> set[str]:
    """Lines of hidden tests and reference solutions in the trusted notebook that the released
    notebook does not contain (so a signature or a visible test is not treated as secret)."""
    public = {line.strip() for cell in notebook_cells(release_notebook)
              for line in cell.source.splitlines()}
    secret = set()
    for cell in notebook_cells(source_notebook):
        text = cell.source
        lines = text.splitlines()
        if cell.solution and "BEGIN SOLUTION" not in text:
            hidden = lines  # the whole cell is the reference answer
        else:
            hidden, inside = [], False
            for line in lines:
                if re.search(r"###\s*BEGIN (SOLUTION|HIDDEN TESTS)", line):
                    inside = True
                elif re.search(r"###\s*END (SOLUTION|HIDDEN TESTS)", line):
                    inside = False
                elif inside:
                    hidden.append(line)
        secret |= {line.strip() for line in hidden
                   if len(line.strip()) >= 8 and line.strip() not in public}
    return secret


def scrub(message: str, secret: set[str], own: set[str]) -> str:
    """Blank out message lines that quote secret code (unless the student wrote that line)."""
    out = []
    for line in (message or "").splitlines():
        stripped = line.strip()
        leak = any(s in line for s in secret if s not in own) if stripped else False
        out.append("[hidden]" if leak else line)
    return "\n".join(out)


def test_descriptions(release_notebook: Path) -> dict[str, str]:
    """grade_id -> the first line of the test cell's docstring ("Check that ...")."""
    found = {}
    for cell in notebook_cells(release_notebook):
        if not cell.grade_id:
            continue
        doc = None
        if cell.kind == "code":
            try:
                doc = ast.get_docstring(ast.parse(cell.source))
            except (SyntaxError, ValueError):
                doc = None
        found[cell.grade_id] = doc.strip().splitlines()[0] if doc and doc.strip() else ""
    return found


def _points(value) -> str:
    """Points as text; None (a cell still to be graded by hand) shows as a dash."""
    return "–" if value is None else f"{value:g}"


def _status_text(cell: dict) -> str:
    status = cell.get("status", "")
    if status == "manual" and cell.get("points") is None:
        return "to be graded by hand"
    if cell.get("by_hand") and status != "manual":
        return f"{STATUS_TEXT.get(status, status)}; points set by hand"
    return STATUS_TEXT.get(status, status)


def render(result: dict, descriptions: dict[str, str], student_cells: list[Cell],
           secret: set[str], unreadable: str | None = None) -> str:
    """The feedback page. `unreadable` says why the student's notebook could not be read (in
    full); the page then shows the answers it could read, if any."""
    e = html.escape
    own = {line.strip() for cell in student_cells for line in cell.source.splitlines()}
    title = f"{result.get('assignment')} / {result.get('notebook')} — {result.get('student')}"
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(title)}</title>"
             f"<style>{CSS}</style></head><body><h1>Feedback: {e(title)}</h1>"]
    if result.get("status") == "error":
        parts.append(f"<p><b>This notebook could not be graded.</b></p>"
                     f"<pre>{e(scrub(result.get('error') or '', secret, own))}</pre>")
    cells = result.get("cells") or []
    pending = sum(c.get("max_points") or 0 for c in cells
                  if c.get("status") == "manual" and c.get("points") is None)
    later = f" ({pending:g} more to be graded by hand)" if pending else ""
    parts.append(f"<p><b>Score: {_points(result.get('score'))} / {_points(result.get('max_score'))}"
                 f"</b>{later}</p>")
    flags = result.get("flags") or []
    if flags:
        parts.append(f"<p>Flags: {e(', '.join(flags))}</p>")
    notes = result.get("warnings") or []
    if notes:  # about the student's own file: an edited test cell, a stray file, ...
        parts.append("<h2>About your notebook</h2><ul>" + "".join(
            f"<li>{e(scrub(note, secret, own))}</li>" for note in notes) + "</ul>")
    if cells:
        parts.append("<h2>Tests</h2><table><tr><th>test</th><th>points</th><th>status</th>"
                     "<th>likely mistake</th><th>what the grader saw</th></tr>")
        for c in cells:
            status = c.get("status", "")
            what = descriptions.get(c.get("grade_id", ""), "")
            case = f"<br>case: {e(c['case'])}" if c.get("case") else ""
            parts.append(
                f"<tr class='{e(status)}'><td><code>{e(c.get('grade_id', ''))}</code>"
                f"<br>{e(what)}</td><td>{_points(c.get('points'))} / {_points(c.get('max_points'))}"
                f"</td><td>{e(_status_text(c))}</td>"
                f"<td>{e(mistake_text(c.get('mistake')))}{case}</td>"
                f"<td><pre>{e(scrub(c.get('message') or '', secret, own))}</pre></td></tr>")
        parts.append("</table>")
    if unreadable:
        parts.append("<p><b>Your notebook could not be read in full</b>; below are the answers "
                     "that could be read.</p>" if student_cells else
                     "<p><b>Your notebook could not be read</b>, so your answers are not shown "
                     "here.</p>")
        if unreadable != result.get("error"):  # an ungradable file's reason is shown above
            parts.append(f"<pre>{e(scrub(unreadable, secret, own))}</pre>")
    comments = dict(result.get("comments") or {})
    if student_cells:
        parts.append("<h2>Your answers</h2>")
        for cell in student_cells:
            comment = comments.pop(cell.grade_id, None)
            said = (f"<p class='comment'><b>Comment:</b> {e(comment)}</p>" if comment else "")
            parts.append(f"<div class='cell'><small>{e(cell.grade_id)}</small>"
                         f"<pre>{e(cell.source)}</pre>{said}</div>")
    if comments:  # on answers that could not be shown
        parts.append("<h2>Comments</h2>" + "".join(
            f"<p><code>{e(gid)}</code>: {e(text)}</p>" for gid, text in sorted(comments.items())))
    parts.append("</body></html>\n")
    return "".join(parts)


def _check_release(course: Course, assignment: str, results: list[dict]) -> None:
    """What `nbgrader release_feedback` needs: an exchange, and each submission's
    timestamp.txt and submission_secret.txt (written by collect --exchange, not by a zip)."""
    if course.exchange is None:
        raise WorkflowError(
            f"no JupyterHub exchange is configured in {course.root}, so there is nowhere to "
            f"release feedback to; run `{PROG} feedback {assignment}` without --release and send "
            f"each student their folder of {course.root / 'feedback'} through your LMS (or set "
            "c.Exchange.root in nbgrader_config.py)")
    missing = sorted({r["student"] for r in results if not all(
        (course.root / "submitted" / r["student"] / assignment / name).is_file()
        for name in ("timestamp.txt", "submission_secret.txt"))})
    if missing:
        raise WorkflowError(
            f"{len(missing)} submission(s) of {assignment} did not come from the exchange "
            f"(no submission_secret.txt): {', '.join(missing[:10])}"
            f"{' …' if len(missing) > 10 else ''}; only submissions collected with "
            f"`{PROG} collect {assignment} --exchange` can be released there. Nothing was "
            "written; run feedback without --release and send their pages through your LMS")


def generate_feedback(course: Course, assignment: str, release: bool | None = None
                      ) -> list[Path]:
    """Write feedback HTML for every graded submission of `assignment` (scores and comments
    given by hand in the formgrader included); returns the files. With `release`, also release
    it to the JupyterHub exchange: checked before any page is written."""
    course.require_released(assignment)
    results = course.results(assignment)
    if not results:
        raise WorkflowError(f"no graded submission of {assignment} in {course.root}/autograded; "
                            f"run `python -m autograder grade {assignment} --course "
                            f"{course.root}` first")
    if release:
        _check_release(course, assignment, results)
    written = []
    for result in results:
        student, notebook = result["student"], result["notebook"]
        release_nb = course.root / "release" / assignment / f"{notebook}.ipynb"
        source_nb = course.root / "source" / assignment / f"{notebook}.ipynb"
        submitted = course.root / "submitted" / student / assignment
        answers, unreadable = student_answers(submitted / f"{notebook}.ipynb")
        page = render(result, test_descriptions(release_nb), answers,
                      secret_lines(source_nb, release_nb), unreadable)
        out = course.root / "feedback" / student / assignment / f"{notebook}.html"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
        for name in ("timestamp.txt", "submission_secret.txt"):  # release_feedback reads them
            # the student's folder: a link would copy whatever it points to into the feedback
            if (submitted / name).is_file() and not (submitted / name).is_symlink():
                shutil.copy2(submitted / name, out.parent / name)
        written.append(out)
    if release is None:  # the exchange needs nbgrader collect's submission_secret.txt
        release = course.exchange is not None and all(
            (p.parent / "submission_secret.txt").exists() for p in written)
    if release:
        course.nbgrader("release_feedback", assignment)
    return written
