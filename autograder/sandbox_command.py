"""What a student process can see: the bubblewrap command line of the grading sandbox (the
trusted side builds it; autograder/sandbox.py starts and drives the process).

Inside: the interpreter's prefix, the virtualenv and the convlib package, all read-only; /usr
read-only; a private size-limited /tmp (its only writable place); its own /proc and a minimal
/dev. Not the repository, the course folder, the gradebook or other submissions. As root, bwrap
runs privileged (it can bind an interpreter from a folder only root may enter) and `setpriv`
drops to the real uid `nobody` with no capability before Python starts; otherwise bwrap maps the
user to `nobody` in a user namespace.

`unsandboxed_command` is the same fork server without any isolation (only with --unsandboxed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SANDBOXED = HERE / "sandboxed"  # bound read-only into the sandbox: the kernel and the channel
INSIDE = "/opt/grader"  # where that folder (and convlib, in lib/) appear in the sandbox
UID = 65534  # nobody


def bwrap_available():
    """bwrap, and (when the grader runs as root) setpriv to drop to an unprivileged uid."""
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return False
    return shutil.which("bwrap") is not None


def convlib_dir():
    import convlib
    return Path(convlib.__file__).resolve().parent


def parent_dirs(cmd):
    """`--dir` options making every parent of a mount point world-traversable (0755): privileged
    bwrap creates them 0700, which the unprivileged student uid could not enter."""
    targets, i = [], 0
    takes_two = {"--ro-bind", "--bind", "--symlink"}
    takes_one = {"--proc", "--dev", "--tmpfs"}
    while i < len(cmd):
        if cmd[i] in takes_two:
            targets.append(cmd[i + 2])
            i += 3
        elif cmd[i] in takes_one:
            targets.append(cmd[i + 1])
            i += 2
        else:
            i += 1
    parents = set()
    for target in targets:
        parent = os.path.dirname(target)
        while parent not in ("/", ""):
            parents.add(parent)
            parent = os.path.dirname(parent)
    mounted = set(targets)
    out = []
    for parent in sorted(parents, key=lambda d: (d.count("/"), d)):
        if any(parent == m or parent.startswith(m + "/") for m in mounted):
            continue
        out += ["--perms", "0755", "--dir", parent]
    return out


def bwrap_command(ctrl_fd, limits):
    """The bwrap command line: read-only binds of only what Python needs."""
    prefixes = []
    for p in (sys.base_prefix, sys.prefix, sys.exec_prefix, os.path.dirname(
            os.path.realpath(sys.executable))):
        p = os.path.realpath(p)
        if not any(p == q or p.startswith(q + os.sep) for q in prefixes + ["/usr"]):
            prefixes.append(p)
    as_root = os.geteuid() == 0
    if as_root:
        # Real root must never run student code: inside a user namespace it would still be uid 0
        # to the kernel (RLIMIT_NPROC unenforced; an escape could signal any host process). bwrap
        # runs privileged, without a user namespace, so it can bind the interpreter even from a
        # folder only root may enter (e.g. a pyenv under /root); setpriv then drops, inside, to
        # the real uid `nobody` with no capability at all before Python starts.
        cmd = [shutil.which("bwrap"), "--unshare-pid", "--unshare-net", "--unshare-ipc",
               "--unshare-uts", "--unshare-cgroup-try", "--cap-add", "CAP_SETUID",
               "--cap-add", "CAP_SETGID"]
    else:
        cmd = [shutil.which("bwrap"), "--unshare-all", "--uid", str(UID), "--gid", str(UID)]
    cmd += ["--die-with-parent", "--new-session", "--hostname", "sandbox",
            "--ro-bind", "/usr", "/usr"]
    for link in ("lib", "lib64", "bin", "sbin"):
        if os.path.islink(f"/{link}"):
            cmd += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
        elif os.path.isdir(f"/{link}"):
            cmd += ["--ro-bind", f"/{link}", f"/{link}"]
    for etc in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/alternatives"):
        if os.path.exists(etc):
            cmd += ["--ro-bind", etc, etc]
    for p in prefixes:
        cmd += ["--ro-bind", p, p]
    # The venv's python is a symlink into the base prefix: bind the venv itself too.
    venv = os.path.abspath(sys.prefix)
    if venv not in prefixes and os.path.realpath(venv) != venv:
        cmd += ["--ro-bind", venv, venv]
    cmd += ["--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/dev/shm",
            "--ro-bind", str(SANDBOXED), f"{INSIDE}/sandboxed",
            "--ro-bind", str(convlib_dir()), f"{INSIDE}/lib/convlib",
            "--chdir", "/tmp", "--clearenv"]
    cmd = _private_tmp(cmd, limits)
    cmd[1:1] = parent_dirs(cmd)
    env = {"HOME": "/tmp", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
           "MPLCONFIGDIR": "/tmp/.mpl", "IPYTHONDIR": "/tmp/.ipython", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONHASHSEED": "0", "PYTHONNOUSERSITE": "1"}
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    python = os.path.abspath(sys.executable)
    cmd += ["--"]
    if as_root:
        cmd += [shutil.which("setpriv") or "/usr/bin/setpriv", *SETPRIV]
    cmd += [python, "-s", f"{INSIDE}/sandboxed/kernel.py", str(ctrl_fd), "--sandboxed"]
    return cmd


def _private_tmp(cmd, limits):
    """Mount the student's /tmp first, so that binds under /tmp (a checkout or a virtualenv in
    /tmp) land on top of it instead of being hidden by it. Each top-level folder of /tmp that
    holds a bind becomes a read-only tmpfs of its own: the student can neither rename it nor
    write next to the binds."""
    binds, i, held = [], 0, []
    while i < len(cmd):
        if cmd[i] in ("--ro-bind", "--bind", "--symlink"):
            target = cmd[i + 2]
            if target == "/tmp" or target.startswith("/tmp/"):
                top = "/".join(target.split("/")[:3])
                if top not in held:
                    held.append(top)
            binds.append(i)
            i += 3
        else:
            i += 1
    head = cmd.index("--die-with-parent")
    tmp = ["--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    for top in held:
        tmp += ["--perms", "0755", "--size", str(2**20), "--tmpfs", top]
    between = set()
    for i in binds:
        target = cmd[i + 2]
        parent = os.path.dirname(target)
        while parent.count("/") > 2 and parent.startswith("/tmp/"):
            between.add(parent)
            parent = os.path.dirname(parent)
    for folder in sorted(between, key=lambda d: d.count("/")):
        tmp += ["--perms", "0755", "--dir", folder]
    tail = [arg for top in held for arg in ("--remount-ro", top)]
    chdir = cmd.index("--chdir")
    return cmd[:head] + tmp + cmd[head:chdir] + tail + cmd[chdir:]


# Drop to the real uid `nobody`: no groups, no capability now or ever (bounding set empty, and
# no setuid binary can give any back: no_new_privs; bwrap's mounts are nosuid as well).
SETPRIV = [f"--reuid={UID}", f"--regid={UID}", "--clear-groups", "--no-new-privs",
           "--inh-caps=-all", "--bounding-set=-all", "--"]


def can_drop_to_nobody():
    """For unsandboxed grading by root: can the interpreter run as `nobody` (all its files
    readable by everyone)? Then student code at least does not run as root."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    try:
        probe = subprocess.run([shutil.which("setpriv"), *SETPRIV, sys.executable, "-s", "-c",
                                "import numpy, torch, IPython"], cwd="/", timeout=120,
                               stdin=subprocess.DEVNULL, capture_output=True)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def unsandboxed_command(ctrl_fd, workdir):
    """The same fork server without any isolation (only with --unsandboxed)."""
    lib = Path(workdir) / "lib"
    lib.mkdir(parents=True, exist_ok=True)
    inside = Path(workdir) / "sandboxed"
    if not inside.exists():
        shutil.copytree(SANDBOXED, inside, ignore=shutil.ignore_patterns("__pycache__"))
    if not (lib / "convlib").exists():
        os.symlink(convlib_dir(), lib / "convlib")
    return [sys.executable, "-s", str(inside / "kernel.py"), str(ctrl_fd)]
