"""The bubblewrap sandbox: what a student process can see, touch and leave behind."""

import os
import time
from pathlib import Path

import pytest

from autograder.sandbox import Limits, Sandbox, SandboxDied, SandboxTimeout
from tests.conftest import require_tool

pytestmark = pytest.mark.sandbox
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sandbox():
    require_tool("bwrap", "bubblewrap")
    box = Sandbox(Limits(call_timeout=5, notebook_timeout=60,
                         memory_bytes=512 * 2**20)).start()
    yield box
    box.kill()


def run(session, source, timeout=None):
    reply, _ = session.request({"op": "run", "source": source}, timeout=timeout)
    return reply


def test_files_outside_the_sandbox_can_be_neither_read_nor_changed(sandbox, tmp_path):
    canary = tmp_path / "canary.txt"
    canary.write_text("secret")
    before = canary.stat()
    session = sandbox.session()
    try:
        reply = run(session, f"""
import os
path = {str(canary)!r}
for attempt in ("read", "write", "delete"):
    try:
        if attempt == "read":
            print(open(path).read())
        elif attempt == "write":
            open(path, "w").write("changed")
        else:
            os.remove(path)
        print(attempt, "worked")
    except Exception as err:
        print(attempt, type(err).__name__)
""")
    finally:
        session.close()
    assert "secret" not in reply["stdout"]
    # written inside the sandbox's private /tmp, if anywhere: the real file is untouched
    assert canary.read_text() == "secret"
    assert canary.stat().st_mtime_ns == before.st_mtime_ns


def test_the_repository_course_files_and_home_are_invisible(sandbox):
    session = sandbox.session()
    try:
        reply = run(session, f"""
import os, convlib
for path in [{str(REPO / 'solutions')!r}, {str(REPO / 'autograder' / 'grade.py')!r},
             {str(REPO / 'tests')!r}, {str(Path.home())!r} + "/.bashrc"]:
    print(path, os.path.exists(path))
print("convlib", os.path.dirname(convlib.__file__))
print("uid", os.getuid(), "writable-cwd", os.access(os.getcwd(), os.W_OK))
print("usr-writable", os.access("/usr", os.W_OK))
""")
    finally:
        session.close()
    lines = reply["stdout"].splitlines()
    assert all(line.endswith("False") for line in lines[:4]), lines
    assert "/opt/grader/lib/convlib" in lines[4]
    assert "uid 65534 writable-cwd True" in lines[5]
    assert lines[6].endswith("False")


def test_there_is_no_network(sandbox):
    session = sandbox.session()
    try:
        reply = run(session, """
import socket
print(sorted(name for _, name in socket.if_nameindex()))
for host in [("127.0.0.1", 9), ("10.0.0.1", 80), ("1.1.1.1", 53)]:
    s = socket.socket()
    s.settimeout(1)
    try:
        s.connect(host)
        print("connected", host)
    except OSError as err:
        print("refused", type(err).__name__)
""")
    finally:
        session.close()
    assert "connected" not in reply["stdout"]
    assert reply["stdout"].splitlines()[0] in ("['lo']", "[]")


def test_a_loop_that_ignores_signals_is_killed_from_outside(sandbox):
    session = sandbox.session()
    start = time.monotonic()
    with pytest.raises(SandboxTimeout):
        run(session, """
import signal
for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
    signal.signal(sig, signal.SIG_IGN)
while True:
    pass
""", timeout=2)
    assert time.monotonic() - start < 10
    assert "timeout" in session.flags
    session.close()
    assert not sandbox.alive()
    fresh = sandbox.session()  # restarts
    try:
        assert run(fresh, "print(1 + 1)")["stdout"] == "2\n"
    finally:
        fresh.close()


def test_no_process_or_file_of_one_submission_survives_into_the_next(sandbox):
    first = sandbox.session()
    run(first, """
import os, time
open("/tmp/left-behind", "w").write("x")
open("/dev/shm/left-behind", "w").write("x") if os.path.isdir("/dev/shm") else None
for _ in range(3):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(1000)
        os._exit(0)
""")
    first.close()
    second = sandbox.session()
    try:
        reply = run(second, """
import os
mine = (1, os.getpid(), os.getppid())
others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in mine]
print(others)
print(os.path.exists("/tmp/left-behind"), os.path.exists("/dev/shm/left-behind"))
tmp = os.stat("/tmp").st_dev  # a checkout under /tmp is a read-only mount, not a leftover
print([n for n in os.listdir("/tmp") if os.lstat("/tmp/" + n).st_dev == tmp]
      == [os.path.basename(os.getcwd())])
""")
    finally:
        second.close()
    assert reply["stdout"].splitlines() == ["[]", "False False", "True"]


