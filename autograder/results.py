"""The grader's results contract: what one graded notebook and each of its graded cells came to.

`NotebookResult.to_json()` is exactly what `DIR/autograded/<student>/<assignment>/<notebook>
.results.json` holds (docs/architecture.md, "Grader results"); feedback, export and report read
those files. Built here, and only here, so that the six places that make a result cannot drift.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

CELL_STATUSES = ("passed", "failed", "error", "timeout", "forbidden", "manual")
FLAGS = ("forbidden_call", "tampered", "edited_tests", "timeout", "memory_limit", "output_limit",
         "crashed")


@dataclass
class CellResult:
    """One graded cell: a test cell (points from the grader) or an answer graded by hand
    (`points` None, status "manual")."""

    grade_id: str
    max_points: float
    points: float | None = 0.0
    status: str = "failed"
    mistake: str | None = None  # a code of convlib.mistakes.MISTAKES
    case: str | None = None  # which input ("hidden image 12x10, 3x3 kernel")
    message: str = ""
    # For the instructor, when a check raised an error instead of failing: the exception's type
    # and the trusted frames it passed through ("file:line in function"), never its message or a
    # value, so it may stay when the message is withheld (docs/architecture.md).
    trace: str | None = None

    def update(self, **changes):
        for name, value in changes.items():
            if name not in self.__dataclass_fields__:
                raise TypeError(f"a cell result has no field {name!r}")
            setattr(self, name, value)
        return self

    @classmethod
    def manual(cls, grade_id, max_points):
        return cls(grade_id, max_points, points=None, status="manual", message="graded by hand")

    @classmethod
    def error(cls, grade_id, max_points, message):
        return cls(grade_id, max_points, status="error", message=message)


@dataclass
class NotebookResult:
    """One student's notebook. `status` "graded", or "error" when it could not be read (then
    `error` says what to do and every cell scores 0)."""

    student: str
    assignment: str
    notebook: str
    max_score: float
    status: str = "graded"
    error: str | None = None
    score: float = 0.0
    duration_s: float = 0.0
    flags: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    cells: list = field(default_factory=list)  # CellResult, test cells then hand-graded ones
    fingerprint: str | None = None  # what was graded (submission, source, secret, grader)

    def to_json(self):
        data = asdict(self)
        if self.fingerprint is None:
            del data["fingerprint"]
        return data
