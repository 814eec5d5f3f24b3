"""`python -m autograder doctor`: can student code be graded safely on this machine?

Each check is a function of the `Machine` it looks at and returns a `Check`. They run in order
and stop at the first failure, because each needs the ones before it: no bwrap, no namespaces;
no namespaces, no sandbox. The last ones start one real sandbox and look from inside it: no
network, no course files, a private /tmp, not root, and every library convolution run inside
reaches the grader's record. When bwrap fails, `diagnose` maps its own
error message to the setting that blocks it and the exact fix (docs/deployment.md has the long
form). `preflight` is the same run for the grader: it raises SandboxError naming the first
failure's cause and fix.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .sandbox import Limits, Sandbox, SandboxDied, SandboxError, SandboxTimeout
from .sandbox_command import SETPRIV, UID, bwrap_command

DOCS = "docs/deployment.md"
CAP_SYS_ADMIN = 21

# The fixes, written once: several bwrap messages share one.
PERSIST = "to keep it after a reboot, put the same setting in /etc/sysctl.d/60-grader.conf"
FIX_USERNS_CLONE = ("sudo sysctl -w kernel.unprivileged_userns_clone=1 "
                    f"({PERSIST}); or grade as root, which needs no user namespace")
FIX_APPARMOR = ("Ubuntu 23.10 and later restrict user namespaces with AppArmor: allow bwrap "
                "alone with `sudo install -m 644 deploy/ubuntu-24.04-apparmor-bwrap "
                "/etc/apparmor.d/bwrap && sudo apparmor_parser -r /etc/apparmor.d/bwrap`, or "
                "every program with `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns"
                f"=0` ({PERSIST}); inside a container the host's setting applies: change it on "
                "the host, or grade as root in the container")
FIX_DOCKER = ("the container must allow bwrap its namespaces and mounts: `docker run "
              "--security-opt seccomp=unconfined --security-opt apparmor=unconfined "
              "--security-opt systempaths=unconfined ...` (see deploy/Dockerfile); Kubernetes: "
              f"the securityContext of deploy/grader-pod.yaml ({DOCS})")
FIX_DOCKER_ROOT = ("grading as root in a container needs `docker run --cap-add SYS_ADMIN "
                   "--cap-add NET_ADMIN --security-opt seccomp=unconfined --security-opt "
                   "apparmor=unconfined ...`; Kubernetes: deploy/grader-pod.yaml (the same "
                   f"rights, but only inside the pod's own user namespace; {DOCS})")
FIX_BREACH = ("do not grade untrusted code on this machine until this check passes; send the "
              "output of `python -m autograder doctor` to whoever maintains the grader")


class Check(NamedTuple):
    """One line of the report: `fix` says what to do when `ok` is False."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None


class Diagnosis(NamedTuple):
    """What blocks bwrap, in the words of the setting, and the exact fix."""

    cause: str
    fix: str


