"""After a grading run, nbgrader's formgrader in a real JupyterLab shows the assignment and the
graded submissions with their scores — what an instructor clicks through (headless Chromium)."""

import json
import re
import shutil

import pytest

from tests.browser import browser_page, jupyter_lab, save_screenshot, screenshot_on_failure
from tests.conftest import require_tool

pytestmark = pytest.mark.browser


@pytest.fixture
def graded_course(demo_class, tmp_path):
    """A copy of the graded demo course (shared with tests/test_workflow_demo.py): JupyterLab
    may write into the folder it serves."""
    require_tool("chromium")
    root, status = demo_class
    assert status == 0
    shutil.copytree(root / "course", tmp_path / "course", symlinks=True)
    return tmp_path / "course"


def _scores(course):
    """student -> autograded score, from the grader's own results files."""
    scores = {}
    for path in course.glob("autograded/*/02_conv2d/02_conv2d.results.json"):
        result = json.loads(path.read_text())
        if result["status"] == "graded":
            scores[result["student"]] = result["score"]
    return scores


def test_formgrader_lists_the_assignment_and_the_graded_submissions(graded_course):
    scores = _scores(graded_course)
    assert scores, "the demo run graded nobody"
    with jupyter_lab(graded_course) as lab, browser_page() as page, \
            screenshot_on_failure(page, "formgrader"):
        page.goto(lab.url_for("/formgrader/manage_assignments"))
        page.get_by_text("02_conv2d", exact=True).first.wait_for(timeout=60000)
        save_screenshot(page, "formgrader-assignments")

        page.goto(lab.url_for("/formgrader/gradebook/02_conv2d/02_conv2d"))
        page.get_by_text("Submission #1").first.wait_for(timeout=60000)  # names hidden at first
        page.get_by_role("button", name="Show All Names").click()
        for student in scores:
            page.get_by_text(student, exact=True).first.wait_for(timeout=60000)
        text = page.locator("body").inner_text()
        save_screenshot(page, "formgrader-submissions")
        for student, score in scores.items():
            row = next(line for line in text.splitlines() if student in line)
            numbers = [float(n) for n in re.findall(r"\d+(?:\.\d+)?", row.split(student, 1)[1])]
            assert score in numbers, f"{student}: formgrader row {row!r} lacks score {score:g}"
