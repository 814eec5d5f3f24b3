"""Shared harness for browser tests: a real JupyterLab server and headless Debian Chromium.

Import it from a test module::

    from tests.browser import (browser_page, jupyter_lab, open_notebook, run_all_cells,
                               screenshot_on_failure)

    @pytest.mark.browser
    def test_something(tmp_path):
        with jupyter_lab(tmp_path) as lab, browser_page() as page, \\
                screenshot_on_failure(page, "something"):
            open_notebook(page, lab, "nb.ipynb")
            run_all_cells(page)

Public names and signatures:

- ``jupyter_lab(root_dir, *, timeout=180.0, extra_args=()) -> LabServer`` (context manager):
  starts ``python -m jupyterlab`` on a free loopback port with a random token, private
  JUPYTER_CONFIG_DIR / DATA / RUNTIME, IPYTHONDIR and MPLCONFIGDIR (the venv's share/jupyter stays
  on JUPYTER_PATH so the ipywidgets and nbgrader lab extensions load), waits until the server
  answers, and at exit shuts it down and kills its whole process tree (kernels included), also
  when the body raised. ``LabServer`` has ``url`` (``http://127.0.0.1:PORT``), ``token``, ``port``,
  ``root_dir``, ``log_path``, ``url_for(path)`` (adds the token) and ``log_tail()``.
- ``browser_page(*, viewport=(1400, 1000), timeout_ms=30000) -> playwright Page`` (context
  manager): Debian's chromium via ``launch_persistent_context`` with a fresh temporary profile;
  skips (fails under CI=true) when chromium is missing.
- ``save_screenshot(page, name) -> Path``: writes ``artifacts/<name>.png`` at the repository root
  (git-ignored) and returns the path; never raises.
- ``screenshot_on_failure(page, name)`` (context manager): saves a screenshot and the page's
  console log into ``artifacts/`` when its body raises, then re-raises.
- JupyterLab helpers: ``open_notebook(page, lab, relpath)`` (opens ``/lab/tree/relpath`` and
  waits until its kernel is started, connected and idle), ``run_all_cells(page)`` (returns when
  the run finished or stopped at an error; raises if the first code cell never ran),
  ``run_cells_through(page, index)``, ``wait_kernel_idle(page, timeout_ms=120000)``,
  ``cell(page, index)``, ``shutdown_kernels(lab)``. They drive JupyterLab through
  ``window.jupyterapp`` (the server runs with ``--LabApp.expose_app_in_browser``).
- Timeouts are generous (minutes) so the tests hold on a loaded two-core machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from autograder import nbgrader_cli
from tests.conftest import require_tool

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "artifacts"

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


# ----------------------------------------------------------------------------- JupyterLab server

@dataclass
class LabServer:
    url: str
    token: str
    port: int
    root_dir: Path
    log_path: Path
    proc: subprocess.Popen = field(repr=False)

    def url_for(self, path: str) -> str:
        """Absolute URL of a server path (``/lab/tree/x.ipynb``) with the token attached."""
        sep = "&" if "?" in path else "?"
        return f"{self.url}/{path.lstrip('/')}{sep}token={self.token}"

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children_of(pid: int) -> list[int]:
    """All descendants of pid, read from /proc (kernels start their own sessions, so killing the
    server's process group alone would leave them behind)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill(pids: list[int], sig: int) -> None:
    for p in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, sig)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _write_lab_settings(config_dir: Path) -> None:
    """Silence JupyterLab's news/update toast: it would cover the notebook in screenshots."""
    settings = config_dir / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    labconfig = config_dir / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))


