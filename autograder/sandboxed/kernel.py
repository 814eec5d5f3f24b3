"""The student side of grading: a pre-warmed fork server that runs inside the bubblewrap sandbox.

    python kernel.py CONTROL_FD [--sandboxed]

Started once per grading worker (see autograder/sandbox.py). It imports numpy, scipy, torch,
matplotlib, IPython and convlib once, hooks every library convolution (convlib.forbidden), then
for each submission receives over the control socket a fresh private socket and the writing end
of a record pipe, and forks a child that:

  * works in a fresh empty folder under the sandbox's private /tmp, under resource limits, with
    every catchable signal back at its default and no way to start another program (seccomp);
  * writes one line to the record pipe each time a library convolution runs; the pipe's reading
    end is in the trusted grader, so nothing the student does can take a record back;
  * runs the student's cells with IPython and answers the trusted grader's requests over the
    private socket with plain data only (see channel.py).

When the child is gone, the server kills every other process left in the sandbox (its own PID
namespace), empties /tmp and /dev/shm (whatever permissions the student left), checks that they
are as empty as before (cleanup.py), and reports how the child ended and whether the sandbox is
clean; a sandbox that is not clean is replaced by the grader before the next student. The
server ignores every signal it can; a SIGSTOP is undone by the grader from outside. The control
socket never reaches student code: the child closes it before running anything.

This file runs with only the sandbox's read-only view of the interpreter, the virtualenv, this
folder and the convlib package; it imports only the standard library, its neighbours here
(channel.py: plain data; cleanup.py: between students; confine.py: limits and seccomp) and
convlib.
"""

import os
import signal
import socket
import sys
import tempfile

LIB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib")
sys.path.insert(0, LIB)

import channel  # noqa: E402  (this folder is sys.path[0]: the script's own)
from cleanup import Cleaner, in_own_pid_namespace  # noqa: E402
from confine import (  # noqa: E402
    PR_SET_CHILD_SUBREAPER,
    PR_SET_DUMPABLE,
    forbid_syscalls,
    prctl,
    set_limits,
)

CELL_OUTPUT_KEEP = 20_000  # characters of each cell's output sent back for the notebook
MAX_REPLY_BYTES = 64 * 2**20  # a result larger than this is refused, and the notebook goes on
MESSAGE_KEEP = 2000  # characters of a student exception's text


def prewarm():
    """Import everything a notebook usually needs, once, before any fork."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot
    import numpy  # noqa: F401  (imported for the children, before any fork)
    import scipy.ndimage
    import scipy.signal  # noqa: F401
    import torch
    torch.set_num_threads(1)
    import importlib
    import pkgutil
    for name in ("ipywidgets", "PIL.Image", "IPython.display", "matplotlib.animation"):
        try:
            importlib.import_module(name)
        except Exception:  # optional: only saves time later
            pass
    import convlib  # every convlib module a notebook may import, once, before any fork
    for info in pkgutil.iter_modules(convlib.__path__):
        importlib.import_module(f"convlib.{info.name}")
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config
    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    # `%matplotlib inline` (in most notebooks) needs a GUI hook the bare shell lacks: keep Agg.
    shell.enable_matplotlib = lambda gui=None: (gui, "agg")
    shell.enable_gui = lambda gui=None: None
    # Warm the paths every notebook takes (the magic alone costs 0.2 s the first time).
    shell.run_cell("%matplotlib inline\nimport matplotlib.pyplot as _plt\n"
                   "_f = _plt.figure(); _plt.imshow([[0.0, 1.0]]); _f.canvas.draw(); "
                   "_plt.close('all'); del _f, _plt", store_history=False, silent=True)
    shell.user_ns.clear()
    shell.init_user_ns()
    channel._module("numpy")  # remember the real modules before any student code
    channel._module("torch")
    return shell


# ----------------------------------------------------------------------------- output capture

class Capture:
    """A text stream that keeps at most `limit` characters over the whole notebook."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, state, name):
        self.state, self.name, self.parts = state, name, []

    def write(self, text):
        if not isinstance(text, str):
            text = str(text)
        room = self.state["limit"] - self.state["used"]
        if len(text) > room:
            self.state["flooded"] = True
            text = text[:max(room, 0)]
        self.state["used"] += len(text)
        if text:
            self.parts.append(text)
        return len(text)

    def take(self):
        text = "".join(self.parts)
        self.parts = []
        return text[:CELL_OUTPUT_KEEP]

    def flush(self):
        pass

    def isatty(self):
        return False

    def writable(self):
        return True

    def fileno(self):
        raise OSError("no file descriptor in the grader")


# ----------------------------------------------------------------------------- the record

HOOKS = None
RECORD_FD = None  # the child's writing end of the record pipe (the grader holds the other end)
SENT = set()  # labels written since the grader's last request: each is written once per request


