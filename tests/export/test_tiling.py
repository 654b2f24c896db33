"""Overlap-tile prediction (U-Net Fig. 2): seamless `unet`, `unet_padded` equal to one pass."""

import pytest
import torch

import convzoo
from convzoo.export.tiling import mirror_pad, receptive_margin, segment_tiled, segment_whole

# narrow registered networks: the geometry is the paper's, the arithmetic small
NARROW = {"base_width": 1, "num_classes": 3, "in_channels": 1}


@pytest.fixture(autouse=True)
def _one_thread():
    """Large maps of few channels: one thread avoids contention on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_mirror_pad_extrapolates_beyond_the_image_size():
    x = torch.arange(3.0).view(1, 1, 3)
    assert mirror_pad(x, 0, 0, 4, 5)[0, 0].tolist() == [0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 1]
    assert receptive_margin() == 112  # 92 px per side (572 -> 388) + 15 of pooling cells


def test_tiled_unet_has_no_seams():
    """Tiles stepping by multiples of 16 compute exactly one pass over the mirrored image."""
    model = convzoo.create_model("unet", **NARROW).eval()
    image = torch.randn(1, 36, 36)
    tiled = segment_tiled(model, image, tile=204)  # 20 px out per tile, steps of 16: 3 x 3
    with torch.no_grad():  # 36 + 2 * 92 = 220 is a valid input: the whole image at once
        whole = model(mirror_pad(image, 92, 92, 92, 92)[None])[0]
    assert tiled.shape == whole.shape == (3, 36, 36)
    torch.testing.assert_close(tiled, whole, atol=1e-5, rtol=1e-4)
    # tiles stepping by the full 20 px put the pooling grid off by 4 px: seams appear
    misaligned = segment_tiled(model, image, tile=204, align=4)
    assert (misaligned - whole).abs().max() > 1e-3


def test_tiled_and_whole_unet_padded_agree_away_from_borders():
    model = convzoo.create_model("unet_padded", **NARROW).eval()
    image = torch.randn(1, 256, 256)
    whole = segment_whole(model, image, multiple=16)
    margin = receptive_margin()
    tiled = segment_tiled(model, image, tile=352, margin=margin)  # 128 px per tile: 2 x 2
    assert tiled.shape == whole.shape == (3, 256, 256)
    # 107 px from the image border the zero padding of the one pass no longer reaches:
    # from there on the tiles agree with it exactly, across the seam at 128
    inner = (slice(None), slice(107, 149), slice(107, 149))
    torch.testing.assert_close(tiled[inner], whole[inner], atol=1e-5, rtol=1e-4)
    # without a margin each tile's own zero padding shows at the seams
    naive = segment_tiled(model, image, tile=128, margin=0)
    assert (naive[:, 120:136, 120:136] - whole[:, 120:136, 120:136]).abs().max() > 1e-3


def test_tile_geometry_errors():
    model = convzoo.create_model("unet", **NARROW).eval()
    with pytest.raises(ValueError, match="predicts its centre 20 px: the margin is 92, not 10"):
        segment_tiled(model, torch.randn(1, 50, 50), tile=204, margin=10)
    padded = convzoo.create_model("unet_padded", **NARROW).eval()
    with pytest.raises(ValueError, match="leaves no 16-aligned centre; use a tile of at least 240"):
        segment_tiled(padded, torch.randn(1, 50, 50), tile=224, margin=112)
