"""Static analysis of notebook code for from-scratch exercises (nothing is imported or run).

Two questions, asked of the source text of the cells a student's process ran:

``scan_function(cells, name, policy)``
    Does function ``name`` reach a forbidden library call? Starting from its top-level definition,
    every global name its code uses is followed to the statements that bind or mutate it
    (imports, assignments, other functions and classes, ``np.sum = ...``, ``from __main__ import
    mine as conv2d``), and in that reachable code it reports attribute chains and imports that
    resolve through aliases to a name ``convlib.forbidden.is_forbidden`` refuses, ``getattr``
    with a forbidden or computed name, dynamic code, and strings naming a forbidden function.
    A parameter or local variable shadows a module only in its own function.

``scan_tampering(cells)``
    Does the code use a way around the grader's run-time record (``convlib.forbidden``)?
    Dynamic code (``eval``/``exec``/``compile``/``__import__``), introspection of frames,
    closures and code objects, ``ctypes``, ``gc``, ``importlib``, ``pickle``, running other
    programs, torch's dispatcher internals (``torch.library``, ``torch._C``, ``torch.ops``),
    IPython magics and shell escapes, imports of modules that are not installed (a file written
    by the notebook itself), private modules of torch and numpy (``torch._decomp``' reference
    im2col), attribute access by a string (``getattr`` with a computed or private name, or
    passed around as a value, ``operator.attrgetter``/``methodcaller``), strings that name a
    dunder such as ``__wrapped__``, and any of these reached through another module
    (``os.sys.modules``). None of this has a place in a notebook about convolution, and each
    could switch the record off, so its presence means a from-scratch answer cannot be trusted.

``cells`` is a list of ``(cell number, source text)``; findings read ``"what (cell 3, line 2)"``.
"""

import ast
import fnmatch
import importlib.util
import re
import sys

from .forbidden import is_forbidden

DYNAMIC = {"eval", "exec", "compile", "__import__", "globals", "vars", "locals", "breakpoint",
           "get_ipython", "__builtins__", "__loader__", "__spec__"}
TAMPER_MODULES = {"ctypes", "gc", "importlib", "pickle", "cPickle", "dill", "cloudpickle",
                  "marshal", "shelve", "copyreg", "types", "inspect", "subprocess",
                  "multiprocessing", "pty", "runpy", "code", "codeop", "builtins", "cffi",
                  "_thread", "faulthandler", "tracemalloc", "sysconfig", "site", "__main__"}
TAMPER_CHAINS = ("torch.library", "torch._*", "numpy._*", "torch.ops",
                 "torch.utils._python_dispatch",
                 "torch.overrides", "torch._dispatch", "torch.load", "numpy.load", "sys.modules",
                 "sys._getframe", "sys.settrace", "sys.setprofile", "sys.meta_path",
                 "sys.path_hooks", "sys.path", "sys.addaudithook", "sys.excepthook",
                 "os.system", "os.popen", "os.exec*", "os.spawn*", "os.posix_spawn*", "os.fork",
                 "os.forkpty", "os.dup", "os.dup2", "os.close", "os.closerange", "os.kill",
                 "os.killpg", "os.setsid", "operator.attrgetter", "operator.methodcaller",
                 "_operator.*")
TAMPER_ATTRIBUTES = {"f_back", "f_globals", "f_locals", "f_builtins", "f_code", "gi_frame",
                     "cr_frame", "tb_frame", "tb_next", "co_code", "co_consts", "im_func"}
CONVOLUTION_WORD = re.compile(r"\w*(conv|correlat)\w*", re.IGNORECASE)  # 'conv2d' in getattr
ALLOWED_DUNDERS = {"__name__", "__doc__", "__init__", "__len__", "__call__", "__repr__",
                   "__str__", "__qualname__", "__version__", "__class__", "__getitem__",
                   "__setitem__", "__iter__", "__next__", "__enter__", "__exit__", "__eq__",
                   "__add__", "__mul__", "__matmul__", "__array__", "__module__"}
# Module names that are also everyday attribute names (`result.code`): flagged as imports only.
GENERIC_NAMES = {"code", "codeop", "site", "types"}
DUNDER = re.compile(r"__[A-Za-z]\w*?__")
ATTRIBUTE_BUILTINS = ("getattr", "setattr", "delattr")


