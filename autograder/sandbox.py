"""Start and drive the bubblewrap sandbox in which student code runs (the trusted side).

One `Sandbox` is one bwrap process with its own PID, network, IPC, UTS and mount namespaces,
running sandboxed/kernel.py as a pre-warmed fork server. `Sandbox.session(limits)` forks a fresh
child for one submission and returns a `Session` that talks to it over a private socket.

What the student process sees (autograder/sandbox_command.py builds the bwrap command): the
interpreter, the virtualenv and convlib read-only, a private size-limited /tmp, its own /proc;
not the repository, the course folder, the gradebook or other submissions. It runs as the
unprivileged uid `nobody`, without network, under rlimits, and a wall clock enforced from
outside: on a timeout the whole sandbox (its PID namespace) is killed with SIGKILL.

`unsandboxed=True` runs the same server directly, for machines without bwrap, when the
instructor asks for it explicitly (the grader then warns loudly). A root grader then still runs
it as `nobody` where the interpreter allows (`can_drop_to_nobody`), and the server never signals
any process but its own descendants.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass

from .sandbox_command import SETPRIV, UID, bwrap_command, can_drop_to_nobody, unsandboxed_command
from .sandboxed import channel

RECORD_CLOSED = 86  # the exit status of a student process that closed its record (kernel.py)
# Library convolutions the kernel's canary runs; each must reach the record (sandboxed/kernel.py).
CANARY_LABELS = ("torch.ops.aten.convolution", "numpy.convolve", "scipy.signal.correlate2d",
                 "convlib.conv.correlate2d")


@dataclass
class Limits:
    memory_bytes: int = 1536 * 2**20  # address space on top of the pre-warmed imports
    cpu_seconds: int = 120
    file_bytes: int = 64 * 2**20
    processes: int = 64
    output_chars: int = 1_000_000
    tmp_bytes: int = 512 * 2**20
    call_timeout: float = 30.0
    notebook_timeout: float = 120.0
    start_timeout: float = 120.0


class SandboxError(Exception):
    """The sandbox could not be started, or broke the protocol."""


class SandboxDied(Exception):
    """The student process ended (os._exit, a signal, a crash) while the grader waited for it."""


class SandboxTimeout(Exception):
    """The student process did not answer in time; the sandbox has been killed."""


def tasks_of_uid(uid):
    """How many tasks (threads included, as RLIMIT_NPROC counts them) run as real uid `uid`."""
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid:
                count += len(os.listdir(f"/proc/{entry}/task"))
        except OSError:
            continue
    return count


def _descendants(root):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    found, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        found += children.get(pid, [])
        todo += children.get(pid, [])
    return found


class Sandbox:
    """One sandboxed fork server; restart() replaces it after a timeout or a crash."""

    def __init__(self, limits=None, unsandboxed=False):
        self.limits = limits or Limits()
        self.unsandboxed = unsandboxed
        self.proc = None
        self.ctrl = None
        self._tmp = None

    def start(self):
        """Launch the sandbox and wait until its fork server is ready."""
        return self.launch().wait_ready()

    def launch(self):
        """Start the sandbox's process without waiting for it. bwrap dies with the *thread*
        that launched it (--die-with-parent): launch from a thread that outlives its use."""
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "JUPYTER"))}
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg")
        if self.unsandboxed:
            self._tmp = tempfile.mkdtemp(prefix="grader-unsandboxed-")
            cmd = unsandboxed_command(child.fileno(), self._tmp)
            if can_drop_to_nobody():
                for folder, _, files in os.walk(self._tmp):
                    for path in [folder, *(os.path.join(folder, f) for f in files)]:
                        os.lchown(path, UID, UID)
                cmd = [shutil.which("setpriv"), *SETPRIV, *cmd]
            env.update(HOME=self._tmp, MPLCONFIGDIR=self._tmp + "/mpl",
                       IPYTHONDIR=self._tmp + "/ipython")
            cwd = self._tmp
        else:
            cmd = bwrap_command(child.fileno(), self.limits)
            cwd = "/"
        self.proc = subprocess.Popen(cmd, pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True, env=env, cwd=cwd)
        child.close()
        self.ctrl = parent
        return self

    def wait_ready(self):
        reply = self._ctrl_recv(self.limits.start_timeout)
        if not reply or not reply.get("ready"):
            err = self._stderr_tail()
            self.kill()
            raise SandboxError(f"the sandbox did not start: {err}")
        return self

    def _stderr_tail(self):
        try:
            self.proc.kill()
            _, err = self.proc.communicate(timeout=5)
            return (err or b"").decode(errors="replace")[-2000:]
        except Exception as exc:  # noqa: BLE001
            return str(exc)

    def _ctrl_recv(self, timeout):
        ready, _, _ = select.select([self.ctrl], [], [], timeout)
        if not ready:
            return None
        try:
            data = self.ctrl.recv(65536)
        except OSError:
            return None
        if not data:
            return None
        try:
            msg = json.loads(data)
        except ValueError:
            return None
        return msg if isinstance(msg, dict) else None

    def wait_done(self, timeout):
        """The server's report that a student process has ended. A student process of the
        same uid may have stopped the server (SIGSTOP cannot be ignored): continue it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = self._ctrl_recv(0.05)
            if reply is not None:
                return reply
            if not self.alive():
                return None
            for pid in _descendants(self.proc.pid):  # the server, whichever pid it has
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        state = f.read().rsplit(")", 1)[1].split()[0]
                    if state in ("T", "t"):
                        os.kill(pid, signal.SIGCONT)
                except (OSError, IndexError):
                    pass
        return None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def session(self):
        """Fork a fresh student process; return its Session."""
        if not self.alive():
            self.restart()
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # The record of library convolutions: the student's process gets only the writing end.
        record_read, record_write = os.pipe()
        os.set_blocking(record_read, False)
        os.set_blocking(record_write, False)
        try:  # room for every distinct label many times over (kernel.record writes each once)
            fcntl.fcntl(record_write, fcntl.F_SETPIPE_SZ, 1 << 20)
        except OSError:
            pass  # a lower pipe-max-size: the default 64 KB still holds them
        limits = asdict(self.limits)
        # RLIMIT_NPROC counts every task of the real uid on the machine: allow `processes` more
        # than that uid already runs (other workers' sandboxes, the user's own programs).
        limits["nproc"] = self.limits.processes + tasks_of_uid(
            UID if os.geteuid() == 0 else os.getuid())
        msg = json.dumps({"op": "fork", "limits": limits}).encode()
        try:
            socket.send_fds(self.ctrl, [msg], [theirs.fileno(), record_write])
        except OSError:
            theirs.close()
            mine.close()
            os.close(record_read)
            os.close(record_write)
            self.restart()
            return self.session()
        theirs.close()
        os.close(record_write)
        return Session(self, mine, record_read)

    def kill(self):
        """Kill the whole sandbox: bwrap's PID namespace dies with it."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            if self.proc.stderr:
                self.proc.stderr.close()
        if self.ctrl is not None:
            self.ctrl.close()
        self.proc = self.ctrl = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def restart(self):
        self.kill()
        self.start()

    close = kill


class Session:
    """One submission's student process. Every request has a wall-clock deadline."""

    def __init__(self, sandbox, sock, record_fd):
        self.sandbox = sandbox
        self.sock = sock
        self.record_fd = record_fd  # reading end of the student process's record pipe
        self.deadline = time.monotonic() + sandbox.limits.notebook_timeout
        self.dead = None  # why the process is gone, once it is
        self.ended = None  # the fork server's report on how the process ended (after close)
        self.flags = set()
        self.tamper = []  # audit events of ways to rewrite the record (kernel.TAMPER_EVENTS)
        self._drained = b""  # record read after a request, not yet asked for by records()

    def request(self, header, blobs=(), timeout=None):
        if self.dead:
            raise SandboxDied(self.dead)
        limit = self.sandbox.limits.call_timeout if timeout is None else timeout
        remaining = self.deadline - time.monotonic()
        wait = min(limit, remaining)
        if wait <= 0:
            self._timeout("the notebook's time limit")
        try:
            self.sock.settimeout(wait)
            channel.send(self.sock, header, blobs)
            reply, out = channel.recv(self.sock, max_bytes=256 * 2**20)
        except TimeoutError:
            which = "the notebook's time limit" if remaining <= limit else "the time limit per call"
            self._timeout(which)
        except (EOFError, ConnectionError, BrokenPipeError):
            self.dead = "the notebook's process ended (os._exit, a signal or a crash)"
            self.flags.add("crashed")
            raise SandboxDied(self.dead) from None
        except channel.ChannelError as err:
            self.dead = f"the notebook's process sent malformed data ({err})"
            self.flags.add("crashed")
            self.sandbox.kill()
            raise SandboxDied(self.dead) from None
        self._drained += self._read_record()  # the student's process clears its "sent" set
        if reply.get("output_flooded"):
            self.flags.add("output_limit")
        if reply.get("memory_error"):
            self.flags.add("memory_limit")
        return reply, out

    def records(self):
        """Labels of the library convolutions run since the last call (convlib.forbidden)."""
        data, self._drained = self._drained + self._read_record(), b""
        labels = [line.decode(errors="replace") for line in data.split(b"\n") if line]
        prefix = channel.TAMPER_PREFIX
        self.tamper += [label[len(prefix):] for label in labels
                        if label.startswith(prefix)]  # kept, whenever they came
        return [label for label in labels if not label.startswith(prefix)]

    def _read_record(self):
        """Everything in the record pipe now. Read after every request, since the student's
        process writes each label once per request (kernel.record)."""
        data = b""
        while self.record_fd is not None:
            try:
                chunk = os.read(self.record_fd, 65536)
            except BlockingIOError:
                break
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        return data

    def unrecorded(self, timeout=None):
        """Run the canary convolutions in the student process; return the labels of those that
        did not reach the record ([] when it works). Raises SandboxDied / SandboxTimeout."""
        self.records()
        reply, _ = self.request({"op": "canary"}, timeout=timeout)
        seen = set(self.records()) if reply.get("ok") else set()
        return sorted(set(CANARY_LABELS) - seen)

    def _timeout(self, which):
        self.dead = f"stopped at {which}"
        self.flags.add("timeout")
        self.sandbox.kill()  # the student process may ignore every signal: kill it all
        raise SandboxTimeout(self.dead)

    def close(self):
        """End the student process; make sure nothing of it survives into the next one."""
        if self.sock is None:
            return
        try:
            if not self.dead:
                self.sock.settimeout(2)
                channel.send(self.sock, {"op": "exit"})
        except OSError:
            pass
        self.sock.close()
        self.sock = None
        if self.record_fd is not None:
            os.close(self.record_fd)
            self.record_fd = None
        sandbox = self.sandbox
        if not sandbox.alive():
            sandbox.kill()
            return
        done = sandbox.wait_done(15)
        self.ended = done
        if done and not done.get("clean", True):
            sandbox.kill()  # something of this student survived the clean-up: a fresh sandbox
        if not done or not done.get("done"):
            # the fork server itself was killed or is stuck: start a fresh sandbox next time
            if not self.dead:
                self.flags.add("crashed")
            sandbox.kill()
            return
        if done.get("exit") == RECORD_CLOSED:
            self.flags.update(("tampered", "crashed"))
            self.dead = self.dead or ("the notebook closed the grader's record of library "
                                      "calls, so its process was stopped")
        if done.get("process_limit"):
            self.flags.add("crashed")
            self.dead = self.dead or "too many processes: the notebook's processes were killed"
        if done.get("signal") in (signal.SIGKILL, signal.SIGXCPU) and not self.dead:
            self.flags.add("crashed")
