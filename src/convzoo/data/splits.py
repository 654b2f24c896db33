"""The in-memory form of a dataset: image splits, their checks and statistics.

`ImageSet` is what every loader returns: a train and a test split (uint8
tensors, or image files decoded on demand), class names, channels, native size,
normalisation statistics and the augmentations that suit it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import Tensor

from convzoo.errors import BadImagesError

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "SKIP_BAD_SUFFIX",
    "FolderSplit",
    "ImageSet",
    "TensorSplit",
    "channel_stats",
    "resize_uint8",
    "scan_images",
    "split_validation",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SKIP_BAD_SUFFIX = ":skip-bad"  # folder:PATH:skip-bad leaves unreadable files out
TEST_HOLDOUT_SEED = 0  # fixed: the test set never depends on the training seed


# -- splits -----------------------------------------------------------------
@dataclass
class TensorSplit:
    """Images held in memory: uint8 (N, C, H, W) and int64 labels (N,)."""

    images: Tensor
    labels: Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: Tensor) -> TensorSplit:
        return TensorSplit(self.images[index], self.labels[index])

    def resized(self, size: tuple[int, int]) -> TensorSplit:
        if tuple(self.images.shape[-2:]) == tuple(size):
            return self
        return TensorSplit(resize_uint8(self.images, size), self.labels)

    def batches(
        self, index_batches: Sequence[Tensor], num_workers: int = 0
    ) -> Iterator[tuple[Tensor, Tensor]]:
        for index in index_batches:
            yield self.images[index], self.labels[index]


@dataclass
class FolderSplit:
    """Image files decoded on the fly by DataLoader workers, resized to `size`."""

    samples: list[tuple[str, int]]
    size: tuple[int, int] | None = None

    @property
    def labels(self) -> Tensor:
        return torch.tensor([label for _, label in self.samples], dtype=torch.long)

    def __len__(self) -> int:
        return len(self.samples)

    def subset(self, index: Tensor) -> FolderSplit:
        return FolderSplit([self.samples[i] for i in index.tolist()], self.size)

    def resized(self, size: tuple[int, int]) -> FolderSplit:
        return replace(self, size=tuple(size))

    def batches(
        self, index_batches: Sequence[Tensor], num_workers: int = 0
    ) -> Iterator[tuple[Tensor, Tensor]]:
        if self.size is None:
            raise ValueError("folder images need an input size (pass --input-size)")
        loader = torch.utils.data.DataLoader(
            _DecodedImages(self.samples, self.size),
            batch_sampler=[b.tolist() for b in index_batches],
            num_workers=num_workers,
            persistent_workers=False,
            collate_fn=_collate_or_report,
        )
        for batch in loader:
            if isinstance(batch, BadImages):  # raised here, not in the worker: one clean line
                raise BadImagesError(bad_images_message(batch.files, len(self.samples)))
            yield batch


@dataclass(frozen=True)
class BadImages:
    """What a decoding worker sends back instead of a batch when files fail: (path, reason)."""

    files: tuple[tuple[str, str], ...]


class _DecodedImages(torch.utils.data.Dataset):
    """Decode + resize only (deterministic); augmentation happens on the batch."""

    def __init__(self, samples: list[tuple[str, int]], size: tuple[int, int]) -> None:
        self.samples, self.size = samples, size

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[Tensor, int] | BadImages:
        import numpy as np
        from PIL import Image

        path, label = self.samples[i]
        try:
            with Image.open(path) as handle:
                array = np.asarray(handle.convert("RGB"))
        except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError, struct.error ...
            return BadImages(((path, _reason(path, exc)),))
        image = torch.from_numpy(array.copy()).permute(2, 0, 1)  # HWC -> CHW
        return resize_uint8(image[None], self.size)[0], label


def _collate_or_report(items: list) -> tuple[Tensor, Tensor] | BadImages:
    bad = [f for item in items if isinstance(item, BadImages) for f in item.files]
    if bad:
        return BadImages(tuple(bad))
    return torch.utils.data.default_collate(items)


def _reason(path: str, exc: BaseException) -> str:
    """Why an image file failed, in a few words (PIL's messages repeat the path)."""
    from PIL import UnidentifiedImageError

    if os.path.isfile(path) and os.path.getsize(path) == 0:
        return "empty file"
    if isinstance(exc, UnidentifiedImageError):
        return "not an image format PIL recognises"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def check_image_header(path: str) -> str | None:
    """Why PIL cannot read `path` (identify + verify, no full decode), or None if it can."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.verify()  # structure and checksums (PNG CRCs) without decoding the pixels
    except Exception as exc:  # PIL raises many types for damaged files
        return _reason(path, exc)
    return None


def scan_images(paths: Sequence[str], *, threads: int | None = None) -> list[tuple[str, str]]:
    """(path, reason) for every file in `paths` that is not a readable image, in order.

    Header checks run in threads: they are file reads and small parses that
    release the GIL, so a folder of thousands of files takes seconds.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads or min(16, 4 * (os.cpu_count() or 1))) as pool:
        reasons = list(pool.map(check_image_header, paths))
    return [(path, reason) for path, reason in zip(paths, reasons, strict=True) if reason]


