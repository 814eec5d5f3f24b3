"""How fast do the widgets answer a control? Slider/dropdown change to new picture, in-process.

    python bench/bench_redraw.py [--repeats N]

Each case sets a control's value the way the browser does (the trait changes, the widget's
observer recomputes and stores the new PNG in its Image widget) and times it with
perf_counter; the median over repeats is reported. Target: < 100 ms per change (what feels
immediate when moving a slider). The sending of the PNG to the browser is not included.

For scale, each case is measured side by side, interleaved round by round, with the plain
matplotlib way to draw the same picture (a pyplot figure rendered to PNG with IPython's
print_figure, as the inline backend does): ratio = widget time / matplotlib time.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

PARSER = argparse.ArgumentParser(description=__doc__.splitlines()[0])
PARSER.add_argument("--repeats", type=int, default=15, help="rounds per case (median)")
ARGS = PARSER.parse_args()

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from IPython.core.pylabtools import print_figure  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from convlib import correlate2d, figures, widgets  # noqa: E402

TARGET_MS = 100.0


def _toggle(control, a, b):
    """A change to time: flips the control between two values (every call is a real change)."""
    def change():
        control.value = b if control.value == a else a
    return change


def _matplotlib_explorer(w):
    """The same step drawn as a matplotlib figure (show_window_step) and rendered to PNG."""
    s = w.state

    def draw():
        fig = figures.show_window_step(s["X"], s["K"], position=s["position"] or 0,
                                       stride=s["stride"], padding=s["padding"],
                                       dilation=s["dilation"], padding_mode=s["padding_mode"])
        return print_figure(fig, "png")
    return draw


def _matplotlib_playground(w):
    """Input and feature map with show_images (diverging map, colour bar), rendered to PNG."""
    def draw():
        K = np.array([box.value for box in w.values]).reshape(3, 3)
        Y = correlate2d(w.X, K, padding="same")
        fig = figures.show_images([w.X, Y], titles=["input", "feature map"], ncols=2)
        return print_figure(fig, "png")
    return draw


def cases():
    explorer = widgets.conv_explorer()  # defaults: 7x7 input, 3x3 kernel
    c = explorer.controls
    yield ("explorer 7x7, k3: stride 1 <-> 2", _toggle(c["stride"], 1, 2),
           _matplotlib_explorer(explorer))
    yield ("explorer 7x7, k3: padding 0 <-> 1", _toggle(c["padding"], 0, 1),
           _matplotlib_explorer(explorer))
    yield ("explorer 7x7, k3: position 0 <-> 4", _toggle(c["position"], 0, 4),
           _matplotlib_explorer(explorer))
    yield ("explorer 7x7: kernel 3 <-> 5", _toggle(c["kernel"], 3, 5),
           _matplotlib_explorer(explorer))
    big = widgets.conv_explorer(height=12, width=12, kernel_size=7, padding=4)  # the maxima
    yield ("explorer 12x12, k7, P4 (largest): stride 1 <-> 2",
           _toggle(big.controls["stride"], 1, 2), _matplotlib_explorer(big))

    playground = widgets.kernel_playground()  # photo 150x128
    c = playground.controls
    yield ("playground 150x128: kernel sobel_x <-> laplacian",
           _toggle(c["kernel"], "sobel_x", "laplacian"), _matplotlib_playground(playground))
    yield ("playground 150x128: padding zeros <-> reflect",
           _toggle(c["padding mode"], "zeros", "reflect"), _matplotlib_playground(playground))
    yield ("playground 150x128: edit one kernel value",
           _toggle(c["k11"], 0.0, 1.5), _matplotlib_playground(playground))


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(args=ARGS):
    import platform

    print(f"numpy {np.__version__}, matplotlib {matplotlib.__version__}, "
          f"python {platform.python_version()}; median of {args.repeats} rounds")
    print(f"\n| {'change':<50} | {'widget ms':>9} | {'matplotlib ms':>13} | ratio | < 100 ms |")
    print(f"|{'-' * 52}|{'-' * 11}|{'-' * 15}|-------|----------|")
    worst = 0.0
    for name, change, reference in cases():
        change(), reference()  # warm-up
        ours, ref = [], []
        for _ in range(args.repeats):
            ours.append(timed(change))
            ref.append(timed(reference))
        t, r = statistics.median(ours) * 1e3, statistics.median(ref) * 1e3
        worst = max(worst, t)
        print(f"| {name:<50} | {t:>9.1f} | {r:>13.1f} | {t / r:>5.2f} | "
              f"{'yes' if t < TARGET_MS else 'NO':>8} |")
    print(f"\nslowest widget change: {worst:.1f} ms (target < {TARGET_MS:.0f} ms)")
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
