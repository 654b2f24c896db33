"""Segmenting images of any size: the overlap-tile strategy of U-Net, and one-pass prediction.

Ronneberger, Fischer, Brox (2015). U-Net: Convolutional Networks for Biomedical
Image Segmentation. arXiv:1505.04597. Fig. 2 and Section 2: the valid-convolution
network predicts the centre of each input tile (388 of 572 px); the image is
tiled so that those centres cover it, and the context missing at the image
border is mirror-extrapolated. The tiles must keep every 2x2 max-pool on an even
grid: here each tile starts a multiple of 2**depth (16) pixels after the
previous one, so every tile computes exactly what one pass over the whole
mirror-padded image would, and the mosaic has no seams.

A same-padded network (``unet_padded``, encoder U-Nets) takes the whole image
in one pass (mirror-padded to a multiple of its total stride, then cropped
back). It can be tiled too, to bound memory: each tile then keeps only its
centre, ``margin`` pixels away from the tile's edges, where the zero padding of
the tile border does not reach.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from convzoo.data.segmentation import mirror_index

__all__ = ["mirror_pad", "receptive_margin", "segment_tiled", "segment_whole"]


def mirror_pad(x: Tensor, top: int, bottom: int, left: int, right: int) -> Tensor:
    """Mirror-extrapolate (..., H, W) by any amount on each side (Fig. 2)."""
    h, w = x.shape[-2:]
    rows = mirror_index(torch.arange(-top, h + bottom), h)
    cols = mirror_index(torch.arange(-left, w + right), w)
    return x[..., rows[:, None], cols[None, :]]


def receptive_margin(depth: int = 4, multiple: int = 16) -> int:
    """Pixels around a same-padded U-Net output that it depends on, rounded up to `multiple`.

    The convolutions reach what the valid network loses per side, (572 - 388) / 2 =
    92 px at depth 4; the 2x2 pooling cells a pixel falls in add up to 2**depth - 1.
    """
    from convzoo.models.unet import nearest_accepted_size, unet_output_size

    size = nearest_accepted_size(2**depth * 40, depth=depth)
    lost = (size - unet_output_size(size, depth=depth)) // 2
    return math.ceil((lost + 2**depth - 1) / multiple) * multiple


@torch.no_grad()
def segment_whole(model: nn.Module, image: Tensor, *, multiple: int) -> Tensor:
    """Logits (K, H, W) of a normalised (C, H, W) image in one pass.

    The image is mirror-padded at the bottom and right to a multiple of `multiple`
    (the network's total stride) and the output cropped back.
    """
    h, w = image.shape[-2:]
    padded = mirror_pad(image, 0, -h % multiple, 0, -w % multiple)
    return model(padded[None])[0, :, :h, :w]


@torch.no_grad()
def segment_tiled(
    model: nn.Module,
    image: Tensor,
    *,
    tile: int,
    margin: int | None = None,
    align: int = 16,
    batch_size: int = 4,
) -> Tensor:
    """Logits (K, H, W) of a normalised (C, H, W) image, tile by tile (overlap-tile).

    `tile` is the input side. A valid-convolution network's output is the tile's
    centre, and `margin` is fixed by it; a same-padded network keeps the centre
    `margin` pixels in from the tile's edges. Tiles advance by the largest
    multiple of `align` that fits in that centre, so max-pooling grids line up.
    """
    probe = model(image.new_zeros(1, image.shape[0], tile, tile))  # (1, K, O, O)
    out_size = probe.shape[-1]
    lost = (tile - out_size) // 2  # per side; 0 for same padding
    if out_size != tile and margin is not None and margin != lost:
        raise ValueError(
            f"a {tile} px tile of this network predicts its centre {out_size} px: "
            f"the margin is {lost}, not {margin}"
        )
    margin = lost if margin is None else margin
    keep = tile - 2 * margin  # the centre each tile contributes
    step = keep - keep % align
    if step <= 0:
        raise ValueError(
            f"tile {tile} px with a {margin} px margin leaves no {align}-aligned centre; "
            f"use a tile of at least {2 * margin + align} px"
        )
    h, w = image.shape[-2:]
    rows, cols = math.ceil(h / step), math.ceil(w / step)
    padded = mirror_pad(
        image,
        margin,
        (rows - 1) * step + tile - margin - h,
        margin,
        (cols - 1) * step + tile - margin - w,
    )
    corners = [(r * step, c * step) for r in range(rows) for c in range(cols)]
    logits = image.new_empty(probe.shape[1], rows * step, cols * step)
    inner = margin - lost  # where the kept centre starts in the tile's output
    for start in range(0, len(corners), batch_size):
        chunk = corners[start : start + batch_size]
        tiles = torch.stack([padded[:, y : y + tile, x : x + tile] for y, x in chunk])
        out = model(tiles)[:, :, inner : inner + step, inner : inner + step]
        for (y, x), piece in zip(chunk, out, strict=True):
            logits[:, y : y + step, x : x + step] = piece
    return logits[:, :h, :w]
