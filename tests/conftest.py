"""Shared test set-up: keep Jupyter, IPython and matplotlib out of the home folder, and decide
what a missing system tool means (skip on a developer machine, fail in CI)."""

import json
import os
import shutil
import tempfile

import pytest
from filelock import FileLock

_TMP = tempfile.mkdtemp(prefix="conv-tests-home-")
for _name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
              "MPLCONFIGDIR"):
    os.environ.setdefault(_name, os.path.join(_TMP, _name.lower()))
os.environ.setdefault("MPLBACKEND", "Agg")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(name, package=None):
    """Return the path of a system tool; skip the test without it, but fail in CI where the
    tool must have been installed by .ci/run."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (apt-get install {package or name})"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def pytest_itemcollected(item):
    """A test that needs bubblewrap or a browser is slow by definition: `tasks.py test --quick`
    (pytest -m "not slow") leaves it out, CI and `tasks.py test` run it."""
    if item.get_closest_marker("sandbox") or item.get_closest_marker("browser"):
        item.add_marker(pytest.mark.slow)


# The longest tests first, so that the short ones fill the end of a parallel run instead of one
# worker finishing a three-minute test alone (pytest-xdist hands tests out in this order).
LONGEST_FIRST = ("test_jupyterhub.py", "test_grader_catalogue.py", "test_workflow_demo.py",
                 "test_grader_all_notebooks.py", "test_notebooks.py", "test_grader_shards.py")


def pytest_collection_modifyitems(config, items):
    def rank(item):
        name = item.path.name
        if name in LONGEST_FIRST:
            return LONGEST_FIRST.index(name)
        return len(LONGEST_FIRST) + (0 if item.get_closest_marker("slow") else 1)

    items.sort(key=rank)  # stable: each module keeps its own order


@pytest.fixture(scope="session")
def demo_class(tmp_path_factory, worker_id):
    """One `python -m autograder demo` run (8 students, graded in the sandbox), made once per
    test session and shared by every pytest-xdist worker: (folder, exit status). Its course is
    folder/"course"; a test that changes anything there works on a copy."""
    require_tool("bwrap", "bubblewrap")
    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":  # xdist: the workers' temporary folders share this parent
        shared = shared.parent
    root = shared / "demo-class"
    with FileLock(str(root) + ".lock"):
        done = root / "demo-status.json"
        if not done.is_file():
            from autograder.__main__ import main
            if root.exists():
                shutil.rmtree(root)  # a run that died halfway
            root.mkdir()
            status = main(["demo", str(root), "--students", "8", "--workers", "2"])
            done.write_text(json.dumps(status))
    return root, json.loads(done.read_text())


@pytest.fixture(scope="session")
def sandbox_pool(tmp_path_factory):
    """One started grading sandbox (default limits) for this test process, shared by the tests
    that grade with defaults (`grade_assignment(..., sandboxes=sandbox_pool)`): starting one
    costs seconds (it imports torch, scipy and IPython once). Between submissions, and so
    between tests, the sandbox cleans up as it does between students."""
    require_tool("bwrap", "bubblewrap")
    from autograder.grade import start_sandboxes
    from autograder.sandbox import Limits

    boxes = start_sandboxes(tmp_path_factory.mktemp("pool-course"), Limits(), False, 1)
    yield boxes
    for box in boxes:
        box.kill()
