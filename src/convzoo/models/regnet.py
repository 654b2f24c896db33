"""AnyNet and RegNet: networks described by a few numbers per stage.

Radosavovic, Kosaraju, Girshick, He, Dollár (2020). Designing Network Design
Spaces. arXiv:2003.13678.

AnyNet (Section 3.1, Fig. 3-4): a stem (3x3/2 conv, 32 channels), a body of
four stages and a head (global average pool, fully connected). Stage i has
depth d_i, width w_i, bottleneck ratio b_i and group width g_i; its blocks are
"X blocks": a residual bottleneck 1x1 -> 3x3 group conv -> 1x1 whose inner width
is w_i / b_i split into groups of g_i channels; the first block of every stage
has stride 2 and a projection shortcut. The Y block (Section 5) adds
squeeze-and-excitation after the 3x3 conv, its bottleneck 1/4 of the block's
input width.

RegNet (Section 3.3, Eq. 2-4): per-block widths follow a line u_j = w0 + wa*j,
quantized to powers of wm: s_j = round(log(u_j / w0) / log(wm)),
w_j = w0 * wm**s_j rounded to a multiple of 8; blocks of equal width form a
stage. `regnet_stages` implements the rule; `RegNetParams` rows carry the
(d, w0, wa, wm, g) of the appendix's top RegNetX/RegNetY models together with
the per-stage depths and widths they give, and the params/flops printed there
(the paper's "flops" are multiply-adds).

Deviations: none. ``rounding="torchvision"`` builds torchvision's variant, which
rounds a width half-way between two multiples of the group width up (392 -> 400
in RegNetX-400MF's last stage) where the paper's code rounds to even (-> 384).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from torch import nn

from convzoo.blocks.conv import ConvNormAct, make_divisible
from convzoo.blocks.head import ClassifierHead
from convzoo.blocks.residual import Bottleneck
from convzoo.models.base import (
    ConvNet,
    FeatureInfo,
    init_weights_like_torchvision,
    register_variant,
    short_run_default,
)
from convzoo.registry import ModelCard, Paper, Recipe, Reported, Schedule, Twin

__all__ = ["AnyNet", "AnyNetConfig", "AnyNetStage", "RegNetParams", "anynet_block", "regnet_stages"]

WIDTH_QUANTUM = 8  # Eq. 4: block widths are multiples of 8


@dataclass(frozen=True)
class AnyNetStage:
    """One stage of Fig. 3: d_i blocks of width w_i, bottleneck ratio b_i, group width g_i."""

    depth: int
    width: int
    bottleneck_ratio: float = 1.0  # inner width = width / bottleneck_ratio
    group_width: int = 1

    def __post_init__(self) -> None:
        inner = self.width / self.bottleneck_ratio
        if self.depth < 1 or self.width < 1 or self.group_width < 1 or inner != int(inner):
            raise ValueError(
                f"AnyNetStage needs depth, width, group_width >= 1 and width divisible by "
                f"bottleneck_ratio, got {self}"
            )
        if int(inner) % self.group_width:
            raise ValueError(
                f"inner width {int(inner)} (width {self.width} / b {self.bottleneck_ratio}) "
                f"is not a multiple of group_width {self.group_width}"
            )

    @property
    def inner_width(self) -> int:
        return int(self.width / self.bottleneck_ratio)


@dataclass(frozen=True)
class AnyNetConfig:
    """A whole AnyNet: the stages of its body, SE ratio (0 for X blocks) and stem width."""

    stages: tuple[AnyNetStage, ...]
    se_ratio: float = 0.0  # Y block: 0.25
    stem_width: int = 32

    def __post_init__(self) -> None:
        if not self.stages or not 0.0 <= self.se_ratio < 1.0 or self.stem_width < 1:
            raise ValueError(f"AnyNetConfig needs >= 1 stage and 0 <= se_ratio < 1, got {self}")


def quantize(value: float, multiple: int) -> int:
    """The nearest multiple, halves to even (Python's `round`, as in the paper's code)."""
    return int(round(value / multiple) * multiple)


def regnet_stages(
    *,
    depth: int,
    w0: int,
    wa: float,
    wm: float,
    group_width: int,
    bottleneck_ratio: float = 1.0,
    rounding: str = "paper",
) -> tuple[AnyNetStage, ...]:
    """Section 3.3, Eq. 2-4: (d, w0, wa, wm, g, b) -> the stages of a RegNet.

    Blocks of equal quantized width form one stage. The bottleneck (inner) width
    is then made a multiple of the group width (the group width is capped at the
    inner width): ``rounding="paper"`` rounds to the nearest multiple with halves
    to even, ``"torchvision"`` rounds halves up and never goes below 90%.
    """
    if depth < 1 or w0 < 1 or wa < 0 or wm <= 1 or group_width < 1 or w0 % WIDTH_QUANTUM:
        raise ValueError(
            f"RegNet needs depth >= 1, w0 a positive multiple of {WIDTH_QUANTUM}, wa >= 0, "
            f"wm > 1, group_width >= 1; got d={depth}, w0={w0}, wa={wa}, wm={wm}, "
            f"g={group_width}"
        )
    if rounding not in ("paper", "torchvision"):
        raise ValueError(f"rounding must be 'paper' or 'torchvision', got {rounding!r}")
    widths: list[int] = []
    for j in range(depth):
        u = w0 + wa * j  # Eq. 2: the linear widths
        s = round(math.log(u / w0) / math.log(wm))  # Eq. 3
        widths.append(quantize(w0 * wm**s, WIDTH_QUANTUM))  # Eq. 4
    stages: list[AnyNetStage] = []
    for width in dict.fromkeys(widths):  # distinct widths in order; they never decrease
        inner = int(width / bottleneck_ratio)
        g = min(group_width, inner)
        inner = quantize(inner, g) if rounding == "paper" else make_divisible(inner, g)
        stages.append(
            AnyNetStage(
                depth=widths.count(width),
                width=int(inner * bottleneck_ratio),
                bottleneck_ratio=bottleneck_ratio,
                group_width=g,
            )
        )
    return tuple(stages)


@dataclass(frozen=True)
class RegNetParams:
    """A row of the appendix's top-model tables: the RegNet parameters and what they give.

    ``stage_depths``/``stage_widths`` are the per-stage numbers the rule yields with
    the paper's rounding; they are checked when the row is built.
    """

    depth: int
    w0: int
    wa: float
    wm: float
    group_width: int
    stage_depths: tuple[int, ...]
    stage_widths: tuple[int, ...]
    se_ratio: float = 0.0
    bottleneck_ratio: float = 1.0

    def __post_init__(self) -> None:
        stages = self.config("paper").stages
        got = (tuple(s.depth for s in stages), tuple(s.width for s in stages))
        if got != (self.stage_depths, self.stage_widths):
            raise ValueError(
                f"RegNet rule gives depths {got[0]}, widths {got[1]}; the row says "
                f"{self.stage_depths}, {self.stage_widths}"
            )

    def config(self, rounding: str = "paper") -> AnyNetConfig:
        """The AnyNet these parameters describe (stages from `regnet_stages`)."""
        stages = regnet_stages(
            depth=self.depth, w0=self.w0, wa=self.wa, wm=self.wm, group_width=self.group_width,
            bottleneck_ratio=self.bottleneck_ratio, rounding=rounding,
        )  # fmt: skip
        return AnyNetConfig(stages=stages, se_ratio=self.se_ratio)


# Appendix, top RegNetX models (b = 1, no SE) and top RegNetY models (the same rule with
# Y blocks, SE ratio 0.25). Columns: d, w0, wa, wm, g, then the stage depths and widths
# they give (checked when the row is built), then the SE ratio.
Y_SE = 0.25
REGNETX_200MF = RegNetParams(13, 24, 36.44, 2.49, 8, (1, 1, 4, 7), (24, 56, 152, 368))
REGNETX_400MF = RegNetParams(22, 24, 24.48, 2.54, 16, (1, 2, 7, 12), (32, 64, 160, 384))
REGNETX_800MF = RegNetParams(16, 56, 35.73, 2.28, 16, (1, 3, 7, 5), (64, 128, 288, 672))
REGNETX_1_6GF = RegNetParams(18, 80, 34.01, 2.25, 24, (2, 4, 10, 2), (72, 168, 408, 912))
REGNETY_200MF = RegNetParams(13, 24, 36.44, 2.49, 8, (1, 1, 4, 7), (24, 56, 152, 368), Y_SE)
REGNETY_400MF = RegNetParams(16, 48, 27.89, 2.09, 8, (1, 3, 6, 6), (48, 104, 208, 440), Y_SE)
REGNETY_800MF = RegNetParams(14, 56, 38.84, 2.4, 16, (1, 3, 8, 2), (64, 128, 320, 768), Y_SE)
REGNETY_1_6GF = RegNetParams(27, 48, 20.71, 2.65, 24, (2, 6, 17, 2), (48, 120, 336, 888), Y_SE)


def anynet_block(
    in_channels: int,
    out_channels: int,
    *,
    stride: int,
    bottleneck_ratio: float,
    group_width: int,
    se_ratio: float,
) -> Bottleneck:
    """X block (Fig. 4): a residual bottleneck 1x1 -> 3x3 (groups of `group_width`) -> 1x1
    with a projection where the shape changes; the Y block adds SE after the 3x3, its
    squeeze sized from the block's input width."""
    inner = int(out_channels / bottleneck_ratio)
    return Bottleneck(
        in_channels,
        out_channels,
        stride=stride,
        width=inner,
        groups=inner // group_width,
        se_at="3x3",
        se_channels=round(se_ratio * in_channels),
    )


