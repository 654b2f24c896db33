"""EfficientNet: one baseline scaled in depth, width and resolution together.

Tan & Le (2019). EfficientNet: Rethinking Model Scaling for Convolutional Neural
Networks. arXiv:1905.11946 (ICML 2019). Table 1 is the B0 baseline (found by
architecture search: MBConv blocks with squeeze-excite); section 3.3 the
compound scaling rule: depth ``alpha^phi``, width ``beta^phi``, resolution
``gamma^phi`` with alpha=1.2, beta=1.1, gamma=1.15 (grid-searched at phi=1
under ``alpha * beta^2 * gamma^2 ~ 2``, so FLOPs grow about ``2^phi``).
Table 2 reports B0-B7: 5.3M, 7.8M, 9.2M, 12M, 19M, 30M, 43M, 66M params and
0.39B, 0.70B, 1.0B, 1.8B, 4.2B, 9.9B, 19B, 37B FLOPs (multiply-adds, as the
measured counts show).

B1-B7 are not exactly ``compound_coefficients(phi)`` for integer phi: the
released models use rounded (width, depth, resolution, dropout) tuples, listed in
`PUBLISHED` from the authors' reference code; each card gives the phi each
coefficient implies. Stochastic depth ("drop connect") rises linearly from 0 at
the first block to `drop_path` (0.2) at the last.

Deviations: batch-norm epsilon/momentum follow torchvision (1e-5/0.1 for B0-B4,
1e-3/0.01 as in the TF reference for B5-B7) so torchvision's weights load unchanged.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from functools import partial

from torch import nn

from convzoo.blocks.conv import ConvNormAct, make_divisible
from convzoo.blocks.mobile import ConvHead, InvertedResidualRow, inverted_residual_stage
from convzoo.cards import ZERO_RESIDUAL_INIT
from convzoo.models.base import (
    ConvNet,
    FeatureInfo,
    init_weights_like_torchvision,
    register_variant,
    short_run_default,
)
from convzoo.registry import Accuracy, ModelCard, Paper, Recipe, Reported, Schedule, Twin

__all__ = [
    "PUBLISHED",
    "EfficientNet",
    "Scaling",
    "compound_coefficients",
    "efficientnet",
    "implied_phi",
    "round_filters",
    "round_repeats",
]


STEM_CHANNELS = 32  # Table 1, stage 1: Conv3x3, 32 channels, stride 2
HEAD_CHANNELS = 1280  # Table 1, stage 9: Conv1x1 & Pooling & FC
SE_RATIO = 0.25  # squeeze-excite bottleneck: a quarter of the block's input channels

# Table 1 (EfficientNet-B0 baseline), stages 2-8: operator MBConv{t} k, #channels,
# #layers; the stride is where the Resolution column halves after the stage.
B0_TABLE = (
    InvertedResidualRow(expand_ratio=1, kernel_size=3, out_channels=16, repeats=1, stride=1),
    InvertedResidualRow(expand_ratio=6, kernel_size=3, out_channels=24, repeats=2, stride=2),
    InvertedResidualRow(expand_ratio=6, kernel_size=5, out_channels=40, repeats=2, stride=2),
    InvertedResidualRow(expand_ratio=6, kernel_size=3, out_channels=80, repeats=3, stride=2),
    InvertedResidualRow(expand_ratio=6, kernel_size=5, out_channels=112, repeats=3, stride=1),
    InvertedResidualRow(expand_ratio=6, kernel_size=5, out_channels=192, repeats=4, stride=2),
    InvertedResidualRow(expand_ratio=6, kernel_size=3, out_channels=320, repeats=1, stride=1),
)

# -- scaling rules ----------------------------------------------------------------

ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15  # depth, width, resolution bases (section 3.3)
BASE_RESOLUTION = 224


@dataclass(frozen=True)
class Scaling:
    """How much wider, deeper and higher-resolution than B0 a model is; the fields are
    `EfficientNet`'s keywords of the same names."""

    width_mult: float
    depth_mult: float
    resolution: int
    dropout: float = 0.2


