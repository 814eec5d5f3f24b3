"""Hidden test inputs come from the course secret (``convlib.checks.hidden_rng`` /
``hidden_generator``), so a student who once learned them cannot hard-code them: another secret
gives every assignment other hidden inputs, the same secret the same ones (re-grading is
reproducible), no hidden region seeds a generator of its own, and the student notebooks carry
neither hidden regions nor the helpers."""

import ast
import copy
import re

import numpy as np
import pytest
import torch
from nbformat.v4 import new_code_cell

from autograder.source_notebook import free_names, strip_hidden
from convlib import checks, hidden
from tests.test_notebooks import (
    ASSIGNMENTS,
    grading,
    is_autograded_test,
    read,
    secret_regions,
    solution_path,
    student_path,
)

SECRET_A, SECRET_B = b"course secret A", b"course secret B"
HELPER = re.compile(r"\bhidden_(rng|generator|seed)\(")
# Hidden cases whose inputs are fixed by design (integer ramps chosen to catch truncation).
FIXED_BY_DESIGN = {
    "hidden integer image 6x4, 3x3 kernel, stride 1, padding 0",
    "hidden integer input (2, 5, 6), integer weight (2, 2, 2, 3), integer bias",
}
SEEDING = {"default_rng", "manual_seed", "seed", "RandomState", "Generator", "SeedSequence",
           "PCG64", "MT19937", "Philox", "SFC64"}
TORCH_DRAWS = {"rand", "randn", "randint", "randperm", "normal", "bernoulli", "multinomial"}


@pytest.fixture(autouse=True)
def no_secret_afterwards():
    yield
    checks.set_hidden_secret(None)


def hidden_test_cells():
    """(assignment, grade_id, source) of every autograded test cell with hidden tests."""
    return [(name, grading(cell)["grade_id"], cell.source)
            for name in ASSIGNMENTS for cell in read(solution_path(name)).cells
            if is_autograded_test(cell) and "### BEGIN HIDDEN TESTS" in cell.source]


def hidden_text(source):
    return "\n".join(secret_regions(new_code_cell(source)))


HIDDEN_CELLS = hidden_test_cells()
SEEDED_CELLS = [(a, g, s) for a, g, s in HIDDEN_CELLS if HELPER.search(hidden_text(s))]


# ----------------------------------------------------------------------------- running a cell

def plain(x):
    """Arguments as comparable plain data (tensors as numpy arrays)."""
    if isinstance(x, torch.Tensor):
        return x.detach().numpy().copy()
    if isinstance(x, np.ndarray):
        return x.copy()
    if isinstance(x, (tuple, list)):
        return tuple(plain(v) for v in x)
    return copy.deepcopy(x)


def same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and bool(np.array_equal(a, b)))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def run_cell(source, secret, monkeypatch):
    """Run a test cell under ``secret`` with every student function (its free names) a stub
    that records the arguments it receives, and check_function replaced by a loop that only
    makes the calls. Returns ([(case label, arguments)], [labels given to hidden_seed])."""
    case_labels, received, seed_labels = [], [], []
    seed = checks.hidden_seed

    def recording_seed(label):
        seed_labels.append(label)
        return seed(label)

    def calling_each_case(fn, cases, reference, **kwargs):
        for label, args in cases:
            case_labels.append(label)
            fn(*args)

    def stub(*args):
        received.append(plain(args))

    with monkeypatch.context() as patch:
        patch.setattr(hidden, "hidden_seed", recording_seed)  # what hidden_rng/_generator call
        patch.setattr(checks, "check_function", calling_each_case)
        checks.set_hidden_secret(secret)
        try:
            exec(compile(source, "<test cell>", "exec"), {n: stub for n in free_names(source)})
        finally:
            checks.set_hidden_secret(None)
    assert len(case_labels) == len(received)
    return list(zip(case_labels, received, strict=True)), seed_labels


def hidden_cases(source, secret, monkeypatch):
    """The (label, arguments) the hidden region adds to those of the visible cell."""
    visible, _ = run_cell(strip_hidden(source), secret, monkeypatch)
    everything, seed_labels = run_cell(source, secret, monkeypatch)
    assert all(la == lb and same(xa, xb) for (la, xa), (lb, xb)
               in zip(everything, visible, strict=False)), "the visible cases changed"
    return everything[len(visible):], seed_labels


def cases_the_secret_does_not_change(source, monkeypatch):
    """Hidden cases (not fixed by design) whose inputs are the same under two secrets."""
    under_a, _ = hidden_cases(source, SECRET_A, monkeypatch)
    under_b, _ = hidden_cases(source, SECRET_B, monkeypatch)
    assert [label for label, _ in under_a] == [label for label, _ in under_b]
    return [label for (label, a), (_, b) in zip(under_a, under_b, strict=True)
            if label not in FIXED_BY_DESIGN and same(a, b)]


# ----------------------------------------------------------------------------- the helpers

def test_hidden_seed_is_the_hmac_of_the_label_keyed_with_the_secret():
    label = "02_conv2d/test_conv2d_hidden/12x10"
    without = checks.hidden_seed(label)
    assert without == checks.hidden_seed(label)
    assert without != checks.hidden_seed("02_conv2d/test_conv2d_hidden/8x8")
    checks.set_hidden_secret(SECRET_A)
    a = checks.hidden_seed(label)
    checks.set_hidden_secret(SECRET_B)
    b = checks.hidden_seed(label)
    checks.set_hidden_secret(SECRET_A)
    assert checks.hidden_seed(label) == a
    assert len({without, a, b}) == 3
    assert all(0 <= s < 2 ** 64 for s in (without, a, b))


