"""Trusted static analysis for from-scratch exercises: does the student's function reach a
forbidden library call?

Works on the submission's source text only (nothing is imported or run). Starting from the
top-level definition of the function, it follows every name the function's code uses to the
cells' top-level statements that bind or mutate that name (imports, assignments, other
functions, classes, `np.sum = ...`), and reports in that reachable code:

  * `from ... import` and attribute chains that resolve, through import aliases and simple
    assignments (`F = torch.nn.functional`), to a forbidden name
    (`"torch.nn.functional.conv2d"`) or into a forbidden module (`"scipy.signal.*"`);
  * `getattr(obj, "name")` with a forbidden result, or with a computed name;
  * dynamic code: `eval`, `exec`, `compile`, `__import__`, `importlib`, `globals()`, `vars()`,
    `sys.modules`, `__builtins__`;
  * string constants equal to a forbidden name or its last part.

Cells that use the function in the student's own self-checks (comparing with scipy, say) are not
reachable from the function and do not count.
"""

from __future__ import annotations

import ast
import symtable

from convlib.checks import _dotted  # the same attribute-chain reader the self-check uses

DYNAMIC = {"eval", "exec", "compile", "__import__", "importlib", "globals", "vars", "locals",
           "__builtins__", "__loader__", "__spec__"}


def _transform(source):
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001
        return source


def _bound_names(stmt):
    """Names a top-level statement binds."""
    names = set()
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names.add(stmt.name)
    elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
        for alias in stmt.names:
            names.add(alias.asname or alias.name.split(".")[0])
    else:
        targets = []
        if isinstance(stmt, ast.Assign):
            targets = stmt.targets
        elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
            targets = [stmt.target]
        elif isinstance(stmt, (ast.For, ast.AsyncFor)):
            targets = [stmt.target]
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            targets = [item.optional_vars for item in stmt.items if item.optional_vars]
        for target in targets:
            for node in ast.walk(target):
                if isinstance(node, ast.Name):
                    names.add(node.id)
        if isinstance(stmt, (ast.If, ast.Try, ast.For, ast.While, ast.With)):
            for node in ast.walk(stmt):
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    names.add(node.name)
                elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
                elif isinstance(node, (ast.Import, ast.ImportFrom)):
                    names.update(a.asname or a.name.split(".")[0] for a in node.names)
    return names


def _mutated_roots(stmt):
    """Root names whose attributes or items a statement assigns (np.sum = ..., setattr(np, ...))."""
    roots = set()
    for node in ast.walk(stmt):
        if isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, ast.Store):
            base = node.value
            while isinstance(base, (ast.Attribute, ast.Subscript)):
                base = base.value
            if isinstance(base, ast.Name):
                roots.add(base.id)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("setattr", "delattr") and node.args:
            parts = _dotted(node.args[0])
            if parts:
                roots.add(parts[0])
    return roots


def _global_refs(stmt):
    """Names a top-level statement reads from the notebook's global namespace (function
    parameters and local variables excluded)."""
    try:
        table = symtable.symtable(ast.unparse(stmt), "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError):
        return {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)}
    refs = set()

    def visit(t, top):
        for sym in t.get_symbols():
            if sym.is_referenced() and (top or sym.is_global() or sym.is_declared_global()):
                refs.add(sym.get_name())
        for child in t.get_children():
            visit(child, False)

    visit(table, True)
    return refs


def _locals_of_functions(stmt):
    """Parameters and plain local variables of the functions and lambdas inside `stmt`."""
    params, assigned = set(), set()
    for node in ast.walk(stmt):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = node.args
            for arg in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg]:
                if arg is not None:
                    params.add(arg.arg)
            body = node.body if isinstance(node.body, list) else [node.body]
            for part in body:
                for sub in ast.walk(part):
                    if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                        assigned.add(sub.id)
    return params, assigned


