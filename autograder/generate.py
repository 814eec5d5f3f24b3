"""Regenerate the student version of one assignment: solutions/<name>/ -> notebooks/<name>/.

    python -m autograder.generate 02_conv2d

Runs `nbgrader generate_assignment` with this repository as the course folder and a throwaway
gradebook, so generation never touches an instructor's real gradebook.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

from autograder import nbgrader_cli

ROOT = Path(__file__).resolve().parent.parent
CONFIG = Path(__file__).resolve().parent / "nbgrader_config.py"


def generate(name):
    with tempfile.TemporaryDirectory(prefix="nbgrader-db-") as tmp:
        # nbgrader reads nbgrader_config.py from its working directory
        subprocess.run(
            nbgrader_cli.command(
                "generate_assignment", name, "--force", f"--CourseDirectory.root={ROOT}",
                f"--CourseDirectory.db_url=sqlite:///{tmp}/gradebook.db", "--log-level=WARN"),
            cwd=CONFIG.parent, env=nbgrader_cli.environment(), check=True)


if __name__ == "__main__":
    for assignment in sys.argv[1:]:
        generate(assignment)
