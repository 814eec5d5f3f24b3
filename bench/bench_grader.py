"""Grading speed: stock `nbgrader autograde` against the sandboxed grader, side by side.

    python bench/bench_grader.py [--sizes 8,41,100] [--workers N] [--quick]

For each class size, builds one class of honest submissions of 02_conv2d (the variants of
tests.fixtures.submissions.HONEST in turn), copies it into two identical course folders, grades
one with `nbgrader autograde` (serial, one kernel per notebook) and the other with
`python -m autograder grade` (sandboxed, parallel, pre-warmed fork server), and prints one table
of the times, the ratio and the full marks each grader gives, then one JSON line per size.

Target (the issue): the sandboxed grader at least 10x faster than stock nbgrader at every class
size from 8 to 100, on a 2-core machine. The sandboxed time includes the sandbox's one-time start
(a few seconds per worker, paid once per run), so it counts most in the smallest class.
--quick grades 8 students only, as a smoke run (about two minutes); the default sizes take
about 15 minutes of both cores.

Stock nbgrader marks down honest submissions that print to stderr; the table reports the marks
each grader gives, and the variants stock marked down are named below it.
A sandbox that cannot start raises autograder.grade.GradeError, which stops the run with its
message.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.grade import grade_assignment  # noqa: E402
from tests.fixtures import submissions as S  # noqa: E402

A = "02_conv2d"
TARGET = 10
DEFAULT_SIZES = (8, 41, 100)
CONFIG = '''c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "bench"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
'''


class Row(NamedTuple):
    """One class size graded both ways."""
    students: int
    stock_s: float
    ours_s: float
    stock_full: int
    ours_full: int
    marked_down: dict  # honest variant -> how many of its submissions stock did not give full

    @property
    def ratio(self):
        return self.stock_s / self.ours_s


def env_for(tmp):
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
                 "MPLCONFIGDIR"):
        env.setdefault(name, str(Path(tmp) / name.lower()))
    env.setdefault("MPLBACKEND", "Agg")
    # stock nbgrader's kernel imports convlib like a student's kernel: from the repository
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def nbgrader(course, env, *args):
    return subprocess.run([sys.executable, "-m", "nbgrader", *args,
                           f"--CourseDirectory.root={course}", "--log-level=ERROR"],
                          cwd=course, env=env, check=True, capture_output=True, text=True)


def build_release(course, env):
    """A course folder with the source and the generated release, no submissions yet."""
    course.mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(CONFIG)
    shutil.copytree(ROOT / "solutions" / A, course / "source" / A)
    nbgrader(course, env, "generate_assignment", A, "--force")
    return course


def build_class(release, course, students):
    shutil.copytree(release, course)
    for i in range(students):
        S.write_submission(course, f"s{i:03d}", A, variant_of(i))
    return course


def variant_of(index):
    return S.HONEST[index % len(S.HONEST)]


def stock_scores(course):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="bench") as gb:
        return {s.student.id: s.score for s in gb.find_assignment(A).submissions}


def measure(tmp, release, env, students, workers):
    """Build one class of `students`, grade identical copies both ways, return its Row."""
    base = build_class(release, tmp / f"class-{students}", students)
    stock, ours = tmp / f"stock-{students}", tmp / f"ours-{students}"
    shutil.copytree(base, stock)
    shutil.copytree(base, ours)

    start = time.perf_counter()
    nbgrader(stock, env, "autograde", A, "--force")
    t_stock = time.perf_counter() - start

    start = time.perf_counter()  # includes starting the sandboxes
    results = grade_assignment(ours, A, workers=workers, progress=False)
    t_ours = time.perf_counter() - start

    # the reflection questions are graded by hand: full autograded marks leave them out
    manual = sum(c["max_points"] for c in results[0]["cells"] if c["status"] == "manual")
    full = results[0]["max_score"] - manual
    by_student = stock_scores(stock)
    marked_down = {}
    for student, score in by_student.items():
        if score != full:
            name = variant_of(int(student[1:]))
            marked_down[name] = marked_down.get(name, 0) + 1
    return Row(students, t_stock, t_ours, sum(v == full for v in by_student.values()),
               sum(r["score"] == full for r in results), marked_down)


def sizes_arg(text):
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a list of class sizes; write positive integers joined by commas, "
            "e.g. 8,41,100")
    return sizes


def print_table(rows):
    header = ("students", "stock nbgrader (s)", "sandboxed (s)", "ratio", "full marks stock",
              "full marks ours")
    widths = [len(h) for h in header]
    print(" | ".join(header))
    for r in rows:
        cells = (str(r.students), f"{r.stock_s:.1f}", f"{r.ours_s:.1f}", f"{r.ratio:.1f}x",
                 f"{r.stock_full}/{r.students}", f"{r.ours_full}/{r.students}")
        print(" | ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=sizes_arg, default=list(DEFAULT_SIZES),
                   help="class sizes, comma-separated (default: 8,41,100)")
    p.add_argument("--quick", action="store_true", help="8 students only: a smoke run")
    p.add_argument("--workers", type=int, default=None,
                   help="sandboxed workers (default: one per CPU)")
    args = p.parse_args(argv)
    # as in autograder.grade.main: nbgrader's gradebook API trips SQLAlchemy's autoflush warnings
    warnings.filterwarnings("ignore", message=".*not in session.*")
    sizes = [8] if args.quick else args.sizes
    if not (ROOT / "solutions" / A / f"{A}.ipynb").exists():
        sys.exit(f"solutions/{A}/{A}.ipynb does not exist yet")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-grader-") as tmp:
        tmp = Path(tmp)
        env = env_for(tmp)
        os.environ.update({k: v for k, v in env.items() if k not in os.environ})
        release = build_release(tmp / "release", env)
        for n in sizes:
            rows.append(measure(tmp, release, env, n, args.workers))

    print(f"\nGrading honest submissions of {A}: stock nbgrader autograde (serial, "
          f"unsandboxed) and the sandboxed grader (parallel, {args.workers or os.cpu_count()} "
          f"workers; sandbox start included), {os.cpu_count()} CPUs")
    print_table(rows)
    for r in rows:
        if r.marked_down:
            print(f"{r.students} students: stock nbgrader marked down honest work that prints "
                  "to stderr: " + ", ".join(f"{name} x{count}"
                                             for name, count in sorted(r.marked_down.items())))
    missed = [r.students for r in rows if r.ratio < TARGET]
    print(f"target >= {TARGET}x at every size: "
          + (f"missed at {', '.join(map(str, missed))} students" if missed else "met"))
    for r in rows:
        print(json.dumps({"students": r.students, "stock_s": round(r.stock_s, 2),
                          "ours_s": round(r.ours_s, 2), "ratio": round(r.ratio, 2),
                          "stock_full": r.stock_full, "ours_full": r.ours_full}))


if __name__ == "__main__":
    main()
