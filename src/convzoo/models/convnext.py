"""ConvNeXt: a ResNet modernized step by step with the design choices of vision transformers.

Liu, Mao, Wu, Feichtenhofer, Darrell, Xie (2022). A ConvNet for the 2020s.
arXiv:2201.03545 (CVPR 2022). Section 3 defines the variants (channels C and
blocks per stage B): ConvNeXt-T C=(96, 192, 384, 768), B=(3, 3, 9, 3);
ConvNeXt-S the same C with B=(3, 3, 27, 3); ConvNeXt-B C=(128, 256, 512, 1024),
B=(3, 3, 27, 3). Table 1 gives 28M/4.5G, 50M/8.7G, 89M/15.4G params/FLOPs at
224 px (FLOPs meaning multiply-adds) and 82.1, 83.1, 83.8% top-1 (ImageNet-1K).
Appendix A.1: stochastic depth 0.1/0.4/0.5 for T/S/B, layer scale initialised to 1e-6.

The roadmap of Fig. 2, each piece visible below: stage ratio 1:1:3:1 and a
"patchify" 4x4/4 stem; depthwise convolution; the inverted bottleneck (4x
expansion); a 7x7 depthwise kernel moved before the 1x1s; GELU, one activation
and one LayerNorm per block; separate 2x2/2 downsampling layers with a LayerNorm.

Deviations: none in the network (Table 1's "28M" for ConvNeXt-T is 28.6M measured,
the same as torchvision's). Its LayerNorms over channels run on
channels-last tensors inside a block and on channels-first maps elsewhere, as in
the authors' code and torchvision.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from convzoo.blocks.regularize import StochasticDepth
from convzoo.models.base import ConvNet, FeatureInfo, register_variant
from convzoo.registry import Accuracy, ModelCard, Paper, Recipe, Reported, Schedule, Twin

__all__ = ["ConvNeXt", "ConvNeXtBlock", "ConvNeXtStage", "LayerNorm2d"]

NORM_EPS = 1e-6
EXPANSION = 4  # inverted bottleneck: the MLP is 4x wider than the block (section 2.3)


@dataclass(frozen=True)
class ConvNeXtStage:
    """One stage of a variant: its channels C_i and number of blocks B_i."""

    channels: int
    depth: int

    def __post_init__(self) -> None:
        if self.channels < 1 or self.depth < 1:
            raise ValueError(f"ConvNeXtStage needs channels and depth >= 1, got {self}")


# Section 3, "ConvNeXt-T/S/B" variant definitions (one row per stage).
TINY = (
    ConvNeXtStage(channels=96, depth=3),
    ConvNeXtStage(channels=192, depth=3),
    ConvNeXtStage(channels=384, depth=9),
    ConvNeXtStage(channels=768, depth=3),
)
SMALL = (*TINY[:2], ConvNeXtStage(channels=384, depth=27), TINY[3])
BASE = (
    ConvNeXtStage(channels=128, depth=3),
    ConvNeXtStage(channels=256, depth=3),
    ConvNeXtStage(channels=512, depth=27),
    ConvNeXtStage(channels=1024, depth=3),
)


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an (N, C, H, W) map."""

    def forward(self, x: Tensor) -> Tensor:
        x = x.permute(0, 2, 3, 1)  # (N, H, W, C)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)  # (N, C, H, W)


class ConvNeXtBlock(nn.Module):
    """``depthwise`` 7x7 -> ``norm`` -> ``expand`` 1x1 (4C) -> GELU -> ``project`` 1x1 (C).

    The 1x1s are Linear layers on channels-last tensors; ``layer_scale`` (one
    learnable factor per channel, starting at 1e-6) and stochastic depth scale the
    branch before it joins the identity.
    """

    def __init__(self, channels: int, *, layer_scale: float = 1e-6, drop_path: float = 0.0):
        super().__init__()
        self.depthwise = nn.Conv2d(channels, channels, 7, padding=3, groups=channels)
        self.norm = nn.LayerNorm(channels, eps=NORM_EPS)
        self.expand = nn.Linear(channels, EXPANSION * channels)
        self.act = nn.GELU()
        self.project = nn.Linear(EXPANSION * channels, channels)
        self.layer_scale = nn.Parameter(torch.full((channels, 1, 1), layer_scale))
        self.drop_path = StochasticDepth(drop_path, "row")

    def forward(self, x: Tensor) -> Tensor:
        y = self.depthwise(x).permute(0, 2, 3, 1)  # (N, H, W, C)
        y = self.project(self.act(self.expand(self.norm(y))))  # (N, H, W, 4C) -> (N, H, W, C)
        y = self.layer_scale * y.permute(0, 3, 1, 2)  # (N, C, H, W)
        return x + self.drop_path(y)


class ConvNeXtHead(nn.Module):
    """Global average pool -> LayerNorm -> ``fc``."""

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.norm = nn.LayerNorm(in_features, eps=NORM_EPS)
        self.fc = nn.Linear(in_features, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.norm(self.flatten(self.pool(x))))  # (N, C, H, W) -> (N, classes)


