"""Batches for training and evaluation: seeded order, per-rank shards, batch augmentation.

Everything random here is a pure function of ``(seed, epoch, step)``: the
shuffled order of an epoch comes from a generator seeded with ``(seed, epoch)``
and each batch's crop offsets and flips from one seeded with
``(seed, epoch, step)``. So an epoch can be restarted at any step (exact
resume) and every rank of a distributed run draws the same random numbers
for the global batch, then keeps its own slice of it: a run on N processes
sees exactly the images, augmented exactly as, a single process with the
same global batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from convzoo.data.splits import FolderSplit, TensorSplit

if TYPE_CHECKING:
    from convzoo.data.segmentation import MaskFileSplit, MaskSplit

__all__ = ["Augment", "Batches", "normalize", "seeded_generator"]


def seeded_generator(*key: int) -> torch.Generator:
    """A torch generator seeded from a tuple of ints (well mixed by numpy's SeedSequence)."""
    seed = int(np.random.SeedSequence([k & 0xFFFFFFFF for k in key]).generate_state(1)[0])
    return torch.Generator().manual_seed(seed)


@dataclass(frozen=True)
class Augment:
    """Random crop with zero padding and optional horizontal flip, on uint8 batches."""

    padding: int
    flip: bool

    def params(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
        """Offsets (y, x) in [0, 2*padding] and flip flags for a batch of `n`."""
        oy = torch.randint(2 * self.padding + 1, (n,), generator=generator)
        ox = torch.randint(2 * self.padding + 1, (n,), generator=generator)
        flips = torch.rand(n, generator=generator) < 0.5
        return oy, ox, flips

    def batch(
        self, images: Tensor, labels: Tensor, n: int, part, generator: torch.Generator
    ) -> tuple[Tensor, Tensor]:
        """Augment this rank's `part` of a global batch of `n` (labels pass through)."""
        oy, ox, flips = self.params(n, generator)
        return self.apply(images, oy[part], ox[part], flips[part]), labels

    def apply(self, images: Tensor, oy: Tensor, ox: Tensor, flips: Tensor) -> Tensor:
        """Crop each image at its offset (after zero padding), then flip the flagged ones."""
        n, _, h, w = images.shape
        if self.padding == 0:
            if not self.flip:
                return images.contiguous()
            out = images.clone()
            chosen = flips.nonzero().squeeze(1)
            out[chosen] = images[chosen].flip(-1)
            return out
        p = self.padding
        padded = F.pad(images, (p, p, p, p))  # (N, C, H + 2p, W + 2p), padded once per batch
        source = torch.arange(n)
        if self.flip:
            # the mirror of the crop at column ox is the crop at column 2p - ox of the mirrored
            # padded image: one gather from [padded, mirrored] does crop and flip together
            padded = torch.cat([padded, padded.flip(-1)])
            source = source + flips.long() * n
            ox = torch.where(flips, 2 * p - ox, ox)
        # every (H, W) window of every image as a view, (2N, K, K, C, H, W) with K = 2p + 1;
        # indexing picks one window per image and copies only its pixels
        windows = padded.unfold(2, h, 1).unfold(3, w, 1).permute(0, 2, 3, 1, 4, 5)
        return windows[source, oy, ox]


def normalize(images: Tensor, mean: Tensor, std: Tensor) -> Tensor:
    """uint8 (N, C, H, W) -> float, scaled to [0, 1] and standardised per channel."""
    return images.float().div_(255).sub_(mean).div_(std)


class Batches:
    """Global batches of a split, sharded over `world_size` ranks.

    Training (``shuffle=True``): full global batches only (the last partial one
    is dropped so every rank does the same number of equal steps). Evaluation:
    every example exactly once, ranks take interleaved shares of each batch.
    """

    def __init__(
        self,
        split: TensorSplit | FolderSplit | MaskSplit | MaskFileSplit,
        *,
        batch_size: int,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        shuffle: bool,
        augment: Augment | None = None,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        num_workers: int = 0,
    ) -> None:
        if batch_size % world_size:
            raise ValueError(
                f"global batch size {batch_size} must be divisible by the {world_size} processes"
            )
        if shuffle and len(split) < batch_size:
            raise ValueError(
                f"the training split has {len(split)} images, fewer than one batch of {batch_size}"
            )
        self.split, self.batch_size, self.shuffle = split, batch_size, shuffle
        self.augment, self.seed = augment, seed
        self.rank, self.world_size, self.num_workers = rank, world_size, num_workers
        self.mean = torch.tensor(mean).view(1, -1, 1, 1)
        self.std = torch.tensor(std).view(1, -1, 1, 1)

    def __len__(self) -> int:
        n = len(self.split)
        return n // self.batch_size if self.shuffle else -(-n // self.batch_size)

    def _order(self, epoch: int) -> Tensor:
        if self.shuffle:
            return torch.randperm(len(self.split), generator=seeded_generator(self.seed, epoch))
        return torch.arange(len(self.split))

    def _local(self, global_index: Tensor) -> tuple[Tensor, slice | Tensor]:
        """This rank's part of a global batch (and where it sits inside the batch)."""
        if self.world_size == 1:
            return global_index, slice(None)
        if self.shuffle:  # equal contiguous chunks
            per = self.batch_size // self.world_size
            part = slice(self.rank * per, (self.rank + 1) * per)
            return global_index[part], part
        part = torch.arange(self.rank, len(global_index), self.world_size)
        return global_index[part], part

    def epoch(self, epoch: int = 0, start_step: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        """Normalised float images and labels of this rank, from `start_step` on."""
        order = self._order(epoch)
        steps = range(start_step, len(self))
        global_batches = [order[s * self.batch_size : (s + 1) * self.batch_size] for s in steps]
        locals_ = [self._local(b) for b in global_batches]
        stream = self.split.batches([idx for idx, _ in locals_], self.num_workers)
        for step, global_index, (_, part), (images, labels) in zip(
            steps, global_batches, locals_, stream, strict=True
        ):
            if self.augment is not None:  # Augment, or JointAugment for (image, mask) pairs
                generator = seeded_generator(self.seed, epoch, step, 1)
                images, labels = self.augment.batch(
                    images, labels, len(global_index), part, generator
                )
            yield normalize(images, self.mean, self.std), labels
