"""Pre-activation ResNet: identity mappings in deep residual networks.

He, Zhang, Ren, Sun (2016). Identity Mappings in Deep Residual Networks.
arXiv:1603.05027.

Fig. 1(b) / Fig. 4(e): each residual unit is BN-ReLU-conv (x2 for basic, x3 for
bottleneck units) and nothing follows the addition, so ``x_L = x_l + sum F``:
the signal and its gradient pass unchanged between any two units. A projection
shortcut reads the pre-activated input; the last unit is followed by an extra
BN-ReLU before pooling (section 4.1).

- ``preact_resnet164`` and ``preact_resnet1001``: the CIFAR bottleneck nets of
  Table 2/3 (16 filters in the first conv, stages of n = 18 / 111 bottleneck
  units with 3x3 widths 16, 32, 64 and outputs 64, 128, 256): 1.7M and 10.2M
  parameters, 1001 layers train to 4.62% error on CIFAR-10.
- ``preact_resnet18`` / ``preact_resnet50``: the ImageNet depths of Table 1 of
  the 2015 paper in pre-activation form (the 2016 paper's ImageNet results are
  for 152/200 layers). The stem is a bare 7x7/2 conv and a max-pool; the first
  unit's BN-ReLU follows the pool; the stride sits on the 3x3 as in the
  paper's Torch code. timm's ``resnetv2_18`` / ``resnetv2_50`` are the same nets.
"""

from __future__ import annotations

from typing import Any

from convzoo.models.base import registrar
from convzoo.models.resnet import (
    ResNet,
    ResNetConfig,
    cifar_blocks,
    cifar_stages,
    imagenet_stages,
    residual_family_card,
)
from convzoo.registry import Accuracy, ModelCard, Paper, Recipe, Schedule

__all__ = ["timm_resnetv2_rules"]

# Table 1 of the 2015 paper, in pre-activation form (stride on the 3x3 as in fb.resnet.torch).
PREACT_RESNET18 = ResNetConfig(
    stages=imagenet_stages(18, bottleneck=False), block="basic", preact=True
)
PREACT_RESNET50 = ResNetConfig(
    stages=imagenet_stages(50, bottleneck=True), block="bottleneck", preact=True
)


# Section 4 / Table 2: CIFAR bottleneck nets of 9n+2 layers (n = 18 and 111).
def _cifar(depth: int) -> ResNetConfig:
    return ResNetConfig(
        stages=cifar_stages(
            cifar_blocks(depth, layers_per_block=3),
            out_channels=(64, 128, 256),
            widths=(16, 32, 64),
        ),
        block="bottleneck",
        stem="cifar",
        stem_channels=16,
        preact=True,
        num_classes=10,
    )


PREACT_RESNET164 = _cifar(164)
PREACT_RESNET1001 = _cifar(1001)


def timm_resnetv2_rules() -> tuple:
    """timm ResNetV2 keys (stem.conv, stages.i.blocks.j.normK/convK, norm, head.fc) -> ours.

    timm's ``normK`` is the BN-ReLU *before* ``convK``: ours is the ``preact`` of the
    block for K = 1 and the norm carried by the previous conv otherwise.
    """
    rules: list = [(r"\.conv(\d)\.", r".conv\1.conv."), (r"\.norm1\.", ".preact.norm.")]
    rules += [(rf"\.norm{k}\.", f".conv{k - 1}.norm.") for k in (2, 3)]
    rules += [(r"\.downsample\.conv\.", ".shortcut.conv.")]
    rules += [(rf"^stages\.{i}\.blocks\.", f"stages.conv{i + 2}_x.") for i in range(4)]
    rules += [(r"^stem\.conv\.", "stem.conv1.conv."), (r"^norm\.", "final.norm.")]
    return tuple(rules)


