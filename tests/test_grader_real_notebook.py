"""The grader on the course's real 02_conv2d notebook (solutions/02_conv2d): honest variants get
every autograded point, a mistake and a forbidden call are named, attacks gain nothing."""

import shutil
from pathlib import Path

import pytest

from autograder.grade import grade_assignment
from autograder.sandbox import Limits
from tests.conftest import require_tool
from tests.fixtures import submissions as S

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
ROOT = Path(__file__).resolve().parent.parent
A = "02_conv2d"
MISTAKES = ["kernel_flipped", "kernel_transposed", "output_too_small", "integer_truncation",
            "mean_not_sum", "transposed_output", "input_modified", "wrong_type"]
NAMES = ["loops_seed", "loops_using_setup_imports", "vectorised_windows", "numpy_inside_torch",
         "fft", "float64", "prints_and_warns", "self_check_with_scipy", *MISTAKES,
         "not_implemented", "attack_scipy", "attack_input_transformer", "attack_patch_testing",
         "attack_edit_test"]


def hidden_markers():
    """Every line of hidden test code in solutions/02_conv2d that students never see (read from
    the notebook itself, so the check follows the notebook when it changes)."""
    import nbformat

    from autograder.source_notebook import hidden_lines
    nb = nbformat.read(ROOT / "solutions" / A / f"{A}.ipynb", as_version=4)
    released = nbformat.read(ROOT / "notebooks" / A / f"{A}.ipynb", as_version=4)
    visible = "\n".join(c.source for c in released.cells)
    markers = set()
    for cell in nb.cells:
        lines = cell.source.split("\n")
        for number in hidden_lines(cell.source):
            line = lines[number - 1].strip()
            if len(line) > 12 and line not in visible:
                markers.add(line)
    assert len(markers) >= 3, markers  # the notebook has hidden tests to look for
    return sorted(markers)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    require_tool("bwrap", "bubblewrap")
    source = ROOT / "solutions" / A
    course = tmp_path_factory.mktemp("real")
    shutil.copytree(source, course / "source" / A)
    for name in NAMES:
        S.write_submission(course, name, A, name)
    results = grade_assignment(course, A, workers=2, limits=Limits(call_timeout=20))
    return {"course": course, **{r["student"]: r for r in results}}


def auto(r):
    return sum(c["points"] or 0 for c in r["cells"] if c["status"] != "manual")


def auto_max(r):
    return sum(c["max_points"] for c in r["cells"] if c["status"] != "manual")


@pytest.mark.parametrize("name", [n for n in NAMES if n in S.HONEST])
def test_honest_variants_get_every_autograded_point(graded, name):
    r = graded[name]
    failing = [c for c in r["cells"] if c["status"] not in ("passed", "manual")]
    assert auto(r) == auto_max(r) and not failing, failing
    assert r["flags"] == []


def test_the_course_notebook_grades_at_least_one_cell_by_hand_and_several_automatically(graded):
    cells = graded["loops_seed"]["cells"]
    assert any(c["status"] == "manual" for c in cells)
    assert sum(c["status"] == "passed" for c in cells) >= 3


@pytest.mark.parametrize("name", MISTAKES)
def test_each_mistake_is_named_and_loses_points(graded, name):
    r = graded[name]
    expected = S.VARIANTS[name].mistake
    assert expected in {c["mistake"] for c in r["cells"]}, [
        (c["grade_id"], c["mistake"]) for c in r["cells"]]
    assert auto(r) < auto_max(r)
    assert r["flags"] == []


def test_a_hidden_failure_names_its_case_but_shows_no_hidden_code(graded):
    hidden = next(c for c in graded["kernel_flipped"]["cells"]
                  if c["grade_id"] == "test_conv2d_hidden")
    assert hidden["status"] == "failed" and hidden["mistake"] == "kernel_flipped"
    for path in (graded["course"] / "autograded").rglob("*.results.json"):
        text = path.read_text()
        for marker in hidden_markers():
            assert marker not in text, (path, marker)


def test_the_stub_is_reported_as_not_implemented(graded):
    assert "not_implemented" in {c["mistake"] for c in graded["not_implemented"]["cells"]}


def test_scipy_in_the_from_scratch_exercise_is_named_and_scores_zero_there(graded):
    r = graded["attack_scipy"]
    forbidden = [c for c in r["cells"] if c["status"] == "forbidden"]
    assert forbidden and all(c["points"] == 0 for c in forbidden)
    assert "scipy.signal.correlate2d" in forbidden[0]["message"]
    assert "forbidden_call" in r["flags"]


@pytest.mark.parametrize("name", ["attack_input_transformer", "attack_patch_testing",
                                  "attack_edit_test"])
def test_attacks_gain_nothing_over_their_baseline(graded, name):
    baseline = S.VARIANTS[name].baseline
    assert baseline in ("not_implemented", "zeros")
    ceiling = auto(graded["not_implemented"])  # zeros and the stub earn no conv2d point
    assert auto(graded[name]) <= ceiling
