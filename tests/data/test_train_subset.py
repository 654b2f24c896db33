"""NAME@N: a fixed random N of the training images, the test split whole."""

from __future__ import annotations

import pytest
import torch

from convzoo.data import load_dataset


def test_subset_keeps_n_training_images_and_the_whole_test_split() -> None:
    full = load_dataset("synthetic:channels=1,size=8,train=100,test=20")
    part = load_dataset("synthetic:channels=1,size=8,train=100,test=20@40")
    assert (len(part.train), len(part.test)) == (40, 20)
    assert part.name.endswith("@40") and any("40 of the 100" in n for n in part.notes)
    assert torch.equal(part.test.images, full.test.images)
    again = load_dataset("synthetic:channels=1,size=8,train=100,test=20@40")
    assert torch.equal(again.train.labels, part.train.labels)  # the same images every time


def test_subset_larger_than_the_training_split_is_refused() -> None:
    with pytest.raises(ValueError, match="1 <= N <= 100"):
        load_dataset("synthetic:train=100@500")
