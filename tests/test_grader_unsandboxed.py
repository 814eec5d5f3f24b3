"""Without bubblewrap the grader refuses to run unless the instructor asks for unsandboxed
grading, and then it warns loudly (and still grades correctly)."""

import pytest

from autograder import grade
from autograder.sandbox import Limits
from tests.fixtures import submissions as S

A = S.ASSIGNMENT


@pytest.fixture
def course(tmp_path):
    course = S.make_fixture_course(tmp_path / "course")
    S.write_submission(course, "honest", A, "loops_seed")
    S.write_submission(course, "flipped", A, "kernel_flipped")
    return course


def test_grading_refuses_to_run_without_bwrap(course, monkeypatch):
    monkeypatch.setattr(grade, "bwrap_available", lambda: False)
    with pytest.raises(grade.GradeError, match="--unsandboxed"):
        grade.grade_assignment(course, A)
    assert not (course / "autograded").exists()


def test_the_command_exits_with_an_error_without_bwrap(course, monkeypatch, capsys):
    monkeypatch.setattr(grade, "bwrap_available", lambda: False)
    assert grade.main([A, "--course", str(course), "--quiet"]) == 2
    assert "bubblewrap" in capsys.readouterr().err


@pytest.mark.slow
def test_unsandboxed_grading_warns_loudly_and_grades(course, monkeypatch):
    monkeypatch.setattr(grade, "bwrap_available", lambda: False)
    logged = []
    results = grade.grade_assignment(course, A, unsandboxed=True, log=logged.append, workers=1,
                                     limits=Limits(call_timeout=20))
    assert any("UNSANDBOXED" in text for text in logged)
    by = {r["student"]: r for r in results}
    auto_max = sum(S.FIXTURE_TESTS.values())
    assert by["honest"]["score"] == auto_max
    assert by["flipped"]["score"] < auto_max
    assert "kernel_flipped" in {c["mistake"] for c in by["flipped"]["cells"]}
