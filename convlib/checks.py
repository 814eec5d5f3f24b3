"""The self-check and diagnosis engine behind every graded test cell.

A graded test cell calls the student's function on a few inputs and compares the result with a
reference. When they differ, it does not stop at "wrong": it computes, from the same inputs, what
the usual mistakes would have produced (kernel flipped, output transposed, image padded, mean
instead of sum, integers, last row never filled...) and names the one that matches.

API reference
-------------
``CheckFailed(message, *, mistake="wrong_values", case=None)``
    (defined in ``convlib.mistakes``, re-exported here) Subclass of ``AssertionError`` raised by
    every check. ``.mistake`` is a code of ``convlib.mistakes.MISTAKES``,
    ``.case`` says which input (``"hidden image 12x10, 3x3 kernel"``), ``str(err)`` is the message
    shown to the student: expected vs. got, on which input, and the likely mistake. In IPython a
    failed check shows that message and no traceback through the checks (its
    ``_render_traceback_``); for ``raised_error`` the student's own exception is its
    ``__cause__``, and the lines of the student's code it passed through are shown too.

``check_function(fn, cases, reference, *, name, mistakes=None, returns=None, atol=1e-5,
rtol=1e-5, allow_dtypes=None, shape_mistake=None)``
    ``cases`` is a list of ``(case_label, args_tuple)``; the label completes the sentence
    "``name`` on ...", e.g. ``"the 5x7 image with an asymmetric 3x2 kernel"``. For each case the
    arguments are copied, ``fn(*args)`` is called, and in this order the check looks for:
    ``not_implemented`` / ``raised_error`` (the call raised), ``input_modified`` (an argument
    changed in place), ``wrong_type`` (``returns``: ``"numpy"``, ``"torch"`` or ``"number"``;
    by default the kind of ``reference(*args)``), a wrong shape, a non-floating dtype
    (``integer_truncation``; ``allow_dtypes`` e.g. ``("float32", "float64")``, by default any
    float32/float64), then the values (``|got - expected| <= atol + rtol * max|expected|``;
    NaN matches NaN). On a mismatch, each candidate mistake is computed from the same inputs and
    the first one that ``got`` equals names the mistake. ``mistakes`` maps a code to a function
    ``(*args) -> what that mistake produces`` (an array or, for ``returns="number"``, a
    number; or a list of alternatives), or
    to ``(function, explanation)`` for an explanation of this exercise's own (``(None,
    explanation)``: no candidate, only the explanation, e.g. of a generic code). Generic
    candidates are always tried after yours: ``transposed``, ``integer_truncation``,
    ``output_too_small`` (last row/column left at zero). An output of the wrong shape that no
    candidate equals is named by the first candidate of that same shape (the shape alone is
    evidence: a stride-1 shape where a stride was asked for), then by ``shape_mistake(expected
    shape, got shape)`` if given and not None, then from the shapes alone: ``output_too_small``,
    ``output_too_large``, ``transposed``, ``wrong_shape``.
    A candidate equal to the right answer on that input is skipped (it cannot be told apart), so
    use inputs that separate the mistakes: non-square images, asymmetric kernels, non-integer
    values. Returns ``None``; raises ``CheckFailed`` on the first failing case.

``check_value(got, expected, *, case, name, mistakes=None, atol=1e-9, rtol=1e-9, reveal=False)``
    For answer variables: numbers (int answers accept an equal float), strings (compared
    case-insensitively, stripped), tuples/lists (element by element), arrays. ``mistakes`` maps a
    code to a known wrong value (None: the mistake does not apply to this case) or to
    ``(wrong_value, explanation)``. ``reveal=False`` keeps the
    expected value out of the message so a visible self-check does not give the answer away.

``hidden_rng(label)``, ``hidden_generator(label)``, ``hidden_seed(label)``;
``set_hidden_secret(secret)``
    Where hidden tests get every random input (never from a literal seed), so that inputs
    learned once are of no use in a resubmission. ``hidden_seed`` is the first 8 bytes of
    HMAC-SHA256(secret, label) as an int; ``hidden_rng`` is ``numpy.random.default_rng`` of it,
    ``hidden_generator`` a ``torch.Generator`` seeded with it. The label names the case:
    ``"<assignment>/<grade_id>/<case>"``, e.g. ``"02_conv2d/test_conv2d_hidden/12x10"``. The
    secret (bytes, one per course) is set with ``set_hidden_secret`` by the trusted grader only,
    in its own process, and never reaches student code; with no secret (``None``, the default:
    the instructor's kernel, ``nbgrader validate``) the key is empty and the inputs depend on the
    label alone. Either way the same label gives the same inputs, so re-grading is reproducible.

``conv1d_mistakes()`` / ``conv2d_mistakes()``
    (from ``convlib.mistake_library``, where every exercise's mistakes are computed) The
    convolution mistake library for ``fn(x, k)`` / ``fn(image, kernel)`` (valid
    cross-correlation, stride 1): ``kernel_flipped``, ``padding_added`` ('same' and 'full' zero
    padding), ``mean_not_sum``, and for 2-D ``kernel_transposed``. Values are computed in float64
    numpy, independently of the rest of convlib.

``FORBIDDEN_CONV_CALLS``; ``check_from_scratch(fn, forbidden=FORBIDDEN_CONV_CALLS, *, args=None)``
    ``forbidden`` is a policy of ``convlib.forbidden`` (glob patterns over dotted names, ``!``
    to allow; ``FORBIDDEN_CONV_CALLS`` are the library convolutions, ``WINDOW_HELPERS`` the
    unfold-style helpers an im2col exercise forbids too). If ``type(fn)`` has
    ``__grader_from_scratch__`` (the trusted grader's proxy), the call returns
    ``fn.__grader_from_scratch__(list(forbidden), args)`` (the grader probes with the same
    ``args``). Otherwise, in the student's kernel (``convlib.from_scratch``): the notebook's cells
    are analysed (``convlib.scan.scan_function``), then ``fn`` runs on ``args`` (by default small
    random 2-D then 1-D, torch then numpy inputs, until one is accepted) with every forbidden
    library function hooked (``convlib.forbidden.install_hooks``) and unhooked afterwards.
    Raises ``CheckFailed`` with ``forbidden_call`` naming the call, ``not_implemented`` for a
    stub, or ``raised_error`` when ``fn`` ran on none of the inputs. On a pass, in the kernel
    and in the grader alike, it prints ``from_scratch.passed_message(name)`` ("<name> is your
    own work: ..."), so a test cell adds no message of its own.

Mistake codes: the vocabulary is ``convlib.mistakes.MISTAKES`` (each code with its title and its
explanation); the generic ones of this module are ``kernel_flipped``, ``kernel_transposed``,
``transposed``, ``output_too_small``, ``output_too_large``, ``integer_truncation``,
``input_modified``, ``padding_added``, ``mean_not_sum``, ``wrong_shape``, ``wrong_values``,
``wrong_type``, ``forbidden_call``, ``not_implemented``, ``raised_error``.

Exceptions that are not ``Exception`` subclasses (``KeyboardInterrupt``, ``SystemExit``, a
grader's own signals) pass through the checks unchanged.
"""

