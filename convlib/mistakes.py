"""The course's vocabulary of mistakes: one code per likely mistake, with its short title (for
tables: the feedback page, the class report, the exports) and its explanation (for the student,
in the failed check's message).

Every check that diagnoses a mistake (convlib.checks, the notebooks' test cells, the grader)
names it by one of these codes; `tests/test_mistakes.py` fails when a code is used anywhere
without an entry here. A test cell may give a more specific explanation of its own
(``mistakes={"forgot_bias": (9, "…")}``); the title still comes from here.
"""

import os
import sys
import traceback
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
        "Your output is the cross-correlation: the kernel was not flipped. True convolution "
        "flips it on both axes (K[::-1, ::-1]) before sliding it."),
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
        "Your output misses the last position(s): count the positions from the sizes, "
        "O = (N - F + 2P) // S + 1 (N - F + 1 for a valid convolution at stride 1), and let the "
        "loop run over range(O)."),
    "output_too_large": Mistake(
        "output too large (windows run past the edge, or padding added)",
        "Your output has too many positions: a window must lie inside the (padded) input, so "
        "there are only O = (N - F + 2P) // S + 1 of them (N - F + 1 without padding, at stride "
        "1)."),
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
    "bias_forgotten": Mistake(
        "bias forgotten in the parameter count",
        "Each output channel also has one bias (unless bias=False)."),
    "bias_counted": Mistake(
        "bias counted although bias=False",
        "bias=False: this layer has no biases."),
    "no_floor": Mistake(
        "output size not rounded down (the floor in the formula)",
        "The stride does not divide N - F + 2P here, and you kept the fraction. A window that "
        "would stick out is not a position: round down with // (floor division)."),
    "rounded_up": Mistake(
        "output size rounded up instead of down",
        "You rounded up. The last window must fit completely: round DOWN (floor)."),
    "rounded_to_nearest": Mistake(
        "output size rounded to the nearest whole number instead of down",
        "round() goes to the nearest whole number (and x.5 to the even one), so a fraction such "
        "as 2.67 becomes 3, one window too many: a window that would stick out is not a "
        "position. Round DOWN with // (floor division)."),
    "stride_ignored": Mistake(
        "stride left out (stride 1 used)",
        "You left the stride out: with stride S the window jumps S pixels, so there are "
        "O = (N - F + 2P) // S + 1 positions and window i starts at i * S, not at i."),
    "groups_ignored": Mistake(
        "groups ignored (each filter sees only its group's channels)",
        "With groups=g each kernel sees only C_in / g input channels."),
    "flipped_one_axis": Mistake(
        "kernel flipped along one axis only (flip both)",
        "The kernel was flipped along one axis only (flipud or fliplr): flip it upside down "
        "AND left to right."),
    "padding_ignored": Mistake(
        "padding left out",
        "You left the padding out: P zeros are added on EACH side first, so the input is "
        "N + 2P wide and O = (N - F + 2P) // S + 1."),
    "strides_ignored": Mistake(
        "strides ignored in the receptive field",
        "You added up F - 1 per layer but ignored the strides: after a stride-S layer, one "
        "step of the next layer spans S input pixels."),
    "own_stride_used": Mistake(
        "a layer's own stride used to widen its own field",
        "A layer's own stride does not widen its own field; multiply by the strides of the "
        "layers BEFORE it (update the jump after adding)."),
    "input_channels_forgotten": Mistake("input channels left out of the cost", ""),
    "output_channels_forgotten": Mistake("output channels left out of the cost", ""),
    # 03, 04, 06: mistakes of the stride, channel and going-further exercises
    "padding_once": Mistake(
        "padding counted on one side only (P instead of 2P)",
        "Padding P is added on BOTH sides of the input: the formula has 2P."),
    "no_plus_one": Mistake(
        "the first window position not counted (+ 1 missing)",
        "Count the first position (start 0) too: the formula ends with + 1."),
    "stride_applied_to_all": Mistake(
        "the + 1 divided by the stride too",
        "Divide only N - F + 2P by the stride, then add 1."),
    "dilation_ignored": Mistake(
        "dilation ignored (F used where the dilated span F' is needed)",
        "A dilated kernel spans F' = D(F - 1) + 1 pixels; use F' for F."),
    "window_not_strided": Mistake(
        "output (i, j) reads the window at (i, j), not at (i*S, j*S)",
        "Your output has the right size, but output (i, j) reads the window at row i, column j. "
        "With a stride S it starts at row i*S, column j*S (i*sh, j*sw for a pair)."),
    "stride_pair_swapped": Mistake(
        "stride pair swapped (rows and columns)",
        "You used the column stride for rows: stride=(sh, sw) is (rows, columns)."),
    "padding_pair_swapped": Mistake(
        "padding pair swapped (rows and columns)",
        "You used the column padding for rows: padding=(ph, pw) is (rows, columns)."),
    "weight_axes_swapped": Mistake(
        "weight read as (C_in, C_out, ...) instead of (C_out, C_in, ...)",
        "You used weight[:, o] (or weight[c, o]): PyTorch's weight is (C_out, C_in, kH, kW), so "
        "output channel o uses weight[o], and weight[o, c] is its slice for input channel c."),
    "bias_missing": Mistake(
        "bias not added",
        "Your values are off by exactly the bias: add bias[o] to every pixel of output "
        "channel o."),
    "bias_added_per_channel": Mistake(
        "bias added once per input channel",
        "You added the bias once per input channel: add bias[o] once, after summing the "
        "channels."),
    "last_channel_only": Mistake(
        "only the last input channel kept (= instead of +=)",
        "Your output is what the LAST input channel alone gives: the result for each channel was "
        "assigned (=) instead of added (+=). Sum over all input channels."),
    "channels_not_summed": Mistake(
        "one result per input channel, not summed",
        "You kept one result per input channel; one kernel gives ONE output channel: sum the "
        "C_in partial results."),
    "channels_averaged": Mistake(
        "input channels averaged instead of summed",
        "You averaged over the input channels: sum them, do not divide."),
    "batch_dropped": Mistake(
        "a batch answered with the first image only",
        "For a batch (N, C_in, H, W) return (N, C_out, H_out, W_out): one result per image."),
    "in_channels_ignored": Mistake(
        "input channels left out of the parameter count",
        "Each kernel spans all C_in input channels (of its group): K * K * C_in weights per "
        "kernel."),
    "kernel_not_squared": Mistake(
        "K instead of K * K weights per channel",
        "A K x K kernel has K * K weights per channel."),
    "kernels_added": Mistake(
        "receptive field grown by F instead of F - 1 per layer",
        "Each layer widens the field by F - 1, not F (neighbouring windows overlap), and the "
        "field starts at 1."),
    "patches_in_column_order": Mistake(
        "patch-matrix rows in the wrong order",
        "The windows are right but land in the wrong places: row i * W_out + j of P must be the "
        "window at (i, j), and the result reshaped to (H_out, W_out) in the same (row-major) "
        "order."),
    "valid_output_size": Mistake("the output size of an unpadded layer used for a padded one", ""),
    "forward_formula": Mistake(
        "the forward convolution's size formula used for a transposed convolution", ""),
    # 07 backward
    "grad_flip_forgotten": Mistake(
        "dL/dX with the kernel the wrong way round",
        "Your input gradient has the kernel turned the wrong way round: dL/dX[p, q] adds "
        "dL/dY[i, j] * K[p - i, q - j]. Either stamp dL/dY[i, j] * K onto the window of "
        "output (i, j), the kernel as it is (the scatter form), or slide the kernel FLIPPED on "
        "both axes over the zero-padded dL/dY (the full convolution): one flip in the sliding "
        "form, none in the scatter form."),
    "grad_valid_not_full": Mistake(
        "dL/dX with 'valid' instead of 'full' padding",
        "Your input gradient is too small: dL/dX has the shape of X, so dL/dY must be padded "
        "with kH - 1 rows and kW - 1 columns of zeros on every side ('full') before sliding "
        "the flipped kernel; border pixels of X get gradient from fewer windows, not none."),
    "grad_flip_added": Mistake(
        "dL/dK flipped",
        "Your kernel gradient is flipped: dL/dK = X ⋆ dL/dY is a cross-correlation, with no "
        "flip (dL/dK[a, b] adds X[i + a, j + b] times dL/dY[i, j]); only dL/dX flips."),
    "grad_wrong_axis": Mistake(
        "a gradient summed over the wrong axis",
        "You summed over the wrong axis: dL/db[o] adds dL/dY[n, o, i, j] over the batch n and "
        "the positions (i, j), keeping the output channel o; dL/dx[n, c] adds over the output "
        "channels o, using weight[o, c]."),
    "grad_stride_ignored": Mistake(
        "stride ignored in the backward pass",
        "Your gradient treats the layer as stride 1: output (i, j) read the window starting "
        "at (i * stride, j * stride), so its gradient goes back there (equivalently, dL/dY "
        "is dilated: stride - 1 zeros between its entries)."),
    "grad_leftover_dropped": Mistake(
        "dL/dx without the rows and columns no window reached",
        "With a stride, the last rows or columns of x that no window reached still belong to x: "
        "dL/dx has the shape of x, with zeros there (fill up the bottom and the right)."),
    "grad_bias_mean": Mistake(
        "dL/db averaged instead of summed",
        "Your bias gradient is the mean of dL/dY. The bias was added to every output, so every "
        "entry of dL/dY adds its share: dL/db is the SUM of dL/dY, not divided by the number of "
        "its entries."),
    "gradients_out_of_order": Mistake(
        "the gradients returned in the wrong order",
        "One of your gradients is in another's place: return them in the order the exercise "
        "asks for, the input's first, then the kernel's (weight's), then the bias's: "
        "(dX, dK, db), or (grad_x, grad_weight, grad_bias)."),
    "grad_wrong_shape": Mistake(
        "a gradient of the wrong shape",
        "A gradient has the shape of what it is the gradient of: dL/dX that of X, dL/dK that "
        "of the kernel (the weight), dL/db one number per output channel (one number for a "
        "single channel)."),
    "grad_batch_not_summed": Mistake(
        "weight or bias gradient not summed over the batch",
        "The same weights and bias serve every image of the batch, so their gradients add up "
        "the contributions of all N images: sum over axis 0 too (not the first image, not the "
        "mean)."),
    "rel_error_one_sided": Mistake(
        "relative error divided by one side only",
        "Divide by max(|a|, |b|), not by |a| or |b| alone: the relative error must not depend "
        "on which argument comes first."),
    "rel_error_sum_denominator": Mistake(
        "relative error divided by |a| + |b|",
        "Divide by max(|a|, |b|) (CS231n's relative error), not by |a| + |b|."),
    "rel_error_not_relative": Mistake(
        "absolute error instead of relative error",
        "That is the absolute error |a - b|; divide it by max(|a|, |b|)."),
    "rel_error_signed": Mistake(
        "relative error with a sign",
        "Take the absolute value of the difference: an error is never negative."),
    "rel_error_zero_division": Mistake(
        "relative error of 0 / 0 left as NaN",
        "Where a and b are both 0 they agree exactly: the relative error there is 0, not NaN "
        "(np.where, or divide only where the denominator is non-zero)."),
    "grad_step_not_halved": Mistake(
        "centred difference divided by h instead of 2h",
        "Your numerical gradient is twice the right one: L(x + h) - L(x - h) spans 2h, so "
        "divide by 2 * h."),
    "grad_one_sided": Mistake(
        "one-sided difference (L(x + h) - L(x)) / h instead of the centred one",
        "Your numerical gradient is a one-sided difference, (L(x + h) - L(x)) / h or "
        "(L(x) - L(x - h)) / h: where L curves it is off by about h / 2 times the curvature "
        "(its error shrinks only like h). Take the centred difference "
        "(L(x + h) - L(x - h)) / (2h): its error shrinks like h squared."),
    "grad_all_perturbed": Mistake(
        "every entry nudged at once",
        "Every entry of your numerical gradient is the same number: nudge ONE entry of x at a "
        "time (x[idx] + h, x[idx] - h), put it back, then move on to the next entry."),
    # 08 pooling and the network
    "pool_stride_one": Mistake(
        "stride taken as 1 instead of the window size",
        "When stride is None it defaults to the window size (kernel_size), not 1: a 2x2 pool "
        "moves 2 pixels at a time and halves the image. Use stride = kernel_size if stride is "
        "None else stride."),
    "pool_padding_ignored": Mistake(
        "padding left out",
        "Pad the input by `padding` cells on every side before sliding the window (the output "
        "size is floor((H + 2p - k) / s) + 1)."),
    "pool_padded_with_zeros": Mistake(
        "max pooling padded with zeros instead of -inf",
        "Max pooling pads with -inf, so a padded cell never wins; with zeros, a window over "
        "negative values at the border returns 0 (and its gradient is lost in the padding). "
        "Use np.pad(..., constant_values=-np.inf)."),
    "avg_padding_excluded": Mistake(
        "padding left out of the average (torch counts it)",
        "torch's avg_pool2d counts the zero padding in the mean (count_include_pad=True): "
        "always divide by k * k, also for windows that overlap the padding."),
    "sum_not_mean": Mistake(
        "sum instead of mean over the window",
        "Your values are k * k times too large: average pooling divides the window's sum by "
        "the number of cells, k * k."),
    "pool_channels_mixed": Mistake(
        "channels mixed (one window spans every channel)",
        "Pooling works on each channel on its own: Y[n, c] depends only on x[n, c]. Take the "
        "max or mean over the window's rows and columns only, not over the channel axis."),
    "max_grad_to_every_tie": Mistake(
        "gradient sent to every tied maximum (torch: only the first)",
        "When several inputs of a window tie for the maximum, torch sends the whole gradient "
        "to the first of them in reading order (row by row); the others get 0."),
    "max_grad_to_last_tie": Mistake(
        "gradient sent to the last tied maximum (torch: the first)",
        "On a tie the gradient goes to the FIRST maximum in reading order: take the first "
        "index (np.argmax does), or compare with > rather than >= while scanning."),
    "max_grad_to_whole_window": Mistake(
        "gradient sent to every input of the window, not only the maximum",
        "Only the input that won the max affects the output, so only it gets the gradient; "
        "the other inputs of the window get 0."),
    "avg_grad_not_divided": Mistake(
        "average pooling's gradient not divided by k * k",
        "Each input counts 1 / (k * k) in the mean, so it gets grad_out / (k * k), not the "
        "whole grad_out."),
    "grad_overwritten": Mistake(
        "overlapping windows' gradients overwritten instead of added",
        "When windows overlap (stride < kernel_size) an input gets gradient from every window "
        "it is part of: add with +=, do not assign with =."),
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


