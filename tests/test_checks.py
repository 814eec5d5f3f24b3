"""convlib.checks: purpose-built wrong implementations are diagnosed as the mistake they make;
honest implementations (loops, vectorised, numpy inside torch, FFT, float64) pass.

The oracle is torch.nn.functional.conv2d / numpy.correlate, independent of convlib."""

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import convlib.checks as checks
from convlib.checks import (
    FORBIDDEN_CONV_CALLS,
    CheckFailed,
    check_from_scratch,
    check_function,
    check_value,
    conv1d_mistakes,
    conv2d_mistakes,
)
from convlib.examples import seed_conv2d
from convlib.forbidden import is_forbidden
from convlib.from_scratch import passed_message

# ----------------------------------------------------------------------------- oracles


def torch_reference(image, kernel):
    x = torch.as_tensor(image, dtype=torch.float64)[None, None]
    k = torch.as_tensor(kernel, dtype=torch.float64)[None, None]
    return F.conv2d(x, k)[0, 0].to(torch.float32)


def numpy_reference_1d(x, k):
    return np.correlate(np.asarray(x, float), np.asarray(k, float), mode="valid")


RNG = np.random.default_rng(7)
IMAGE = torch.tensor(RNG.normal(size=(5, 7)) * 3, dtype=torch.float32)
KERNEL = torch.tensor([[1.5, -2.0], [0.25, 3.0], [-1.0, 0.5]], dtype=torch.float32)
CASES = [("the 5x7 image with an asymmetric 3x2 kernel", (IMAGE, KERNEL))]
SEQ = np.array([1.0, 2.5, -3.0, 4.0, 0.5, 2.0, -1.5])
K1 = np.array([1.0, 0.0, -2.5])
CASES_1D = [("the 7-long sequence with kernel [1, 0, -2.5]", (SEQ, K1))]


def check2d(fn, cases=CASES, **kwargs):
    check_function(fn, cases, torch_reference, name="conv2d", mistakes=conv2d_mistakes(),
                   **kwargs)


def check1d(fn):
    check_function(fn, CASES_1D, numpy_reference_1d, name="conv1d", mistakes=conv1d_mistakes())


def diagnosis(fn, checker=check2d):
    with pytest.raises(CheckFailed) as info:
        checker(fn)
    return info.value


# ----------------------------------------------------------------------------- honest versions


conv2d_loop = seed_conv2d  # the seeds' loop (convlib.examples)


def conv2d_vectorised(image, kernel):
    M, N = kernel.shape
    windows = image.unfold(0, M, 1).unfold(1, N, 1)
    return (windows * kernel).sum(dim=(-2, -1))


def conv2d_numpy_inside(image, kernel):
    x, k = image.numpy(), kernel.numpy()
    M, N = k.shape
    out = np.zeros((x.shape[0] - M + 1, x.shape[1] - N + 1))
    for a in range(M):
        for b in range(N):
            out += k[a, b] * x[a:a + out.shape[0], b:b + out.shape[1]]
    return torch.from_numpy(out.astype(np.float32))


def conv2d_fft(image, kernel):
    x, k = image.double().numpy(), kernel.double().numpy()
    H, W = x.shape
    M, N = k.shape
    spectrum = np.fft.rfft2(x) * np.conj(np.fft.rfft2(k, s=(H, W)))
    return torch.from_numpy(np.fft.irfft2(spectrum, s=(H, W))[:H - M + 1, :W - N + 1])


def conv2d_float64(image, kernel):
    return conv2d_loop(image.double(), kernel.double()).double()


def conv2d_float64_loop(image, kernel):
    H, W = image.shape
    M, N = kernel.shape
    out = torch.zeros(H - M + 1, W - N + 1, dtype=torch.float64)
    for i in range(H - M + 1):
        for j in range(W - N + 1):
            out[i, j] = torch.sum(image[i:i + M, j:j + N].double() * kernel.double())
    return out


