"""ResNeXt: aggregated residual transformations.

Xie, Girshick, Dollar, Tu, He (2016). Aggregated Residual Transformations for
Deep Neural Networks. arXiv:1611.05431.

A ResNeXt block splits the bottleneck into C parallel paths ("cardinality"),
each 1x1 (d channels) -> 3x3 (d) -> 1x1, and sums them (split-transform-merge,
Fig. 1 right / Fig. 3a). Fig. 3 shows three equivalent forms; the last (c) is
one bottleneck whose 3x3 is a grouped convolution with C groups of d channels:
the 1x1s of all paths concatenate into one 1x1 of C*d channels and the sum of
the paths' last 1x1s is one 1x1 over the concatenation. This is the form built
here, with the registry names ``<depth>_<C>x<d>d``.

- Table 1: ResNeXt-50 (32x4d), 25.0M params and 4.2 GFLOPs (multiply-adds) vs
  ResNet-50's 25.5M / 4.1. Depths 101 from ResNet's Table 1 (3, 4, 23, 3).
  Stride on the 3x3, as in the paper's (fb.resnet.torch-based) code.
- Section 5.3 / Table 7: CIFAR ``resnext29_8x64d`` (34.4M) and ``resnext29_16x64d``
  (68.1M): a 3x3 conv of 64 filters, three stages of 3 blocks with outputs 256,
  512, 1024 and 3x3 widths C*d, doubled at each stage.
"""

from __future__ import annotations

from typing import Any

from convzoo.blocks.residual import bottleneck_width
from convzoo.models.base import registrar
from convzoo.models.resnet import (
    ResNet,
    ResNetConfig,
    cifar_stages,
    imagenet_stages,
    residual_family_card,
)
from convzoo.registry import Accuracy, ModelCard, Paper, Recipe, Schedule

__all__ = ["resnext29"]


def _imagenet(depth: int, *, cardinality: int, group_width: int) -> ResNetConfig:
    """ResNeXt Table 1: ResNet's rows with 3x3 widths cardinality x d (x2 per stage)."""
    outs = (256, 512, 1024, 2048)
    widths = tuple(
        bottleneck_width(out, cardinality=cardinality, base_width=group_width) for out in outs
    )
    return ResNetConfig(
        stages=imagenet_stages(depth, bottleneck=True, widths=widths),
        block="bottleneck",
        cardinality=cardinality,
    )


# Table 1 (right column) and the 101-layer versions of section 5.1 / Table 5.
RESNEXT50_32X4D = _imagenet(50, cardinality=32, group_width=4)
RESNEXT101_32X4D = _imagenet(101, cardinality=32, group_width=4)
RESNEXT101_32X8D = _imagenet(101, cardinality=32, group_width=8)
RESNEXT101_64X4D = _imagenet(101, cardinality=64, group_width=4)


def resnext29(
    cardinality: int,
    group_width: int,
    *,
    out_channels: tuple[int, int, int] = (256, 512, 1024),
    stem_channels: int = 64,
) -> ResNetConfig:
    """Section 5.3: 29 layers = 3 stages x 3 blocks x 3 layers + conv1 + fc.

    The 3x3 width is ``cardinality * group_width`` at the first stage, doubled at each
    stage, as in the paper's template.
    """
    if cardinality < 1 or group_width < 1:
        raise ValueError(
            f"cardinality and group_width must be >= 1, got {cardinality}, {group_width}"
        )
    base = cardinality * group_width
    return ResNetConfig(
        stages=cifar_stages(3, out_channels=out_channels, widths=(base, 2 * base, 4 * base)),
        block="bottleneck",
        stem="cifar",
        stem_channels=stem_channels,
        cardinality=cardinality,
        num_classes=10,
    )


# Table 7: the CIFAR networks.
RESNEXT29_8X64D = resnext29(8, 64)
RESNEXT29_16X64D = resnext29(16, 64)


