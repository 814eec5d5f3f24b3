"""When the machine, not the student, is at fault: a sandbox that cannot start stops the run
before anyone is graded, one that breaks halfway stops it without blaming the students left;
a resumed run never reads a corrupt autograded notebook as "no answers"; and what runs inside
the sandbox imports nothing from the trusted grader."""

import ast
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import grade_jobs
from autograder.grade import GradeError, grade_assignment
from autograder.sandbox import Limits, Sandbox, SandboxError
from tests.conftest import require_tool
from tests.fixtures import submissions as S

pytestmark = pytest.mark.slow  # grades in sandboxes or runs nbgrader
A = S.ASSIGNMENT
LIMITS = Limits(call_timeout=10, notebook_timeout=60, memory_bytes=768 * 2**20)
ROOT = Path(__file__).resolve().parent.parent
NAMESPACE_ERROR = ("bwrap: No permissions to create new namespace, likely because the kernel "
                   "does not allow non-privileged user namespaces.")


def course_with(tmp_path, students):
    course = S.make_fixture_course(tmp_path / "course")
    for student, name in students.items():
        S.write_submission(course, student, A, name)
    return course


def recorded(course):
    """Everything a grading run records: the gradebook, autograded files, feedback."""
    found = [p for p in ("gradebook.db", "autograded", "feedback") if (course / p).exists()]
    return found


def test_a_sandbox_that_cannot_start_stops_the_run_before_anyone_is_graded(tmp_path,
                                                                           monkeypatch):
    require_tool("bwrap", "bubblewrap")
    course = course_with(tmp_path, {"s1": "loops_seed", "s2": "kernel_flipped"})
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\necho '{NAMESPACE_ERROR}' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(GradeError) as info:
        grade_assignment(course, A, workers=2, limits=LIMITS)
    message = str(info.value)
    assert "nobody was graded" in message
    assert "user namespaces" in message and "fix" in message.lower(), message
    assert recorded(course) == []


def test_a_sandbox_that_breaks_halfway_stops_the_run_and_blames_no_student(tmp_path,
                                                                           monkeypatch):
    require_tool("bwrap", "bubblewrap")
    course = course_with(tmp_path, {f"s{i}": "loops_seed" for i in range(4)})
    real = Sandbox.session
    calls = []

    def session(self):
        calls.append(1)
        if len(calls) > 2:  # the trial session, then the first student: then the machine fails
            raise SandboxError("bwrap: Creating new namespace failed: No space left on device")
        return real(self)

    monkeypatch.setattr(Sandbox, "session", session)
    with pytest.raises(GradeError) as info:
        grade_assignment(course, A, workers=1, limits=LIMITS)
    assert "stopped" in str(info.value) and "No space left" in str(info.value)
    results = sorted((course / "autograded").glob("*/*/*.results.json"))
    assert [p.parts[-3] for p in results] == ["s0"]  # graded before the failure, and only it
    assert json.loads(results[0].read_text())["score"] == sum(S.FIXTURE_TESTS.values())
    monkeypatch.setattr(Sandbox, "session", real)
    again = grade_assignment(course, A, workers=1, limits=LIMITS)  # the fix: grade again
    assert [r["score"] for r in again] == [sum(S.FIXTURE_TESTS.values())] * 4
    assert not any("crashed" in r["flags"] for r in again)


