"""How fast is convlib? Ratios measured side by side in one run (median of repeats).

    python bench/bench_conv.py [--repeats N] [--threads T]

Part 1: convlib's vectorised forms (im2col + one BLAS matrix product, float32) against
torch.nn.functional.conv2d on the CPU, for realistic layer shapes and the seed's 12x10 image.
Part 2: the loop forms against the vectorised forms on small inputs (why we vectorise).
A ratio is convlib's time divided by the reference's: 1.0 = as fast, 2.0 = twice as slow.
Both sides run interleaved, one call each per round, so that machine load affects them alike.
By default both run on ONE thread: with several, torch's OpenMP threads and numpy's BLAS
threads keep spinning after each call and slow the other side down, which measures the
contention, not the code.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

PARSER = argparse.ArgumentParser(description=__doc__.splitlines()[0])
PARSER.add_argument("--repeats", type=int, default=15, help="rounds per case (median)")
PARSER.add_argument("--threads", type=int, default=1, help="threads for torch and numpy's BLAS")
ARGS = PARSER.parse_args()
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)  # must happen before numpy and torch are imported

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
torch.set_num_threads(ARGS.threads)

import convlib  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(ours, reference, repeats, min_time=0.2):
    """Median seconds per call of both callables, measured alternately."""
    ours(), reference()  # warm up (allocations, BLAS / oneDNN initialisation)
    a, b = [], []
    rounds = 0
    while rounds < repeats or (sum(a) + sum(b) < min_time and rounds < 50 * repeats):
        a.append(timed(ours))
        b.append(timed(reference))
        rounds += 1
    return statistics.median(a), statistics.median(b)


def layer_cases(rng):
    def layer(name, x_shape, w_shape, **kw):
        x = rng.standard_normal(x_shape).astype(np.float32)
        w = rng.standard_normal(w_shape).astype(np.float32)
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
        return (name, lambda: convlib.conv2d_nchw(x, w, **kw),
                lambda: F.conv2d(tx, tw, **kw), "F.conv2d")

    image = rng.standard_normal((12, 10)).astype(np.float32)
    kernel = rng.standard_normal((3, 3)).astype(np.float32)
    t_image, t_kernel = torch.from_numpy(image), torch.from_numpy(kernel)
    return [
        layer("conv2d_nchw 1x64x56x56, 64 3x3, pad 1", (1, 64, 56, 56), (64, 64, 3, 3),
              padding=1),
        layer("conv2d_nchw 1x3x224x224, 64 7x7, stride 2, pad 3", (1, 3, 224, 224),
              (64, 3, 7, 7), stride=2, padding=3),
        ("correlate2d seed 12x10 image, 3x3 (numpy)", lambda: convlib.correlate2d(image, kernel),
         lambda: F.conv2d(t_image[None, None], t_kernel[None, None]), "F.conv2d"),
        ("conv2d seed 12x10 image, 3x3 (torch in/out)",
         lambda: convlib.conv2d(t_image, t_kernel),
         lambda: F.conv2d(t_image[None, None], t_kernel[None, None])[0, 0], "F.conv2d"),
    ]


def loop_cases(rng):
    image = rng.standard_normal((12, 10))
    kernel = rng.standard_normal((3, 3))
    x = rng.standard_normal((1, 3, 16, 16))
    w = rng.standard_normal((8, 3, 3, 3))
    wt = rng.standard_normal((3, 8, 3, 3))
    return [
        ("correlate2d 12x10, 3x3", lambda: convlib.correlate2d_loop(image, kernel),
         lambda: convlib.correlate2d(image, kernel), "vectorised"),
        ("correlate2d 12x10, 3x3, stride 2, pad 2",
         lambda: convlib.correlate2d_loop(image, kernel, stride=2, padding=(2, 2)),
         lambda: convlib.correlate2d(image, kernel, stride=2, padding=(2, 2)), "vectorised"),
        ("conv2d_nchw 1x3x16x16, 8 3x3, pad 1",
         lambda: convlib.conv2d_nchw_loop(x, w, padding=1),
         lambda: convlib.conv2d_nchw(x, w, padding=1), "vectorised"),
        ("conv_transpose2d 1x3x16x16, 8 3x3, stride 2",
         lambda: convlib.conv_transpose2d_loop(x, wt, stride=2),
         lambda: convlib.conv_transpose2d(x, wt, stride=2), "vectorised"),
    ]


def run(cases, repeats, header):
    print(f"\n{header}")
    print(f"| {'case':<52} | {'convlib ms':>10} | {'reference':<11} | {'ref ms':>8} | ratio |")
    print(f"|{'-' * 54}|{'-' * 12}|{'-' * 13}|{'-' * 10}|-------|")
    rows = []
    for name, ours, reference, ref_name in cases:
        t_ours, t_ref = compare(ours, reference, repeats)
        rows.append((name, t_ours / t_ref))
        print(f"| {name:<52} | {t_ours * 1e3:>10.3f} | {ref_name:<11} | {t_ref * 1e3:>8.3f} "
              f"| {t_ours / t_ref:>5.2f} |", flush=True)
    return rows


def main(args=ARGS):
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s) for torch and BLAS, "
          f"python {platform.python_version()}, {platform.machine()}; "
          f"median of {args.repeats} interleaved rounds")
    run(layer_cases(rng), args.repeats,
        "Vectorised convlib (float32, im2col + one matmul) vs torch, CPU "
        "(ratio = convlib time / torch time)")
    run(loop_cases(rng), max(3, args.repeats // 3),
        "Loop form vs vectorised form, float64 (ratio = loop time / vectorised time)")


if __name__ == "__main__":
    main()
