"""Grade a whole class in a sandbox, in parallel, into nbgrader's gradebook.

    python -m autograder grade 02_conv2d --course DIR [--workers N] [--student s01 ...]
    (--student once per student)

Reads DIR/submitted/<student>/<assignment>/<notebook>.ipynb, takes the test cells from the
trusted DIR/source/<assignment>/<notebook>.ipynb (or --source-dir), runs every student cell in a
bubblewrap sandbox and every test cell here, and writes for each submission:

  * the scores into nbgrader's gradebook (DIR/gradebook.db or --db), so `nbgrader export`, the
    formgrader and `nbgrader generate_feedback` work as usual;
  * DIR/autograded/<student>/<assignment>/<notebook>.ipynb, whose test cells carry the
    diagnostic messages (hidden tests removed) in their outputs;
  * DIR/autograded/<student>/<assignment>/<notebook>.results.json (docs/architecture.md).

A run that was killed can be started again: finished submissions (same submission, same source,
same grader) are recognised from their results file and only re-recorded in the gradebook;
--force grades everything again. Re-runs give the same scores.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

from . import grade_cells
from .grade_jobs import (
    GRADER_VERSION,
    GradeError,
    course_config,
    find_jobs,
    hidden_secret,
    load_sources,
    source_folder,
    split_finished,
)
from .gradebook import ensure_gradebook_assignment, open_gradebook, save_to_gradebook
from .results import CellResult, NotebookResult
from .sandbox import Limits, Sandbox, SandboxError
from .sandbox_command import bwrap_available, can_drop_to_nobody
from .shards import parse_shard, shard_of, write_manifest
from .submitted import read_submission

WARNING_BANNER = """
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!!  UNSANDBOXED GRADING: student code runs with YOUR permissions. It can read the hidden   !!
!!  tests and solutions, edit the gradebook and leave processes behind. Only grade code   !!
!!  you trust this way. Install bubblewrap (apt-get install bubblewrap) to grade safely.  !!
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
"""


# ----------------------------------------------------------------------------- output files

def _read_umask():
    umask = os.umask(0)  # the only way to read it is to set it: done once, at import, before
    os.umask(umask)      # any grading thread exists (umask is per process, not per thread)
    return umask


_FILE_MODE = 0o666 & ~_read_umask()


def _write_atomic(path, data):
    """Write ``data`` to ``path`` all at once, with the permissions ``open`` would give it.

    (mkstemp's files are private to their owner: a grader running as another account than the
    instructor, beside a hub, would leave results nobody else can read.)
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.fchmod(fd, _FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- one submission

def grade_submission(sandbox, job, stdout):
    """Grade one notebook of one student; return its results dict and autograded notebook."""
    start = time.monotonic()
    result = NotebookResult(job["student"], job["assignment"], job["notebook"],
                            job["source"].max_score, warnings=list(job["warnings"]))
    nb, error = read_submission(job["path"])
    autograded = None
    if error:
        result.status, result.error = "error", error
        result.cells = _zero_cells(job["source"], error)
    else:
        session = sandbox.session()
        try:
            cells, flags, warnings, autograded = grade_cells.grade_cells(
                session, job["source"], nb, stdout)
        finally:
            session.close()
        result.cells, result.flags = cells, sorted(flags | session.flags)
        result.warnings += warnings
        result.score = float(sum(c.points or 0 for c in cells))
    result.duration_s = round(time.monotonic() - start, 3)
    return result.to_json(), autograded


def _zero_cells(source, error):
    return [CellResult.error(gid, points, error) for gid, points in
            [(t.grade_id, t.points) for t in source.tests.values()] + list(source.manual.items())]


# ----------------------------------------------------------------------------- the class

class Progress:
    def __init__(self, total, enabled, stream=None):
        self.total, self.done, self.enabled = total, 0, enabled
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self.lock = threading.Lock()

    def step(self, label):
        with self.lock:
            self.done += 1
            if not self.enabled:
                return
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            rate = (time.monotonic() - self.start) / self.done
            eta = rate * (self.total - self.done)
            self.stream.write(f"\rgrading [{'#' * filled}{'.' * (width - filled)}] "
                              f"{self.done}/{self.total}  {label[:24]:<24} eta {eta:4.0f}s")
            if self.done == self.total:
                self.stream.write("\n")
            self.stream.flush()


def grade_assignment(course, assignment, *, students=None, workers=None, unsandboxed=False,
                     source_dir=None, db_url=None, limits=None, progress=False, force=False,
                     log=None, shard=None, sandboxes=None):
    """Grade every submission of `assignment` in the course folder; return the results dicts.

    shard: (K, N) to grade only the students of shard K of N (autograder/shards.py): then the
    gradebook is not touched, and a list of what was graded is written for `merge`.
    sandboxes: sandboxes the caller started with `start_sandboxes` (one worker each), to grade
    several assignments without starting new ones; the caller kills them. Their limits and
    their isolation are the ones used (a different `limits`, `unsandboxed` or more `workers`
    is refused), and doctor's checks run again on this course. A sandbox restarted during the
    run (after a timeout or a crash) ends with it; the next run starts it again.
    Raises GradeError when grading cannot start (e.g. bwrap missing without `unsandboxed`, or
    a sandbox that does not work here): then nothing is recorded.
    """
    from convlib.checks import set_hidden_secret
    log = log or (lambda text: print(text, file=sys.stderr))
    course = Path(course).resolve()
    if sandboxes:
        limits, workers = _check_given(sandboxes, limits, unsandboxed, workers)
    limits = limits or Limits()
    if not unsandboxed and not bwrap_available():
        raise GradeError("bubblewrap (bwrap) is not installed, so student code cannot be "
                         "sandboxed. Install it (apt-get install bubblewrap), or pass "
                         "--unsandboxed to grade WITHOUT isolation (only for code you trust).")
    sources = load_sources(source_folder(course, assignment, source_dir))
    jobs = find_jobs(course, assignment, sources, students)
    if shard is not None:
        jobs = [j for j in jobs if shard_of(j["student"], shard[1]) == shard[0]]
    secret = hidden_secret(course)
    finished, pending = split_finished(jobs, course, assignment, secret, limits, force)
    workers = max(1, min(workers or os.cpu_count() or 1, len(pending) or 1))
    if sandboxes:
        ready = list(sandboxes)[:workers]
        if pending and not unsandboxed:
            _preflight(course, ready[0])  # this course too must be out of the sandbox's sight
    else:
        ready = start_sandboxes(course, limits, unsandboxed, workers) if pending else []
    set_hidden_secret(secret)  # for the hidden tests, run in this process only
    try:
        results = _grade(course, assignment, sources, jobs, finished, pending, ready, workers,
                         unsandboxed=unsandboxed, db_url=db_url, progress=progress, log=log,
                         record=shard is None)
        if shard is not None:  # every job is done: the list `merge` checks for
            write_manifest(course, assignment, shard, sources, jobs, limits, GRADER_VERSION)
        return results
    finally:
        set_hidden_secret(None)
        if not sandboxes:  # started here: ours to stop
            for box in ready:
                box.kill()


def _check_given(sandboxes, limits, unsandboxed, workers):
    """The limits and worker count of grading in the caller's `sandboxes`; ValueError when the
    arguments ask for something else than the sandboxes are."""
    first = sandboxes[0]
    if any(b.limits != first.limits or b.unsandboxed != first.unsandboxed for b in sandboxes):
        raise ValueError("the sandboxes were started with different limits or isolation")
    if limits is not None and limits != first.limits:
        raise ValueError("the sandboxes were started with other limits than `limits`")
    if unsandboxed != first.unsandboxed:
        raise ValueError(f"the sandboxes are {'un' if first.unsandboxed else ''}sandboxed, "
                         f"but unsandboxed={unsandboxed} was asked for")
    if workers is not None and workers > len(sandboxes):
        raise ValueError(f"{workers} workers asked for, {len(sandboxes)} sandboxes given")
    return first.limits, workers or len(sandboxes)


def _preflight(course, box):
    """doctor's checks on `box` for `course`; GradeError with the cause and the fix."""
    from .doctor import preflight
    try:
        preflight(course, sandbox=box)
    except SandboxError as err:
        raise GradeError(f"nobody was graded: {err}") from None


def start_sandboxes(course, limits, unsandboxed, count):
    """Start `count` sandboxes at once and check the first one with `doctor`'s checks; raise
    GradeError with the cause and the fix when the machine cannot sandbox."""
    from .doctor import preflight
    boxes = [Sandbox(limits, unsandboxed=unsandboxed).launch() for _ in range(count)]
    failed = None
    for box in boxes:  # they start side by side; this thread lives as long as they are used
        try:
            box.wait_ready()
        except SandboxError as err:
            failed = failed or err
    try:
        if failed is not None:
            if not unsandboxed:
                preflight(course)  # names the cause and the fix if it is the machine
            raise failed
        if not unsandboxed:
            preflight(course, sandbox=boxes[0])  # doctor's checks, on the grader's sandbox
    except SandboxError as err:
        for box in boxes:
            box.kill()
        raise GradeError(f"nobody was graded: {err}") from None
    return boxes


def _grade(course, assignment, sources, jobs, finished, pending, ready, workers, *,
           unsandboxed, db_url, progress, log, record=True):
    if unsandboxed:
        _warn_unsandboxed(log)
    # a shard leaves the gradebook (SQLite: one writer) to `merge`
    gb = course_gradebook(course, assignment, sources, db_url) if record else None
    results = []
    for job, previous, autograded in finished:
        if gb is not None:
            save_to_gradebook(gb, previous, job["source"], autograded, job["timestamp"])
        results.append(previous)
    bar = Progress(len(pending), progress)
    stdout = grade_cells.install_thread_stdout()
    local = threading.local()
    spare = list(ready)
    spare_lock = threading.Lock()
    broken = threading.Event()

    def work(job):
        if broken.is_set():
            return job, None, None
        box = getattr(local, "sandbox", None)
        if box is None:
            with spare_lock:  # one started sandbox for each of the pool's `workers` threads
                box = local.sandbox = spare.pop()
        try:
            result, autograded = grade_submission(box, job, stdout)
        except SandboxError as err:  # the machine, not the student: stop the whole run
            broken.set()
            return job, err, None
        except Exception as err:  # noqa: BLE001  (one broken submission must not stop the class)
            result, autograded = _internal_error(job, f"{type(err).__name__}: {err}"), None
        result["fingerprint"] = job["fingerprint"]
        return job, result, autograded

    failure = None
    try:
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            futures = [pool.submit(work, job) for job in pending]
            for future in concurrent.futures.as_completed(futures):
                job, result, autograded = future.result()
                if isinstance(result, SandboxError):
                    failure = failure or result
                if result is None or isinstance(result, SandboxError):
                    continue
                _write_outputs(job, result, autograded, gb)  # gradebook: one thread only
                results.append(result)
                bar.step(f"{job['student']}/{job['notebook']}")
    finally:
        if gb is not None:
            gb.close()
    if failure is not None:
        raise GradeError(f"the sandbox stopped working ({failure}); grading stopped. The "
                         f"{len(results)} notebook(s) graded before are recorded; nothing else "
                         "was. Run `python -m autograder doctor`, then grade again: finished "
                         "notebooks are not graded twice.")
    order = {(j["student"], j["notebook"]): i for i, j in enumerate(jobs)}
    results.sort(key=lambda r: order.get((r["student"], r["notebook"]), 0))
    return results


def _warn_unsandboxed(log):
    log(WARNING_BANNER)
    if os.geteuid() == 0 and not can_drop_to_nobody():
        log("!!  AND AS ROOT: the interpreter cannot run as `nobody` here, so student code "
            "has root's rights over the whole machine.")


def course_gradebook(course, assignment, sources, db_url=None):
    """The course's gradebook, open, knowing the assignment's graded cells."""
    db_url = db_url or f"sqlite:///{course / 'gradebook.db'}"
    course_id = course_config(course, "course_id")
    ensure_gradebook_assignment(db_url, assignment, sources, course_id)
    return open_gradebook(db_url, course_id)


def _internal_error(job, message):
    return NotebookResult(job["student"], job["assignment"], job["notebook"],
                          job["source"].max_score, status="error",
                          error=f"the grader could not grade this notebook: {message}",
                          flags=["crashed"], warnings=list(job["warnings"]),
                          cells=_zero_cells(job["source"], message)).to_json()


def _write_outputs(job, result, autograded, gb):
    """Autograded notebook, then gradebook, then results file (the marker of a finished job)."""
    import nbformat
    if autograded is not None:
        _write_atomic(job["nb_path"], nbformat.writes(autograded).encode())
    if job["timestamp"]:
        _write_atomic(job["nb_path"].parent / "timestamp.txt", job["timestamp"].encode())
    if gb is not None:
        save_to_gradebook(gb, result, job["source"], autograded, job["timestamp"])
    _write_atomic(job["results_path"], json.dumps(result, indent=1).encode())


# ----------------------------------------------------------------------------- command line

def build_parser(prog="python -m autograder grade"):
    p = argparse.ArgumentParser(prog=prog, description=(
        "Grade every submission of ASSIGNMENT in a sandbox, in parallel, into nbgrader's "
        "gradebook and autograded/ folder."))
    p.add_argument("assignment")
    p.add_argument("--course", default=".", help="the nbgrader course folder (default: .)")
    p.add_argument("--student", action="append", dest="students", metavar="ID",
                   help="grade only this student (repeatable)")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel sandboxes (default: number of CPUs)")
    p.add_argument("--source-dir", default=None,
                   help="folder of the trusted notebooks, relative to the course (default: "
                   "source, or nbgrader_config.py's CourseDirectory.source_directory)")
    p.add_argument("--db", default=None, help="gradebook URL (default: sqlite:///COURSE/gradebook.db)")
    p.add_argument("--timeout", type=float, default=Limits.notebook_timeout,
                   help="seconds per notebook (default: %(default)s)")
    p.add_argument("--call-timeout", type=float, default=Limits.call_timeout,
                   help="seconds per cell or per call of a student function (default: %(default)s)")
    p.add_argument("--memory-mb", type=int, default=Limits.memory_bytes // 2**20,
                   help="memory for each submission in MB (default: %(default)s)")
    p.add_argument("--force", action="store_true",
                   help="grade again submissions already graded with the same files")
    p.add_argument("--unsandboxed", action="store_true",
                   help="run student code WITHOUT the sandbox (only where bwrap is missing and "
                   "the code is trusted)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--shard", metavar="K/N", type=_shard_argument,
                   help="grade only shard K of N (0 <= K < N) and write results only; then run "
                   "`merge` once every shard is done (see autograder/shards.py)")
    return p


def _shard_argument(text):
    try:
        return parse_shard(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def unknown_students(course, assignment, students):
    """A message naming every --student without a submission of `assignment` (and who has
    one), or None when each has one: a misspelt id must not grade nobody and succeed."""
    submitted = Path(course).resolve() / "submitted"
    unknown = [s for s in students if not (submitted / s / assignment).is_dir()]
    if not unknown:
        return None
    have = sorted(p.parent.name for p in submitted.glob(f"*/{assignment}") if p.is_dir())
    listed = ", ".join(have[:20]) + (f" … ({len(have)} in all)" if len(have) > 20 else "")
    return (f"no submission of {assignment} from {', '.join(unknown)}: there is no "
            f"{submitted / unknown[0] / assignment}. The students who submitted it: "
            f"{listed or 'none'} (the folders {submitted}/*/{assignment}; collect's report "
            "lists them too). Check the id, or collect that student's submission first.")


def main(argv=None):
    args = build_parser().parse_args(argv)
    problem = unknown_students(args.course, args.assignment, args.students or [])
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    # nbgrader's gradebook API trips SQLAlchemy's autoflush warnings on every new submission;
    # they say nothing an instructor can act on.
    warnings.filterwarnings("ignore", message=".*not in session.*")
    limits = Limits(notebook_timeout=args.timeout, call_timeout=args.call_timeout,
                    memory_bytes=args.memory_mb * 2**20)
    try:
        results = grade_assignment(
            args.course, args.assignment, students=args.students, workers=args.workers,
            unsandboxed=args.unsandboxed, source_dir=args.source_dir, db_url=args.db,
            limits=limits, progress=not args.quiet and sys.stderr.isatty() or not args.quiet,
            force=args.force, shard=args.shard)
    except GradeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    errors = [r for r in results if r["status"] == "error"]
    flagged = [r for r in results if r["flags"]]
    where = f" (shard {args.shard[0]}/{args.shard[1]}: run `merge` when all are done)" \
        if args.shard else ""
    print(f"graded {len(results) - len(errors)} notebook(s); {len(errors)} could not be graded; "
          f"{len(flagged)} flagged{where}")
    for r in errors:
        print(f"  {r['student']}/{r['notebook']}: {r['error']}")
    for r in flagged:
        print(f"  {r['student']}/{r['notebook']}: {', '.join(r['flags'])}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
