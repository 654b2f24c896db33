"""DenseNet: densely connected convolutional networks.

Huang, Liu, van der Maaten, Weinberger (2016). Densely Connected Convolutional
Networks. arXiv:1608.06993.

Inside a dense block every layer receives the concatenation of all earlier
feature maps of the block and adds k new ones (the growth rate), so the width
grows linearly: ``in + i*k`` after layer i (Fig. 1, Eq. 2). Layers are
pre-activation BN-ReLU-conv3x3; the "B" variant first reduces to 4k channels
with a BN-ReLU-conv1x1 (bottleneck), the "C" variant lets each transition
(BN-ReLU-conv1x1, 2x2 average pool) keep only a fraction theta = 0.5 of the
channels (compression).

- Table 1 (ImageNet, DenseNet-BC, k = 32, a 7x7/2 conv of 2k filters and a
  3x3/2 max-pool, four blocks): DenseNet-121 (6, 12, 24, 16), -169 (6, 12, 32,
  32), -201 (6, 12, 48, 32), -264 (6, 12, 64, 48). DenseNet-161 (k = 48, 96 stem
  filters, (6, 12, 36, 24)) is the authors' released wider model.
- Section 3 / Table 2 (CIFAR: a 3x3 conv of 16 or 2k filters, three blocks on
  32, 16, 8 pixel maps, global average pool): DenseNet (L=40, k=12) 1.0M params;
  DenseNet-BC (L=100, k=12) 0.8M, (L=250, k=24) 15.3M, (L=190, k=40) 25.6M.
  L counts the conv layers of the blocks plus conv1, the transitions and fc.

Each layer's concatenation is a ``Concat`` module, so the per-layer table
(`convzoo info densenet121`) shows the channel count growing by k per layer.

Memory-efficient mode (``memory_efficient=True``; Pleiss, Chen, Huang, Li, van der
Maaten, Weinberger 2017, Memory-Efficient Implementation of DenseNets,
arXiv:1707.06990, Section 3): stored naively, every layer keeps its own
concatenated input and its BN-ReLU output, so training memory grows with the
square of the depth. In this mode a block keeps only the k new maps of each
layer; the concatenation and the BN-ReLU-conv1x1 that reads it are recomputed
during backward (`convzoo.blocks.recompute`), which costs one extra pass over
those cheap layers. Parameters, state dict and outputs are unchanged; it only
acts in training mode and can be switched at any time (``model.memory_efficient``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from convzoo.blocks.conv import ConvNormAct
from convzoo.blocks.head import ClassifierHead
from convzoo.blocks.recompute import recompute
from convzoo.blocks.residual import NormAct
from convzoo.models.base import (
    FeatureInfo,
    FinalNormNet,
    dataset_fields,
    init_weights_like_torchvision,
    registrar,
)
from convzoo.registry import Accuracy, ModelCard, Paper, Recipe, Reported, Schedule, Twin

__all__ = [
    "Concat",
    "DenseBlock",
    "DenseLayer",
    "DenseNet",
    "DenseNetConfig",
    "Transition",
    "cifar_layers",
]


@dataclass(frozen=True)
class DenseNetConfig:
    """A DenseNet: layers per dense block, growth rate k, and the B/C options."""

    block_layers: tuple[int, ...]
    growth_rate: int
    stem_channels: int
    bottleneck: bool = True  # "B": BN-ReLU-conv1x1 to bottleneck_factor * k first
    compression: float = 0.5  # "C": theta, the fraction of channels a transition keeps
    stem: Literal["imagenet", "cifar"] = "imagenet"
    bottleneck_factor: int = 4
    num_classes: int = 1000

    def __post_init__(self) -> None:
        if not self.block_layers or min(self.block_layers) < 1 or self.growth_rate < 1:
            raise ValueError(f"DenseNetConfig needs >= 1 layer per block and k >= 1: {self}")
        if not 0 < self.compression <= 1:
            raise ValueError(f"compression must be in (0, 1], got {self.compression}")
        if self.stem not in ("imagenet", "cifar"):
            raise ValueError(f"stem must be 'imagenet' or 'cifar', got {self.stem!r}")


def cifar_layers(depth: int, *, bottleneck: bool) -> int:
    """Layers per block of a 3-block CIFAR DenseNet of `depth` (Table 2's L).

    L = 3 * n * (2 if B else 1) + 4: conv1, two transitions, fc and the block convs.
    """
    per_layer = 2 if bottleneck else 1
    n, rest = divmod(depth - 4, 3 * per_layer)
    if rest or n < 1:
        raise ValueError(f"a CIFAR DenseNet has depth 3*{per_layer}*n + 4, got {depth}")
    return n


class Concat(nn.Module):
    """``torch.cat`` along channels, as a module so summaries show the growing width."""

    def forward(self, previous: Tensor, new: Tensor) -> Tensor:
        return torch.cat([previous, new], dim=1)  # (N, C + k, H, W)


class DenseLayer(nn.Module):
    """BN-ReLU-(conv1x1 to 4k, BN-ReLU)-conv3x3 to k, concatenated to its input."""

    def __init__(
        self,
        in_channels: int,
        growth_rate: int,
        *,
        bottleneck: bool,
        bottleneck_factor: int = 4,
        drop_rate: float = 0.0,
    ) -> None:
        super().__init__()
        self.preact = NormAct(in_channels)
        width = bottleneck_factor * growth_rate if bottleneck else in_channels
        self.bottleneck = (
            ConvNormAct(in_channels, width, 1, bias=False) if bottleneck else nn.Identity()
        )
        self.conv = nn.Conv2d(width, growth_rate, 3, padding=1, bias=False)
        self.dropout = nn.Dropout(drop_rate) if drop_rate > 0 else None
        self.concat = Concat()
        self.out_channels = in_channels + growth_rate

    def forward(self, x: Tensor) -> Tensor:
        new = self.conv(self.bottleneck(self.preact(x)))  # (N, k, H, W)
        if self.dropout is not None:
            new = self.dropout(new)
        return self.concat(x, new)

    def new_maps(self, maps: list[Tensor]) -> Tensor:
        """The k new maps from the block's maps so far, their concatenation not stored."""

        def reduce(*inputs: Tensor) -> Tensor:
            return self.bottleneck(self.preact(torch.cat(inputs, dim=1)))  # (N, 4k, H, W)

        new = self.conv(recompute(self, reduce, *maps))  # (N, k, H, W)
        return self.dropout(new) if self.dropout is not None else new


class DenseBlock(nn.Sequential):
    """Dense layers in sequence; in memory-efficient mode it keeps each layer's new maps only."""

    memory_efficient: bool = False

    def forward(self, x: Tensor) -> Tensor:
        if not (self.memory_efficient and self.training and torch.is_grad_enabled()):
            return super().forward(x)
        maps = [x]
        for layer in self:
            maps.append(layer.new_maps(maps))
        return torch.cat(maps, dim=1)  # (N, C + layers * k, H, W), as in the plain path


class Transition(nn.Sequential):
    """BN-ReLU-conv1x1 (keeping `out_channels`) and a 2x2 average pool (halves H, W)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.preact = NormAct(in_channels)
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.pool = nn.AvgPool2d(2, stride=2)


class DenseNet(FinalNormNet):
    """stem -> dense_block1, transition1, ..., dense_blockN -> BN-ReLU -> pool -> fc."""

    def __init__(
        self,
        config: DenseNetConfig,
        *,
        num_classes: int | None = None,
        in_channels: int = 3,
        drop_rate: float = 0.0,
        memory_efficient: bool = False,
    ) -> None:
        cifar = config.stem == "cifar"
        stride = 1 if cifar else 4
        super().__init__(
            in_channels,
            num_classes if num_classes is not None else config.num_classes,
            default_input_size=(32, 32) if cifar else (224, 224),
            min_input_size=stride * 2 ** (len(config.block_layers) - 1),
        )
        channels = config.stem_channels
        self.stem = nn.Sequential()
        if cifar:  # the first dense layer's BN-ReLU follows directly
            self.stem.add_module(
                "conv1", nn.Conv2d(in_channels, channels, 3, padding=1, bias=False)
            )
        else:
            self.stem.add_module("conv1", ConvNormAct(in_channels, channels, 7, stride=2))
            self.stem.add_module("pool", nn.MaxPool2d(3, stride=2, padding=1))  # (N, 2k, H/4, W/4)
        self.feature_info = [FeatureInfo("stem", channels, stride)]
        self.stages = nn.Sequential()
        for index, layers in enumerate(config.block_layers, start=1):
            block = DenseBlock()
            for j in range(1, layers + 1):
                layer = DenseLayer(
                    channels,
                    config.growth_rate,
                    bottleneck=config.bottleneck,
                    bottleneck_factor=config.bottleneck_factor,
                    drop_rate=drop_rate,
                )
                block.add_module(f"layer{j}", layer)
                channels = layer.out_channels  # grows by k per layer
            self.stages.add_module(f"dense_block{index}", block)
            self.feature_info.append(FeatureInfo(f"dense_block{index}", channels, stride))
            if index < len(config.block_layers):
                out = int(config.compression * channels)  # floor(theta * m)
                self.stages.add_module(f"transition{index}", Transition(channels, out))
                channels, stride = out, stride * 2
                self.feature_info.append(FeatureInfo(f"transition{index}", channels, stride))
        self.final = NormAct(channels)  # blocks end un-activated: one BN-ReLU before pooling
        self.head = ClassifierHead(channels, self.num_classes)
        init_weights_like_torchvision(self)
        self.memory_efficient = memory_efficient

    @property
    def memory_efficient(self) -> bool:
        """Recompute each layer's concatenation and bottleneck in backward (Pleiss et al.)."""
        return all(b.memory_efficient for b in self.modules() if isinstance(b, DenseBlock))

    @memory_efficient.setter
    def memory_efficient(self, on: bool) -> None:
        for block in self.modules():
            if isinstance(block, DenseBlock):
                block.memory_efficient = bool(on)


def torchvision_rules() -> tuple:
    """torchvision DenseNet keys (features.conv0/norm0/denseblockI.denselayerJ/...) -> ours."""
    layer = r"^features\.denseblock(\d)\.denselayer(\d+)\."
    ours = r"stages.dense_block\1.layer\2."
    return (
        (r"^features\.conv0\.", "stem.conv1.conv."),
        (r"^features\.norm0\.", "stem.conv1.norm."),
        (layer + r"norm1\.", ours + "preact.norm."),
        (layer + r"conv1\.", ours + "bottleneck.conv."),
        (layer + r"norm2\.", ours + "bottleneck.norm."),
        (layer + r"conv2\.", ours + "conv."),
        (r"^features\.transition(\d)\.norm\.", r"stages.transition\1.preact.norm."),
        (r"^features\.transition(\d)\.conv\.", r"stages.transition\1.conv."),
        (r"^features\.norm5\.", "final.norm."),
        (r"^classifier\.", "head.fc."),
    )


# Table 1: the ImageNet DenseNet-BC columns (k = 32, stem 2k = 64 filters).
DENSENET121 = DenseNetConfig(block_layers=(6, 12, 24, 16), growth_rate=32, stem_channels=64)
DENSENET169 = DenseNetConfig(block_layers=(6, 12, 32, 32), growth_rate=32, stem_channels=64)
DENSENET201 = DenseNetConfig(block_layers=(6, 12, 48, 32), growth_rate=32, stem_channels=64)
DENSENET264 = DenseNetConfig(block_layers=(6, 12, 64, 48), growth_rate=32, stem_channels=64)
# The authors' released k = 48 model (torchvision densenet161).
DENSENET161 = DenseNetConfig(block_layers=(6, 12, 36, 24), growth_rate=48, stem_channels=96)


def _cifar(depth: int, growth_rate: int, *, bc: bool) -> DenseNetConfig:
    """Table 2 rows: 3 blocks; BC: bottlenecks, theta = 0.5 and a 2k-filter first conv."""
    n = cifar_layers(depth, bottleneck=bc)
    return DenseNetConfig(
        block_layers=(n, n, n),
        growth_rate=growth_rate,
        stem_channels=2 * growth_rate if bc else 16,
        bottleneck=bc,
        compression=0.5 if bc else 1.0,
        stem="cifar",
        num_classes=10,
    )


# Table 2 (CIFAR): DenseNet (L=40, k=12) and DenseNet-BC (L=100/250/190, k=12/24/40).
DENSENET40 = _cifar(40, 12, bc=False)
DENSENET_BC100 = _cifar(100, 12, bc=True)
DENSENET_BC250 = _cifar(250, 24, bc=True)
DENSENET_BC190 = _cifar(190, 40, bc=True)


PAPER = Paper(
    title="Densely Connected Convolutional Networks",
    authors="Huang, Liu, van der Maaten, Weinberger",
    year=2016,
    arxiv="1608.06993",
)
# Section 4.2 (training).
_COMMON = dict(
    optimizer="sgd",
    nesterov=True,
    lr=0.1,
    momentum=0.9,
    weight_decay=1e-4,
    init="He et al. (2015)",
)
RECIPE_IMAGENET = Recipe(
    source="Section 4.2",
    batch_size=256,
    schedule=Schedule("step", factor=0.1, milestones=(30, 60)),
    epochs=90,
    augmentation="as fb.resnet.torch (scale and aspect-ratio crops, flips, colour)",
    notes=("DenseNet-161 was trained with batch 128 for 100 epochs, lr /10 at epoch 90",),
    **_COMMON,
)
RECIPE_CIFAR = Recipe(
    source="Section 4.2",
    batch_size=64,
    schedule=Schedule("step", factor=0.1, milestones=(150, 225)),  # 50% and 75%
    epochs=300,
    augmentation="translation and mirroring (C10+); without it, dropout 0.2 after each "
    "convolution except the first",
    **_COMMON,
)
# Table 3: top-1 / top-5 error, single crop and 10-crop; we quote single crop.
_IMAGENET_ERROR = {
    "densenet121": (25.02, 7.71),
    "densenet169": (23.80, 6.85),
    "densenet201": (22.58, 6.34),
    "densenet264": (22.15, 6.12),
    "densenet161": (22.33, 6.15),  # in later versions of Table 3 only
}
# Table 2: C10+ (with augmentation) test error.
_CIFAR_ERROR = {
    "densenet40": 5.24,
    "densenet_bc100": 4.51,
    "densenet_bc250": 3.62,
    "densenet_bc190": 3.46,
}


def _accuracy(name: str) -> Accuracy | None:
    if name in _IMAGENET_ERROR:
        top1, top5 = _IMAGENET_ERROR[name]
        return Accuracy.from_error(
            top1,
            top5,
            source="Table 3",
            protocol="single 224x224 crop (Table 3 also gives 10-crop)",
        )
    if name in _CIFAR_ERROR:
        return Accuracy.from_error(
            _CIFAR_ERROR[name],
            source="Table 2 (C10+)",
            protocol="32x32 test images, trained with standard augmentation",
            dataset="CIFAR-10 test",
        )
    return None


def _card(
    name: str,
    table: str,
    *,
    params: str | None = None,
    twin: str | None = None,
    cifar: bool = False,
    deviations: tuple[str, ...] = (),
    accuracy_note: str | None = None,
) -> ModelCard:
    return ModelCard(
        name=name,
        family="densenet",
        paper=PAPER,
        table=table,
        key_ideas=(
            "Each layer sees the concatenation of all earlier maps of its block: "
            "features are reused, so layers can be narrow (growth rate k = 12-48).",
            "Short paths from every layer to the loss give implicit deep supervision "
            "and strong gradient flow.",
            "Bottleneck 1x1 convs (B) and transition compression theta = 0.5 (C) keep "
            "the growing width affordable: DenseNet-BC.",
        ),
        paper_params=Reported(params) if params else None,
        accuracy=_accuracy(name),
        accuracy_note=accuracy_note,
        twins=(Twin("torchvision", twin, torchvision_rules()),) if twin else (),
        deviations=deviations,
        **dataset_fields(cifar, cifar_recipe=RECIPE_CIFAR, imagenet_recipe=RECIPE_IMAGENET),
    )


_register = registrar(_card, DenseNet)

_register("densenet121", DENSENET121, "Table 1, DenseNet-121 (k=32)", twin="densenet121")
_register(
    "densenet161",
    DENSENET161,
    "Table 1 template with k=48 (the authors' released DenseNet-161)",
    twin="densenet161",
    deviations=("not a column of Table 1: k=48, 96 stem filters, (6, 12, 36, 24) layers",),
)
_register("densenet169", DENSENET169, "Table 1, DenseNet-169 (k=32)", twin="densenet169")
_register("densenet201", DENSENET201, "Table 1, DenseNet-201 (k=32)", twin="densenet201")
_register("densenet264", DENSENET264, "Table 1, DenseNet-264 (k=32)")
_register("densenet40", DENSENET40, "Table 2, DenseNet (L=40, k=12)", params="1.0M", cifar=True)
_register(
    "densenet_bc100",
    DENSENET_BC100,
    "Table 2, DenseNet-BC (L=100, k=12)",
    params="0.8M",
    cifar=True,
)
_register(
    "densenet_bc250",
    DENSENET_BC250,
    "Table 2, DenseNet-BC (L=250, k=24)",
    params="15.3M",
    cifar=True,
)
_register(
    "densenet_bc190",
    DENSENET_BC190,
    "Table 2, DenseNet-BC (L=190, k=40)",
    params="25.6M",
    cifar=True,
)
