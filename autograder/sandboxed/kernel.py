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
are as empty as before, and reports how the child ended and whether the sandbox is clean; a
sandbox that is not clean is replaced by the grader before the next student. The server ignores
every signal it can; a SIGSTOP is undone by the grader from outside. The control socket never
reaches student code: the child closes it before running anything.

This file runs with only the sandbox's read-only view of the interpreter, the virtualenv, this
folder and the convlib package; it imports only the standard library, channel.py and convlib.
"""

import ctypes
import os
import platform
import resource
import shutil
import signal
import socket
import stat
import sys
import tempfile
import time

LIB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib")
sys.path.insert(0, LIB)

import channel  # noqa: E402  (this folder is sys.path[0]: the script's own)

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
CELL_OUTPUT_KEEP = 20_000  # characters of each cell's output sent back for the notebook
MAX_REPLY_BYTES = 64 * 2**20  # a result larger than this is refused, and the notebook goes on
MESSAGE_KEEP = 2000  # characters of a student exception's text


def prctl(option, value):
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def prewarm():
    """Import everything a notebook usually needs, once, before any fork."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    import scipy.ndimage  # noqa: F401
    import scipy.signal  # noqa: F401
    import torch
    torch.set_num_threads(1)
    import importlib
    import pkgutil
    for name in ("ipywidgets", "PIL.Image", "IPython.display", "matplotlib.animation"):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001  (optional: only saves time later)
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


def record(label):
    """Called by convlib.forbidden's hooks each time a library convolution runs."""
    if RECORD_FD is None:
        return
    try:
        os.write(RECORD_FD, label.encode()[:200] + b"\n")
    except BlockingIOError:
        pass  # the pipe is full: the grader already has a record of this call
    except OSError:
        os._exit(86)  # the record was closed: nothing may run unrecorded


def install_hooks():
    """Hook every library convolution before any student code exists; refuse to start if the
    policy module cannot be loaded (a grader that silently records less is worse than none)."""
    from convlib.forbidden import install_hooks as hook_all
    return hook_all(record)


# Blocking execve/execveat: library code can only run in a process that carries the hooks.
AUDIT_ARCH = {"x86_64": (0xC000003E, (59, 322)), "aarch64": (0xC00000B7, (221, 281))}


