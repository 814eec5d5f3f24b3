"""Where hidden tests get every random input: from a per-course secret, never from a literal
seed, so that inputs a student once saw are of no use in a resubmission.

``hidden_seed(label)`` is the first 8 bytes of HMAC-SHA256(secret, label) as an int;
``hidden_rng`` is ``numpy.random.default_rng`` of it, ``hidden_generator`` a ``torch.Generator``
seeded with it. The label names the case, ``"<assignment>/<grade_id>/<case>"``. Only the trusted
grader calls ``set_hidden_secret``, in its own process. Notebooks import these names from
``convlib.checks``.
"""

import hashlib
import hmac

import numpy as np
import torch

__all__ = ["set_hidden_secret", "hidden_seed", "hidden_rng", "hidden_generator"]

_hidden_secret = None  # set only in the trusted grader's process; never handed to student code


def set_hidden_secret(secret):
    """Key every later ``hidden_seed`` with ``secret`` (bytes), or with nothing (``None``)."""
    if secret is not None and not isinstance(secret, (bytes, bytearray)):
        raise TypeError(f"the hidden-input secret must be bytes or None, got "
                        f"{type(secret).__name__}; read the secret file in binary mode or "
                        "encode the text (secret.encode()).")
    if secret is not None and not secret:
        raise ValueError("the hidden-input secret is empty; pass None to run without a secret.")
    global _hidden_secret
    _hidden_secret = None if secret is None else bytes(secret)


def hidden_seed(label):
    """The seed of the hidden inputs named ``label``: a 64-bit int, HMAC-SHA256(secret, label)."""
    if not isinstance(label, str) or not label:
        raise TypeError(f"a hidden-input label is a non-empty string such as "
                        f"'02_conv2d/test_conv2d_hidden/12x10', got {label!r}.")
    digest = hmac.new(_hidden_secret or b"", label.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big")


def hidden_rng(label):
    """A ``numpy.random.Generator`` for the hidden inputs named ``label``."""
    return np.random.default_rng(hidden_seed(label))


def hidden_generator(label):
    """A ``torch.Generator`` for the hidden inputs named ``label`` (pass it as ``generator=``)."""
    return torch.Generator().manual_seed(hidden_seed(label))