def test_sandboxes_the_caller_started_are_used_and_left_running(tmp_path, sandbox_pool,
                                                                monkeypatch):
    course = course_with(tmp_path, {"s1": "loops_seed", "s2": "kernel_flipped"})
    for asked, refusal in ((dict(limits=LIMITS), "other limits"),
                           (dict(unsandboxed=True), "sandboxed, but unsandboxed=True"),
                           (dict(workers=2), "2 workers asked for, 1 sandboxes given")):
        with pytest.raises(ValueError, match=refusal):
            grade_assignment(course, A, sandboxes=sandbox_pool, **asked)
    assert not recorded(course)
    from autograder import doctor
    checked, preflight = [], doctor.preflight
    monkeypatch.setattr(doctor, "preflight", lambda course, sandbox=None: (
        checked.append((course, sandbox)), preflight(course, sandbox=sandbox)))
    server = sandbox_pool[0].proc.pid
    results = {r["student"]: r for r in grade_assignment(course, A, sandboxes=sandbox_pool)}
    assert checked == [(course.resolve(), sandbox_pool[0])]  # doctor's checks, on this course
    assert results["s1"]["score"] == sum(S.FIXTURE_TESTS.values()) > results["s2"]["score"]
    assert sandbox_pool[0].alive() and sandbox_pool[0].proc.pid == server  # the same one


def test_a_corrupt_autograded_notebook_is_graded_again_not_read_as_no_answers(tmp_path,
                                                                             sandbox_pool):
    course = course_with(tmp_path, {"s1": "loops_seed"})
    grade_assignment(course, A, sandboxes=sandbox_pool)
    autograded = course / "autograded" / "s1" / A / f"{A}.ipynb"
    autograded.write_text('{"cells": [ not json')
    again = grade_assignment(course, A, sandboxes=sandbox_pool)
    assert again[0]["score"] == sum(S.FIXTURE_TESTS.values())
    json.loads(autograded.read_text())  # rewritten
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        reflection = gb.find_grade("reflection", A, A, "s1")
        assert reflection.auto_score is None and reflection.needs_manual_grade


def test_each_course_has_its_own_hidden_input_secret_readable_by_the_instructor_only(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    assert grade_jobs.hidden_secret(one) != grade_jobs.hidden_secret(two)
    assert grade_jobs.hidden_secret(one) == grade_jobs.hidden_secret(one)  # stable: regrades agree
    path = one / grade_jobs.SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield "." * node.level + (node.module or "")


def test_what_runs_inside_the_sandbox_imports_only_the_stdlib_the_channel_and_convlib():
    folder = ROOT / "autograder" / "sandboxed"
    own = {p.stem for p in folder.glob("*.py")}
    allowed_third_party = {"convlib", "numpy", "torch", "scipy", "matplotlib", "IPython",
                           "traitlets", "PIL", "ipywidgets"}  # what the kernel pre-imports
    for path in folder.glob("*.py"):
        for name in _imports(path):
            top = name.lstrip(".").split(".")[0]
            assert not name.startswith("autograder"), (path.name, name)
            assert not name.startswith(".."), (path.name, name)
            assert top in sys.stdlib_module_names or top in own or \
                top in allowed_third_party or name == ".", (path.name, name)


def test_the_grader_checkout_may_live_under_tmp(tmp_path_factory):
    """The sandbox's private /tmp used to hide a virtualenv that lives in /tmp."""
    require_tool("bwrap", "bubblewrap")
    if not str(Path(sys.prefix)).startswith("/tmp/"):
        base = Path("/tmp") / f"grader-venv-{os.getpid()}"
        try:
            subprocess.run(["cp", "-al", sys.prefix, str(base)], check=True,
                           capture_output=True)
        except subprocess.CalledProcessError:  # /tmp on another file system: a real copy
            shutil.copytree(sys.prefix, base, symlinks=True)
        python = base / "bin" / "python"
    else:
        base, python = None, Path(sys.executable)
    try:
        code = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
                "from autograder.sandbox import Sandbox\n"
                "box = Sandbox().start(); s = box.session()\n"
                "reply, _ = s.request({'op': 'run', 'source': 'import sys; print(sys.prefix)'})\n"
                "print(reply['stdout'], reply['error']); s.close(); box.kill()\n")
        out = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                             timeout=300, cwd=str(ROOT))
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.startswith("/tmp/"), out.stdout
    finally:
        if base is not None:
            shutil.rmtree(base, ignore_errors=True)