def forbid_exec():
    """A seccomp filter making execve and execveat fail with EPERM (no_new_privs is set)."""
    arch, numbers = AUDIT_ARCH[platform.machine()]

    class Filter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                    ("k", ctypes.c_uint)]

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Filter))]

    load, jeq, ret = 0x20, 0x15, 0x06
    allow, deny, kill = 0x7FFF0000, 0x00050000 | 1, 0x80000000  # ALLOW, ERRNO(EPERM), KILL
    code = [(load, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, kill), (load, 0, 0, 0),
            (jeq, 3, 0, numbers[0]), (jeq, 2, 0, numbers[1]),
            (0x45, 1, 0, 0x40000000),  # jset: the x32 ABI's numbers on x86_64
            (ret, 0, 0, allow), (ret, 0, 0, deny)]
    filters = (Filter * len(code))(*[Filter(*c) for c in code])
    program = Program(len(code), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS failed")
    if libc.prctl(22, 2, ctypes.byref(program), 0, 0) != 0:  # PR_SET_SECCOMP, FILTER
        raise OSError(ctypes.get_errno(), "seccomp filter refused")


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

def set_limits(limits):
    with open("/proc/self/status") as f:
        vm = next((int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:")), 0)
    pairs = [
        (resource.RLIMIT_AS, vm + limits["memory_bytes"]),
        (resource.RLIMIT_CPU, limits["cpu_seconds"]),
        (resource.RLIMIT_FSIZE, limits["file_bytes"]),
        (resource.RLIMIT_NPROC, limits.get("nproc", limits["processes"])),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NOFILE, 256),
    ]
    for which, value in pairs:
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            soft, hard = resource.getrlimit(which)
            resource.setrlimit(which, (min(value, hard) if hard != -1 else value, hard))


def child(sock, record_fd, limits, shell):
    global RECORD_FD
    RECORD_FD = record_fd
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
    state = {"limit": limits["output_chars"], "used": 0, "flooded": False}
    stdout, stderr = Capture(state, "stdout"), Capture(state, "stderr")
    sys.stdout, sys.stderr = stdout, stderr
    set_limits(limits)
    forbid_exec()
    ns = shell.user_ns
    flags = {"memory_error": False}
    me = os.getpid()

    def error_of(err):
        if isinstance(err, MemoryError):
            flags["memory_error"] = True
        try:
            text = str(err)[:MESSAGE_KEEP]
        except BaseException:  # noqa: B036
            text = "(the message could not be read)"
        return [type(err).__name__[:100], text]

    def reply(header, blobs=()):
        header["output_flooded"] = state["flooded"]
        header["memory_error"] = flags["memory_error"]
        channel.send(sock, header, blobs)

    while True:
        try:
            msg, blobs = channel.recv(sock)
        except (EOFError, OSError, channel.ChannelError):
            os._exit(0)
        op = msg.get("op")
        if op == "run":
            error = None
            try:
                result = shell.run_cell(msg["source"], store_history=False)
                err = result.error_in_exec or result.error_before_exec
                error = error_of(err) if err is not None else None
            except BaseException as err:  # noqa: B036  (student code may raise anything)
                error = error_of(err)
            if os.getpid() != me:  # a copy forked by student code: it must not answer
                os._exit(0)
            try:
                import matplotlib.pyplot as plt
                plt.close("all")
            except BaseException:  # noqa: B036
                pass
            reply({"ok": True, "stdout": stdout.take(), "stderr": stderr.take(), "error": error})
        elif op == "describe":
            kinds, values = {}, []
            for name in msg["names"]:
                if name not in ns:
                    kinds[name] = ["missing", None]
                    continue
                value = ns[name]
                try:
                    if callable(value):
                        kinds[name] = ["callable", None]
                        continue
                    _, parts = channel.encode(value)
                    if sum(len(part) for part in parts) > MAX_REPLY_BYTES:
                        kinds[name] = ["other", "a value too large to grade"]
                        continue
                    kinds[name] = ["value", len(values)]
                    values.append(value)
                except BaseException:  # noqa: B036
                    kinds[name] = ["other", type(value).__name__[:100]]
            tree, out_blobs = channel.encode(values)
            reply({"ok": True, "kinds": kinds, "values": tree}, out_blobs)
        elif op == "call":
            answer = do_call(ns, msg, blobs, error_of)
            if os.getpid() != me:
                os._exit(0)
            reply(*answer)
        elif op == "canary":
            try:
                canary()
                reply({"ok": True})
            except BaseException as err:  # noqa: B036
                reply({"ok": False, "error": error_of(err)})
        elif op == "exit":
            os._exit(0)
        else:
            reply({"ok": False, "error": ["ProtocolError", f"unknown op {op!r}"]})


def do_call(ns, msg, blobs, error_of):
    import numpy as np
    torch = sys.modules.get("torch")
    try:
        args, kwargs = channel.decode(msg["args"], blobs)
        fn = ns.get(msg["name"])
        if fn is None:
            return {"ok": False, "error": ["NameError", f"name {msg['name']!r} is not defined"]}, ()
    except BaseException as err:  # noqa: B036
        return {"ok": False, "error": ["ProtocolError", str(err)]}, ()
    try:
        result = fn(*args, **kwargs)
    except BaseException as err:  # noqa: B036
        return {"ok": False, "error": error_of(err)}, ()
    mutable = (np.ndarray,) + ((torch.Tensor,) if torch is not None else ())
    after = {str(i): a for i, a in enumerate(args) if isinstance(a, mutable)}
    after.update({k: v for k, v in kwargs.items() if isinstance(v, mutable)})
    try:
        tree, out_blobs = channel.encode([result, after])
    except BaseException as err:  # noqa: B036
        kind = type(result).__name__[:100]
        return {"ok": False, "unsendable": kind,
                "error": ["NotPlainData", f"returned {kind}: {err}"[:MESSAGE_KEEP]]}, ()
    size = sum(len(blob) for blob in out_blobs)
    if size > MAX_REPLY_BYTES:
        return {"ok": False, "too_large": size, "error": ["ResultTooLarge", ""]}, ()
    return {"ok": True, "result": tree}, out_blobs


# ----------------------------------------------------------------------------- the server

# Whether this server runs inside the sandbox's own PID namespace (then every other process but
# init is the student's and may be killed with kill(-1)). Set in main() from the command line and
# checked against reality: outside a fresh PID namespace, kill(-1) would hit every process this
# uid may signal on the machine (for root: all of them), so only our own descendants are touched.
SANDBOXED = False


def in_own_pid_namespace():
    """True when we are bwrap's child in a fresh PID namespace (pid 1 is bwrap, we are near it)."""
    return os.getppid() == 1 and os.getpid() < 10


def descendants():
    """Pids of our descendants (orphans of the student reparent to us: we are a subreaper)."""
    parent_of = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            parent_of[int(entry)] = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    me, found, frontier = os.getpid(), set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, ppid in parent_of.items() if ppid in frontier} - found - {me}
        found |= frontier
    return found


def others():
    """The processes that belong to student code: in the sandbox, all but init and us."""
    if SANDBOXED:
        me = os.getpid()
        return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]
    return sorted(descendants())