class ConvNeXt(ConvNet):
    """Patchify stem, four stages (``stage2``-``stage4`` open with a 2x2/2 downsample), head."""

    def __init__(
        self,
        config: tuple[ConvNeXtStage, ...],
        *,
        drop_path: float = 0.0,
        layer_scale: float = 1e-6,
        num_classes: int = 1000,
        in_channels: int = 3,
    ) -> None:
        super().__init__(
            in_channels,
            num_classes,
            default_input_size=(224, 224),
            min_input_size=4 * 2 ** (len(config) - 1),
        )
        channels = config[0].channels
        self.stem = nn.Sequential(
            OrderedDict(
                conv=nn.Conv2d(in_channels, channels, 4, stride=4),  # (N, C1, H/4, W/4)
                norm=LayerNorm2d(channels, eps=NORM_EPS),
            )
        )
        self.feature_info = [FeatureInfo("stem", channels, 4)]
        total_blocks, block_index, stride = sum(row.depth for row in config), 0, 4
        self.stages = nn.Sequential()
        for number, row in enumerate(config, start=1):
            layers: dict[str, nn.Module] = {}
            if number > 1:
                layers["downsample"] = nn.Sequential(
                    OrderedDict(
                        norm=LayerNorm2d(channels, eps=NORM_EPS),
                        conv=nn.Conv2d(channels, row.channels, 2, stride=2),  # halves H, W
                    )
                )
                stride *= 2
            blocks = []
            for _ in range(row.depth):
                # stochastic depth rises linearly from 0 (first block) to drop_path (last)
                rate = drop_path * block_index / max(total_blocks - 1, 1)
                blocks.append(ConvNeXtBlock(row.channels, layer_scale=layer_scale, drop_path=rate))
                block_index += 1
            layers["blocks"] = nn.Sequential(*blocks)
            channels = row.channels
            self.stages.add_module(f"stage{number}", nn.Sequential(OrderedDict(layers)))
            self.feature_info.append(FeatureInfo(f"stage{number}", channels, stride))
        self.head = ConvNeXtHead(channels, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)


def _torchvision_rules(config: tuple[ConvNeXtStage, ...]) -> tuple:
    """torchvision: features = [stem, stage1, down, stage2, down, stage3, down, stage4]."""
    rules: list = [(r"^features\.0\.0\.", "stem.conv."), (r"^features\.0\.1\.", "stem.norm.")]
    for number in range(1, len(config) + 1):
        rules.append(
            (rf"^features\.{2 * number - 1}\.(\d+)\.", rf"stages.stage{number}.blocks.\1.")
        )
        if number > 1:
            down = f"stages.stage{number}.downsample"
            rules.append((rf"^features\.{2 * number - 2}\.0\.", f"{down}.norm."))
            rules.append((rf"^features\.{2 * number - 2}\.1\.", f"{down}.conv."))
    rules += [
        (r"\.block\.0\.", ".depthwise."),  # block = [dwconv, permute, norm, fc1, GELU, fc2, ...]
        (r"\.block\.2\.", ".norm."),
        (r"\.block\.3\.", ".expand."),
        (r"\.block\.5\.", ".project."),
        (r"^classifier\.0\.", "head.norm."),
        (r"^classifier\.2\.", "head.fc."),
    ]
    return tuple(rules)


PAPER = Paper(
    title="A ConvNet for the 2020s",
    authors="Liu, Mao, Wu, Feichtenhofer, Darrell, Xie",
    year=2022,
    arxiv="2201.03545",
)
# Section 3, "Training on ImageNet-1K"; the drop-path rate is per variant (the builders').
RECIPE = Recipe(
    source="Section 3 (training on ImageNet-1K)",
    optimizer="adamw",
    lr=4e-3,
    batch_size=4096,
    weight_decay=0.05,
    schedule=Schedule("cosine", warmup=20),
    epochs=300,
    label_smoothing=0.1,
    augmentation="Mixup, CutMix, RandAugment, Random Erasing",
    notes=("layer scale initialised to 1e-6; EMA of the weights",),
    not_stated=("init",),
)


def _card(
    name: str,
    variant: str,
    params: str,
    flops: str,
    top1: float,
    config: tuple[ConvNeXtStage, ...],
    deviations: tuple[str, ...] = (),
    *,
    drop_path: float,
) -> ModelCard:
    return ModelCard(
        name=name,
        family="convnext",
        paper=PAPER,
        table=f"Section 3 variant ConvNeXt-{variant}; counts from Table 1",
        key_ideas=(
            "A pure ConvNet matches Swin transformers once a ResNet-50 is modernized step by "
            "step (Fig. 2); each step is measured, none is new on its own.",
            "Macro design: stage ratio 1:1:3:1, a patchify 4x4/4 stem, separate downsampling "
            "layers.",
            "Block: 7x7 depthwise conv first, then an inverted bottleneck MLP (4x) with one "
            "GELU and one LayerNorm, layer scale and stochastic depth.",
        ),
        input_size=(3, 224, 224),
        paper_params=Reported(params),
        paper_macs=Reported(flops),
        recipe=replace(RECIPE, drop_path=drop_path),
        accuracy=Accuracy(
            top1=top1, source="Table 1", protocol="224x224 input, ImageNet-1K trained"
        ),
        twins=(Twin("torchvision", name, _torchvision_rules(config)),),
        deviations=deviations,
    )


# Section 3's variants with Table 1's counts; each trained (and built) with its own
# stochastic-depth rate.
_TINY_NOTE = "Table 1 prints 28M params; the network (== torchvision) has 28,589,128 = 28.6M"
for _name, _variant, _params, _flops, _top1, _config, _deviations, _drop_path in (
    ("convnext_tiny", "T", "28M", "4.5G", 82.1, TINY, (_TINY_NOTE,), 0.1),  # 4.46G MACs
    ("convnext_small", "S", "50M", "8.7G", 83.1, SMALL, (), 0.4),  # 50,223,688 params, 8.68G
    ("convnext_base", "B", "89M", "15.4G", 83.8, BASE, (), 0.5),  # 88,591,464 params, 15.35G
):
    _card_of = _card(
        _name, _variant, _params, _flops, _top1, _config, _deviations, drop_path=_drop_path
    )
    register_variant(_card_of, ConvNeXt, _config, drop_path=_drop_path)