_CONVLIB = os.path.dirname(os.path.abspath(__file__)) + os.sep


class CheckFailed(AssertionError):
    """A failed check: ``.mistake`` (short code), ``.case`` (which input) and a readable message."""

    def __init__(self, message, *, mistake="wrong_values", case=None):
        super().__init__(message)
        self.mistake = mistake
        self.case = case

    def _render_traceback_(self):
        """What IPython shows for a failed check (its hook for an exception's own display): the
        message, not a traceback through the checks; when the student's code raised, the lines
        of their code that error passed through, so they can see where it happened."""
        lines = [f"\x1b[0;31mCheckFailed\x1b[0m: {self}"]
        cause = self.__cause__
        if cause is not None:
            frames = [f for f in traceback.extract_tb(cause.__traceback__)
                      if not os.path.abspath(f.filename).startswith(_CONVLIB)]
            if frames:
                lines.append(f"{type(cause).__name__} was raised here:")
                for frame in frames[-4:]:
                    lines.append(f"  {_frame_place(frame)}, in {frame.name}")
                    if frame.line:
                        lines.append(f"    {frame.line}")
        return lines


def _frame_place(frame):
    """ "Cell In[7], line 3" for a notebook cell (as IPython writes it), else the file's name."""
    ipython = sys.modules.get("IPython")
    try:
        label = ipython.get_ipython().compile.format_code_name(frame.filename)
    except Exception:  # noqa: BLE001  (not in IPython, or an IPython without this helper)
        label = None
    where = " ".join(label) if label else os.path.basename(frame.filename)
    return f"{where}, line {frame.lineno}"


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
