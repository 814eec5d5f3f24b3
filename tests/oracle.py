"""The one rule of every oracle test: agree with torch/scipy, or refuse exactly when it refuses.

    expected = oracle_or_refusal(lambda: F.conv2d(...), lambda: convlib.conv2d_nchw(...))
    if expected is None:
        return              # torch refused, and so did every convlib form (checked here)

A convlib function that refuses an input torch accepts does not pass by returning early: the
oracle runs first, and only its refusal excuses ours.
"""

import pytest

REFUSALS = (RuntimeError, ValueError)  # how torch / scipy say an argument is impossible


def oracle_or_refusal(oracle, *ours):
    """Return ``oracle()``; if it raises, check that each callable in ``ours`` raises
    ``ValueError`` (convlib's clear error) and return None."""
    try:
        return oracle()
    except REFUSALS:
        for fn in ours:
            with pytest.raises(ValueError):
                fn()
        return None
