"""Reading a notebook a student submitted: the one place that decides what counts as readable.

Used by the grader and by the feedback pages, so that both agree. The file is hostile: it may be
huge, not JSON, another notebook format, a symlink, or valid JSON of the wrong shape.
"""

import json
import os

MAX_NOTEBOOK_BYTES = 5 * 2**20


def read_submission(path):
    """(notebook, None) or (None, an error message that says what to do)."""
    import nbformat
    name = path.name
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None, f"{name} is missing: submit the notebook with exactly this name"
    if not path.is_file() or path.is_symlink():
        return None, f"{name} is not a regular file: submit the notebook itself"
    if st.st_size > MAX_NOTEBOOK_BYTES:
        return None, (f"{name} is {st.st_size / 2**20:.1f} MB, more than the "
                      f"{MAX_NOTEBOOK_BYTES // 2**20} MB limit: clear the outputs (Kernel > "
                      "Restart Kernel and Clear All Outputs), save, and submit again")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError) as err:
        return None, (f"{name} is not a notebook (not valid JSON: {str(err)[:200]}); submit "
                      "the .ipynb file saved by Jupyter, not a copy or an export")
    if not isinstance(data, dict) or data.get("nbformat") != 4:
        version = data.get("nbformat") if isinstance(data, dict) else None
        return None, (f"{name} has notebook format {version!r}, expected 4; open it in "
                      "JupyterLab, save it, and submit again")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # noqa: BLE001
        return None, f"{name} is not a valid notebook ({str(err)[:300]}); save it in Jupyter again"
    return nb, None
