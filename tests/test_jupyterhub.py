"""The JupyterHub route end to end: a real hub (deploy/jupyterhub/jupyterhub_config.py, PAM
logins, configurable-http-proxy), real unix users made for the test, nbgrader's exchange in a
temporary folder, and headless Chromium clicking through JupyterLab's Assignments tab.

The instructor (a unix user) runs `python -m autograder init --exchange` and `release`; two
students log in, Fetch 02_conv2d and Submit it (one with a correct conv2d written into the
fetched notebook, one with a conv2d that flips the kernel); the instructor runs `collect
--exchange`; the grading runs as root beside the hub (docs/deployment.md), and the instructor
reads its files as themselves; `feedback` releases the pages to the exchange; each student clicks
Fetch Feedback: the first one's page shows their score, the second one's the diagnosis of the
mistake.
Students have no formgrader (deploy/jupyterhub/students/); the instructor, a hub admin, has it.

Needs root (useradd, and the hub starts servers as other users), Chromium, bubblewrap and
configurable-http-proxy (`python3 tasks.py setup` installs it into .venv/node_modules). Every
user, process and folder it makes is removed at the end, also when it fails.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from autograder.demo_class import BY_NAME, student_notebook
from tests.browser import (
    ARTIFACTS,
    REPO,
    _alive,
    _children_of,
    _free_port,
    _kill,
    browser_page,
    save_screenshot,
    screenshot_on_failure,
)
from tests.conftest import IN_CI, require_tool

pytestmark = [pytest.mark.browser, pytest.mark.sandbox]

DEPLOY = REPO / "deploy" / "jupyterhub"
ASSIGNMENT = "02_conv2d"
COURSE_ID = "conv-from-scratch"
PROXY = REPO / ".venv" / "node_modules" / ".bin" / "configurable-http-proxy"
MINUTE = 60_000  # ms


def _missing(message: str):
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _require_everything() -> str:
    """The proxy's path; skip (fail under CI=true) when anything the hub needs is missing."""
    if os.geteuid() != 0:
        _missing("the JupyterHub test runs as root: it creates unix users and the hub starts "
                 "servers as them")
    for tool in ("useradd", "userdel", "groupadd", "groupdel", "chpasswd"):
        require_tool(tool, "passwd")
    require_tool("chromium")
    require_tool("bwrap", "bubblewrap")
    require_tool("node", "nodejs")
    try:
        import jupyterhub  # noqa: F401
        import pamela  # noqa: F401
    except ImportError as exc:
        _missing(f"{exc}: install the dev extras (`python3 tasks.py setup`)")
    proxy = str(PROXY) if PROXY.exists() else shutil.which("configurable-http-proxy")
    if proxy is None:
        _missing("configurable-http-proxy is not installed; `python3 tasks.py setup` installs "
                 "it into .venv/node_modules with npm")
    return proxy


# ----------------------------------------------------------------------------- a Python for all

def _others_can_run(python: str) -> bool:
    """Whether a user other than root can start this interpreter (a pyenv under /root: no)."""
    nobody = pwd.getpwnam("nobody")
    try:
        proc = subprocess.run([python, "-c", "import jupyterhub, nbgrader"],
                              user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[],
                              capture_output=True, cwd="/",
                              env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})
    except PermissionError:
        return False
    return proc.returncode == 0


