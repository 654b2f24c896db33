"""Segmentation data: images with a class index per pixel, and augmentation that moves both.

=================  ===========  =========  ========  ===================================
name               images       size       classes   masks
=================  ===========  =========  ========  ===================================
shapes[:k=v,]      generated    64x64      4         background, circle, rectangle,
                                                     triangle (see `convzoo.data.shapes`)
oxford-pet         7,349        any        3         the trimaps: pet, background, border
seg-folder:PATH    any          any        any       PNG class indices
=================  ===========  =========  ========  ===================================

``oxford-pet`` is the Oxford-IIIT Pet set (Parkhi et al. 2012) fetched with
torchvision's downloader into the data root (``--data-dir``, ``$CONVZOO_DATA``
or the user cache); its ``trainval`` list is the training split, ``test`` the
test split. Trimap values 1, 2, 3 become classes 0 (pet), 1 (background),
2 (border).

``seg-folder:PATH`` reads ``PATH/images/NAME.{png,jpg,...}`` with
``PATH/masks/NAME.png`` (one channel, pixel value = class index), or the same
pair of folders under ``PATH/train`` and ``PATH/test``; otherwise a fixed 20%
(seed 0) is the test set. Class names come from ``PATH/classes.txt`` (one per
line) when present, else ``class0..`` up to the largest index found. Every pair
is checked before training: a missing or unmatched mask, a mask whose size
differs from its image's, or a value beyond the classes is a one-line error
naming the file.

Augmentation (`JointAugment`) draws one set of random numbers per pair and
applies it to the image (bilinear) and the mask (nearest): crops from a
mirror-padded border, horizontal flips, and the paper's elastic deformation
(Section 3.1: displacements on a coarse 3x3 grid, Gaussian with 10 px standard
deviation on a 572 px tile, interpolated bicubically to every pixel).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from convzoo.data.catalog import register_dataset
from convzoo.data.splits import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    TEST_HOLDOUT_SEED,
    ImageSet,
    channel_stats,
    resize_uint8,
)

__all__ = ["JointAugment", "MaskFileSplit", "MaskSplit", "mirror_index"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
PET_CLASSES = ["pet", "background", "border"]


def mirror_index(index: Tensor, size: int) -> Tensor:
    """Positions mirrored into [0, size) without repeating the edge (numpy's "reflect").

    Any distance outside works (the pattern repeats with period 2 * (size - 1)), so
    borders wider than the image itself are mirror-extrapolated as in Fig. 2.
    """
    if size == 1:
        return torch.zeros_like(index)
    period = 2 * (size - 1)
    folded = index.remainder(period)
    return torch.where(folded < size, folded, period - folded)


def resize_masks(masks: Tensor, size: tuple[int, int]) -> Tensor:
    """Nearest-neighbour resize of (N, H, W) class indices (interpolation would invent classes)."""
    if tuple(masks.shape[-2:]) == tuple(size):
        return masks
    out = F.interpolate(masks[:, None].float(), size=tuple(size), mode="nearest-exact")
    return out[:, 0].to(masks.dtype)


# -- splits -----------------------------------------------------------------
@dataclass
class MaskSplit:
    """Images and masks in memory: uint8 (N, C, H, W) and uint8 class indices (N, H, W)."""

    images: Tensor
    masks: Tensor

    def __len__(self) -> int:
        return len(self.masks)

    def subset(self, index: Tensor) -> MaskSplit:
        return MaskSplit(self.images[index], self.masks[index])

    def resized(self, size: tuple[int, int]) -> MaskSplit:
        return MaskSplit(resize_uint8(self.images, size), resize_masks(self.masks, size))

    def batches(
        self, index_batches: Sequence[Tensor], num_workers: int = 0
    ) -> Iterator[tuple[Tensor, Tensor]]:
        for index in index_batches:
            yield self.images[index], self.masks[index].long()


@dataclass
class MaskFileSplit:
    """(image file, mask file) pairs decoded by DataLoader workers and resized to `size`."""

    samples: list[tuple[str, str]]
    size: tuple[int, int] | None = None
    mask_offset: int = 0  # subtracted from the stored values (the pet trimaps start at 1)

    def __len__(self) -> int:
        return len(self.samples)

    def subset(self, index: Tensor) -> MaskFileSplit:
        return replace(self, samples=[self.samples[i] for i in index.tolist()])

    def resized(self, size: tuple[int, int]) -> MaskFileSplit:
        return replace(self, size=tuple(size))

    def batches(
        self, index_batches: Sequence[Tensor], num_workers: int = 0
    ) -> Iterator[tuple[Tensor, Tensor]]:
        if self.size is None:
            raise ValueError("segmentation image files need an input size (pass --input-size)")
        loader = torch.utils.data.DataLoader(
            _DecodedPairs(self.samples, self.size, self.mask_offset),
            batch_sampler=[b.tolist() for b in index_batches],
            num_workers=num_workers,
        )
        yield from loader


class _DecodedPairs(torch.utils.data.Dataset):
    def __init__(self, samples: list[tuple[str, str]], size: tuple[int, int], offset: int) -> None:
        self.samples, self.size, self.offset = samples, size, offset

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        from PIL import Image

        image_path, mask_path = self.samples[i]
        try:
            with Image.open(image_path) as handle:
                image = torch.from_numpy(np.asarray(handle.convert("RGB")).copy())
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read image file {image_path}: {exc}") from None
        mask = read_mask(mask_path).astype(np.int64) - self.offset
        image = resize_uint8(image.permute(2, 0, 1)[None], self.size)[0]  # HWC -> CHW
        return image, resize_masks(torch.from_numpy(mask)[None], self.size)[0]


def read_mask(path: str | Path) -> np.ndarray:
    """A single-channel PNG of class indices as an (H, W) array."""
    from PIL import Image

    try:
        with Image.open(path) as handle:
            if handle.mode not in ("L", "P", "I", "I;16", "1"):
                raise ValueError(
                    f"mask {path} has {handle.mode} pixels; expected one channel of class "
                    "indices (PNG mode L or P)"
                )
            return np.asarray(handle)
    except OSError as exc:
        raise ValueError(f"cannot read mask file {path}: {exc}") from None


# -- augmentation -----------------------------------------------------------
@dataclass(frozen=True)
class JointAugment:
    """Crop (mirror padding), horizontal flip and optional elastic deformation of pairs.

    `batch` has the loader's augmentation signature: random numbers are drawn for
    the global batch from `generator` and this rank keeps its `part`.
    """

    padding: int
    flip: bool
    elastic: bool = False
    elastic_sigma: float = 10.0  # px of displacement std at the paper's 572 px tile

    def batch(
        self, images: Tensor, masks: Tensor, n: int, part, generator: torch.Generator
    ) -> tuple[Tensor, Tensor]:
        size = images.shape[-1]
        oy = torch.randint(2 * self.padding + 1, (n,), generator=generator)[part]
        ox = torch.randint(2 * self.padding + 1, (n,), generator=generator)[part]
        flips = (torch.rand(n, generator=generator) < 0.5)[part]
        # coarse 3x3 grid of (dy, dx), scaled from the paper's tile to this size (>= 2 px)
        sigma = max(2.0, self.elastic_sigma * size / 572)
        coarse = (torch.randn(n, 2, 3, 3, generator=generator) * sigma)[part]
        images, masks = self.crop(images, oy, ox), self.crop(masks, oy, ox)
        if self.flip:
            images = torch.where(flips[:, None, None, None], images.flip(-1), images)
            masks = torch.where(flips[:, None, None], masks.flip(-1), masks)
        if self.elastic:
            images, masks = elastic_deform(images, masks, coarse)
        return images.contiguous(), masks.contiguous()

    def crop(self, x: Tensor, oy: Tensor, ox: Tensor) -> Tensor:
        """The window at (oy, ox) of `x` mirror-padded by `padding` (images or masks)."""
        if self.padding == 0:
            return x
        h, w = x.shape[-2:]
        rows = mirror_index(oy[:, None] + torch.arange(h) - self.padding, h)  # (N, H)
        cols = mirror_index(ox[:, None] + torch.arange(w) - self.padding, w)  # (N, W)
        batch = torch.arange(len(x))[:, None, None]
        if x.dim() == 3:  # masks
            return x[batch, rows[:, :, None], cols[:, None, :]]
        return x.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def elastic_deform(images: Tensor, masks: Tensor, coarse: Tensor) -> tuple[Tensor, Tensor]:
    """Warp uint8 images (bilinear) and masks (nearest) by one smooth displacement field.

    `coarse` is (N, 2, 3, 3) in pixels; bicubic interpolation gives a per-pixel field.
    """
    h, w = images.shape[-2:]
    field = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True)  # (N, 2, H, W)
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    y = (ys + field[:, 0]) * (2 / max(h - 1, 1)) - 1  # to grid_sample's [-1, 1]
    x = (xs + field[:, 1]) * (2 / max(w - 1, 1)) - 1
    grid = torch.stack([x, y], dim=-1)  # (N, H, W, 2)
    warped = F.grid_sample(
        images.float(), grid, mode="bilinear", padding_mode="reflection", align_corners=True
    )
    labels = F.grid_sample(
        masks[:, None].float(), grid, mode="nearest", padding_mode="reflection", align_corners=True
    )
    return warped.round_().clamp_(0, 255).to(torch.uint8), labels[:, 0].to(masks.dtype)


# -- datasets ---------------------------------------------------------------
def load_shapes(options: str = "") -> ImageSet:
    from convzoo.data.loader import seeded_generator
    from convzoo.data.shapes import SHAPE_CLASSES, draw_shapes, parse_options

    opts = parse_options(options)
    size, k = opts["size"], opts["classes"]
    train = MaskSplit(
        *draw_shapes(
            opts["train"], size=size, classes=k, generator=seeded_generator(opts["seed"], 0)
        )
    )
    test = MaskSplit(
        *draw_shapes(
            opts["test"], size=size, classes=k, generator=seeded_generator(opts["seed"], 1)
        )
    )
    mean, std = channel_stats(train.images)
    return ImageSet(
        "shapes" + (f":{options}" if options else ""), list(SHAPE_CLASSES[:k]), train, test, 3,
        (size, size), mean, std, flip=True, crop_padding=size // 8, source="generated",
        batch_size=16, task="segmentation",
    )  # fmt: skip


def _pet_root(data_dir: str | Path | None, download: bool) -> Path:
    """The folder holding ``oxford-iiit-pet/``, downloading it with torchvision if needed."""
    from convzoo.data.files import download_root, search_roots

    for root in search_roots(data_dir):
        if (root / "oxford-iiit-pet" / "annotations" / "trimaps").is_dir():
            return root
    target = download_root(data_dir)
    if not download:
        looked = ", ".join(str(r / "oxford-iiit-pet") for r in search_roots(data_dir))
        raise FileNotFoundError(
            f"oxford-pet: not found in {looked} (downloads disabled; drop --no-download)"
        )
    import torchvision.datasets as tvd

    try:
        tvd.OxfordIIITPet(str(target), target_types="segmentation", download=True)
    except (OSError, RuntimeError) as exc:
        raise FileNotFoundError(
            f"oxford-pet: download into {target / 'oxford-iiit-pet'} failed ({exc}); "
            "get images.tar.gz and annotations.tar.gz from "
            "https://www.robots.ox.ac.uk/~vgg/data/pets/ and unpack them there"
        ) from None
    return target


def load_oxford_pet(data_dir: str | Path | None = None, download: bool = True) -> ImageSet:
    base = _pet_root(data_dir, download) / "oxford-iiit-pet"

    def split(name: str) -> MaskFileSplit:
        listing = base / "annotations" / f"{name}.txt"
        if not listing.is_file():
            raise FileNotFoundError(f"oxford-pet: missing split list {listing}")
        ids = [line.split()[0] for line in listing.read_text().splitlines() if line.strip()]
        pairs = [
            (str(base / "images" / f"{i}.jpg"), str(base / "annotations" / "trimaps" / f"{i}.png"))
            for i in ids
        ]
        for image, mask in pairs:
            for path in (image, mask):
                if not Path(path).is_file():
                    raise FileNotFoundError(f"oxford-pet: {listing.name} lists a missing {path}")
        return MaskFileSplit(pairs, mask_offset=1)

    return ImageSet(
        "oxford-pet", list(PET_CLASSES), split("trainval"), split("test"), 3, None,
        IMAGENET_MEAN, IMAGENET_STD, flip=True, crop_padding=-1, source=str(base),
        batch_size=16, task="segmentation",
    )  # fmt: skip


def _pairs(folder: Path) -> list[tuple[str, str]]:
    """Matched (image, mask) files of ``folder/images`` and ``folder/masks``, checked."""
    from PIL import Image

    images_dir, masks_dir = folder / "images", folder / "masks"
    for d in (images_dir, masks_dir):
        if not d.is_dir():
            raise FileNotFoundError(f"seg-folder: {d} does not exist (need images/ and masks/)")
    images = {p.stem: p for p in sorted(images_dir.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}
    masks = {p.stem: p for p in sorted(masks_dir.iterdir()) if p.suffix.lower() == ".png"}
    for stem, path in images.items():
        if stem not in masks:
            raise ValueError(f"seg-folder: image {path} has no mask {masks_dir / stem}.png")
    for stem, path in masks.items():
        if stem not in images:
            raise ValueError(f"seg-folder: mask {path} has no image of that name in {images_dir}")
    if not images:
        raise ValueError(f"seg-folder: no images in {images_dir}")
    for stem, image_path in images.items():
        try:
            with Image.open(image_path) as image, Image.open(masks[stem]) as mask:
                if image.size != mask.size:
                    raise ValueError(
                        f"seg-folder: mask {masks[stem]} is {mask.size[0]}x{mask.size[1]}, its "
                        f"image {image_path} is {image.size[0]}x{image.size[1]}"
                    )
        except OSError as exc:
            raise ValueError(f"seg-folder: cannot read {image_path} or its mask: {exc}") from None
    return [(str(images[s]), str(masks[s])) for s in images]


def load_seg_folder(path: str) -> ImageSet:
    root = Path(path).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"seg-folder: {root} does not exist")
    if (root / "train").is_dir() and (root / "test").is_dir():
        train, test = MaskFileSplit(_pairs(root / "train")), MaskFileSplit(_pairs(root / "test"))
        notes = [f"test set: {root / 'test'}"]
    else:
        from convzoo.data.splits import split_validation

        pairs = _pairs(root)
        if len(pairs) < 2:
            raise ValueError(f"seg-folder: {root} has {len(pairs)} image, too few for a test set")
        train, test = split_validation(MaskFileSplit(pairs), 0.2, TEST_HOLDOUT_SEED)
        notes = ["no train/ and test/ subfolders: a fixed 20% (seed 0) is the test set"]
    largest = {m: int(read_mask(m).max()) for _, m in train.samples + test.samples}
    names_file = root / "classes.txt"
    if names_file.is_file():
        classes = [line.strip() for line in names_file.read_text().splitlines() if line.strip()]
        for mask, value in largest.items():
            if value >= len(classes):
                raise ValueError(
                    f"seg-folder: mask {mask} holds class {value}, but {names_file} names "
                    f"{len(classes)} classes (0..{len(classes) - 1})"
                )
    else:
        classes = [f"class{i}" for i in range(max(max(largest.values()) + 1, 2))]
    return ImageSet(
        f"seg-folder:{root}", classes, train, test, 3, None, IMAGENET_MEAN, IMAGENET_STD,
        flip=True, crop_padding=-1, source=str(root), notes=notes, batch_size=16,
        task="segmentation",
    )  # fmt: skip


register_dataset(
    "shapes",
    lambda arg, root, fetch: load_shapes(arg),
    task="segmentation",
    argument="optional",
)
register_dataset(
    "oxford-pet",
    lambda arg, root, fetch: load_oxford_pet(root, fetch),
    task="segmentation",
)
register_dataset(
    "seg-folder:PATH", lambda arg, root, fetch: load_seg_folder(arg), task="segmentation"
)
