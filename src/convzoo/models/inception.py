"""Inception-v3, and the machinery the later Inceptions share.

Szegedy, Vanhoucke, Ioffe, Shlens, Wojna (2015). Rethinking the Inception
Architecture for Computer Vision. arXiv:1512.00567. Table 1 (the layout:
stem, 3x Inception of Figure 5 at 35x35, 5x Figure 6 at 17x17, 2x Figure 7 at
8x8, with the grid reductions of Figure 10) and section 4 (the auxiliary
classifier on the 17x17 grid, with batch norm). The widths are those of the
released model (torchvision ``inception_v3``); the paper does not tabulate them.

Every module is an `InceptionModule` of named branches; a branch is a chain of
typed layers (`Conv`, `Pool`, `Split`), and a module is a mapping from branch
name to chain, so a figure reads as data. Convolutions with stride 2, and those
marked ``valid`` (the figures' "V"), are unpadded; all others keep H x W.
`InceptionNet` builds any stem + stages of such modules; `convzoo.models.inception_v4`
uses it for Inception-v4 and the Inception-ResNets (arXiv:1602.07261).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial

from torch import Tensor, nn

from convzoo.blocks.conv import ConvNormAct
from convzoo.blocks.head import ClassifierHead
from convzoo.blocks.inception import (
    BranchBuilder,
    Branches,
    Conv,
    InceptionModule,
    Pool,
    Split,
)
from convzoo.models.base import (
    AuxClassifierNet,
    FeatureInfo,
    init_weights_like_torchvision,
)
from convzoo.registry import Accuracy, ModelCard, Paper, Recipe, Schedule, Twin, register

__all__ = [
    "Conv",
    "InceptionNet",
    "InceptionNetConfig",
    "InceptionResidual",
    "Pool",
    "Residual",
    "Split",
    "StageSpec",
]


@dataclass(frozen=True)
class Residual:
    """An Inception-ResNet block: branches, a linear 1x1 back to the input width, scaled sum."""

    branches: Branches
    scale: float
    act: bool = True  # ReLU after the sum (the last block of timm's v2 has none)

    def __post_init__(self) -> None:
        if not self.branches or self.scale <= 0:
            raise ValueError(f"Residual needs branches and a scale > 0, got {self}")


LayerSpec = Conv | Pool | Residual | Mapping  # a Mapping is an Inception module's branches


@dataclass(frozen=True)
class StageSpec:
    name: str
    layers: Mapping[str, LayerSpec]  # child name -> spec, in order


@dataclass(frozen=True)
class InceptionNetConfig:
    stem: Mapping[str, LayerSpec]
    stages: tuple[StageSpec, ...]
    avg_pool_count_pad: bool  # torchvision's v3 averages over zero padding; timm's do not
    dropout: float
    min_input_size: int  # smallest input with a non-empty map everywhere (aux heads aside)
    aux_after: tuple[str, ...] = field(default=())


# -- module builders ---------------------------------------------------------
class _Builder(BranchBuilder):
    """Every conv is conv -> BN (eps 1e-3, as the twins) -> ReLU; modules, residual
    blocks and single layers of a stage."""

    def __init__(self, avg_pool_count_pad: bool) -> None:
        conv = partial(ConvNormAct, norm=partial(nn.BatchNorm2d, eps=1e-3))
        super().__init__(conv, count_include_pad=avg_pool_count_pad)

    def build(self, channels: int, spec: LayerSpec) -> tuple[nn.Module, int]:
        if isinstance(spec, Residual):
            block = InceptionResidual(self.module(channels, spec.branches), spec.scale, spec.act)
            return block, channels
        if isinstance(spec, Mapping):
            module = self.module(channels, spec)
            return module, module.out_channels
        return self.layer(channels, spec)


class InceptionResidual(nn.Module):
    """``act(x + scale * project(concat(branches(x))))`` (Figures 10-13, 16-19).

    ``project`` is a linear 1x1 convolution (with bias, no norm) back to the input
    width; the scale (0.1-0.3) keeps the residuals small (section 3.3).
    """

    def __init__(self, branches: InceptionModule, scale: float, act: bool = True) -> None:
        super().__init__()
        self.branches = branches
        self.project = nn.Conv2d(branches.out_channels, branches.in_channels, 1)
        self.scale = scale
        self.act = nn.ReLU(inplace=True) if act else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.project(self.branches(x)) * self.scale + x)


class AuxHeadV3(nn.Module):
    """Inception-v3's auxiliary classifier on the 17x17 grid (with batch norm, section 4)."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        conv = partial(ConvNormAct, norm=partial(nn.BatchNorm2d, eps=1e-3))
        self.pool = nn.AvgPool2d(5, stride=3)  # (N, 768, 17, 17) -> (N, 768, 5, 5)
        self.reduce = conv(in_channels, 128, 1)
        self.conv = conv(128, 768, 5, padding=0)  # -> (N, 768, 1, 1) at 299x299
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.flatten(self.gap(self.conv(self.reduce(self.pool(x))))))


