"""Trusted grading of one notebook: match cells, run the student's cells in the sandbox, run the
instructor's test cells here, with the student's names reachable only through plain-data proxies.
"""

from __future__ import annotations

import builtins
import copy
import io
import re
import sys
import threading
import time
import traceback
from pathlib import Path

from convlib.checks import EXPLANATIONS, CheckFailed
from convlib.forbidden import first_forbidden
from convlib.from_scratch import default_probe_inputs, never_ran, not_implemented
from convlib.scan import scan_function, scan_tampering

from .results import CellResult
from .sandbox import SandboxDied, SandboxTimeout
from .sandboxed import channel
from .source_notebook import clean_cell, free_names, match_cells, nbgrader_meta, normalise
from .student_proxy import (
    SAFE_EXCEPTIONS,
    STUDENT_TEXT_KEEP,
    GraderAbort,
    StudentFunction,
    copy_back,
    rebuild_exception,
)

# ----------------------------------------------------------------------------- trusted stdout

class _ThreadStdout(io.TextIOBase):
    """sys.stdout that sends each grading thread's prints to that thread's buffer."""

    def __init__(self, fallback):
        self.fallback = fallback
        self.local = threading.local()

    def write(self, text):
        buf = getattr(self.local, "buf", None)
        if buf is None:
            return self.fallback.write(text)
        if buf.tell() < 100_000:
            buf.write(text)
        return len(text)

    def flush(self):
        if getattr(self.local, "buf", None) is None:
            self.fallback.flush()


_STDOUT_LOCK = threading.Lock()


def install_thread_stdout():
    with _STDOUT_LOCK:
        if not isinstance(sys.stdout, _ThreadStdout):
            sys.stdout = _ThreadStdout(sys.stdout)
        return sys.stdout


# ----------------------------------------------------------------------------- one notebook

MAX_RESTARTS = 2  # fresh student processes per notebook after a check timed out or crashed
RESTART_SECONDS = 15  # of the notebook's time limit left, at least, to start one


