"""LMS grade files (autograder.lms): Canvas's gradebook-import CSV and Moodle's grade-import CSV,
built from nbgrader's grades.csv and a roster downloaded from the LMS, checked against the column
rules of each LMS's import documentation; every student who cannot be placed is listed."""

import csv

import pytest

from autograder.course import WorkflowError
from autograder.lms import lms_rows, read_grades, read_roster, write_lms

# nbgrader's `export` header (nbgrader.plugins.export.CsvExportPlugin)
NBGRADER_HEADER = ("assignment,duedate,timestamp,student_id,last_name,first_name,email,"
                   "raw_score,late_submission_penalty,score,max_score")
GRADES = [  # assignment, student, score (None: no graded submission, a blank in grades.csv), max
    ("02_conv2d", "jdoe", 7.5, 10), ("02_conv2d", "doejane", 10, 10),
    ("02_conv2d", "nobody_here", 3, 10), ("03_stride_padding", "jdoe", 4, 8),
    ("02_conv2d", "ali", 9, 10), ("03_stride_padding", "doejane", None, 8),
    ("03_stride_padding", "ali", 0, 8),  # graded, and 0: exported as 0
    ("04_pooling", "jdoe", None, 6), ("04_pooling", "doejane", None, 6),  # nobody graded
]
# Canvas: the first five columns must be exactly these, in this order; then one column per
# assignment; a "Points Possible" row may follow the header (Canvas's own export has one).
CANVAS_REQUIRED = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_ROSTER = [
    ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Quiz 1 (4400)",
     "02_conv2d (4512)", "Current Score"],
    ["    Points Possible", "", "", "", "", "5", "10", "(read only)"],
    ["Doe, John", "101", "S101", "jdoe", "Sec A", "4", "", "80"],
    ["Doe, Jane", "102", "S102", "jane.doe", "Sec A", "5", "", "90"],
    ["Ali, Sam", "103", "S103", "ali", "Sec B", "3", "", "60"],
    ["Ali, Sam", "104", "S104", "ali", "Sec B", "3", "", "60"],   # the same login twice
    ["Late, Lee", "105", "S105", "llate", "Sec B", "", "", ""],
]
MOODLE_ROSTER = [
    ["First name", "Last name", "ID number", "Institution", "Department", "Email address",
     "Assignment: 02_conv2d (Real)", "Last downloaded from this course"],
    ["John", "Doe", "S101", "", "", "jdoe@uni.example", "-", "1700000000"],
    ["Jane", "Doe", "doejane", "", "", "jane.doe@uni.example", "-", "1700000000"],
    ["Sam", "Ali", "S103", "", "", "ali@uni.example", "-", "1700000000"],
]


def write(path, rows):
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.fixture
def grades_csv(tmp_path):
    path = tmp_path / "grades.csv"
    lines = [NBGRADER_HEADER] + [f"{a},,,{s},,,,{v},0.0,{v},{m}" if v is not None
                                 else f"{a},,,{s},,,,,,,{m}" for a, s, v, m in GRADES]
    path.write_text("\n".join(lines) + "\n")
    return path


def read(path):
    with path.open(newline="") as fh:
        return list(csv.reader(fh))


def test_canvas_file_follows_canvas_import_rules_and_lists_whom_it_could_not_place(
        tmp_path, grades_csv):
    roster = write(tmp_path / "canvas-roster.csv", CANVAS_ROSTER)
    report = write_lms(grades_csv, roster, "canvas", tmp_path)
    rows = read(report.path)
    header, points, students = rows[0], rows[1], rows[2:]
    assert header[:5] == CANVAS_REQUIRED
    # an assignment Canvas has keeps its "Name (id)" header; a new one is named plainly
    assert header[5:] == ["02_conv2d (4512)", "03_stride_padding"]
    assert points == ["    Points Possible", "", "", "", "", "10", "8"]
    assert all(len(r) == len(header) for r in rows)
    by_id = {r[1]: r for r in students}
    assert set(by_id) == {"101", "102", "103", "104", "105"}  # every roster row, in order
    assert by_id["101"][5:] == ["7.5", "4"]        # jdoe = SIS Login ID
    assert by_id["102"][5:] == ["10", ""]          # doejane = Canvas's file name for Doe, Jane
    assert by_id["103"][5:] == by_id["104"][5:] == ["", ""]  # ali is ambiguous: not exported
    assert report.unknown == ["nobody_here"]
    assert list(report.ambiguous) == ["ali"] and len(report.ambiguous["ali"]) == 2
    assert sorted(report.exported) == ["doejane", "jdoe"]
    assert len(report.not_graded) == 3             # both Sam Alis and Lee Late
    text = report.text()
    assert "nobody_here" in text and "ali matches several roster rows" in text