def _shared_python(base: Path) -> tuple[str, dict]:
    """An interpreter every test user can run, with this checkout's packages, and the variables
    it needs. The venv's own when its base interpreter is readable by all (a real hub installs
    it in /opt); else a copy of the base interpreter's stdlib with a venv whose site-packages,
    share/jupyter and etc/jupyter are links to the project venv's (the packages are the same
    files, so the test runs what the project installed)."""
    if _others_can_run(sys.executable):
        return sys.executable, {}
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    src, copy = Path(sys.base_prefix), base / "python"
    (copy / "bin").mkdir(parents=True)
    shutil.copy2(Path(sys._base_executable).resolve(), copy / "bin" / version)
    (copy / "lib").mkdir()
    for lib in (src / "lib").glob("libpython*.so*"):
        shutil.copy2(lib, copy / "lib" / lib.name, follow_symlinks=False)
    shutil.copytree(src / "lib" / version, copy / "lib" / version, symlinks=True,
                    ignore=shutil.ignore_patterns("site-packages", "test", "__pycache__"))
    env_dir, venv = base / "env", Path(sys.prefix)
    (env_dir / "bin").mkdir(parents=True)
    (env_dir / "lib").mkdir()
    (env_dir / "bin" / "python").symlink_to(copy / "bin" / version)
    (env_dir / "lib" / version).mkdir()
    (env_dir / "lib" / version / "site-packages").symlink_to(
        venv / "lib" / version / "site-packages")
    for sub in ("share", "etc"):
        (env_dir / sub).mkdir()
        (env_dir / sub / "jupyter").symlink_to(venv / sub / "jupyter")
    (env_dir / "pyvenv.cfg").write_text(
        f"home = {copy / 'bin'}\ninclude-system-site-packages = false\n"
        f"version = {'.'.join(map(str, sys.version_info[:3]))}\n")
    # nbgrader runs the `alembic` script; the venv's has a shebang only root may follow.
    (env_dir / "bin" / "alembic").write_text(
        f'#!/bin/sh\nexec "{env_dir / "bin" / "python"}" -m alembic "$@"\n')
    (env_dir / "bin" / "alembic").chmod(0o755)
    extra = {"LD_LIBRARY_PATH": str(copy / "lib")}  # its RUNPATH points into /root
    python = str(env_dir / "bin" / "python")
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", **extra}
    check = subprocess.run([python, "-c", "import jupyterhub, nbgrader, autograder"],
                           user="nobody", capture_output=True, text=True, cwd="/", env=env)
    assert check.returncode == 0, f"the shared interpreter does not start:\n{check.stderr}"
    return python, extra


# ----------------------------------------------------------------------------- users

class Users:
    """Unix users and a group made for the test (homes under `base`); `remove()` deletes them
    and ends every process they still run."""

    def __init__(self, base: Path, tag: str):
        self.base, self.group = base, f"conv{tag}"
        self.names: list[str] = []
        self.passwords: dict[str, str] = {}
        subprocess.run(["groupadd", self.group], check=True)

    def add(self, name: str) -> str:
        subprocess.run(["useradd", "--create-home", "--base-dir", str(self.base),
                        "--groups", self.group, "--shell", "/bin/sh", "--user-group", name],
                       check=True)
        self.names.append(name)
        password = secrets.token_urlsafe(12)
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
        self.passwords[name] = password
        return name

    def home(self, name: str) -> Path:
        return Path(pwd.getpwnam(name).pw_dir)

    def uids(self) -> set[int]:
        found = set()
        for name in self.names:
            with contextlib.suppress(KeyError):
                found.add(pwd.getpwnam(name).pw_uid)
        return found

    def processes(self) -> list[int]:
        uids, pids = self.uids(), []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if entry.stat().st_uid in uids:
                        pids.append(int(entry.name))
        return pids

    def remove(self) -> None:
        for _ in range(3):
            pids = self.processes()
            if not pids:
                break
            _kill(pids, signal.SIGKILL)
            time.sleep(0.5)
        for name in self.names:
            subprocess.run(["userdel", "--remove", name], capture_output=True)
        with contextlib.suppress(KeyError):
            grp.getgrnam(self.group)
            subprocess.run(["groupdel", self.group], capture_output=True)


def _as_user(users: Users, name: str, python: str, extra_env: dict, *args: str,
             check: bool = True) -> subprocess.CompletedProcess:
    """Run `python ARGS` as the unix user, with private Jupyter folders in their home."""
    home = users.home(name)
    env = {"HOME": str(home), "USER": name, "LOGNAME": name, "LANG": "C.UTF-8",
           "PATH": os.pathsep.join([str(Path(python).parent), "/usr/bin", "/bin"]),
           "MPLBACKEND": "Agg", **extra_env}
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
                "MPLCONFIGDIR"):
        env[var] = str(home / ".test-dirs" / var.lower())
    user = pwd.getpwnam(name)
    proc = subprocess.run([python, *args], user=user.pw_uid, group=user.pw_gid,
                          extra_groups=[], cwd=home, env=env, capture_output=True, text=True,
                          umask=0o022)
    if check:
        assert proc.returncode == 0, (f"{' '.join(args)} as {name} exited {proc.returncode}:\n"
                                      f"{proc.stdout}\n{proc.stderr}")
    return proc