# The released B0-B7 (width, depth, resolution, dropout) of the authors' reference code.
PUBLISHED = {
    "b0": Scaling(width_mult=1.0, depth_mult=1.0, resolution=224, dropout=0.2),
    "b1": Scaling(width_mult=1.0, depth_mult=1.1, resolution=240, dropout=0.2),
    "b2": Scaling(width_mult=1.1, depth_mult=1.2, resolution=260, dropout=0.3),
    "b3": Scaling(width_mult=1.2, depth_mult=1.4, resolution=300, dropout=0.3),
    "b4": Scaling(width_mult=1.4, depth_mult=1.8, resolution=380, dropout=0.4),
    "b5": Scaling(width_mult=1.6, depth_mult=2.2, resolution=456, dropout=0.4),
    "b6": Scaling(width_mult=1.8, depth_mult=2.6, resolution=528, dropout=0.5),
    "b7": Scaling(width_mult=2.0, depth_mult=3.1, resolution=600, dropout=0.5),
}


def compound_coefficients(phi: float, *, dropout: float = 0.2) -> Scaling:
    """Equation 3: depth ``alpha^phi``, width ``beta^phi``, resolution ``224 * gamma^phi``."""
    if phi < 0:
        raise ValueError(f"phi must be >= 0, got {phi}")
    return Scaling(
        width_mult=BETA**phi,
        depth_mult=ALPHA**phi,
        resolution=round(BASE_RESOLUTION * GAMMA**phi),
        dropout=dropout,
    )


def implied_phi(scaling: Scaling) -> tuple[float, float, float]:
    """The phi each coefficient corresponds to: (depth, width, resolution)."""
    return (
        math.log(scaling.depth_mult) / math.log(ALPHA),
        math.log(scaling.width_mult) / math.log(BETA),
        math.log(scaling.resolution / BASE_RESOLUTION) / math.log(GAMMA),
    )


def round_filters(channels: int, width_mult: float) -> int:
    """Width scaling: ``width_mult * channels`` to a multiple of 8 (never 10% below)."""
    return make_divisible(channels * width_mult, 8)


def round_repeats(repeats: int, depth_mult: float) -> int:
    """Depth scaling: ``ceil(depth_mult * repeats)`` layers per stage."""
    return math.ceil(repeats * depth_mult)


# -- the network --------------------------------------------------------------------


class EfficientNet(ConvNet):
    """Table 1 scaled: stem (stage 1), MBConv stages ``stage2``..``stage8``, head (stage 9)."""

    def __init__(
        self,
        config: tuple[InvertedResidualRow, ...],
        *,
        width_mult: float = 1.0,
        depth_mult: float = 1.0,
        resolution: int = 224,
        dropout: float = 0.2,
        drop_path: float = 0.2,
        norm_eps: float = 1e-5,
        norm_momentum: float = 0.1,
        num_classes: int = 1000,
        in_channels: int = 3,
    ) -> None:
        super().__init__(
            in_channels, num_classes, default_input_size=(resolution, resolution), min_input_size=32
        )
        if width_mult <= 0 or depth_mult <= 0:
            raise ValueError(f"width_mult, depth_mult must be > 0, got {width_mult}, {depth_mult}")
        self.scaling = Scaling(
            width_mult=width_mult, depth_mult=depth_mult, resolution=resolution, dropout=dropout
        )
        norm = partial(nn.BatchNorm2d, eps=norm_eps, momentum=norm_momentum)
        channels = round_filters(STEM_CHANNELS, width_mult)
        self.stem = ConvNormAct(in_channels, channels, 3, stride=2, norm=norm, act=nn.SiLU)
        self.feature_info = [FeatureInfo("stem", channels, 2)]  # (N, 32w, H/2, W/2)

        repeats = [round_repeats(row.repeats, depth_mult) for row in config]
        total_blocks, first_block, stride = sum(repeats), 0, 2
        self.stages = nn.Sequential()
        for number, (row, count) in enumerate(zip(config, repeats, strict=True), start=2):
            out_channels = round_filters(row.out_channels, width_mult)
            # stochastic depth rises linearly with the block's index in the whole network
            blocks = range(first_block, first_block + count)
            stage = inverted_residual_stage(
                row, channels, out_channels, act=nn.SiLU, norm=norm, se_ratio=SE_RATIO,
                drop_paths=[drop_path * index / total_blocks for index in blocks],
            )  # fmt: skip
            channels, first_block, stride = out_channels, first_block + count, stride * row.stride
            self.stages.add_module(f"stage{number}", stage)
            self.feature_info.append(FeatureInfo(f"stage{number}", channels, stride))
        head_channels = round_filters(HEAD_CHANNELS, width_mult)
        self.head = ConvHead(
            channels, head_channels, num_classes, dropout=dropout, act=nn.SiLU, norm=norm
        )  # (N, 320w, H/32, W/32) -> (N, 1280w) -> classes
        init_weights_like_torchvision(self)


