"""Datasets by name: each loader registers itself, as each network does.

``register_dataset("mnist", load)`` files a loader under its name; a name shown
as ``folder:PATH`` takes an argument after the colon, and
``argument="optional"`` allows both ``synthetic`` and ``synthetic:k=v``. A
loader is called as ``load(argument, data_dir, download)``. The table of the
datasets and what they hold is in `convzoo.data.datasets`.

Any name followed by ``@N`` (``fashion-mnist@2000``) keeps a fixed random N of
its training images (the test split is whole).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from convzoo.errors import did_you_mean

if TYPE_CHECKING:
    from convzoo.data.splits import ImageSet

__all__ = ["dataset_names", "dataset_task", "load_dataset", "register_dataset"]

Loader = Callable[[str, "str | Path | None", bool], "ImageSet"]


@dataclass(frozen=True)
class DatasetEntry:
    shown: str  # the name as listed: "mnist", "folder:PATH"
    load: Loader
    task: str  # "classification" or "segmentation" (masks)
    argument: str  # "none", "optional" or "required"


_DATASETS: dict[str, DatasetEntry] = {}


def register_dataset(
    shown: str, load: Loader, *, task: str = "classification", argument: str | None = None
) -> None:
    """File `load` under the name before the colon of `shown`; duplicates raise."""
    key = shown.partition(":")[0]
    if key in _DATASETS:
        raise ValueError(f"dataset {key!r} is already registered")
    needs = "required" if ":" in shown else (argument or "none")
    _DATASETS[key] = DatasetEntry(shown, load, task, needs)


def _entries() -> dict[str, DatasetEntry]:
    from convzoo.data import datasets, segmentation  # noqa: F401  (each registers its loaders)

    return _DATASETS


def dataset_names() -> tuple[str, ...]:
    """Every dataset name, as `convzoo train --help` lists them."""
    return tuple(entry.shown for entry in _entries().values())


def dataset_task(name: str) -> str:
    """The kind of targets a dataset name has: "segmentation" (masks) or "classification"."""
    entry = _entries().get(name.split(":", 1)[0])
    return entry.task if entry is not None else "classification"


def load_dataset(
    name: str, *, data_dir: str | Path | None = None, download: bool = True
) -> ImageSet:
    """Load a dataset by name (see the table in `convzoo.data.datasets`).

    ``NAME@N`` keeps a fixed random N of the training images (the test split is whole):
    a small set for quick experiments such as ``convzoo search --quick``.
    """
    base, at, count = name.rpartition("@")
    if at and count.isdigit() and base:
        return _train_subset(load_dataset(base, data_dir=data_dir, download=download), int(count))
    key, colon, argument = name.partition(":")
    entry = _entries().get(key)
    fits = entry is not None and {"none": not colon, "required": bool(colon)}.get(
        entry.argument, True
    )
    if entry is None or not fits:
        plain = [e.shown for e in _DATASETS.values() if e.argument != "required"]
        hint = did_you_mean(name, plain, n=2)
        known = ", ".join(dataset_names())
        raise ValueError(f"unknown dataset {name!r}{hint} (known: {known})")
    return entry.load(argument, data_dir, download)


def _train_subset(data: ImageSet, count: int) -> ImageSet:
    if not 1 <= count <= len(data.train):
        raise ValueError(f"{data.name}@N needs 1 <= N <= {len(data.train)}, got {count}")
    keep = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(0))[:count]
    note = f"training on a fixed random {count} of the {len(data.train)} training images"
    return replace(
        data, name=f"{data.name}@{count}", train=data.train.subset(keep.sort().values),
        notes=[*data.notes, note],
    )  # fmt: skip