def record(label):
    """Called by convlib.forbidden's hooks each time a library convolution runs.

    The grader reads the record after every request, so a label is written once per request:
    a loop of allowed calls (Tensor.unfold 4000 times) cannot fill the pipe. Should the pipe be
    full all the same, the process ends as if the record were closed: a library call is never
    left out of the record.
    """
    if RECORD_FD is None or label in SENT:
        return
    try:
        os.write(RECORD_FD, label.encode()[:200] + b"\n")
    except OSError:
        os._exit(86)  # the record was closed, or is full: nothing may run unrecorded
    SENT.add(label)


# Audit events (sys.addaudithook) that mean the notebook can rewrite the memory behind the
# hooks: ctypes (any use; raised before the foreign call runs) and gc's walks over all objects.
# None of them is raised by an honest notebook of this course (measured on all eight).
TAMPER_EVENTS = ("ctypes.", "gc.get_objects", "gc.get_referrers", "gc.get_referents")


def tamper_audit_hook(fd):
    """An audit hook (Python cannot remove one) writing the first use of each TAMPER_EVENTS
    event to the record pipe `fd`. It keeps its own reference to os.write and its state in a
    closure that only gc's walks (themselves reported first) could reach."""
    write, reported = os.write, set()

    def hook(event, args):
        if event.startswith(TAMPER_EVENTS) and event not in reported:
            reported.add(event)
            try:
                write(fd, f"{channel.TAMPER_PREFIX}{event}\n".encode())
            except OSError:
                os._exit(86)  # the record was closed: nothing may run unrecorded

    return hook


def install_hooks():
    """Hook every library convolution before any student code exists; refuse to start if the
    policy module cannot be loaded (a grader that silently records less is worse than none)."""
    from convlib.forbidden import install_hooks as hook_all
    return hook_all(record)


def canary():
    """Run one library convolution of each kind: the grader checks they all reach the record."""
    import numpy as np
    import scipy.signal
    import torch

    import convlib
    x = np.ones((3, 3))
    torch.nn.functional.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2))
    np.convolve(x[0], x[0])
    scipy.signal.correlate2d(x, x[:2, :2], "valid")
    convlib.correlate2d(x, x[:2, :2])


# ----------------------------------------------------------------------------- the child

def child(sock, record_fd, limits, shell):
    """The forked child: shut itself in, then answer the grader until told to exit."""
    global RECORD_FD
    RECORD_FD = record_fd
    output = isolate(limits)  # (its seccomp filter uses ctypes: before the audit hook)
    sys.addaudithook(tamper_audit_hook(record_fd))
    Student(sock, shell, output).serve()


