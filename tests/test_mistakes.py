"""One vocabulary of mistakes (convlib.mistakes): every code that a check, a notebook's test
cell, the grader or the catalogue of submissions uses has a title and an explanation there, and
feedback, export and the report show that title."""

import ast
import re
from pathlib import Path

import nbformat

from autograder.feedback import mistake_text
from convlib import checks, mistakes
from tests.fixtures import submissions as S

ROOT = Path(__file__).resolve().parent.parent
# mistake="code", fail("code", ...), and (in checks.py and the notebooks) the keys of
# mistakes={"code": ...}
USES = re.compile(r'(?:mistake=|fail\()\\?"([a-z_]+)\\?"|\\?"([a-z_]+)\\?": *[(_]')


def used_codes():
    codes = {}
    files = [*ROOT.glob("convlib/**/*.py"), *ROOT.glob("autograder/**/*.py"),
             *ROOT.glob("solutions/*/*.ipynb")]
    for path in files:
        if path.name == "mistakes.py":
            continue
        for match in USES.finditer(path.read_text()):
            code = match.group(1) or match.group(2)
            in_a_mistakes_dict = (path.suffix == ".ipynb" or path.name == "checks.py") and \
                "mistakes" in path.read_text()[max(0, match.start() - 400):match.start()]
            if match.group(1) or in_a_mistakes_dict:
                codes.setdefault(code, path.relative_to(ROOT).as_posix())
    for mistakes_of in (checks.conv1d_mistakes, checks.conv2d_mistakes):
        codes.update(dict.fromkeys(mistakes_of(), "convlib/checks.py"))
    codes.update({v.mistake: "tests/fixtures/submissions.py" for v in S.VARIANTS.values()
                  if v.mistake})
    return codes


def test_every_mistake_code_in_use_is_in_the_vocabulary():
    unknown = {code: where for code, where in used_codes().items()
               if code not in mistakes.MISTAKES}
    assert not unknown, f"add these to convlib/mistakes.py: {unknown}"


def test_the_scan_finds_the_codes_it_should():
    """The test above is only as good as its scan: it must see the codes written in code and in
    the notebooks' test cells."""
    codes = used_codes()
    for code in ("kernel_flipped", "forbidden_call", "not_implemented", "input_modified",
                 "forgot_bias", "kernel_not_flipped"):
        assert code in codes, code


def test_checks_feedback_and_tables_speak_from_the_one_vocabulary():
    for code, mistake in mistakes.MISTAKES.items():
        assert mistake.title and mistake_text(code) == mistake.title
        assert checks.EXPLANATIONS[code] == mistake.explanation
    assert mistake_text(None) == "" and mistake_text("brand_new") == "brand new"
    assert not hasattr(__import__("autograder.feedback").feedback, "MISTAKES")


# the checks' own message says all there is to say about these
SELF_EXPLAINING = {"wrong_type", "raised_error"}


def _code_entries(source):
    """Every ``"code": value`` entry of a dict display in Python source (IPython magics and
    shell lines blanked), as (code, value node)."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line
             for line in source.splitlines()]
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    yield key.value, value


def _explains(value):
    """Is this entry ``(wrong value, "explanation")``, with a non-empty explanation?"""
    if not (isinstance(value, ast.Tuple) and len(value.elts) == 2):
        return False
    text = value.elts[1]
    return (isinstance(text, ast.Constant) and isinstance(text.value, str) and
            text.value.strip() != "") or isinstance(text, ast.JoinedStr)


def test_a_code_without_an_explanation_is_explained_wherever_it_is_used():
    """An empty explanation in the vocabulary is allowed only for a code whose explanation
    depends on the exercise: then each place that names it as a candidate mistake (a notebook's
    test cell, convlib's mistake library) must give one, as ``"code": (wrong, "explanation")``."""
    unexplained = {code for code, m in mistakes.MISTAKES.items() if not m.explanation}
    sources = [cell.source for path in sorted(ROOT.glob("solutions/*/*.ipynb"))
               for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    sources += [path.read_text() for path in [*(ROOT / "convlib" / "mistake_library").glob("*.py"),
                                              ROOT / "convlib" / "checks.py"]]
    entries = [(code, value) for source in sources for code, value in _code_entries(source)]
    for code in sorted(unexplained - SELF_EXPLAINING):
        uses = [value for key, value in entries if key == code]
        assert uses, f"{code} is never explained: explain it in convlib/mistakes.py"
        for value in uses:
            assert _explains(value), f"{code} without an explanation at: {ast.unparse(value)}"


def test_the_explanation_scan_sees_an_entry_without_one():
    entries = dict(_code_entries('m = {"a": (1, "Why a is wrong."), "b": 2, "c": (3, "")}\n'
                                 '%matplotlib inline\n'))
    assert _explains(entries["a"]) and not _explains(entries["b"])
    assert not _explains(entries["c"])