class NotebookGrader:
    """Grades one submission notebook against its trusted source notebook."""

    def __init__(self, session, source, student_sources, written_sources=()):
        self.session = session
        self.source = source
        self.student_sources = student_sources  # [(cell number, source)] run in the sandbox
        self.written_sources = written_sources  # the ones the student wrote or changed
        self.flags = set()
        self.case = None
        self.test = None  # the test cell running now
        self.called = {}  # grade_id -> names of the student functions its code called
        self.records = {}  # function name -> library convolutions run while it ran
        self.policies = {}  # from-scratch function name -> its policy (convlib.forbidden)
        self.hidden_seen = False  # a hidden input has reached the student's process
        self.ran = []  # sources of the student cells run so far, to run again after a restart
        self.given_up = {}  # function name -> (status, why it is not called again)
        self.restarts = 0
        self.cell_errors = []  # (source, its first line, "SyntaxError: ...") per failed cell
        self.past_flags = set()  # flags of the student processes replaced by restart()
        self.past_tamper = []  # and their audit events (Session.tamper)
        self.record_off = False  # a canary did not reach the record (check_record)
        self._static = {}  # function name -> static findings (the cells do not change)
        self._tampering = None

    # -- requests to the student process -------------------------------------------------

    def request(self, header, blobs=()):
        try:
            return self.session.request(header, blobs)
        except SandboxTimeout as err:
            raise GraderAbort("timeout", f"Your code did not finish in time ({err}). Look for "
                              "an infinite loop or a very slow computation.") from None
        except SandboxDied as err:
            raise GraderAbort("error", f"The grader could not reach your code: {err}. "
                              "Did your notebook call os._exit, kill its own process or "
                              "crash the interpreter?") from None

    def in_hidden_test(self):
        """Is the test code calling us now inside a hidden region? (read from our own stack)"""
        if self.test is None:
            return False
        filename = f"<test cell {self.test.grade_id}>"
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename == filename:
                return frame.f_lineno in self.test.hidden_lines
            frame = frame.f_back
        return False

    def restart(self):
        """After a check's call timed out or killed the student's process: a fresh process with
        the cells run so far run again, so that later checks are graded (a function that never
        returns costs its own checks, not the notebook's). The notebook's deadline stays.
        Returns False when there is no time left, after MAX_RESTARTS, or when it fails."""
        old = self.session
        old.records()
        old.close()
        self.past_flags |= old.flags
        self.past_tamper += old.tamper
        if self.restarts >= MAX_RESTARTS or old.deadline - time.monotonic() < RESTART_SECONDS:
            return False
        self.restarts += 1
        self.session = old.sandbox.session()
        self.session.deadline = old.deadline
        try:
            for source in self.ran:
                self.request({"op": "run", "source": source})
        except GraderAbort:
            return False
        return True

    def call(self, name, args, kwargs):
        if name in self.given_up:
            raise GraderAbort(*self.given_up[name])
        try:
            tree, blobs = channel.encode([tuple(args), dict(kwargs)])
        except channel.NotPlainData as err:
            raise TypeError(f"the grader cannot pass this argument to {name}: {err}") from None
        if self.in_hidden_test():
            self.hidden_seen = True
        if self.test is not None:
            self.called.setdefault(self.test.grade_id, set()).add(name)
        self.session.records()  # what ran before this call is not this function's doing
        try:
            reply, out = self.request({"op": "call", "name": name, "args": tree}, blobs)
        except GraderAbort as err:
            what = "did not finish in time" if err.status == "timeout" else "ended its process"
            self.given_up[name] = (err.status, f"{name} was not called again: in an earlier "
                                               f"check it {what}. {err.message}")
            raise
        finally:
            self.records.setdefault(name, []).extend(self.session.records())
        if not reply.get("ok"):
            if reply.get("unsendable"):
                kind = str(reply["unsendable"])[:100]
                raise CheckFailed(
                    f"{name} returned an object of type {kind!r}. Return plain data: a numpy "
                    "array, a torch tensor, a number, or a tuple/list of these.",
                    mistake="wrong_type", case=self.case)
            if reply.get("too_large"):
                size = int(reply["too_large"]) if isinstance(reply["too_large"], int) else 0
                raise CheckFailed(
                    f"{name} returned {size / 2**20:.0f} MB of data, more than the grader takes "
                    "from one call. Check the output's shape: it should be the size of the "
                    "output grid.", mistake="wrong_shape", case=self.case)
            raise rebuild_exception(reply.get("error") or ["Error", ""])
        try:
            result, after = channel.decode(reply["result"], out)
        except (channel.ChannelError, KeyError, TypeError, ValueError) as err:
            raise GraderAbort("error", f"The grader received malformed data: {err}") from None
        if isinstance(after, dict):
            for key, new in after.items():
                original = args[int(key)] if isinstance(key, str) and key.isdigit() and int(
                    key) < len(args) else kwargs.get(key)
                copy_back(original, new)
        return result

    def from_scratch(self, name, forbidden, args=None):
        """Trusted answer to convlib.checks.check_from_scratch (``args``: the test cell's own
        probe input, plain data, or None for the default probes). The verdict is settled again
        when the notebook is done (`verdicts`): every check of the function then scores 0."""
        self.policies[name] = forbidden
        self._probe(name, args)
        self.check_record()  # in this process: a restart later gives a fresh one
        reason = self.verdict(name)
        if reason:
            self.flags.add("forbidden_call")
            raise CheckFailed(f"{name} {reason}. " + EXPLANATIONS["forbidden_call"],
                              mistake="forbidden_call", case=f"from-scratch check of {name}")

    def verdict(self, name):
        """Why `name` is not from scratch, or None: static analysis of its code, ways around
        the record anywhere in the student's code, library convolutions seen while it ran."""
        policy = self.policies[name]
        if name not in self._static:
            self._static[name] = scan_function(self.student_sources, name, policy)
        if self._static[name]:
            return f"uses {self._static[name][0]}"
        if self._tampering is None:
            self._tampering = scan_tampering(self.written_sources)
        tampering = self._tampering
        if tampering:
            self.flags.add("tampered")
            return (f"cannot be checked: the notebook uses {tampering[0]}, which could switch "
                    "off the grader's record of library calls")
        if self.record_off:
            self.flags.add("tampered")
            return "cannot be checked: the grader's record of library calls was switched off"
        self.session.records()  # collects the audit events, whenever they came
        events = self.past_tamper + self.session.tamper
        if events:
            self.flags.add("tampered")
            return (f"cannot be checked: the notebook used {events[0]} while it ran, which "
                    "can rewrite the grader's record of library calls")
        used = first_forbidden(self.records.get(name, []), policy)
        if used:
            return f"called {used} while the grader ran it"
        return None

    def verdicts(self):
        """{function: reason} for every from-scratch function that is not, after a last check
        that the record still works (a canary convolution run in the student's process)."""
        if not self.policies:
            return {}
        self.check_record()
        out = {name: self.verdict(name) for name in self.policies}
        return {name: reason for name, reason in out.items() if reason}

    def check_record(self):
        """Run the canary convolutions in the student's process: if one does not reach the
        record, the record was switched off and no from-scratch answer can be checked."""
        if self.session.dead:
            return  # it died: no canary, no claim
        try:
            missing = self.session.unrecorded()
        except (SandboxDied, SandboxTimeout):
            missing = []
        if missing:
            self.record_off = True

    def _probe(self, name, args=None):
        """Run `name` once under the record; a function that never ran is not from scratch."""
        samples = [tuple(args)] if args is not None else default_probe_inputs()
        missing, error = 0, None
        for sample in samples:
            try:
                self.call(name, sample, {})
                return
            except NotImplementedError:
                missing += 1
            except Exception as err:  # noqa: BLE001  (not this kind of input: try the next)
                error = err
        raise not_implemented(name) if missing == len(samples) else never_ran(name, error)

    # -- cells -----------------------------------------------------------------------------

    def defining_cell_error(self, err):
        """(first line, error) of the failed student cell that defines the missing name, or
        None (then the failed cells are not the reason)."""
        name = getattr(err, "name", None)
        if not name:
            return None
        defines = re.compile(rf"^\s*(?:(?:async\s+)?def|class)\s+{re.escape(name)}\b|"
                             rf"^\s*{re.escape(name)}\s*(?::[^=]*)?=(?!=)", re.MULTILINE)
        return next(((first, error) for source, first, error in self.cell_errors
                     if defines.search(source)), None)

    def note_cell_error(self, source, reply):
        """Remember a student cell's error, to explain a name it should have defined. Only its
        type once a hidden input has reached the process (the message could carry it), and a
        type the student made up is not named."""
        error = reply.get("error")
        if not error:
            return
        name = str(error[0])[:100]
        name = name if name in SAFE_EXCEPTIONS else "an error"
        lines = [line.strip() for line in source.splitlines() if line.strip()]
        first_line = (lines[0] if lines else "")[:60]
        if self.hidden_seen or name == "an error":
            self.cell_errors.append((source, first_line, name))
        else:
            text = re.sub(r"\(<ipython-input-[^>]*>, (line \d+)\)", r"(\1 of that cell)",
                          str(error[1])[:200])
            self.cell_errors.append((source, first_line, f"{name}: {text}"))

    def run_student_cell(self, source):
        reply, _ = self.request({"op": "run", "source": source})
        self.ran.append(source)
        return reply

    def run_test(self, test, stdout):
        """Run one trusted test cell; return its result entry and printed output."""
        entry = CellResult(test.grade_id, test.points)
        buf = io.StringIO()
        stdout.local.buf = buf
        self.test = test
        try:
            self._exec_test(test)
            entry.update(points=test.points, status="passed", message="passed")
        except GraderAbort as err:
            entry.update(status=err.status, message=err.message)
        except Exception as err:  # noqa: BLE001  (every failure of a check is reported)
            entry.update(**failure_entry(err))
            cause = self.defining_cell_error(err) if isinstance(err, NameError) else None
            if cause:
                first_line, error = cause
                entry.message = (f"{entry.message} Your cell that starts `{first_line}` raised "
                                 f"{error}, so what it defines does not exist: fix that cell "
                                 "first.")
            if entry.mistake == "raised_error":
                entry.trace = trusted_trace(err)
            hidden = _raised_in(err, test)
            if hidden or self.hidden_seen:
                entry.message = withheld_message(entry, hidden)
        finally:
            stdout.local.buf = None
            self.test = None
        entry.message = entry.message[:2000]
        return entry, buf.getvalue()

    def _exec_test(self, test):
        names = free_names(test.source)
        ns = {"__name__": "__main__", "__builtins__": builtins}
        if names:
            reply, blobs = self.request({"op": "describe", "names": names})
            try:
                values = channel.decode(reply.get("values"), blobs)
                kinds = reply["kinds"]
            except (channel.ChannelError, KeyError, TypeError, ValueError) as err:
                raise GraderAbort("error", f"The grader received malformed data: {err}") from None
            for name in names:
                kind, extra = (list(kinds.get(name) or ["missing", None]) + [None])[:2]
                if kind == "callable":
                    ns[name] = StudentFunction(self, name)
                elif kind == "value" and isinstance(extra, int) and 0 <= extra < len(values):
                    ns[name] = values[extra]
                elif kind == "other":
                    raise CheckFailed(
                        f"`{name}` is {str(extra)[:100]!r}, which the grader cannot read. Graded "
                        "answers must be numbers, strings, numpy arrays, torch tensors, or "
                        "tuples/lists/dicts of these.", mistake="wrong_type", case=name)
        code = compile(test.source, f"<test cell {test.grade_id}>", "exec")
        exec(code, ns)  # the instructor's trusted test code, in the trusted process


