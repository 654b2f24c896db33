"""Datasets, batch augmentation and loaders (see `convzoo.data.datasets` for the list)."""

from convzoo.data.datasets import (
    DATASETS,
    FolderSplit,
    ImageSet,
    TensorSplit,
    load_dataset,
    split_validation,
)
from convzoo.data.files import CorruptFileError, search_roots
from convzoo.data.loader import Augment, Batches

__all__ = [
    "DATASETS",
    "Augment",
    "Batches",
    "CorruptFileError",
    "FolderSplit",
    "ImageSet",
    "TensorSplit",
    "load_dataset",
    "search_roots",
    "split_validation",
]