class InceptionNet(AuxClassifierNet):
    """Stem, then stages of Inception(-ResNet) modules, average pool, dropout, fc."""

    # Inception-v3's one auxiliary head: the paper gives no weight; 0.4 is the weight of
    # PyTorch's fine-tuning tutorial for torchvision's inception_v3 (`loss1 + 0.4 * loss2`)
    aux_loss_weight = 0.4

    def __init__(
        self,
        config: InceptionNetConfig,
        *,
        num_classes: int = 1000,
        in_channels: int = 3,
        aux_logits: bool = True,
        dropout: float | None = None,
    ) -> None:
        with_aux = aux_logits and bool(config.aux_after)
        # the aux head's 5x5/3 pool and valid 5x5 conv need the 17x17 grid of a 299 input
        min_size = 299 if with_aux else config.min_input_size
        super().__init__(
            in_channels, num_classes, default_input_size=(299, 299), min_input_size=min_size
        )
        self.min_input_size_without_aux = config.min_input_size
        build = _Builder(config.avg_pool_count_pad)
        channels, stride = in_channels, 1
        self.stem = nn.Sequential()
        for name, spec in config.stem.items():
            module, channels = build.build(channels, spec)
            self.stem.add_module(name, module)
            stride *= _stride_of(spec)
        self.feature_info = [FeatureInfo("stem", channels, stride)]
        self.stages = nn.Sequential()
        self.aux_heads = nn.ModuleDict()
        for stage_spec in config.stages:
            stage = nn.Sequential()
            for name, spec in stage_spec.layers.items():
                module, channels = build.build(channels, spec)
                stage.add_module(name, module)
                stride *= _stride_of(spec)  # reductions halve H, W
                if with_aux and name in config.aux_after:
                    self.aux_heads[name] = AuxHeadV3(channels, num_classes)
            self.stages.add_module(stage_spec.name, stage)
            self.feature_info.append(FeatureInfo(stage_spec.name, channels, stride))
        drop = config.dropout if dropout is None else dropout
        self.head = ClassifierHead(channels, num_classes, dropout=drop)  # (N, C, 8, 8) -> (N, C)
        init_weights_like_torchvision(self)


def _stride_of(spec: LayerSpec) -> int:
    if isinstance(spec, Conv | Pool):
        return spec.stride
    if isinstance(spec, Split):
        return 1
    if isinstance(spec, Mapping):
        return max(math.prod(_stride_of(layer) for layer in chain) for chain in spec.values())
    return 1


# -- modules shared by the versions (widths as keyword arguments) ------------
def grid35(
    *,
    conv1x1: int,
    middle: tuple[int, int],
    middle_kernel: int,
    conv3x3dbl: tuple[int, ...],
    pool_proj: int,
) -> Branches:
    """v3 Figure 5 (middle: 1x1 -> 5x5, as released) / v4 Figure 4 (1x1 -> 3x3)."""
    reduce, out = middle
    return {
        "branch1x1": (Conv(conv1x1),),
        f"branch{middle_kernel}x{middle_kernel}": (Conv(reduce), Conv(out, middle_kernel)),
        "branch3x3dbl": (Conv(conv3x3dbl[0]), Conv(conv3x3dbl[1], 3), Conv(conv3x3dbl[2], 3)),
        "branch_pool": (Pool("avg", stride=1), Conv(pool_proj)),
    }