import sys

import numpy as np

from .forbidden import FORBIDDEN_CONV_CALLS
from .from_scratch import check_from_scratch
from .hidden import hidden_generator, hidden_rng, hidden_seed, set_hidden_secret
from .mistake_library import conv1d_mistakes, conv2d_mistakes
from .mistakes import EXPLANATIONS, CheckFailed
from .validate import copy_input

__all__ = [
    "CheckFailed",
    "check_function",
    "check_value",
    "hidden_seed",
    "hidden_rng",
    "hidden_generator",
    "set_hidden_secret",
    "conv1d_mistakes",
    "conv2d_mistakes",
    "FORBIDDEN_CONV_CALLS",
    "check_from_scratch",
    "EXPLANATIONS",
]

# The mistake vocabulary lives in convlib.mistakes; EXPLANATIONS is kept here for the
# notebooks and the grader that import it from convlib.checks.


# ----------------------------------------------------------------------------- plain data

def _kind(x):
    if isinstance(x, np.ndarray):
        return "numpy"
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        return "torch"
    if isinstance(x, bool):
        return "bool"
    if isinstance(x, (int, float, np.integer, np.floating)):
        return "number"
    if isinstance(x, str):
        return "string"
    if isinstance(x, (tuple, list)):
        return "sequence"
    if x is None:
        return "None"
    return type(x).__name__


_KIND_WORDS = {
    "numpy": "a numpy array",
    "torch": "a torch tensor",
    "number": "a number",
    "sequence": "a tuple",
    "string": "a string",
    "None": "None",
    "bool": "a bool",
}


def _as_numpy(x):
    """Plain float64/int numpy view of an array-like (torch tensors detached, on the CPU)."""
    if _kind(x) == "torch":
        x = x.detach().cpu()
        if x.dtype.is_floating_point and x.dtype not in (_torch().float32, _torch().float64):
            x = x.float()
        return x.numpy()
    return np.asarray(x)


def _torch():
    import torch

    return torch


