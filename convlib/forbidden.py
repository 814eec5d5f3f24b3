"""What counts as a library convolution in a from-scratch exercise, and how to see one being used.

The rule (the README says the same): in a from-scratch exercise, no library function may compute
the convolution for you. Forbidden are the functions that slide a kernel and multiply-and-sum:
torch's convolutions under every spelling (``F.conv2d``, ``nn.Conv2d``, ``torch.ops.aten...``,
``torch._C._VariableFunctions.conv2d``), ``numpy.convolve``/``correlate``, everything in
``scipy.signal`` and ``scipy.ndimage``, and convlib's own convolutions. Building blocks are
allowed: array arithmetic, sums, ``matmul``/``einsum``/``tensordot``, FFTs, and the *window
helpers* (``F.unfold``, ``Tensor.unfold``, ``sliding_window_view``, ``as_strided``,
``convlib.im2col``), except in an exercise whose point is to build the windows (notebook 06's
``im2col_conv2d``), which forbids ``WINDOW_HELPERS`` too. The pooling exercises (notebook 08)
use ``POOLING_FROM_SCRATCH``: those and ``LIBRARY_POOLING`` (torch's and convlib's pooling),
and their backward passes ``POOLING_BACKWARD_FROM_SCRATCH``, which forbids ``AUTOGRAD`` too;
the backward-pass exercises (notebook 07) use ``BACKWARD_FROM_SCRATCH``: the convolutions, autograd
(``Tensor.backward``, ``torch.autograd.*``, ``torch.func``) and convlib's backward.

A policy is a list of glob patterns over dotted names (``fnmatch``, case-sensitive; ``*`` also
matches dots). A pattern starting with ``!`` allows what it matches; the last matching pattern
wins, as in a .gitignore. ``is_forbidden(label, policy)`` is the one matching rule, used by the
static scan (``convlib.scan``), by the runtime hooks below, and by the self-checks.

Runtime hooks (``install_hooks(record)``) sit where the work is done, not where it is spelled:

* torch: a kernel at the dispatcher's BackendSelect key for every operator whose name is a
  convolution, a pooling or a window helper, in every namespace. Every Python path into torch's C++
  (functional, modules, ``torch.ops``, ``torch._C``, inference mode, other threads, autograd)
  passes through it; it calls ``record(label)`` and then redispatches to the real kernel.
* numpy, scipy, convlib: every reference, in every loaded module, to a forbidden function or to
  the C entry points behind them (``numpy``'s ``multiarray.correlate``, ``scipy.signal``'s
  ``_sigtools``, ``scipy.ndimage``'s ``_nd_image``) is replaced by a wrapper that records, then
  calls the original. The same for ``torch.autograd.backward`` and ``torch.autograd.grad``
  (what ``Tensor.backward()`` calls), so a backward pass that asks autograd is seen even when
  its forward ran no convolution.

Hooks never change a result. In the grader they are installed before any student code runs and
``record`` writes to a pipe whose reading end is in the trusted grader, outside the student's
process (see autograder/sandboxed/kernel.py).
"""

import fnmatch
import inspect
import re
import sys

LIBRARY_CONVOLUTIONS = (
    "torch.*conv*",  # functional, torch.conv2d, torch.ops.aten.*, torch._C.*, nn.grad.*
    "torch.*Conv*",  # nn.Conv2d, nn.ConvTranspose2d, nn.LazyConv2d
    "numpy.convolve",
    "numpy.correlate",
    "numpy.*multiarray.correlate*",  # the C functions behind both
    "scipy.signal.*",
    "scipy.ndimage.*",
    "convlib.conv.*",
    "convlib.layers.*",
    "convlib.linear.*",  # conv_matrix: M @ x.ravel() is the convolution
    "convlib.conv1d",
    "convlib.conv2d",
    "convlib.conv2d_nchw*",
    "convlib.conv_transpose2d*",
    "convlib.conv_matrix",
    "convlib.correlate*",
    "convlib.convolve*",
)

