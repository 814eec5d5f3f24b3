"""The class of `python -m autograder demo`: what a real class hands in for 02_conv2d.

Honest `conv2d`s in several styles, the common mistakes (kernel flipped, off by one, integer
output, a library call, the stub left in place, the reflection left blank) and one file that is
not a notebook. Nothing hostile: the attacks on the grader live with its tests
(tests/fixtures/submissions.py).

Each student's notebook is the released one with `conv2d` written as below, every other exercise
answered as in the trusted source notebook (so only `conv2d` differs between students) and the
hand-graded questions answered in the student's own words.
"""

from __future__ import annotations

import copy
from itertools import zip_longest
from typing import NamedTuple

from convlib.examples import SEED_CONV2D_SOURCE

from .course import WorkflowError

ASSIGNMENT = "02_conv2d"


class DemoStudent(NamedTuple):
    """One student of the demo class and the outcome the grader should give them.

    expect: "full" (every autograded point), "partial" (loses the conv2d tests, with `mistake`
    named on a failing test) or "error" (the file cannot be graded).
    """

    name: str
    description: str
    conv2d: str | None = None  # the cell defining conv2d; None leaves the released stub
    expect: str = "full"
    mistake: str | None = None
    reflection: bool = True  # answers the hand-graded questions
    raw: str | None = None  # the whole file, when it is not a notebook


LOOPS = SEED_CONV2D_SOURCE

WINDOWS = '''import torch

def conv2d(image, kernel):
    M, N = kernel.shape
    windows = image.unfold(0, M, 1).unfold(1, N, 1)   # (H-M+1, W-N+1, M, N)
    return (windows * kernel).sum(dim=(-1, -2))
'''

NUMPY = '''import numpy as np
import torch

def conv2d(image, kernel):
    X, K = np.asarray(image, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    windows = np.lib.stride_tricks.sliding_window_view(X, K.shape)
    return torch.from_numpy(np.einsum("ijab,ab->ij", windows, K)).float()
'''

KERNEL_OFFSETS = '''import torch

def conv2d(image, kernel):
    H, W = image.shape
    M, N = kernel.shape
    out = torch.zeros(H - M + 1, W - N + 1)
    for a in range(M):          # one shifted copy of the image per kernel entry
        for b in range(N):
            out += kernel[a, b] * image[a:a + H - M + 1, b:b + W - N + 1]
    return out
'''

SCIPY = '''import scipy.signal
import torch

def conv2d(image, kernel):
    return torch.from_numpy(scipy.signal.correlate2d(image.numpy(), kernel.numpy(), "valid"))
'''

REFLECTION = ("Convolution is linear in the kernel, so blurring and then subtracting the blur "
              "from twice the image is a single convolution, with the kernel 2I - B.")


def _loops_with(old: str, new: str) -> str:
    assert old in LOOPS, old
    return LOOPS.replace(old, new)


CLASS = [
    DemoStudent("loops", "nested loops over the output, as in the seed", LOOPS),
    DemoStudent("windows", "unfolds the image into windows, multiplies, sums", WINDOWS),
    DemoStudent("no_reflection", "correct loops; the reflection left unanswered", LOOPS,
                reflection=False),
    DemoStudent("numpy", "numpy sliding windows and einsum inside, a torch tensor out", NUMPY),
    DemoStudent("kernel_offsets", "sums one shifted image per kernel entry", KERNEL_OFFSETS),
    DemoStudent("kernel_flipped", "flips the kernel (true convolution)",
                _loops_with("* kernel)", "* torch.flip(kernel, (0, 1)))"),
                expect="partial", mistake="kernel_flipped"),
    DemoStudent("off_by_one", "stops one row of windows short",
                _loops_with("for i in range(H - M + 1)", "for i in range(H - M)"),
                expect="partial", mistake="output_too_small"),
    DemoStudent("not_implemented", "hands in the released stub", None, expect="partial",
                mistake="not_implemented"),
    DemoStudent("integer_output", "makes the output with an integer dtype",
                _loops_with("dtype=torch.float32", "dtype=torch.int32"), expect="partial",
                mistake="integer_truncation"),
    DemoStudent("uses_scipy", "calls scipy.signal.correlate2d instead of writing it", SCIPY,
                expect="partial", mistake="forbidden_call"),
    DemoStudent("cut_off_upload", "a notebook cut off during the upload (not valid JSON)",
                expect="error", raw='{\n "cells": [\n  {\n   "cell_type": "markdown",\n'),
]
BY_NAME = {s.name: s for s in CLASS}


def demo_students(count: int | None = None) -> list[DemoStudent]:
    """The demo class, or `count` of its students (at least 4) taken in turn from the honest,
    the mistaken and the broken ones, so a small class still shows every kind of outcome."""
    if count is None or count >= len(CLASS):
        return list(CLASS)
    if count < 4:
        raise WorkflowError("a demo class needs at least 4 students (--students 4)")
    kinds = [[s for s in CLASS if s.expect == kind] for kind in ("full", "partial", "error")]
    chosen = [s for turn in zip_longest(*kinds) for s in turn if s][:count]
    return [s for s in CLASS if s in chosen]


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _without_markers(source: str) -> str:
    return "\n".join(line for line in source.split("\n")
                     if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line)


def student_notebook(student: DemoStudent, released, source):
    """The student's notebook: a copy of the `released` notebook with `student.conv2d` in the
    cell that defines conv2d, the other exercises answered from the `source` notebook, and the
    hand-graded answers written (or left as released)."""
    nb = copy.deepcopy(released)
    answers = {_nbgrader(c).get("grade_id"): _without_markers(c.source) for c in source.cells
               if _nbgrader(c).get("solution")}
    conv2d_cells = [c for c in nb.cells if _nbgrader(c).get("solution")
                    and c.cell_type == "code" and "def conv2d(" in c.source]
    if not conv2d_cells:
        raise WorkflowError(f"the demo class answers {ASSIGNMENT}'s conv2d(), which this "
                            f"notebook does not ask for; run the demo with --assignment "
                            f"{ASSIGNMENT}")
    for cell in nb.cells:
        meta = _nbgrader(cell)
        if not meta.get("solution"):
            continue
        if cell is conv2d_cells[0]:
            cell.source = student.conv2d if student.conv2d is not None else cell.source
        elif cell.cell_type == "markdown" and meta.get("grade"):  # graded by hand
            cell.source = REFLECTION if student.reflection else cell.source
        elif meta.get("grade_id") in answers:
            cell.source = answers[meta["grade_id"]]
    return nb
