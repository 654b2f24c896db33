"""SpeedNet: a small network built to train Fashion-MNIST fast on a CPU (`convzoo speedrun`).

Not a paper's network: it borrows the architecture pattern of Keller Jordan's airbench
(2024, arXiv:2404.00498, Section 3), designed to reach 94% on CIFAR-10 in seconds, and
scales it down to 28x28 grey images and a CPU:

    stem   3x3 conv (24) -> BN -> GELU                           28x28
    block  3x3 conv -> 2x2 max-pool -> BN -> GELU
           3x3 conv -> BN -> GELU                                 x3: 14, 7, 3
    head   global max-pool -> linear (no bias) -> logits / 9

Why each piece: few wide 3x3 layers keep a CPU's matrix kernels busy with few Python-level
operations; pooling right after the first conv of a block runs the BN, GELU and second conv
at a quarter of the pixels; BatchNorm lets the large learning rates of a short run stay
stable; GELU trains a little faster than ReLU at this size (airbench's choice); the /9
scale of the logits (airbench's) tempers the large early logits of a max-pool head.
Deviations from airbench: no patch-whitening first layer (its data-dependent init needs
a pass over the training set before training; a plain conv stem costs nothing at start),
no lookahead, no test-time flips (the zoo's engine evaluates single views); the recipe's
EMA of the weights plays lookahead's role.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import Tensor, nn

from convzoo.models.base import ConvNet, FeatureInfo, init_weights_like_torchvision
from convzoo.registry import ModelCard, Paper, Recipe, Schedule, register

__all__ = ["SpeedNet"]

LOGIT_SCALE = 1 / 9  # airbench's output temperature


def conv_bn_gelu(in_channels: int, out_channels: int, *, pool: bool) -> list[tuple[str, nn.Module]]:
    layers: list[tuple[str, nn.Module]] = [
        ("conv", nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False))
    ]
    if pool:  # pool before BN and GELU: both then run on a quarter of the pixels
        layers.append(("pool", nn.MaxPool2d(2)))
    layers += [("bn", nn.BatchNorm2d(out_channels)), ("act", nn.GELU())]
    return layers


class SpeedBlock(nn.Sequential):
    """conv -> pool -> BN -> GELU -> conv -> BN -> GELU: halves H and W."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        first = conv_bn_gelu(in_channels, out_channels, pool=True)
        second = conv_bn_gelu(out_channels, out_channels, pool=False)
        super().__init__(
            OrderedDict([(f"{n}1", m) for n, m in first] + [(f"{n}2", m) for n, m in second])
        )


class MaxHead(nn.Module):
    """Global max-pool -> ``fc`` (no bias) -> scaled logits."""

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.flatten = nn.Flatten(1)
        self.fc = nn.Linear(in_features, num_classes, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.flatten(self.pool(x))) * LOGIT_SCALE


class SpeedNet(ConvNet):
    """Stem, ``block1``..``block3`` (each halves the size), max-pool head."""

    def __init__(
        self,
        widths: tuple[int, ...] = (48, 96, 192),
        *,
        stem_width: int = 24,
        num_classes: int = 10,
        in_channels: int = 1,
    ) -> None:
        if not widths or min(widths) < 1 or stem_width < 1:
            raise ValueError(f"SpeedNet needs positive widths, got {widths}, stem {stem_width}")
        super().__init__(
            in_channels, num_classes, default_input_size=(28, 28), min_input_size=2 ** len(widths)
        )
        self.stem = nn.Sequential(OrderedDict(conv_bn_gelu(in_channels, stem_width, pool=False)))
        self.stages = nn.Sequential()
        self.feature_info = [FeatureInfo("stem", stem_width, 1)]
        channels = stem_width
        for index, width in enumerate(widths, start=1):
            self.stages.add_module(f"block{index}", SpeedBlock(channels, width))
            self.feature_info.append(FeatureInfo(f"block{index}", width, 2**index))
            channels = width
        self.head = MaxHead(channels, num_classes)
        init_weights_like_torchvision(self)  # BN weight 1, bias 0 (as airbench)


PAPER = Paper(
    title="94% on CIFAR-10 in 3.29 Seconds on a Single GPU",
    authors="Jordan",
    year=2024,
    arxiv="2404.00498",
)
# The zoo's own recipe for Fashion-MNIST (what `convzoo speedrun` trains); the ingredients
# come from airbench (Section 3): Nesterov SGD, label smoothing 0.2, a short warm-up and
# decay, weight averaging (there: lookahead; here: an EMA of the weights).
RECIPE = Recipe(
    source="convzoo speedrun (zoo's own, airbench-style; Jordan 2024, Section 3)",
    optimizer="sgd",
    lr=0.2,
    batch_size=256,
    momentum=0.9,
    nesterov=True,
    weight_decay=5e-4,
    label_smoothing=0.2,
    schedule=Schedule("cosine", warmup=0.5),
    epochs=8,
    augmentation="random crop (zero padding 2) + horizontal flip",
    init="torchvision-style (Kaiming normal convs), BN weight 1 bias 0",
    notes=("EMA of the weights (decay 0.99) evaluated instead of lookahead",),
)


@register(
    ModelCard(
        name="speednet",
        family="speednet",
        paper=PAPER,
        table="Section 3 (airbench's network pattern, scaled to 28x28 grey images)",
        key_ideas=(
            "Time-to-accuracy, not accuracy alone, is the target: every layer must pay for "
            "its seconds.",
            "Pool right after a block's first conv: BN, GELU and the second conv then run "
            "on a quarter of the pixels.",
            "BatchNorm, label smoothing and weight averaging let a few epochs at a large "
            "learning rate land on a good model.",
        ),
        input_size=(1, 28, 28),
        recipe=RECIPE,
        accuracy_note="not a paper's network: the zoo measures it (docs/performance.md)",
        dataset="Fashion-MNIST",
        num_classes=10,
        deviations=(
            "airbench's patch-whitening first layer, lookahead and test-time flips are "
            "left out (start-up cost, the engine's single-view evaluation); an EMA of the "
            "weights stands in for lookahead",
        ),
    )
)
def speednet(**overrides) -> SpeedNet:
    return SpeedNet(**overrides)
