"""Grading a class across machines: shards that write only results, and one merge into the
gradebook.

    python -m autograder grade A --course DIR --shard K/N     # on N machines, K = 0 .. N-1
    python -m autograder merge A --course DIR                 # once, where the gradebook is

A student belongs to shard ``sha256(student id) mod N``: the same shard on every machine and
in every run, and adding students never moves one that was already placed. A shard grades its
students exactly as `grade` does (same sandbox, same results files and autograded notebooks)
but never opens the gradebook, which is SQLite and takes one writer; when every one of its
notebooks is graded it writes DIR/shards/<A>/<K>-of-<N>.json, the list of what it graded. A
shard that was killed writes no list; run it again alone (what it finished is not graded twice).

`merge` records every shard's results into the gradebook after checking that nothing is
missing, duplicated or stale: every shard 0 .. N-1 has its list, all lists have the same N, no
student is in two lists, every list was made by this grader version from the current source
notebooks, and each results file still matches the submission it was made from.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from .course import WorkflowError

SHARD = re.compile(r"^(\d+)/(\d+)$")


def parse_shard(text: str) -> tuple[int, int]:
    """"K/N" -> (K, N), with 0 <= K < N."""
    match = SHARD.match(text or "")
    if not match or not int(match.group(1)) < int(match.group(2)):
        raise ValueError(f"--shard must be K/N with 0 <= K < N (e.g. 0/3, 1/3, 2/3), got "
                         f"{text!r}")
    return int(match.group(1)), int(match.group(2))


def shard_of(student: str, count: int) -> int:
    """The shard (0 .. count-1) a student belongs to: a hash of the id, not its position."""
    return int(hashlib.sha256(student.encode()).hexdigest(), 16) % count


def source_digest(sources: dict) -> str:
    """One hash of an assignment's source notebooks (name and bytes of each)."""
    h = hashlib.sha256()
    for name in sorted(sources):
        h.update(name.encode() + b"\0" + hashlib.sha256(sources[name][1]).digest())
    return h.hexdigest()


def manifest_path(course: Path, assignment: str, shard: tuple[int, int]) -> Path:
    return Path(course) / "shards" / assignment / f"{shard[0]}-of-{shard[1]}.json"


def write_manifest(course, assignment, shard, sources, jobs, limits, grader_version):
    """DIR/shards/<A>/<K>-of-<N>.json: what this shard graded (student -> notebook ->
    fingerprint), from which sources, by which grader, under which limits."""
    from .grade import _write_atomic
    students: dict[str, dict[str, str]] = {}
    for job in jobs:
        students.setdefault(job["student"], {})[job["notebook"]] = job["fingerprint"]
    data = {"assignment": assignment, "shard": shard[0], "of": shard[1],
            "grader_version": grader_version, "source": source_digest(sources),
            "limits": vars(limits), "students": students}
    path = manifest_path(course, assignment, shard)
    _write_atomic(path, json.dumps(data, indent=1, sort_keys=True).encode())
    return path


