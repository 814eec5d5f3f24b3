"""Grading across machines: three `grade --shard K/3` processes at once over one course write
results only; `merge` then gives the gradebook and results one `grade` run gives. A shard that
was killed is run again alone; missing, duplicated and stale shards are refused."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.__main__ import main as cli
from autograder.grade import grade_assignment
from autograder.gradebook import open_gradebook
from autograder.sandbox import Limits
from autograder.shards import parse_shard, shard_of
from tests.conftest import require_tool
from tests.fixtures import submissions as S

pytestmark = pytest.mark.sandbox
A = S.ASSIGNMENT
ROOT = Path(__file__).resolve().parent.parent
CLASS = ["loops_seed", "vectorised_windows", "fft", "kernel_flipped", "output_too_small",
         "integer_truncation", "not_implemented", "wrong_type", "attack_scipy"]
LIMITS = dict(call_timeout=10.0, notebook_timeout=60.0, memory_bytes=768 * 2**20)  # as the CLI
GRADE_FLAGS = ["--timeout", "60", "--call-timeout", "10", "--memory-mb", "768"]


def gradebook_rows(course):
    """Every grade and comment the gradebook holds for the assignment, as plain tuples."""
    rows = []
    with open_gradebook(f"sqlite:///{course / 'gradebook.db'}", None) as gb:
        for student in sorted(s.id for s in gb.students):
            try:
                nb = gb.find_submission_notebook(A, A, student)
            except Exception:  # noqa: BLE001  (no submission recorded for this student)
                continue
            rows += [(student, g.name, g.auto_score, g.manual_score, g.needs_manual_grade)
                     for g in nb.grades]
            rows += [(student, c.name, c.auto_comment) for c in nb.comments]
    return sorted(rows, key=repr)


def results(course):
    out = {}
    for path in sorted((course / "autograded").glob(f"*/{A}/*.results.json")):
        data = json.loads(path.read_text())
        data.pop("duration_s")
        out[path.parent.parent.name] = data
    return out


def shard(course, k, n=3):
    return subprocess.Popen([sys.executable, "-m", "autograder.grade", A, "--course",
                             str(course), "--shard", f"{k}/{n}", "--workers", "1", "--quiet",
                             *GRADE_FLAGS], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def courses(tmp_path_factory):
    require_tool("bwrap", "bubblewrap")
    base = S.make_fixture_course(tmp_path_factory.mktemp("sharded") / "course")
    (base / "nbgrader_config.py").write_text(  # a course folder for `python -m autograder`
        'c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = "conv-from-scratch"\n')
    for name in CLASS:
        S.write_submission(base, f"s_{name}", A, name)
    single = base.parent.parent / "single"
    shutil.copytree(base, single)
    (single / ".hidden-tests-secret").write_bytes(b"k" * 32)  # the same hidden inputs in both
    (base / ".hidden-tests-secret").write_bytes(b"k" * 32)
    grade_assignment(single, A, workers=2, limits=Limits(**LIMITS))
    procs = [shard(base, k) for k in range(3)]
    logs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], logs
    return base, single, logs


def test_students_are_placed_by_a_hash_of_their_id_not_their_position():
    ids = [f"student{i}" for i in range(300)]
    placed = {s: shard_of(s, 3) for s in ids}
    assert {shard_of(s, 3) for s in ids + ["newcomer", "aaa"]} == {0, 1, 2}
    assert all(shard_of(s, 3) == placed[s] for s in ids)  # adding students moves nobody
    assert 60 < sum(1 for k in placed.values() if k == 0) < 140
    assert parse_shard("2/3") == (2, 3)
    for bad in ("3/3", "-1/3", "1-3", "a/b", ""):
        with pytest.raises(ValueError, match="K/N"):
            parse_shard(bad)


def test_shards_write_results_but_leave_the_gradebook_to_merge(courses):
    base, _, logs = courses
    assert gradebook_rows(base) == []
    assert sorted(results(base)) == sorted(f"s_{n}" for n in CLASS)
    assert all("run `merge` when all are done" in log for log in logs)
    lists = sorted(p.name for p in (base / "shards" / A).iterdir())
    assert lists == ["0-of-3.json", "1-of-3.json", "2-of-3.json"]


def copy_of(base, tmp_path, name="course"):
    """A copy of the sharded course, before any merge (tests may run in any order)."""
    course = tmp_path / name
    shutil.copytree(base, course)
    (course / "gradebook.db").unlink(missing_ok=True)
    return course


def test_merge_gives_the_gradebook_and_results_of_one_grade_run(courses, tmp_path):
    base, single, _ = courses
    course = copy_of(base, tmp_path)
    assert cli(["merge", A, "--course", str(course)]) == 0
    assert gradebook_rows(course) == gradebook_rows(single)
    assert results(course) == results(single)
    assert cli(["merge", A, "--course", str(course)]) == 0  # merging again changes nothing
    assert gradebook_rows(course) == gradebook_rows(single)


def test_a_killed_shard_is_run_again_alone(courses, tmp_path):
    base, single, _ = courses
    course = copy_of(base, tmp_path)
    # shard 1 was killed after grading one of its students: no list, one result missing
    mine = sorted(f"s_{n}" for n in CLASS if shard_of(f"s_{n}", 3) == 1)
    (course / "shards" / A / "1-of-3.json").unlink()
    shutil.rmtree(course / "autograded" / mine[-1])
    assert cli(["merge", A, "--course", str(course)]) != 0
    others = {p: p.stat().st_mtime_ns for p in (course / "autograded").rglob("*.results.json")}
    proc = shard(course, 1)
    log = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, log
    assert all(p.stat().st_mtime_ns == t for p, t in others.items())  # the rest: not regraded
    assert cli(["merge", A, "--course", str(course)]) == 0
    assert gradebook_rows(course) == gradebook_rows(single)


def test_missing_duplicated_and_stale_shards_are_refused_and_nothing_is_recorded(
        courses, tmp_path, capsys):
    base, _, _ = courses

    def attempt(change):
        course = copy_of(base, tmp_path, f"c{attempt.count}")
        attempt.count += 1
        change(course)
        capsys.readouterr()
        status = cli(["merge", A, "--course", str(course)])
        assert gradebook_rows(course) == [], "a refused merge recorded something"
        return status, capsys.readouterr().err
    attempt.count = 0
    lists = lambda c: c / "shards" / A  # noqa: E731

    status, err = attempt(lambda c: (lists(c) / "2-of-3.json").unlink())
    assert status != 0 and "missing shard(s) 2/3" in err
    def older_run(c):
        data = json.loads((lists(c) / "0-of-3.json").read_text())
        (lists(c) / "0-of-2.json").write_text(json.dumps({**data, "of": 2}))
    status, err = attempt(older_run)
    assert status != 0 and "shards of 2 and of 3" in err
    status, err = attempt(lambda c: shutil.copy(lists(c) / "0-of-3.json",
                                                lists(c) / "1-of-2.json"))
    assert status != 0 and "does not match its name" in err

    def duplicate(c):
        data = json.loads((lists(c) / "0-of-3.json").read_text())
        other = json.loads((lists(c) / "1-of-3.json").read_text())
        data["students"].update(other["students"])
        (lists(c) / "0-of-3.json").write_text(json.dumps(data))
    status, err = attempt(duplicate)
    assert status != 0 and "is in shard 0/3 and in shard 1/3" in err

    def resubmitted(c):
        S.write_submission(c, "s_loops_seed", A, "kernel_flipped")
    status, err = attempt(resubmitted)
    assert status != 0 and "s_loops_seed/02_conv2d" in err and "do not match" in err

    def new_source(c):
        path = c / "source" / A / f"{A}.ipynb"
        path.write_text(path.read_text().replace("valid cross-correlation",
                                                 "valid cross-correlation (v2)"))
    status, err = attempt(new_source)
    assert status != 0 and "other source notebooks" in err

    def late_student(c):
        S.write_submission(c, "s_late", A, "loops_seed")
    status, err = attempt(late_student)
    assert status != 0 and "s_late" in err and "no shard's list" in err