PAPER = Paper(
    title="Identity Mappings in Deep Residual Networks",
    authors="He, Zhang, Ren, Sun",
    year=2016,
    arxiv="1603.05027",
)
# Appendix (implementation details): the 2015 paper's settings, with these changes.
RECIPE_CIFAR = Recipe(
    source="Appendix",
    optimizer="sgd",
    lr=0.1,
    batch_size=128,
    momentum=0.9,
    weight_decay=1e-4,
    schedule=Schedule(
        "step",
        factor=0.1,
        milestones=(32_000, 48_000),
        unit="iteration",
        warmup=400,
        warmup_lr=0.01,
        note="the warm-up 'is not necessary' for pre-activation units, the paper remarks",
    ),
    iterations=64_000,  # as in the 2015 paper, whose settings the Appendix keeps
    augmentation="translation and flipping, as in the 2015 paper",
    init="He et al. (2015)",
)
RECIPE_IMAGENET = Recipe(
    source="Appendix",
    optimizer="sgd",
    lr=0.1,
    batch_size=256,
    momentum=0.9,
    weight_decay=1e-4,
    schedule=Schedule("step", factor=0.1, milestones=(30, 60)),
    not_stated=("epochs",),
    augmentation="as in the 2015 paper",
    init="He et al. (2015)",
    notes=("the paper trains ResNet-152 and ResNet-200 this way, not the 18/50-layer nets",),
)
# CIFAR-10 test error with the pre-activation unit, mini-batch 128.
CIFAR_ERROR = {164: 5.46, 1001: 4.92}


def _cifar_accuracy(depth: int) -> Accuracy:
    return Accuracy.from_error(
        CIFAR_ERROR[depth],
        source="Table 3 (mini-batch 128)",
        protocol="single view of the 32x32 test image",
        dataset="CIFAR-10 test",
        note="with mini-batch 64 the paper reports 4.62% for ResNet-1001" if depth == 1001 else "",
    )


KEY_IDEAS = (
    "With identity shortcuts and no activation after the addition, any deeper unit "
    "sees x_L = x_l + sum of residuals: signals and gradients propagate directly.",
    "Pre-activation (BN-ReLU before each conv) eases optimisation and regularises; "
    "it is what makes 1001 layers train better than 164 (4.62% vs 5.46% on CIFAR-10).",
    "Scaling, gating or 1x1 convs on the shortcut all hurt: keep it the identity.",
)


def _card(
    name: str, table: str, *, twin: str | None = None, cifar: bool = False, **fields: Any
) -> ModelCard:
    """A CIFAR net of Table 2, or (`cifar=False`) the 2015 paper's ImageNet depths."""
    if not cifar:
        fields.update(
            accuracy_note="the paper reports ImageNet results for 152 and 200 layers only",
            deviations=(
                "ImageNet depth from the 2015 paper's Table 1 (the 2016 paper trains 152/200)",
            ),
        )
    return residual_family_card(
        name,
        table,
        family="preact_resnet",
        paper=PAPER,
        key_ideas=KEY_IDEAS,
        recipes=(RECIPE_CIFAR, RECIPE_IMAGENET),
        twins=(("timm", twin),) if twin else (),
        twin_rules=timm_resnetv2_rules(),
        cifar=cifar,
        **fields,
    )


_register = registrar(_card, ResNet)

_register(
    "preact_resnet18",
    PREACT_RESNET18,
    "Fig. 4(e) units in Table 1 (2015), 18-layer",
    twin="resnetv2_18",
)  # 11.7M params, 1.8G MACs

_register(
    "preact_resnet50",
    PREACT_RESNET50,
    "Fig. 4(e) units in Table 1 (2015), 50-layer",
    twin="resnetv2_50",
)  # 25.5M params, 4.1G MACs

_register(
    "preact_resnet164",
    PREACT_RESNET164,
    "Table 2, ResNet-164 (pre-activation)",
    params="1.7M",
    cifar=True,
    accuracy=_cifar_accuracy(164),
)  # 1.7M params

_register(
    "preact_resnet1001",
    PREACT_RESNET1001,
    "Table 2, ResNet-1001 (pre-activation)",
    params="10.2M",
    cifar=True,
    accuracy=_cifar_accuracy(1001),
    deviations=(
        "none in the layers, but we count 10,327,706 parameters (10.3M) where Table 2 "
        "prints 10.2M; without the 149,216 BN scales and shifts it is 10,178,490",
    ),
)  # 10.3M params
