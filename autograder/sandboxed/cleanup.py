"""Between two students: kill every process the last one left, empty the writable folders and
check the sandbox is as it was before the first student. Standard library only (runs inside the
sandbox, in the fork server).

`Cleaner(sandboxed)`: `sandboxed` is True only inside the sandbox's own PID namespace (then every
other process but init is the student's and may be killed with kill(-1)); it is checked against
reality by the caller. Outside a fresh PID namespace, kill(-1) would hit every process this uid
may signal on the machine (for root: all of them), so only our own descendants are touched, and
/tmp and /dev/shm, the machine's own, are never emptied.
"""

import os
import shutil
import signal
import stat
import time

WRITABLE = ("/tmp", "/dev/shm")
SYSV_IPC = {"shm": "shmid", "sem": "semid", "msg": "msqid"}  # /proc/sysvipc file: id column
IPC_RMID = 0




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


def ipc_objects():
    """[(kind, id, resident bytes)] of the System V IPC objects (shared memory segments, semaphore
    sets, message queues) of this IPC namespace: the sandbox's own (bwrap --unshare-ipc), so in
    the sandbox every one of them is a student's. They outlive the processes that made them.
    The seccomp filter (confine.py) denies making them; this is the check behind it."""
    found = []
    for kind, id_column in SYSV_IPC.items():
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                head, *rows = f.read().splitlines()
        except (OSError, ValueError):
            continue
        names = head.split()
        for row in rows:
            values = dict(zip(names, row.split(), strict=False))
            try:
                found.append((kind, int(values[id_column]),
                              int(values.get("rss") or values.get("cbytes") or 0)))
            except (KeyError, ValueError):
                continue
    return found


def remove_ipc_objects():
    """IPC_RMID every System V IPC object (all are the student's: same uid, so ours to remove)."""
    objects = ipc_objects()
    if not objects:
        return
    import ctypes  # the fork server is trusted code; the student's processes are gone by now
    libc = ctypes.CDLL(None, use_errno=True)
    for kind, ident, _ in objects:
        if kind == "shm":
            libc.shmctl(ident, IPC_RMID, None)
        elif kind == "sem":
            libc.semctl(ident, 0, IPC_RMID)
        else:
            libc.msgctl(ident, IPC_RMID, None)


def _state(folder):
    """What a clean sandbox looks like: the entries and the free space of a writable folder."""
    try:
        fs = os.statvfs(folder)
        return sorted(os.listdir(folder)), fs.f_bfree, fs.f_ffree
    except OSError:
        return None


class Cleaner:
    """The fork server's clean-up between students (see the module docstring)."""

    def __init__(self, sandboxed):
        self.sandboxed = sandboxed
        self.baseline = {}

    def remember_clean_state(self):
        """Empty the writable folders once and remember them as the state every student must
        leave behind."""
        if self.sandboxed:
            for folder in WRITABLE:
                _empty(folder)
                self.baseline[folder] = _state(folder)
        return self.cleanup()

    def others(self):
        """The processes that belong to student code: in the sandbox, all but init and us."""
        if self.sandboxed:
            me = os.getpid()
            return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]
        return sorted(descendants())

    def kill_others(self):
        """SIGKILL every process of the student's."""
        if self.sandboxed:
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

    def cleanup(self):
        """Kill every student process, reap them, empty the writable folders (in the sandbox).
        Returns True when the sandbox is back to its state before the first student."""
        for _ in range(500):
            self.kill_others()
            while True:
                try:
                    pid, _ = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
            if not self.others():
                break
            time.sleep(0.005)
        if not self.sandboxed:
            # /tmp, /dev/shm and the IPC objects are the machine's own: never touch them
            return not self.others()
        for folder in WRITABLE:
            _empty(folder)
        remove_ipc_objects()
        return not self.others() and not ipc_objects() and all(
            _state(folder) == self.baseline.get(folder) for folder in WRITABLE)

    def watch(self, pid, limit):
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
                count = len(self.others())
            except OSError:
                count = 0
            if count > limit:
                over = True
                self.kill_others()
            time.sleep(0.01)