def test_memory_and_file_size_limits_hold(sandbox):
    session = sandbox.session()
    try:
        reply = run(session, """
try:
    hog = bytearray(4 * 2**30)
    print("memory unlimited")
except MemoryError:
    print("memory limited")
try:
    with open("big", "wb") as f:
        for _ in range(100):
            f.write(b"x" * 2**20)
    print("file unlimited")
except OSError:
    print("file limited")
""")
        uncaught = run(session, "hog = bytearray(4 * 2**30)")
    finally:
        session.close()
    assert reply["stdout"].split() == ["memory", "limited", "file", "limited"]
    assert uncaught["error"][0] == "MemoryError"
    assert "memory_limit" in session.flags


def test_a_fork_bomb_is_stopped_at_the_process_limit(sandbox):
    """RLIMIT_NPROC refuses the fork (unprivileged grader) or the fork server's watchdog kills
    the submission's processes (a grader running as root, where NPROC is not enforced)."""
    session = sandbox.session()
    limit = sandbox.limits.processes
    try:
        reply = run(session, """
import os, time
n = 0
try:
    for _ in range(1000):
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        n += 1
        time.sleep(0.002)
    print("processes unlimited", n)
except OSError:
    print("processes limited", n)
""")
        assert reply["stdout"].startswith("processes limited")
        assert int(reply["stdout"].split()[-1]) <= limit
    except SandboxDied:
        pass
    session.close()
    if not reply_ok(session):
        assert "crashed" in session.flags
    check = sandbox.session()
    try:
        assert run(check, "import os\nprint(len([p for p in os.listdir('/proc') "
                          "if p.isdigit()]))")["stdout"].strip() in ("2", "3")
    finally:
        check.close()


def reply_ok(session):
    return session.dead is None


def test_output_is_capped(sandbox):
    session = sandbox.session()
    try:
        reply = run(session, "for _ in range(3000):\n    print('x' * 1000)")
    finally:
        session.close()
    assert len(reply["stdout"]) <= 20_000
    assert "output_limit" in session.flags


def test_os_exit_ends_only_that_submission(sandbox):
    session = sandbox.session()
    run(session, "x = 1")
    with pytest.raises(SandboxDied):
        run(session, "import os\nos._exit(3)")
    with pytest.raises(SandboxDied):
        run(session, "print(x)")
    session.close()
    assert "crashed" in session.flags
    nxt = sandbox.session()
    try:
        assert run(nxt, "print('x' in dir())")["stdout"] == "False\n"
    finally:
        nxt.close()


def test_the_grader_process_environment_does_not_leak_in(sandbox, monkeypatch):
    monkeypatch.setenv("GRADER_SECRET_TOKEN", "abc")
    session = sandbox.session()
    try:
        reply = run(session, "import os\nprint(sorted(os.environ))")
    finally:
        session.close()
    assert "GRADER_SECRET_TOKEN" not in reply["stdout"]
    assert os.environ["GRADER_SECRET_TOKEN"] == "abc"


def descendants(pid):
    """(pid, real uid, command) of every host process below `pid`, read from the host's /proc."""
    children, info = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
        children.setdefault(ppid, []).append(int(entry))
        info[int(entry)] = (uid, stat[stat.index("(") + 1:stat.rindex(")")])
    out, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop()
        out.append((p, *info[p]))
        todo += children.get(p, [])
    return out


def test_student_code_runs_as_an_unprivileged_real_uid(sandbox):
    session = sandbox.session()
    try:
        run(session, "x = 1")
        pythons = [(pid, uid) for pid, uid, comm in descendants(sandbox.proc.pid)
                   if comm.startswith("python")]
        statuses = [dict(line.split(":\t", 1) for line in
                         Path(f"/proc/{pid}/status").read_text().splitlines() if ":\t" in line)
                    for pid, _ in pythons]
    finally:
        session.close()
    assert len(pythons) >= 2, pythons  # the fork server and the student's process
    assert all(uid != 0 for _, uid in pythons), pythons
    for status in statuses:  # no capability, and no setuid binary can give one back
        assert int(status["CapEff"], 16) == 0 and int(status["CapPrm"], 16) == 0, status
        assert status["NoNewPrivs"].strip() == "1", status


def test_kill_1_and_kill_minus_1_from_student_code_hurt_nothing_outside(sandbox):
    import subprocess
    root_canary = subprocess.Popen(["sleep", "120"])
    nobody_canary = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534",
                                      "--clear-groups", "sleep", "120"])
    try:
        session = sandbox.session()
        try:
            run(session, """
import os, signal
for target in (1, -1, os.getppid()):
    try:
        os.kill(target, signal.SIGKILL)
    except OSError as err:
        print(target, type(err).__name__)
""")
        except SandboxDied:
            pass
        session.close()
        time.sleep(0.5)
        assert root_canary.poll() is None and nobody_canary.poll() is None
        assert Path("/proc/1").exists()
        again = sandbox.session()  # the grader goes on (restarting the sandbox if needed)
        try:
            assert run(again, "print(2 + 2)")["stdout"] == "4\n"
        finally:
            again.close()
    finally:
        for canary in (root_canary, nobody_canary):
            canary.kill()
            canary.wait()
