"""The class report: numbers checked against counts worked out by hand from hand-written results,
and the page checked to be one self-contained file (embedded PNGs, nothing fetched)."""

import base64
import csv
import json
import re
from pathlib import Path

import pytest

from autograder.course import Course
from autograder.report import build, grade_table, score_rows


def result(student, notebook, cells, flags=(), status="graded", error=None):
    return {"student": student, "assignment": "02_conv2d", "notebook": notebook,
            "status": status, "error": error, "flags": list(flags), "duration_s": 1.0,
            "score": sum(c[1] for c in cells), "max_score": sum(c[2] for c in cells),
            "cells": [{"grade_id": g, "points": p, "max_points": m, "status": s, "mistake": k,
                       "case": None, "message": ""} for g, p, m, s, k in cells]}


# Four students on one notebook, by hand:
#   test_shape passes for s1, s2, s3, fails for s4           -> 3/4 = 0.75
#   test_values passes for s1 only                           -> 1/4 = 0.25
#   kernel_flipped diagnosed for s2 and s3 (s3 twice)        -> 2 of 4 submissions = 50 %
#   forbidden_call for s4                                    -> 1 of 4 = 25 %
#   the manual cell counts in no pass rate
#   flagged: s4 (forbidden_call, timeout); s5 could not be graded
RESULTS = [
    result("s1", "02_conv2d", [("test_shape", 2, 2, "passed", None),
                               ("test_values", 3, 3, "passed", None),
                               ("reflection", 0, 1, "manual", None)]),
    result("s2", "02_conv2d", [("test_shape", 2, 2, "passed", None),
                               ("test_values", 0, 3, "failed", "kernel_flipped"),
                               ("reflection", 0, 1, "manual", None)]),
    result("s3", "02_conv2d", [("test_shape", 2, 2, "passed", "kernel_flipped"),
                               ("test_values", 0, 3, "failed", "kernel_flipped"),
                               ("reflection", 0, 1, "manual", None)]),
    result("s4", "02_conv2d", [("test_shape", 0, 2, "forbidden", "forbidden_call"),
                               ("test_values", 0, 3, "timeout", None),
                               ("reflection", 0, 1, "manual", None)],
           flags=["forbidden_call", "timeout"]),
]
BROKEN = result("s5", "extra", [], status="error", error="the notebook is not valid JSON")


def make_course(tmp_path: Path, results) -> Course:
    root = tmp_path / "course"
    (root / "autograded").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text('c = get_config()\n'
                                             'c.CourseDirectory.course_id = "demo-101"\n')
    for r in results:
        out = root / "autograded" / r["student"] / r["assignment"]
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{r['notebook']}.results.json").write_text(json.dumps(r))
    return Course.open(root)


def read(path):
    return list(csv.DictReader(Path(path).open()))


def test_pass_rates_count_every_test_but_not_hand_graded_cells(tmp_path):
    paths = build(make_course(tmp_path, RESULTS))
    rows = {r["test"]: r for r in read(paths["test_pass_rates"])}
    assert set(rows) == {"test_shape", "test_values"}
    assert (rows["test_shape"]["passed"], rows["test_shape"]["graded"]) == ("3", "4")
    assert float(rows["test_shape"]["pass_rate"]) == 0.75
    assert float(rows["test_values"]["pass_rate"]) == 0.25


def test_mistake_share_counts_each_submission_once(tmp_path):
    paths = build(make_course(tmp_path, RESULTS))
    rows = {r["mistake"]: r for r in read(paths["mistakes"])}
    assert (rows["kernel_flipped"]["submissions"], rows["kernel_flipped"]["of"]) == ("2", "4")
    assert float(rows["kernel_flipped"]["percent"]) == 50.0
    assert float(rows["forbidden_call"]["percent"]) == 25.0
    page = paths["html"].read_text()
    assert "kernel flipped (that is true convolution; a CNN&#x27;s conv2d does not flip): 50%" \
        in page


def test_scores_and_flagged_submissions(tmp_path):
    paths = build(make_course(tmp_path, [*RESULTS, BROKEN]))
    scores = {r["student"]: r for r in read(paths["scores"])}
    assert (scores["s1"]["score"], scores["s1"]["max_score"], scores["s1"]["percent"]) == (
        "5.0", "6.0", "83.3")
    flagged = {r["student"]: r for r in read(paths["flagged"])}
    assert set(flagged) == {"s4", "s5"}
    assert flagged["s4"]["flags"] == "forbidden_call;timeout"
    assert flagged["s5"]["error"] == "the notebook is not valid JSON"


def test_report_is_one_self_contained_page_with_embedded_plots(tmp_path):
    page = build(make_course(tmp_path, RESULTS))["html"].read_text()
    images = re.findall(r"<img [^>]*src='([^']*)'", page)
    assert len(images) == 3  # scores, pass rates, mistakes
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r"(src|href)=['\"]?(https?:|//)", page)
    assert "<link" not in page and "<script" not in page


