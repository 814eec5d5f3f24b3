"""A course folder: where nbgrader keeps one class's notebooks, submissions and gradebook.

    DIR/nbgrader_config.py                       written by `init`; nbgrader reads it from DIR
    DIR/source/<assignment>/<notebook>.ipynb     the trusted instructor notebooks (from solutions/)
    DIR/release/<assignment>/                    student versions (`release`)
    DIR/submitted/<student>/<assignment>/        collected submissions (`collect`)
    DIR/autograded/<student>/<assignment>/       graded notebooks, <notebook>.results.json (`grade`)
    DIR/feedback/<student>/<assignment>/         per-notebook feedback HTML (`feedback`)
    DIR/exports/, DIR/reports/                   grade tables (`export`), class report (`report`)
    DIR/gradebook.db                             nbgrader's gradebook
    DIR/shards/<assignment>/<K>-of-<N>.json      a `grade --shard K/N` run's manifest (`merge`)
    DIR/.hidden-tests-secret                     the hidden-test inputs' key (first `grade`)

The folder may live anywhere; every nbgrader run uses it as its working directory.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import nbgrader_cli
from .gradebook import open_gradebook, with_hand_grades

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
CONFIG_NAME = "nbgrader_config.py"
PROG = "python -m autograder"

CONFIG_TEMPLATE = '''"""nbgrader configuration of this course folder (written by `{prog} init`)."""

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# The gradebook is gradebook.db in this folder (nbgrader's default; nbgrader runs from here).
# Student notebooks never carry solutions or hidden tests.
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
{exchange}'''

EXCHANGE_TEMPLATE = '''# JupyterHub: the shared exchange (`release`, `collect --exchange`).
c.Exchange.root = {root!r}
'''


class WorkflowError(Exception):
    """A problem the instructor can fix; the message names it and says what to do."""


# A student id names folders, gradebook rows, CSV cells, nbgrader's exchange files (which use
# "+" as a separator) and a command-line argument (`grade --student ID`), so it is kept to
# characters that mean nothing in any of them.
STUDENT_ID = re.compile(r"[^\W_][\w.@-]{0,127}")  # letters of any script: müllerjörg
STUDENT_ID_RULE = ("letters, digits and . _ @ - only, starting with a letter or digit (no "
                   "spaces), at most 128 characters")


def valid_student_id(student: str) -> bool:
    return STUDENT_ID.fullmatch(student) is not None


@dataclass
class Course:
    root: Path

    @classmethod
    def open(cls, path) -> Course:
        """The course folder at `path`, or a WorkflowError saying how to create one."""
        root = Path(path).expanduser().resolve()
        if not root.is_dir():
            raise WorkflowError(
                f"course folder {root} does not exist; create it with `{PROG} init {path}` "
                "or pass the right folder with --course DIR")
        if not (root / CONFIG_NAME).is_file():
            raise WorkflowError(
                f"{root} is not a course folder (it has no {CONFIG_NAME}); create one with "
                f"`{PROG} init {path}` or pass the right folder with --course DIR")
        return cls(root)

    # ------------------------------------------------------------------ layout
    def path(self, step: str, student: str = ".", assignment: str = ".") -> Path:
        return (self.root / step / student / assignment).resolve() if step in (
            "submitted", "autograded", "feedback") else (self.root / step / assignment).resolve()

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    def config_value(self, section: str, name: str, default=None):
        """A value from the course's nbgrader_config.py (e.g. Exchange.root)."""
        from traitlets.config.loader import PyFileConfigLoader
        try:
            config = PyFileConfigLoader(CONFIG_NAME, path=str(self.root)).load_config()
        except Exception as exc:  # a syntax error in the instructor's config file
            raise WorkflowError(f"{self.root / CONFIG_NAME} cannot be read ({exc}); fix it "
                                "or recreate the folder with init") from exc
        value = config.get(section, {}).get(name, default)
        return default if value is None or not isinstance(value, (str, int, float)) else value

    @property
    def course_id(self) -> str:
        return str(self.config_value("CourseDirectory", "course_id", ""))

    @property
    def exchange(self) -> str | None:
        root = self.config_value("Exchange", "root", None)
        return str(root) if root else None

    def source_assignments(self) -> list[str]:
        return sorted(p.name for p in (self.root / "source").glob("*") if p.is_dir())

    def released_assignments(self) -> list[str]:
        return sorted(p.name for p in (self.root / "release").glob("*")
                      if p.is_dir() and any(p.glob("*.ipynb")))

    def notebooks(self, assignment: str, step: str = "release") -> list[str]:
        """Notebook names (without .ipynb) of an assignment in source/ or release/."""
        return sorted(p.stem for p in (self.root / step / assignment).glob("*.ipynb"))

    def students(self, assignment: str, step: str = "submitted") -> list[str]:
        return sorted(p.parent.name for p in (self.root / step).glob(f"*/{assignment}")
                      if p.is_dir())

    # ------------------------------------------------------------------ checks
    def require_source(self, assignment: str) -> None:
        if not (self.root / "source" / assignment).is_dir():
            have = ", ".join(self.source_assignments()) or "none"
            raise WorkflowError(
                f"there is no assignment {assignment!r} in {self.root / 'source'} (available: "
                f"{have}); check the name, or copy its folder into source/")

    def require_released(self, assignment: str) -> None:
        self.require_source(assignment)
        if assignment not in self.released_assignments():
            raise WorkflowError(
                f"assignment {assignment!r} was never released in {self.root}; run "
                f"`{PROG} release {assignment} --course {self.root}` first")

    def incomplete_submissions(self, assignment: str) -> list[str]:
        """One line per submitted/<student>/<assignment>/ folder that lacks a released notebook."""
        wanted = self.notebooks(assignment)
        problems = []
        for student in self.students(assignment):
            folder = self.root / "submitted" / student / assignment
            missing = [nb for nb in wanted if not (folder / f"{nb}.ipynb").is_file()]
            if missing:
                found = sorted(p.name for p in folder.iterdir() if p.name != "timestamp.txt")
                problems.append(
                    f"submitted/{student}/{assignment}/ has no "
                    f"{', '.join(m + '.ipynb' for m in missing)} (found: "
                    f"{', '.join(found) or 'nothing'})")
        return problems

    # ------------------------------------------------------------------ nbgrader
    def nbgrader(self, *args: str, quiet: bool = True) -> str:
        """Run `nbgrader ARGS` in the course folder; a failure becomes a WorkflowError."""
        cmd = nbgrader_cli.command(*args)
        if quiet:
            cmd.append("--log-level=WARN")
        proc = subprocess.run(cmd, cwd=self.root, env=nbgrader_cli.environment(),
                              capture_output=True, text=True)
        output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            tail = "\n".join(line for line in output.splitlines()[-15:] if line.strip())
            raise WorkflowError(f"`nbgrader {' '.join(args)}` failed in {self.root}:\n{tail}")
        return output

    def results(self, assignment: str | None = None, hand_grades: bool = True) -> list[dict]:
        """Every grader results JSON under autograded/ (see docs/architecture.md), with the
        gradebook's final scores laid over it (`gradebook.with_hand_grades`: what the instructor
        graded by hand in the formgrader) unless `hand_grades` is False."""
        found = self._results_files(assignment)
        if hand_grades and found and (self.root / "gradebook.db").is_file():
            return with_hand_grades(found, self.db_url, self.course_id or None)
        return found

    def _results_files(self, assignment: str | None) -> list[dict]:
        pattern = f"*/{assignment or '*'}/*.results.json"
        found = []
        for path in sorted((self.root / "autograded").glob(pattern)):
            try:
                found.append(json.loads(path.read_text()))
            except PermissionError as exc:
                raise WorkflowError(f"{path} cannot be read by this account ({exc}); grade "
                                    "wrote it as another user: give the course folder back to "
                                    "the instructor (chown -R) or run both as the same user"
                                    ) from exc
            except (OSError, ValueError) as exc:
                raise WorkflowError(f"{path} is not valid JSON ({exc}); run grade again for "
                                    "that assignment") from exc
        return found


