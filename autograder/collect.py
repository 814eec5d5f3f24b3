"""Bring submissions into DIR/submitted/: from a JupyterHub exchange (`nbgrader collect`) or from
an LMS download, a zip of files named by student (`nbgrader zip_collect`).

LMS file names. The default pattern accepts, anywhere in the zip,

    <student>_<notebook>.ipynb                       s01_02_conv2d.ipynb
    <student>_<anything>_<notebook>[-N].ipynb        doejane_12345_678901_02_conv2d-1.ipynb (Canvas)
    <name>_<number>_assignsubmission_file_<notebook>.ipynb   (Moodle: the student is <number>)

where <student> has no underscore and starts with a letter or digit, and <notebook> is one of the
assignment's released notebooks. Another LMS needs `--pattern REGEX`: a Python regular expression
matched against the whole extracted path (so start it with `.*/`), with the named groups
`student_id` and `file_id` (the notebook name) and optionally `timestamp`, exactly as nbgrader's
FileNameCollectorPlugin.named_regexp.

The zip is checked before anything is imported: a file that is not a zip, two files for the same
student and notebook (without timestamps to choose between them), or a student id that cannot be
used (course.STUDENT_ID: no spaces, ...) stops the import and leaves submitted/ untouched. Files
that match no student are listed in the report with the reason (not a notebook, a name that
does not fit the pattern, a notebook of another assignment). nbgrader's scratch folder
(downloaded/<assignment>/) is removed once the import is done.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .course import PROG, STUDENT_ID_RULE, Course, WorkflowError, valid_student_id

PATTERN_DOC = "<student>_<notebook>.ipynb or <student>_<anything>_<notebook>.ipynb"
ANOTHER = "a notebook of another assignment"


def default_pattern(notebooks: list[str]) -> str:
    """Canvas and plain names: the student is the first part; Moodle's
    `Full Name_1234567_assignsubmission_file_<notebook>`: the student is the participant number
    (the full name before it is skipped: it has spaces and is not unique)."""
    names = "|".join(re.escape(nb) for nb in sorted(notebooks, key=len, reverse=True))
    moodle_name = r"(?:[^/_]*_(?=[0-9]+_assignsubmission_file_))?"
    return (rf"^.*/{moodle_name}(?P<student_id>[^\W_][^_/]*)_(?:[^/]*_)?"
            rf"(?P<file_id>{names})(?:-[0-9]+)?\.ipynb$")


@dataclass
class CollectReport:
    assignment: str
    source: str
    students: dict[str, list[str]] = field(default_factory=dict)  # student -> notebooks
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)

    def text(self) -> str:
        lines = [f"collected {self.assignment} from {self.source}: "
                 f"{len(self.students)} student(s)"]
        for student, notebooks in sorted(self.students.items()):
            lines.append(f"  {student}: {', '.join(notebooks)}")
        if self.unmatched:
            lines.append(f"{len(self.unmatched)} file(s) could not be matched to a student and "
                         "a notebook and were NOT imported:")
            lines += [f"  {name}: {reason}" for name, reason in self.unmatched]
            if any(not reason.startswith(ANOTHER) for _, reason in self.unmatched):
                lines.append(f"  Expected file names: {PATTERN_DOC} (or pass --pattern REGEX); "
                             "rename them in the zip and collect again.")
        return "\n".join(lines)


def _zip_members(zip_path: Path, pattern: str) -> tuple[re.Pattern, list[str]]:
    """The compiled --pattern and the files of the zip; a WorkflowError for a missing, damaged
    or non-zip file or an unusable pattern."""
    if not zip_path.is_file():
        raise WorkflowError(f"{zip_path} does not exist; pass the zip file your LMS gave you "
                            "with --zip FILE")
    if not zipfile.is_zipfile(zip_path):
        raise WorkflowError(f"{zip_path} is not a zip file; download the submissions again "
                            "from your LMS as one .zip (\"download all submissions\")")
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise WorkflowError(f"--pattern {pattern!r} is not a valid regular expression ({exc})"
                            ) from exc
    if not {"student_id", "file_id"} <= set(regex.groupindex):
        raise WorkflowError("--pattern must contain the named groups (?P<student_id>...) and "
                            "(?P<file_id>...)")
    try:
        with zipfile.ZipFile(zip_path) as zf:
            bad = zf.testzip()
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise WorkflowError(f"{zip_path} is damaged ({exc}); download it again") from exc
    if bad is not None:
        raise WorkflowError(f"{zip_path} is damaged (member {bad} fails its checksum); "
                            "download it again")
    return regex, names


def _why_not(name: str, match: re.Match | None, notebooks: list[str], other: str | None
             ) -> str | None:
    """Why the zip member `name` is not imported (None: it is). `other`: the assignment whose
    notebook it is, if it is one of another assignment."""
    stem = Path(match["file_id"]).stem if match else None
    if not name.endswith(".ipynb"):
        return "not a notebook (.ipynb)"
    if stem in notebooks:
        return None
    if other:
        return (f"{ANOTHER} ({other}); collect it with "
                f"`{PROG} collect {other} --zip …`")
    if not match:
        return "the name does not match the file-name pattern"
    return f"{match['file_id']!r} is not a notebook of this assignment ({', '.join(notebooks)})"


def _check_zip(zip_path: Path, pattern: str, notebooks: list[str], probe_root: str,
               others: dict[str, str] | None = None) -> CollectReport:
    """Match every member of the zip as nbgrader will see it once extracted. `others` maps the
    notebooks of the course's other assignments to their assignment, to say so when one is in
    the zip."""
    regex, names = _zip_members(zip_path, pattern)
    report = CollectReport(assignment="", source=str(zip_path))
    seen: dict[tuple[str, str], list[str]] = {}
    bad_ids: list[str] = []
    others = others or {}
    elsewhere = re.compile(default_pattern(list(others))) if others else None
    for name in names:
        member = PurePosixPath(name)
        if member.name.startswith(".") or "__MACOSX" in member.parts:
            continue  # operating-system litter, not a submission
        path = f"{probe_root}/{zip_path.stem}/{name}"
        match = regex.match(path)
        stem = Path(match["file_id"]).stem if match else None
        other = stem
        if stem not in notebooks and stem not in others and elsewhere is not None and (
                found := elsewhere.match(path)):
            other = found["file_id"]
        reason = _why_not(name, match, notebooks, others.get(other))
        if reason:
            report.unmatched.append((name, reason))
        elif not valid_student_id(match["student_id"]):
            bad_ids.append(f"{match['student_id']!r} (from {name})")
        else:
            seen.setdefault((match["student_id"], stem), []).append(name)
    if bad_ids:
        raise WorkflowError(
            f"{len(bad_ids)} file(s) name a student id that cannot be used: "
            f"{', '.join(bad_ids)}. A student id must have {STUDENT_ID_RULE}. Nothing was "
            "imported. Rename those files in the zip (or pass a --pattern whose student_id "
            "group takes another part of the name), then run collect again.")
    duplicates = {key: files for key, files in seen.items() if len(files) > 1}
    if duplicates and "timestamp" not in regex.groupindex:
        lines = [f"student {s} has {len(files)} files for {nb}.ipynb in the zip: "
                 f"{', '.join(files)}" for (s, nb), files in sorted(duplicates.items())]
        raise WorkflowError(
            "\n".join(lines) + "\nNothing was imported. Keep only the file to grade for each "
            "student (delete the others from the zip), then run collect again.")
    for (student, notebook) in sorted(seen):
        report.students.setdefault(student, []).append(notebook)
    return report


def collect_zip(course: Course, assignment: str, zip_path, pattern: str | None = None
                ) -> CollectReport:
    """Import an LMS download into submitted/ with nbgrader's zip_collect."""
    course.require_released(assignment)
    zip_path = Path(zip_path).expanduser().resolve()
    notebooks = course.notebooks(assignment)
    pattern = pattern or default_pattern(notebooks)
    downloaded = course.root / "downloaded" / assignment
    others = {nb: other for other in course.source_assignments() if other != assignment
              for nb in course.notebooks(other, step="source")}
    report = _check_zip(zip_path, pattern, notebooks, str(downloaded / "extracted"), others)
    report.assignment = assignment
    if not report.students:
        raise WorkflowError(
            f"no file in {zip_path} matched a student and a notebook of {assignment} "
            f"({', '.join(nb + '.ipynb' for nb in notebooks)}); expected names like "
            f"{PATTERN_DOC}, or pass --pattern REGEX\n" + report.text())
    # nbgrader's zip_collect works in downloaded/<assignment>/: it extracts what archive/ holds
    # into extracted/ and copies the matching notebooks into submitted/. Both are scratch
    # space, removed afterwards: submitted/ is the one copy of the students' work in the
    # course folder (the zip is the instructor's own file).
    _remove_scratch(downloaded)
    archive = downloaded / "archive"
    archive.mkdir(parents=True)
    shutil.copy2(zip_path, archive / zip_path.name)
    try:
        course.nbgrader("zip_collect", assignment, "--force", "--strict",
                        f"--FileNameCollectorPlugin.named_regexp={pattern}")
    finally:
        _remove_scratch(downloaded)
    missing = [s for s in report.students
               if not (course.root / "submitted" / s / assignment).is_dir()]
    if missing:
        raise WorkflowError(f"nbgrader zip_collect did not import {', '.join(missing)}; check "
                            f"their files in {zip_path} and run collect again")
    return report


