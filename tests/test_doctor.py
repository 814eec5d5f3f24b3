"""`python -m autograder doctor`: it passes where the sandbox works, and where it does not, it names
the setting that blocks bwrap and the fix. The broken machines are fake bwrap executables that
print bwrap's real error messages, next to a fake /proc with the matching settings."""

import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import doctor
from autograder.__main__ import main
from autograder.sandbox import Sandbox, SandboxError
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parent.parent
DEBIAN = " On e.g. debian this can be enabled with 'sysctl kernel.unprivileged_userns_clone=1'."
NOT_ALLOWED = "likely because the kernel does not allow non-privileged user namespaces."
SECCOMP_ON = "Seccomp:\t2\nCapEff:\t00000000a80425fb\n"  # Docker's default capabilities
NO_FILTER = "Seccomp:\t0\nCapEff:\t000001ffffffffff\n"


def fake_machine(tmp_path, message, sysctl=None, status=NO_FILTER):
    """A bwrap that prints `message` as bwrap does and fails, and a /proc with `sysctl`."""
    (tmp_path / "message").write_text(f"bwrap: {message}\n")
    bwrap = tmp_path / "bwrap"
    bwrap.write_text('#!/bin/sh\n'
                     'if [ "$1" = --version ]; then echo "bubblewrap 0.8.0"; exit 0; fi\n'
                     f'cat "{tmp_path / "message"}" >&2\nexit 1\n')
    bwrap.chmod(0o755)
    proc = tmp_path / "proc"
    for name, value in (sysctl or {}).items():
        path = proc / "sys" / name.replace(".", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{value}\n")
    (proc / "self").mkdir(parents=True)
    (proc / "self" / "status").write_text(status)
    return {"bwrap": str(bwrap), "proc": str(proc)}


BROKEN = [  # bwrap's message, its /proc (settings, this process's status), root?, cause, fix
    ("No permissions to creating new namespace, " + NOT_ALLOWED + DEBIAN,
     {"kernel.unprivileged_userns_clone": 0}, NO_FILTER, False,
     "kernel.unprivileged_userns_clone = 0", "sysctl -w kernel.unprivileged_userns_clone=1"),
    ("No permissions to create a new namespace, " + NOT_ALLOWED + DEBIAN,
     {"user.max_user_namespaces": 63000}, SECCOMP_ON, False,
     "a seccomp filter refuses namespaces", "--security-opt seccomp=unconfined"),
    ("setting up uid map: Permission denied",
     {"kernel.apparmor_restrict_unprivileged_userns": 1}, NO_FILTER, False,
     "AppArmor lets bwrap create a user namespace", "deploy/ubuntu-24.04-apparmor-bwrap"),
    ("Creating new namespace failed: Operation not permitted",
     {}, SECCOMP_ON, True, "root without CAP_SYS_ADMIN", "--cap-add SYS_ADMIN"),
    ("Creating new namespace failed: No space left on device",
     {"user.max_user_namespaces": 0}, NO_FILTER, False,
     "user.max_user_namespaces = 0", "sysctl -w user.max_user_namespaces=15000"),
    ("Creating new namespace failed: nesting depth or /proc/sys/user/max_*_namespaces exceeded "
     "(ENOSPC)", {"user.max_user_namespaces": 0}, NO_FILTER, False,
     "user.max_user_namespaces = 0", "sysctl -w user.max_user_namespaces=15000"),
    ("Failed to make / slave: Permission denied", {}, SECCOMP_ON, False,
     "AppArmor", "--security-opt apparmor=unconfined"),
    ("Can't mount proc on /newroot/proc: Operation not permitted", {}, SECCOMP_ON, False,
     "masks parts of /proc", "systempaths=unconfined"),
]


@pytest.mark.sandbox
@pytest.mark.slow
def test_doctor_passes_every_check_where_the_sandbox_works(tmp_path):
    require_tool("bwrap", "bubblewrap")
    done = subprocess.run([sys.executable, "-m", "autograder", "doctor", "--course", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout + done.stderr
    assert [line.split(":")[0] for line in lines[:-1]] == [
        f"ok    {name}" for name in ("bwrap installed", "setpriv", "namespaces",
                                     "interpreter readable", "sandbox starts", "no network",
                                     "course files hidden", "private /tmp", "not root",
                                     "record of library calls")]
    assert "all checks passed" in lines[-1]
    assert list(tmp_path.iterdir()) == []  # the canary folder is gone again


@pytest.mark.parametrize("message, sysctl, status, as_root, cause, fix", BROKEN,
                         ids=[case[0][:40] for case in BROKEN])
def test_each_bwrap_error_names_the_blocking_setting_and_its_fix(
        tmp_path, monkeypatch, message, sysctl, status, as_root, cause, fix):
    fake = fake_machine(tmp_path, message, sysctl, status)
    checks = doctor.run_checks(tmp_path, as_root=as_root, **fake)
    last = checks[-1]
    assert [c.name for c in checks][-1] == "namespaces" and not last.ok
    said, named = last.detail.split(" -> ")
    assert said.startswith(f"bwrap: {message} (") and cause in named
    assert fix in last.fix
    assert f"fix: {last.fix}" in doctor.report(checks)
    monkeypatch.setattr(doctor, "run_checks",
                        functools.partial(doctor.run_checks, as_root=as_root, **fake))
    with pytest.raises(SandboxError, match="namespaces") as raised:
        doctor.preflight(tmp_path)
    assert fix in str(raised.value) and cause in str(raised.value)


def test_a_missing_bwrap_says_how_to_install_it(tmp_path, monkeypatch):
    missing = {"bwrap": str(tmp_path / "no-bwrap-here")}
    checks = doctor.run_checks(tmp_path, **missing)
    assert [(c.name, c.ok) for c in checks] == [("bwrap installed", False)]
    assert "apt-get install bubblewrap" in checks[0].fix
    monkeypatch.setattr(doctor, "run_checks", functools.partial(doctor.run_checks, **missing))
    with pytest.raises(SandboxError, match="bwrap installed.*apt-get install bubblewrap"):
        doctor.preflight(tmp_path)


def test_a_failed_check_makes_the_command_exit_1(tmp_path, monkeypatch, capsys):
    broken = lambda machine: doctor.Check("broken on purpose", False, "it fails", "mend it")  # noqa: E731
    monkeypatch.setattr(doctor, "CHECKS", [doctor.bwrap_installed, broken, doctor.not_root])
    monkeypatch.setattr(doctor, "run_checks", functools.partial(
        doctor.run_checks, bwrap=sys.executable))  # any executable passes the first check
    assert main(["doctor", "--course", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  broken on purpose: it fails\n      fix: mend it" in out
    assert "not root" not in out  # the run stops at the first failure
    monkeypatch.setattr(doctor, "CHECKS", [doctor.bwrap_installed])
    assert main(["doctor", "--course", str(tmp_path)]) == 0


@pytest.mark.slow
def test_the_isolation_checks_fail_when_student_code_is_not_sandboxed(tmp_path, monkeypatch):
    """The same probe, run by the unsandboxed server: it sees the network, the canary file and
    the machine's /tmp, and the checks say so."""
    monkeypatch.setattr(doctor, "Sandbox", lambda limits: Sandbox(limits, unsandboxed=True))
    machine = doctor.Machine(bwrap=None, setpriv=None, as_root=False, proc=Path("/proc"),
                             course=tmp_path)
    assert doctor.sandbox_starts(machine).ok
    for check in (doctor.no_network, doctor.course_files_hidden, doctor.private_tmp):
        result = check(machine)
        assert not result.ok and result.fix == doctor.FIX_BREACH, result
    assert doctor.not_root(machine).ok == (machine.seen["uid"] != 0)


def test_pod_spec_parses_and_grants_what_the_sandbox_needs():
    yaml = pytest.importorskip("yaml")
    pod = yaml.safe_load((ROOT / "deploy" / "grader-pod.yaml").read_text())
    assert pod["kind"] == "Pod" and pod["spec"]["hostUsers"] is False
    context = pod["spec"]["containers"][0]["securityContext"]
    assert context["runAsUser"] == 0 and context["procMount"] == "Unmasked"
    assert context["seccompProfile"] == {"type": "Unconfined"}
    assert context["appArmorProfile"] == {"type": "Unconfined"}
    assert context["capabilities"]["drop"] == ["ALL"]
    assert set(context["capabilities"]["add"]) == {"SYS_ADMIN", "NET_ADMIN", "SETUID", "SETGID"}


def test_dockerfile_installs_bubblewrap_and_pins_the_same_torch_as_tasks_py():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    tasks_default = re.search(r'"TORCH_SPEC", "([^"]+)"', (ROOT / "tasks.py").read_text())[1]
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert re.search(r"apt-get install[^\n]*\\\n\s+bubblewrap util-linux", dockerfile)
    assert f'ARG TORCH_SPEC="{tasks_default}"' in dockerfile
    assert 'pip install ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "$TORCH_SPEC"' in (
        dockerfile)
    assert re.search(r"^USER grader$", dockerfile, re.M)
    for flag in ("seccomp=unconfined", "apparmor=unconfined", "systempaths=unconfined"):
        assert f"--security-opt {flag}" in dockerfile


def test_the_apparmor_fix_points_at_the_profile_that_ships():
    profile = (ROOT / "deploy" / "ubuntu-24.04-apparmor-bwrap").read_text()
    assert "profile bwrap /usr/bin/bwrap flags=(unconfined)" in profile and "userns," in profile
    assert "deploy/ubuntu-24.04-apparmor-bwrap" in doctor.FIX_APPARMOR