def failure_entry(err):
    """status, mistake, case and message for an exception raised by a test cell."""
    if isinstance(err, CheckFailed):
        mistake = getattr(err, "mistake", None)
        return {"status": "forbidden" if mistake == "forbidden_call" else "failed",
                "mistake": mistake, "case": getattr(err, "case", None), "message": str(err)}
    if isinstance(err, NameError):
        return {"mistake": "not_implemented", "message": (
            f"{err}. Define it in your notebook (keep the name from the exercise) and make "
            "sure the cell that defines it runs without an error.")}
    if isinstance(err, NotImplementedError):
        return {"mistake": "not_implemented", "message": (
            "Not implemented yet: replace `raise NotImplementedError()` with your code.")}
    text = str(err)[:STUDENT_TEXT_KEEP]
    return {"mistake": "raised_error", "message": (
        f"{type(err).__name__}: {text}" if text else
        f"a check in this cell failed ({type(err).__name__})")}


def trusted_trace(err):
    """Where an exception raised in a check came from, for the instructor: its type and the frames
    of trusted code it passed through, innermost first ("<-": called from), then the same for the
    exception it was raised from, if any. The types are trusted (a student's own exception
    arrives as a builtin one or StudentError, student_proxy.rebuild_exception) and no message,
    source line or value is kept, so nothing the hidden inputs made can be in it."""
    parts, seen = [], set()
    while err is not None and id(err) not in seen and len(parts) < 3:
        seen.add(id(err))
        frames = traceback.extract_tb(err.__traceback__)[-6:]
        where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} in {f.name}"
                            for f in reversed(frames))
        parts.append(f"{type(err).__name__} at {where}" if where else type(err).__name__)
        err = err.__cause__ or err.__context__
    return "; raised from ".join(parts)


