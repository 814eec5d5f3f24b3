"""The instructor's command line: one command per step of a week, on a course folder anywhere.

    python -m autograder init DIR [--course-id ID] [--exchange EXCHANGE_DIR] [--assignments A ...]
    python -m autograder release ASSIGNMENT ... | --all --course DIR
    python -m autograder collect ASSIGNMENT --course DIR --zip LMS_DOWNLOAD.zip [--pattern REGEX]
    python -m autograder collect ASSIGNMENT --course DIR --exchange
    python -m autograder grade ASSIGNMENT --course DIR [--shard K/N] [...]   (grade --help)
    python -m autograder merge ASSIGNMENT --course DIR                       (after the shards)
    python -m autograder feedback ASSIGNMENT --course DIR [--release]
    python -m autograder export --course DIR [--to OUT_DIR] [--assignment A ...]
                                [--format canvas|moodle --roster FILE [--match COLUMN]]
    python -m autograder report --course DIR [--to OUT_DIR] [--assignment A]
    python -m autograder demo [DIR] [--assignment A] [--students N] [--workers N]
    python -m autograder doctor [--course DIR]

--course defaults to the current folder. See docs/instructor-guide.md; `doctor` checks that the
grading sandbox works and isolates student code on this machine (docs/deployment.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .course import PROG, Course, WorkflowError, init, release


def _add_course(p):
    p.add_argument("--course", default=".", metavar="DIR",
                   help="the course folder (default: the current folder)")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=PROG, description=(
        "The instructor's workflow: init, release, collect, grade (or grade --shard K/N on "
        "several machines, then merge), feedback, export, report, demo; doctor checks the "
        "grading sandbox."))
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", help="create a course folder from the repository's solutions/")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--course-id", default="conv-from-scratch")
    p.add_argument("--exchange", metavar="EXCHANGE_DIR",
                   help="JupyterHub's shared nbgrader exchange folder (omit for an LMS)")
    p.add_argument("--assignments", nargs="+", metavar="A",
                   help="only these assignments (default: all)")

    p = sub.add_parser("release", help="generate the student version (and release it to the "
                       "exchange, if one is configured)")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    p.add_argument("--all", action="store_true", help="every assignment in source/")
    _add_course(p)

    p = sub.add_parser("collect", help="collect submissions from an LMS zip or the exchange")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    _add_course(p)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--zip", metavar="FILE", help="the LMS's 'download all submissions' zip")
    src.add_argument("--exchange", action="store_true", help="nbgrader collect on JupyterHub")
    p.add_argument("--pattern", metavar="REGEX",
                   help="file-name regex with (?P<student_id>…) and (?P<file_id>…) groups")

    p = sub.add_parser("grade", help="grade every submission in the sandbox",
                       add_help=False)
    p.add_argument("assignment", metavar="ASSIGNMENT", nargs="?")
    _add_course(p)

    p = sub.add_parser("merge", help="record the results of every `grade --shard K/N` into the "
                       "gradebook, once all shards are done")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    _add_course(p)

    p = sub.add_parser("feedback", help="write per-notebook feedback HTML for students")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    _add_course(p)
    p.add_argument("--release", action="store_true", default=None,
                   help="also release it to the exchange (default: when collected from there)")

    p = sub.add_parser("export", help="grades.csv (nbgrader) and tests.csv (one row per test); "
                       "with --format canvas|moodle also the file that LMS imports")
    _add_course(p)
    p.add_argument("--to", metavar="OUT_DIR", help="default: DIR/exports")
    p.add_argument("--format", choices=("nbgrader", "canvas", "moodle"), default="nbgrader",
                   help="canvas: the gradebook-import CSV; moodle: the grade-import CSV")
    p.add_argument("--roster", metavar="ROSTER.csv", help="the LMS's own gradebook export "
                   "(Canvas: Export Entire Gradebook; Moodle: Export, plain text file)")
    p.add_argument("--match", metavar="COLUMN", help="the roster column that holds the course's "
                   "student ids (default: every id column of that LMS)")
    p.add_argument("--assignment", action="append", dest="assignments", metavar="A",
                   help="only this assignment (repeatable; default: all)")

    p = sub.add_parser("report", help="the class report: one HTML page and CSV files")
    _add_course(p)
    p.add_argument("--to", metavar="OUT_DIR", help="default: DIR/reports")
    p.add_argument("--assignment", metavar="A", help="only this assignment")

    p = sub.add_parser("demo", help="build a synthetic class and run the whole workflow on it")
    p.add_argument("dir", metavar="DIR", nargs="?", help="default: a new temporary folder")
    p.add_argument("--assignment", metavar="A", help="default: 02_conv2d")
    p.add_argument("--students", type=int, metavar="N", help="a smaller class (at least 4)")
    p.add_argument("--workers", type=int, metavar="N", help="grading workers (default: CPUs)")

    p = sub.add_parser("doctor", help="check that the grading sandbox works and isolates "
                       "student code here (exit 1 if not)")
    _add_course(p)
    return ap


def grade(course: Course, assignment: str | None, extra: list[str]) -> int:
    """Check the inputs the workflow knows about, then hand over to the grading engine."""
    if assignment is None or assignment.startswith("-"):
        raise WorkflowError(f"name the assignment to grade: `{PROG} grade ASSIGNMENT --course DIR`")
    course.require_released(assignment)
    if not course.students(assignment):
        raise WorkflowError(f"no submission of {assignment} in {course.root / 'submitted'}; "
                            f"collect them first with `{PROG} collect {assignment} --zip FILE` "
                            "(or --exchange)")
    problems = course.incomplete_submissions(assignment)
    if problems:
        raise WorkflowError(
            "\n".join(problems) + "\nNothing was graded. Put the student's notebook in that "
            "folder (or collect again), or remove the folder, then run grade again.")
    from . import grade as engine
    return engine.main([assignment, "--course", str(course.root), *extra]) or 0


def export_command(course: Course, args) -> int:
    """nbgrader's grades.csv and the per-test tests.csv; with --format, the LMS's import file."""
    from .export import export
    lms = None if args.format == "nbgrader" else args.format
    if lms and not args.roster:
        raise WorkflowError(f"--format {lms} needs --roster ROSTER.csv, the gradebook "
                            "file downloaded from the LMS, to find each student's LMS id")
    if not lms and (args.roster or args.match):
        raise WorkflowError("--roster and --match are for an LMS file: add --format canvas or "
                            "--format moodle")
    paths = export(course, args.to, lms=lms, roster=args.roster, match=args.match,
                   assignments=args.assignments)
    for name, path in paths.items():
        print(f"{name}: {path}")
    if paths.lms is not None:
        print(paths.lms.text())
    return 0


def run(argv: list[str]) -> int:
    args, extra = parser().parse_known_args(argv)
    if extra and args.command != "grade":
        parser().error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "init":
        course = init(args.dir, course_id=args.course_id, exchange=args.exchange,
                      assignments=args.assignments)
        print(f"created the course folder {course.root} with "
              f"{', '.join(course.source_assignments())}")
        print(f"next: {PROG} release ASSIGNMENT --course {course.root}")
        return 0
    if args.command == "demo":
        from .demo import demo
        return demo(args.dir, assignment=args.assignment, students=args.students,
                    workers=args.workers)
    if args.command == "doctor":  # before Course.open: the machine needs no course folder yet
        from .doctor import report, run_checks
        if not Path(args.course).is_dir():
            raise WorkflowError(f"no folder {args.course}")
        checks = run_checks(args.course)
        print(report(checks))
        return 0 if all(c.ok for c in checks) else 1
    course = Course.open(args.course)
    if args.command == "release":
        names = course.source_assignments() if args.all else args.assignments
        if not names:
            raise WorkflowError("name the assignments to release, or pass --all")
        for name in names:
            notebooks = release(course, name)
            where = " and to the exchange" if course.exchange else ""
            print(f"released {name} ({', '.join(notebooks)}) into {course.root / 'release'}"
                  f"{where}")
        return 0
    if args.command == "collect":
        from .collect import collect_exchange, collect_zip
        report = (collect_exchange(course, args.assignment) if args.exchange
                  else collect_zip(course, args.assignment, args.zip, args.pattern))
        print(report.text())
        return 0
    if args.command == "grade":
        return grade(course, args.assignment, extra)
    if args.command == "merge":
        from .shards import merge
        merged = merge(course.root, args.assignment)
        print(f"merged {len(merged)} notebook(s) of {args.assignment} into the gradebook")
        return 0
    if args.command == "feedback":
        from .feedback import generate_feedback
        files = generate_feedback(course, args.assignment, release=args.release)
        print(f"wrote {len(files)} feedback page(s) under {course.root / 'feedback'}")
        return 0
    if args.command == "export":
        return export_command(course, args)
    if args.command == "report":
        from .report import build
        paths = build(course, args.to, args.assignment)
        print(f"class report: {paths['html']}")
        return 0
    raise AssertionError(args.command)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["grade"] and {"-h", "--help"} & set(argv):  # the grading engine's options
        from . import grade as engine
        engine.build_parser(prog=f"{PROG} grade").print_help()
        return 0
    try:
        status = run(argv)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except WorkflowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `... | head` stopped reading: stop quietly, as other tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's flush at exit would fail again
        return 141  # 128 + SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
