"""Run one graded test cell of a solution notebook against a stand-in for the student's code, as
the student's kernel (``visible=True``: the cell as the student notebook has it, hidden tests
left out) or the grader (the whole cell) would: what a test of a check's diagnosis needs."""

import contextlib
import io
from pathlib import Path

import nbformat

from convlib.checks import CheckFailed

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"


def cell_source(assignment, grade_id, *, visible=False):
    """The source of the cell ``grade_id`` of ``solutions/<assignment>``; with ``visible``,
    without its ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` regions."""
    nb = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    source = next(c.source for c in nb.cells
                  if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    if not visible:
        return source
    kept, hidden = [], False
    for line in source.splitlines():
        marker = line.strip()
        if marker == "### BEGIN HIDDEN TESTS":
            hidden = True
        elif marker == "### END HIDDEN TESTS":
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


def run_cell(assignment, grade_id, names, *, visible=False):
    """Run the cell with ``names`` (the student's functions and answers) defined: the
    ``CheckFailed`` it raised, or None when it passed. What it printed is discarded."""
    source = cell_source(assignment, grade_id, visible=visible)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, grade_id, "exec"), dict(names))
    except CheckFailed as err:
        return err
    return None
