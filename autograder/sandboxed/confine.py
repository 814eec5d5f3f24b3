"""How the sandbox's processes shut themselves in: resource limits, a seccomp filter against
starting other programs and making System V IPC objects, and prctl settings. Standard library
only (runs inside the sandbox)."""

import ctypes
import platform
import resource

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


def prctl(option, value):
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def set_limits(limits):
    """Memory (on top of what is mapped now), CPU seconds, file size, processes, no core dumps,
    256 open files: each as a soft and hard limit, or as low as the hard limit allows."""
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


# Denied system calls, per architecture (seccomp's AUDIT_ARCH value, syscall numbers):
# execve and execveat, so that library code can only run in a process that carries the hooks;
# shmget, semget and msgget, so that no System V IPC object (which outlives every process, and
# whose shared memory no rlimit counts once detached) can be made for the next student to find.
DENIED_SYSCALLS = {"x86_64": (0xC000003E, (59, 322, 29, 64, 68)),
                   "aarch64": (0xC00000B7, (221, 281, 194, 190, 186))}


def forbid_syscalls():
    """A seccomp filter making the DENIED_SYSCALLS fail with EPERM (no_new_privs is set)."""
    arch, numbers = DENIED_SYSCALLS[platform.machine()]

    class Filter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                    ("k", ctypes.c_uint)]

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Filter))]

    load, jeq, ret = 0x20, 0x15, 0x06
    allow, deny, kill = 0x7FFF0000, 0x00050000 | 1, 0x80000000  # ALLOW, ERRNO(EPERM), KILL
    n = len(numbers)
    code = [(load, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, kill), (load, 0, 0, 0)]
    code += [(jeq, n + 1 - i, 0, number) for i, number in enumerate(numbers)]  # -> deny
    code += [(0x45, 1, 0, 0x40000000),  # jset: the x32 ABI's numbers on x86_64 -> deny
             (ret, 0, 0, allow), (ret, 0, 0, deny)]
    filters = (Filter * len(code))(*[Filter(*c) for c in code])
    program = Program(len(code), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS failed")
    if libc.prctl(22, 2, ctypes.byref(program), 0, 0) != 0:  # PR_SET_SECCOMP, FILTER
        raise OSError(ctypes.get_errno(), "seccomp filter refused")