PAPER = Paper(
    title="Aggregated Residual Transformations for Deep Neural Networks",
    authors="Xie, Girshick, Dollar, Tu, He",
    year=2016,
    arxiv="1611.05431",
)
# Section 4 (implementation details): the schedule is fb.resnet.torch's, which the
# paper names but does not spell out.
RECIPE_IMAGENET = Recipe(
    source="Section 4",
    optimizer="sgd",
    lr=0.1,
    batch_size=256,
    momentum=0.9,
    weight_decay=1e-4,
    schedule=Schedule("step", factor=0.1, note="three times, when fb.resnet.torch's schedule says"),
    not_stated=("epochs",),
    augmentation="scale and aspect-ratio augmentation (Szegedy et al.) as fb.resnet.torch",
    init="He et al. (2015)",
)
# Section 5.3 (CIFAR).
RECIPE_CIFAR = Recipe(
    source="Section 5.3",
    optimizer="sgd",
    lr=0.1,
    batch_size=128,
    momentum=0.9,
    weight_decay=5e-4,
    schedule=Schedule("step", factor=0.1, milestones=(150, 225)),
    epochs=300,
    augmentation="translation and flipping, as ResNet",
    init="He et al. (2015)",
)


def _table_3(top1_error: float) -> Accuracy:
    protocol = "single 224x224 centre crop of the image resized to 256"
    return Accuracy.from_error(top1_error, source="Table 3", protocol=protocol)


def _table_7(error: float) -> Accuracy:
    protocol = "32x32 test images; the mean of 10 runs"
    return Accuracy.from_error(error, source="Table 7", protocol=protocol, dataset="CIFAR-10 test")


KEY_IDEAS = (
    "Cardinality (the number of parallel paths C) is a dimension besides depth and "
    "width: at equal parameters, more paths of width d beat wider or deeper nets.",
    "Split-transform-merge of C identical paths equals one bottleneck whose 3x3 is a "
    "grouped convolution with C groups (Fig. 3a = 3b = 3c).",
    "The template keeps ResNet's rules: same-size blocks share widths, and each "
    "downsampling doubles the width.",
)


def _card(name: str, table: str, **fields: Any) -> ModelCard:
    return residual_family_card(
        name,
        table,
        family="resnext",
        paper=PAPER,
        key_ideas=KEY_IDEAS,
        recipes=(RECIPE_CIFAR, RECIPE_IMAGENET),
        **fields,
    )


_register = registrar(_card, ResNet)

_register(
    "resnext50_32x4d",
    RESNEXT50_32X4D,
    "Table 1, ResNeXt-50 (32x4d)",
    params="25.0M",
    macs="4.2G",
    twins=(("torchvision", "resnext50_32x4d"), ("timm", "resnext50_32x4d")),
    accuracy=_table_3(22.2),
)  # 25.0M params, 4.3G MACs

_register(
    "resnext101_32x4d",
    RESNEXT101_32X4D,
    "Table 1 template at 101 layers (Table 3/5), 32x4d",
    twins=(("timm", "resnext101_32x4d"),),
    accuracy=_table_3(21.2),
)  # 44.2M params, 8.0G MACs

_register(
    "resnext101_32x8d",
    RESNEXT101_32X8D,
    "Table 1 template at 101 layers, 32x8d",
    twins=(("torchvision", "resnext101_32x8d"),),
    accuracy_note="the paper trains no 32x8d network; it is torchvision's",
)  # 88.8M params, 16.4G MACs

_register(
    "resnext101_64x4d",
    RESNEXT101_64X4D,
    "Table 5, ResNeXt-101 (64x4d)",
    twins=(("torchvision", "resnext101_64x4d"),),
    accuracy=Accuracy.from_error(20.4, 5.3, source="Table 5", protocol="single 224x224 crop"),
)  # 83.5M params, 15.5G MACs

_register(
    "resnext29_8x64d",
    RESNEXT29_8X64D,
    "Table 7, ResNeXt-29 8x64d",
    params="34.4M",
    cifar=True,
    accuracy=_table_7(3.65),
)  # 34.4M params

_register(
    "resnext29_16x64d",
    RESNEXT29_16X64D,
    "Table 7, ResNeXt-29 16x64d",
    params="68.1M",
    cifar=True,
    accuracy=_table_7(3.58),
    deviations=("none in the layers; we count 68,155,210 params, 68.2M rounded (68.1M printed)",),
)  # 68.2M params