def test_moodle_file_is_keyed_by_email_and_id_number(tmp_path, grades_csv):
    roster = write(tmp_path / "moodle-roster.csv", MOODLE_ROSTER)
    report = write_lms(grades_csv, roster, "moodle", tmp_path)
    rows = read(report.path)
    assert rows[0] == ["First name", "Last name", "ID number", "Email address",
                       "Assignment: 02_conv2d (Real)", "03_stride_padding"]
    by_email = {r[3]: r[4:] for r in rows[1:]}
    assert by_email == {"jdoe@uni.example": ["7.5", "4"],     # the part before the @
                        "jane.doe@uni.example": ["10", ""],   # ID number; 03: not graded
                        "ali@uni.example": ["9", "0"]}        # 03: graded 0
    assert report.unknown == ["nobody_here"] and not report.not_graded


def test_match_uses_only_the_named_column(tmp_path, grades_csv):
    roster = read_roster(write(tmp_path / "r.csv", MOODLE_ROSTER), "moodle")
    _, rows, report = lms_rows(read_grades(grades_csv), roster, "moodle", match="ID number")
    assert sorted(report.exported) == ["doejane"]
    assert sorted(report.unknown) == ["ali", "jdoe", "nobody_here"]
    with pytest.raises(WorkflowError, match="no column 'Login'"):
        lms_rows(read_grades(grades_csv), roster, "moodle", match="Login")


def test_a_roster_from_the_wrong_lms_is_refused_with_its_columns(tmp_path):
    roster = write(tmp_path / "r.csv", MOODLE_ROSTER)
    with pytest.raises(WorkflowError, match="not a Canvas roster.*'Student'"):
        read_roster(roster, "canvas")
    with pytest.raises(WorkflowError, match="no roster file"):
        read_roster(tmp_path / "missing.csv", "canvas")


def test_no_graded_submission_is_a_blank_never_a_zero(tmp_path, grades_csv):
    """04_pooling has no graded submission: no column (the LMS would create the assignment
    and fill it with what we give). doejane has no graded 03_stride_padding: a blank, so the
    LMS keeps what it has; ali's graded 0 on it stays 0."""
    grades = read_grades(grades_csv)
    assert [g.score for g in grades if g.student == "doejane"] == [10.0, None, None]
    roster = read_roster(write(tmp_path / "r.csv", MOODLE_ROSTER), "moodle")
    header, rows, _ = lms_rows(grades, roster, "moodle")
    assert "04_pooling" not in header
    assert [r[4:] for r in rows] == [["7.5", "4"], ["10", ""], ["9", "0"]]


def test_answers_still_to_grade_by_hand_are_listed(tmp_path):
    from autograder.gradebook import Submission
    grades = [Submission("02_conv2d", "", "jdoe", "", "", "", 10.0, score=8.0,
                         needs_manual_grade=True),
              Submission("02_conv2d", "", "ali", "", "", "", 10.0, score=9.0)]
    roster = read_roster(write(tmp_path / "r.csv", MOODLE_ROSTER), "moodle")
    _, _, report = lms_rows(grades, roster, "moodle")
    assert report.pending == [("jdoe", "02_conv2d")]
    assert "still to grade by hand, counted 0 until then (1): jdoe (02_conv2d)" in report.text()


def test_a_roster_that_is_not_csv_or_lists_nobody_is_refused(tmp_path):
    binary = tmp_path / "gradebook.xlsx"
    binary.write_bytes(b"PK\x03\x04\xff\xfe\x00\x81 not text")
    with pytest.raises(WorkflowError, match="not a CSV file"):
        read_roster(binary, "moodle")
    with pytest.raises(WorkflowError, match="lists no students"):
        read_roster(write(tmp_path / "empty.csv", MOODLE_ROSTER[:1]), "moodle")
