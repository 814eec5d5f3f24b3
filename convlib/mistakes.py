"""The course's vocabulary of mistakes: one code per likely mistake, with its short title (for
tables: the feedback page, the class report, the exports) and its explanation (for the student,
in the failed check's message).

Every check that diagnoses a mistake (convlib.checks, the notebooks' test cells, the grader)
names it by one of these codes; `tests/test_checks.py` fails when a code is used anywhere
without an entry here. A test cell may give a more specific explanation of its own
(``mistakes={"forgot_bias": (9, "…")}``); the title still comes from here.
"""

from typing import NamedTuple


class Mistake(NamedTuple):
    title: str        # a few words: "kernel flipped (…)"
    explanation: str  # what is wrong and what to do, addressed to the student ("" if the
                      # check's own message says it all)


MISTAKES = {
    "kernel_flipped": Mistake(
        "kernel flipped (that is true convolution; a CNN's conv2d does not flip)",
        "Your output is the kernel-flipped answer: that is true convolution; the exercise asks "
        "for cross-correlation (slide the kernel as it is, do not flip it)."),
    "kernel_not_flipped": Mistake(
        "kernel not flipped (that is cross-correlation, not true convolution)",
        "Your output is the cross-correlation: true convolution flips the kernel in both "
        "directions before sliding it."),
    "kernel_transposed": Mistake(
        "kernel transposed (rows and columns of the kernel swapped)",
        "Your output is what the transposed kernel gives: kernel[a, b] must multiply "
        "image[i + a, j + b], with a over the kernel's rows and b over its columns."),
    "transposed": Mistake(
        "output transposed (rows and columns swapped)",
        "Your output is transposed: rows and columns are swapped. Shapes are (rows, columns) = "
        "(H, W), and out[i, j] is row i, column j."),
    "padding_added": Mistake(
        "padding added where none was asked for",
        "Your output is what a zero-padded image gives; this exercise asks for a 'valid' "
        "result: no padding, the kernel always stays inside the input."),
    "mean_not_sum": Mistake(
        "mean instead of sum over the window",
        "Your values are the right ones divided by the number of kernel entries: sum the "
        "products, do not average them."),
    "integer_truncation": Mistake(
        "integer truncation (the output was made with an integer dtype)",
        "Your output holds whole numbers: it was created with an integer dtype, which truncates "
        "every value. Create it as floats (for example torch.zeros(..., dtype=torch.float32) "
        "or np.zeros(..., dtype=float))."),
    "output_too_small": Mistake(
        "output too small (a row/column of windows missed: off by one?)",
        "Your output misses the last position(s): a kernel of size F fits N - F + 1 times into "
        "N, so the loop must run over range(N - F + 1)."),
    "output_too_large": Mistake(
        "output too large (windows run past the edge, or padding added)",
        "Your output has too many positions: a kernel of size F fits only N - F + 1 times into "
        "N without padding."),
    "input_modified": Mistake(
        "the input was modified in place",
        "Your function changed its input in place; write into a new output and leave the "
        "arguments untouched."),
    "forgot_bias": Mistake(
        "bias forgotten (weights counted, biases not)",
        "Each filter has one bias besides its weights: add them to the count."),
    # the notebooks' own mistakes; their test cells give the explanation for each exercise
    "bias_per_input": Mistake("one bias per input instead of one per output", ""),
    "bias_ignored": Mistake("bias left out", ""),
    "bias_always": Mistake("a bias counted where the layer has none", ""),
    "bias_forgotten": Mistake("bias forgotten in the parameter count", ""),
    "bias_counted": Mistake("bias counted although bias=False", ""),
    "no_floor": Mistake("output size not rounded down (the floor in the formula)", ""),
    "rounded_up": Mistake("output size rounded up instead of down", ""),
    "groups_ignored": Mistake("groups ignored (each filter sees only its group's channels)", ""),
    "flipped_one_axis": Mistake("kernel flipped along one axis only (flip both)", ""),
    "padding_ignored": Mistake("padding left out of the output size", ""),
    "strides_ignored": Mistake("strides ignored in the receptive field", ""),
    "own_stride_used": Mistake("a layer's own stride used to widen its own field", ""),
    "input_channels_forgotten": Mistake("input channels left out of the cost", ""),
    "output_channels_forgotten": Mistake("output channels left out of the cost", ""),
    # 03, 04, 06: mistakes of the stride, channel and going-further exercises
    # 07 backward
    # 08 pooling and the network
    # the generic checks
    "wrong_shape": Mistake(
        "wrong output shape",
        "Check how the output size follows from the input and kernel sizes."),
    "wrong_values": Mistake(
        "wrong values",
        "Compare one output entry by hand with the formula."),
    "wrong_type": Mistake("wrong type returned", ""),
    "forbidden_call": Mistake(
        "called a library convolution instead of writing it from scratch",
        "This exercise is about writing the operation yourself."),
    "not_implemented": Mistake(
        "not implemented yet",
        "Replace `raise NotImplementedError()` with your code."),
    "raised_error": Mistake("the code raised an error", ""),
}

# code -> explanation, the form the checks use
EXPLANATIONS = {code: mistake.explanation for code, mistake in MISTAKES.items()}


def title(code):
    """The short title of a mistake code, for tables ("" for none; the code itself, spaced,
    for a code this vocabulary does not know)."""
    if not code:
        return ""
    return MISTAKES[code].title if code in MISTAKES else code.replace("_", " ")


def explanation(code):
    """What a student should read about a mistake code ("" when there is nothing to add)."""
    return MISTAKES[code].explanation if code in MISTAKES else ""


__all__ = ["EXPLANATIONS", "MISTAKES", "Mistake", "explanation", "title"]
