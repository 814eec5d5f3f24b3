"""The widgets in a real JupyterLab, driven by headless Chromium: move the sliders with the
keyboard and read what the page shows. Screenshots go to artifacts/ (kept for inspection)."""

import re
import shutil

import pytest

from tests.browser import (
    ARTIFACTS,
    browser_page,
    jupyter_lab,
    open_notebook,
    run_all_cells,
    save_screenshot,
    screenshot_on_failure,
    shutdown_kernels,
)
from tests.conftest import IN_CI

REPO = ARTIFACTS.parent
NOTEBOOKS = REPO / "notebooks"
STRIDE_NB = "03_stride_padding/03_stride_padding.ipynb"
CONV2D_NB = "02_conv2d/02_conv2d.ipynb"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("course") / "notebooks"
    if NOTEBOOKS.is_dir():
        shutil.copytree(NOTEBOOKS, root)
    else:
        root.mkdir()
    with jupyter_lab(root) as server:
        yield server


@pytest.fixture(scope="module")
def page(lab):
    with browser_page() as p:
        yield p


def _require_notebook(relpath):
    if not (NOTEBOOKS / relpath).is_file():
        message = f"notebooks/{relpath} is missing; run `python3 tasks.py generate`"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def _code_cell(page, marker):
    """The cell whose source contains ``marker``."""
    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell")
    found = cells.filter(has=page.locator(".jp-InputArea", has_text=marker))
    found.first.wait_for()
    return found.first


def _slider(cell, description):
    return cell.locator(".widget-slider").filter(
        has=cell.page.get_by_text(description, exact=True)).first


def _press(slider, key, times=1):
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    for _ in range(times):
        handle.press(key)


def _readout(slider):
    return slider.locator(".widget-readout").inner_text().strip()


def _wait_readout(slider, value, timeout_ms=60000):
    slider.page.wait_for_function("([el, v]) => el.innerText.trim() === v",
                                  arg=[slider.locator(".widget-readout").element_handle(), value],
                                  timeout=timeout_ms)


def _wait_text(cell, pattern, timeout_ms=60000):
    cell.page.wait_for_function(
        "([el, pattern]) => new RegExp(pattern).test(el.innerText)",
        arg=[cell.element_handle(), pattern], timeout=timeout_ms)


def _output_size(cell):
    text = cell.locator(".jp-OutputArea").inner_text()
    match = re.search(r"output size: (\d+) x (\d+)", text)
    assert match, f"no 'output size: H x W' text in the explorer output:\n{text[:500]}"
    return int(match.group(1)), int(match.group(2))


def _check_explorer(page, cell, name):
    cell.locator(".widget-slider").first.wait_for(timeout=60000)
    cell.scroll_into_view_if_needed()
    stride, padding = _slider(cell, "stride"), _slider(cell, "padding")
    _wait_readout(stride, "1")  # the readouts fill in a moment after the sliders appear
    _wait_readout(padding, "0")
    _wait_text(cell, r"output size: 5 x 5")
    assert _output_size(cell) == (5, 5)  # 7x7 input, 3x3 kernel: 7 - 3 + 1
    save_screenshot(page, f"{name}-explorer-start")

    _press(stride, "ArrowRight")
    _wait_readout(stride, "2")
    _wait_text(cell, r"output size: 3 x 3")  # floor((7 - 3) / 2) + 1
    _press(padding, "ArrowRight")
    _wait_readout(padding, "1")
    _wait_text(cell, r"output size: 4 x 4")  # floor((7 + 2 - 3) / 2) + 1
    assert _output_size(cell) == (4, 4)
    save_screenshot(page, f"{name}-explorer-stride2-padding1")

    _press(stride, "ArrowRight")
    _wait_text(cell, r"output size: 3 x 3")  # stride 3: floor((9 - 3) / 3) + 1
    _press(padding, "ArrowLeft")
    _wait_text(cell, r"output size: 2 x 2")  # stride 3, padding 0: floor(4 / 3) + 1
    assert (_readout(stride), _readout(padding)) == ("3", "0")
    # 7 - 3 = 4 is not a multiple of 3: the last row and column are dropped, and it says so
    _wait_text(cell, r"does not divide evenly")
    save_screenshot(page, f"{name}-explorer-stride3-padding0")


def _check_playground(page, cell, name):
    select = cell.locator(".widget-dropdown select").first
    select.wait_for(timeout=60000)
    cell.scroll_into_view_if_needed()
    _wait_text(cell, r"kernel: sobel_x")
    before = re.search(r"min (-?[\d.]+), max (-?[\d.]+)",
                       cell.locator(".jp-OutputArea").inner_text()).groups()
    select.select_option("laplacian")
    _wait_text(cell, r"kernel: laplacian")
    after = re.search(r"min (-?[\d.]+), max (-?[\d.]+)",
                      cell.locator(".jp-OutputArea").inner_text()).groups()
    assert after != before, "the feature map's min/max did not change with the kernel"
    # the 3x3 value boxes follow the chosen kernel (laplacian's centre is -4)
    page.wait_for_function(
        "el => [...el.querySelectorAll('.widget-text input')].map(i => i.value).join(',')"
        " === '0,1,0,1,-4,1,0,1,0'", arg=cell.element_handle())
    cell.locator(".widget-image").first.scroll_into_view_if_needed()
    save_screenshot(page, f"{name}-playground-laplacian")


def test_stride_padding_notebook_explorer_output_size_follows_the_sliders(lab, page):
    _require_notebook(STRIDE_NB)
    with screenshot_on_failure(page, "03_stride_padding"):
        open_notebook(page, lab, STRIDE_NB)
        run_all_cells(page)  # graded cells after the explorer may raise NotImplementedError
        _check_explorer(page, _code_cell(page, "conv_explorer("), "03_stride_padding")
    shutdown_kernels(lab)


def test_conv2d_notebook_playground_kernel_choice_changes_the_label(lab, page):
    _require_notebook(CONV2D_NB)
    with screenshot_on_failure(page, "02_conv2d"):
        open_notebook(page, lab, CONV2D_NB)
        run_all_cells(page)
        _check_playground(page, _code_cell(page, "kernel_playground("), "02_conv2d")
    shutdown_kernels(lab)
