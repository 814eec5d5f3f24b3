"""Grading speed: stock `nbgrader autograde` against the sandboxed grader, side by side.

    python bench/bench_grader.py [--students 100] [--workers N]

Builds one class of honest submissions of 02_conv2d (the variants of
autograder.submissions.HONEST in turn), copies it into two identical course folders, grades one
with `nbgrader autograde` (serial, one kernel per notebook) and the other with
`python -m autograder grade` (sandboxed, parallel, pre-warmed fork server), and prints the
times, the scores both give, and the ratio. Target: the sandboxed grader at least 8x faster.
The sandbox's one-time start (a few seconds per worker, paid once per run) weighs on small
classes: use the 100-student default for the ratio, --students 8 only as a quick check.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import submissions as S  # noqa: E402
from autograder.grade import grade_assignment  # noqa: E402

A = "02_conv2d"
CONFIG = '''c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "bench"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
'''


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


def build_class(course, env, students):
    course.mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(CONFIG)
    shutil.copytree(ROOT / "solutions" / A, course / "source" / A)
    nbgrader(course, env, "generate_assignment", A, "--force")
    for i in range(students):
        name = S.HONEST[i % len(S.HONEST)]
        S.write_submission(course, f"s{i:03d}", A, name)
    return course


def stock_scores(course):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="bench") as gb:
        return {s.student.id: s.score for s in gb.find_assignment(A).submissions}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=100)
    p.add_argument("--workers", type=int, default=None)
    args = p.parse_args(argv)
    if not (ROOT / "solutions" / A / f"{A}.ipynb").exists():
        sys.exit(f"solutions/{A}/{A}.ipynb does not exist yet")
    with tempfile.TemporaryDirectory(prefix="bench-grader-") as tmp:
        tmp = Path(tmp)
        env = env_for(tmp)
        os.environ.update({k: v for k, v in env.items() if k not in os.environ})
        base = build_class(tmp / "base", env, args.students)
        stock, ours = tmp / "stock", tmp / "ours"
        shutil.copytree(base, stock)
        shutil.copytree(base, ours)

        start = time.perf_counter()
        nbgrader(stock, env, "autograde", A, "--force")
        t_stock = time.perf_counter() - start

        start = time.perf_counter()
        results = grade_assignment(ours, A, workers=args.workers, progress=False)
        t_ours = time.perf_counter() - start

        max_score = results[0]["max_score"]
        manual = sum(c["max_points"] for c in results[0]["cells"] if c["status"] == "manual")
        ours_full = sum(r["score"] == max_score - manual for r in results)
        stock_by_student = stock_scores(stock)
        stock_full = sum(v == max_score - manual for v in stock_by_student.values())
        short = {}  # honest variants stock nbgrader did not give full marks, with counts
        for student, score in stock_by_student.items():
            if score != max_score - manual:
                name = S.HONEST[int(student[1:]) % len(S.HONEST)]
                short[name] = short.get(name, 0) + 1
        n = args.students
        rows = [("nbgrader autograde (serial, unsandboxed)", t_stock, stock_full),
                ("autograder grade (sandboxed, parallel)", t_ours, ours_full)]
        print(f"\nGrading {n} honest submissions of {A} ({os.cpu_count()} CPUs)")
        print(f"{'grader':<44}{'total s':>9}{'s/notebook':>12}{'full marks':>12}")
        for label, t, full in rows:
            print(f"{label:<44}{t:>9.1f}{t / n:>12.3f}{full:>9}/{n}")
        if short:
            print("stock nbgrader marked down honest work: "
                  + ", ".join(f"{name} x{count}" for name, count in sorted(short.items())))
        ratio = t_stock / t_ours
        print(f"ratio (stock / sandboxed): {ratio:.1f}x  (target >= 8x)")
        print(json.dumps({"students": n, "stock_s": round(t_stock, 2), "ours_s": round(t_ours, 2),
                          "ratio": round(ratio, 2), "stock_full": stock_full,
                          "ours_full": ours_full}))


if __name__ == "__main__":
    main()
