"""The course notebooks: every assignment in solutions/ validates with nbgrader, its generated
student version fails every autograded test and hides the answers, a fresh generation changes
nothing, nothing is committed with outputs, and every notebook follows the house skeleton.

Each test works on its own temporary copy of the course, so pytest-xdist can split them.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from autograder import nbgrader_cli

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "autograder" / "nbgrader_config.py"
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir()
                     if (p / f"{p.name}.ipynb").is_file()) if (ROOT / "solutions").is_dir() else []

TEXT_STUB = "YOUR ANSWER HERE"
PART = re.compile(r"^## Part ([A-Z]) — (.+) \((\d+(?:\.\d+)?) points?\)\s*$")
GOALS = re.compile(r"learning goals|by the end of this notebook you can|by the end you can|"
                   r"after this notebook you can", re.IGNORECASE)
LIST_ITEM = re.compile(r"^\s*(\d+\.|[-*])\s+\S", re.MULTILINE)


def solution_path(name):
    return ROOT / "solutions" / name / f"{name}.ipynb"


def student_path(name):
    return ROOT / "notebooks" / name / f"{name}.ipynb"


def read(path):
    if not path.is_file():
        pytest.fail(f"{path.relative_to(ROOT)} does not exist; run "
                    f"`python -m autograder.generate {path.parent.name}`")
    return nbformat.read(path, as_version=4)


def grading(cell):
    return cell.metadata.get("nbgrader", {})


def is_autograded_test(cell):
    md = grading(cell)
    return cell.cell_type == "code" and md.get("grade") and not md.get("solution")


def is_manual_answer(cell):
    md = grading(cell)
    return cell.cell_type == "markdown" and md.get("grade") and md.get("solution")


def course_copy(tmp_path, *names, student=False):
    """A throwaway course folder: the nbgrader config, solutions/<name> for each name, and (if
    asked) the committed student notebooks under notebooks/<name>."""
    course = tmp_path / "course"
    (course / "notebooks").mkdir(parents=True)
    for name in names:
        shutil.copytree(ROOT / "solutions" / name, course / "solutions" / name)
        if student:
            read(student_path(name))
            shutil.copytree(ROOT / "notebooks" / name, course / "notebooks" / name)
    shutil.copy(CONFIG, course / "nbgrader_config.py")
    return course


@pytest.fixture(autouse=True)
def kernels_import_this_checkout(monkeypatch):
    """The kernels these tests start (in this process, and through nbgrader) import this
    checkout's convlib, whether or not it is the one installed."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))


def nbgrader(course, *args):
    """Run nbgrader in the course folder (it reads nbgrader_config.py from its cwd)."""
    done = subprocess.run(nbgrader_cli.command(*args), cwd=course,
                          env=nbgrader_cli.environment(), capture_output=True, text=True,
                          timeout=600)
    return done, done.stdout + done.stderr


def secret_regions(cell):
    """The parts of an instructor cell that students must never see."""
    if is_manual_answer(cell) and "### BEGIN SOLUTION" not in cell.source:
        return [cell.source]
    regions, inside = [], None
    for line in cell.source.splitlines():
        marker = line.strip()
        if marker in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS"):
            inside = []
        elif marker in ("### END SOLUTION", "### END HIDDEN TESTS"):
            regions.append("\n".join(inside or []))
            inside = None
        elif inside is not None:
            inside.append(line)
    return regions


def public_lines(cell):
    """An instructor cell's lines outside its secret regions."""
    if is_manual_answer(cell) and "### BEGIN SOLUTION" not in cell.source:
        return set()
    lines, inside = set(), False
    for line in cell.source.splitlines():
        marker = line.strip()
        if marker.startswith("### BEGIN "):
            inside = True
        elif marker.startswith("### END "):
            inside = False
        elif not inside:
            lines.add(marker)
    return lines


# ----------------------------------------------------------------------------- nbgrader

