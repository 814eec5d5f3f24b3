"""nbgrader's gradebook, written by the trusted grader only: the assignment's graded cells, and
each notebook's scores (manual scores that an instructor gave are kept).

`grade` records each submission here as soon as it is graded; the gradebook is SQLite, so one
process writes it at a time.
"""

import copy

from . import nbgrader_cli


def open_gradebook(db_url, course_id):
    """nbgrader's Gradebook, created if need be (with alembic's head read in-process)."""
    from nbgrader.api import Gradebook
    nbgrader_cli.install()
    return Gradebook(db_url, course_id=course_id) if course_id else Gradebook(db_url)


def ensure_gradebook_assignment(db_url, assignment, sources, course_id=None):
    """Make sure the gradebook knows the assignment's notebooks and graded cells (as
    `nbgrader generate_assignment` records them)."""
    from nbgrader.api import MissingEntry
    from nbgrader.preprocessors import ClearSolutions, ComputeChecksums, SaveCells
    with open_gradebook(db_url, course_id) as gb:
        try:
            known = {n.name for n in gb.find_assignment(assignment).notebooks}
        except MissingEntry:
            gb.update_or_create_assignment(assignment)
            known = set()
    for name, (src, _) in sources.items():
        if name in known:
            continue
        nb = copy.deepcopy(src.nb)
        resources = {"nbgrader": {"notebook": name, "assignment": assignment, "db_url": db_url}}
        save = SaveCells()
        if course_id:
            resources["nbgrader"]["course_id"] = course_id
        for pre in (ClearSolutions(), ComputeChecksums(), save):
            nb, resources = pre.preprocess(nb, resources)


def save_to_gradebook(gb, result, source, autograded, timestamp=None):
    """Record one notebook's scores in the open Gradebook `gb`; manual scores are kept."""
    from nbgrader import utils
    from nbgrader.api import MissingEntry
    student, assignment, notebook = result["student"], result["assignment"], result["notebook"]
    by_id = {c["grade_id"]: c for c in result["cells"]}
    cells = {}
    if autograded is not None:
        for cell in autograded.cells:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid:
                cells.setdefault(gid, cell)
    try:
        gb.update_or_create_student(student)
        extra = {"timestamp": utils.parse_utc(timestamp)} if timestamp else {}
        gb.update_or_create_submission(assignment, student, **extra)
        for gid, meta in source.metadata.items():
            cell = cells.get(gid)
            checksum = None
            try:
                checksum = gb.find_source_cell(gid, notebook, assignment).checksum
            except MissingEntry:
                pass
            unanswered = cell is None or (checksum is not None and meta.get("solution") and
                                          utils.compute_checksum(cell) == checksum)
            if meta.get("grade"):
                grade = gb.find_grade(gid, notebook, assignment, student)
                if gid in source.tests:
                    grade.auto_score = float(by_id[gid]["points"]) if gid in by_id else 0.0
                else:  # written answers: by hand, unless left empty or unreadable
                    grade.auto_score = 0.0 if (unanswered or result["status"] == "error") \
                        else None
                grade.needs_manual_grade = grade.manual_score is not None or \
                    grade.auto_score is None
            if meta.get("solution") or meta.get("task"):
                comment = gb.find_comment(gid, notebook, assignment, student)
                if result["status"] == "error":
                    comment.auto_comment = result["error"]
                else:
                    comment.auto_comment = "No response." if unanswered else None
        gb.db.commit()
    except Exception:
        gb.db.rollback()
        raise