def init(path, course_id: str = "conv-from-scratch", exchange: str | None = None,
         assignments: list[str] | None = None, solutions: Path = SOLUTIONS) -> Course:
    """Create a course folder: nbgrader_config.py, source/ from the repository's solutions/,
    and an empty gradebook. Refuses to overwrite an existing course folder's files."""
    root = Path(path).expanduser().resolve()
    if (root / CONFIG_NAME).exists():
        raise WorkflowError(
            f"{root} is already a course folder (it has {CONFIG_NAME}); use it as it is, or "
            "choose a new folder to start over")
    available = sorted(p.name for p in solutions.glob("*") if p.is_dir()
                       and any(p.glob("*.ipynb")))
    chosen = assignments or available
    unknown = [a for a in chosen if a not in available]
    if unknown:
        raise WorkflowError(f"no assignment {', '.join(unknown)} in the repository's solutions/ "
                            f"(available: {', '.join(available) or 'none'})")
    if not chosen:
        raise WorkflowError("the repository's solutions/ holds no assignment notebooks yet")
    root.mkdir(parents=True, exist_ok=True)
    for name in chosen:
        dest = root / "source" / name
        if dest.exists():
            raise WorkflowError(f"{dest} already exists; remove it or choose a new folder")
        shutil.copytree(solutions / name, dest,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    if exchange:
        Path(exchange).expanduser().mkdir(parents=True, exist_ok=True)
    exchange_text = EXCHANGE_TEMPLATE.format(
        root=str(Path(exchange).expanduser().resolve())) if exchange else ""
    (root / CONFIG_NAME).write_text(CONFIG_TEMPLATE.format(
        prog=PROG, course_id=course_id, exchange=exchange_text))
    course = Course(root)
    with open_gradebook(course.db_url, course_id):  # creates gradebook.db, nbgrader's schema
        pass
    return course


def release(course: Course, assignment: str, exchange: bool | None = None) -> list[str]:
    """Generate the student version into release/ (and release it to the JupyterHub exchange
    when one is configured). Returns the released notebook names."""
    course.require_source(assignment)
    course.nbgrader("generate_assignment", assignment, "--force")
    if exchange is None:
        exchange = course.exchange is not None
    if exchange:
        if course.exchange is None:
            raise WorkflowError(
                f"no JupyterHub exchange is configured in {course.root / CONFIG_NAME}; add "
                "`c.Exchange.root = '<shared folder>'` or create the course with init --exchange")
        course.nbgrader("release_assignment", assignment, "--force")
    return course.notebooks(assignment)