def efficientnet(phi: float, *, dropout: float = 0.2, **overrides) -> EfficientNet:
    """EfficientNet-B0 compound-scaled by `phi` (not one of the released models)."""
    kwargs = asdict(compound_coefficients(phi, dropout=dropout))
    return EfficientNet(B0_TABLE, **{**kwargs, **overrides})


# -- twins, cards, builders -----------------------------------------------------------


def _torchvision_rules(config: tuple[InvertedResidualRow, ...]) -> tuple:
    """torchvision: features.0 stem, features.1-7 the stages, features.8 the 1x1 head conv;
    each MBConv's `block` lists [expand,] depthwise, SE, project."""
    rules: list = [(r"^features\.0\.", "stem.")]
    for index, row in enumerate(config, start=1):
        parts = ("expand",) if row.expand_ratio != 1 else ()
        parts += ("depthwise", "se", "project")
        for position, part in enumerate(parts):
            rules.append(
                (
                    rf"^features\.{index}\.(\d+)\.block\.{position}\.",
                    rf"stages.stage{index + 1}.\1.{part}.",
                )
            )
    rules += [
        (rf"^features\.{len(config) + 1}\.", "head.conv."),
        (r"^classifier\.1\.", "head.fc."),
        (r"\.0\.(weight|bias)$", r".conv.\1"),  # Conv2dNormActivation: 0 = conv, 1 = norm
        (r"\.1\.(weight|bias|running_mean|running_var|num_batches_tracked)$", r".norm.\1"),
        (r"\.se\.fc1\.", ".se.reduce."),
        (r"\.se\.fc2\.", ".se.expand."),
    ]
    return tuple(rules)


# Table 2: params, FLOPs, top-1 (ICML version)
_TABLE_2 = {
    "b0": ("5.3M", "0.39B", 77.1),
    "b1": ("7.8M", "0.70B", 79.1),
    "b2": ("9.2M", "1.0B", 80.1),
    "b3": ("12M", "1.8B", 81.6),
    "b4": ("19M", "4.2B", 82.9),
    "b5": ("30M", "9.9B", 83.6),
    "b6": ("43M", "19B", 84.0),
    "b7": ("66M", "37B", 84.3),
}


# Where this network (== torchvision's) measures outside Table 2's printed precision.
_DISAGREES = {
    "b1": "Table 2 prints 0.70B FLOPs; measured 0.687G multiply-adds at 240 px",
    "b2": "Table 2 prints 9.2M params; measured 9,109,994",
    "b4": "Table 2 prints 4.2B FLOPs; measured 4.39G multiply-adds at 380 px",
    "b5": "Table 2 prints 9.9B FLOPs; measured 10.27G multiply-adds at 456 px",
    "b7": "Table 2 prints 37B FLOPs; measured 37.75G multiply-adds at 600 px",
}


