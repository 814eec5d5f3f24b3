"""The plain-data channel between the trusted grader and the sandboxed student process.

Only plain data crosses: None, bools, ints, floats, complex numbers, strings, bytes, lists,
tuples, dicts, numpy arrays and scalars, torch tensors. Arrays travel as raw bytes with their
dtype and shape. Never pickle: the receiver rebuilds fresh objects from a whitelist of types, so
nothing the student defined can run on the trusted side.

A message is one frame on a stream socket:

    b"CV1" | u32 length of the JSON header | u32 number of blobs | header | (u64 size, bytes)*

This file is also bound read-only into the sandbox (as ``_grader_channel``), so it must import
nothing but the standard library at module level; numpy and torch are imported when used.
"""

import json
import struct
import sys

MAGIC = b"CV1"
MAX_HEADER = 16 * 1024 * 1024
MAX_BLOBS = 10_000
MAX_DEPTH = 32
MAX_ITEMS = 1_000_000

# dtype.str values that may cross (little-endian numbers only).
NUMPY_DTYPES = frozenset({
    "|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8",
    "<f2", "<f4", "<f8", "<c8", "<c16",
})
TORCH_DTYPES = {
    "bool": "|b1", "uint8": "|u1", "int8": "|i1", "int16": "<i2", "int32": "<i4",
    "int64": "<i8", "float16": "<f2", "float32": "<f4", "float64": "<f8",
    "complex64": "<c8", "complex128": "<c16", "bfloat16": "<i2",  # bfloat16 travels as its bits
}


# Bound here so that a student who patches builtins or sys.modules in the sandbox breaks only
# their own process's view, not this module's.
isinstance, len, type, str, int, float, list, tuple, dict, bytes, repr, range = (
    isinstance, len, type, str, int, float, list, tuple, dict, bytes, repr, range)
_MODULES = {}


def _module(name):
    """numpy / torch as first seen (the sandbox kernel primes this before student code)."""
    if name not in _MODULES:
        module = sys.modules.get(name)
        if module is None:
            return None
        _MODULES[name] = module
    return _MODULES[name]


class ChannelError(Exception):
    """The other side sent something that is not a well-formed plain-data message."""


class NotPlainData(TypeError):
    """A value that cannot cross the channel (a custom object, a function, ...)."""


# ----------------------------------------------------------------------------- encoding

def encode(obj):
    """Return (tree, blobs): a JSON-able tree and the list of raw byte buffers it refers to."""
    blobs = []
    count = [0]
    return _enc(obj, blobs, 0, count), blobs


def _enc(obj, blobs, depth, count):
    count[0] += 1
    if depth > MAX_DEPTH or count[0] > MAX_ITEMS:
        raise NotPlainData("the value is nested too deeply or has too many items")
    t = type(obj)
    if obj is None or t in (bool, str, int, float, complex):
        return _enc_scalar(obj)
    if t is bytes:
        blobs.append(obj)
        return {"b": len(blobs) - 1}
    if t is list:
        return {"l": [_enc(x, blobs, depth + 1, count) for x in list.__iter__(obj)]}
    if t is tuple:
        return {"t": [_enc(x, blobs, depth + 1, count) for x in tuple.__iter__(obj)]}
    if t is dict:
        return {"d": [[_enc(k, blobs, depth + 1, count), _enc(v, blobs, depth + 1, count)]
                      for k, v in dict.items(obj)]}
    return _enc_array(obj, blobs)


def _enc_scalar(obj):
    """None, bool, str, int, float or complex (exact types only) as a JSON-able node."""
    t = type(obj)
    if t is int:
        return obj if -(2**63) <= obj < 2**63 else {"bigint": str(obj)}
    if t is float:
        return {"f": repr(obj)} if obj != obj or obj in (float("inf"), float("-inf")) else obj
    if t is complex:
        return {"c": [repr(obj.real), repr(obj.imag)]}
    return obj


def _enc_array(obj, blobs):
    """A numpy array or scalar, or a torch tensor, as a node whose bytes go to ``blobs``."""
    np = _module("numpy")
    if np is not None and isinstance(obj, np.ndarray):
        arr = obj.view(np.ndarray)
        if not arr.flags.c_contiguous:
            arr = arr.copy(order="C")
        arr = _little_endian(np, arr)
        blobs.append(arr.tobytes())
        return {"nd": [arr.dtype.str, list(arr.shape), len(blobs) - 1]}
    if np is not None and isinstance(obj, np.generic):
        arr = _little_endian(np, np.asarray(obj).view(np.ndarray))
        blobs.append(arr.tobytes())
        return {"ns": [arr.dtype.str, len(blobs) - 1]}
    torch = _module("torch")
    if torch is not None and isinstance(obj, torch.Tensor):
        name = str(obj.dtype).replace("torch.", "")
        if name not in TORCH_DTYPES:
            raise NotPlainData(f"a torch tensor of dtype {name} cannot be sent")
        x = torch.Tensor.detach(obj).cpu().contiguous()
        x = torch.Tensor.as_subclass(x, torch.Tensor)
        if name == "bfloat16":
            x = x.view(torch.int16)
        arr = x.numpy()
        blobs.append(arr.tobytes())
        return {"pt": [name, list(arr.shape), len(blobs) - 1]}
    raise NotPlainData(f"an object of type {type(obj).__name__!r} is not plain data")