@pytest.mark.parametrize("fn", [conv2d_loop, conv2d_vectorised, conv2d_numpy_inside, conv2d_fft,
                                conv2d_float64, conv2d_float64_loop])
def test_honest_conv2d_variants_pass_values_and_from_scratch(fn):
    check2d(fn)
    check_from_scratch(fn)


def test_honest_conv2d_passes_on_the_seed_hidden_sizes_with_integer_inputs():
    rng = np.random.default_rng(0)
    cases = [(f"hidden image {h}x{w}", (torch.tensor(rng.normal(size=(h, w)), dtype=torch.float32),
                                       torch.tensor(rng.normal(size=(3, 3)), dtype=torch.float32)))
             for h, w in [(8, 8), (12, 10), (10, 10), (12, 8)]]
    cases.append(("the integer 4x4 image", (torch.arange(16.0).reshape(4, 4),
                                            torch.tensor([[1.0, 1.0], [-1.0, -1.0]]))))
    check2d(conv2d_loop, cases)


def conv1d_loop(x, k):
    n = len(x) - len(k) + 1
    return np.array([sum(x[i + a] * k[a] for a in range(len(k))) for i in range(n)], dtype=float)


def conv1d_vectorised(x, k):
    windows = np.lib.stride_tricks.sliding_window_view(np.asarray(x, float), len(k))
    return windows @ np.asarray(k, float)


@pytest.mark.parametrize("fn", [conv1d_loop, conv1d_vectorised])
def test_honest_conv1d_variants_pass(fn):
    check1d(fn)
    check_from_scratch(fn)


# ----------------------------------------------------------------------------- each mistake


def conv2d_flipped(image, kernel):
    return conv2d_loop(image, torch.flip(kernel, dims=(0, 1)))


def conv2d_kernel_transposed(image, kernel):
    M, N = kernel.shape
    out = torch.zeros(image.shape[0] - M + 1, image.shape[1] - N + 1)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            for a in range(M):
                for b in range(N):
                    out[i, j] += image[i + a, j + b] * kernel[b, a]  # indices swapped
    return out


def conv2d_transposed_output(image, kernel):
    return conv2d_loop(image, kernel).T.contiguous()