@contextlib.contextmanager
def jupyter_lab(root_dir, *, timeout: float = 180.0, extra_args=()):
    """Run JupyterLab on ``root_dir`` for the duration of the block; yields a :class:`LabServer`."""
    root_dir = Path(root_dir).resolve()
    home = Path(tempfile.mkdtemp(prefix="conv-lab-"))
    env = nbgrader_cli.environment()  # this venv's scripts first on PATH
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
                 "MPLCONFIGDIR"):
        env[name] = str(home / name.lower())
        Path(env[name]).mkdir(parents=True, exist_ok=True)
    venv_share = str(Path(sys.prefix) / "share" / "jupyter")
    env["JUPYTER_PATH"] = os.pathsep.join(
        [venv_share] + [p for p in env.get("JUPYTER_PATH", "").split(os.pathsep) if p])
    # The kernel must import this checkout's convlib even when root_dir is a temporary copy.
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.pop("MPLBACKEND", None)  # let the kernel use the inline backend
    _write_lab_settings(Path(env["JUPYTER_CONFIG_DIR"]))

    port, token = _free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.token={token}",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--ServerApp.root_dir={root_dir}", "--ServerApp.terminals_enabled=False",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.expose_app_in_browser=True", *extra_args]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log_path = home / "lab.log"
    log = open(log_path, "wb")  # closed in finally
    proc = subprocess.Popen(cmd, cwd=root_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    server = LabServer(f"http://127.0.0.1:{port}", token, port, root_dir, log_path, proc)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {proc.returncode}:\n"
                                   f"{server.log_tail()}")
            try:
                with urllib.request.urlopen(server.url_for("/api/status"), timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not answer in {timeout:.0f} s:\n"
                                   f"{server.log_tail()}")
            time.sleep(0.3)
        yield server
    finally:
        _stop(server)
        log.close()
        shutil.rmtree(home, ignore_errors=True)


def _stop(server: LabServer) -> None:
    proc = server.proc
    tree = _children_of(proc.pid)
    if proc.poll() is None:
        # A clean shutdown first: the server then stops its kernels itself.
        with contextlib.suppress(Exception):
            req = urllib.request.Request(server.url_for("/api/shutdown"), method="POST", data=b"")
            urllib.request.urlopen(req, timeout=5).close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
    tree += [p for p in _children_of(proc.pid) if p not in tree]
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    _kill(tree, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.1)


# ----------------------------------------------------------------------------- Chromium

@contextlib.contextmanager
def browser_page(*, viewport=(1400, 1000), timeout_ms: int = 30000):
    """Headless Debian chromium driven by Playwright; yields a page; all closed at exit."""
    chromium = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="conv-chromium-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile, executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": viewport[0], "height": viewport[1]})
            try:
                context.set_default_timeout(timeout_ms)
                page = context.pages[0] if context.pages else context.new_page()
                page.console_log = []  # type: ignore[attr-defined]
                page.on("console", lambda m: page.console_log.append(f"{m.type}: {m.text}"))
                yield page
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def save_screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as artifacts/<name>.png; return the path (never raises)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    try:
        page.screenshot(path=str(path), full_page=True)
    except Exception as exc:  # noqa: BLE001  (a screenshot must never hide the real failure)
        path.with_suffix(".error.txt").write_text(f"screenshot failed: {exc!r}\n")
    return path


@contextlib.contextmanager
def screenshot_on_failure(page, name: str):
    """Save artifacts/<name>-failure.png and the browser console log when the block raises."""
    try:
        yield
    except BaseException:
        save_screenshot(page, f"{name}-failure")
        with contextlib.suppress(Exception):
            (ARTIFACTS / f"{name}-failure.console.txt").write_text(
                "\n".join(getattr(page, "console_log", [])))
        raise


# ----------------------------------------------------------------------------- JupyterLab helpers

# The server runs with --LabApp.expose_app_in_browser, so the page has window.jupyterapp and the
# helpers read the kernel's real state from the notebook's session context. The toolbar's
# execution indicator is not enough: it reads "idle" before any kernel is connected, and a Run All
# sent then is silently dropped (cells stay "[ ]:"), which is what happened under CPU load.
_NOTEBOOK_STATE_JS = """() => {
    const app = window.jupyterapp;
    const panel = app && app.shell.currentWidget;
    if (!panel || !panel.content || !panel.sessionContext) return 'no notebook';
    const ctx = panel.sessionContext;
    const kernel = ctx.session && ctx.session.kernel;
    if (!ctx.isReady || !kernel) return 'no kernel yet';
    if (kernel.connectionStatus !== 'connected') return 'kernel ' + kernel.connectionStatus;
    if (kernel.status !== 'idle') return 'kernel ' + kernel.status;
    const running = [...panel.content.node.querySelectorAll('.jp-InputArea-prompt')]
        .some(p => p.textContent.includes('*'));
    return running ? 'cells running' : 'idle';
}"""