@dataclass
class Machine:
    """What the checks look at. Tests replace any part of it (a fake bwrap, another /proc)."""

    bwrap: str | None  # the bwrap executable; None when it is not installed
    setpriv: str | None
    as_root: bool
    proc: Path  # for the sysctl settings and this process's seccomp filter and capabilities
    course: Path  # the canary folder goes here
    seen: dict = field(default_factory=dict)  # what the probe saw inside the sandbox
    sandbox: object = None  # a started Sandbox to probe (the grader's own), else one is started
    unrecorded: list = field(default_factory=list)  # canary convolutions the record missed

    def sysctl(self, name):
        """`user.max_user_namespaces` -> its value, or None where the kernel has no such knob."""
        try:
            return int((self.proc / "sys" / name.replace(".", "/")).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def status(self, key):
        try:
            for line in (self.proc / "self" / "status").read_text().splitlines():
                if line.startswith(f"{key}:"):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return None

    def seccomp_filtered(self):
        """A seccomp filter is on: every container runtime's default profile sets one."""
        return self.status("Seccomp") == "2"

    def can_sys_admin(self):
        caps = self.status("CapEff")
        return caps is not None and bool(int(caps, 16) >> CAP_SYS_ADMIN & 1)

    def settings(self):
        names = ("user.max_user_namespaces", "kernel.unprivileged_userns_clone",
                 "kernel.apparmor_restrict_unprivileged_userns")
        found = [f"{n} = {self.sysctl(n)}" for n in names if self.sysctl(n) is not None]
        if self.seccomp_filtered():
            found.append("a seccomp filter is on")
        return ", ".join(found) or "no user-namespace settings found"


def diagnose(message, machine):
    """The setting behind one of bwrap's error messages, and the exact fix."""
    m = machine
    if "No permissions to creat" in message:  # "creating" (old), "create a new", "create new"
        return _user_namespaces_refused(m)
    if "setting up uid map" in message or "setting up gid map" in message or (
            "Creating new namespace failed: Permission denied" in message):
        return Diagnosis("AppArmor lets bwrap create a user namespace but not use it "
                         "(Ubuntu 23.10 and later: kernel.apparmor_restrict_unprivileged_userns)",
                         FIX_APPARMOR)
    if "ENOSPC" in message or "No space left on device" in message:
        return _namespace_limit(m)
    if "kernel does not support user namespaces" in message:
        return Diagnosis("this kernel has no user namespaces (CONFIG_USER_NS)",
                         "grade as root (bwrap then runs privileged, without a user "
                         "namespace), or use a kernel with CONFIG_USER_NS=y")
    if "Creating new namespace failed: Operation not permitted" in message:
        if m.as_root and not m.can_sys_admin():
            return Diagnosis("root without CAP_SYS_ADMIN (a container drops it)",
                             FIX_DOCKER_ROOT)
        return Diagnosis("namespaces are refused (a container's seccomp filter or missing "
                         "capabilities)", FIX_DOCKER_ROOT if m.as_root else FIX_DOCKER)
    if "Failed to make / slave" in message or "pivot_root" in message or (
            "setting up newroot bind" in message):
        who = ("AppArmor (Docker's docker-default profile denies mount)"
               if "Permission denied" in message else "the container's seccomp filter")
        return Diagnosis(f"bwrap may not mount: {who}",
                         FIX_DOCKER_ROOT if m.as_root else FIX_DOCKER)
    if "Can't mount proc" in message:
        return Diagnosis("the container masks parts of /proc, so the kernel refuses a fresh "
                         "/proc inside a user namespace",
                         "Docker: `--security-opt systempaths=unconfined`; Kubernetes: "
                         "`procMount: Unmasked` with `hostUsers: false` (deploy/grader-pod.yaml)")
    if "loopback" in message:
        return Diagnosis("bwrap cannot set up the sandbox's loopback interface: root without "
                         "CAP_NET_ADMIN, or gVisor (runsc), which bwrap does not support",
                         FIX_DOCKER_ROOT if m.as_root else f"not under gVisor; {FIX_DOCKER}")
    if "setpriv:" in message:
        return Diagnosis("setpriv cannot drop to nobody: root lacks CAP_SETUID or CAP_SETGID "
                         "(a container dropped them)", "docker run --cap-add SETUID --cap-add "
                         "SETGID ...; Kubernetes: add them as in deploy/grader-pod.yaml")
    if "ModuleNotFoundError" in message or "ImportError" in message:
        return Diagnosis("the sandbox's Python cannot import a package it needs: only the "
                         "interpreter, its virtualenv and convlib are inside (not PYTHONPATH, "
                         "not user site folders)", "run the grader with the course's virtualenv "
                         "(.venv/bin/python -m autograder ...), where numpy, torch, matplotlib "
                         "and IPython are installed")
    if "Permission denied" in message or "PermissionError" in message:
        return Diagnosis("the student process cannot read a file it needs (it runs as nobody)",
                         "make Python and the virtualenv readable by everyone: chmod -R o+rX "
                         "on their folders, or install them outside a private home folder")
    return Diagnosis("the sandbox failed for a reason the doctor does not know", f"see {DOCS}")


def _user_namespaces_refused(m):
    """bwrap said "No permissions to create a new namespace": which setting refuses it."""
    if m.sysctl("kernel.unprivileged_userns_clone") == 0:
        return Diagnosis("kernel.unprivileged_userns_clone = 0: the kernel refuses user "
                         "namespaces to unprivileged users", FIX_USERNS_CLONE)
    if m.seccomp_filtered():
        return Diagnosis("a seccomp filter refuses namespaces: Docker's default profile "
                         "(and Kubernetes' RuntimeDefault) blocks clone/unshare with "
                         "namespace flags", FIX_DOCKER)
    if m.sysctl("kernel.apparmor_restrict_unprivileged_userns") == 1:
        return Diagnosis("kernel.apparmor_restrict_unprivileged_userns = 1", FIX_APPARMOR)
    return Diagnosis("unprivileged user namespaces are refused here",
                     f"{FIX_USERNS_CLONE}; in a container: {FIX_DOCKER}")


def _namespace_limit(m):
    """bwrap said ENOSPC: user namespaces switched off, or a namespace limit used up."""
    if m.sysctl("user.max_user_namespaces") == 0:
        return Diagnosis("user.max_user_namespaces = 0: user namespaces are switched off",
                         f"sudo sysctl -w user.max_user_namespaces=15000 ({PERSIST}); in a "
                         "container, on the host; or grade as root")
    return Diagnosis("a namespace limit (`sysctl user` lists them: max_user_namespaces, "
                     "max_pid_namespaces, ...) is used up, or namespaces nest too deep",
                     "raise the exhausted one, e.g. sudo sysctl -w "
                     "user.max_user_namespaces=15000; or grade with fewer workers")


# ----------------------------------------------------------------------------- the checks

def bwrap_installed(m):
    if m.bwrap is None:
        return Check("bwrap installed", False, "bwrap (bubblewrap) is not on PATH",
                     "sudo apt-get install bubblewrap (dnf install bubblewrap on Fedora); in "
                     f"a container, in its image: see deploy/Dockerfile and {DOCS}")
    version = subprocess.run([m.bwrap, "--version"], capture_output=True, text=True,
                             timeout=10, stdin=subprocess.DEVNULL).stdout.strip()
    return Check("bwrap installed", True, f"{m.bwrap} ({version or 'version unknown'})")


def setpriv_present(m):
    if not m.as_root:
        return Check("setpriv", True, "not needed: the grader is not root, so bwrap maps it to "
                     "nobody in a user namespace")
    if m.setpriv is None:
        return Check("setpriv", False, "the grader runs as root and setpriv is missing, so "
                     "nothing could drop student code to nobody",
                     "sudo apt-get install util-linux (it provides setpriv)")
    return Check("setpriv", True, f"{m.setpriv}: the grader is root, so bwrap runs privileged "
                 f"and setpriv drops student code to nobody ({UID})")


def namespaces(m):
    """bwrap with the sandbox's own options (its namespaces, binds, /proc, /dev, /tmp), running
    `true` instead of Python: so what fails here is what would fail when grading."""
    options = bwrap_command(3, Limits())
    cmd = [m.bwrap, *options[1:options.index("--")], "--", "true"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd="/",
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Check("namespaces", False, "bwrap did not finish in 30 s", f"see {DOCS}")
    if done.returncode == 0:
        how = ("privileged, without a user namespace" if m.as_root
               else "in an unprivileged user namespace")
        return Check("namespaces", True, f"bwrap creates the sandbox's PID, network, IPC, UTS "
                     f"and mount namespaces, {how} ({m.settings()})")
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    message = next((line for line in reversed(lines) if line.startswith("bwrap:")),
                   lines[-1] if lines else f"bwrap exited with {done.returncode}")
    cause, fix = diagnose(message, m)
    return Check("namespaces", False, f"{message} ({m.settings()}) -> {cause}", fix)


def interpreter_readable(m):
    """As root, student code runs as nobody, which must be able to run Python and the venv."""
    if not m.as_root:
        return Check("interpreter readable", True, "not needed: student code runs as your own "
                     "user, mapped to nobody")
    probe = subprocess.run([m.setpriv, *SETPRIV, sys.executable, "-s", "-c",
                            "import numpy, torch, IPython"], capture_output=True, text=True,
                           timeout=120, cwd="/", stdin=subprocess.DEVNULL)
    if probe.returncode == 0:
        return Check("interpreter readable", True, f"nobody can run {sys.executable} and import "
                     "numpy, torch, IPython")
    why = (probe.stderr.strip().splitlines() or ["failed"])[-1]
    if why.startswith("setpriv:"):
        cause, fix = diagnose(why, m)
        return Check("interpreter readable", False, f"{why} -> {cause}", fix)
    # The sandbox binds the interpreter's folders and makes their parents enterable inside, so
    # a closed parent (a Python under root's home) only stops `--unsandboxed` from dropping.
    closed = [d for d in parents_of_interpreter() if not os.stat(d).st_mode & 0o001]
    if closed:
        return Check("interpreter readable", True, f"nobody cannot enter {closed[0]}, but the "
                     "sandbox binds the interpreter below it (the sandbox check tries it); "
                     "`--unsandboxed` could not drop to nobody here")
    return Check("interpreter readable", False, f"as nobody, {sys.executable}: {why}",
                 "make Python and the virtualenv readable by everyone (chmod -R o+rX on "
                 f"{sys.base_prefix} and {sys.prefix})")


def parents_of_interpreter():
    folders = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix,
                                             os.path.dirname(os.path.realpath(sys.executable)))}
    parents = set()
    for folder in folders:
        while folder not in ("/", ""):
            folder = os.path.dirname(folder)
            parents.add(folder)
    return sorted(parents)