def conv2d_same_padding(image, kernel):
    M, N = kernel.shape
    padded = F.pad(image, ((N - 1) // 2, N - 1 - (N - 1) // 2, (M - 1) // 2, M - 1 - (M - 1) // 2))
    return conv2d_loop(padded, kernel)


def conv2d_full_padding(image, kernel):
    M, N = kernel.shape
    return conv2d_loop(F.pad(image, (N - 1, N - 1, M - 1, M - 1)), kernel)


def conv2d_mean(image, kernel):
    return conv2d_loop(image, kernel) / kernel.numel()


def conv2d_int_dtype(image, kernel):
    return conv2d_loop(image, kernel).to(torch.int64)


def conv2d_truncated_values(image, kernel):
    return torch.trunc(conv2d_loop(image, kernel))


def conv2d_range_off_by_one_shape(image, kernel):
    return conv2d_loop(image, kernel)[:-1, :-1]


def conv2d_last_row_unfilled(image, kernel):
    out = conv2d_loop(image, kernel)
    out[-1, :] = 0
    return out


def conv2d_too_large(image, kernel):
    H, W = image.shape
    M, N = kernel.shape
    out = torch.zeros(H - M + 2, W - N + 2)
    out[:-1, :-1] = conv2d_loop(image, kernel)
    return out


def conv2d_modifies_input(image, kernel):
    image -= image.mean()
    return conv2d_loop(image + image.mean(), kernel)


def conv2d_stub(image, kernel):
    raise NotImplementedError()


def conv2d_crashes(image, kernel):
    return image[0:100, 0:100] @ kernel


def conv2d_returns_list(image, kernel):
    return conv2d_loop(image, kernel).tolist()


def conv2d_returns_numpy(image, kernel):
    return conv2d_loop(image, kernel).numpy()


def conv2d_returns_none(image, kernel):
    conv2d_loop(image, kernel)


def conv2d_half(image, kernel):
    return conv2d_loop(image, kernel).half()


def conv2d_noise(image, kernel):
    return conv2d_loop(image, kernel) + 0.5


@pytest.mark.parametrize("fn, mistake", [
    (conv2d_flipped, "kernel_flipped"),
    (conv2d_transposed_output, "transposed"),
    (conv2d_same_padding, "padding_added"),
    (conv2d_full_padding, "padding_added"),
    (conv2d_mean, "mean_not_sum"),
    (conv2d_int_dtype, "integer_truncation"),
    (conv2d_truncated_values, "integer_truncation"),
    (conv2d_range_off_by_one_shape, "output_too_small"),
    (conv2d_last_row_unfilled, "output_too_small"),
    (conv2d_too_large, "output_too_large"),
    (conv2d_modifies_input, "input_modified"),
    (conv2d_stub, "not_implemented"),
    (conv2d_crashes, "raised_error"),
    (conv2d_returns_list, "wrong_type"),
    (conv2d_returns_numpy, "wrong_type"),
    (conv2d_returns_none, "wrong_type"),
    (conv2d_half, "wrong_type"),
    (conv2d_noise, "wrong_values"),
])
def test_each_conv2d_mistake_is_diagnosed(fn, mistake):
    err = diagnosis(fn)
    assert err.mistake == mistake, str(err)
    assert err.case == CASES[0][0]
    assert str(err).startswith("conv2d on the 5x7 image with an asymmetric 3x2 kernel: ")


def test_message_states_shapes_error_location_and_the_mistake():
    message = str(diagnosis(conv2d_flipped))
    assert "expected shape (3, 6), got (3, 6)" in message
    assert "max error" in message and " at (" in message
    assert "kernel-flipped answer" in message and "cross-correlation" in message


def test_message_for_wrong_shape_names_both_shapes():
    message = str(diagnosis(conv2d_range_off_by_one_shape))
    assert "expected shape (3, 6), got (2, 5)" in message
    assert "N - F + 1" in message


def test_transposed_square_output_is_diagnosed_from_values():
    image = torch.tensor(RNG.normal(size=(6, 6)), dtype=torch.float32)
    kernel = torch.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0], [2.0, 0.25, -2.0]])
    with pytest.raises(CheckFailed) as info:
        check2d(conv2d_transposed_output, [("the square image", (image, kernel))])
    assert info.value.mistake == "transposed"


def test_kernel_indices_swapped_on_a_square_kernel_is_diagnosed():
    kernel = torch.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0], [2.0, 0.25, -2.0]])
    with pytest.raises(CheckFailed) as info:
        check2d(conv2d_kernel_transposed, [("the 5x7 image, 3x3 kernel", (IMAGE, kernel))])
    assert info.value.mistake == "kernel_transposed"


def test_mistake_that_equals_the_right_answer_is_not_blamed():
    """A flipped kernel is harmless when the kernel is symmetric under flipping."""
    symmetric = torch.tensor([[1.0, 2.0, 1.0], [0.5, -4.0, 0.5], [1.0, 2.0, 1.0]])
    check2d(conv2d_flipped, [("the symmetric kernel", (IMAGE, symmetric))])


def conv1d_flipped(x, k):
    return np.convolve(x, k, mode="valid")


def conv1d_same(x, k):
    return np.correlate(x, k, mode="same")


def conv1d_full(x, k):
    return np.correlate(x, k, mode="full")


def conv1d_mean(x, k):
    return conv1d_loop(x, k) / len(k)


def conv1d_short(x, k):
    return conv1d_loop(x, k)[:-1]


def conv1d_returns_torch(x, k):
    return torch.from_numpy(conv1d_loop(x, k))


def conv1d_int(x, k):
    return conv1d_loop(x, k).astype(int)