def read_manifests(course, assignment) -> list[dict]:
    folder = Path(course) / "shards" / assignment
    manifests = []
    for path in sorted(folder.glob("*-of-*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise MergeError(f"{path} cannot be read ({err}); run that shard again") from None
        if not isinstance(data, dict) or path.name != f"{data.get('shard')}-of-" \
                f"{data.get('of')}.json":
            raise MergeError(f"{path} does not match its name (it lists shard "
                             f"{data.get('shard')} of {data.get('of')}); delete it and run "
                             "that shard again")
        data["path"] = path
        manifests.append(data)
    return manifests


class MergeError(WorkflowError):
    """The shards' results cannot be merged as they are; the message says what to run."""


def check_manifests(manifests, assignment, sources, grader_version):
    """Raise MergeError unless the lists form one complete, current set of shards."""
    if not manifests:
        raise MergeError(f"no shard results for {assignment}: run `grade {assignment} --shard "
                         f"K/N` first (or grade without --shard)")
    counts = sorted({m["of"] for m in manifests})
    if len(counts) > 1:
        raise MergeError(f"shards of {' and of '.join(map(str, counts))} were found for "
                         f"{assignment}: one run uses one N; delete the lists of the other "
                         f"run from shards/{assignment}/ and grade its students again")
    count = counts[0]
    missing = sorted(set(range(count)) - {m["shard"] for m in manifests})
    if missing:
        raise MergeError("missing shard(s) " + ", ".join(f"{k}/{count}" for k in missing)
                         + f": run `grade {assignment} --shard K/{count}` for each (a killed "
                         "shard writes no list), then merge again")
    owner: dict[str, int] = {}
    for m in manifests:
        if m.get("grader_version") != grader_version:
            raise MergeError(f"shard {m['shard']}/{count} was graded by grader version "
                             f"{m.get('grader_version')!r}, this is {grader_version!r}: grade it "
                             "again")
        if m.get("source") != source_digest(sources):
            raise MergeError(f"shard {m['shard']}/{count} was graded from other source "
                             f"notebooks than source/{assignment} holds now: grade it again")
        for student in m["students"]:
            if student in owner:
                raise MergeError(f"{student} is in shard {owner[student]}/{count} and in shard "
                                 f"{m['shard']}/{count}: a student's results must come from "
                                 "one shard; grade the two shards again")
            owner[student] = m["shard"]
    return owner


def merge(course, assignment, *, source_dir=None, db_url=None) -> list[dict]:
    """Record every shard's results of ``assignment`` into the gradebook; return them.

    Raises MergeError (and records nothing) when a shard is missing, a student is in two
    shards or in none, or a result is stale (another source notebook, grader version or
    submission than the one it was made from).
    """
    from .grade import course_gradebook
    from .grade_jobs import (
        GRADER_VERSION,
        find_jobs,
        hidden_secret,
        load_sources,
        source_folder,
        split_finished,
    )
    from .gradebook import save_to_gradebook
    from .sandbox import Limits
    course = Path(course).resolve()
    sources = load_sources(source_folder(course, assignment, source_dir))
    manifests = read_manifests(course, assignment)
    owner = check_manifests(manifests, assignment, sources, GRADER_VERSION)
    count = manifests[0]["of"]
    jobs = find_jobs(course, assignment, sources)
    unlisted = sorted({j["student"] for j in jobs} - set(owner))
    if unlisted:
        shards = sorted({shard_of(s, count) for s in unlisted})
        raise MergeError(f"{len(unlisted)} submitted student(s) are in no shard's list "
                         f"({', '.join(unlisted[:10])}): they were collected after the shards "
                         f"ran; run `grade {assignment} --shard K/{count}` for K in "
                         f"{', '.join(map(str, shards))}, then merge again")
    secret = hidden_secret(course)
    finished, stale = [], []
    for m in manifests:
        group = [j for j in jobs if owner[j["student"]] == m["shard"]]
        done, pending = split_finished(group, course, assignment, secret, Limits(**m["limits"]),
                                       force=False)
        listed = m["students"]
        stale += [f"{j['student']}/{j['notebook']} (shard {m['shard']}/{count})"
                  for j in pending]
        stale += [f"{j['student']}/{j['notebook']} (shard {m['shard']}/{count})"
                  for j, _, _ in done if listed.get(j["student"], {}).get(j["notebook"])
                  != j["fingerprint"]]
        finished += done
    if stale:
        raise MergeError(f"{len(stale)} result(s) do not match the submission, source and "
                         f"grader they were listed with: {', '.join(stale[:10])}; run those "
                         "shards again (the submission changed, or their files were lost)")
    gb = course_gradebook(course, assignment, sources, db_url)
    try:
        for job, result, autograded in finished:
            save_to_gradebook(gb, result, job["source"], autograded, job["timestamp"])
    finally:
        gb.close()
    order = {(j["student"], j["notebook"]): i for i, j in enumerate(jobs)}
    results = [result for _, result, _ in finished]
    results.sort(key=lambda r: order.get((r["student"], r["notebook"]), 0))
    return results