def test_hidden_rng_and_generator_are_seeded_with_hidden_seed():
    label = "03_stride_padding/test_conv2d_strided_hidden/8x5"
    checks.set_hidden_secret(SECRET_A)
    seed = checks.hidden_seed(label)
    np.testing.assert_array_equal(checks.hidden_rng(label).normal(size=5),
                                  np.random.default_rng(seed).normal(size=5))
    torch.testing.assert_close(torch.randn(5, generator=checks.hidden_generator(label)),
                               torch.randn(5, generator=torch.Generator().manual_seed(seed)))


@pytest.mark.parametrize("secret, error", [("text", TypeError), (b"", ValueError)])
def test_a_secret_that_is_not_non_empty_bytes_is_refused_with_what_to_do(secret, error):
    with pytest.raises(error, match="encode|None"):
        checks.set_hidden_secret(secret)
    assert checks.hidden_seed("x") == checks.hidden_seed("x")  # still no secret


def test_a_label_must_be_a_non_empty_string():
    with pytest.raises(TypeError, match="02_conv2d/test_conv2d_hidden/12x10"):
        checks.hidden_seed(12)


# ----------------------------------------------------------------------------- the notebooks

def test_every_assignment_seeds_its_hidden_inputs_from_the_secret():
    assert {a for a, _, _ in SEEDED_CELLS} == set(ASSIGNMENTS)


@pytest.mark.parametrize("assignment, grade_id, source", SEEDED_CELLS,
                         ids=[f"{a}/{g}" for a, g, _ in SEEDED_CELLS])
def test_another_secret_gives_other_hidden_inputs_and_the_same_secret_the_same(
        assignment, grade_id, source, monkeypatch):
    first, labels = hidden_cases(source, SECRET_A, monkeypatch)
    again, _ = hidden_cases(source, SECRET_A, monkeypatch)
    instructor, _ = hidden_cases(source, None, monkeypatch)
    assert first and len(again) == len(first) == len(instructor)
    for (label, a), (_, b) in zip(first, again, strict=True):
        assert same(a, b), f"{label}: the same secret gave other inputs"
    assert cases_the_secret_does_not_change(source, monkeypatch) == []
    changed_from_instructor = [label for (label, a), (_, b) in zip(first, instructor, strict=True)
                               if not same(a, b)]
    assert changed_from_instructor, "the graded inputs equal the instructor's (no-secret) ones"
    assert labels and all(label.startswith(f"{assignment}/{grade_id}/") for label in labels), \
        labels


def test_hidden_input_labels_are_unique_across_the_course(monkeypatch):
    labels = []
    for _, _, source in SEEDED_CELLS:
        labels += run_cell(source, SECRET_A, monkeypatch)[1]
    assert len(labels) == len(set(labels)), sorted(labels)


def own_randomness(hidden):
    """Calls in a hidden region that seed a generator or draw from a global one."""
    found = []
    for node in ast.walk(ast.parse(hidden)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        dotted = ast.unparse(func)
        if name in SEEDING:
            found.append(ast.unparse(node))
        elif re.match(r"(np|numpy)\.random\.", dotted):
            found.append(ast.unparse(node))
        elif re.fullmatch(r"torch\.\w+", dotted) and name in TORCH_DRAWS and not any(
                k.arg == "generator" for k in node.keywords):
            found.append(ast.unparse(node))
    return found


@pytest.mark.parametrize("assignment, grade_id, source", HIDDEN_CELLS,
                         ids=[f"{a}/{g}" for a, g, _ in HIDDEN_CELLS])
def test_no_hidden_region_seeds_or_draws_from_a_generator_of_its_own(assignment, grade_id,
                                                                      source):
    assert own_randomness(hidden_text(source)) == []


def with_literal_seeds(source):
    """The cell as it was before the secret: the helpers replaced by literal seeds."""
    source = re.sub(r'hidden_rng\(f?"[^"]*"\)', "np.random.default_rng(2026)", source)
    return re.sub(r'hidden_generator\(f?"[^"]*"\)', "torch.Generator().manual_seed(2026)", source)


@pytest.mark.parametrize("assignment, grade_id, source", SEEDED_CELLS,
                         ids=[f"{a}/{g}" for a, g, _ in SEEDED_CELLS])
def test_a_literal_seed_put_back_is_caught_by_both_checks(assignment, grade_id, source,
                                                          monkeypatch):
    mutated = with_literal_seeds(source)
    assert mutated != source
    assert own_randomness(hidden_text(mutated))
    assert cases_the_secret_does_not_change(mutated, monkeypatch)


@pytest.mark.parametrize("assignment, grade_id, source", SEEDED_CELLS,
                         ids=[f"{a}/{g}" for a, g, _ in SEEDED_CELLS])
def test_a_seed_put_back_through_a_variable_is_caught_too(assignment, grade_id, source,
                                                          monkeypatch):
    marker = "### BEGIN HIDDEN TESTS\n"
    mutated = with_literal_seeds(source.replace(marker, marker + "seed = 7\n"))
    mutated = mutated.replace("default_rng(2026)", "default_rng(seed)").replace(
        "manual_seed(2026)", "manual_seed(seed)")
    assert "(seed)" in mutated
    assert own_randomness(hidden_text(mutated))
    assert cases_the_secret_does_not_change(mutated, monkeypatch)


# ----------------------------------------------------------------------------- students

@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_student_notebooks_have_no_hidden_region_and_never_see_the_helpers_or_a_secret(name):
    text = "\n".join(cell.source for cell in read(student_path(name)).cells)
    assert "HIDDEN TESTS" not in text
    for name in ("hidden_rng", "hidden_generator", "hidden_seed", "set_hidden_secret"):
        assert name not in text, name


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_no_notebook_sets_the_secret(name):
    assert all("set_hidden_secret" not in cell.source
               for cell in read(solution_path(name)).cells)