def kill_others():
    if SANDBOXED:
        try:
            os.kill(-1, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return
    for pid in descendants():
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _empty(folder):
    """Delete everything in `folder` that is on its own file system (not our read-only binds),
    first giving back the permissions a student may have taken away (all files are theirs)."""
    try:
        device = os.lstat(folder).st_dev
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        path = os.path.join(folder, entry)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if st.st_dev != device:
            continue  # a mount point: part of the sandbox, not the student's
        if stat.S_ISDIR(st.st_mode):
            _walk_chmod(path)
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def _walk_chmod(folder):
    """Make `folder` and every folder below it ours again (0700), opening each level as we go:
    os.walk cannot enter a folder without read permission."""
    try:
        os.chmod(folder, 0o700)
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        sub = os.path.join(folder, entry)
        try:
            if stat.S_ISDIR(os.lstat(sub).st_mode):
                _walk_chmod(sub)
        except OSError:
            pass


def _state(folder):
    """What a clean sandbox looks like: the entries and the free space of a writable folder."""
    try:
        fs = os.statvfs(folder)
        return sorted(os.listdir(folder)), fs.f_bfree, fs.f_ffree
    except OSError:
        return None


def cleanup():
    """Kill every student process, reap them, empty the writable folders (in the sandbox).
    Returns True when the sandbox is back to its state before the first student."""
    for _ in range(500):
        kill_others()
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        if not others():
            break
        time.sleep(0.005)
    if not SANDBOXED:
        return not others()  # /tmp and /dev/shm are the machine's own: never empty them
    for folder in WRITABLE:
        _empty(folder)
    return not others() and all(_state(folder) == BASELINE.get(folder) for folder in WRITABLE)


WRITABLE = ("/tmp", "/dev/shm")
BASELINE = {}
CATCHABLE = [s for s in signal.valid_signals()
             if s not in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD)]
HANDLERS = {}  # the server's own handlers before it ignored everything: the child gets them back


def watch(pid, limit):
    """Wait for the child; meanwhile count the student's processes and kill them all when they
    exceed `limit` (RLIMIT_NPROC does the same per uid; this also catches processes that exit
    and respawn). Returns (wait status, over limit)."""
    over = False
    while True:
        try:
            done, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return 0, over
        if done == pid:
            return status, over
        if done:
            continue  # an orphan of the child, reaped (we are the sandbox's subreaper)
        try:
            count = len(others())
        except OSError:
            count = 0
        if count > limit:
            over = True
            kill_others()
        time.sleep(0.01)


def main():
    import json
    global SANDBOXED
    ctrl = socket.socket(fileno=int(sys.argv[1]))
    SANDBOXED = sys.argv[2:3] == ["--sandboxed"] and in_own_pid_namespace()
    if sys.argv[2:3] == ["--sandboxed"] and not SANDBOXED:
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
    if SANDBOXED:
        for folder in WRITABLE:
            _empty(folder)
            BASELINE[folder] = _state(folder)
    cleanup()
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
        status, over = watch(pid, msg["limits"]["processes"])
        clean = cleanup()
        ended = {"exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                 "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                 "process_limit": over, "clean": clean}
        ctrl.send(json.dumps({"done": True, **ended}).encode())


if __name__ == "__main__":
    main()