@pytest.mark.parametrize("fn, mistake", [
    (conv1d_flipped, "kernel_flipped"),
    (conv1d_same, "padding_added"),
    (conv1d_full, "padding_added"),
    (conv1d_mean, "mean_not_sum"),
    (conv1d_short, "output_too_small"),
    (conv1d_returns_torch, "wrong_type"),
    (conv1d_int, "integer_truncation"),
])
def test_each_conv1d_mistake_is_diagnosed(fn, mistake):
    err = diagnosis(fn, checker=check1d)
    assert err.mistake == mistake, str(err)


@settings(max_examples=40, deadline=None)
@given(h=st.integers(3, 9), w=st.integers(3, 9), m=st.integers(1, 3), n=st.integers(2, 3),
       seed=st.integers(0, 2**16))
def test_random_shapes_loop_passes_and_flip_is_named(h, w, m, n, seed):
    rng = np.random.default_rng(seed)
    image = torch.tensor(rng.normal(size=(h, w)), dtype=torch.float32)
    kernel = torch.tensor(rng.normal(size=(m, n)), dtype=torch.float32)
    cases = [(f"image {h}x{w}", (image, kernel))]
    check2d(conv2d_loop, cases)
    with pytest.raises(CheckFailed) as info:
        check2d(conv2d_flipped, cases)
    assert info.value.mistake == "kernel_flipped"


def test_custom_mistake_with_its_own_explanation():
    def doubled(image, kernel):
        return 2 * conv2d_loop(image, kernel)

    mistakes = {"doubled": (lambda x, k: 2 * torch_reference(x, k), "You count each window twice.")}
    with pytest.raises(CheckFailed) as info:
        check_function(doubled, CASES, torch_reference, name="conv2d", mistakes=mistakes)
    assert info.value.mistake == "doubled"
    assert str(info.value).endswith("You count each window twice.")


def test_number_returning_function_is_compared_as_a_number():
    def params(n_in, n_out):
        return n_in * n_out + n_out

    check_function(params, [("784 inputs, 1000 outputs", (784, 1000))],
                   lambda a, b: a * b + b, name="dense_params")
    check_function(lambda a, b: np.int64(a * b + b), [("784 -> 1000", (784, 1000))],
                   lambda a, b: a * b + b, name="dense_params")
    with pytest.raises(CheckFailed) as info:
        check_function(lambda a, b: a * b, [("784 inputs, 1000 outputs", (784, 1000))],
                       lambda a, b: a * b + b, name="dense_params")
    assert info.value.mistake == "wrong_values"
    assert "expected 785000, got 784000" in str(info.value)


# ----------------------------------------------------------------------------- check_value


def test_check_value_accepts_equal_numbers_tuples_strings_and_arrays():
    check_value(784000, 784_000, case="a 28x28 image", name="dense_params")
    check_value(784000.0, 784_000, case="a 28x28 image", name="dense_params")
    check_value([26, 26], (26, 26), case="28x28 with 3x3", name="out_shape")
    check_value(" Equivariance", "equivariance", case="the shift test", name="word")
    check_value(np.array([1.0, 2.0]), np.array([1.0, 2.0]), case="x", name="arr")


def test_check_value_names_known_wrong_answers_and_hides_the_answer_by_default():
    with pytest.raises(CheckFailed) as info:
        check_value(784, 784_000, case="a 28x28 image into 1000 neurons", name="dense_params",
                    mistakes={"forgot_neurons": (784, "Each of the 1000 neurons has 784 weights.")})
    assert info.value.mistake == "forgot_neurons"
    assert "784000" not in str(info.value) and "1000 neurons has 784 weights" in str(info.value)
    with pytest.raises(CheckFailed) as info:
        check_value(5, 784_000, case="c", name="dense_params")
    assert info.value.mistake == "wrong_values" and "784000" not in str(info.value)
    with pytest.raises(CheckFailed) as info:
        check_value(5, 784_000, case="c", name="dense_params", reveal=True)
    assert "expected 784000, got 5" in str(info.value)