def test_a_raised_error_is_traced_by_type_and_trusted_frames_never_by_its_text():
    """The trace an instructor gets of a check that raised: where, in which file and function,
    through the exception it was raised from; none of the messages (hidden inputs may be in
    them: the student's exception can carry whatever the student's code saw)."""
    from autograder.grade_cells import trusted_trace
    from autograder.student_proxy import rebuild_exception

    def check(student_error):
        try:
            raise student_error
        except ValueError as err:
            raise TypeError("expected 0.1234 at [3, 4]") from err

    try:
        check(rebuild_exception(["ValueError", "HIDDEN [[0.5678, 1.0]]"]))
    except TypeError as err:
        trace = trusted_trace(err)
    assert trace.startswith("TypeError at test_grader_infrastructure.py:"), trace
    assert " in check <- " in trace and "; raised from ValueError at " in trace, trace
    for text in ("0.1234", "HIDDEN", "0.5678", "expected", "student_error"):  # no source lines
        assert text not in trace, (text, trace)
    # a student's own exception class arrives as StudentError: its name cannot spell anything
    assert type(rebuild_exception(["Leak_0_5678", "x"])).__name__ == "StudentError"


SANDBOXED = Path(__file__).resolve().parent.parent / "autograder" / "sandboxed"
IPC_SCRIPT = '''
import ctypes, errno, os, sys
sys.path.insert(0, sys.argv[1])
import cleanup, confine
libc = ctypes.CDLL(None, use_errno=True)
def make():
    return [libc.shmget(0, 4096, 0o1600), libc.semget(0, 1, 0o1600), libc.msgget(0, 0o1600)]
assert -1 not in make(), "System V IPC works in a fresh IPC namespace"
assert sorted(kind for kind, _, _ in cleanup.ipc_objects()) == ["msg", "sem", "shm"]
cleanup.remove_ipc_objects()
assert cleanup.ipc_objects() == [], cleanup.ipc_objects()
confine.forbid_syscalls()
for ident in make():
    assert ident == -1 and ctypes.get_errno() == errno.EPERM, (ident, ctypes.get_errno())
try:
    os.execv("/bin/true", ["true"])
except PermissionError:
    print("denied")
'''


def test_the_sandbox_cannot_make_system_v_ipc_objects_and_cleans_up_any():
    """In a private IPC namespace (as the sandbox has): the clean-up finds and removes shared
    memory, semaphores and message queues; after the seccomp filter, making one fails with
    EPERM, as starting a program does."""
    unshare = require_tool("unshare", "util-linux")
    done = subprocess.run([unshare, "--user", "--map-root-user", "--ipc", sys.executable, "-c",
                           IPC_SCRIPT, str(SANDBOXED)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "denied", done.stderr


def test_a_missing_name_is_explained_by_the_failed_cell_that_defines_it():
    """Two student cells failed: an import, then the def of conv2d (no colon). The missing
    conv2d is explained by the second, not the first; a name no failed cell defines gets no
    explanation; a made-up exception type is not named."""
    from autograder.grade_cells import NotebookGrader

    grader = NotebookGrader(None, None, [])
    grader.note_cell_error("import cv2", {"error": ["ModuleNotFoundError", "No module 'cv2'"]})
    syntax = ["SyntaxError", "expected ':' (<ipython-input-1-ab>, line 3)"]
    grader.note_cell_error("import torch\n\ndef conv2d(image, kernel)\n    pass",
                           {"error": syntax})
    grader.note_cell_error("answer: int = 3 +", {"error": ["Leak_0_5678", "x"]})
    first, error = grader.defining_cell_error(NameError("x", name="conv2d"))
    assert first == "import torch" and error == "SyntaxError: expected ':' (line 3 of that cell)"
    assert grader.defining_cell_error(NameError("x", name="output_size")) is None
    assert grader.defining_cell_error(NameError("x", name="answer")) == ("answer: int = 3 +",
                                                                         "an error")
