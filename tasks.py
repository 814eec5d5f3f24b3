#!/usr/bin/env python3
"""One entry point for the course: set up, open, test, regenerate, benchmark.

    python3 tasks.py lab        # set up if needed, then open the course in JupyterLab
    python3 tasks.py test       # set up if needed, then lint and run the whole test suite
    python3 tasks.py test --quick   # the fast tests only (no sandbox, notebook or browser)
    python3 tasks.py generate   # regenerate notebooks/ (student versions) from solutions/
    python3 tasks.py bench      # print the benchmark tables

Needs only Python 3.10+. Everything else goes into ./.venv. The CPU build of torch is installed
pinned (TORCH_SPEC overrides it, e.g. TORCH_SPEC="torch==2.5.1" on another machine).
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".setup-stamp"
TORCH_SPEC = os.environ.get("TORCH_SPEC", "torch==2.13.0")
PROXY = VENV / "node_modules" / ".bin" / "configurable-http-proxy"
PROXY_SPEC = "configurable-http-proxy@5"
SETUP_STEPS = b"2"  # bump when python_packages() changes, so that existing venvs are redone
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir()) if (
    ROOT / "solutions").is_dir() else []


def run(*cmd, **kwargs):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def setup():
    """Create .venv and install the pinned torch, the course and JupyterHub's proxy; skip what
    is already there."""
    python_packages()
    http_proxy()


def python_packages():
    """The venv with the pinned torch and the course (dev extras); skip if nothing changed."""
    recipe = (ROOT / "pyproject.toml").read_bytes() + TORCH_SPEC.encode() + SETUP_STEPS
    wanted = hashlib.sha256(recipe).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not PYTHON.exists():
        run(sys.executable, "-m", "venv", VENV)
    pip = [PYTHON, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    run(*pip, "--upgrade", "pip")
    run(*pip, TORCH_SPEC)  # first, so the range in pyproject.toml is already met by the CPU build
    run(*pip, "-e", f"{ROOT}[dev]")
    # jsonschema imports rfc3987-syntax (pulled in by jupyter-events' jsonschema[format-nongpl])
    # when it is installed, and that builds ~35 Earley parsers: 1.6 s at every start of a program
    # that imports nbformat (each nbgrader command, the grader, Jupyter). Without it jsonschema
    # only skips the "iri" formats, which no notebook or Jupyter schema uses.
    run(PYTHON, "-m", "pip", "uninstall", "--disable-pip-version-check", "-q", "-y",
        "rfc3987-syntax")
    STAMP.write_text(wanted)


def http_proxy():
    """configurable-http-proxy, which JupyterHub runs in front of the users' servers
    (deploy/jupyterhub/, tests/test_jupyterhub.py), from npm into .venv/node_modules."""
    if PROXY.exists():
        return
    npm = shutil.which("npm")
    if npm is None:  # the hub test then fails under CI and skips elsewhere, saying why
        print("npm not found: configurable-http-proxy (for JupyterHub) not installed", flush=True)
        return
    run(npm, "install", "--prefix", VENV, "--no-audit", "--no-fund", "--loglevel=error",
        PROXY_SPEC)


def jupyter_env(tmp):
    """Environment that keeps Jupyter, IPython and matplotlib out of the home folder."""
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
                 "MPLCONFIGDIR"):
        env.setdefault(name, str(Path(tmp) / name.lower()))
    # The lab extensions installed in the venv must stay visible with a private data dir.
    env["JUPYTER_PATH"] = str(VENV / "share" / "jupyter")
    env["PATH"] = os.pathsep.join([str(VENV / "bin"), env.get("PATH", "")])
    return env


def lab():
    setup()
    cmd = [VENV / "bin" / "jupyter", "lab", f"--notebook-dir={ROOT / 'notebooks'}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    run(*cmd, *sys.argv[2:])


def test():
    """Lint, then run the suite in parallel (pytest-xdist) and print how long it took.

    --quick leaves out the tests marked slow (sandboxes, notebooks, browsers): the developer's
    run of about a minute. Other arguments go to pytest. TEST_WORKERS sets the number of pytest
    workers (default: one per core; the grading and notebook tests keep a core busy, and each
    further worker repeats the module fixtures it runs, such as a graded class).
    """
    setup()
    args = sys.argv[2:]
    quick = "--quick" in args
    args = [a for a in args if a != "--quick"]
    if quick:
        args = ["-m", "not slow", *args]
    workers = os.environ.get("TEST_WORKERS", str(os.cpu_count() or 1))
    if any(a.startswith(("-n", "--numprocesses")) for a in args):
        workers = "the given"
    else:
        args = ["-n", workers, "--dist", "worksteal", "--durations=12", *args]
    run(VENV / "bin" / "ruff", "check", ROOT, cwd=ROOT)
    with tempfile.TemporaryDirectory(prefix="conv-tests-") as tmp:
        env = jupyter_env(tmp)
        start = time.monotonic()
        result = subprocess.run([str(PYTHON), "-m", "pytest", *args], cwd=ROOT, env=env)
        minutes, seconds = divmod(round(time.monotonic() - start), 60)
    print(f"test suite{' (--quick)' if quick else ''}: {minutes} min {seconds:02d} s "
          f"with {workers} workers on {os.cpu_count()} cores", flush=True)
    sys.exit(result.returncode)


def generate():
    """Regenerate notebooks/<assignment>/ from solutions/<assignment>/ with nbgrader."""
    setup()
    with tempfile.TemporaryDirectory(prefix="conv-generate-") as tmp:
        env = jupyter_env(tmp)
        for name in sys.argv[2:] or ASSIGNMENTS:
            run(PYTHON, "-m", "autograder.generate", name, cwd=ROOT, env=env)


def bench():
    setup()
    for script in sorted((ROOT / "bench").glob("bench_*.py")):
        run(PYTHON, script, cwd=ROOT)


COMMANDS = {"setup": setup, "lab": lab, "test": test, "generate": generate, "bench": bench}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        sys.exit(2)
    COMMANDS[sys.argv[1]]()