PROBE = """
import json, os, socket

def connect(address):
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect(address)
        return None
    except OSError as err:
        return f"{type(err).__name__}: {err}"
    finally:
        s.close()

def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as err:
        return type(err).__name__

p = json.loads(%r)
print("DOCTOR", json.dumps({
    "uid": os.getuid(), "euid": os.geteuid(),
    "internet": connect(("1.1.1.1", 53)), "loopback": connect(("127.0.0.1", p["port"])),
    "canary": read(p["canary"]), "tmp": read(p["tmp"])}))
"""


def sandbox_starts(m):
    """Start one real sandbox and run the probe in it; the checks after this read `m.seen`."""
    token = secrets.token_hex(16)
    with contextlib.ExitStack() as stack:
        outside = stack.enter_context(tempfile.TemporaryDirectory(
            prefix=".doctor-", dir=m.course if os.access(m.course, os.W_OK) else None))
        os.chmod(outside, 0o755)  # readable by all: only the sandbox's mounts may hide it
        canary = Path(outside, "canary.txt")
        canary.write_text(token)
        canary.chmod(0o644)
        host_tmp = stack.enter_context(tempfile.NamedTemporaryFile(
            "w", dir="/tmp", prefix="doctor-"))  # the real /tmp: the sandbox's is private
        host_tmp.write(token)
        host_tmp.flush()
        os.chmod(host_tmp.name, 0o644)
        listener = stack.enter_context(socket.create_server(("127.0.0.1", 0)))
        port = listener.getsockname()[1]
        box = m.sandbox
        if box is None:
            box = Sandbox(Limits(call_timeout=20, notebook_timeout=60, start_timeout=60))
            try:
                box.start()
            except SandboxError as err:
                message = " ".join(str(err).split())[-600:]
                cause, fix = diagnose(message, m)
                return Check("sandbox starts", False, f"{message} -> {cause}", fix)
            stack.callback(box.kill)
        session = box.session()
        stack.callback(session.close)
        params = json.dumps({"port": port, "canary": str(canary), "tmp": host_tmp.name})
        try:
            reply, _ = session.request({"op": "run", "source": PROBE % params}, timeout=60)
            m.unrecorded = session.unrecorded(timeout=60)
        except (SandboxDied, SandboxTimeout) as err:
            return Check("sandbox starts", False, f"the probe did not answer: {err}", FIX_BREACH)
        lines = [line for line in reply.get("stdout", "").splitlines()
                 if line.startswith("DOCTOR ")]
        if reply.get("error") or not lines:
            return Check("sandbox starts", False, f"the probe failed: {reply.get('error')} "
                         f"{reply.get('stderr', '')[-500:]}", FIX_BREACH)
        m.seen = json.loads(lines[-1][len("DOCTOR "):])
        m.seen.update(token=token, port=port, canary_dir=outside)
    return Check("sandbox starts", True, "a sandbox started and ran the probe")


