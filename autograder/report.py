"""The class report: one self-contained HTML page (plots embedded as base64 PNG; no network) plus
the same figures as CSV files, written to DIR/reports/.

    report.html           everything below, readable offline
    scores.csv            student, assignment, notebook, score, max_score, percent,
                          to_grade_by_hand, status, flags, warnings
    test_pass_rates.csv   assignment, notebook, test, passed, graded, pass_rate
    mistakes.csv          assignment, notebook, mistake, submissions, of, percent
    flagged.csv           submissions that hit a limit, were flagged, could not be graded or
                          carry a grader's warning (an edited test cell, a stray file)
    raised.csv            checks that raised an error instead of failing, grouped by where
                          (the cell's trace): one place hit by many students is likely a
                          fault of the test cell itself
    similarity.csv        pairs of submissions whose answers are unusually alike
                          (autograder/similarity.py; shown side by side in report.html)

Built from the grader's results JSON (docs/architecture.md, "Grader results") with the
gradebook's hand grades laid over it (Course.results), so a score given in the formgrader counts.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter, defaultdict
from pathlib import Path

from .course import Course, WorkflowError
from .export import write_csv
from .feedback import mistake_text

FAIL_STATUSES = {"failed", "error", "timeout", "forbidden"}


def _key(r: dict) -> tuple[str, str]:
    return (r.get("assignment", ""), r.get("notebook", ""))


def score_rows(results: list[dict]) -> list[dict]:
    rows = []
    for r in sorted(results, key=lambda r: (*_key(r), r.get("student", ""))):
        score, top = float(r.get("score") or 0), float(r.get("max_score") or 0)
        rows.append({"student": r.get("student"), "assignment": r.get("assignment"),
                     "notebook": r.get("notebook"), "score": score, "max_score": top,
                     "percent": round(100 * score / top, 1) if top else "",
                     "to_grade_by_hand": pending_by_hand(r),
                     "status": r.get("status"), "flags": ";".join(r.get("flags") or []),
                     "warnings": "; ".join(r.get("warnings") or [])})
    return rows


def pending_by_hand(result: dict) -> float:
    """Points of the answers still waiting to be graded by hand (they count 0 until then)."""
    return float(sum(c.get("max_points") or 0 for c in result.get("cells") or []
                     if c.get("status") == "manual" and c.get("points") is None))


def pass_rate_rows(results: list[dict]) -> list[dict]:
    passed: Counter = Counter()
    graded: Counter = Counter()
    order: list[tuple] = []
    for r in results:
        if r.get("status") == "error":
            continue  # ungradable files are listed under the flagged submissions instead
        for c in r.get("cells") or []:
            if c.get("status") == "manual":
                continue
            key = (*_key(r), c.get("grade_id"))
            if key not in graded:
                order.append(key)
            graded[key] += 1
            passed[key] += c.get("status") == "passed"
    return [{"assignment": a, "notebook": n, "test": t, "passed": passed[(a, n, t)],
             "graded": graded[(a, n, t)],
             "pass_rate": round(passed[(a, n, t)] / graded[(a, n, t)], 3)}
            for (a, n, t) in sorted(order)]


def mistake_rows(results: list[dict]) -> list[dict]:
    """How many submissions of each notebook showed each diagnosed mistake (in any test)."""
    per_nb: Counter = Counter(_key(r) for r in results)
    seen: Counter = Counter()
    for r in results:
        for code in {c.get("mistake") for c in r.get("cells") or [] if c.get("mistake")}:
            seen[(*_key(r), code)] += 1
    rows = [{"assignment": a, "notebook": n, "mistake": m, "description": mistake_text(m),
             "submissions": k, "of": per_nb[(a, n)],
             "percent": round(100 * k / per_nb[(a, n)], 1)}
            for (a, n, m), k in seen.items()]
    return sorted(rows, key=lambda row: (row["assignment"], row["notebook"], -row["submissions"],
                                         row["mistake"]))


FLAGGED_COLUMNS = ["student", "assignment", "notebook", "status", "flags", "warnings", "error"]


def flagged_rows(results: list[dict]) -> list[dict]:
    """Submissions that were flagged, could not be graded, or that the grader has a warning
    about (the reason behind a flag: "test cell 'test_x' was edited; the original test was
    run", a stray file, ...)."""
    rows = []
    for r in sorted(results, key=lambda r: (*_key(r), r.get("student", ""))):
        flags, warnings = list(r.get("flags") or []), list(r.get("warnings") or [])
        if flags or warnings or r.get("status") != "graded":
            rows.append({"student": r.get("student"), "assignment": r.get("assignment"),
                         "notebook": r.get("notebook"), "status": r.get("status"),
                         "flags": ";".join(flags), "warnings": "; ".join(warnings),
                         "error": r.get("error") or ""})
    return rows


def raised_rows(results: list[dict]) -> list[dict]:
    """Checks that raised an error, grouped by test and trace (where in trusted code), most
    students first."""
    students: dict[tuple, list[str]] = defaultdict(list)
    for r in results:
        for c in r.get("cells") or []:
            if c.get("trace"):
                students[(*_key(r), c.get("grade_id"), c["trace"])].append(r.get("student"))
    rows = [{"assignment": a, "notebook": n, "test": t, "trace": trace,
             "submissions": len(who), "students": ";".join(sorted(who))}
            for (a, n, t, trace), who in students.items()]
    return sorted(rows, key=lambda row: (-row["submissions"], row["assignment"],
                                         row["notebook"], row["test"], row["trace"]))


def grade_table(results: list[dict]) -> str:
    """A plain-text table: one row per student, one column per notebook ("score/max")."""
    notebooks = sorted({_key(r) for r in results})
    by = {(r.get("student"), _key(r)): r for r in results}
    students = sorted({r.get("student") for r in results})
    head = ["student"] + [nb for _, nb in notebooks] + ["flags"]
    body = []
    for s in students:
        row, flags = [s], set()
        for key in notebooks:
            r = by.get((s, key))
            if r is None:
                row.append("-")
                continue
            flags |= set(r.get("flags") or [])
            pending = pending_by_hand(r)
            row.append("error" if r.get("status") == "error"
                       else f"{r.get('score', 0):g}/{r.get('max_score', 0):g}"
                       + (f" (+{pending:g} by hand)" if pending else ""))
        body.append(row + [",".join(sorted(flags))])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    return "\n".join("  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip()
                     for line in [head, *body])


# ---------------------------------------------------------------------------- figures

def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _score_figure(rows: list[dict]) -> str | None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    groups: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        if row["percent"] != "":
            groups[f"{row['assignment']}/{row['notebook']}"].append(row["percent"])
    if not groups:
        return None
    n = len(groups)
    fig, axes = plt.subplots(n, 1, figsize=(7, 2.2 * n), squeeze=False)
    for ax, (name, values) in zip(axes[:, 0], sorted(groups.items()), strict=True):
        ax.hist(values, bins=[i * 10 for i in range(11)], color="#4c72b0", edgecolor="white")
        median = sorted(values)[len(values) // 2]
        ax.set_title(f"{name}: {len(values)} submissions, median {median:g}%", fontsize=10)
        ax.set_xlabel("score (% of the notebook's points; answers graded by hand count "
                      "once graded)")
        ax.set_ylabel("students")
        ax.set_xlim(0, 100)
    fig.tight_layout()
    return _png(fig)


def _barh(labels: list[str], values: list[float], xlabel: str, color: str) -> str | None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    if not labels:
        return None
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(labels) + 1.2))
    y = list(range(len(labels)))[::-1]
    ax.barh(y, values, color=color)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_xlim(0, 100)
    for yi, v in zip(y, values, strict=True):
        ax.text(min(v + 1, 92), yi, f"{v:.0f}%", va="center", fontsize=8)
    fig.tight_layout()
    return _png(fig)


