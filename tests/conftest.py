"""Shared test set-up: keep Jupyter, IPython and matplotlib out of the home folder, and decide
what a missing system tool means (skip on a developer machine, fail in CI)."""

import os
import shutil
import tempfile

import pytest

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