def _write_as(users: Users, name: str, path: Path, text: str) -> None:
    """What the student's typing would leave: the file, owned by them."""
    path.write_text(text)
    user = pwd.getpwnam(name)
    os.chown(path, user.pw_uid, user.pw_gid)


# ----------------------------------------------------------------------------- the hub

def _hub_config(base: Path, port: int, proxy: str, python: str, extra_env: dict,
                users: Users, instructor: str) -> Path:
    """The deploy config, loaded unchanged, then only what a test on a shared machine must
    change: ports, the state folder, the group, the interpreter, the exchange's location."""
    state = base / "hub"
    state.mkdir(mode=0o700)
    config_dir = base / "jupyter-config"  # on every user server's JUPYTER_CONFIG_PATH
    (config_dir / "labconfig").mkdir(parents=True)
    (config_dir / "nbgrader_config.py").write_text(
        f"c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(DEPLOY / 'nbgrader_config.py')!r})  # noqa: F821\n"
        f"c.Exchange.root = {str(base / 'exchange')!r}\n")
    # No news/announcement toast over the screenshots.
    (config_dir / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    path = state / "jupyterhub_config.py"
    path.write_text(f"""c = get_config()  # noqa: F821
load_subconfig({str(DEPLOY / 'jupyterhub_config.py')!r})  # noqa: F821
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_port = {_free_port()}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{_free_port()}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.JupyterHub.db_url = "sqlite:///{state}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{state}/jupyterhub_cookie_secret"
c.ConfigurableHTTPProxy.pid_file = "{state}/jupyterhub-proxy.pid"
c.PAMAuthenticator.allowed_groups = {{{users.group!r}}}
c.Authenticator.admin_users = {{{instructor!r}}}
c.Spawner.cmd = [{python!r}, "-m", "jupyterhub.singleuser"]
c.Spawner.start_timeout = c.Spawner.http_timeout = 300  # two cores shared with the whole suite
_deploy_path = c.Spawner.environment["JUPYTER_CONFIG_PATH"]  # students/ for students
c.Spawner.environment["JUPYTER_CONFIG_PATH"] = lambda spawner: ":".join(
    p for p in ({str(config_dir)!r}, _deploy_path(spawner)) if p)
c.Spawner.environment.update({extra_env!r})
""")
    return path


@contextlib.contextmanager
def _hub(base: Path, config: Path, port: int):
    """Run the hub until the block ends; then stop it and every process it started."""
    env = dict(os.environ)
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
                "MPLCONFIGDIR"):
        env[var] = str(base / "hub" / var.lower())
    env.pop("JUPYTER_CONFIG_PATH", None)
    env.pop("JUPYTER_PATH", None)
    log_path = base / "hub" / "hub.log"
    log = open(log_path, "wb")  # closed in finally
    proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)],
                            cwd=base / "hub", env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    seen: set[int] = set()

    def tail(n=80):
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-n:])

    proc.tail = tail  # type: ignore[attr-defined]
    proc.remember = lambda: seen.update(_children_of(proc.pid))  # type: ignore[attr-defined]
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"JupyterHub exited with {proc.returncode}:\n{tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/hub/health",
                                            timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterHub did not answer in 120 s:\n{tail()}")
            time.sleep(0.5)
        proc.remember()
        yield proc
    finally:
        seen.update(_children_of(proc.pid))
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the hub stops the user servers and the proxy
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=60)
        seen.update(_children_of(proc.pid))
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        _kill(sorted(seen), signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in seen) and time.monotonic() < deadline:
            time.sleep(0.2)
        log.close()
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy2(log_path, ARTIFACTS / "jupyterhub-hub.log")


# ----------------------------------------------------------------------------- the browser

def _log_in(page, hub_url: str, name: str, password: str) -> None:
    """Log in on the hub's page; wait until the user's JupyterLab has started and shown."""
    page.goto(f"{hub_url}/hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", password)
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf"/user/{name}/lab"), timeout=5 * MINUTE)
    page.wait_for_selector("#jp-main-dock-panel", timeout=5 * MINUTE)
    page.locator(".lm-MenuBar-item", has_text="Nbgrader").wait_for(timeout=2 * MINUTE)