def _transform(source):
    """IPython syntax (magics, `!cmd`) as the Python IPython runs."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001  (IPython missing or odd input: read the text as it is)
        return source


def _parse(cells):
    statements = []
    for number, source in cells:
        try:
            tree = ast.parse(_transform(source))
        except (SyntaxError, ValueError, RecursionError):
            continue
        statements += [(number, stmt) for stmt in tree.body]
    return statements


def dotted(node):
    """['torch', 'nn', 'functional', 'conv2d'] for `torch.nn.functional.conv2d`, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return list(reversed(parts))
    return None


def _where(number, node):
    return f"cell {number}, line {getattr(node, 'lineno', '?')}"


# ----------------------------------------------------------------------------- scopes

def _function_locals(fn):
    """Parameters and names assigned in the body of a function or lambda (not nested ones).
    Names imported inside the function are not locals here: they are module aliases."""
    a = fn.args
    names = {arg.arg for arg in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg]
             if arg is not None}
    declared = set()
    body = fn.body if isinstance(fn.body, list) else [fn.body]
    todo = list(body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue  # its own scope
        elif isinstance(node, ast.Lambda):
            continue
        todo.extend(ast.iter_child_nodes(node))
    return names - declared


def _walk_with_locals(stmt):
    """(node, parent, names local to the enclosing functions) for every node of `stmt`."""
    todo = [(stmt, None, frozenset())]
    while todo:
        node, parent, local = todo.pop()
        yield node, parent, local
        inner = local
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            inner = local | _function_locals(node)
        for child in reversed(list(ast.iter_child_nodes(node))):  # source order
            # decorators and defaults are evaluated outside the function
            outside = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and (
                child in getattr(node, "decorator_list", []) or child is node.args)
            todo.append((child, node, local if outside else inner))


# ----------------------------------------------------------------------------- reachability

def _bound_names(stmt):
    """Global names a top-level statement binds."""
    names = set()
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    for node, _, local in _walk_with_locals(stmt):
        if local:
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _mutated_roots(stmt):
    """Global names whose attributes or items a statement assigns (np.sum = ..., setattr)."""
    roots = set()
    for node, _, local in _walk_with_locals(stmt):
        target = None
        if isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, ast.Store):
            target = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("setattr", "delattr") and node.args:
            target = node.args[0]
        while isinstance(target, (ast.Attribute, ast.Subscript)):
            target = target.value
        if isinstance(target, ast.Name) and target.id not in local:
            roots.add(target.id)
    return roots