@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_notebook_passes_nbgrader_validate(tmp_path, name):
    """nbgrader's own Validator (what `nbgrader validate` runs), in this process: every test
    cell of the instructor's notebook passes when the notebook runs top to bottom."""
    from nbgrader.validator import Validator
    course = course_copy(tmp_path, name)
    results = Validator().validate(str(course / "solutions" / name / f"{name}.ipynb"))
    assert results == {}, {kind: [(c["source"][:300], c.get("raw_error", "")[-1500:])
                                  for c in cells] for kind, cells in results.items()}


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_untouched_student_notebook_fails_every_autograded_test_and_nothing_else(tmp_path, name):
    """Run top to bottom as handed out, every autograded test fails (so a stub earns nothing),
    and fails with CheckFailed (a readable diagnosis), never a NameError or a crash; outside
    the graded test cells nothing may call a stub. (One execution serves both checks; nbgrader
    counts a test cell as failed exactly when it has an error output.)"""
    from nbclient import NotebookClient
    course = course_copy(tmp_path, name, student=True)
    folder = course / "notebooks" / name
    executed = nbformat.read(folder / f"{name}.ipynb", as_version=4)
    NotebookClient(executed, timeout=300, allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    assert any(is_autograded_test(cell) for cell in executed.cells), "no autograded test cell"
    problems = []
    for index, cell in enumerate(executed.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        where = f"cell {index} ({grading(cell).get('grade_id', 'no grade_id')})"
        if is_autograded_test(cell):
            if [e.ename for e in errors] != ["CheckFailed"]:
                problems.append(f"{where}: expected CheckFailed, got "
                                f"{[(e.ename, e.evalue) for e in errors] or 'no error'}")
        elif grading(cell).get("solution"):
            if any(e.ename != "NotImplementedError" for e in errors):
                problems.append(f"{where}: {[(e.ename, e.evalue) for e in errors]}")
        elif errors:
            problems.append(f"{where}: {[(e.ename, e.evalue) for e in errors]}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_student_notebook_hides_solutions_hidden_tests_and_model_answers(name):
    source, student = read(solution_path(name)), read(student_path(name))
    text = "\n".join(cell.source for cell in student.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text, marker
    public = set().union(*(public_lines(cell) for cell in source.cells))
    student_lines = {line.strip() for line in text.splitlines()}
    leaked = []
    for cell in source.cells:
        for region in secret_regions(cell):
            for line in region.splitlines():
                line = line.strip()
                if len(line) >= 10 and line not in public and line in student_lines:
                    leaked.append((grading(cell).get("grade_id"), line))
    assert not leaked, leaked
    answers = {grading(c)["grade_id"]: c for c in student.cells if is_manual_answer(c)}
    assert answers, "the student notebook has no manually graded answer cell"
    for grade_id, cell in answers.items():
        assert cell.source.count(TEXT_STUB) == 1 + instruction_mentions(cell), \
            (grade_id, cell.source[:200])


@pytest.mark.slow
def test_regenerating_every_student_notebook_changes_nothing(tmp_path):
    """One `nbgrader generate_assignment "*"` over a copy of every solution (one nbgrader
    start instead of eight) gives exactly the committed student notebooks."""
    course = course_copy(tmp_path, *ASSIGNMENTS)
    done, log = nbgrader(course, "generate_assignment", "*", "--force",
                         f"--CourseDirectory.root={course}",
                         f"--CourseDirectory.db_url=sqlite:///{course}/gradebook.db",
                         "--log-level=WARN")
    assert done.returncode == 0, log

    def cells(nb):
        return [(c.cell_type, c.source, dict(grading(c))) for c in nb.cells]

    stale = []
    for name in ASSIGNMENTS:
        fresh = read(course / "notebooks" / name / f"{name}.ipynb")
        want, got = cells(fresh), cells(read(student_path(name)))
        if len(got) != len(want):
            stale.append(f"{name}: {len(got)} cells committed, a fresh generation has "
                         f"{len(want)}")
        else:
            stale += [f"{name}: cell {i} differs from a fresh generation" for i, (g, w)
                      in enumerate(zip(got, want, strict=True)) if g != w]
    assert not stale, "\n".join(stale) + "\nrun `python -m autograder.generate NAME` and " \
                                         "commit the result"


# ----------------------------------------------------------------------------- committed files

@pytest.mark.parametrize("kind", ["solutions", "notebooks"])
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_notebooks_are_committed_without_outputs(name, kind):
    nb = read(solution_path(name) if kind == "solutions" else student_path(name))
    dirty = [index for index, cell in enumerate(nb.cells) if cell.cell_type == "code"
             and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, f"cells with outputs or execution counts: {dirty}"
    assert "widgets" not in nb.metadata, "saved widget state is an output too"


# ----------------------------------------------------------------------------- skeleton

@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_notebook_opens_with_a_title_and_learning_goals(name):
    first = read(solution_path(name)).cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), first.source[:80]
    assert GOALS.search(first.source), "the first cell states no learning goals"
    assert len(LIST_ITEM.findall(first.source)) >= 2, "the learning goals are not a list"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_graded_cell_sits_in_a_part_whose_heading_states_its_points(name):
    nb = read(solution_path(name))
    parts, current, orphans = {}, None, []
    for cell in nb.cells:
        md = grading(cell)
        if cell.cell_type == "markdown" and not md.get("grade"):
            for line in cell.source.splitlines():
                if line.startswith("## "):
                    match = PART.match(line)
                    current = match.group(1) if match else None
                    if match:
                        assert current not in parts, f"Part {current} appears twice"
                        parts[current] = [float(match.group(3)), 0.0]
        if md.get("grade"):
            points = float(md.get("points", 0))
            assert points > 0, f"{md.get('grade_id')} is worth no points"
            if current is None:
                orphans.append(md.get("grade_id"))
            else:
                parts[current][1] += points
    assert parts, "no '## Part X — title (N points)' heading"
    assert list(parts) == [chr(ord("A") + i) for i in range(len(parts))], list(parts)
    assert not orphans, f"graded cells outside any Part: {orphans}"
    for letter, (stated, counted) in parts.items():
        assert stated == counted, f"Part {letter} says {stated} points, its cells give {counted}"
    total = sum(stated for stated, _ in parts.values())
    assert 8 <= total <= 12, f"{total} points; a notebook is worth about 10"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_graded_cells_have_readable_unique_ids_and_test_cells_say_what_they_check(name):
    nb = read(solution_path(name))
    ids = [grading(c)["grade_id"] for c in nb.cells if grading(c)]
    assert len(ids) == len(set(ids)), ids
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in ids), ids
    tests = [c for c in nb.cells if is_autograded_test(c)]
    assert tests, "no autograded test cell"
    for cell in tests:
        assert cell.source.startswith('"""Check that'), cell.source[:80]
        assert grading(cell).get("locked"), grading(cell)["grade_id"]
    assert any("### BEGIN HIDDEN TESTS" in c.source for c in tests), "no hidden tests"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_notebook_has_a_manually_graded_reflection_and_a_summary(name):
    nb = read(solution_path(name))
    manual = [c for c in nb.cells if is_manual_answer(c)]
    assert manual, "no manually graded answer cell"
    assert all(c.source.strip() and c.source.strip() != TEXT_STUB for c in manual), \
        "a manually graded cell carries no model answer"
    headings = [line for c in nb.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    assert "## Summary" in headings, headings


def test_every_student_notebook_has_a_source_in_solutions():
    released = sorted(p.name for p in (ROOT / "notebooks").iterdir() if p.is_dir()) if (
        ROOT / "notebooks").is_dir() else []
    orphans = [name for name in released if name not in ASSIGNMENTS]
    assert not orphans, f"notebooks/ without a solutions/ source: {orphans}"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_widgets_come_before_the_first_graded_test_cell(name):
    """The browser test runs each student notebook from the top and stops at the first check
    that fails; a widget placed after it would never be drawn."""
    import convlib.widgets

    calls = re.compile(r"\b(" + "|".join(map(re.escape, convlib.widgets.__all__)) + r")\s*\(")
    cells = read(solution_path(name)).cells
    first_test = next((i for i, c in enumerate(cells) if is_autograded_test(c)), len(cells))
    late = [i for i, c in enumerate(cells) if c.cell_type == "code" and i > first_test
            and calls.search(c.source)]
    assert not late, f"widget cells after the first graded test (cell {first_test}): {late}"


# A hand-graded answer is asked for honestly when the student version shows, just above the
# answer cell, a markdown cell that asks something -- a question mark, or a sentence that starts
# with one of these imperatives -- and, inside the answer cell, what to write (at least eight
# words besides the stub). nbgrader replaces a markdown solution cell whole unless its model
# answer sits between ### BEGIN SOLUTION / ### END SOLUTION: a question or an instruction
# written there without the markers vanishes.
IMPERATIVES = ("explain", "describe", "say", "name", "give", "predict", "write", "compare",
               "justify", "state", "argue")
ASKS = re.compile(r"\?|(?:^|[.:!]\s+|^\s*(?:\d+\.|[-*])\s+|\*\*\s*)(?:"
                  + "|".join(IMPERATIVES) + r")\b", re.IGNORECASE | re.MULTILINE)
MIN_INSTRUCTION_WORDS = 8


def instruction_mentions(cell):
    """How often an answer cell's instructions name the stub ("replace YOUR ANSWER HERE")."""
    return len(re.findall(r"replace " + TEXT_STUB, cell.source))


def asks_a_question(source):
    return bool(ASKS.search(re.sub(r"\$[^$]*\$", "", source)))   # a '?' in LaTeX asks nothing


def question_and_instruction_problems(nb):
    """What a student cannot see about each hand-graded answer in the notebook `nb`."""
    problems = []
    for i, cell in enumerate(nb.cells):
        if not is_manual_answer(cell):
            continue
        gid = grading(cell)["grade_id"]
        before = nb.cells[i - 1] if i else None
        if before is None or before.cell_type != "markdown" or is_manual_answer(before) \
                or not asks_a_question(before.source):
            problems.append(f"{gid}: the cell above asks no question "
                            f"({before.source[-120:] if before is not None else None!r})")
        words = re.findall(r"[A-Za-z']+", cell.source.replace(TEXT_STUB, ""))
        if len(words) < MIN_INSTRUCTION_WORDS:
            problems.append(f"{gid}: the answer cell says only {cell.source.strip()[:80]!r}, not "
                            "what to write")
        if TEXT_STUB not in cell.source.replace("replace " + TEXT_STUB, ""):
            problems.append(f"{gid}: no {TEXT_STUB!r} line marks where the answer goes")
    return problems


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_hand_graded_answer_has_its_question_above_and_says_what_to_write(name):
    """Read in the generated student notebook, the version students get."""
    nb = read(student_path(name))
    assert any(is_manual_answer(c) for c in nb.cells), "no reflection graded by hand"
    problems = question_and_instruction_problems(nb)
    assert not problems, "\n".join(problems)


def test_the_question_rule_is_red_on_the_old_05_whose_questions_vanished():
    """The student 05 of before the fix (commit a58ac33's parent): both questions sat inside
    the model answers' cells and the student saw only the stub."""
    old = subprocess.run(["git", "show", "a58ac33^:notebooks/05_correlation_vs_convolution/"
                          "05_correlation_vs_convolution.ipynb"], cwd=ROOT, capture_output=True,
                         text=True)
    if old.returncode:
        pytest.skip("the repository's history is not available")
    problems = question_and_instruction_problems(nbformat.reads(old.stdout, as_version=4))
    assert [p.split(":")[0] for p in problems if "asks no question" in p] == [
        "reflection_seed_minus_eight", "reflection_learned_flip"], problems
    assert asks_a_question("**Explain** why.") and asks_a_question("1. Name a kind of data.")
    assert not asks_a_question("The kernel explains nothing here.")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_intro_says_run_all_stops_at_the_first_unfinished_check(name):
    """nbgrader's checks raise until their exercise is done, so Run All stops at the first one:
    07 and 08 said "Restart & Run All should always work", and in 03 Parts B-D never ran."""
    nb = read(student_path(name))
    assert not any("should always work" in cell.source for cell in nb.cells)
    intro = nb.cells[0].source
    assert "stops at the first" in intro and "one by one" in intro, intro[-600:]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_a_passed_from_scratch_check_says_so_in_one_voice(name):
    """check_from_scratch prints that the function is the student's own work; a cell adds no
    message of its own (03 and 04's cells printed nothing, the others each their own words)."""
    own_words = re.compile(r"print\(.*(from scratch|own work|itself)", re.IGNORECASE)
    for cell in read(solution_path(name)).cells:
        if is_autograded_test(cell) and "check_from_scratch(" in cell.source:
            assert not own_words.search(cell.source), cell.source[-300:]
