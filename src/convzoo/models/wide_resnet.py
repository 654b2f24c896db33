"""Wide Residual Networks: fewer, wider residual layers.

Zagoruyko & Komodakis (2016). Wide Residual Networks. arXiv:1605.07146.

Table 1: WRN-n-k on CIFAR is a 3x3 conv of 16 filters (``conv1``), then three
groups ``conv2``..``conv4`` of N = (n - 4) / 6 pre-activation basic blocks
(BN-ReLU-conv3x3 twice, He et al. 2016) with 16k, 32k, 64k filters on 32, 16,
8 pixel maps, a final BN-ReLU, global average pooling and the classifier. The
widening factor k multiplies every width; a 1x1 projection joins groups of
different width. Table 4: WRN-40-4 has 8.9M and WRN-28-10 36.5M parameters.
Dropout between the two convs of a block (section 2.4) is the
``block_dropout`` override (0.3 in the paper's dropout runs; 0 by default).

``wide_resnet50_2`` is the ImageNet bottleneck ResNet-50 with the 3x3 widths
doubled (section 4, "WRN-50-2-bottleneck"), in torchvision's post-activation
form with the stride on the 3x3: the same network as torchvision's
``wide_resnet50_2``.
"""

from __future__ import annotations

from typing import Any

from convzoo.models.base import registrar
from convzoo.models.resnet import (
    ResNet,
    ResNetConfig,
    cifar_stages,
    imagenet_stages,
    residual_family_card,
)
from convzoo.registry import Accuracy, ModelCard, Paper, Recipe, Schedule

__all__ = ["wrn_blocks"]


def wrn_blocks(depth: int) -> int:
    """Blocks per group of WRN-depth-k: ``depth = 6N + 4`` (conv1, 3 groups of 2N, 1x1s, fc)."""
    n, rest = divmod(depth - 4, 6)
    if rest or n < 1:
        raise ValueError(f"a WRN has depth 6N + 4 (e.g. 16, 28, 40), got {depth}")
    return n


def wrn_config(depth: int, widen_factor: int, *, num_classes: int = 10) -> ResNetConfig:
    """Table 1: groups conv2-conv4 of 16k, 32k, 64k filters."""
    return ResNetConfig(
        stages=cifar_stages(
            wrn_blocks(depth),
            out_channels=(16 * widen_factor, 32 * widen_factor, 64 * widen_factor),
            names=("conv2", "conv3", "conv4"),
        ),
        block="basic",
        stem="cifar",
        stem_channels=16,
        preact=True,
        num_classes=num_classes,
    )


# Table 4 rows.
WRN28_10 = wrn_config(28, 10)
WRN40_4 = wrn_config(40, 4)
# Section 4 (ImageNet): ResNet-50 with bottleneck 3x3 widths x2.
WIDE_RESNET50_2 = ResNetConfig(
    stages=imagenet_stages(50, bottleneck=True, widths=(2 * 64, 2 * 128, 2 * 256, 2 * 512)),
    block="bottleneck",
)


PAPER = Paper(
    title="Wide Residual Networks",
    authors="Zagoruyko, Komodakis",
    year=2016,
    arxiv="1605.07146",
)
# Section 3, "Implementation details" (CIFAR).
RECIPE_CIFAR = Recipe(
    source="Section 3 (implementation details)",
    optimizer="sgd",
    nesterov=True,
    lr=0.1,
    batch_size=128,
    momentum=0.9,
    weight_decay=5e-4,
    schedule=Schedule("step", factor=0.2, milestones=(60, 120, 160)),
    epochs=200,
    dropout=0.0,  # 0.3 between the convs of a block in the paper's dropout runs
    augmentation="horizontal flips and random crops from images padded by 4 pixels",
    notes=("dampening 0",),
    not_stated=("init",),
)
# The ImageNet runs used fb.resnet.torch; the paper gives no settings of its own.
RECIPE_IMAGENET = Recipe(
    source="Section 3 (implementation details)",
    not_stated=("optimizer", "lr", "batch_size", "schedule", "epochs"),
    notes=(
        "trained with the fb.resnet.torch implementation, whose defaults the paper "
        "does not restate",
    ),
)


def _cifar_accuracy(error: float) -> Accuracy:
    return Accuracy.from_error(
        error,
        source="Table 4",
        protocol="32x32 test images (flip/translation augmentation in training)",
        dataset="CIFAR-10 test",
    )


KEY_IDEAS = (
    "Width over depth: a 16-layer net 10x wider (WRN-16-8/28-10) beats a "
    "1000-layer thin ResNet on CIFAR and trains several times faster on GPUs.",
    "Widening factor k multiplies the filters of every residual block; parameters "
    "grow with k^2 and depth only linearly.",
    "Dropout between the convolutions of a block regularises wide nets.",
)


def _card(name: str, table: str, *, cifar: bool = True, **fields: Any) -> ModelCard:
    """A CIFAR WRN, or (`cifar=False`) the ImageNet network in torchvision's form."""
    imagenet_form = "post-activation blocks with the stride on the 3x3, as torchvision builds it"
    return residual_family_card(
        name,
        table,
        family="wide_resnet",
        paper=PAPER,
        key_ideas=KEY_IDEAS,
        recipes=(RECIPE_CIFAR, RECIPE_IMAGENET),
        cifar=cifar,
        deviations=() if cifar else (imagenet_form,),
        **fields,
    )


_register = registrar(_card, ResNet)

_register(
    "wrn28_10",
    WRN28_10,
    "Table 1 with N=4, k=10 (Table 4: WRN-28-10)",
    params="36.5M",
    accuracy=_cifar_accuracy(4.00),
)  # 36.5M params

_register(
    "wrn40_4",
    WRN40_4,
    "Table 1 with N=6, k=4 (Table 4: WRN-40-4)",
    params="8.9M",
    accuracy=_cifar_accuracy(4.53),
)  # 8.9M params

_register(
    "wide_resnet50_2",
    WIDE_RESNET50_2,
    "Section 4, WRN-50-2-bottleneck",
    twins=(("torchvision", "wide_resnet50_2"),),
    cifar=False,
    accuracy=Accuracy.from_error(
        21.9,
        6.03,
        source="Table 8",
        protocol="single crop, as fb.resnet.torch evaluates",
        note="Table 9 prints a top-5 error of 5.79% for the same network",
    ),
)  # 68.9M params, 11.4G MACs