def _global_refs(stmt):
    """Global names a statement reads, with `from __main__ import x` and `__main__.x` read as x."""
    refs = set()
    for node, _, local in _walk_with_locals(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in local:
            refs.add(node.id)
        elif isinstance(node, ast.ImportFrom) and node.module == "__main__":
            refs.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.value.id == "__main__":
            refs.add(node.attr)
    return refs


class _Scanner:
    def __init__(self, cells, policy):
        self.policy = list(policy)
        self.statements = _parse(cells)
        self.aliases = {}  # global name -> {dotted names it may stand for}
        for _, stmt in self.statements:
            for node in ast.walk(stmt):
                self._note_import(node)
        assigns = [node for _, stmt in self.statements for node in ast.walk(stmt)
                   if isinstance(node, ast.Assign) and len(node.targets) == 1
                   and isinstance(node.targets[0], ast.Name)]
        for _ in range(3):  # F = torch.nn.functional; G = F
            for node in assigns:
                parts = dotted(node.value)
                if parts:
                    for full in self.resolve(parts):
                        self.aliases.setdefault(node.targets[0].id, set()).add(full)

    def _note_import(self, node):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.aliases.setdefault(alias.asname, set()).add(alias.name)
                else:
                    root = alias.name.split(".")[0]
                    self.aliases.setdefault(root, set()).add(root)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level and \
                node.module != "__main__":
            for alias in node.names:
                self.aliases.setdefault(alias.asname or alias.name, set()).add(
                    f"{node.module}.{alias.name}")

    def resolve(self, parts):
        return {".".join([root] + parts[1:]) for root in self.aliases.get(parts[0], ())}

    def hit(self, full):
        """`full` itself, or the forbidden function `full` is an attribute of."""
        parts = full.split(".")
        for cut in range(len(parts), 0, -1):
            if is_forbidden(".".join(parts[:cut]), self.policy):
                return ".".join(parts[:cut])
        return None

    def reachable(self, name):
        binders, mutators = {}, {}
        for item in self.statements:
            for bound in _bound_names(item[1]):
                binders.setdefault(bound, []).append(item)
            for root in _mutated_roots(item[1]):
                mutators.setdefault(root, []).append(item)
        seen_names, seen_ids, todo, found = set(), set(), [name], []
        while todo:
            current = todo.pop()
            if current in seen_names:
                continue
            seen_names.add(current)
            for item in binders.get(current, []) + mutators.get(current, []):
                if id(item[1]) not in seen_ids:
                    seen_ids.add(id(item[1]))
                    found.append(item)
                    todo.extend(_global_refs(item[1]))
        return found

    def findings(self, name):
        out = []
        for number, stmt in self.reachable(name):
            for node, parent, local in _walk_with_locals(stmt):
                out += [f"{text} ({_where(number, node)})"
                        for text in self._check(node, parent, local, name)]
        return list(dict.fromkeys(out))

    def _check(self, node, parent, local, name):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield from (f"{node.module}.{a.name} (imported)" for a in node.names
                        if self.hit(f"{node.module}.{a.name}"))
        elif isinstance(node, ast.Import):
            yield from (f"import {a.name}" for a in node.names if self.hit(a.name))
        elif isinstance(node, (ast.Name, ast.Attribute)):
            if not (isinstance(parent, ast.Attribute) and parent.value is node):
                yield from self._check_chain(node, local)  # only the longest chain counts
        elif _is_call_of(node, ("getattr", "hasattr")):
            yield from self._check_getattr(node, local)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.strip()
            if text != name and len(text) < 80 and (
                    ("." in text and self.hit(text)) or CONVOLUTION_WORD.fullmatch(text)):
                yield f"the string {text!r}"

    def _check_chain(self, node, local):
        """A name or attribute chain such as `F.conv2d` that resolves to a forbidden call."""
        parts = dotted(node)
        if not parts or parts[0] in local:
            return  # a parameter or local variable of this function, e.g. `F`
        if isinstance(node, ast.Name) and node.id in DYNAMIC:
            yield f"dynamic code `{node.id}`"
            return
        for full in sorted(self.resolve(parts)):
            found = self.hit(full)
            if found:
                text = ".".join(parts)
                yield text if text == found else f"{text} (= {found})"

    def _check_getattr(self, node, local):
        """getattr(torch.nn.functional, "conv2d"), or a computed name that could be anything."""
        attr = node.args[1]
        if not (isinstance(attr, ast.Constant) and isinstance(attr.value, str)):
            yield "getattr with a computed attribute name"
            return
        parts = dotted(node.args[0])
        if parts and parts[0] not in local:
            for full in sorted(self.resolve(parts + [attr.value])):
                found = self.hit(full)
                if found:
                    yield f"getattr({'.'.join(parts)}, {attr.value!r}) (= {found})"


def _is_call_of(node, names):
    """True for a call `name(a, b, ...)` with at least two arguments, name one of ``names``."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in names and len(node.args) >= 2)


def scan_function(cells, name, policy):
    """Findings for function `name` in `cells`; [] when its code reaches no forbidden call."""
    return _Scanner(cells, policy).findings(name)


# ----------------------------------------------------------------------------- tampering

def _chain_flagged(full):
    """Does the dotted chain reach a tampering tool, from its start or from any module along it
    (``os.sys.modules`` is ``sys.modules``; ``numpy.core._internal.ctypes`` is ``ctypes``)?"""
    parts = full.split(".")
    for start in range(len(parts)):
        sub = ".".join(parts[start:])
        if any(fnmatch.fnmatchcase(sub, pattern) or sub.startswith(pattern + ".")
               for pattern in TAMPER_CHAINS):
            return True
        if start and parts[start] in TAMPER_MODULES - GENERIC_NAMES:
            return True
    return False


def _installed(module):
    top = module.split(".")[0]
    if top in sys.builtin_module_names or top in sys.stdlib_module_names:
        return True
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


HARMLESS_MAGICS = re.compile(r"^\s*%%?(matplotlib|time|timeit)\b(.*)$")


def _without_harmless_magics(source):
    """`%matplotlib inline` dropped; `%time x = f()` and a `%%timeit` cell read as their code."""
    lines = []
    for line in source.split("\n"):
        match = HARMLESS_MAGICS.match(line)
        if match is None:
            lines.append(line)
        elif match.group(1) != "matplotlib" and not line.lstrip().startswith("%%"):
            lines.append(re.sub(r"^(-\S+\s+)*", "", match.group(2).strip()))
    return "\n".join(lines)


def scan_tampering(cells):
    """Ways around the run-time record anywhere in `cells`; [] when there are none."""
    cells = [(number, _without_harmless_magics(source)) for number, source in cells]
    statements = _parse(cells)
    scanner = _Scanner(cells, ())
    out = []
    for number, stmt in statements:
        for node, parent, _ in _walk_with_locals(stmt):
            where = _where(number, node)
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                out += [f"{text} ({where})" for text in _tampering_imports(node)]
            elif isinstance(node, ast.Name) and node.id == "get_ipython":
                out.append(f"an IPython magic or `!` shell command ({where})")
            elif isinstance(node, ast.Name) and node.id in DYNAMIC:
                out.append(f"`{node.id}` ({where})")
            elif isinstance(node, ast.Attribute):
                out += [f"{text} ({where})" for text in _tampering_attribute(node, parent,
                                                                              scanner)]
            elif _is_call_of(node, ATTRIBUTE_BUILTINS):
                attr = node.args[1]
                if not (isinstance(attr, ast.Constant) and isinstance(attr.value, str)):
                    out.append(f"{node.func.id} with a computed attribute name ({where})")
                elif attr.value.startswith("_") or attr.value in TAMPER_ATTRIBUTES:
                    out.append(f"{node.func.id}(…, {attr.value!r}) ({where})")
            elif isinstance(node, ast.Name) and node.id in ATTRIBUTE_BUILTINS and not (
                    isinstance(parent, ast.Call) and parent.func is node):
                out.append(f"`{node.id}` passed around as a value ({where})")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                hidden = [d for d in DUNDER.findall(node.value) if d not in ALLOWED_DUNDERS
                          and d != "__main__"]
                if hidden:
                    out.append(f"the string {node.value[:60]!r}, which names {hidden[0]} "
                               f"({where})")
    return list(dict.fromkeys(out))


def _tampering_imports(node):
    """What an import statement brings in that could switch the record off."""
    modules = [a.name for a in node.names] if isinstance(node, ast.Import) else (
        [node.module or "."] if not node.level else ["(relative import)"])
    for module in modules:
        if module.split(".")[0] in TAMPER_MODULES or _chain_flagged(module):
            yield f"import of {module}"
        elif module == "(relative import)" or not _installed(module):
            yield f"import of {module}, which is not an installed package"
    if isinstance(node, ast.ImportFrom) and node.module:
        for alias in node.names:
            if _chain_flagged(f"{node.module}.{alias.name}"):
                yield f"from {node.module} import {alias.name}"


def _tampering_attribute(node, parent, scanner):
    """A dunder or introspection attribute, or a chain such as `torch._C` (longest only)."""
    if node.attr.startswith("__") and node.attr.endswith("__") and \
            node.attr not in ALLOWED_DUNDERS:
        yield f"`.{node.attr}`"
    elif node.attr in TAMPER_ATTRIBUTES:
        yield f"`.{node.attr}`"
    if not (isinstance(parent, ast.Attribute) and parent.value is node):
        parts = dotted(node)
        # through its imports (`S.modules` after `import sys as S`), and as written, whatever
        # its root is (`m.sys.modules` with `m` a parameter holding the os module)
        chains = sorted(scanner.resolve(parts)) + [".".join(parts)] if parts else []
        if any(_chain_flagged(full) for full in chains):
            yield f"{'.'.join(parts)}"