def isolate(limits):
    """Every catchable signal back at its default, a fresh empty folder as cwd and HOME, stdin
    from /dev/null, fds 1 and 2 into a file, resource limits, no other program; returns the
    capture of sys.stdout and sys.stderr."""
    for number, handler in HANDLERS.items():
        signal.signal(number, handler)
    workdir = tempfile.mkdtemp(prefix="work-", dir="/tmp")
    os.chdir(workdir)
    os.environ["HOME"] = workdir
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large file fails to write, no kill
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    out = os.open(os.path.join(workdir, ".fd-output"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    output = Output(limits["output_chars"])
    sys.stdout, sys.stderr = output.stdout, output.stderr
    set_limits(limits)
    forbid_syscalls()
    return output


class Output:
    """sys.stdout and sys.stderr of the child, sharing one budget of characters."""

    def __init__(self, limit):
        self.state = {"limit": limit, "used": 0, "flooded": False}
        self.stdout, self.stderr = Capture(self.state, "stdout"), Capture(self.state, "stderr")

    @property
    def flooded(self):
        return self.state["flooded"]


class Student:
    """The child's side of the protocol: one method per request of the grader (run a cell,
    describe names, call a function, run the canary); every answer is plain data."""

    def __init__(self, sock, shell, output):
        self.sock, self.shell, self.ns, self.output = sock, shell, shell.user_ns, output
        self.memory_error = False
        self.pid = os.getpid()

    def serve(self):
        ops = {"run": self.run, "describe": self.describe, "call": self.call,
               "canary": self.canary}
        while True:
            try:
                msg, blobs = channel.recv(self.sock)
            except (EOFError, OSError, channel.ChannelError):
                os._exit(0)
            op = msg.get("op")
            if op == "exit":
                os._exit(0)
            if op not in ops:
                self.reply({"ok": False, "error": ["ProtocolError", f"unknown op {op!r}"]})
                continue
            SENT.clear()  # the grader has read the record of the requests before this one
            ops[op](msg, blobs)
            if os.getpid() != self.pid:  # a copy forked by student code: it must not answer
                os._exit(0)

    def error_of(self, err):
        if isinstance(err, MemoryError):
            self.memory_error = True
        try:
            text = str(err)[:MESSAGE_KEEP]
        except BaseException:
            text = "(the message could not be read)"
        return [type(err).__name__[:100], text]

    def reply(self, header, blobs=()):
        if os.getpid() != self.pid:
            os._exit(0)
        header["output_flooded"] = self.output.flooded
        header["memory_error"] = self.memory_error
        channel.send(self.sock, header, blobs)

    def run(self, msg, blobs):
        error = None
        try:
            result = self.shell.run_cell(msg["source"], store_history=False)
            err = result.error_in_exec or result.error_before_exec
            error = self.error_of(err) if err is not None else None
        except BaseException as err:  # student code may raise anything
            error = self.error_of(err)
        try:
            import matplotlib.pyplot as plt
            plt.close("all")
        except BaseException:
            pass
        self.reply({"ok": True, "stdout": self.output.stdout.take(),
                    "stderr": self.output.stderr.take(), "error": error})

    def describe(self, msg, blobs):
        kinds, values = {}, []
        for name in msg["names"]:
            kinds[name] = self.kind_of(name, values)
        tree, out_blobs = channel.encode(values)
        self.reply({"ok": True, "kinds": kinds, "values": tree}, out_blobs)

    def kind_of(self, name, values):
        """["missing"|"callable"|"other", detail] or ["value", index] after appending the value
        to ``values``."""
        if name not in self.ns:
            return ["missing", None]
        value = self.ns[name]
        try:
            if callable(value):
                return ["callable", None]
            _, parts = channel.encode(value)
            if sum(len(part) for part in parts) > MAX_REPLY_BYTES:
                return ["other", "a value too large to grade"]
            values.append(value)
            return ["value", len(values) - 1]
        except BaseException:
            return ["other", type(value).__name__[:100]]

    def call(self, msg, blobs):
        self.reply(*do_call(self.ns, msg, blobs, self.error_of))

    def canary(self, msg, blobs):
        try:
            canary()
            self.reply({"ok": True})
        except BaseException as err:
            self.reply({"ok": False, "error": self.error_of(err)})


def do_call(ns, msg, blobs, error_of):
    import numpy as np
    torch = sys.modules.get("torch")
    try:
        args, kwargs = channel.decode(msg["args"], blobs)
        fn = ns.get(msg["name"])
        if fn is None:
            return {"ok": False, "error": ["NameError", f"name {msg['name']!r} is not defined"]}, ()
    except BaseException as err:
        return {"ok": False, "error": ["ProtocolError", str(err)]}, ()
    try:
        result = fn(*args, **kwargs)
    except BaseException as err:
        return {"ok": False, "error": error_of(err)}, ()
    mutable = (np.ndarray,) + ((torch.Tensor,) if torch is not None else ())
    after = {str(i): a for i, a in enumerate(args) if isinstance(a, mutable)}
    after.update({k: v for k, v in kwargs.items() if isinstance(v, mutable)})
    try:
        tree, out_blobs = channel.encode([result, after])
    except BaseException as err:
        kind = type(result).__name__[:100]
        return {"ok": False, "unsendable": kind,
                "error": ["NotPlainData", f"returned {kind}: {err}"[:MESSAGE_KEEP]]}, ()
    size = sum(len(blob) for blob in out_blobs)
    if size > MAX_REPLY_BYTES:
        return {"ok": False, "too_large": size, "error": ["ResultTooLarge", ""]}, ()
    return {"ok": True, "result": tree}, out_blobs


# ----------------------------------------------------------------------------- the server

CATCHABLE = [s for s in signal.valid_signals()
             if s not in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD)]
HANDLERS = {}  # the server's own handlers before it ignored everything: the child gets them back


def main():
    import json
    ctrl = socket.socket(fileno=int(sys.argv[1]))
    sandboxed = sys.argv[2:3] == ["--sandboxed"] and in_own_pid_namespace()
    if sys.argv[2:3] == ["--sandboxed"] and not sandboxed:
        ctrl.send(json.dumps({"ready": False, "error": "not in a private PID namespace"}).encode())
        os._exit(1)
    for number in CATCHABLE:  # a student process may signal us: SIGTERM, SIGINT, ... do nothing
        try:
            previous = signal.signal(number, signal.SIG_IGN)
            if previous is not None:
                HANDLERS[number] = previous
        except (OSError, ValueError, TypeError):
            pass
    global HOOKS
    shell = prewarm()
    HOOKS = install_hooks()  # kept: torch unregisters a library's kernels when it is freed
    prctl(PR_SET_DUMPABLE, 0)  # student processes of the same uid cannot read our memory/fds
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    cleaner = Cleaner(sandboxed)
    cleaner.remember_clean_state()
    ctrl.send(json.dumps({"ready": True}).encode())
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(ctrl, 65536, 2)
        except OSError:
            os._exit(1)
        if not data:
            os._exit(0)
        msg = json.loads(data)
        if msg.get("op") != "fork" or len(fds) != 2:
            for fd in fds:
                os.close(fd)
            continue
        pid = os.fork()
        if pid == 0:
            try:
                ctrl.close()
                sock = socket.socket(fileno=fds[0])
                child(sock, fds[1], msg["limits"], shell)
            finally:
                os._exit(70)
        for fd in fds:
            os.close(fd)
        status, over = cleaner.watch(pid, msg["limits"]["processes"])
        clean = cleaner.cleanup()
        ended = {"exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                 "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                 "process_limit": over, "clean": clean}
        ctrl.send(json.dumps({"done": True, **ended}).encode())


if __name__ == "__main__":
    main()
