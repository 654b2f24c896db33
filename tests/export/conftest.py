"""A tiny registered network (with an optional auxiliary head) and checkpoints of it."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from convzoo import cards, factory, registry
from convzoo.blocks.head import ClassifierHead
from convzoo.models.base import AuxOutput, ConvNet, FeatureInfo
from convzoo.train.checkpoint import save_checkpoint

TINY = "tiny_deploy_net"


class TinyDeployNet(ConvNet):
    """conv-BN-ReLU -> strided conv -> GAP -> fc; an auxiliary head on the stem if `aux`."""

    def __init__(
        self, width: int = 8, *, in_channels: int = 3, num_classes: int = 4, aux: bool = False
    ) -> None:
        super().__init__(
            in_channels=in_channels,
            num_classes=num_classes,
            default_input_size=(16, 16),
            min_input_size=4,
        )
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()
        )
        self.stages = nn.Sequential()
        self.stages.add_module("stage1", nn.Sequential(nn.Conv2d(width, 16, 3, 2, 1), nn.ReLU()))
        self.head = ClassifierHead(16, num_classes)
        self.aux_head = ClassifierHead(width, num_classes) if aux else None
        self.feature_info = [FeatureInfo("stem", width, 1), FeatureInfo("stage1", 16, 2)]
        with torch.no_grad():  # non-trivial running statistics, so eval mode matters
            self.stem[1].running_mean.uniform_(-0.5, 0.5)
            self.stem[1].running_var.uniform_(0.5, 2.0)

    def forward(self, x: Tensor) -> Tensor | AuxOutput:
        self.check_input(x)
        stem = self.stem(x)
        logits = self.head(self.stages(stem))
        if self.training and self.aux_head is not None:
            return AuxOutput(logits, (self.aux_head(stem),))
        return logits


CARD = cards.ModelCard(
    name=TINY,
    family="tiny",
    paper=cards.Paper(
        title="A tiny network for the export and predict tests",
        authors="convzoo",
        year=2026,
        citation="test-only network",
    ),
    table="none",
    key_ideas=("small", "fast"),
    input_size=(3, 16, 16),
    recipe=cards.Recipe(
        source="test-only network",
        optimizer="sgd",
        lr=0.1,
        batch_size=8,
        schedule=cards.Schedule("constant"),
        epochs=1,
    ),
    accuracy_note="a test-only network",
    num_classes=4,
)


def tiny_deploy_net(**overrides) -> TinyDeployNet:
    return TinyDeployNet(8, **overrides)  # the config (width) goes first, as for real families


@pytest.fixture
def tiny_registered():
    """Registers the tiny network for one test (the registry-wide tests never see it)."""
    registry.register(CARD)(tiny_deploy_net)
    try:
        yield TINY
    finally:
        registry._REGISTRY.pop(TINY, None)


CLASSES = ["zero", "one", "two", "three"]


def make_checkpoint(
    path, *, in_channels: int, input_size=(16, 16), aux: bool = False, classes=CLASSES
):
    """A checkpoint of the tiny network in the trainer's format, with preprocessing."""
    kwargs = {"in_channels": in_channels, "num_classes": len(classes), "aux": aux}
    model = factory.create_model(TINY, **kwargs)
    config = {
        "model": TINY,
        "model_kwargs": kwargs,
        "preprocess": {
            "in_channels": in_channels,
            "input_size": list(input_size),
            "mean": [0.5] * in_channels,
            "std": [0.25] * in_channels,
        },
        "classes": list(classes),
    }
    save_checkpoint(path, {"config": config, "model": model.state_dict()})
    return model.eval(), config