def test_check_value_wrong_kind_and_missing_answer():
    with pytest.raises(CheckFailed) as info:
        check_value("26", (26, 26), case="c", name="out_shape")
    assert info.value.mistake == "wrong_type"
    with pytest.raises(CheckFailed) as info:
        check_value(None, 9, case="c", name="kernel_params")
    assert info.value.mistake == "not_implemented"
    with pytest.raises(CheckFailed):
        check_value(True, 1, case="c", name="flag")


# ----------------------------------------------------------------------------- from scratch


def uses_functional(image, kernel):
    return F.conv2d(image[None, None], kernel[None, None])[0, 0]


def uses_torch_conv2d(image, kernel):
    return torch.conv2d(image[None, None], kernel[None, None])[0, 0]


def uses_module(image, kernel):
    layer = torch.nn.Conv2d(1, 1, kernel.shape, bias=False)
    with torch.no_grad():
        layer.weight[:] = kernel
        return layer(image[None, None])[0, 0]


def uses_scipy(image, kernel):
    return torch.from_numpy(scipy.signal.correlate2d(image.numpy(), kernel.numpy(), "valid"))


def uses_import_inside(image, kernel):
    from scipy.ndimage import correlate

    return torch.from_numpy(correlate(image.numpy(), kernel.numpy()))


def uses_numpy_correlate(x, k):
    return np.correlate(x, k, mode="valid")


def helper_calls_library(image, kernel):
    return F.conv2d(image[None, None], kernel[None, None])[0, 0]


def uses_helper(image, kernel):
    return helper_calls_library(image, kernel)


def uses_convlib(image, kernel):
    import convlib.conv

    return convlib.conv.correlate2d(image, kernel)


def hides_the_call(image, kernel):
    fn = getattr(torch.nn.functional, "con" + "v2d")
    return fn(image[None, None], kernel[None, None])[0, 0]


def swallows_the_tripwire(image, kernel):
    try:
        return getattr(F, "conv" + "2d")(image[None, None], kernel[None, None])[0, 0]
    except Exception:  # noqa: BLE001  (the point: a student who swallows every error)
        return conv2d_loop(image, kernel)


@pytest.mark.parametrize("fn, named", [
    (uses_functional, "F.conv2d"),
    (uses_torch_conv2d, "torch.conv2d"),
    (uses_module, "torch.nn.Conv2d"),
    (uses_scipy, "scipy.signal.correlate2d"),
    (uses_import_inside, "scipy.ndimage.correlate"),
    (uses_numpy_correlate, "np.correlate"),
    (uses_helper, "F.conv2d"),
    (uses_convlib, "convlib.conv"),
    (hides_the_call, "computed attribute name"),
    (swallows_the_tripwire, "computed attribute name"),
])
def test_from_scratch_catches_library_convolutions(fn, named):
    with pytest.raises(CheckFailed) as info:
        check_from_scratch(fn)
    assert info.value.mistake == "forbidden_call"
    assert named in str(info.value)


def test_from_scratch_restores_the_library_after_a_tripwire():
    original = F.conv2d, torch.conv2d, scipy.signal.correlate2d, np.correlate
    for fn in (hides_the_call, swallows_the_tripwire, uses_scipy):
        with pytest.raises(CheckFailed):
            check_from_scratch(fn, args=(IMAGE, KERNEL))
    assert (F.conv2d, torch.conv2d, scipy.signal.correlate2d, np.correlate) == original
    assert uses_functional.__globals__["F"].conv2d is original[0]


def test_from_scratch_runtime_check_works_without_source():
    namespace = {"F": F}
    exec("def sneaky(image, kernel):\n"
         "    return F.conv2d(image[None, None], kernel[None, None])[0, 0]\n", namespace)
    with pytest.raises(CheckFailed) as info:
        check_from_scratch(namespace["sneaky"])
    assert info.value.case == "from-scratch run"


def test_from_scratch_reports_a_stub_as_not_implemented():
    with pytest.raises(CheckFailed) as info:
        check_from_scratch(conv2d_stub)
    assert info.value.mistake == "not_implemented"