PAPER = Paper(
    title="EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks",
    authors="Tan, Le",
    year=2019,
    arxiv="1905.11946",
)
# Section 5.2; dropout grows linearly from 0.2 (B0) to 0.5 (B7), per variant below.
RECIPE = Recipe(
    source="Section 5.2",
    optimizer="rmsprop",
    lr=0.256,
    rmsprop_decay=0.9,
    momentum=0.9,
    weight_decay=1e-5,
    schedule=Schedule("exponential", factor=0.97, every=2.4),
    dropout=0.2,
    drop_path=0.2,  # stochastic depth with survival probability 0.8
    augmentation="AutoAugment",
    bn_momentum=0.01,  # the paper's 0.99 in TensorFlow's convention
    notes=(
        "SiLU (swish) activations",
        "early stopping on 25K training images held out as minival",
    ),
    not_stated=("batch_size", "epochs", "init"),
)


def _card(variant: str) -> ModelCard:
    scaling = PUBLISHED[variant]
    params, flops, top1 = _TABLE_2[variant]
    depth, width, resolution = implied_phi(scaling)
    deviations = []
    if variant != "b0":
        deviations.append(
            f"not one phi of compound scaling: the released width {scaling.width_mult}, depth "
            f"{scaling.depth_mult}, {scaling.resolution} px (dropout {scaling.dropout}) are, "
            f"as alpha^phi, beta^phi, gamma^phi, phi = {depth:.2f} (depth), {width:.2f} "
            f"(width), {resolution:.2f} (resolution)"
        )
    if variant in _DISAGREES:
        deviations.append(_DISAGREES[variant])
    if variant in ("b0", "b1", "b2", "b3", "b4"):
        deviations.append("batch norm eps 1e-5, momentum 0.1 as torchvision (TF reference: 1e-3)")
    return ModelCard(
        name=f"efficientnet_{variant}",
        family="efficientnet",
        paper=PAPER,
        table=f"Table 1 (B0) scaled to {variant.upper()}; counts from Table 2",
        key_ideas=(
            "Compound scaling: grow depth, width and resolution together by alpha^phi, "
            "beta^phi, gamma^phi; scaling one dimension alone saturates quickly.",
            "alpha * beta^2 * gamma^2 ~ 2, so each step of phi roughly doubles the FLOPs.",
            "The baseline matters: B0 comes from architecture search over MBConv blocks "
            "(inverted residuals with squeeze-excite and SiLU/swish).",
        ),
        input_size=(3, scaling.resolution, scaling.resolution),
        paper_params=Reported(params),
        paper_macs=Reported(flops),
        recipe=replace(RECIPE, dropout=scaling.dropout),
        **short_run_default(
            5e-4,
            paper="350 epochs of RMSProp at batch 4096",
            init=ZERO_RESIDUAL_INIT,
            bn_momentum=0.1,
            why=(
                "Every MBConv with a shortcut starts as the identity (its projection's BN "
                "scale at 0): with the model's own initialisation B4 stayed at 15.6% in 2 "
                "epochs of the 2,048-image check, with it 98.0%. Batch norm's running "
                "statistics follow at momentum 0.1 (torch's): at the paper's 0.01 they lag "
                "the weights for hundreds of steps, and B5 (built with 0.01, as torchvision's "
                "port) validated at chance (10.7%) after 2 epochs while training at 87%; "
                "with 0.1, 97.1%."
            ),
        ),
        accuracy=Accuracy(
            top1=top1, source="Table 2", protocol=f"{scaling.resolution}x{scaling.resolution} input"
        ),
        twins=(Twin("torchvision", f"efficientnet_{variant}", _torchvision_rules(B0_TABLE)),),
        deviations=tuple(deviations),
    )


def _published(variant: str) -> dict:
    kwargs = asdict(PUBLISHED[variant])
    if variant in ("b5", "b6", "b7"):  # torchvision ports these from TF with its settings
        kwargs.update(norm_eps=1e-3, norm_momentum=0.01)
    return kwargs


# efficientnet_b0 .. efficientnet_b7 (5.3M .. 66.3M params, 0.39G .. 37.75G MACs measured)
for _variant in PUBLISHED:
    register_variant(_card(_variant), EfficientNet, B0_TABLE, **_published(_variant))