def no_network(m):
    internet, loopback = m.seen["internet"], m.seen["loopback"]
    detail = (f"inside, 1.1.1.1:53 -> {internet or 'connected'}; the doctor's port "
              f"127.0.0.1:{m.seen['port']} outside -> {loopback or 'connected'}")
    if internet is None or loopback is None:
        return Check("no network", False, detail, FIX_BREACH)
    return Check("no network", True, detail)


def hidden(name, what, seen, token):
    """Hidden means absent from the sandbox's view. A file it can see but not read is kept out
    by permissions only, and those do not stop student code that runs as the grader's user."""
    if seen == "FileNotFoundError":
        return Check(name, True, f"{what} is not visible inside")
    how = "readable" if seen == token else f"visible, though not readable ({seen}),"
    return Check(name, False, f"{what} is {how} inside", FIX_BREACH)


def course_files_hidden(m):
    return hidden("course files hidden", f"a file the doctor wrote in {m.seen['canary_dir']}",
                  m.seen["canary"], m.seen["token"])


def private_tmp(m):
    return hidden("private /tmp", "a file in the machine's /tmp", m.seen["tmp"],
                  m.seen["token"])


def not_root(m):
    uid, euid = m.seen["uid"], m.seen["euid"]
    if 0 in (uid, euid):
        return Check("not root", False, f"student code runs as uid {uid} (euid {euid})",
                     FIX_BREACH)
    return Check("not root", True, f"student code runs as uid {uid}")