WINDOW_HELPERS = (
    "torch.nn.functional.unfold",
    "torch.nn.functional.fold",
    "torch.Tensor.unfold",
    "torch.ops.aten.im2col",
    "torch.ops.aten.col2im",
    "torch.ops.aten.unfold",
    "torch.*as_strided",
    "numpy.lib.stride_tricks.*",
    "numpy.lib._stride_tricks_impl.*",
    "convlib.windows.*",
    "convlib.im2col",
    "convlib.col2im",
    "convlib.sliding_windows",
)

# Library pooling, for the pooling exercises (notebook 08), which forbid it with the
# convolutions and window helpers.
LIBRARY_POOLING = (
    "torch.*pool*",  # F.max_pool2d, F.avg_pool2d, torch.max_pool2d, adaptive_*, torch.ops.aten.*
    "torch.*Pool*",  # nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d
    "convlib.pooling.*",
    "convlib.max_pool2d*",
    "convlib.avg_pool2d*",
)

# From-scratch pooling (notebook 08): the windows are the exercise, so library pooling,
# convolutions and window helpers are all out.
POOLING_FROM_SCRATCH = (*LIBRARY_POOLING, *LIBRARY_CONVOLUTIONS, *WINDOW_HELPERS)

# Autograd, for every from-scratch backward pass: torch.autograd.backward is what
# Tensor.backward() calls, torch.func its functional form.
AUTOGRAD = ("torch.autograd*", "torch.Tensor.backward", "torch.func*")

# A from-scratch backward pass (notebook 07): no library convolution (the transposed
# convolution and torch's convolution_backward included), no autograd, no convlib backward.
BACKWARD_FROM_SCRATCH = (*LIBRARY_CONVOLUTIONS, *AUTOGRAD, "convlib.backward*",
                         "convlib.conv2d_backward*")

# The pooling backward passes (notebook 08): what its forward exercises forbid, and autograd.
POOLING_BACKWARD_FROM_SCRATCH = (*POOLING_FROM_SCRATCH, *AUTOGRAD)

FORBIDDEN_CONV_CALLS = LIBRARY_CONVOLUTIONS  # the default policy of check_from_scratch

# torch operators hooked at the dispatcher: convolutions (not "convert"), pooling and the window
# helpers.
TORCH_OPERATOR = re.compile(r"conv(?!ert)|pool[123]d|^aten::(im2col|col2im|unfold)$")

# The modules whose functions are hooked, and the C extension modules behind them.
HOOKED_MODULES = ("scipy.signal", "scipy.ndimage", "convlib.conv", "convlib.layers",
                  "convlib.linear", "convlib.windows", "convlib.pooling", "convlib.backward")
# torch.autograd.backward is what Tensor.backward() calls: a backward pass that builds its
# forward from einsum (no convolution operator runs) and asks autograd is still seen.
HOOKED_FUNCTIONS = ("numpy.convolve", "numpy.correlate",
                    "torch.autograd.backward", "torch.autograd.grad",
                    "numpy.lib.stride_tricks.sliding_window_view",
                    "numpy.lib.stride_tricks.as_strided")
C_ENTRY_POINTS = (("numpy._core.multiarray", ("correlate", "correlate2")),
                  ("numpy.core.multiarray", ("correlate", "correlate2")))


def is_forbidden(label, policy=FORBIDDEN_CONV_CALLS):
    """Does the dotted name `label` fall under `policy`? The last matching pattern decides."""
    verdict = False
    for pattern in policy:
        allow = pattern.startswith("!")
        if fnmatch.fnmatchcase(label, pattern[1:] if allow else pattern):
            verdict = not allow
    return verdict


def first_forbidden(labels, policy=FORBIDDEN_CONV_CALLS):
    """The first label of `labels` that `policy` forbids, or None."""
    return next((label for label in labels if is_forbidden(label, policy)), None)


# ----------------------------------------------------------------------------- runtime hooks

class Hooks:
    """Installed hooks; `remove()` puts every original back (the self-check uses this)."""

    def __init__(self):
        self.libraries = []  # torch.library.Library objects holding the dispatcher kernels
        self.swapped = []  # (namespace dict, key, original)

    def remove(self):
        for lib in self.libraries:
            lib._destroy()
        for namespace, key, original in reversed(self.swapped):
            namespace[key] = original
        self.libraries, self.swapped = [], []