def _same(a, b):
    """Exact equality of two arguments (NaN equals NaN), used to detect in-place changes."""
    ka, kb = _kind(a), _kind(b)
    if ka in ("numpy", "torch") or kb in ("numpy", "torch"):
        if ka != kb:
            return False
        a, b = _as_numpy(a), _as_numpy(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.kind in "fc":
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(np.array_equal(a, b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001  (a student's object may raise anything on ==)
        return False


def _dtype_name(x):
    if _kind(x) == "torch":
        return str(x.dtype).replace("torch.", "")
    return str(np.asarray(x).dtype)


def _is_float_dtype(x):
    if _kind(x) == "torch":
        return x.dtype.is_floating_point
    return np.asarray(x).dtype.kind == "f"


def _fmt_num(v):
    v = float(v)
    if np.isnan(v) or np.isinf(v):
        return str(v)
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.4g}"


def _fmt_index(idx):
    return "(" + ", ".join(str(int(i)) for i in idx) + ")" if len(idx) != 1 else f"[{idx[0]}]"


def _fmt_row(a, limit=4):
    a = np.asarray(a, dtype=float).ravel()
    body = ", ".join(_fmt_num(v) for v in a[:limit])
    return "[" + body + (", ..." if a.size > limit else "") + "]"


def _shape_text(shape):
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _close(got, expected, atol, rtol):
    """Elementwise tolerance scaled by the largest expected magnitude; NaN matches NaN."""
    got = np.asarray(got, dtype=float)
    expected = np.asarray(expected, dtype=float)
    if got.shape != expected.shape:
        return False
    finite = np.isfinite(expected)
    scale = float(np.max(np.abs(expected[finite]), initial=0.0))
    tol = atol + rtol * max(1.0, scale)
    same_special = (np.isnan(got) & np.isnan(expected)) | (
        np.isinf(got) & np.isinf(expected) & (np.sign(got) == np.sign(expected)))
    with np.errstate(invalid="ignore"):
        ok = same_special | (np.abs(got - expected) <= tol)
    return bool(np.all(ok))


def _call_candidate(fn, args):
    """What a mistake produces on these inputs: a list of float arrays (alternatives)."""
    try:
        out = fn(*[copy_input(a) for a in args])
    except Exception:  # noqa: BLE001  (a mistake that fails on these inputs explains nothing)
        return []
    outs = out if isinstance(out, list) else [out]
    arrays = []
    for item in outs:
        try:
            if item is not None:
                arrays.append(np.asarray(_as_numpy(item), dtype=float))
        except Exception:  # noqa: BLE001  (not an array: not a candidate)
            pass
    return arrays


def _generic_candidates(expected):
    """Wrong answers every array exercise can produce, computed from the right answer."""
    out = {}
    if expected.ndim == 2:
        out["transposed"] = expected.T
    out["integer_truncation"] = [np.trunc(expected), np.floor(expected)]
    if expected.ndim >= 1 and expected.size:
        unfilled = []
        for axes in ([0], [1], [0, 1]) if expected.ndim == 2 else ([0],):
            e = expected.copy()
            for ax in axes:
                index = [slice(None)] * e.ndim
                index[ax] = -1
                e[tuple(index)] = 0.0
            unfilled.append(e)
        out["output_too_small"] = unfilled
    return out


def _explain(code, custom):
    if code in custom:
        return custom[code]
    return EXPLANATIONS.get(code, "")


# ----------------------------------------------------------------------------- check_function

def check_function(fn, cases, reference, *, name, mistakes=None, returns=None, atol=1e-5,
                   rtol=1e-5, allow_dtypes=None, shape_mistake=None):
    """Call ``fn`` on every case and compare with ``reference``; raise ``CheckFailed`` with the
    likely mistake on the first difference. See the module docstring."""
    mistakes = dict(mistakes or {})
    candidates, custom = {}, {}
    for code, value in mistakes.items():
        if isinstance(value, tuple):
            candidates[code], custom[code] = value
        else:
            candidates[code] = value
    for label, args in cases:
        _check_case(fn, tuple(args), reference, name, label, candidates, custom, returns, atol,
                    rtol, allow_dtypes, shape_mistake)


def _check_case(fn, args, reference, name, label, candidates, custom, returns, atol, rtol,
                allow_dtypes, shape_mistake):
    where = f"{name} on {label}"

    def fail(code, text, cause=None):
        explanation = _explain(code, custom)
        message = f"{where}: {text}"
        if explanation:
            message += " " + explanation
        # the message says it all: no chained traceback through the check, except the
        # student's own error when their code raised one
        raise CheckFailed(message, mistake=code, case=label) from cause

    expected_raw = reference(*[copy_input(a) for a in args])
    call_args = [copy_input(a) for a in args]
    try:
        got = fn(*call_args)
    except NotImplementedError:
        fail("not_implemented", f"{name} is not implemented yet.")
    except CheckFailed:
        raise
    except Exception as err:  # noqa: BLE001  (the student's code raised: say what, not a traceback)
        fail("raised_error", f"calling {name} raised {type(err).__name__}: {err}", cause=err)

    for position, (before, after) in enumerate(zip(args, call_args, strict=True)):
        if not _same(before, after):
            fail("input_modified", f"argument {position + 1} was modified in place.")

    want = returns or _kind(expected_raw)
    got = _check_kind(fail, name, got, want)
    if want == "number":
        if not _close(float(got), float(expected_raw), atol, rtol):
            found = next((code for code, f in candidates.items() if f is not None
                          and any(c.ndim == 0 and _close(float(got), float(c), atol, rtol)
                                 for c in _call_candidate(f, args))), "wrong_values")
            fail(found, f"expected {_fmt_num(expected_raw)}, got {_fmt_num(got)}.")
        return

    expected = np.asarray(_as_numpy(expected_raw), dtype=float)
    got_np = _as_numpy(got)
    if got_np.dtype.kind in "cOSU" or got_np.dtype == bool:
        fail("wrong_type", f"the output has dtype {_dtype_name(got)}; it must hold real floats.")
    if got_np.shape != expected.shape:
        _diagnose(fail, args, candidates, expected, got_np.astype(float),
                  shape_mistake=shape_mistake)
    if not _is_float_dtype(got):
        fail("integer_truncation", f"expected a floating-point output, got dtype "
             f"{_dtype_name(got)}.")
    allowed = ("float32", "float64") if allow_dtypes is None else tuple(allow_dtypes)
    if _dtype_name(got) not in allowed:
        fail("wrong_type", f"expected dtype {' or '.join(allowed)}, got {_dtype_name(got)}.")
    got_f = got_np.astype(float)
    if not _close(got_f, expected, atol, rtol):
        _diagnose(fail, args, candidates, expected, got_f, atol=atol, rtol=rtol)


def _check_kind(fail, name, got, want):
    """Fail unless ``got`` is the kind of value asked for; a 0-d array counts as a number."""
    have = _kind(got)
    if have == "None":
        fail("wrong_type", f"{name} returned None. Did you forget `return`?")
    if want == "number" and have in ("numpy", "torch") and np.ndim(_as_numpy(got)) == 0:
        got, have = _as_numpy(got).item(), "number"
    if want in ("numpy", "torch", "number") and have != want:
        hint = {"numpy": "Return a numpy array (np.asarray(...)).",
                "torch": "Return a torch tensor (torch.zeros(...) then fill it, or "
                         "torch.as_tensor(...)).",
                "number": "Return a plain number."}[want]
        fail("wrong_type", f"expected {_KIND_WORDS.get(want, want)}, got "
             f"{_KIND_WORDS.get(have, have)}. {hint}")
    return got


def _diagnose(fail, args, candidates, expected, got, *, atol=1e-5, rtol=1e-5,
              shape_mistake=None):
    """Name the mistake whose answer on the same inputs equals ``got``, then fail."""
    loose = max(atol, 1e-6), max(rtol, 1e-6)

    def matches(candidate):
        return (candidate is not None and candidate.shape == got.shape
                and not (candidate.shape == expected.shape and _close(candidate, expected, *loose))
                and _close(got, candidate, *loose))

    options = [(code, _call_candidate(f, args)) for code, f in candidates.items()
               if f is not None]
    options += [(code, v if isinstance(v, list) else [v])
                for code, v in _generic_candidates(expected).items()]
    found = next((code for code, produced in options
                  if any(matches(candidate) for candidate in produced)), None)

    if got.shape != expected.shape:
        text = f"expected shape {_shape_text(expected.shape)}, got {_shape_text(got.shape)}."
        if found is None:  # no value matches: a candidate of the same shape, then the shapes
            found = next((code for code, produced in options
                          if any(c.shape == got.shape for c in produced)), None)
        if found is None and shape_mistake is not None:
            found = shape_mistake(expected.shape, got.shape)
        if found is None:
            found = _shape_mistake(expected.shape, got.shape)
        fail(found, text)
    if expected.ndim == 0:
        fail(found or "wrong_values", f"expected {_fmt_num(expected)}, got {_fmt_num(got)}.")
    diff = np.abs(got - expected)
    diff = np.where(np.isnan(diff), np.inf, diff)
    where = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
    worst = diff[where] if diff.ndim else diff
    text = (f"expected shape {_shape_text(expected.shape)}, got {_shape_text(got.shape)}; "
            f"values differ (max error {_fmt_num(worst)}"
            + (f" at {_fmt_index(where)}" if diff.ndim else "") + ").")
    if diff.ndim:
        row = expected[where[:-1]] if expected.ndim > 1 else expected
        got_row = got[where[:-1]] if got.ndim > 1 else got
        label = f"row {int(where[0])}" if expected.ndim == 2 else "values"
        text += f" {label.capitalize()}: expected {_fmt_row(row)}, got {_fmt_row(got_row)}."
    fail(found or "wrong_values", text)


def _shape_mistake(expected_shape, got_shape):
    if len(expected_shape) == len(got_shape):
        if tuple(reversed(expected_shape)) == tuple(got_shape):
            return "transposed"
        pairs = list(zip(got_shape, expected_shape, strict=True))
        if all(g <= e for g, e in pairs):
            return "output_too_small"
        if all(g >= e for g, e in pairs):
            return "output_too_large"
    return "wrong_shape"


# ----------------------------------------------------------------------------- check_value

def check_value(got, expected, *, case, name, mistakes=None, atol=1e-9, rtol=1e-9, reveal=False):
    """Compare an answer variable with the expected plain value (see the module docstring)."""
    where = f"{name} for {case}"
    if got is None or got is Ellipsis:
        raise CheckFailed(f"{where}: no answer yet. Set `{name} = ...` to your answer.",
                          mistake="not_implemented", case=case)
    if _value_equal(got, expected, atol, rtol):
        return
    shown = _show(got)
    for code, value in (mistakes or {}).items():
        value, explanation = value if isinstance(value, tuple) and len(value) == 2 and isinstance(
            value[1], str) else (value, EXPLANATIONS.get(code, ""))
        if value is not None and _value_equal(got, value, atol, rtol):  # None: does not apply
            text = f"{where}: got {shown}."
            if reveal:
                text = f"{where}: expected {_show(expected)}, got {shown}."
            raise CheckFailed(f"{text} {explanation}".strip(), mistake=code, case=case)
    if _kind(expected) != _kind(got) and not (
            _kind(expected) == "number" and _kind(got) in ("number", "numpy", "torch")
            and np.ndim(_as_numpy(got)) == 0):
        raise CheckFailed(f"{where}: expected {_KIND_WORDS.get(_kind(expected), 'a value')}, "
                          f"got {_KIND_WORDS.get(_kind(got), type(got).__name__)} ({shown}).",
                          mistake="wrong_type", case=case)
    text = f"expected {_show(expected)}, got {shown}." if reveal else f"got {shown}, which is " \
        "not right yet."
    raise CheckFailed(f"{where}: {text}", mistake="wrong_values", case=case)


def _show(v):
    kind = _kind(v)
    if kind == "number" or (kind in ("numpy", "torch") and np.ndim(_as_numpy(v)) == 0):
        return _fmt_num(_as_numpy(v)) if kind != "number" else _fmt_num(v)
    if kind == "sequence":
        inner = ", ".join(_show(x) for x in v)
        return f"({inner}{',' if len(v) == 1 else ''})" if isinstance(v, tuple) else f"[{inner}]"
    if kind in ("numpy", "torch"):
        a = _as_numpy(v)
        return f"an array of shape {_shape_text(a.shape)} starting {_fmt_row(a)}"
    return repr(v)[:60]


def _value_equal(got, expected, atol, rtol):
    ke, kg = _kind(expected), _kind(got)
    if ke == "string":
        return kg == "string" and got.strip().lower() == expected.strip().lower()
    if ke == "sequence":
        return (kg == "sequence" and len(got) == len(expected)
                and all(_value_equal(g, e, atol, rtol) for g, e in zip(got, expected, strict=True)))
    if ke in ("number", "bool"):
        if kg == "bool" and ke != "bool":
            return False
        if kg in ("numpy", "torch") and np.ndim(_as_numpy(got)) == 0:
            got = _as_numpy(got).item()
            kg = "number"
        if kg not in ("number", "bool"):
            return False
        return _close(float(got), float(expected), atol, rtol)
    if ke in ("numpy", "torch"):
        if kg not in ("numpy", "torch", "sequence"):
            return False
        try:
            return _close(np.asarray(_as_numpy(got), dtype=float),
                          np.asarray(_as_numpy(expected), dtype=float), atol, rtol)
        except (TypeError, ValueError):
            return False
    return _same(got, expected)