def record_works(m):
    """Every library convolution run inside reaches the grader's record (from-scratch checks
    depend on it; convlib.forbidden hooks them, autograder/sandboxed/kernel.py writes it)."""
    missing = m.unrecorded
    if missing:
        return Check("record of library calls", False, f"not recorded: {', '.join(missing)}",
                     "reinstall the course package (pip install -e .); the installed torch, "
                     "numpy, scipy or convlib is not the one convlib.forbidden knows")
    return Check("record of library calls", True, "torch, numpy, scipy and convlib "
                 "convolutions run inside are all recorded")


CHECKS = [bwrap_installed, setpriv_present, namespaces, interpreter_readable, sandbox_starts,
          no_network, course_files_hidden, private_tmp, not_root, record_works]
PROVEN_BY_A_STARTED_SANDBOX = (namespaces, interpreter_readable)


def run_checks(course=None, *, sandbox=None, bwrap="bwrap", setpriv="setpriv", as_root=None,
               proc="/proc"):
    """Run the checks in order up to the first failure. `sandbox`: probe this started Sandbox
    (the grader's) instead of starting one; the checks it already proves are skipped. The other
    keywords are for tests (a fake bwrap, a fake /proc, the other side of root / non-root)."""
    machine = Machine(bwrap=shutil.which(bwrap), setpriv=shutil.which(setpriv),
                      as_root=os.geteuid() == 0 if as_root is None else as_root,
                      proc=Path(proc), course=Path(course or ".").resolve(), sandbox=sandbox)
    checks = []
    for check in CHECKS:
        if sandbox is not None and check in PROVEN_BY_A_STARTED_SANDBOX:
            continue
        checks.append(check(machine))
        if not checks[-1].ok:
            break
    return checks


def report(checks):
    """One line per check; a failure adds its fix, and says the later checks were not run."""
    lines = []
    for c in checks:
        lines.append(f"{'ok' if c.ok else 'FAIL':4}  {c.name}: {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"      fix: {c.fix}")
    if all(c.ok for c in checks) and checks[-1].name == "record of library calls":
        lines.append("all checks passed: student code is sandboxed on this machine")
    else:
        lines.append(f"stopped at the first failure ({len(CHECKS) - len(checks)} later checks "
                     f"need it); fix it and run the doctor again ({DOCS})")
    return "\n".join(lines)


def preflight(course=None, sandbox=None):
    """For the grader, before grading: raise SandboxError naming the first failed check's cause
    and fix. With `sandbox`, the grader's first started sandbox is the one probed."""
    for c in run_checks(course, sandbox=sandbox):
        if not c.ok:
            raise SandboxError(f"the sandbox is not safe to grade with here: {c.name}: "
                               f"{c.detail}. Fix: {c.fix}. (`python -m autograder doctor` "
                               f"shows every check; {DOCS})")
