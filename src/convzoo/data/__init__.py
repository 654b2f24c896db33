"""Datasets, batch augmentation and loaders (`convzoo.data.catalog` finds them by name)."""

from convzoo.data.catalog import dataset_names, load_dataset
from convzoo.data.files import CorruptFileError, search_roots
from convzoo.data.loader import Augment, Batches
from convzoo.data.splits import FolderSplit, ImageSet, TensorSplit, split_validation

__all__ = [
    "Augment",
    "Batches",
    "CorruptFileError",
    "FolderSplit",
    "ImageSet",
    "TensorSplit",
    "dataset_names",
    "load_dataset",
    "search_roots",
    "split_validation",
]
