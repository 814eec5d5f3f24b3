"""A demo class: build a realistic synthetic class and run the instructor's whole week on it.

    python -m autograder demo [DIR] [--students N]

Makes a course folder (``DIR/course``, or a new temporary folder), releases ``02_conv2d``, writes
an LMS-style "download all submissions" zip (``DIR/lms-download.zip``) with one notebook per
student of the demo class (autograder/demo_class.py: honest solutions in several styles, the
common mistakes, a file that is not a notebook, and one stray file the collector cannot match),
then runs collect → grade → feedback → export → report and prints the grade table and where the
report is.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from .course import PROG, Course, WorkflowError, init, release
from .demo_class import ASSIGNMENT, DemoStudent, demo_students, student_notebook


def student_id(index: int, name: str) -> str:
    # LMS file names are <student>_<notebook>.ipynb: no underscore inside the student id
    return f"s{index:02d}-{name.replace('_', '-')}"


def write_lms_zip(course: Course, assignment: str, students: list[DemoStudent],
                  zip_path: Path) -> dict[str, DemoStudent]:
    """Write the class's notebooks into an LMS-style zip; returns student id -> DemoStudent."""
    import nbformat
    released = nbformat.read(course.root / "release" / assignment / f"{assignment}.ipynb",
                             as_version=4)
    source = nbformat.read(course.root / "source" / assignment / f"{assignment}.ipynb",
                           as_version=4)
    roster = {}
    with zipfile.ZipFile(zip_path, "w") as zf:
        for index, student in enumerate(students, start=1):
            sid = student_id(index, student.name)
            roster[sid] = student
            text = student.raw if student.raw is not None else nbformat.writes(
                student_notebook(student, released, source))
            zf.writestr(f"submissions/{sid}_{assignment}.ipynb", text)
        zf.writestr("submissions/README.txt", "exported by the LMS\n")
    return roster


def demo(directory=None, assignment: str | None = None, students: int | None = None,
         workers: int | None = None) -> int:
    from . import grade as engine
    from .collect import collect_zip
    from .export import export
    from .feedback import generate_feedback
    from .report import build, grade_table

    assignment = assignment or ASSIGNMENT
    chosen = demo_students(students)  # a wrong --students stops here, before any folder is made
    root = Path(directory).expanduser().resolve() if directory else Path(
        tempfile.mkdtemp(prefix="conv-demo-"))
    course_dir = root / "course"
    if course_dir.exists():
        raise WorkflowError(f"{course_dir} already exists; pick a new folder for the demo "
                            f"(`{PROG} demo NEW_DIR`) or delete it")
    root.mkdir(parents=True, exist_ok=True)
    print(f"[1/7] init: a course folder in {course_dir}")
    course = init(course_dir, assignments=[assignment])
    print(f"[2/7] release: the student version of {assignment}")
    release(course, assignment)

    zip_path = root / "lms-download.zip"
    roster = write_lms_zip(course, assignment, chosen, zip_path)
    print(f"[3/7] collect: {len(roster)} students from the LMS zip {zip_path}")
    print(collect_zip(course, assignment, zip_path).text())

    print("[4/7] grade: in the sandbox, in parallel")
    argv = [assignment, "--course", str(course.root)]
    if workers:
        argv += ["--workers", str(workers)]
    status = engine.main(argv)
    if status:
        return status
    print("[5/7] feedback")
    pages = generate_feedback(course, assignment)
    print(f"  {len(pages)} feedback page(s) under {course.root / 'feedback'}")
    print("[6/7] export")
    for name, path in export(course).items():
        print(f"  {name}: {path}")
    print("[7/7] report")
    paths = build(course, assignment=assignment)

    print()
    print(grade_table(course.results(assignment)))
    print()
    print("what each demo student submitted:")
    for sid, student in roster.items():
        print(f"  {sid}: {student.description}")
    print()
    print(f"class report: {paths['html']}")
    print(f"course folder: {course.root} (open it in JupyterLab: Nbgrader → Formgrader)")
    return 0