def _remove_scratch(downloaded: Path) -> None:
    """Remove zip_collect's archive/ and extracted/ folders of one assignment, and the
    folders above them if that leaves them empty."""
    for step in ("archive", "extracted"):
        if (downloaded / step).exists():
            shutil.rmtree(downloaded / step)
    for folder in (downloaded, downloaded.parent):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def collect_exchange(course: Course, assignment: str) -> CollectReport:
    """Collect the JupyterHub exchange's submissions with `nbgrader collect`."""
    course.require_released(assignment)
    if course.exchange is None:
        raise WorkflowError(
            f"no JupyterHub exchange is configured in {course.root}; collect an LMS download "
            f"with `{PROG} collect {assignment} --zip FILE`, or set c.Exchange.root in "
            "nbgrader_config.py")
    before = {s: _timestamp(course, s, assignment) for s in course.students(assignment)}
    course.nbgrader("collect", assignment, "--update")
    report = CollectReport(assignment=assignment, source=f"the exchange {course.exchange}")
    for student in course.students(assignment):
        if before.get(student) != _timestamp(course, student, assignment):
            folder = course.root / "submitted" / student / assignment
            report.students[student] = sorted(p.stem for p in folder.glob("*.ipynb"))
    return report


def _timestamp(course: Course, student: str, assignment: str) -> str | None:
    stamp = course.root / "submitted" / student / assignment / "timestamp.txt"
    return stamp.read_text() if stamp.exists() else None