def install_hooks(record):
    """Hook every library convolution and window helper; `record(label)` is called on each use.

    Returns a `Hooks`: keep it (torch removes a library's kernels when the object is freed).
    Raises if a hook cannot be installed: a policy that silently shrinks is
    worse than a grader that refuses to start.
    """
    hooks = Hooks()
    try:
        _hook_torch(record, hooks)
        _hook_python(record, hooks)
    except BaseException:
        hooks.remove()
        raise
    return hooks


def _hook_torch(record, hooks):
    torch = sys.modules.get("torch")
    if torch is None:
        return
    cpu = torch._C.DispatchKeySet(torch._C.DispatchKey.CPU)
    libraries = {}
    for full in torch._C._dispatch_get_all_op_names():
        if not TORCH_OPERATOR.search(full):
            continue
        namespace, _, name = full.partition("::")
        op, _, overload = name.partition(".")
        packet = getattr(getattr(torch.ops, namespace), op)
        operator = getattr(packet, overload or "default")
        if namespace not in libraries:
            libraries[namespace] = torch.library.Library(namespace, "IMPL")
            hooks.libraries.append(libraries[namespace])
        libraries[namespace].impl(name, _torch_kernel(operator, f"torch.ops.{namespace}.{op}",
                                                      cpu, record), "BackendSelect")


def _torch_kernel(operator, label, cpu, record):
    def kernel(*args, **kwargs):
        record(label)
        return operator.redispatch(cpu, *args, **kwargs)

    return kernel


def _wrap(original, label, record):
    def hooked(*args, **kwargs):
        record(label)
        return original(*args, **kwargs)

    # Its name and help, not a way back to the original: no __wrapped__ (functools.wraps would
    # set it, and `attrgetter("correlate2d.__wrapped__")` would then skip the record).
    for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
        try:
            setattr(hooked, attr, getattr(original, attr))
        except AttributeError:
            pass
    return hooked


def _targets():
    """{id(original): (original, label)} of every Python-level function to hook."""
    targets = {}
    for module_name in sorted(sys.modules, key=lambda n: (n.count("."), n)):
        module = sys.modules[module_name]
        if module is None or not any(module_name == p or module_name.startswith(p + ".")
                                     for p in HOOKED_MODULES):
            continue
        public = ".".join(part for part in module_name.split(".") if not part.startswith("_"))
        exported = getattr(module, "__all__", None)
        for attr, value in list(vars(module).items()):
            if inspect.isclass(value) or not callable(value) or attr.startswith("__"):
                continue
            # The module's API (its __all__, or its public names), not private helpers that
            # an allowed function also calls; C functions are hooked whatever their name.
            api = attr in exported if exported is not None else not attr.startswith("_")
            if not api and getattr(value, "__self__", None) is not module:
                continue
            # A C function of this very module (scipy.signal._sigtools._convolve2d), or a
            # function defined under a hooked module; not numpy.asarray imported into one.
            owner = getattr(value, "__module__", None) or ""
            if getattr(value, "__self__", None) is module or any(
                    owner == p or owner.startswith(p + ".") for p in HOOKED_MODULES):
                targets.setdefault(id(value), (value, f"{public}.{attr}"))
    for dotted in HOOKED_FUNCTIONS:
        module_name, _, attr = dotted.rpartition(".")
        value = getattr(sys.modules.get(module_name), attr, None)
        if value is not None:
            targets.setdefault(id(value), (value, dotted))
    for module_name, attrs in C_ENTRY_POINTS:
        module = sys.modules.get(module_name)
        for attr in attrs:
            value = getattr(module, attr, None)
            if value is not None:
                targets.setdefault(id(value), (value, f"numpy.multiarray.{attr}"))
    return targets


def _hook_python(record, hooks):
    """Replace every reference, in every loaded module, to a target by its recording wrapper."""
    targets = _targets()
    wrappers = {key: _wrap(original, label, record) for key, (original, label) in
                targets.items()}
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for key, value in list(namespace.items()):
            wrapper = wrappers.get(id(value))
            if wrapper is not None and targets[id(value)][0] is value:
                hooks.swapped.append((namespace, key, value))
                namespace[key] = wrapper
