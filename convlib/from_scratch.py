"""The student-side from-scratch check: does a function use a library convolution?

The policy (which calls are forbidden) and the hooks live in ``convlib.forbidden``, the static
analysis in ``convlib.scan``. In the student's kernel ``check_from_scratch`` is a best-effort
self-check; in the grader the same call is answered by the trusted side with the same two
modules (``autograder/grade_cells.py``), and that verdict is the one that counts. Notebooks
import ``check_from_scratch`` from ``convlib.checks``.
"""

import inspect
import sys
import textwrap

import numpy as np

from .forbidden import FORBIDDEN_CONV_CALLS, first_forbidden, install_hooks
from .mistakes import EXPLANATIONS, CheckFailed
from .scan import scan_function
from .validate import copy_input

__all__ = ["check_from_scratch", "default_probe_inputs", "not_implemented", "never_ran"]


def not_implemented(name, case="from-scratch run"):
    """The failure for a stub that still raises NotImplementedError."""
    return CheckFailed(f"{name} is not implemented yet. " + EXPLANATIONS["not_implemented"],
                       mistake="not_implemented", case=case)


def never_ran(name, error):
    """The failure for a function that raised ``error`` on every probe input."""
    return CheckFailed(f"{name} raised {type(error).__name__} on the from-scratch check's input, "
                       "so it could not be checked: make it run on the inputs the exercise "
                       "describes.", mistake="raised_error", case="from-scratch run")


def default_probe_inputs():
    """Small random (image, kernel) pairs, 2-D then 1-D, torch then numpy: what a from-scratch
    probe calls a function with until one is accepted."""
    rng = np.random.default_rng(0)
    samples = []
    torch = sys.modules.get("torch")
    for shapes in (((6, 5), (3, 2)), ((9,), (3,))):
        x, k = rng.normal(size=shapes[0]), rng.normal(size=shapes[1])
        if torch is not None:
            samples.append((torch.tensor(x, dtype=torch.float32),
                            torch.tensor(k, dtype=torch.float32)))
        samples.append((x, k))
    return samples


def _notebook_cells(fn):
    """(number, source) of the cells run so far in IPython, else the source of `fn`."""
    try:
        history = get_ipython().user_ns.get("In")  # get_ipython exists only in IPython
        if history:
            return [(i, text) for i, text in enumerate(history) if text]
    except NameError:
        pass
    for source_of in (inspect.getmodule(fn), fn):  # a script or module: all of its text
        try:
            return [(1, textwrap.dedent(inspect.getsource(source_of)))]
        except (OSError, TypeError):
            continue
    return []


def _refuse(name, what, case):
    raise CheckFailed(f"{name} uses {what}. " + EXPLANATIONS["forbidden_call"],
                      mistake="forbidden_call", case=case)


def passed_message(name, final=True):
    """What a passed from-scratch check prints, the same in every notebook. In the grader
    (final=False) the verdict is settled again when the whole notebook has been graded."""
    if not final:
        return (f"{name}: no library call this exercise forbids has run in it so far (checked "
                "again when the whole notebook has been graded).")
    return f"{name} is your own work: none of the library calls this exercise forbids ran in it."


def check_from_scratch(fn, forbidden=FORBIDDEN_CONV_CALLS, *, args=None):
    """Fail with ``forbidden_call`` if ``fn`` uses a forbidden library call (the policy
    ``forbidden``), ``not_implemented`` for a stub, ``raised_error`` if ``fn`` ran on none of the
    probe inputs (``args``, or small (image, kernel) pairs): a function that never ran cannot be
    shown to be from scratch. On a pass, print ``passed_message`` (a check that passes says so)."""
    name = getattr(fn, "__name__", "your function")
    if hasattr(type(fn), "__grader_from_scratch__"):
        verdict = fn.__grader_from_scratch__(list(forbidden),
                                             None if args is None else tuple(args))
        print(passed_message(name, final=False))
        return verdict
    _check_here(fn, name, list(forbidden), args)
    print(passed_message(name))


def _check_here(fn, name, policy, args):
    """The student-kernel side of check_from_scratch: the scan, then one recorded run."""
    static = scan_function(_notebook_cells(fn), name, policy)
    if static:
        _refuse(name, static[0], "source of " + name)
    error = None
    for sample in ([tuple(args)] if args is not None else default_probe_inputs()):
        record = []
        hooks = install_hooks(record.append)
        try:
            fn(*[copy_input(a) for a in sample])
        except NotImplementedError:
            raise not_implemented(name) from None
        except Exception as err:  # noqa: BLE001  (not this kind of input: try the next sample)
            error = err
            continue
        finally:
            hooks.remove()
        used = first_forbidden(record, policy)
        if used:
            _refuse(name, used, "from-scratch run")
        return None
    raise never_ran(name, error)