def test_from_scratch_defers_to_the_trusted_grader_proxy():
    class Proxy:
        calls = []

        def __grader_from_scratch__(self, forbidden, args=None):
            Proxy.calls.append((forbidden, args))
            return "answered by the grader"

        def __call__(self, *args):
            raise AssertionError("the proxy must not be called")

    assert check_from_scratch(Proxy()) == "answered by the grader"
    assert check_from_scratch(Proxy(), args=[IMAGE, 2]) == "answered by the grader"
    assert Proxy.calls == [(list(FORBIDDEN_CONV_CALLS), None),
                           (list(FORBIDDEN_CONV_CALLS), (IMAGE, 2))]  # the cell's own input


def test_from_scratch_with_the_cells_arguments_reports_a_four_argument_stub():
    def pool_backward(x, grad_out, kernel_size, stride=None):
        raise NotImplementedError()

    with pytest.raises(CheckFailed) as info:
        check_from_scratch(pool_backward, args=(IMAGE, IMAGE, 2, 2))
    assert info.value.mistake == "not_implemented"


def test_from_scratch_does_not_pass_a_function_that_never_ran():
    def needs_four(x, grad_out, kernel_size, stride):   # the default probes give two
        return x

    with pytest.raises(CheckFailed) as info:
        check_from_scratch(needs_four)
    assert info.value.mistake == "raised_error" and "TypeError" in str(info.value)


def test_a_function_cannot_claim_the_grader_hook_on_itself():
    def cheat(image, kernel):
        return F.conv2d(image[None, None], kernel[None, None])[0, 0]

    cheat.__grader_from_scratch__ = lambda forbidden: None
    with pytest.raises(CheckFailed):
        check_from_scratch(cheat)


def test_forbidden_list_names_the_library_convolutions():
    for name in ("torch.nn.functional.conv2d", "torch.conv2d", "torch.nn.Conv2d",
                 "torch.nn.functional.conv1d", "scipy.signal.correlate2d",
                 "scipy.ndimage.correlate", "numpy.convolve", "torch.ops.aten.convolution",
                 "torch._C._VariableFunctions.conv2d", "convlib.correlate2d"):
        assert is_forbidden(name, FORBIDDEN_CONV_CALLS), name
    for allowed in ("torch.nn.functional.unfold", "numpy.fft.fft2", "torch.einsum",
                    "convlib.im2col", "numpy.lib.stride_tricks.sliding_window_view"):
        assert not is_forbidden(allowed, FORBIDDEN_CONV_CALLS), allowed
    assert issubclass(CheckFailed, AssertionError)
    assert set(checks.__all__) >= {"check_function", "check_value", "check_from_scratch"}


def test_a_wrong_number_is_named_by_the_candidate_mistake_that_gives_it():
    def double(n):
        return 2 * n

    mistakes = {"no_plus_one": lambda n: 2 * n + 1, "padding_once": lambda n: n + 1}
    with pytest.raises(CheckFailed) as info:
        checks.check_function(lambda n: 2 * n + 1, [("n=3", (3,))], double, name="f",
                              returns="number", mistakes=mistakes)
    assert info.value.mistake == "no_plus_one" and "expected 6, got 7" in str(info.value)
    with pytest.raises(CheckFailed) as info:   # a number no candidate gives
        checks.check_function(lambda n: 5, [("n=3", (3,))], double, name="f", returns="number",
                              mistakes=mistakes)
    assert info.value.mistake == "wrong_values"


# ----------------------------------------------------------------------------- what a failure shows

