"""Tiny registered networks for the training tests (and a CLI entry that knows them).

Run as a script, it registers them and runs the convzoo CLI, so subprocess and
torchrun tests can train them:  python tests/train/tiny.py train tiny_net ...
"""

from __future__ import annotations

import signal
import sys
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from convzoo import registry
from convzoo.models.base import AuxOutput, ConvNet, FeatureInfo


@dataclass(frozen=True)
class TinyConfig:
    width: int = 8  # channels of the stem; the stage has twice as many


class TinyNet(ConvNet):
    """conv(8) -> conv(16, stride 2) -> pool -> fc; no batch norm, so a 2-process run
    with the same global batch computes exactly the single-process gradients."""

    aux_loss_weight = 0.3

    def __init__(
        self,
        config: TinyConfig = TinyConfig(),
        *,
        in_channels: int = 3,
        num_classes: int = 4,
        aux: bool = False,
        dropout: float = 0.0,
        nan_after: int | None = None,
        interrupt_after: int | None = None,
        fixed_input_size: bool = False,
    ) -> None:
        super().__init__(
            in_channels=in_channels,
            num_classes=num_classes,
            default_input_size=(16, 16),
            min_input_size=4,
            fixed_input_size=fixed_input_size,
        )
        w = config.width
        self.stem = nn.Sequential(nn.Conv2d(in_channels, w, 3, padding=1), nn.ReLU())
        self.stages = nn.Sequential()
        self.stages.add_module("stage1", nn.Sequential(nn.Conv2d(w, 2 * w, 3, 2, 1), nn.ReLU()))
        self.head = nn.Sequential()
        self.head.add_module("pool", nn.AdaptiveAvgPool2d(1))
        self.head.add_module("flatten", nn.Flatten())
        self.head.add_module("dropout", nn.Dropout(dropout))
        self.head.add_module("fc", nn.Linear(2 * w, num_classes))
        self.aux_head = None
        if aux:  # an auxiliary classifier on the stem's features
            self.aux_head = nn.Sequential(
                nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(w, num_classes)
            )
        self.feature_info = [FeatureInfo("stem", w, 1), FeatureInfo("stage1", 2 * w, 2)]
        self.nan_after = nan_after
        self.interrupt_after = interrupt_after  # simulates Ctrl-C during a training step
        self.calls = 0

    def forward(self, x: Tensor) -> Tensor | AuxOutput:
        self.check_input(x)
        stem = self.stem(x)
        logits = self.head(self.stages(stem))
        if self.training:
            self.calls += 1
            if self.interrupt_after is not None and self.calls > self.interrupt_after:
                signal.raise_signal(signal.SIGINT)  # as if Ctrl-C was pressed now
                self.interrupt_after = None
            if self.nan_after is not None and self.calls > self.nan_after:
                logits = logits * torch.tensor(float("nan"))
            if self.aux_head is not None:
                return AuxOutput(logits, (self.aux_head(stem),))
        return logits


CARD = registry.ModelCard(
    name="tiny_net",
    family="tiny",
    paper=registry.Paper(
        title="A tiny network for tests", authors="convzoo", year=2026, citation="test-only network"
    ),
    table="none",
    key_ideas=("small", "fast"),
    input_size=(3, 16, 16),
    recipe=registry.Recipe(
        source="test-only network",
        optimizer="sgd",
        lr=0.1,
        batch_size=8,
        schedule=registry.Schedule("constant"),
        epochs=1,
    ),
    accuracy_note="a test-only network",
    num_classes=4,
)


def tiny_net(**overrides) -> TinyNet:
    return TinyNet(TinyConfig(), **overrides)


def register_tiny() -> None:
    if "tiny_net" not in registry._REGISTRY:
        registry.register(CARD)(tiny_net)


def unregister_tiny() -> None:
    registry._REGISTRY.pop("tiny_net", None)


if __name__ == "__main__":
    from convzoo.cli import main

    register_tiny()
    sys.exit(main(sys.argv[1:]))
