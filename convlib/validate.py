"""Input checks shared by every convlib operation.

Each check either returns a clean value (a float numpy array, a tuple of ints) or raises a
``ValueError`` / ``TypeError`` whose message names the problem and says what to do, so that a
mistake never surfaces as a deep numpy traceback or, worse, a silently wrong answer.

Dtype policy (see docs/architecture.md): float32 and float64 are kept (mixed -> the wider);
float16 / bfloat16 (and torch's float8 kinds) compute in float32; integer and bool inputs are
computed in floating point, float64 for numpy and float32 for torch, never truncated; complex,
object and string dtypes (and torch dtypes that cannot become float32) raise ``TypeError``.
"""

import copy
import functools
import operator

import numpy as np

try:  # torch is a dependency, but the numpy path must not need it at import time
    import torch
except ImportError:  # pragma: no cover
    torch = None


def is_torch(X):
    """True if ``X`` is a torch tensor."""
    return torch is not None and isinstance(X, torch.Tensor)


def _numpy_float_dtype(dtype, name):
    if dtype.kind == "f":
        return np.float32 if dtype.itemsize <= 4 else np.float64
    if dtype.kind in "iub":
        return np.float64
    if dtype.kind == "c":
        raise TypeError(f"{name} is complex ({dtype}); convlib convolves real arrays — "
                        f"pass the real part (X.real) or convolve the real and imaginary parts "
                        f"separately")
    raise TypeError(f"{name} has dtype {dtype}, which is not numeric; convert it first, "
                    f"for example np.asarray({name.split()[-1]}, dtype=float)")


def as_float_array(X, name="input", ndim=None, shape_hint=None, fix=None):
    """Return ``X`` as a floating-point numpy array, following the dtype policy above.

    X: a numpy array, a torch tensor (any device; it is detached and copied to the CPU) or a
       nested list of numbers.
    name: how error messages call the argument, e.g. ``"image X"``.
    ndim: the required number of dimensions (an int or a tuple of accepted ints), or None.
    shape_hint: the expected layout for the error message, e.g. ``"(H, W)"``.
    fix: what the wrong-dimensions message suggests instead of the generic "reshape it".

    Returns a numpy array of dtype float32 or float64 (a new array or a read-only view; callers
    never write into it, so the caller's data is never modified).
    """
    if X is None:
        raise TypeError(f"{name} is None; pass a numpy array or a torch tensor")
    if is_torch(X):
        T = X.detach()
        if T.device.type != "cpu":
            T = T.cpu()
        if T.dtype not in (torch.float32, torch.float64):  # the common cases, checked once
            if T.is_complex():
                raise TypeError(f"{name} is complex ({T.dtype}); convlib convolves real "
                                f"tensors — pass the real part (X.real)")
            try:  # half precision, bfloat16, float8, integers, bools
                T = T.to(torch.float32)
            except (TypeError, RuntimeError, NotImplementedError):
                raise TypeError(f"{name} has dtype {T.dtype}, which cannot be converted to "
                                f"float32; pass a float32 or float64 tensor") from None
        A = T.numpy()
    else:
        try:
            A = np.asarray(X)
        except (ValueError, TypeError) as error:
            raise TypeError(f"{name} could not be read as an array ({error}); pass a numpy array "
                            f"or a torch tensor of numbers") from None
        A = A.astype(_numpy_float_dtype(A.dtype, name), copy=False)
    if ndim is not None:
        accepted = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if A.ndim not in accepted:
            dims = (f"at least {min(accepted)}-D" if len(accepted) > 2
                    else " or ".join(f"{n}-D" for n in accepted))
            hint = f" of shape {shape_hint}" if shape_hint else ""
            raise ValueError(f"{name} must be {dims}{hint}, got shape {tuple(A.shape)} "
                             f"({A.ndim}-D); {fix or 'reshape it'}")
    if A.size == 0:
        raise ValueError(f"{name} is empty (shape {tuple(A.shape)}); pass at least one element "
                         f"along every axis")
    return A


def copy_input(x):
    """A copy of an argument (array, tensor or any value) that the callee may change freely."""
    if is_torch(x):
        return x.detach().clone()
    if isinstance(x, np.ndarray):
        return x.copy()
    return copy.deepcopy(x)


def result_dtype(*arrays):
    """The dtype a computation on these float arrays returns: the widest of them."""
    return np.result_type(*arrays)


def output_like(Y, like):
    """Return numpy array ``Y`` as the same kind as ``like``: a torch tensor (same device) if
    ``like`` is one, otherwise ``Y`` itself."""
    if is_torch(like):
        T = torch.from_numpy(np.ascontiguousarray(Y))
        return T if like.device.type == "cpu" else T.to(like.device)
    return Y


def _as_int(value, name, accepted):
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be {accepted}, got the bool {value!r}")
    try:
        return operator.index(value)  # ints, numpy ints; refuses floats and strings
    except TypeError:
        raise TypeError(f"{name} must be {accepted}, got {value!r} "
                        f"({type(value).__name__})") from None


def as_int(value, name):
    """Return ``value`` as a Python int; bools, floats and strings raise ``TypeError``."""
    if type(value) is int:  # the common case, checked first because it runs on every call
        return value
    return _as_int(value, name, "an integer")


def as_int_tuple(value, name, n=2):
    """Return ``value`` (an int, or a sequence of ``n`` ints) as a tuple of ``n`` Python ints."""
    accepted = f"an integer or a tuple of {n} integers"
    if type(value) is int:
        return (value,) * n
    if isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim == 1):
        if len(value) != n:
            raise ValueError(f"{name} must be {accepted}, got {tuple(value)!r} "
                             f"with {len(value)} values")
        return tuple(v if type(v) is int else _as_int(v, name, accepted) for v in value)
    return (_as_int(value, name, accepted),) * n


def _positive(values, value, name):
    if any(v < 1 for v in values):
        meaning = {"stride": "; stride 1 moves the kernel one pixel at a time",
                   "dilation": "; dilation 1 means a kernel without gaps"}.get(name, "")
        raise ValueError(f"{name} must be a positive integer (1, 2, ...), got {value!r}{meaning}")
    return values


def _nonnegative(values, value, name):
    if any(v < 0 for v in values):
        raise ValueError(f"{name} must be >= 0, got {value!r}; padding adds rows and columns, "
                         f"it cannot remove them (to crop, slice the array instead)")
    return values


def check_positive(value, name):
    """Return ``value`` as an int >= 1 (a size, a stride, a dilation, a channel count).

    Raises ``ValueError`` for zero or negative values, ``TypeError`` for non-integers.
    """
    return _positive((as_int(value, name),), value, name)[0]


def check_nonnegative(value, name):
    """Return ``value`` as an int >= 0 (a padding amount)."""
    return _nonnegative((as_int(value, name),), value, name)[0]


def check_positive_pair(value, name, n=2):
    """Return ``value`` as a tuple of ``n`` ints that are all >= 1 (strides, dilations).

    Raises ``ValueError`` for zero or negative values, ``TypeError`` for non-integers.
    """
    return _positive(as_int_tuple(value, name, n), value, name)


def check_nonnegative_pair(value, name, n=2):
    """Return ``value`` as a tuple of ``n`` ints that are all >= 0 (paddings, output_padding)."""
    return _nonnegative(as_int_tuple(value, name, n), value, name)


def quiet_nan(fn):
    """Run ``fn`` with numpy's NaN/overflow warnings off: NaN and inf propagate silently, as in
    torch (the documented NaN policy)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(invalid="ignore", over="ignore"):
            return fn(*args, **kwargs)
    return wrapper
