"""What a run is made of before its first step: model, input size, batches, run directory."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
from torch import nn

from convzoo.data import Augment, Batches, ImageSet, split_validation
from convzoo.data.segmentation import JointAugment
from convzoo.factory import create_model
from convzoo.train.config import TrainConfig
from convzoo.train.distributed import Dist
from convzoo.train.recipe import he_init, set_bn_momentum, zero_residual_init
from convzoo.train.state import seed_everything

__all__ = ["RunParts", "build_parts", "default_run_dir", "resolve_input_size", "unwrap"]


@dataclass
class RunParts:
    """The model and the data of a run, sized for each other."""

    model: nn.Module
    model_kwargs: dict[str, Any]
    input_size: tuple[int, int]
    notes: list[str]
    augment: Augment | None
    train_batches: Batches
    val_batches: Batches | None
    test_batches: Batches
    sizes: dict[str, int]  # images per split


def build_parts(cfg: TrainConfig, data: ImageSet, dist: Dist) -> RunParts:
    """The model (seeded: identical initial weights on every rank) and its batches.

    `cfg` holds resolved values (an explicit batch size).
    """
    seed_everything(cfg.seed)
    dropout = {} if cfg.dropout is None else {"dropout": cfg.dropout}
    kwargs = {**cfg.model_kwargs, **dropout}
    kwargs.update(num_classes=data.num_classes, in_channels=data.in_channels)
    model = create_model(cfg.model, **kwargs)
    if cfg.init == "he":
        he_init(model)
    elif cfg.init == "zero-residual":
        zero_residual_init(model)
    if cfg.bn_momentum is not None:
        set_bn_momentum(model, cfg.bn_momentum)
    input_size, note = resolve_input_size(model, data, cfg.input_size)
    augment = make_augment(cfg, data, input_size)
    train_split, val_split = split_validation(data.train, cfg.val_fraction, cfg.split_seed)
    # budgets: the same images for every seed, so seeds differ only in their own draws
    train_split = _fixed_subset(train_split, cfg.train_images, cfg.split_seed)
    train_split = train_split.resized(input_size)
    val_split = val_split.resized(input_size) if val_split is not None else None
    test_split = _fixed_subset(data.test, cfg.test_images, cfg.split_seed).resized(input_size)
    common = {
        "mean": data.mean,
        "std": data.std,
        "rank": dist.rank,
        "world_size": dist.world_size,
        "num_workers": cfg.num_workers,
    }
    train = Batches(
        train_split, batch_size=cfg.batch_size, shuffle=True, augment=augment, seed=cfg.seed,
        **common,
    )  # fmt: skip
    evaluation = {"batch_size": cfg.eval_batch_size, "shuffle": False, **common}
    return RunParts(
        model=model,
        model_kwargs=kwargs,
        input_size=input_size,
        notes=[*data.notes, *([note] if note else [])],
        augment=augment,
        train_batches=train,
        val_batches=Batches(val_split, **evaluation) if val_split else None,
        test_batches=Batches(test_split, **evaluation),
        sizes={"train": len(train_split), "val": len(val_split or []), "test": len(test_split)},
    )


def _fixed_subset(split, size: int | None, seed: int):
    """`size` images of `split` chosen by `seed` (all of it when `size` is None or larger)."""
    if size is None or size >= len(split):
        return split
    order = torch.randperm(len(split), generator=torch.Generator().manual_seed(seed))
    return split.subset(order[:size].sort().values)


def make_augment(
    cfg: TrainConfig, data: ImageSet, input_size: tuple[int, int]
) -> Augment | JointAugment | None:
    """Crops and flips of images, or of (image, mask) pairs together (plus elastic warps)."""
    if not cfg.augment:
        return None
    padding = crop_padding(data, input_size)
    if data.task == "segmentation":
        return JointAugment(padding, data.flip, elastic=cfg.elastic)
    if cfg.elastic:
        raise ValueError("--elastic deforms images with their masks: it needs a segmentation set")
    return Augment(padding, data.flip)


def crop_padding(data: ImageSet, input_size: tuple[int, int]) -> int:
    """The dataset's crop padding, scaled to the input size (1/8 of it when unknown)."""
    native = data.image_size
    if data.crop_padding < 0 or native is None:
        return input_size[0] // 8
    return round(data.crop_padding * input_size[0] / native[0])


def resolve_input_size(
    model: nn.Module, data: ImageSet, requested: int | None
) -> tuple[tuple[int, int], str | None]:
    """The input size to train at, and a note when it differs from the images' own."""
    name = getattr(getattr(model, "card", None), "name", type(model).__name__)
    fixed = getattr(model, "fixed_input_size", False)
    default = tuple(getattr(model, "default_input_size", (224, 224)))
    minimum = getattr(model, "min_input_size", 1)
    native = data.image_size
    if requested is not None:
        size = (requested, requested)
        if fixed and size != default:
            raise ValueError(
                f"{name} only accepts {default[0]}x{default[1]} inputs, "
                f"got --input-size {requested}"
            )
        if requested < minimum:
            raise ValueError(f"{name} needs inputs of at least {minimum} px, got {requested}")
    elif native is None or fixed:
        size = default
    elif min(native) < minimum:
        size = (minimum, minimum)
    else:
        size = tuple(native)
    if native is not None and size != tuple(native):
        why = "--input-size" if requested else f"{name} needs it"
        return size, f"images resized {native[0]}x{native[1]} -> {size[0]}x{size[1]} ({why})"
    if native is None:
        return size, f"images resized to {size[0]}x{size[1]}"
    return size, None


def default_run_dir(cfg: TrainConfig) -> Path:
    dataset = cfg.dataset.split(":")[0]
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{cfg.model}-{dataset}-{stamp}"


def unwrap(model: nn.Module) -> nn.Module:
    model = getattr(model, "module", model)  # DistributedDataParallel
    return getattr(model, "_orig_mod", model)  # torch.compile