def _raised_in(err, test):
    """Did `err` leave the test cell from a line inside a hidden region?"""
    line, tb = None, err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == f"<test cell {test.grade_id}>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line in test.hidden_lines


def withheld_message(entry, hidden):
    """A failure message with nothing in it the student's code or the hidden inputs made:
    which case, and what the mistake usually is."""
    case = entry.case or ("a hidden test" if hidden else "this check")
    mistake = entry.mistake
    what = "Your code raised an error" if mistake in (None, "raised_error") else "Failed"
    why = ("the details would show the hidden inputs" if hidden else
           "this check ran after hidden tests, so the details could carry hidden inputs")
    return (f"{what} on {case}. {EXPLANATIONS.get(mistake) or ''} "
            f"(Details are not shown: {why}.)").replace("  ", " ")


def grade_cells(session, source, nb, stdout):
    """Run one submission notebook `nb` (validated nbformat v4) against `source`.

    Returns ([CellResult], flags, warnings, autograded notebook).
    """
    steps, warnings = match_cells(source, nb)
    student_sources = [(i + 1, nb.cells[i].source) for kind, i, _ in steps if kind == "run"]
    given = {normalise(c.source) for c in source.nb.cells if c.cell_type == "code"
             and not nbgrader_meta(c).get("solution")}
    written = [(n, text) for n, text in student_sources if normalise(text) not in given]
    grader = NotebookGrader(session, source, student_sources, written)
    try:
        return _grade_steps(grader, session, source, nb, steps, warnings, stdout)
    except BaseException:
        if grader.session is not session:  # a restart's process: ours to end
            grader.session.close()
        raise