def _open_assignments(page) -> list[str]:
    """Nbgrader > Assignment List, as a student clicks it; returns the menu's items."""
    page.locator(".lm-MenuBar-item", has_text="Nbgrader").click()
    item = page.locator(".lm-Menu-item", has_text="Assignment List")
    item.wait_for(timeout=MINUTE)
    items = page.locator(".lm-Menu-item .lm-Menu-itemLabel").all_inner_texts()
    item.click()
    page.wait_for_selector("#nbgrader-assignment-list", timeout=MINUTE)
    return items


def _row(page, listing: str, text: str = ASSIGNMENT):
    return page.locator(f"#{listing} .list_item", has_text=text).first


def _check_student_tools(page, hub_url: str, name: str, menu: list[str]) -> None:
    """deploy/jupyterhub/students/: a student has the Assignments tab, not the instructor's
    Create Assignment panel or formgrader."""
    assert page.locator(".lm-TabBar-tab", has_text="Create Assignment").count() == 0
    assert "Assignment List" in menu and not [m for m in menu if "Formgrader" in m], (
        f"the student's Nbgrader menu: {menu}")
    response = page.request.get(f"{hub_url}/user/{name}/formgrader")
    assert response.status == 404, f"a student reaches the formgrader ({response.status})"


def _fetch_and_submit(page, hub_url, users, name, before_submit=None) -> None:
    who = name.rsplit("-", 1)[-1]  # alice, bob: the screenshots' names
    _log_in(page, hub_url, name, users.passwords[name])
    _check_student_tools(page, hub_url, name, _open_assignments(page))
    row = _row(page, "released_assignments_list")
    row.wait_for(timeout=2 * MINUTE)
    save_screenshot(page, f"jupyterhub-{who}-released")
    row.get_by_role("button", name="Fetch").click()
    fetched = _row(page, "fetched_assignments_list")
    fetched.get_by_role("button", name="Submit").wait_for(timeout=2 * MINUTE)
    notebook = users.home(name) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert notebook.is_file(), f"Fetch put nothing at {notebook}"
    assert notebook.stat().st_uid == pwd.getpwnam(name).pw_uid, "the fetched copy is not theirs"
    if before_submit:
        before_submit(notebook)
    save_screenshot(page, f"jupyterhub-{who}-fetched")
    fetched.get_by_role("button", name="Submit").click()
    _row(page, "submitted_assignments_list").wait_for(timeout=2 * MINUTE)
    save_screenshot(page, f"jupyterhub-{who}-submitted")