def grid17(
    *, conv1x1: int, conv7x7: tuple[int, int, int], conv7x7dbl: tuple[int, ...], pool_proj: int
) -> Branches:
    """v3 Figure 6 / v4 Figure 5: 7x7 factorized into 1x7 and 7x1 (once, and twice)."""
    r, a, b = conv7x7
    d = conv7x7dbl
    return {
        "branch1x1": (Conv(conv1x1),),
        "branch7x7": (Conv(r), Conv(a, (1, 7)), Conv(b, (7, 1))),
        "branch7x7dbl": (
            Conv(d[0]),
            Conv(d[1], (7, 1)),
            Conv(d[2], (1, 7)),
            Conv(d[3], (7, 1)),
            Conv(d[4], (1, 7)),
        ),
        "branch_pool": (Pool("avg", stride=1), Conv(pool_proj)),
    }


def reduction_a(*, k: int, l: int, m: int, n: int) -> Branches:  # noqa: E741 (the paper's l)
    """v4 Figure 7 with Table 1's k, l, m, n (v3's 35->17 reduction has the same shape)."""
    return {
        "branch3x3": (Conv(n, 3, stride=2),),
        "branch3x3dbl": (Conv(k), Conv(l, 3), Conv(m, 3, stride=2)),
        "branch_pool": (Pool("max"),),
    }


def reduction_b(*, conv3x3: tuple[int, int], conv7x7x3: tuple[int, int, int, int]) -> Branches:
    """v4 Figure 8 (v3's 17->8 reduction has the same shape)."""
    r, a, b, out = conv7x7x3
    return {
        "branch3x3": (Conv(conv3x3[0]), Conv(conv3x3[1], 3, stride=2)),
        "branch7x7x3": (Conv(r), Conv(a, (1, 7)), Conv(b, (7, 1)), Conv(out, 3, stride=2)),
        "branch_pool": (Pool("max"),),
    }


# -- Inception-v3: Table 1 of arXiv:1512.00567, widths as released -----------
V3_STEM = {
    "conv1a": Conv(32, 3, stride=2),  # 149x149x32
    "conv2a": Conv(32, 3, valid=True),  # 147x147x32
    "conv2b": Conv(64, 3),  # 147x147x64
    "pool3a": Pool(),  # 73x73x64
    "conv3b": Conv(80),  # 73x73x80
    "conv4a": Conv(192, 3, valid=True),  # 71x71x192
    "pool5a": Pool(),  # 35x35x192
}


def _v3_grid8() -> Branches:  # Figure 7
    return {
        "branch1x1": (Conv(320),),
        "branch3x3": (Conv(384), Split(384)),
        "branch3x3dbl": (Conv(448), Conv(384, 3), Split(384)),
        "branch_pool": (Pool("avg", stride=1), Conv(192)),
    }


def _v3_grid35(pool_proj: int) -> Branches:
    return grid35(
        conv1x1=64, middle=(48, 64), middle_kernel=5, conv3x3dbl=(64, 96, 96), pool_proj=pool_proj
    )


def _v3_grid17(c7: int) -> Branches:
    return grid17(
        conv1x1=192, conv7x7=(c7, c7, 192), conv7x7dbl=(c7, c7, c7, c7, 192), pool_proj=192
    )


INCEPTION_V3 = InceptionNetConfig(
    stem=V3_STEM,
    stages=(
        StageSpec(  # 3x Inception (Figure 5), 35x35x288
            "mixed5", {"5b": _v3_grid35(32), "5c": _v3_grid35(64), "5d": _v3_grid35(64)}
        ),
        StageSpec(  # reduction, 5x Inception (Figure 6), 17x17x768
            "mixed6",
            {
                "6a": reduction_a(k=64, l=96, m=96, n=384),
                "6b": _v3_grid17(128),
                "6c": _v3_grid17(160),
                "6d": _v3_grid17(160),
                "6e": _v3_grid17(192),
            },
        ),
        StageSpec(  # reduction, 2x Inception (Figure 7), 8x8x2048
            "mixed7",
            {
                "7a": reduction_b(conv3x3=(192, 320), conv7x7x3=(192, 192, 192, 192)),
                "7b": _v3_grid8(),
                "7c": _v3_grid8(),
            },
        ),
    ),
    avg_pool_count_pad=True,
    dropout=0.5,
    min_input_size=75,
    aux_after=("6e",),
)

# -- twins' state-dict keys -> ours ------------------------------------------
SPLIT_SUFFIX = {"a": ".conv1x3", "b": ".conv3x1"}