class AnyNet(ConvNet):
    """Stem (3x3/2) -> ``stage1``.. (first block stride 2) -> pool -> ``head.fc``."""

    def __init__(
        self,
        config: AnyNetConfig | RegNetParams,
        *,
        num_classes: int = 1000,
        in_channels: int = 3,
        rounding: str = "paper",
        dropout: float = 0.0,
    ) -> None:
        if isinstance(config, RegNetParams):
            config = config.config(rounding)
        elif rounding != "paper":
            raise ValueError("rounding applies to RegNet parameters, not to an AnyNetConfig")
        total_stride = 2 ** (len(config.stages) + 1)
        super().__init__(
            in_channels, num_classes, default_input_size=(224, 224), min_input_size=total_stride
        )
        self.config = config
        self.stem = ConvNormAct(in_channels, config.stem_width, 3, stride=2)  # H/2
        self.feature_info = [FeatureInfo("stem", config.stem_width, 2)]
        self.stages = nn.Sequential()
        channels, stride = config.stem_width, 2
        for index, row in enumerate(config.stages, start=1):
            stage = nn.Sequential()
            for block in range(1, row.depth + 1):
                stage.add_module(
                    f"block{block}",
                    anynet_block(
                        channels,
                        row.width,
                        stride=2 if block == 1 else 1,  # each stage halves H, W once
                        bottleneck_ratio=row.bottleneck_ratio,
                        group_width=row.group_width,
                        se_ratio=config.se_ratio,
                    ),
                )
                channels = row.width
            stride *= 2
            self.stages.add_module(f"stage{index}", stage)
            self.feature_info.append(FeatureInfo(f"stage{index}", channels, stride))
        self.head = ClassifierHead(channels, num_classes, dropout=dropout)
        init_weights_like_torchvision(self)