def _little_endian(np, arr):
    if arr.dtype.str not in NUMPY_DTYPES:
        swapped = arr.astype(arr.dtype.newbyteorder("<")) if arr.dtype.byteorder == ">" else arr
        if swapped.dtype.str not in NUMPY_DTYPES:
            raise NotPlainData(f"an array of dtype {arr.dtype} cannot be sent")
        return swapped
    return arr


# ----------------------------------------------------------------------------- decoding

def decode(tree, blobs):
    """Rebuild fresh plain objects from (tree, blobs); reject anything else."""
    return _dec(tree, blobs, 0)


def _dec(node, blobs, depth):
    if depth > MAX_DEPTH:
        raise ChannelError("message nested too deeply")
    t = type(node)
    if node is None or t in (bool, int, float, str):
        return node
    if t is not dict or len(node) != 1:
        raise ChannelError(f"unexpected node {t.__name__}")
    (tag, val), = node.items()
    if tag not in _DECODERS:
        raise ChannelError(f"unknown tag {tag!r}")
    return _DECODERS[tag](val, blobs, depth + 1)


def _dec_sequence(val, blobs, depth):
    if type(val) is not list:
        raise ChannelError("bad sequence")
    return [_dec(x, blobs, depth) for x in val]


def _dec_dict(val, blobs, depth):
    out = {}
    for pair in _dec_sequence_of_pairs(val):
        key = _dec(pair[0], blobs, depth)
        if type(key) not in (str, int, float, bool, tuple, type(None)):
            raise ChannelError("unhashable dict key")
        out[key] = _dec(pair[1], blobs, depth)
    return out


def _dec_sequence_of_pairs(val):
    if type(val) is not list or any(type(p) is not list or len(p) != 2 for p in val):
        raise ChannelError("bad dict item")
    return val


def _dec_tensor(val, blobs, depth):
    import torch
    name, shape, idx = val
    if name not in TORCH_DTYPES:
        raise ChannelError(f"dtype {name!r} not allowed")
    x = torch.from_numpy(_array(TORCH_DTYPES[name], shape, _blob(blobs, idx)))
    return x.view(torch.bfloat16) if name == "bfloat16" else x


# One decoder per tag: (value, blobs, depth of the children) -> a fresh plain object.
_DECODERS = {
    "f": lambda val, blobs, depth: float(_str(val)),
    "bigint": lambda val, blobs, depth: int(_str(val)),
    "c": lambda val, blobs, depth: complex(float(_str(val[0])), float(_str(val[1]))),
    "b": lambda val, blobs, depth: bytes(_blob(blobs, val)),
    "l": _dec_sequence,
    "t": lambda val, blobs, depth: tuple(_dec_sequence(val, blobs, depth)),
    "d": _dec_dict,
    "nd": lambda val, blobs, depth: _array(val[0], val[1], _blob(blobs, val[2])),
    "ns": lambda val, blobs, depth: _array(val[0], [], _blob(blobs, val[1]))[()],
    "pt": _dec_tensor,
}


def _str(v):
    if type(v) is not str or len(v) > 400:
        raise ChannelError("bad number")
    return v


def _blob(blobs, idx):
    if type(idx) is not int or not 0 <= idx < len(blobs):
        raise ChannelError("bad blob reference")
    return blobs[idx]


def _array(dtype, shape, buf):
    import numpy as np
    if dtype not in NUMPY_DTYPES:
        raise ChannelError(f"dtype {dtype!r} not allowed")
    if type(shape) is not list or len(shape) > 32 or any(
            type(n) is not int or n < 0 for n in shape):
        raise ChannelError("bad shape")
    dt = np.dtype(dtype)
    size = 1
    for n in shape:
        size *= n
    if size * dt.itemsize != len(buf):
        raise ChannelError("array bytes do not match dtype and shape")
    return np.frombuffer(buf, dtype=dt).reshape(shape).copy()


# ----------------------------------------------------------------------------- framing

def pack(header, blobs=()):
    """One frame: a JSON header (plain dict of JSON types) plus raw blobs."""
    head = json.dumps(header, allow_nan=False, separators=(",", ":")).encode()
    parts = [MAGIC, struct.pack("<II", len(head), len(blobs)), head]
    for blob in blobs:
        parts.append(struct.pack("<Q", len(blob)))
        parts.append(bytes(blob) if not isinstance(blob, bytes) else blob)
    return b"".join(parts)


def send(sock, header, blobs=()):
    sock.sendall(pack(header, blobs))


def recv(sock, max_bytes=1 << 30):
    """Read one frame; raise EOFError when the peer closed, ChannelError when malformed."""
    start = _read(sock, 11)
    if start[:3] != MAGIC:
        raise ChannelError("bad frame start")
    nhead, nblobs = struct.unpack("<II", start[3:])
    if nhead > MAX_HEADER or nblobs > MAX_BLOBS:
        raise ChannelError("frame too large")
    total = nhead
    try:
        header = json.loads(_read(sock, nhead))
    except ValueError as err:
        raise ChannelError(f"bad header: {err}") from None
    if type(header) is not dict:
        raise ChannelError("header is not an object")
    blobs = []
    for _ in range(nblobs):
        (size,) = struct.unpack("<Q", _read(sock, 8))
        total += size
        if total > max_bytes:
            raise ChannelError(f"message larger than {max_bytes} bytes")
        blobs.append(_read(sock, size))
    return header, blobs


def _read(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError("channel closed")
        buf += chunk
    return bytes(buf)


# A line of the record pipe that is not a library call: kernel.tamper_audit_hook's report of a
# way to rewrite the record (the grader reads it as "the record cannot be trusted").
TAMPER_PREFIX = "tamper:"