def bad_images_message(bad: Sequence[tuple[str, str]], total: int, limit: int = 50) -> str:
    """One line naming every unreadable file (up to `limit`) and the way out."""
    shown = "; ".join(f"{path} ({reason})" for path, reason in bad[:limit])
    more = f"; and {len(bad) - limit} more" if len(bad) > limit else ""
    return (
        f"{len(bad)} of {total} image files cannot be read: {shown}{more}. "
        f"Fix or remove them, or skip them with `train --skip-bad-images` "
        f"(dataset name folder:PATH{SKIP_BAD_SUFFIX})"
    )


def resize_uint8(images: Tensor, size: tuple[int, int]) -> Tensor:
    """Antialiased bilinear resize of a uint8 batch, staying uint8."""
    out = F.interpolate(images.float(), size=tuple(size), mode="bilinear", antialias=True)
    return out.round_().clamp_(0, 255).to(torch.uint8)


# -- the dataset description ------------------------------------------------
MAX_DEFAULT_BATCH = 128
MIN_STEPS_PER_EPOCH = 40


def default_batch_size(train_images: int) -> int:
    """128, or the largest power of two (at least 16) that gives a small training set
    `MIN_STEPS_PER_EPOCH` steps an epoch: a deep network with batch norm needs steps more
    than large batches (at 128, 2,048 images are 16 steps an epoch)."""
    batch = MAX_DEFAULT_BATCH
    while batch > 16 and train_images < batch * MIN_STEPS_PER_EPOCH:
        batch //= 2
    return batch


@dataclass
class ImageSet:
    """A dataset ready for training: splits, class names, preprocessing facts."""

    name: str
    classes: list[str]
    train: TensorSplit | FolderSplit
    test: TensorSplit | FolderSplit
    in_channels: int
    image_size: tuple[int, int] | None  # native size; None for folders of mixed sizes
    mean: tuple[float, ...]
    std: tuple[float, ...]
    flip: bool
    crop_padding: int  # at the native size
    source: str = ""  # where the files came from
    batch_size: int | None = None  # default training batch; None: `default_batch_size`
    notes: list[str] = field(default_factory=list)
    task: str = "classification"  # or "segmentation": targets are masks (see data.segmentation)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __post_init__(self) -> None:
        if self.batch_size is None:
            self.batch_size = default_batch_size(len(self.train))


def split_validation(
    split: TensorSplit | FolderSplit, fraction: float, seed: int
) -> tuple[TensorSplit | FolderSplit, TensorSplit | FolderSplit | None]:
    """Carve a seeded validation set out of the training split: (train, val)."""
    if not 0 <= fraction < 1:
        raise ValueError(f"validation fraction must be in [0, 1), got {fraction}")
    n_val = round(len(split) * fraction)
    if n_val == 0:
        return split, None
    order = torch.randperm(len(split), generator=torch.Generator().manual_seed(seed))
    return split.subset(order[n_val:].sort().values), split.subset(order[:n_val].sort().values)


def holdout(split: TensorSplit | FolderSplit, fraction: float = 0.2):
    train, test = split_validation(split, fraction, TEST_HOLDOUT_SEED)
    return train, test


def channel_stats(images: Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of a uint8 batch, in [0, 1] units (chunked)."""
    total = torch.zeros(images.shape[1], dtype=torch.float64)
    squares = torch.zeros_like(total)
    for chunk in images.split(4096):
        x = chunk.double() / 255
        total += x.sum(dim=(0, 2, 3))
        squares += (x * x).sum(dim=(0, 2, 3))
    n = images.shape[0] * images.shape[2] * images.shape[3]
    mean = total / n
    std = (squares / n - mean * mean).clamp_min(1e-12).sqrt()
    return tuple(round(v, 4) for v in mean.tolist()), tuple(round(v, 4) for v in std.tolist())
