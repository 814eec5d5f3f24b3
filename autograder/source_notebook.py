"""The instructor's source notebook as the trusted grader reads it: the test cells (hidden
regions included: they never leave the trusted process), the hand-graded cells, and the plan
that matches a submission's cells to them.

nbgrader's markers are parsed here and nowhere else in the grader.
"""

from __future__ import annotations

import builtins
import copy
import symtable
from dataclasses import dataclass, field

HIDDEN_BEGIN, HIDDEN_END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"


@dataclass
class TestCell:
    grade_id: str
    points: float
    source: str  # with hidden tests: never leaves the trusted process
    released: str  # what students see
    metadata: dict
    hidden_lines: frozenset = frozenset()  # line numbers of `source` inside hidden regions


@dataclass
class SourceNotebook:
    name: str
    nb: object
    tests: dict = field(default_factory=dict)  # grade_id -> TestCell, in notebook order
    metadata: dict = field(default_factory=dict)  # grade_id -> nbgrader metadata of every cell
    manual: dict = field(default_factory=dict)  # grade_id -> points of hand-graded cells

    @property
    def max_score(self):
        return sum(t.points for t in self.tests.values()) + sum(self.manual.values())


def strip_hidden(source):
    """The cell as students see it: the hidden-test region removed, as ClearHiddenTests does."""
    out, hidden = [], False
    for line in source.split("\n"):
        if HIDDEN_BEGIN in line:
            hidden = True
        elif HIDDEN_END in line:
            hidden = False
        elif not hidden:
            out.append(line)
    return "\n".join(out)


def hidden_lines(source):
    """Line numbers (1-based) of `source` from BEGIN to END HIDDEN TESTS, markers included."""
    lines, hidden = set(), False
    for number, line in enumerate(source.split("\n"), start=1):
        if HIDDEN_BEGIN in line:
            hidden = True
        if hidden:
            lines.add(number)
        if HIDDEN_END in line:
            hidden = False
    return frozenset(lines)


def normalise(source):
    return "\n".join(line.rstrip() for line in source.strip().split("\n"))


def nbgrader_meta(cell):
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def load_source_notebook(name, nb):
    src = SourceNotebook(name, nb)
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        gid = meta.get("grade_id")
        if not gid:
            continue
        src.metadata[gid] = copy.deepcopy(dict(meta))
        if meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
            src.tests[gid] = TestCell(gid, float(meta.get("points", 0)), cell.source,
                                      strip_hidden(cell.source), copy.deepcopy(dict(meta)),
                                      hidden_lines(cell.source))
        elif meta.get("grade"):
            src.manual[gid] = float(meta.get("points", 0))
    return src


def free_names(source):
    """Names a test cell uses but neither imports nor assigns, and that are not builtins."""
    table = symtable.symtable(source, "<test>", "exec")
    bound, used = set(), set()

    def visit(t, top):
        for sym in t.get_symbols():
            name = sym.get_name()
            if top:
                if sym.is_assigned() or sym.is_imported() or sym.is_namespace():
                    bound.add(name)
                elif sym.is_referenced():
                    used.add(name)
            elif sym.is_referenced() and (sym.is_global() or sym.is_declared_global()):
                used.add(name)
        for child in t.get_children():
            visit(child, False)

    visit(table, True)
    return sorted(n for n in used - bound if not hasattr(builtins, n))


def match_cells(source, nb):
    """Plan the run: ("run", i, None) student cells, ("test", i, TestCell) at each test cell's
    position, ("keep", i, None) for cells not run. Edited, re-labelled, duplicated or deleted
    test cells are reported as warnings; the real tests always run."""
    tests = source.tests
    released = {normalise(t.released): gid for gid, t in tests.items()}
    placed, steps, warnings = set(), [], []
    for i, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        gid = meta.get("grade_id")
        if gid in tests:
            test = tests[gid]
            if gid in placed:
                warnings.append(f"test cell {gid!r} appears twice; the copy (cell {i + 1}) was "
                                "not run")
                steps.append(("keep", i, None))
                continue
            if cell.cell_type != "code" or normalise(cell.source) != normalise(test.released):
                warnings.append(f"test cell {gid!r} was edited; the original test was run")
            elif not meta.get("grade") or meta.get("solution"):
                warnings.append(f"the nbgrader metadata of test cell {gid!r} was changed")
            placed.add(gid)
            steps.append(("test", i, test))
        elif cell.cell_type == "code" and normalise(cell.source) in released and released[
                normalise(cell.source)] not in placed and normalise(cell.source):
            gid = released[normalise(cell.source)]
            warnings.append(f"test cell {gid!r} was re-labelled (cell {i + 1}); the original "
                            "test was run")
            placed.add(gid)
            steps.append(("test", i, tests[gid]))
        elif cell.cell_type == "code":
            steps.append(("run", i, None))
        else:
            steps.append(("keep", i, None))
    for gid, test in tests.items():
        if gid not in placed:
            warnings.append(f"test cell {gid!r} was deleted; the original test was run at the "
                            "end of the notebook")
            steps.append(("test", None, test))
    return steps, warnings


def clean_cell(cell, source):
    """A copy of a student cell with nbgrader metadata only where the source defines it."""
    cell = copy.deepcopy(cell)
    gid = nbgrader_meta(cell).get("grade_id")
    cell.metadata.pop("nbgrader", None)
    if gid in source.metadata and gid not in source.tests:
        cell.metadata["nbgrader"] = copy.deepcopy(source.metadata[gid])
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    return cell