def _wait_notebook_state(page, timeout_ms: int, what: str) -> None:
    try:
        page.wait_for_function(f"() => ({_NOTEBOOK_STATE_JS})() === 'idle'",
                               timeout=timeout_ms, polling=250)
    except Exception as exc:
        state = page.evaluate(_NOTEBOOK_STATE_JS)
        raise TimeoutError(f"{what}: the notebook is not idle after {timeout_ms / 1000:.0f} s "
                           f"(state: {state})") from exc


def wait_kernel_idle(page, timeout_ms: int = 120000) -> None:
    """Wait until the open notebook's kernel is started, connected and idle, and no cell is
    queued or running ([*])."""
    _wait_notebook_state(page, timeout_ms, "waiting for the kernel")


def open_notebook(page, lab: LabServer, relpath: str, timeout_ms: int = 180000) -> None:
    """Open ``relpath`` (relative to the server's root) in JupyterLab and wait for its kernel."""
    page.goto(lab.url_for(f"/lab/tree/{relpath}?reset"))  # reset: no tabs restored
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout_ms)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout_ms)
    wait_kernel_idle(page, timeout_ms)


def cell(page, index: int):
    """Locator of the index-th cell (0-based) of the open notebook."""
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)


def _run_command(page, command: str, timeout_ms: int) -> None:
    """Execute a JupyterLab command (the one a menu item runs) and wait until its promise
    settles; notebook run commands settle when the last cell they ran has replied."""
    page.evaluate("""command => {
        window.__convCommand = undefined;
        window.jupyterapp.commands.execute(command).then(
            () => { window.__convCommand = 'done'; },
            e => { window.__convCommand = 'error: ' + e; });
    }""", command)
    page.wait_for_function("() => window.__convCommand !== undefined", timeout=timeout_ms,
                           polling=250)
    outcome = page.evaluate("() => window.__convCommand")
    if outcome != "done":
        raise RuntimeError(f"JupyterLab command {command} failed: {outcome}")


def _execution_counts(page) -> list:
    return page.evaluate("""() => window.jupyterapp.shell.currentWidget.content.widgets
        .filter(c => c.model.type === 'code').map(c => c.model.executionCount)""")


def run_all_cells(page, timeout_ms: int = 300000) -> None:
    """Run > Run All Cells, then wait until every cell ran or the run stopped at an error.

    Raises if the first code cell did not run (a Run All the kernel never received)."""
    wait_kernel_idle(page, timeout_ms)
    _run_command(page, "notebook:run-all-cells", timeout_ms)
    wait_kernel_idle(page, timeout_ms)
    counts = _execution_counts(page)
    if counts and counts[0] is None:
        raise RuntimeError(f"Run All did not run the first code cell (execution counts {counts})")


def run_cells_through(page, index: int, timeout_ms: int = 300000) -> None:
    """Run every cell above cell ``index`` (0-based), then that cell too."""
    wait_kernel_idle(page, timeout_ms)
    page.evaluate("""index => {
        const nb = window.jupyterapp.shell.currentWidget.content;
        nb.activeCellIndex = index;
        nb.deselectAll();
    }""", index)
    _run_command(page, "notebook:run-all-above", timeout_ms)
    _run_command(page, "notebook:run-cell", timeout_ms)
    wait_kernel_idle(page, timeout_ms)


def shutdown_kernels(lab: LabServer) -> None:
    """Shut down every kernel of the server (frees the CPU between notebooks)."""
    with urllib.request.urlopen(lab.url_for("/api/kernels"), timeout=10) as r:
        kernels = json.load(r)
    for k in kernels:
        req = urllib.request.Request(lab.url_for(f"/api/kernels/{k['id']}"), method="DELETE")
        with contextlib.suppress(urllib.error.URLError):
            urllib.request.urlopen(req, timeout=30).close()