class Scanner:
    def __init__(self, sources, forbidden):
        self.shadowed = set()
        self.forbidden = list(forbidden)
        self.exact = {f for f in self.forbidden if not f.endswith(".*")}
        self.prefixes = [f[:-2] for f in self.forbidden if f.endswith(".*")]
        self.statements = []  # (cell number, statement)
        for number, source in sources:
            try:
                tree = ast.parse(_transform(source))
            except (SyntaxError, ValueError):
                continue
            self.statements += [(number, stmt) for stmt in tree.body]
        self.aliases = {}
        for _, stmt in self.statements:
            for node in ast.walk(stmt):
                self._note_alias(node)
        assigns = [node for _, stmt in self.statements for node in ast.walk(stmt)
                   if isinstance(node, ast.Assign) and len(node.targets) == 1
                   and isinstance(node.targets[0], ast.Name)]
        for _ in range(3):  # F = torch.nn.functional; G = F
            for node in assigns:
                parts = _dotted(node.value)
                if parts:
                    for full in self._resolve(parts):
                        self.aliases.setdefault(node.targets[0].id, set()).add(full)

    def _note_alias(self, node):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.aliases.setdefault(alias.asname, set()).add(alias.name)
                else:
                    root = alias.name.split(".")[0]
                    self.aliases.setdefault(root, set()).add(root)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                self.aliases.setdefault(alias.asname or alias.name, set()).add(
                    f"{node.module}.{alias.name}")

    def _resolve(self, parts):
        roots = self.aliases.get(parts[0]) or set()
        return {".".join([root] + parts[1:]) for root in roots}

    def _hit(self, full, whole=False):
        """The forbidden entry `full` falls under, if any."""
        for entry in self.exact:
            if full == entry or full.startswith(entry + "."):
                return entry
        for prefix in self.prefixes:
            if full.startswith(prefix + "."):
                return full
            if whole and full == prefix:
                return prefix
        return None

    def reachable(self, name):
        binders, mutators = {}, {}
        for item in self.statements:
            for bound in _bound_names(item[1]):
                binders.setdefault(bound, []).append(item)
            for root in _mutated_roots(item[1]):
                mutators.setdefault(root, []).append(item)
        seen_names, todo, found = set(), [name], []
        seen_ids = set()
        while todo:
            current = todo.pop()
            if current in seen_names:
                continue
            seen_names.add(current)
            for item in binders.get(current, []) + mutators.get(current, []):
                if id(item[1]) in seen_ids:
                    continue
                seen_ids.add(id(item[1]))
                found.append(item)
                todo.extend(_global_refs(item[1]))
        return found

    def scan(self, name):
        findings = []
        for number, stmt in self.reachable(name):
            params, assigned = _locals_of_functions(stmt)
            self.shadowed = params | (assigned - set(self.aliases))
            parents = {}
            for node in ast.walk(stmt):
                for child in ast.iter_child_nodes(node):
                    parents[child] = node
            for node in ast.walk(stmt):
                where = f"cell {number}, line {getattr(node, 'lineno', '?')}"
                for text in self._check_node(node, parents, name):
                    findings.append(f"{text} ({where})")
        return list(dict.fromkeys(findings))

    def _check_node(self, node, parents, name):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if self._hit(full, whole=True) or self._hit(node.module, whole=True):
                    yield f"from {node.module} import {alias.name}"
        elif isinstance(node, (ast.Name, ast.Attribute)):
            parent = parents.get(node)
            if isinstance(parent, ast.Attribute) and parent.value is node:
                return  # only the longest chain counts
            parts = _dotted(node)
            if not parts or parts[0] in self.shadowed:
                return  # a parameter or local variable, e.g. `kernel`, not a module
            if isinstance(node, ast.Name) and node.id in DYNAMIC:
                yield f"dynamic code `{node.id}`"
                return
            if parts[-1] in ("__import__", "__builtins__", "__dict__", "__getattribute__"):
                yield f"dynamic lookup `{'.'.join(parts)}`"
            if parts[:2] == ["sys", "modules"] or parts[0] == "importlib":
                yield f"dynamic lookup `{'.'.join(parts)}`"
            for full in self._resolve(parts):
                if full.startswith("importlib") or full in ("sys.modules", "builtins"):
                    yield f"dynamic lookup `{'.'.join(parts)}`"
                hit = self._hit(full, whole=True)
                if hit:
                    yield f"{'.'.join(parts)} (= {hit})" if ".".join(parts) != hit else hit
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("getattr", "hasattr") and len(node.args) >= 2:
            attr = node.args[1]
            if not (isinstance(attr, ast.Constant) and isinstance(attr.value, str)):
                yield "getattr with a computed attribute name"
                return
            parts = _dotted(node.args[0])
            if parts and parts[0] not in self.shadowed:
                for full in self._resolve(parts + [attr.value]):
                    hit = self._hit(full, whole=True)
                    if hit:
                        yield f"getattr({'.'.join(parts)}, {attr.value!r}) (= {hit})"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.strip()
            if not text or text == name or " " in text:
                return
            for entry in self.forbidden:
                last = entry[:-2].rsplit(".", 1)[-1] if entry.endswith(".*") else \
                    entry.rsplit(".", 1)[-1]
                if text in (entry, entry[:-2]) or (text == last and not entry.endswith(".*")):
                    yield f"the string {text!r} (= {entry})"
                    break


def scan_from_scratch(sources, name, forbidden):
    """Findings (human-readable, with cell and line) for function `name`; [] when clean.

    sources: list of (cell number, source text) of the cells the student's process ran.
    """
    return Scanner(sources, forbidden).scan(name)
