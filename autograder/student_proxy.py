"""The trusted side's stand-ins for the student's code: a function proxy whose calls go to the
sandbox, the exceptions that come back (rebuilt from plain data, never unpickled), and the
copy-back of arguments the student's function changed in place.
"""

from __future__ import annotations

import builtins
import sys

import numpy as np

STUDENT_TEXT_KEEP = 500  # characters of anything the student's process wrote into a message


class GraderAbort(BaseException):
    """The student process timed out or died: no check may catch this (not an Exception)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


class StudentError(RuntimeError):
    """An exception raised by student code whose type is not a builtin exception."""


SAFE_EXCEPTIONS = {name: getattr(builtins, name) for name in dir(builtins)
                    if isinstance(getattr(builtins, name), type)
                    and issubclass(getattr(builtins, name), Exception)
                    and not issubclass(getattr(builtins, name), (AssertionError, Warning))}


def rebuild_exception(error):
    """A fresh trusted exception from the (type name, message) the sandbox sent."""
    name, message = (list(error) + ["", ""])[:2]
    name, message = str(name)[:100], str(message)[:STUDENT_TEXT_KEEP]
    cls = SAFE_EXCEPTIONS.get(name)
    if cls is not None:
        try:
            return cls(message)
        except Exception:  # noqa: BLE001  (e.g. UnicodeDecodeError needs five arguments)
            pass
    return StudentError(f"{name}: {message}" if message else name)


class StudentFunction:
    """Stands for a function defined in the student's notebook; calls it in the sandbox."""

    def __init__(self, grader, name):
        self._grader = grader
        self.__name__ = self.__qualname__ = name
        self.__doc__ = None

    def __call__(self, *args, **kwargs):
        return self._grader.call(self.__name__, args, kwargs)

    def __grader_from_scratch__(self, forbidden, args=None):
        return self._grader.from_scratch(self.__name__, list(forbidden), args)

    def __repr__(self):
        return f"<student function {self.__name__}>"


def copy_back(original, new):
    """Mirror an in-place change the student's function made to an argument."""
    torch = sys.modules.get("torch")
    if isinstance(original, np.ndarray) and isinstance(new, np.ndarray):
        if original.shape == new.shape and original.flags.writeable and not np.array_equal(
                original, new.astype(original.dtype, copy=False), equal_nan=True):
            np.copyto(original, new, casting="unsafe")
    elif torch is not None and isinstance(original, torch.Tensor) and isinstance(new, torch.Tensor):
        if original.shape == new.shape and not torch.equal(original, new.to(original.dtype)):
            with torch.no_grad():
                original.copy_(new.to(original.dtype))
