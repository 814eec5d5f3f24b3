"""The shape of the code itself: no module defines the same top-level name twice.

A second ``def _mean`` further down a module silently replaces the first for every caller above
it (ruff's F811 only sees a redefinition when the first was never used). Several sections of
``convlib.mistake_library`` are written by different hands; this is where such a clash shows.
"""

import ast
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(p for folder in ("convlib", "autograder") for p in (ROOT / folder).rglob("*.py"))


def top_level_definitions(tree):
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.name


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_defines_a_function_or_class_twice(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    twice = sorted(name for name, n in Counter(top_level_definitions(tree)).items() if n > 1)
    assert not twice, f"{path.relative_to(ROOT)} defines {twice} more than once"


def test_the_check_sees_a_redefinition():
    tree = ast.parse("def _mean(x):\n    pass\n\nuse = _mean\n\ndef _mean(w):\n    pass\n")
    assert Counter(top_level_definitions(tree))["_mean"] == 2
