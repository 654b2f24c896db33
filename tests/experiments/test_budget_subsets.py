"""The engine's budget options: fixed training and test subsets, the same for every seed."""

import pytest
import torch

from convzoo.data import load_dataset
from convzoo.train.config import TrainConfig, resolve_config
from convzoo.train.distributed import init_distributed
from convzoo.train.setup import build_parts

DATA = "synthetic:channels=1,size=16,classes=3,train=100,test=50"


def parts(**settings):
    cfg = TrainConfig(model="ablation_cnn", dataset=DATA, batch_size=8, **settings)
    cfg = resolve_config(cfg, dataset_batch_size=8).config
    return build_parts(cfg, load_dataset(DATA), init_distributed("cpu"))


def test_subsets_have_the_requested_sizes_and_do_not_move_with_the_seed():
    a = parts(train_images=40, test_images=20, seed=0)
    b = parts(train_images=40, test_images=20, seed=1)
    assert a.sizes == {"train": 40, "val": 10, "test": 20}
    assert torch.equal(a.train_batches.split.labels, b.train_batches.split.labels)
    assert torch.equal(a.test_batches.split.images, b.test_batches.split.images)


def test_a_subset_larger_than_the_split_keeps_everything():
    assert parts(train_images=10_000).sizes == {"train": 90, "val": 10, "test": 50}


def test_bad_subset_sizes_are_refused():
    with pytest.raises(ValueError, match="train_images must be >= 1, got 0"):
        TrainConfig(model="ablation_cnn", train_images=0)
