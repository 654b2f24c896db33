"""Squeeze-and-excitation networks: channel attention in residual blocks.

Hu, Shen, Sun (2017). Squeeze-and-Excitation Networks. arXiv:1709.01507.

An SE block (Fig. 1, ``blocks.attention.SqueezeExcite``) pools each channel to
one number (squeeze), maps the vector through a bottleneck of two fully
connected layers with reduction ratio r = 16 and a sigmoid (excitation), and
rescales the channels with the result. In a residual block it acts on the
residual branch before the addition (Fig. 3); any block of
``blocks.residual`` takes it via ``se_reduction``.

- Table 1 / Table 2: SE-ResNet-50/101/152 and SE-ResNeXt-50 (32x4d) are the
  ResNet and ResNeXt tables with an SE block in every bottleneck, +~10%
  parameters (SE-ResNet-50: 28.1M in the reduction-ratio ablation, r = 16) and
  <1% multiply-adds (3.87 vs 3.86 GFLOPs). As in the authors' Caffe models,
  SE-ResNets stride their first 1x1 and SE-ResNeXts their 3x3, and the stem's
  max-pool rounds its output size up instead of padding.
- SENet-154 (section 6 / Table 8, the ILSVRC 2017 winner): SE-ResNeXt-152 with
  64 groups, the 7x7 stem replaced by three 3x3 convs (64, 64, 128 filters),
  first 1x1s at half the 3x3 width, 3x3 projection shortcuts where the
  resolution halves, and dropout 0.2 before the classifier.

timm's ``legacy_seresnet*``, ``legacy_seresnext50_32x4d`` and
``legacy_senet154`` (ports of the Caffe models) are the twins.
"""

from __future__ import annotations

from typing import Any

from convzoo.blocks.residual import bottleneck_width
from convzoo.models.base import registrar
from convzoo.models.resnet import (
    BLOCK_RULES,
    STAGE_RULES,
    ResidualStage,
    ResNet,
    ResNetConfig,
    imagenet_stages,
    residual_family_card,
)
from convzoo.registry import Accuracy, ModelCard, Paper, Recipe, Schedule

__all__ = ["timm_legacy_senet_rules"]

REDUCTION = 16  # r of section 6.1 / the reduction-ratio ablation


def _se_resnet(depth: int) -> ResNetConfig:
    return ResNetConfig(
        stages=imagenet_stages(depth, bottleneck=True),
        block="bottleneck",
        stride_at="1x1",
        se_reduction=REDUCTION,
        stem_pool_ceil=True,
    )


# Table 1: ResNet-50 columns with SE blocks, and the 101/152-layer versions (Table 2).
SE_RESNETS = {depth: _se_resnet(depth) for depth in (50, 101, 152)}
# Table 1, right column: SE-ResNeXt-50 (32x4d).
SE_RESNEXT50_32X4D = ResNetConfig(
    stages=imagenet_stages(
        50,
        bottleneck=True,
        widths=tuple(
            bottleneck_width(out, cardinality=32, base_width=4) for out in (256, 512, 1024, 2048)
        ),
    ),
    block="bottleneck",
    cardinality=32,
    se_reduction=REDUCTION,
    stem_pool_ceil=True,
)
# Section 6 / Table 8: SENet-154, blocks (3, 8, 36, 3); 3x3 width = output width.
SENET154 = ResNetConfig(
    stages=(
        ResidualStage("conv2_x", depth=3, out_channels=256, stride=1, width=256, reduce_width=128),
        ResidualStage("conv3_x", depth=8, out_channels=512, stride=2, width=512, reduce_width=256),
        ResidualStage(
            "conv4_x", depth=36, out_channels=1024, stride=2, width=1024, reduce_width=512
        ),
        ResidualStage(
            "conv5_x", depth=3, out_channels=2048, stride=2, width=2048, reduce_width=1024
        ),
    ),
    block="bottleneck",
    stem="deep",
    stem_channels=128,
    stem_pool_ceil=True,
    cardinality=64,
    shortcut_kernel=3,
    se_reduction=REDUCTION,
    dropout=0.2,
)