def _open_feedback(page, hub_url, users, name) -> None:
    """Log in as `name`, Fetch Feedback in the Assignments tab and open the one page it got."""
    who = name.rsplit("-", 1)[-1]
    _log_in(page, hub_url, name, users.passwords[name])
    _open_assignments(page)
    row = _row(page, "submitted_assignments_list")
    row.get_by_role("button", name="Fetch Feedback").click()
    page.get_by_text("(view feedback)").first.wait_for(timeout=2 * MINUTE)
    save_screenshot(page, f"jupyterhub-{who}-feedback-fetched")
    pages = list((users.home(name) / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html"))
    assert len(pages) == 1, pages
    page.goto(f"{hub_url}/user/{name}/files/{pages[0].relative_to(users.home(name))}")


# ----------------------------------------------------------------------------- the test

def test_students_fetch_submit_and_get_feedback_through_a_real_jupyterhub():
    proxy = _require_everything()
    start = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="conv-hub-"))
    base.chmod(0o755)  # users must reach the shared interpreter, the exchange, their homes
    tag = secrets.token_hex(3)
    users = None
    try:
        python, extra_env = _shared_python(base)
        (base / "home").mkdir()
        users = Users(base / "home", tag)
        teacher = users.add(f"conv{tag}-teacher")
        alice = users.add(f"conv{tag}-alice")
        bob = users.add(f"conv{tag}-bob")
        (base / "exchange").mkdir()
        (base / "exchange").chmod(0o777)  # as the deploy notes say: root-owned, mode 777

        course = users.home(teacher) / "conv-fall"
        out = _as_user(users, teacher, python, extra_env, "-m", "autograder", "init",
                       str(course), "--course-id", COURSE_ID, "--assignments", ASSIGNMENT,
                       "--exchange", str(base / "exchange"))
        out = _as_user(users, teacher, python, extra_env, "-m", "autograder", "release",
                       ASSIGNMENT, "--course", str(course))
        assert "to the exchange" in out.stdout, out.stdout
        source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)

        def answer_as(name, demo_student):
            def write(path: Path) -> None:
                fetched = nbformat.read(path, 4)
                answer = student_notebook(BY_NAME[demo_student], fetched, source)
                _write_as(users, name, path, nbformat.writes(answer))
            return write

        port = _free_port()
        hub_url = f"http://127.0.0.1:{port}"
        config = _hub_config(base, port, proxy, python, extra_env, users, teacher)
        with _hub(base, config, port) as hub:
            try:
                with browser_page() as page, screenshot_on_failure(page, "jupyterhub-alice"):
                    _fetch_and_submit(page, hub_url, users, alice, answer_as(alice, "loops"))
                hub.remember()
                with browser_page() as page, screenshot_on_failure(page, "jupyterhub-bob"):
                    _fetch_and_submit(page, hub_url, users, bob,  # flips the kernel
                                      answer_as(bob, "kernel_flipped"))
                hub.remember()

                out = _as_user(users, teacher, python, extra_env, "-m", "autograder",
                               "collect", ASSIGNMENT, "--course", str(course), "--exchange")
                assert f"{alice}: {ASSIGNMENT}" in out.stdout, out.stdout
                assert f"{bob}: {ASSIGNMENT}" in out.stdout, out.stdout
                # Grading beside the hub, as root (docs/deployment.md): the sandbox drops to
                # nobody; a student's server never runs the grader.
                grade = subprocess.run(
                    [sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--course",
                     str(course), "--workers", "2"], capture_output=True, text=True)
                assert grade.returncode == 0, grade.stdout + grade.stderr
                # The files grade wrote as root are readable by the instructor, who runs
                # `feedback` next as themselves.
                results = {r["student"]: r for r in (
                    json.loads(p.read_text()) for p in
                    course.glob(f"autograded/*/{ASSIGNMENT}/{ASSIGNMENT}.results.json"))}
                assert set(results) == {alice, bob}, results.keys()
                a, b = results[alice], results[bob]
                autograded = [c for c in a["cells"] if c["status"] != "manual"]
                assert autograded and all(c["status"] == "passed" for c in autograded), a
                assert a["score"] == sum(c["max_points"] for c in autograded)
                assert b["score"] < a["score"], (a["score"], b["score"])
                assert "kernel_flipped" in {c["mistake"] for c in b["cells"]}, b["cells"]

                out = _as_user(users, teacher, python, extra_env, "-m", "autograder",
                               "feedback", ASSIGNMENT, "--course", str(course))
                released = list((base / "exchange" / COURSE_ID / "feedback").glob("*.html"))
                assert len(released) == 2, (out.stdout, released)

                with browser_page() as page, screenshot_on_failure(page, "jupyterhub-feedback"):
                    _open_feedback(page, hub_url, users, alice)
                    score = f"Score: {a['score']:g} / {a['max_score']:g}"
                    page.get_by_text(score).first.wait_for(timeout=MINUTE)
                    save_screenshot(page, "jupyterhub-alice-feedback")
                    heading = page.locator("h1").inner_text()
                    assert heading.startswith(f"Feedback: {ASSIGNMENT}") and alice in heading
                hub.remember()

                # Bob reads the diagnosis of his mistake on his feedback page.
                with browser_page() as page, screenshot_on_failure(page, "jupyterhub-bob-fb"):
                    _open_feedback(page, hub_url, users, bob)
                    page.get_by_text("kernel-flipped answer").first.wait_for(timeout=MINUTE)
                    save_screenshot(page, "jupyterhub-bob-feedback")
                hub.remember()

                # The instructor (a hub admin) keeps the tools students do not get.
                with browser_page() as page, screenshot_on_failure(page, "jupyterhub-teacher"):
                    _log_in(page, hub_url, teacher, users.passwords[teacher])
                    menu = _open_assignments(page)
                    assert [m for m in menu if "Formgrader" in m], menu
                    response = page.request.get(f"{hub_url}/user/{teacher}/formgrader")
                    assert response.status == 200, response.status
                    save_screenshot(page, "jupyterhub-teacher")
            except BaseException:
                print(hub.tail())
                raise
        print(f"JupyterHub route: {time.monotonic() - start:.0f} s")
    finally:
        if users is not None:
            users.remove()
            leftover = users.processes()
            assert not leftover, f"processes of the test users still run: {leftover}"
        shutil.rmtree(base, ignore_errors=True)
