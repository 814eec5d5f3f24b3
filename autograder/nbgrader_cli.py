"""nbgrader's command line, the way this kit runs it everywhere (init, release, collect,
generate, and the tests).

    python -m autograder.nbgrader_cli ARGS...    # the same as `nbgrader ARGS`, ~5 s sooner

Each time nbgrader creates a gradebook it asks alembic for the newest migration ("head") by
starting the `alembic heads` program, which takes about 5 seconds. `alembic_head()` reads the
same revision in-process from nbgrader's own migration scripts; `install()` puts it in place of
nbgrader's function (tests/test_workflow.py checks that both give the same revision).
"""

import functools
import os
import sys


@functools.cache
def alembic_head():
    """The head revision of nbgrader's gradebook migrations, e.g. 'e43177bfe90b'."""
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR
    return ScriptDirectory(ALEMBIC_DIR).get_current_head()


def install():
    """Make nbgrader, in this process, use `alembic_head` when it creates a gradebook."""
    import nbgrader.api
    nbgrader.api.get_alembic_version = alembic_head


def command(*args):
    """The argv that runs `nbgrader ARGS` through this module with this interpreter."""
    return [sys.executable, "-m", "autograder.nbgrader_cli", *args]


def environment():
    """os.environ with this interpreter's scripts first on PATH: nbgrader's `db upgrade` still
    starts `alembic`, and its converters start `jupyter` kernels."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    return env


if __name__ == "__main__":
    install()
    from nbgrader.apps.nbgraderapp import main
    sys.exit(main())
