"""Every registered classifier learns on its default recipe: `pytest -m learning`.

Two epochs on ``synthetic:size=32,classes=10,train=2048,test=256`` (the very
large networks, above `benchmarks/learning_check.py`'s REDUCED_ABOVE multiply-adds,
on a quarter of the images), nothing else set: the validation top-1 must reach 3x chance (30%;
1.5x for the deep plain nets, whose degradation is the point) and the loss must stay
finite. Hours on a CPU; the table of one run is in docs/training.md ("Defaults that learn").
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

from convzoo.registry import list_models, model_card
from convzoo.train.engine import TrainConfig, train

_SPEC = importlib.util.spec_from_file_location(
    "learning_check", Path(__file__).resolve().parents[2] / "benchmarks" / "learning_check.py"
)
learning_check = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(learning_check)

CLASSIFIERS = [n for n in list_models() if model_card(n).task == "classification"]


@pytest.mark.learning
@pytest.mark.parametrize("name", CLASSIFIERS)
def test_network_learns_on_its_default_recipe(name, tmp_path):
    reduced = learning_check.reduced(name)
    dataset = learning_check.SMALL_DATASET if reduced else learning_check.DATASET
    cfg = TrainConfig(model=name, dataset=dataset, epochs=2, out=str(tmp_path),
                      progress=False, tensorboard=False, num_workers=0)  # fmt: skip
    summary = train(cfg).summary
    assert math.isfinite(summary["train_loss"]) and summary["train_loss"] < learning_check.EXPLODED
    floor = 15.0 if name in learning_check.DEGRADED else 30.0
    accuracy = summary["best_val_acc"]
    assert accuracy >= floor, f"{name}: {accuracy:.1f}% after 2 epochs"
