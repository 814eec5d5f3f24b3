"""How fast do the widgets answer a control? Slider/dropdown change to new picture, in-process.

    python bench/bench_redraw.py [--repeats N]

Each case sets a control's value the way the browser does (the trait changes, the widget's
observer recomputes and stores the new PNG in its Image widget) and times it with
perf_counter; the median over repeats is reported. Target: < 100 ms per change (what feels
immediate when moving a slider), < 50 ms for the channels view. The sending of the PNG to the
browser is not included. Every widget draws with convlib.render (Pillow). The process CPU time
of the widget's change is printed too: on a shared machine the wall time includes the wait for a
core, and the target is judged on the wall time.

For scale, each case is measured side by side, interleaved round by round, with the plain
matplotlib way to draw the same picture (a pyplot figure rendered to PNG with IPython's
print_figure, as the inline backend does): ratio = widget time / matplotlib time. For the
channels view that reference is the matplotlib drawing the widget itself used before it moved to
the renderer (the same 3 x 4 panels).
"""

import argparse
import io
import os
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
CHANNELS_TARGET_MS = 50.0


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
    """Input and feature map with show_images (the same kinds, colour bar), rendered to PNG."""
    def draw():
        K = np.array([box.value for box in w.values]).reshape(3, 3)
        Y = correlate2d(w.X, K, padding="same")
        fig = figures.show_images([w.X, Y], titles=["input", "feature map"], ncols=2,
                                  kind=["image", w.state["kind"]])
        return print_figure(fig, "png")
    return draw


def _matplotlib_channels(w):
    """The channels view's 3 x 4 panels as the matplotlib figure it used to draw."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def draw():
        s = w.state
        x, weight, names, bias = s["channels"], s["weight"], s["kernel_names"], s["bias"]
        responses, layer = s["responses"], s["output"]
        fig = Figure(figsize=(9.6, 7.2), dpi=72)
        FigureCanvasAgg(fig)
        axes = fig.subplots(3, 4)
        vmax = float(np.max(np.abs(responses))) or 1.0
        vmax_out = float(np.max(np.abs(layer))) or 1.0
        for ch, (colour, cmap) in enumerate(zip(("red", "green", "blue"),
                                                ("Reds_r", "Greens_r", "Blues_r"), strict=True)):
            axes[0, ch].imshow(x[ch], cmap=cmap, vmin=0, vmax=1)
            axes[0, ch].set_title(f"{colour} channel", fontsize=10)
            figures.show_grid(weight[0, ch], ax=axes[1, ch], title=f"{colour} kernel: {names[ch]}")
            im_r = axes[2, ch].imshow(responses[ch], cmap=figures.DIVERGING_CMAP, vmin=-vmax,
                                      vmax=vmax)
            axes[2, ch].set_title(f"{colour} response", fontsize=10)
        fig.colorbar(im_r, ax=axes[2, 2], fraction=0.046, pad=0.04)
        axes[0, 3].imshow(np.clip(w.rgb, 0, 1))
        axes[1, 3].axis("off")
        axes[1, 3].text(0.5, 0.5, f"sum of the 3\nresponses\n+ bias {bias:+.1f}", ha="center",
                        va="center", fontsize=11, transform=axes[1, 3].transAxes)
        im = axes[2, 3].imshow(layer, cmap=figures.DIVERGING_CMAP, vmin=-vmax_out, vmax=vmax_out)
        fig.colorbar(im, ax=axes[2, 3], fraction=0.046, pad=0.04)
        for ax in axes.ravel():
            ax.set_xticks([])
            ax.set_yticks([])
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
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
    yield ("playground 150x128: kernel sobel_x <-> sharpen",
           _toggle(c["kernel"], "sobel_x", "sharpen"), _matplotlib_playground(playground))

    channels = widgets.channels_view()  # photo 96x82, RGB
    c = channels.controls
    yield ("channels 96x82: red kernel sobel_x <-> laplacian",
           _toggle(c["red kernel"], "sobel_x", "laplacian"), _matplotlib_channels(channels),
           CHANNELS_TARGET_MS)
    yield ("channels 96x82: green kernel sobel_x <-> box_blur",
           _toggle(c["green kernel"], "sobel_x", "box_blur"), _matplotlib_channels(channels),
           CHANNELS_TARGET_MS)
    yield ("channels 96x82: bias 0 <-> 0.5",
           _toggle(c["bias"], 0.0, 0.5), _matplotlib_channels(channels), CHANNELS_TARGET_MS)


def timed(fn, cpu=None):
    """Wall time of fn(); with a list ``cpu``, also appends the process CPU time it took (on a
    machine shared with other work, the wall time includes waiting for a core)."""
    start, start_cpu = time.perf_counter(), time.process_time()
    fn()
    if cpu is not None:
        cpu.append(time.process_time() - start_cpu)
    return time.perf_counter() - start


def main(args=ARGS):
    import platform

    print(f"numpy {np.__version__}, matplotlib {matplotlib.__version__}, "
          f"python {platform.python_version()}; median of {args.repeats} rounds")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} "
          "cores")
    print(f"\n| {'change':<50} | {'widget ms':>9} | {'widget CPU ms':>13} | "
          f"{'matplotlib ms':>13} | ratio | target |")
    print(f"|{'-' * 52}|{'-' * 11}|{'-' * 15}|{'-' * 15}|-------|--------|")
    missed = []
    for name, change, reference, *target in cases():
        target = target[0] if target else TARGET_MS
        change(), reference()  # warm-up
        ours, cpu, ref = [], [], []
        for _ in range(args.repeats):
            ours.append(timed(change, cpu))
            ref.append(timed(reference))
        t, r = statistics.median(ours) * 1e3, statistics.median(ref) * 1e3
        c = statistics.median(cpu) * 1e3
        if t >= target:
            missed.append(name)
        print(f"| {name:<50} | {t:>9.1f} | {c:>13.1f} | {r:>13.1f} | {t / r:>5.2f} | "
              f"{'<' if t < target else 'NOT <'} {target:.0f} |")
    print(f"\ncases over their target: {len(missed)}" + (f" ({'; '.join(missed)})" if missed
                                                         else ""))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
