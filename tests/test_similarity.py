"""The similarity report (autograder.similarity, on copydetect): a copy with every name changed
and its helpers reordered is flagged; independent honest answers and the starter code are not."""

import itertools

from autograder.similarity import section_html, similar_pairs
from tests.fixtures import similar_answers as A


def test_a_copy_with_renamed_names_and_reordered_helpers_is_flagged():
    pairs = similar_pairs({"ana": A.LOOPS, "ben": A.RENAMED_COPY, "cy": A.UNFOLD}, A.STARTER,
                          "02_conv2d")
    assert [(p.first, p.second) for p in pairs] == [("ana", "ben")]
    assert min(pairs[0].shares) > 0.9


def test_independent_honest_answers_are_not_flagged():
    for (a, code_a), (b, code_b) in itertools.combinations(A.HONEST.items(), 2):
        assert similar_pairs({a: code_a, b: code_b}, A.STARTER) == [], (a, b)


def test_the_starter_code_alone_matches_nothing():
    """Students who changed nothing (or only wrote the signature they were given) share all of
    it, and none of it counts."""
    answers = {"dee": A.STARTER, "eve": A.STARTER, "fay": A.STARTER + "\n# not started\n"}
    assert similar_pairs(answers, A.STARTER) == []
    # without the starter removed, the same answers would be compared (and be alike)
    assert similar_pairs({"ana": A.LOOPS, "ben": A.LOOPS}, A.LOOPS) == []
    assert similar_pairs({"ana": A.LOOPS, "ben": A.LOOPS}, "") != []


def test_the_section_shows_both_answers_side_by_side_with_the_matching_lines_marked():
    pairs = similar_pairs({"ana": A.LOOPS, "ben": A.RENAMED_COPY}, A.STARTER, "02_conv2d")
    page = section_html(pairs)
    assert page.count("<pre>") == 2 and "<mark>" in page
    assert "patch_product" in page and "window_sum" in page
    assert "No pair reaches the threshold" in section_html([])
