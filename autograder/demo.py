"""A demo class: build a realistic synthetic class and run the instructor's whole week on it.

    python -m autograder demo [DIR] [--students N]

Makes a course folder (``DIR/course``, or a new temporary folder), releases ``02_conv2d``, writes
an LMS-style "download all submissions" zip (``DIR/lms-download.zip``) with one notebook per
student from the grader's catalogue (honest solutions in several styles, each common mistake, a
few hostile and broken submissions, and one stray file the collector cannot match), then runs
collect → grade → feedback → export → report and prints the grade table and where the report is.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

from . import submissions as catalogue
from .course import PROG, Course, WorkflowError, init, release

# A class that shows every kind of outcome without taking long: the attacks that need a timeout or
# a memory limit to end are left out of the demo (the grader's tests cover them).
DEMO_ATTACKS = ("attack_patch_testing", "attack_array_function", "attack_scipy",
                "attack_torch_functional", "attack_read_course", "attack_edit_test",
                "attack_os_exit")
DEMO_MALFORMED = ("invalid_json", "binary")


def demo_variants(students: int | None = None) -> list[str]:
    """Variant names for the demo class, honest ones first; `students` caps the count but always
    keeps at least one mistake, one attack and one broken file."""
    honest = list(catalogue.HONEST)
    mistakes = list(catalogue.MISTAKES)
    attacks = [a for a in DEMO_ATTACKS if a in catalogue.VARIANTS]
    broken = [m for m in DEMO_MALFORMED if m in catalogue.VARIANTS]
    names = honest + mistakes + attacks + broken
    if students is None or students >= len(names):
        return names
    if students < 4:
        raise WorkflowError("a demo class needs at least 4 students (--students 4)")
    keep = [mistakes[0], attacks[0], broken[0]]
    rest = [n for n in names if n not in keep]
    return rest[: students - len(keep)] + keep


def student_id(index: int, variant: str) -> str:
    # LMS file names are <student>_<notebook>.ipynb: no underscore inside the student id
    return f"s{index:02d}-{variant.replace('_', '-')}"


def write_lms_zip(course: Course, assignment: str, variants: list[str], zip_path: Path,
                  params: dict) -> dict[str, str]:
    """Write the class's notebooks into an LMS-style zip; returns student id -> variant."""
    staging = Path(tempfile.mkdtemp(prefix="conv-demo-staging-"))
    try:
        for step in ("source", "release"):
            shutil.copytree(course.root / step / assignment, staging / step / assignment)
        roster = {}
        with zipfile.ZipFile(zip_path, "w") as zf:
            for index, variant in enumerate(variants, start=1):
                student = student_id(index, variant)
                roster[student] = variant
                folder = catalogue.write_submission(staging, student, assignment, variant,
                                                    params=params)
                for path in sorted(folder.iterdir()):
                    zf.write(path, f"submissions/{student}_{path.name}")
            zf.writestr("submissions/README.txt", "exported by the LMS\n")
        return roster
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def demo(directory=None, assignment: str | None = None, students: int | None = None,
         workers: int | None = None) -> int:
    from . import grade as engine
    from .collect import collect_zip
    from .export import export
    from .feedback import generate_feedback
    from .report import build, grade_table

    assignment = assignment or catalogue.ASSIGNMENT
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

    variants = demo_variants(students)
    zip_path = root / "lms-download.zip"
    outside = root / "instructor-files"
    outside.mkdir(exist_ok=True)
    canary = outside / "canary.txt"
    canary.write_text("instructor's file\n")
    params = {"canary": str(canary), "course": str(course.root),
              "gradebook": str(course.root / "gradebook.db")}
    roster = write_lms_zip(course, assignment, variants, zip_path, params)
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
    for student, variant in roster.items():
        print(f"  {student}: {catalogue.VARIANTS[variant].description}")
    print()
    print(f"class report: {paths['html']}")
    print(f"course folder: {course.root} (open it in JupyterLab: Nbgrader → Formgrader)")
    untouched = canary.read_text() == "instructor's file\n"
    print(f"the instructor's canary file outside the course is untouched: {untouched}")
    return 0