def _grade_steps(grader, session, source, nb, steps, warnings, stdout):
    """grade_cells' walk over the matched cells (its return value)."""
    results, out_cells = {}, []
    stopped = None
    for kind, index, test in steps:
        if kind == "run":
            cell = clean_cell(nb.cells[index], source)
            if stopped is None:
                try:
                    reply = grader.run_student_cell(cell.source)
                    grader.note_cell_error(cell.source, reply)
                    # after a hidden input has reached the student's process, what the cell
                    # shows could be that input: the graded notebook (which nbgrader's feedback
                    # and formgrader show) keeps only whether it ran
                    cell.outputs = _withheld(reply) if grader.hidden_seen else _outputs(reply)
                except GraderAbort as err:
                    stopped = err
                    cell.outputs = [_error_output("GraderStopped", err.message)]
            out_cells.append(cell)
        elif kind == "keep":
            out_cells.append(clean_cell(nb.cells[index], source))
        else:
            if stopped is not None:
                entry = CellResult(test.grade_id, test.points, status=stopped.status,
                                   message=stopped.message)
                printed = ""
            else:
                grader.case = None
                entry, printed = grader.run_test(test, stdout)
                if entry.status in ("timeout", "error") and grader.session.dead and \
                        not grader.restart():
                    stopped = GraderAbort(entry.status, entry.message)
            results[test.grade_id] = entry
            out_cells.append((test, printed))
    # A from-scratch exercise that a library convolution answered scores 0 in every check.
    verdicts = grader.verdicts()
    for gid, entry in results.items():
        names = sorted(grader.called.get(gid, set()) & set(verdicts))
        if names:
            entry.update(points=0.0, status="forbidden", mistake="forbidden_call",
                         case=f"from-scratch check of {names[0]}", message=(
                             f"Scored 0: {names[0]} {verdicts[names[0]]}. In a from-scratch "
                             "exercise no library function may compute the answer (a library "
                             "convolution, or whatever else the exercise forbids), so every "
                             f"check of {names[0]} scores 0.")[:2000])
    if verdicts:
        grader.flags.add("forbidden_call")
    out_cells = [_test_cell(c[0], results[c[0].grade_id], c[1]) if isinstance(c, tuple) else c
                 for c in out_cells]
    flags = set(grader.flags) | set(session.flags) | grader.past_flags
    if grader.session is not session:  # a restart's process: ours to end (the caller's is not)
        grader.session.close()
        flags |= grader.session.flags
    if warnings:  # the original tests were run; not "tampered", which costs the exercise
        flags.add("edited_tests")
    autograded = copy.deepcopy(nb)
    autograded.cells = out_cells
    ordered = [results[gid] for gid in source.tests]
    ordered += [CellResult.manual(gid, points) for gid, points in source.manual.items()]
    return ordered, flags, warnings, autograded


def _error_output(ename, evalue):
    from nbformat.v4 import new_output
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _outputs(reply):
    from nbformat.v4 import new_output
    outputs = []
    for name in ("stdout", "stderr"):
        text = reply.get(name)
        if isinstance(text, str) and text:
            outputs.append(new_output("stream", name=name, text=text))
    error = reply.get("error")
    if error:
        outputs.append(_error_output(str(error[0])[:100], str(error[1])[:2000]))
    return outputs


def _withheld(reply):
    from nbformat.v4 import new_output
    note = ("(Output not kept: this cell ran after hidden tests had called your code, so it "
            "could show their inputs.)")
    if reply.get("error"):
        return [_error_output("Error", f"This cell raised an error. {note}")]
    return [new_output("stream", name="stdout", text=note + "\n")]


def _test_cell(test, entry, printed):
    from nbformat.v4 import new_code_cell, new_output
    cell = new_code_cell(test.released)
    cell.metadata["nbgrader"] = copy.deepcopy(test.metadata)
    outputs = []
    if printed:
        outputs.append(new_output("stream", name="stdout", text=printed[:20_000]))
    if entry.status != "passed":
        ename = {"failed": "CheckFailed", "forbidden": "CheckFailed", "timeout": "Timeout"}.get(
            entry.status, "GradingError")
        outputs.append(_error_output(ename, entry.message))
    cell.outputs = outputs
    return cell


def now():
    return time.monotonic()
