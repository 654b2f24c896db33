"""Real Fashion-MNIST (Debian's dataset-fashion-mnist, or any local copy): run on demand."""

from __future__ import annotations

import pytest

from convzoo.data import load_dataset
from convzoo.train.engine import TrainConfig, train


@pytest.mark.slow
def test_fashion_mnist_two_epochs_of_lenet5_modern(tmp_path):
    try:
        data = load_dataset("fashion-mnist", download=False)
    except FileNotFoundError:
        pytest.skip("no local Fashion-MNIST (apt install dataset-fashion-mnist)")
    assert len(data.train) == 60_000 and len(data.test) == 10_000
    result = train(
        TrainConfig(model="lenet5_modern", dataset="fashion-mnist", epochs=2, download=False,
                    augment=False, progress=False, out=str(tmp_path / "run"))
    )  # fmt: skip
    assert result.summary["test_images"] == 10_000
    assert result.summary["test_top1"] > 85.0
