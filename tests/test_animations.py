"""convlib.animations: one frame per output position, and the last frame's output is torch's."""

import base64
import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from convlib import animations

# kind: (input size, kernel size, stride, padding, dilation), as documented in the module
GEOMETRY = {
    "no_padding_no_stride": (4, 3, 1, 0, 1),
    "padding": (5, 4, 1, 2, 1),
    "same": (5, 3, 1, 1, 1),
    "full": (5, 3, 1, 2, 1),
    "stride": (5, 3, 2, 0, 1),
    "stride_padding_odd": (6, 3, 2, 1, 1),
    "dilation": (7, 3, 1, 0, 2),
}


def test_every_documented_kind_exists():
    assert set(animations.KINDS) == set(GEOMETRY) | {"transposed"}


@pytest.mark.parametrize("kind", sorted(GEOMETRY))
def test_frames_are_output_positions_and_last_frame_equals_torch(kind):
    n, k, s, p, d = GEOMETRY[kind]
    rng = np.random.default_rng(7)
    X = rng.integers(-3, 4, size=(n, n)).astype(float)
    K = rng.integers(-2, 3, size=(k, k)).astype(float)
    anim = animations.animation(kind, X=X, K=K)
    Y = F.conv2d(torch.tensor(X)[None, None], torch.tensor(K)[None, None], stride=s,
                 padding=p, dilation=d)[0, 0].numpy()
    assert anim.n_frames == Y.size
    assert Image.open(io.BytesIO(anim.gif)).n_frames == Y.size
    np.testing.assert_allclose(anim.outputs[-1], Y)
    # each frame writes exactly one more output number
    assert [int(np.isfinite(o).sum()) for o in anim.outputs] == list(range(1, Y.size + 1))


def test_default_animation_matches_torch_too():
    anim = animations.animation("same")
    X, K = anim.steps.X, anim.steps.K
    Y = F.conv2d(torch.tensor(X)[None, None], torch.tensor(K)[None, None], padding=1)[0, 0]
    np.testing.assert_allclose(anim.outputs[-1], Y.numpy())
    assert Y.shape == (5, 5)


def test_stride_padding_odd_leaves_one_row_and_column_that_the_floor_drops():
    steps = animations.animation_steps("stride_padding_odd")
    assert steps.padded.shape == (8, 8) and steps.out_shape == (3, 3)
    # windows start at 0, 2, 4 and span 3 rows: rows 0-6 are used, row 7 is not
    assert steps.dropped_rows == [7] and steps.dropped_cols == [7]


def test_transposed_last_frame_equals_torch_conv_transpose2d():
    rng = np.random.default_rng(3)
    X = rng.integers(1, 4, size=(2, 2)).astype(float)
    K = rng.integers(-2, 3, size=(3, 3)).astype(float)
    anim = animations.animation("transposed", X=X, K=K)
    Y = F.conv_transpose2d(torch.tensor(X)[None, None], torch.tensor(K)[None, None],
                           stride=2)[0, 0].numpy()
    assert Y.shape == (5, 5)
    assert anim.n_frames == 25
    np.testing.assert_allclose(anim.outputs[-1], Y)
    # the picture: input cells 2 apart, zeros between, 2 cells of padding, kernel flipped
    steps = anim.steps
    assert steps.padded.shape == (7, 7)
    assert np.array_equal(steps.padded[2:5:2, 2:5:2], X)
    assert np.count_nonzero(steps.kinds == "inserted") == 9 - 4
    np.testing.assert_array_equal(steps.K, K[::-1, ::-1])


def test_animation_displays_as_an_embedded_gif_and_saves(tmp_path):
    anim = animations.animation("stride")
    bundle = anim._repr_mimebundle_()
    assert base64.b64decode(bundle["image/gif"]) == anim.gif
    assert bundle["text/html"].startswith('<img src="data:image/gif;base64,')
    assert anim.gif[:6] == b"GIF89a"
    path = animations.save_animation("stride", tmp_path / "stride.gif")
    assert path.read_bytes()[:6] == b"GIF89a"
    assert Image.open(path).n_frames == 4


def test_unknown_kind_lists_the_kinds():
    with pytest.raises(ValueError, match="no_padding_no_stride"):
        animations.animation("sideways")