TIMM_RULES = (
    (r"^stem\.bn\.", "stem.norm."),
    (r"^s(\d)\.b(\d+)\.", r"stages.stage\1.block\2."),
    (r"\.(conv\d|downsample)\.bn\.", r".\1.norm."),
    (r"\.downsample\.", ".shortcut."),
    (r"\.se\.fc1\.", ".se.reduce."),
    (r"\.se\.fc2\.", ".se.expand."),
)


def _torchvision_block(match: re.Match[str]) -> str:
    """torchvision counts blocks from 0 ("block1-0"), the paper and we from 1."""
    return f"stages.stage{match[1]}.block{int(match[2]) + 1}."


TORCHVISION_RULES = (
    (r"^stem\.0\.", "stem.conv."),
    (r"^stem\.1\.", "stem.norm."),
    (r"^trunk_output\.block(\d)\.block\d-(\d+)\.", _torchvision_block),
    (r"\.proj\.", ".shortcut."),
    (r"\.f\.a\.", ".conv1."),
    (r"\.f\.b\.", ".conv2."),
    (r"\.f\.c\.", ".conv3."),
    (r"\.f\.se\.fc1\.", ".se.reduce."),
    (r"\.f\.se\.fc2\.", ".se.expand."),
    (r"\.(conv\d|shortcut)\.0\.", r".\1.conv."),
    (r"\.(conv\d|shortcut)\.1\.", r".\1.norm."),
    (r"^fc\.", "head.fc."),
)  # fmt: skip


