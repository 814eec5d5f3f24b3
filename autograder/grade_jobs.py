"""What one grading run grades: the trusted source notebooks, one job per (student, notebook)
found under DIR/submitted/, and which of those a killed run already finished.

A job is finished when its results file carries this submission's fingerprint: a hash of the
grader's version, the source notebook and the hidden-test key, the submitted bytes and the
limits (so a resubmission, a new source or a new grader grades again). The hidden-test key
(`hidden_secret`) lives in the course folder, readable by the instructor only, never bound
into the sandbox.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from .source_notebook import load_source_notebook

GRADER_VERSION = "2"


class GradeError(Exception):
    """The grading run cannot start (bad course folder, no sandbox, ...)."""


def course_config(course, key):
    """CourseDirectory.<key> from COURSE/nbgrader_config.py, or None (no such file, or one that
    cannot be read: the grader then falls back to the default)."""
    from .course import Course, WorkflowError
    try:
        return Course(Path(course)).config_value("CourseDirectory", key) or None
    except WorkflowError:
        return None


def source_folder(course, assignment, source_dir=None):
    """DIR/source/<assignment>, or the source_directory of DIR/nbgrader_config.py."""
    course = Path(course)
    configured = None if source_dir else course_config(course, "source_directory")
    candidates = [name for name in (source_dir, configured) if name]
    candidates.append("source")
    for name in candidates:
        folder = (course / name / assignment) if not Path(name).is_absolute() else (
            Path(name) / assignment)
        if folder.is_dir():
            return folder
    raise GradeError(f"no source notebooks for {assignment!r}: expected "
                     f"{course / candidates[0] / assignment}/<notebook>.ipynb")


def load_sources(folder):
    import nbformat
    sources = {}
    for path in sorted(Path(folder).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        sources[path.stem] = (load_source_notebook(path.stem, nb), path.read_bytes())
    if not sources:
        raise GradeError(f"no notebooks in {folder}")
    return sources


def fingerprint(submission_bytes, source_bytes, limits):
    h = hashlib.sha256()
    for part in (GRADER_VERSION.encode(), source_bytes, submission_bytes,
                 json.dumps(vars(limits), sort_keys=True).encode()):
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def find_jobs(course, assignment, sources, students=None):
    """One job per (student, notebook); unexpected files become per-student warnings."""
    submitted = Path(course) / "submitted"
    if not submitted.is_dir():
        raise GradeError(f"no submissions: {submitted} does not exist")
    jobs = []
    for student_dir in sorted(submitted.iterdir()):
        student = student_dir.name
        folder = student_dir / assignment
        if students and student not in students:
            continue
        if not folder.is_dir():
            continue
        expected = {f"{name}.ipynb" for name in sources}
        present = sorted(p.name for p in folder.iterdir())
        extra = [n for n in present if n not in expected and n != "timestamp.txt"
                 and not n.startswith(".")]
        warnings = [f"unexpected file {n!r} was ignored (only {', '.join(sorted(expected))} "
                    "is graded)" for n in extra[:20]]
        timestamp = None
        if (folder / "timestamp.txt").is_file():
            timestamp = (folder / "timestamp.txt").read_text(errors="replace").strip()[:64]
        for name, (src, src_bytes) in sources.items():
            path = folder / f"{name}.ipynb"
            extra_nbs = [n for n in extra if n.endswith(".ipynb")]
            job_warnings = list(warnings)
            if not path.exists() and extra_nbs:
                job_warnings.append(f"found {', '.join(extra_nbs)} instead of {name}.ipynb: "
                                    "rename the notebook and submit again")
            jobs.append({"student": student, "assignment": assignment, "notebook": name,
                         "path": path, "source": src, "source_bytes": src_bytes,
                         "warnings": job_warnings, "timestamp": timestamp})
    return jobs


def split_finished(jobs, course, assignment, secret, limits, force):
    """([(job, previous result, autograded notebook)], [jobs to grade]). A job is finished when
    its results file matches this submission, source, secret and grader, and its autograded
    notebook is readable (else it is graded again, not read as "no answers")."""
    finished, pending = [], []
    for job in jobs:
        job["fingerprint"] = fingerprint(job["path"].read_bytes() if job["path"].is_file()
                                         and not job["path"].is_symlink() else b"",
                                         job["source_bytes"] + secret, limits)
        folder = Path(course) / "autograded" / job["student"] / assignment
        job["results_path"] = folder / f"{job['notebook']}.results.json"
        job["nb_path"] = folder / f"{job['notebook']}.ipynb"
        previous = previous_result(job) if not force else None
        autograded = read_autograded(job["nb_path"]) if previous is not None else None
        if previous is not None and (autograded is not None or previous["status"] == "error"):
            finished.append((job, previous, autograded))
        else:
            pending.append(job)
    return finished, pending


def hidden_secret(course):
    """The course's key for hidden-test inputs (convlib.checks.hidden_seed): random, made on
    first use, readable by the instructor only, never bound into the sandbox."""
    path = Path(course) / SECRET_FILE
    if not path.exists():  # written whole, then linked: shards starting at once agree on one
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{SECRET_FILE}.")
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    secret = path.read_bytes()
    if len(secret) < 16:
        raise GradeError(f"{path} holds no usable secret; delete it to make a new one (hidden "
                         "inputs, and so re-grading, will change)")
    return secret


SECRET_FILE = ".hidden-tests-secret"


def previous_result(job):
    try:
        data = json.loads(job["results_path"].read_text())
    except (OSError, ValueError):
        return None
    if data.get("fingerprint") != job["fingerprint"]:
        return None
    if data.get("status") == "graded" and not job["nb_path"].exists():
        return None
    return data


def read_autograded(path):
    """The autograded notebook of a finished job, or None when it is missing or unreadable
    (then the submission is graded again rather than read as "no answers")."""
    import nbformat
    try:
        return nbformat.read(path, as_version=4)
    except (OSError, ValueError, UnicodeDecodeError, nbformat.ValidationError):
        return None

