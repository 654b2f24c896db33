"""VGG: very deep networks of 3x3 convolutions.

Simonyan & Zisserman (2014). Very Deep Convolutional Networks for Large-Scale
Image Recognition. arXiv:1409.1556. Table 1 (the six configurations A-E) and
Table 2 (their parameter counts, in millions: 133, 133, 133, 134, 138, 144).

Every stage is a run of same-padded 3x3 convolutions (1x1 in column C) followed
by a 2x2/2 max-pool; widths double from 64 to 512; three fully connected layers
(4096, 4096, classes) follow. ``*_bn`` variants add batch normalization after
each convolution (Ioffe & Szegedy 2015), as torchvision does.

Deviations, shared by all columns: an adaptive average pool to 7x7 before fc6.
At 224x224 it is the identity (and matches torchvision); at other sizes it lets
the network run, where the paper instead turns the fc layers into convolutions
at test time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from torch import nn

from convzoo.blocks.conv import ConvNormAct
from convzoo.blocks.head import FullyConnectedHead, fully_connected_rules
from convzoo.blocks.norm import response_norm
from convzoo.models.alexnet import DEFAULT_2012
from convzoo.models.base import (
    ConvNet,
    FeatureInfo,
    init_weights_like_torchvision,
    register_variant,
)
from convzoo.registry import Accuracy, ModelCard, Paper, Recipe, Reported, Schedule, Twin

__all__ = ["VGG", "VGGStage"]


@dataclass(frozen=True)
class VGGStage:
    """One block of Table 1: convolutions of the given kernel sizes, then max-pool."""

    width: int
    kernels: tuple[int, ...]  # one entry per conv layer, 3 or 1
    lrn: bool = False  # A-LRN: local response normalization after the first conv

    def __post_init__(self) -> None:
        if self.width < 1 or not self.kernels or any(k not in (1, 3) for k in self.kernels):
            raise ValueError(f"VGGStage needs width >= 1 and kernels of 1 or 3, got {self}")


# Table 1, columns A to E; one row per block conv1..conv5.
COLUMN_A = (
    VGGStage(width=64, kernels=(3,)),
    VGGStage(width=128, kernels=(3,)),
    VGGStage(width=256, kernels=(3, 3)),
    VGGStage(width=512, kernels=(3, 3)),
    VGGStage(width=512, kernels=(3, 3)),
)
COLUMN_A_LRN = (VGGStage(width=64, kernels=(3,), lrn=True), *COLUMN_A[1:])
COLUMN_B = (
    VGGStage(width=64, kernels=(3, 3)),
    VGGStage(width=128, kernels=(3, 3)),
    VGGStage(width=256, kernels=(3, 3)),
    VGGStage(width=512, kernels=(3, 3)),
    VGGStage(width=512, kernels=(3, 3)),
)
COLUMN_C = (
    *COLUMN_B[:2],
    VGGStage(width=256, kernels=(3, 3, 1)),
    VGGStage(width=512, kernels=(3, 3, 1)),
    VGGStage(width=512, kernels=(3, 3, 1)),
)
COLUMN_D = (
    *COLUMN_B[:2],
    VGGStage(width=256, kernels=(3, 3, 3)),
    VGGStage(width=512, kernels=(3, 3, 3)),
    VGGStage(width=512, kernels=(3, 3, 3)),
)
COLUMN_E = (
    *COLUMN_B[:2],
    VGGStage(width=256, kernels=(3, 3, 3, 3)),
    VGGStage(width=512, kernels=(3, 3, 3, 3)),
    VGGStage(width=512, kernels=(3, 3, 3, 3)),
)


class VGG(ConvNet):
    """A VGG column: five conv stages (``conv1``..``conv5``) and fc6-fc7-fc."""

    def __init__(
        self,
        config: tuple[VGGStage, ...],
        *,
        batch_norm: bool = False,
        num_classes: int = 1000,
        in_channels: int = 3,
        dropout: float = 0.5,
    ) -> None:
        super().__init__(
            in_channels, num_classes, default_input_size=(224, 224), min_input_size=2 ** len(config)
        )
        norm = nn.BatchNorm2d if batch_norm else None
        self.stem = nn.Identity()  # VGG has no stem: conv1 is its first stage
        self.stages = nn.Sequential()
        self.feature_info = [FeatureInfo("stem", in_channels, 1)]
        channels = in_channels
        for index, row in enumerate(config, start=1):
            layers: list[nn.Module] = []
            for kernel in row.kernels:
                # the paper's convs keep their bias even with batch norm (as torchvision does)
                layers.append(ConvNormAct(channels, row.width, kernel, norm=norm, bias=True))
                if row.lrn and len(layers) == 1:
                    layers.append(response_norm())  # as in Krizhevsky et al. 2012
                channels = row.width
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))  # halves H, W
            self.stages.add_module(f"conv{index}", nn.Sequential(*layers))
            self.feature_info.append(FeatureInfo(f"conv{index}", channels, 2**index))
        self.head = FullyConnectedHead(
            channels * 7 * 7, num_classes, dropout=dropout, pool_size=(7, 7)
        )  # (N, 512, 7, 7) -> 25088 features
        init_weights_like_torchvision(self)


def _torchvision_rules(config: tuple[VGGStage, ...], batch_norm: bool) -> tuple:
    """torchvision numbers `features` flatly: conv, (bn), relu per layer, pool per stage."""
    rules = []
    index = 0
    for stage, row in enumerate(config, start=1):
        for layer in range(len(row.kernels)):
            rules.append((rf"^features\.{index}\.", f"stages.conv{stage}.{layer}.conv."))
            if batch_norm:
                rules.append((rf"^features\.{index + 1}\.", f"stages.conv{stage}.{layer}.norm."))
            index += 3 if batch_norm else 2
        index += 1  # max-pool
    rules += fully_connected_rules((0, 3, 6))
    return tuple(rules)


PAPER = Paper(
    title="Very Deep Convolutional Networks for Large-Scale Image Recognition",
    authors="Simonyan, Zisserman",
    year=2014,
    arxiv="1409.1556",
)
# Section 3.1 (training).
RECIPE = Recipe(
    source="Section 3.1",
    optimizer="sgd",
    lr=0.01,
    batch_size=256,
    momentum=0.9,
    weight_decay=5e-4,
    schedule=Schedule("plateau", factor=0.1, note="decreased 3 times in all"),
    iterations=370_000,  # 74 epochs
    epochs=74,
    dropout=0.5,  # fc6 and fc7
    augmentation="random 224x224 crops of rescaled images (training scale S = 256, 384, "
    "or jittered in [256, 512]), random horizontal flips, RGB colour shift",
    init="configuration A from N(0, 0.01), biases 0; deeper nets start from A's first "
    "four conv and last three fc layers (Glorot init works without it)",
)
# Only configuration A started from random weights; B-E started from A's layers, which a
# network built on its own cannot do.
DEEPER_DEFAULT = replace(DEFAULT_2012, epochs=74)  # AlexNet's, over VGG's 74 epochs
DEEPER_REASON = (
    "The paper trained only configuration A from random N(0, 0.01) weights and started the "
    "deeper ones from A's layers (Section 3.1). Without that, VGG-19 stayed at chance "
    "(9.3%) for 2 epochs of the 2,048-image check on the paper's recipe. With He "
    "initialisation (the paper notes that random Glorot initialisation works without the "
    "pre-training) and a cosine decay from the paper's 0.01 per 256 images, as 0.01 per 128 "
    "like AlexNet's default, it reaches 89.3% (VGG-16 98.0%)."
)
# Table 3: one test scale, dense evaluation, the rows trained and tested at 256
# (top-1, top-5 accuracy = 100 - the printed validation errors).
_SINGLE_SCALE = {
    "A": (70.4, 89.6),  # 29.6 / 10.4% error
    "A-LRN": (70.3, 89.5),  # 29.7 / 10.5
    "B": (71.3, 90.1),  # 28.7 / 9.9
    "C": (71.9, 90.6),  # 28.1 / 9.4
    "D": (73.0, 91.2),  # 27.0 / 8.8
    "E": (72.7, 91.0),  # 27.3 / 9.0
}


def _accuracy(column: str) -> Accuracy:
    top1, top5 = _SINGLE_SCALE[column]
    return Accuracy(
        top1=top1,
        top5=top5,
        source="Table 3",
        protocol="dense evaluation at one test scale Q = 256 (trained at S = 256)",
    )


def _card(
    name: str,
    column: str,
    params: str,
    *,
    batch_norm: bool = False,
    twin: str | None = None,
    config: tuple[VGGStage, ...] = COLUMN_A,
) -> ModelCard:
    deviations = ["adaptive average pool to 7x7 before fc6 (identity at 224x224)"]
    if batch_norm:
        deviations.append("batch normalization after every convolution (not in the 2014 paper)")
    return ModelCard(
        name=name,
        family="vgg",
        paper=PAPER,
        table=f"Table 1, column {column}",
        key_ideas=(
            "Only 3x3 convolutions: two stacked see 5x5 and three see 7x7, with fewer "
            "weights (18C^2, 27C^2 vs 25C^2, 49C^2) and more non-linearities.",
            "Depth is the main knob: 11 to 19 weight layers, widths doubling after each pool.",
            "LRN did not help (A-LRN vs A), so later columns drop it.",
        ),
        input_size=(3, 224, 224),
        paper_params=Reported(params),
        recipe=RECIPE,
        **(
            {"default_recipe": DEEPER_DEFAULT, "default_reason": DEEPER_REASON}
            if column in ("B", "C", "D", "E") and not batch_norm
            else {}
        ),
        accuracy=None if batch_norm else _accuracy(column),
        accuracy_note="the 2014 paper has no batch-normalized networks" if batch_norm else None,
        twins=(Twin("torchvision", twin, _torchvision_rules(config, batch_norm)),) if twin else (),
        deviations=tuple(deviations),
    )


# Table 1's columns by model name, and the parameter counts Table 2 prints for them.
COLUMNS = {
    "A": COLUMN_A, "A-LRN": COLUMN_A_LRN, "B": COLUMN_B, "C": COLUMN_C, "D": COLUMN_D, "E": COLUMN_E
}  # fmt: skip
NAMES = {
    "vgg11": "A", "vgg11_lrn": "A-LRN", "vgg13": "B", "vgg16_c": "C", "vgg16": "D", "vgg19": "E"
}  # fmt: skip
PRINTED_PARAMS = {"A": "133M", "A-LRN": "133M", "B": "133M", "C": "134M", "D": "138M", "E": "144M"}
NOT_IN_TORCHVISION = ("A-LRN", "C")  # torchvision builds, with and without BN, the others

for _name, _column in NAMES.items():
    _config, _params = COLUMNS[_column], PRINTED_PARAMS[_column]
    _twin = None if _column in NOT_IN_TORCHVISION else _name
    register_variant(_card(_name, _column, _params, twin=_twin, config=_config), VGG, _config)
    if _twin:
        _bn = _card(
            f"{_name}_bn", _column, _params, batch_norm=True, twin=f"{_name}_bn", config=_config
        )
        register_variant(_bn, VGG, _config, batch_norm=True)
