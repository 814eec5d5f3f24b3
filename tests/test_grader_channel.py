"""The plain-data channel: values survive the round trip exactly, as fresh plain objects, and
anything that is not plain data (or is malformed) is refused."""

import socket

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder.sandboxed import channel

NUMPY_DTYPES = ["bool", "int8", "uint8", "int16", "int32", "int64", "uint64", "float16",
                "float32", "float64", "complex64", "complex128"]


def roundtrip(value):
    tree, blobs = channel.encode(value)
    a, b = socket.socketpair()
    try:
        channel.send(a, {"v": tree}, blobs)
        header, got = channel.recv(b)
    finally:
        a.close()
        b.close()
    return channel.decode(header["v"], got)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(st.sampled_from(NUMPY_DTYPES), hnp.array_shapes(min_dims=0, max_dims=4,
                                                                   max_side=5)))
def test_numpy_arrays_roundtrip_bit_for_bit(arr):
    got = roundtrip(arr)
    assert type(got) is np.ndarray
    assert got.dtype == arr.dtype and got.shape == arr.shape
    assert got.tobytes() == arr.tobytes()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16,
                                   torch.int64, torch.uint8, torch.bool, torch.complex64])
def test_torch_tensors_roundtrip_with_dtype_and_values(dtype):
    x = (torch.arange(12, dtype=torch.float64).reshape(3, 4) - 5.5).to(dtype)
    got = roundtrip(x)
    assert type(got) is torch.Tensor and got.dtype == dtype and got.shape == x.shape
    assert torch.equal(got, x)


def test_nested_python_values_keep_their_types():
    value = {"a": [1, 2.5, None, True, "s", (3, 4j)], 7: (float("nan"), float("-inf")),
             "big": 2**80, "b": b"\x00\xff", "scalar": np.float32(1.5)}
    got = roundtrip(value)
    assert got["a"] == [1, 2.5, None, True, "s", (3, 4j)]
    assert type(got["a"][5]) is tuple and type(got["a"]) is list
    assert np.isnan(got[7][0]) and got[7][1] == float("-inf")
    assert got["big"] == 2**80 and got["b"] == b"\x00\xff"
    assert type(got["scalar"]) is np.float32 and got["scalar"] == np.float32(1.5)


def test_ndarray_subclass_arrives_as_a_plain_ndarray():
    class Always(np.ndarray):
        def __eq__(self, other):
            return True

        def __array_function__(self, *args, **kwargs):
            return True

    got = roundtrip(np.zeros(3).view(Always))
    assert type(got) is np.ndarray
    assert not np.array_equal(got, np.ones(3))


@pytest.mark.parametrize("value", [object(), lambda: 1, np.array([object()]), {1, 2},
                                   type("Fake", (), {"__eq__": lambda s, o: True})()])
def test_objects_that_are_not_plain_data_are_refused(value):
    with pytest.raises(channel.NotPlainData):
        channel.encode(value)


@pytest.mark.parametrize("tree, blobs", [
    ({"nd": ["|O", [1], 0]}, [b"\x00" * 8]),  # object dtype: could unpickle
    ({"nd": ["<f8", [3], 0]}, [b"\x00" * 8]),  # bytes do not match the shape
    ({"pickle": "x"}, []),
    ({"l": [1], "t": [2]}, []),
    ({"nd": ["<f8", [-1], 0]}, [b""]),
    ({"b": 5}, []),
])
def test_malformed_or_dangerous_messages_are_rejected(tree, blobs):
    with pytest.raises(channel.ChannelError):
        channel.decode(tree, blobs)


def test_a_frame_larger_than_the_cap_is_rejected():
    a, b = socket.socketpair()
    try:
        tree, blobs = channel.encode(np.zeros(1000))
        channel.send(a, {"v": tree}, blobs)
        with pytest.raises(channel.ChannelError):
            channel.recv(b, max_bytes=100)
    finally:
        a.close()
        b.close()