def test_grade_table_has_a_row_per_student_and_marks_errors(tmp_path):
    table = grade_table([*RESULTS, BROKEN]).splitlines()
    assert table[0].split() == ["student", "02_conv2d", "extra", "flags"]
    assert table[1].split() == ["s1", "5/6", "-"]
    assert table[4].split() == ["s4", "0/6", "-", "forbidden_call,timeout"]
    assert table[5].split() == ["s5", "-", "error"]


def test_answers_still_to_grade_by_hand_are_shown_as_pending_not_hidden():
    result = {"student": "s9", "assignment": "a", "notebook": "a", "status": "graded",
              "score": 8.0, "max_score": 10.0, "flags": [],
              "cells": [{"grade_id": "t", "points": 8.0, "max_points": 8.0, "status": "passed"},
                        {"grade_id": "r", "points": None, "max_points": 2.0, "status": "manual"}]}
    assert score_rows([result])[0]["to_grade_by_hand"] == 2.0
    assert "8/10 (+2 by hand)" in grade_table([result])
    result["cells"][1]["points"] = 1.5  # graded by hand since
    assert score_rows([result])[0]["to_grade_by_hand"] == 0.0
    assert "by hand" not in grade_table([result])


def test_the_report_lists_similar_answers_side_by_side_with_starter_code_excluded(tmp_path):
    import nbformat

    from tests.fixtures import similar_answers as A
    course = make_course(tmp_path, RESULTS)

    def notebook(path, answer):
        cell = nbformat.v4.new_code_cell(answer)
        cell.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "conv2d"}
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)

    (course.root / "source" / "toy").mkdir(parents=True)
    notebook(course.root / "release" / "toy" / "toy.ipynb", A.STARTER)
    for student, answer in [("s1", A.LOOPS), ("s2", A.RENAMED_COPY), ("s3", A.FFT),
                            ("s4", A.STARTER)]:
        notebook(course.root / "submitted" / student / "toy" / "toy.ipynb", answer)
    paths = build(course)
    rows = read(paths["similarity"])
    assert [(r["notebook"], r["first"], r["second"]) for r in rows] == [("toy", "s1", "s2")]
    page = paths["html"].read_text()
    assert "Unusually similar answers" in page and page.count("class='side'") == 1
    assert "<mark>" in page


def test_checks_that_raised_are_grouped_by_where_most_students_first(tmp_path):
    """raised.csv, by hand: the same trace for s1 and s2 on test_values, another for s3."""
    results = [result(s, "02_conv2d", [("test_shape", 2, 2, "passed", None),
                                       ("test_values", 0, 3, "failed", "raised_error")])
               for s in ("s1", "s2", "s3")]
    same = "ValueError at <test cell test_values>:3 in <module>"
    for r, trace in zip(results, [same, same, "KeyError at checks.py:9 in f"], strict=True):
        r["cells"][1]["trace"] = trace
    paths = build(make_course(tmp_path, results))
    rows = read(paths["raised"])
    assert [(r["test"], r["trace"], r["submissions"], r["students"]) for r in rows] == [
        ("test_values", same, "2", "s1;s2"),
        ("test_values", "KeyError at checks.py:9 in f", "1", "s3")]
    assert "s1;s2" in paths["html"].read_text()


def test_the_grader_s_warnings_are_listed_with_the_flag_they_explain(tmp_path):
    """s1 edited a test cell (flag and warning), s2 left a stray file (a warning, no flag):
    both are listed, with the reason, in flagged.csv, scores.csv and on the page."""
    edited = "test cell 'test_shape' was edited; the original test was run"
    stray = "unexpected file 'notes.txt' was ignored (only 02_conv2d.ipynb is graded)"
    results = [result("s1", "02_conv2d", [("test_shape", 2, 2, "passed", None)],
                      flags=["edited_tests"]),
               result("s2", "02_conv2d", [("test_shape", 2, 2, "passed", None)]),
               result("s3", "02_conv2d", [("test_shape", 2, 2, "passed", None)])]
    results[0]["warnings"], results[1]["warnings"] = [edited], [stray]
    paths = build(make_course(tmp_path, results))
    flagged = read(paths["flagged"])
    assert [(r["student"], r["flags"], r["warnings"]) for r in flagged] == [
        ("s1", "edited_tests", edited), ("s2", "", stray)]
    assert {r["student"]: r["warnings"] for r in read(paths["scores"])} == {
        "s1": edited, "s2": stray, "s3": ""}
    page = paths["html"].read_text()
    assert "test cell &#x27;test_shape&#x27; was edited; the original test was run" in page


def test_a_report_that_cannot_be_made_writes_nothing(tmp_path, monkeypatch):
    import autograder.similarity
    course = make_course(tmp_path, RESULTS)

    def broken(*args):
        raise OSError("disk gone")

    monkeypatch.setattr(autograder.similarity, "class_section", broken)
    with pytest.raises(OSError, match="disk gone"):
        build(course)
    assert not (course.root / "reports").exists()