def timm_legacy_senet_rules() -> tuple:
    """timm legacy SENet keys (layer0.convK/bnK, layerK.i..., se_module.fc1/fc2, last_linear)."""
    return (
        *BLOCK_RULES,
        (r"\.se_module\.fc1\.", ".se.reduce."),
        (r"\.se_module\.fc2\.", ".se.expand."),
        (r"^layer0\.", "stem."),
        *STAGE_RULES,
        (r"^last_linear\.", "head.fc."),
    )


PAPER = Paper(
    title="Squeeze-and-Excitation Networks",
    authors="Hu, Shen, Sun",
    year=2017,
    arxiv="1709.01507",
)
# Section 6.1 (ImageNet training); SENet-154's extra settings are in Section 6 / Table 8.
RECIPE = Recipe(
    source="Section 6.1",
    optimizer="sgd",
    lr=0.6,
    batch_size=1024,
    momentum=0.9,
    schedule=Schedule("step", factor=0.1, every=30),
    epochs=100,
    not_stated=("weight_decay",),
    augmentation="random-size crop with aspect-ratio jitter to 224x224, random mirror, "
    "mean RGB subtraction; class-balanced mini-batches",
    init="He et al. (2015)",
    notes=("synchronous SGD on the authors' distributed system (ROCS)",),
)
_SINGLE_CROP = "single 224x224 centre crop of the image resized to 256"


def _table_2(top1_error: float, top5_error: float) -> Accuracy:
    return Accuracy.from_error(top1_error, top5_error, source="Table 2", protocol=_SINGLE_CROP)


KEY_IDEAS = (
    "Squeeze (global average pool) then excite (FC-ReLU-FC-sigmoid): the network "
    "learns per-channel weights from global context and rescales its features.",
    "The SE block drops into any architecture (residual, Inception) for ~10% more "
    "parameters and <1% more multiply-adds; ResNet-50 + SE ~ ResNet-101 accuracy.",
    "Reduction ratio r trades parameters for accuracy; r = 16 is the chosen balance.",
)


def _card(name: str, table: str, twin: str, **fields: Any) -> ModelCard:
    """An ImageNet network of Tables 2 and 8, with timm's port of the Caffe model as twin."""
    return residual_family_card(
        name,
        table,
        family="senet",
        paper=PAPER,
        key_ideas=KEY_IDEAS,
        recipes=(RECIPE, RECIPE),  # (CIFAR-10, ImageNet): there are only ImageNet networks
        twins=(("timm", twin),),
        twin_rules=timm_legacy_senet_rules(),
        **fields,
    )


_register = registrar(_card, ResNet)

# Table 2: the SE-ResNets' multiply-adds and single-crop errors (Table 1 prints
# SE-ResNet-50's parameters too); 28.1M, 49.3M, 66.8M params and 3.9G, 7.6G, 11.3G MACs.
SE_RESNET_MACS = {50: "3.87G", 101: "7.60G", 152: "11.32G"}
SE_RESNET_ACCURACY = {
    50: _table_2(23.29, 6.62),
    101: _table_2(22.38, 6.07),
    152: _table_2(21.57, 5.73),
}
for _depth, _macs in SE_RESNET_MACS.items():
    _register(
        f"se_resnet{_depth}",
        SE_RESNETS[_depth],
        f"Table {1 if _depth == 50 else 2}, SE-ResNet-{_depth}",
        f"legacy_seresnet{_depth}",
        params="28.1M" if _depth == 50 else None,
        macs=_macs,
        accuracy=SE_RESNET_ACCURACY[_depth],
    )

_register(
    "se_resnext50_32x4d",
    SE_RESNEXT50_32X4D,
    "Table 1, SE-ResNeXt-50 (32x4d)",
    "legacy_seresnext50_32x4d",
    macs="4.25G",
    accuracy=_table_2(21.10, 5.49),
)  # 27.6M params, 4.3G MACs

_register(
    "senet154",
    SENET154,
    "Section 6 / Table 8, SENet-154",
    "legacy_senet154",
    accuracy_note="Table 8's SENet-154 errors were not verified against the paper text here",
)  # 115.1M params, 20.7G MACs