def run_in_ipython(*cells):
    """Run cells in an in-process IPython shell; what the last one printed (its traceback too)."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    shell = InteractiveShell.instance()
    for source in cells[:-1]:
        shell.run_cell(source)
    with capture_output() as shown:
        shell.run_cell(cells[-1])
    return shown.stdout + shown.stderr


CHECK_CELL = ("import numpy as np\nfrom convlib.checks import check_function\n"
              "check_function(conv2d, [('a 4x4 image', (np.ones((4, 4)), np.ones((2, 2))))], "
              "lambda x, k: np.full((3, 3), 4.0), name='conv2d')")


def test_a_failed_check_in_ipython_shows_its_message_not_a_traceback():
    """A stub's check used to show a 45-55 line chained traceback through checks.py, with the
    message at the bottom."""
    shown = run_in_ipython("def conv2d(image, kernel):\n    raise NotImplementedError()",
                           CHECK_CELL)
    assert "conv2d is not implemented yet" in shown
    for noise in ("Traceback", "During handling", "checks.py", "_check_case"):
        assert noise not in shown, shown
    assert len(shown.strip().splitlines()) <= 2, shown


def test_a_check_whose_code_raised_shows_the_students_line_and_nothing_of_the_checks():
    shown = run_in_ipython("def conv2d(image, kernel):\n    row = image[10]\n    return row",
                           CHECK_CELL)
    assert "calling conv2d raised IndexError" in shown and "row = image[10]" in shown
    assert "Traceback" not in shown and "checks.py" not in shown, shown


def test_the_failure_of_a_stub_is_not_chained_to_its_not_implemented_error():
    """Outside IPython too: `from None`, the NotImplementedError is incidental."""
    with pytest.raises(CheckFailed) as info:
        check2d(conv2d_stub)
    assert info.value.__suppress_context__ and info.value.__cause__ is None
    assert info.value._render_traceback_() == [f"\x1b[0;31mCheckFailed\x1b[0m: {info.value}"]


def test_a_wrong_number_returned_as_an_array_is_shown_as_numbers_not_shapes():
    with pytest.raises(CheckFailed) as info:
        check_function(lambda v: np.asarray(v.mean()), [("v", (np.arange(4.0),))],
                       lambda v: np.asarray(v.sum()), name="f", returns="numpy",
                       mistakes={"mean_not_sum": lambda v: np.asarray(v.mean())})
    assert "expected 6, got 1.5." in str(info.value) and "shape" not in str(info.value)
    assert info.value.mistake == "mean_not_sum"


def test_an_output_of_a_wrong_shape_is_named_by_the_candidate_of_that_shape():
    """No candidate gives these values, but one gives this shape: the shape is the evidence
    (before: the generic "output too large" and its N - F + 1 hint)."""
    def reference(x):
        return x[::2]

    mistakes = {"stride_ignored": lambda x: x, "padding_added": lambda x: np.pad(x, 1)}
    with pytest.raises(CheckFailed) as info:
        check_function(lambda x: -x, [("x", (np.arange(6.0),))], reference, name="f",
                       mistakes=mistakes)
    assert info.value.mistake == "stride_ignored"
    with pytest.raises(CheckFailed) as info:  # no candidate of this shape: the exercise's hook
        check_function(lambda x: x[:1], [("x", (np.arange(6.0),))], reference, name="f",
                       mistakes=mistakes, shape_mistake=lambda want, got: "grad_wrong_shape")
    assert info.value.mistake == "grad_wrong_shape"
    with pytest.raises(CheckFailed) as info:  # neither: from the shapes alone, as before
        check_function(lambda x: x[:1], [("x", (np.arange(6.0),))], reference, name="f",
                       mistakes=mistakes)
    assert info.value.mistake == "output_too_small"


def test_a_passed_from_scratch_check_says_so_in_the_kernel_and_in_the_grader(capsys):
    check_from_scratch(conv2d_loop, args=(IMAGE, KERNEL))
    assert capsys.readouterr().out == passed_message(conv2d_loop.__name__) + "\n"

    class Proxy:
        __name__ = "conv2d_strided"

        def __grader_from_scratch__(self, forbidden, args=None):
            return None

    check_from_scratch(Proxy())  # the grader: not final until the notebook is done
    out = capsys.readouterr().out
    assert out == passed_message("conv2d_strided", final=False) + "\n"
    assert "own work" not in out and "so far" in out
    assert "your own work" in passed_message("f")