PAPER = Paper(
    title="Designing Network Design Spaces",
    authors="Radosavovic, Kosaraju, Girshick, He, Dollár",
    year=2020,
    arxiv="2003.13678",
)
# Section 5 and Fig. 21 (learning rate and weight decay), as the authors' model zoo
# (pycls) restates them; the lr is for batch 128 and scales linearly with the batch.
RECIPE = Recipe(
    source="Section 5, Fig. 21",
    optimizer="sgd",
    lr=0.1,
    batch_size=128,
    momentum=0.9,
    weight_decay=5e-5,
    schedule=Schedule("cosine"),
    epochs=100,
    augmentation="aspect-ratio crops, flips, PCA lighting; no dropout, AutoAugment or EMA",
    notes=(
        "taken from the authors' restatement in the pycls model zoo, not re-read in "
        "the paper itself",
    ),
    not_stated=("init",),
)


def _card(
    name: str,
    params: str,
    flops: str,
    timm: str,
    tv: str | None = None,
) -> ModelCard:
    """Card for e.g. "regnetx_1_6gf" (RegNetX-1.6GF) with the paper's params and flops."""
    title = f"RegNet{name[6].upper()}-{name[8:].replace('_', '.').upper()}"
    twins = [Twin("timm", timm, TIMM_RULES)]
    if tv:  # torchvision builds the same widths only where no half-way rounding occurs
        twins.append(Twin("torchvision", tv, TORCHVISION_RULES))
    return ModelCard(
        name=name,
        family="regnet",
        paper=PAPER,
        table=f"Appendix, top RegNet{name[6].upper()} models: {title}",
        key_ideas=(
            "Design spaces, not single networks: compare populations of sampled models by "
            "their error distributions (EDFs), and shrink the space while it gets better.",
            "AnyNetX_A to E: sharing b and g across stages costs nothing; requiring widths "
            "and depths to increase from stage to stage improves the whole population.",
            "Good networks' widths follow a quantized linear function of block index: "
            "u_j = w0 + wa*j, snapped to w0 * wm**s_j (a few numbers define the whole network).",
            "The best RegNets use no bottleneck (b = 1) and widths growing about 2.5x per "
            "stage; Y adds squeeze-and-excitation. Trained alike, they rival EfficientNet "
            "at equal flops and run up to 5x faster on GPUs.",
        ),
        input_size=(3, 224, 224),
        paper_params=Reported(params),
        paper_macs=Reported(flops),
        recipe=RECIPE,
        **short_run_default(5e-5, paper="SGD at 0.1 per 128 images"),
        accuracy_note="the appendix's errors for the top RegNets were not verified against the "
        "paper text here",
        twins=tuple(twins),
    )


# The appendix's params and flops; timm's and (where it builds the same widths) torchvision's twin.
for _name, _config, *_card_args in (
    ("regnetx_200mf", REGNETX_200MF, "2.7M", "0.2G", "regnetx_002"),
    ("regnetx_400mf", REGNETX_400MF, "5.2M", "0.4G", "regnetx_004"),
    ("regnetx_800mf", REGNETX_800MF, "7.3M", "0.8G", "regnetx_008", "regnet_x_800mf"),
    ("regnetx_1_6gf", REGNETX_1_6GF, "9.2M", "1.6G", "regnetx_016", "regnet_x_1_6gf"),
    ("regnety_200mf", REGNETY_200MF, "3.2M", "0.2G", "regnety_002"),
    ("regnety_400mf", REGNETY_400MF, "4.3M", "0.4G", "regnety_004", "regnet_y_400mf"),
    ("regnety_800mf", REGNETY_800MF, "6.3M", "0.8G", "regnety_008"),
    ("regnety_1_6gf", REGNETY_1_6GF, "11.2M", "1.6G", "regnety_016", "regnet_y_1_6gf"),
):
    register_variant(_card(_name, *_card_args), AnyNet, _config)
