"""The student side of grading: a pre-warmed fork server that runs inside the bubblewrap sandbox.

    python sandbox_kernel.py CONTROL_FD [--sandboxed]

Started once per grading worker (see sandbox.py). It imports numpy, scipy, torch, matplotlib,
IPython and convlib once, then for each submission receives a fresh private socket over the
control socket and forks a child that:

  * works in a fresh empty folder under the sandbox's private /tmp, under resource limits;
  * records every call into a forbidden library function (tripwires installed before any
    student code runs; they pass the call through and only keep evidence);
  * runs the student's cells with IPython and answers the trusted grader's requests over the
    private socket with plain data only (see channel.py).

When the child is gone, the server kills every other process left in the sandbox (its own PID
namespace), empties /tmp and /dev/shm, and reports how the child ended. The control socket never
reaches student code: the child closes it before running anything.

This file runs with only the sandbox's read-only view of the interpreter, the virtualenv and the
convlib package; it must not import anything from the autograder package.
"""

import ctypes
import os
import resource
import shutil
import signal
import socket
import sys
import tempfile
import time

LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib")
sys.path.insert(0, LIB)

import _grader_channel as channel  # noqa: E402  (bound next to convlib, see sandbox.py)

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
MAX_RECORDS = 500
CELL_OUTPUT_KEEP = 20_000  # characters of each cell's output sent back for the notebook

FALLBACK_FORBIDDEN = (
    "torch.nn.functional.conv1d", "torch.nn.functional.conv2d", "torch.conv1d", "torch.conv2d",
    "torch.nn.Conv1d", "torch.nn.Conv2d", "numpy.convolve", "numpy.correlate",
    "scipy.signal.*", "scipy.ndimage.*",
)


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
    try:  # every convlib module a notebook may import, once, before any fork
        import convlib
        for info in pkgutil.iter_modules(convlib.__path__):
            try:
                importlib.import_module(f"convlib.{info.name}")
            except Exception:  # noqa: BLE001
                pass
    except Exception:  # noqa: BLE001  (the grader still works for notebooks without convlib)
        pass
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


# ----------------------------------------------------------------------------- tripwires

RECORD = []
_LIB_PREFIXES = tuple(p for p in {sys.prefix, sys.base_prefix, os.path.dirname(LIB)} if p)


def _student_frames():
    names, frame = [], sys._getframe(2)
    while frame is not None and len(names) < 50:
        filename = frame.f_code.co_filename
        if not filename.startswith(_LIB_PREFIXES) and filename != __file__:
            names.append(frame.f_code.co_name)
        frame = frame.f_back
    return names


def _wire(original, label):
    def tripwire(*args, **kwargs):
        if len(RECORD) < MAX_RECORDS:
            try:
                RECORD.append((label, _student_frames()))
            except Exception:
                RECORD.append((label, []))
        return original(*args, **kwargs)

    tripwire.__name__ = getattr(original, "__name__", label.rsplit(".", 1)[-1])
    tripwire.__doc__ = getattr(original, "__doc__", None)
    return tripwire


def _resolve(dotted):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        obj = sys.modules.get(".".join(parts[:cut]))
        if obj is not None:
            try:
                for part in parts[cut:]:
                    obj = getattr(obj, part)
            except AttributeError:
                return None
            return obj
    return None


def install_tripwires():
    """Wrap the forbidden library functions so calls into them are recorded, then passed on."""
    import inspect
    try:
        from convlib.checks import FORBIDDEN_CONV_CALLS as forbidden
    except Exception:
        forbidden = FALLBACK_FORBIDDEN
    for entry in forbidden:
        if entry.endswith(".*"):
            prefix = entry[:-2]
            for name, module in list(sys.modules.items()):
                if module is None or not (name == prefix or name.startswith(prefix + ".")):
                    continue
                for attr, value in list(vars(module).items()):
                    if attr.startswith("__") or not inspect.isroutine(value):
                        continue
                    owner = getattr(value, "__module__", "") or ""
                    if owner == prefix or owner.startswith(prefix + ".") or owner.startswith(
                            "_") or inspect.isbuiltin(value):
                        try:
                            setattr(module, attr, _wire(value, f"{prefix}.{attr}"))
                        except (AttributeError, TypeError):
                            pass
            continue
        module_name, _, attr = entry.rpartition(".")
        owner = _resolve(module_name)
        value = getattr(owner, attr, None) if owner is not None else None
        if value is None:
            continue
        try:
            if inspect.isclass(value):
                value.forward = _wire(value.forward, entry)
            elif callable(value):
                setattr(owner, attr, _wire(value, entry))
        except (AttributeError, TypeError):
            pass


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


def child(sock, limits, shell):
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
    install_tripwires()
    set_limits(limits)
    ns = shell.user_ns
    flags = {"memory_error": False}
    me = os.getpid()

    def error_of(err):
        if isinstance(err, MemoryError):
            flags["memory_error"] = True
        try:
            text = str(err)[:2000]
        except BaseException:
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
                    channel.encode(value)
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
        elif op == "tripwires":
            wanted = msg.get("function")
            records = [[label, names[:20]] for label, names in RECORD
                       if wanted is None or wanted in names]
            reply({"ok": True, "records": records[:100]})
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
                "error": ["NotPlainData", f"returned {kind}: {err}"[:2000]]}, ()
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


def cleanup():
    """Kill every student process, reap them, empty the writable folders (in the sandbox)."""
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
        return  # /tmp and /dev/shm are the machine's own: never empty them
    for folder in ("/tmp", "/dev/shm"):
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            path = os.path.join(folder, entry)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)
            except OSError:
                pass


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
    shell = prewarm()
    prctl(PR_SET_DUMPABLE, 0)  # student processes of the same uid cannot read our memory/fds
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    cleanup()
    ctrl.send(json.dumps({"ready": True}).encode())
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(ctrl, 65536, 1)
        except OSError:
            os._exit(1)
        if not data:
            os._exit(0)
        msg = json.loads(data)
        if msg.get("op") != "fork" or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            continue
        pid = os.fork()
        if pid == 0:
            try:
                ctrl.close()
                sock = socket.socket(fileno=fds[0])
                child(sock, msg["limits"], shell)
            finally:
                os._exit(70)
        os.close(fds[0])
        status, over = watch(pid, msg["limits"]["processes"])
        cleanup()
        ended = {"exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                 "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                 "process_limit": over}
        ctrl.send(json.dumps({"done": True, **ended}).encode())


if __name__ == "__main__":
    main()
