"""Submissions whose answers are unusually alike, for the class report.

The detector is copydetect (MOSS-style winnowing of the token stream, on PyPI): every name is
replaced by a placeholder before fingerprinting, so renaming variables does not hide a copy, and
fingerprints are compared as sets, so reordering the helpers does not either. What is compared
is a student's answer cells only (the cells nbgrader marks as solutions); the released starter
code of those cells is fingerprinted too and its fingerprints are removed from every student's
("boilerplate"), so a signature, a docstring or a stub that everyone was given matches nothing.

A pair is listed when at least ``threshold`` of the smaller answer's fingerprinted tokens are
found in the other's. Similar is not copied: two short answers to a small exercise may agree by
nature, which is why the report shows the matching lines side by side for a person to judge.
"""

from __future__ import annotations

import html
import io
import itertools
from dataclasses import dataclass

from .submitted import read_submission

K = 25           # characters of filtered code per fingerprint (copydetect's default)
WINDOW = 1       # winnowing window: keep every fingerprint (answers are short)
THRESHOLD = 0.6  # share of the smaller answer found in the other one
MIN_TOKENS = 40  # answers shorter than this (after removing starter code) are not compared


@dataclass(frozen=True)
class Pair:
    """Two students' answers to one notebook and how much of each is found in the other."""

    notebook: str
    first: str
    second: str
    similarity: float        # the larger of the two shares
    shares: tuple            # (share of first found in second, share of second in first)
    first_code: str
    second_code: str
    first_slices: object     # copydetect's character slices of the matching parts, 2 x n
    second_slices: object


def answer_code(nb) -> str:
    """The source of a notebook's code answer cells (nbgrader solution cells), in order."""
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "code"
                       and c.get("metadata", {}).get("nbgrader", {}).get("solution"))


def _fingerprint(code: str, name: str, boilerplate=()):
    from copydetect import CodeFingerprint
    return CodeFingerprint(f"{name}.py", K, WINDOW, boilerplate=list(boilerplate),
                           fp=io.StringIO(code))


def similar_pairs(answers: dict[str, str], starter: str, notebook: str = "",
                  threshold: float = THRESHOLD) -> list[Pair]:
    """Pairs of students (of ``answers``: student -> answer code) at or above ``threshold``,
    most similar first; ``starter`` is the code every student was given."""
    from copydetect import compare_files
    boilerplate = _fingerprint(starter, "starter").hashes if starter.strip() else ()
    prints = {s: _fingerprint(code, s, boilerplate) for s, code in sorted(answers.items())}
    prints = {s: fp for s, fp in prints.items() if fp.token_coverage >= MIN_TOKENS}
    pairs = []
    for a, b in itertools.combinations(sorted(prints), 2):
        _, shares, slices = compare_files(prints[a], prints[b])
        if _smaller_share(prints[a], prints[b], shares) >= threshold:
            pairs.append(Pair(notebook, a, b, max(shares), tuple(shares), prints[a].raw_code,
                              prints[b].raw_code, slices[0], slices[1]))
    return sorted(pairs, key=lambda p: -p.similarity)


def _smaller_share(fp_a, fp_b, shares):
    """The share of the smaller answer (fewer fingerprinted tokens) found in the other."""
    return shares[0] if fp_a.token_coverage <= fp_b.token_coverage else shares[1]


def class_pairs(course, assignment: str, threshold: float = THRESHOLD) -> list[Pair]:
    """Similar pairs in every notebook of ``assignment``'s submissions; unreadable
    submissions are left out (the grader reports them already)."""
    import nbformat
    pairs = []
    for notebook in course.notebooks(assignment):
        release = course.root / "release" / assignment / f"{notebook}.ipynb"
        starter = answer_code(nbformat.read(release, as_version=4)) if release.is_file() else ""
        answers = {}
        for student in course.students(assignment):
            nb, _ = read_submission(
                course.root / "submitted" / student / assignment / f"{notebook}.ipynb")
            if nb is not None:
                answers[student] = answer_code(nb)
        pairs += similar_pairs(answers, starter, notebook, threshold)
    return pairs


def _highlighted(code: str, slices) -> str:
    """``code`` as escaped HTML with the matching character ranges in <mark>."""
    out, at = [], 0
    for start, end in sorted(zip(slices[0], slices[1], strict=True)) if len(slices) else []:
        start = max(start, at)
        if start >= end:
            continue
        out += [html.escape(code[at:start]), "<mark>", html.escape(code[start:end]), "</mark>"]
        at = end
    out.append(html.escape(code[at:]))
    return "".join(out)


def section_html(pairs: list[Pair], threshold: float = THRESHOLD) -> str:
    """The report's section: a table of pairs and, for each, the two answers side by side."""
    e = html.escape
    intro = (f"<p>Pairs of submissions in which at least {threshold:.0%} of the smaller answer "
             "(answer cells only, starter code removed, names ignored) is found in the other, "
             "by copydetect's winnowing. Similar is not the same as copied: read the matching "
             "lines (highlighted) before you decide anything.</p>")
    if not pairs:
        return intro + "<p>No pair reaches the threshold.</p>"
    rows = "".join(f"<tr><td>{e(p.notebook)}</td><td>{e(p.first)}</td><td>{e(p.second)}</td>"
                   f"<td>{p.shares[0]:.0%} / {p.shares[1]:.0%}</td></tr>" for p in pairs)
    views = "".join(
        f"<h3>{e(p.notebook)}: {e(p.first)} and {e(p.second)}</h3>"
        "<table class='side'><tr>"
        f"<th>{e(p.first)} ({p.shares[0]:.0%} found in the other)</th>"
        f"<th>{e(p.second)} ({p.shares[1]:.0%} found in the other)</th></tr><tr>"
        f"<td><pre>{_highlighted(p.first_code, p.first_slices)}</pre></td>"
        f"<td><pre>{_highlighted(p.second_code, p.second_slices)}</pre></td></tr></table>"
        for p in pairs)
    return (intro + "<table><tr><th>notebook</th><th>student</th><th>student</th>"
            f"<th>shares</th></tr>{rows}</table>{views}")


def pair_rows(pairs: list[Pair]) -> list[dict]:
    """The pairs as rows for similarity.csv."""
    return [{"notebook": p.notebook, "first": p.first, "second": p.second,
             "first_in_second": round(p.shares[0], 3), "second_in_first": round(p.shares[1], 3)}
            for p in pairs]


__all__ = ["Pair", "answer_code", "class_pairs", "class_section", "pair_rows", "section_html",
           "similar_pairs"]


def class_section(course, assignment: str | None = None,
                  threshold: float = THRESHOLD) -> tuple[str, list[dict]]:
    """(the report's HTML section, the rows of similarity.csv) for one assignment or every
    assignment that has submissions."""
    assignments = [assignment] if assignment else [
        a for a in course.source_assignments() if course.students(a)]
    pairs = [p for a in assignments for p in class_pairs(course, a, threshold)]
    return section_html(pairs, threshold), pair_rows(pairs)