def _torchvision_v3_rules() -> tuple:
    """torchvision numbers a branch's convs ``branch5x5_1``, ``_2``; ``_2a/_2b`` are the split."""
    return (
        (r"^Conv2d_(\d[ab])_\dx\d\.", r"stem.conv\1."),
        (r"^Mixed_(\d)(\w)\.", r"stages.mixed\1.\1\2."),
        (r"\.branch_pool\.", ".branch_pool.1."),
        (
            r"\.(branch\w+?)_(\d)([ab]?)\.",
            lambda m: f".{m[1]}.{int(m[2]) - 1}{SPLIT_SUFFIX.get(m[3], '')}.",
        ),
        (r"^AuxLogits\.conv0\.", "aux_heads.6e.reduce."),
        (r"^AuxLogits\.conv1\.", "aux_heads.6e.conv."),
        (r"^AuxLogits\.fc\.", "aux_heads.6e.fc."),
        (r"^fc\.", "head.fc."),
        (r"\.bn\.", ".norm."),
    )


# -- card and builder --------------------------------------------------------
PAPER = Paper(
    title="Rethinking the Inception Architecture for Computer Vision",
    authors="Szegedy, Vanhoucke, Ioffe, Shlens, Wojna",
    year=2015,
    arxiv="1512.00567",
)
# Section 7 (label smoothing) and Section 8 (training methodology).
RECIPE = Recipe(
    source="Sections 7 and 8",
    optimizer="rmsprop",
    lr=0.045,
    batch_size=32,  # per replica, 50 replicas
    rmsprop_decay=0.9,
    eps=1.0,
    schedule=Schedule("exponential", factor=0.94, every=2),
    epochs=100,
    label_smoothing=0.1,
    notes=(
        "gradient clipping at 2.0; evaluation with a running average of the parameters",
        "trained on 50 replicas with TensorFlow's distributed system",
    ),
    not_stated=("weight_decay", "aux_loss_weight", "init"),
)


@register(
    ModelCard(
        name="inception_v3",
        family="inception",
        paper=PAPER,
        table="Table 1 with Figures 5, 6, 7 and 10; section 4 (auxiliary classifier)",
        key_ideas=(
            "Factorize big kernels: a 5x5 becomes two 3x3, and an nxn becomes 1xn then nx1 "
            "(the 17x17 modules use 1x7 and 7x1).",
            "Efficient grid reduction: a stride-2 convolution branch in parallel with a "
            "stride-2 pool, concatenated, instead of pooling before or after an expensive block.",
            "One auxiliary classifier with batch norm acts as a regularizer, not as an aid "
            "to early convergence.",
            "Label smoothing and a 299x299 input; the abstract quotes about 5G multiply-adds "
            "and fewer than 25M parameters.",
        ),
        input_size=(3, 299, 299),
        recipe=RECIPE,
        accuracy=Accuracy.from_error(
            21.2, 5.6, source="Table 3, Inception-v3", protocol="single 299x299 crop"
        ),
        twins=(
            Twin(
                "torchvision",
                "inception_v3",
                _torchvision_v3_rules(),
                kwargs={"aux_logits": True, "transform_input": False, "init_weights": True},
            ),
            Twin(
                "torchvision",
                "inception_v3",
                _torchvision_v3_rules(),
                kwargs={"aux_logits": False, "transform_input": False, "init_weights": True},
            ),
        ),
        deviations=(
            "widths follow the released model (torchvision): the paper prints no module widths",
            "the 35x35 modules keep the released 1x1 -> 5x5 branch (Figure 5 draws two 3x3)",
            "no transform_input: inputs are normalized by the data pipeline, and the twin is "
            "built with transform_input=False",
            "27.2M parameters with the auxiliary head, 23.8M without; the abstract's "
            "'less than 25 million' fits the network without it",
            "with aux_logits the minimum input is 299 (the aux head's 5x5/3 pool and 5x5 "
            "conv need the 17x17 grid); without, 75",
            "auxiliary loss weight 0.4: the paper gives none; 0.4 is the weight PyTorch's "
            "'Finetuning Torchvision Models' tutorial uses for torchvision's inception_v3",
        ),
    )
)
def inception_v3(**overrides) -> InceptionNet:  # 23.83M params (27.16M with aux), 5.71G MACs
    return InceptionNet(INCEPTION_V3, **overrides)