def build(course: Course, to=None, assignment: str | None = None) -> dict[str, Path]:
    """Write report.html and its CSV files; returns their paths."""
    results = course.results(assignment)
    if not results:
        what = f"of {assignment} " if assignment else ""
        raise WorkflowError(f"no graded submission {what}in {course.root}/autograded; run "
                            "`python -m autograder grade ASSIGNMENT` first")
    out = Path(to).expanduser().resolve() if to else course.root / "reports"
    if out.exists() and not out.is_dir():
        raise WorkflowError(f"{out} is a file, not a folder; pass another --to OUT_DIR")
    scores, rates = score_rows(results), pass_rate_rows(results)
    mistakes, flagged = mistake_rows(results), flagged_rows(results)
    raised = raised_rows(results)
    from .similarity import class_section
    similar_html, similar = class_section(course, assignment)
    tables = {  # written only once the whole report is made
        "scores": (scores, list(scores[0])),
        "test_pass_rates": (rates, ["assignment", "notebook", "test", "passed", "graded",
                                    "pass_rate"]),
        "mistakes": (mistakes, ["assignment", "notebook", "mistake", "description",
                                "submissions", "of", "percent"]),
        "flagged": (flagged, FLAGGED_COLUMNS),
        "raised": (raised, ["assignment", "notebook", "test", "trace", "submissions",
                            "students"]),
        "similarity": (similar, ["notebook", "first", "second", "first_in_second",
                                 "second_in_first"]),
    }
    e = html.escape
    figs = {
        "scores": _score_figure(scores),
        "rates": _barh([f"{r['notebook']}: {r['test']}" for r in rates],
                       [100 * r["pass_rate"] for r in rates], "pass rate (%)", "#55a868"),
        "mistakes": _barh([f"{r['notebook']}: {r['description'][:60]}" for r in mistakes],
                          [r["percent"] for r in mistakes], "% of submissions", "#c44e52"),
    }

    def img(name, alt):
        return (f"<img alt='{e(alt)}' src='data:image/png;base64,{figs[name]}'>"
                if figs[name] else "<p>(nothing to plot)</p>")

    def table(rows, columns):
        if not rows:
            return "<p>None.</p>"
        head = "".join(f"<th>{e(c)}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{e(str(r[c]))}</td>" for c in columns) + "</tr>"
                       for r in rows)
        return f"<table><tr>{head}</tr>{body}</table>"

    students = len({r["student"] for r in results})
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>Class report — {e(course.course_id)}</title><style>
body{{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.25rem .5rem;
text-align:left}}th{{background:#f3f3f3}}img{{max-width:100%}}mark{{background:#ffe08a}}
table.side td{{width:50%;vertical-align:top}}pre{{white-space:pre-wrap;margin:0}}
</style></head><body>
<h1>Class report — {e(course.course_id)}</h1>
<p>{students} students, {len(results)} graded notebooks. The same numbers are in the CSV files
next to this page.</p>
<h2>Scores per notebook</h2>{img("scores", "histogram of scores per notebook")}
<h2>Pass rate of every test</h2>{img("rates", "pass rate of every test")}
{table(rates, ["assignment", "notebook", "test", "passed", "graded", "pass_rate"])}
<h2>Diagnosed mistakes</h2>
<p>Share of a notebook's submissions in which a test diagnosed the mistake.</p>
{img("mistakes", "how often each mistake was diagnosed")}
<ul>{"".join(f"<li>{e(r['notebook'])}: {e(r['description'])}: {r['percent']:g}% "
             f"({r['submissions']} of {r['of']})</li>" for r in mistakes)}</ul>
<h2>Flagged submissions (limits, forbidden calls, tampering, edited test cells, crashes,
errors)</h2>
<p>The warnings say why: an edited, deleted or copied test cell (its original test was run),
a file that was not graded.</p>
{table(flagged, FLAGGED_COLUMNS)}
<h2>Checks that raised an error</h2>
<p>Where in the trusted test code a check raised an error instead of failing (after a hidden
input, the students see only that it did). One place hit by many students is more likely a
fault of the test cell than of their code.</p>
{table(raised, ["assignment", "notebook", "test", "trace", "submissions", "students"])}
<h2>Unusually similar answers</h2>
{similar_html}
</body></html>
"""
    paths = {name: write_csv(out / f"{name}.csv", rows, columns)
             for name, (rows, columns) in tables.items()}
    (out / "report.html").write_text(page, encoding="utf-8")
    paths["html"] = out / "report.html"
    return paths
