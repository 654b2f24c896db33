"""The batch augmentation must stay bit-identical to its first, per-pixel gather implementation:
exact resume and every result recorded so far depend on the same seed giving the same crops."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from convzoo.data import Augment
from convzoo.data.loader import seeded_generator


def reference_apply(
    augment: Augment, images: Tensor, oy: Tensor, ox: Tensor, flips: Tensor
) -> Tensor:
    """The original implementation: gather every pixel through index tensors (slow, obvious)."""
    n, _, h, w = images.shape
    if augment.padding > 0:
        p = augment.padding
        padded = F.pad(images, (p, p, p, p))
        rows = (oy[:, None] + torch.arange(h))[:, :, None]
        cols = (ox[:, None] + torch.arange(w))[:, None, :]
        batch = torch.arange(n)[:, None, None]
        images = padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)
    if augment.flip:
        images = torch.where(flips[:, None, None, None], images.flip(-1), images)
    return images.contiguous()


@pytest.mark.parametrize("padding", [0, 1, 2, 4])
@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("shape", [(64, 1, 28, 28), (17, 3, 32, 30)])
def test_apply_matches_reference(padding: int, flip: bool, shape: tuple[int, ...]) -> None:
    gen = torch.Generator().manual_seed(padding * 10 + flip)
    images = torch.randint(0, 256, shape, dtype=torch.uint8, generator=gen)
    augment = Augment(padding, flip)
    for step in range(3):
        params = augment.params(shape[0], seeded_generator(7, 1, step, 1))
        fast = augment.apply(images, *params)
        assert fast.is_contiguous() and fast.dtype == torch.uint8
        assert torch.equal(fast, reference_apply(augment, images, *params))


def test_apply_on_a_rank_slice_matches_reference() -> None:
    """Distributed ranks apply the global batch's parameters to their own part."""
    images = torch.randint(0, 256, (8, 1, 28, 28), dtype=torch.uint8)
    augment = Augment(2, True)
    oy, ox, flips = augment.params(16, seeded_generator(0, 0, 0, 1))
    part = slice(8, 16)
    fast = augment.apply(images, oy[part], ox[part], flips[part])
    assert torch.equal(fast, reference_apply(augment, images, oy[part], ox[part], flips[part]))
