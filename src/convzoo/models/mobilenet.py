"""MobileNet v1 and v2: networks built from depthwise separable convolutions.

Howard, Zhu, Chen, Kalenichenko, Wang, Weyand, Andreetto, Adam (2017). MobileNets:
Efficient Convolutional Neural Networks for Mobile Vision Applications.
arXiv:1704.04861. Table 1 is the body; the width multiplier alpha thins every
layer (Table 6: 1.0, 0.75, 0.5, 0.25 -> 4.2M, 2.6M, 1.3M, 0.5M params and 569M,
325M, 149M, 41M mult-adds) and the resolution multiplier rho shrinks the input
(Table 7: 224, 192, 160, 128 px -> 569M, 418M, 290M, 186M mult-adds).

Sandler, Howard, Zhu, Zhmoginov, Chen (2018). MobileNetV2: Inverted Residuals and
Linear Bottlenecks. arXiv:1801.04381. Table 2 is the body (rows t, c, n, s);
Table 4 gives 3.4M params / 300M mult-adds (72.0% top-1) and, at width 1.4,
6.9M / 585M (74.7%).

Deviations: v1's Table 1 prints the last depthwise layer as "s2" although its
input and output are both 7x7; it has stride 1 here (as in every implementation).
v1 channel counts under alpha follow the authors' reference code
(``max(int(alpha * c), 8)``); v2's follow its paper (rounded to multiples of 8,
the last 1x1 conv never thinner than 1280).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from convzoo.blocks.conv import ConvNormAct, make_divisible
from convzoo.blocks.head import ClassifierHead
from convzoo.blocks.mobile import (
    ConvHead,
    DepthwiseSeparableConv,
    InvertedResidualRow,
    inverted_residual_stage,
)
from convzoo.models.base import (
    ConvNet,
    FeatureInfo,
    init_weights_like_torchvision,
    register_variant,
    short_run_default,
)
from convzoo.registry import Accuracy, ModelCard, Paper, Recipe, Reported, Schedule, Twin

__all__ = ["MobileNetV1", "MobileNetV2", "SeparableRow", "input_resolution", "thin_channels"]


# -- MobileNet v1 -------------------------------------------------------------


@dataclass(frozen=True)
class SeparableRow:
    """A "Conv dw / s" + "Conv / s1 (1x1)" pair of lines in Table 1."""

    stride: int
    out_channels: int
    repeats: int = 1  # Table 1's "5x"

    def __post_init__(self) -> None:
        if self.stride not in (1, 2) or self.out_channels < 1 or self.repeats < 1:
            raise ValueError(f"SeparableRow needs stride 1|2, channels and repeats >= 1: {self}")


V1_STEM_CHANNELS = 32  # Table 1, first line: Conv / s2, 3x3x3x32

# Table 1 (MobileNet body); every stride-2 row starts a new stage.
V1_BODY = (
    SeparableRow(stride=1, out_channels=64),
    SeparableRow(stride=2, out_channels=128),
    SeparableRow(stride=1, out_channels=128),
    SeparableRow(stride=2, out_channels=256),
    SeparableRow(stride=1, out_channels=256),
    SeparableRow(stride=2, out_channels=512),
    SeparableRow(stride=1, out_channels=512, repeats=5),
    SeparableRow(stride=2, out_channels=1024),
    SeparableRow(stride=1, out_channels=1024),  # printed "s2"; 7x7 in and out means s1
)


def thin_channels(channels: int, width_mult: float, *, min_channels: int = 8) -> int:
    """The width multiplier alpha: ``alpha * channels`` (section 4.2), at least `min_channels`."""
    if width_mult <= 0:
        raise ValueError(f"width_mult must be > 0, got {width_mult}")
    return max(int(channels * width_mult), min_channels)


def input_resolution(resolution_mult: float, *, base: int = 224) -> int:
    """The resolution multiplier rho: input side ``rho * 224`` (section 4.3)."""
    if resolution_mult <= 0:
        raise ValueError(f"resolution_mult must be > 0, got {resolution_mult}")
    return round(base * resolution_mult)


class MobileNetV1(ConvNet):
    """Table 1: a strided 3x3 conv, 13 depthwise separable layers, average pool, FC.

    Stages ``stage1``..``stage5`` group the separable layers by output resolution
    (112, 56, 28, 14, 7 at 224 px).
    """

    def __init__(
        self,
        config: tuple[SeparableRow, ...],
        *,
        width_mult: float = 1.0,
        resolution_mult: float = 1.0,
        num_classes: int = 1000,
        in_channels: int = 3,
        dropout: float = 0.0,
    ) -> None:
        side = input_resolution(resolution_mult)
        super().__init__(
            in_channels, num_classes, default_input_size=(side, side), min_input_size=32
        )
        self.width_mult = width_mult
        self.resolution_mult = resolution_mult
        channels = thin_channels(V1_STEM_CHANNELS, width_mult)
        self.stem = ConvNormAct(in_channels, channels, 3, stride=2)  # (N, 32a, H/2, W/2)
        self.feature_info = [FeatureInfo("stem", channels, 2)]
        stages: list[list[nn.Module]] = []
        stride = 2
        for row in config:
            for repeat in range(row.repeats):
                block_stride = row.stride if repeat == 0 else 1
                if block_stride == 2 or not stages:
                    stages.append([])
                out_channels = thin_channels(row.out_channels, width_mult)
                stages[-1].append(
                    DepthwiseSeparableConv(channels, out_channels, 3, stride=block_stride)
                )
                channels = out_channels
        self.stages = nn.Sequential()
        for index, blocks in enumerate(stages, start=1):
            stride *= blocks[0].depthwise.conv.stride[0]
            self.stages.add_module(f"stage{index}", nn.Sequential(*blocks))
            self.feature_info.append(FeatureInfo(f"stage{index}", blocks[-1].out_channels, stride))
        self.head = ClassifierHead(channels, num_classes, dropout=dropout)  # (N, 1024a) -> classes
        init_weights_like_torchvision(self)


# -- MobileNet v2 -------------------------------------------------------------


V2_STEM_CHANNELS = 32  # Table 2, first row: conv2d, 32 channels, s2
V2_HEAD_CHANNELS = 1280  # Table 2, "conv2d 1x1" row after the bottlenecks

# Table 2 (MobileNetV2 body), the "bottleneck" lines: t, c, n, s (3x3 depthwise).
V2_BODY = (
    InvertedResidualRow(expand_ratio=1, out_channels=16, repeats=1, stride=1),
    InvertedResidualRow(expand_ratio=6, out_channels=24, repeats=2, stride=2),
    InvertedResidualRow(expand_ratio=6, out_channels=32, repeats=3, stride=2),
    InvertedResidualRow(expand_ratio=6, out_channels=64, repeats=4, stride=2),
    InvertedResidualRow(expand_ratio=6, out_channels=96, repeats=3, stride=1),
    InvertedResidualRow(expand_ratio=6, out_channels=160, repeats=3, stride=2),
    InvertedResidualRow(expand_ratio=6, out_channels=320, repeats=1, stride=1),
)


class MobileNetV2(ConvNet):
    """Table 2: a strided 3x3 conv, 17 inverted residuals in 7 rows, a 1x1 conv, pool, FC.

    Stages ``bottleneck1``..``bottleneck7`` are the table's rows; the final 1x1
    conv to 1280 channels belongs to the head (``head.conv``).
    """

    def __init__(
        self,
        config: tuple[InvertedResidualRow, ...],
        *,
        width_mult: float = 1.0,
        num_classes: int = 1000,
        in_channels: int = 3,
        dropout: float = 0.2,
    ) -> None:
        super().__init__(in_channels, num_classes, default_input_size=(224, 224), min_input_size=32)
        if width_mult <= 0:
            raise ValueError(f"width_mult must be > 0, got {width_mult}")
        self.width_mult = width_mult
        channels = make_divisible(V2_STEM_CHANNELS * width_mult)
        self.stem = ConvNormAct(in_channels, channels, 3, stride=2, act=nn.ReLU6)  # H/2
        self.feature_info = [FeatureInfo("stem", channels, 2)]
        self.stages = nn.Sequential()
        stride = 2
        for index, row in enumerate(config, start=1):
            out_channels = make_divisible(row.out_channels * width_mult)
            stage = inverted_residual_stage(row, channels, out_channels, act=nn.ReLU6)
            channels, stride = out_channels, stride * row.stride
            self.stages.add_module(f"bottleneck{index}", stage)
            self.feature_info.append(FeatureInfo(f"bottleneck{index}", channels, stride))
        # "we apply width multiplier to all layers except the very last convolutional layer"
        # (section 6.1) for multipliers below one
        head_channels = make_divisible(V2_HEAD_CHANNELS * max(1.0, width_mult))
        self.head = ConvHead(channels, head_channels, num_classes, dropout=dropout, act=nn.ReLU6)
        init_weights_like_torchvision(self)


# -- twins ----------------------------------------------------------------------


def _timm_v1_rules() -> tuple:
    return (
        (r"^blocks\.(\d+)\.", lambda m: f"stages.stage{int(m[1]) + 1}."),
        (r"\.conv_dw\.", ".depthwise.conv."),
        (r"\.bn1\.", ".depthwise.norm."),
        (r"\.conv_pw\.", ".pointwise.conv."),
        (r"\.bn2\.", ".pointwise.norm."),
        (r"^conv_stem\.", "stem.conv."),
        (r"^bn1\.", "stem.norm."),
        (r"^classifier\.", "head.fc."),
    )


def _torchvision_v2_rules(config: tuple[InvertedResidualRow, ...]) -> tuple:
    """torchvision numbers `features` flatly: stem, the 17 blocks, the last 1x1 conv."""
    rules = [(r"^features\.0\.0\.", "stem.conv."), (r"^features\.0\.1\.", "stem.norm.")]
    index = 1
    for stage, row in enumerate(config, start=1):
        # each block's `conv` holds [expand,] depthwise (conv + norm each), then the
        # projection's bare conv and batch norm as two separate entries
        normed = ("depthwise",) if row.expand_ratio == 1 else ("expand", "depthwise")
        for block in range(row.repeats):
            ours = f"stages.bottleneck{stage}.{block}"
            theirs = rf"^features\.{index}\.conv"
            for position, part in enumerate(normed):
                rules.append((rf"{theirs}\.{position}\.0\.", f"{ours}.{part}.conv."))
                rules.append((rf"{theirs}\.{position}\.1\.", f"{ours}.{part}.norm."))
            rules.append((rf"{theirs}\.{len(normed)}\.", f"{ours}.project.conv."))
            rules.append((rf"{theirs}\.{len(normed) + 1}\.", f"{ours}.project.norm."))
            index += 1
    rules += [
        (rf"^features\.{index}\.0\.", "head.conv.conv."),
        (rf"^features\.{index}\.1\.", "head.conv.norm."),
        (r"^classifier\.1\.", "head.fc."),
    ]
    return tuple(rules)


# -- cards and builders ---------------------------------------------------------

_V1_IDEAS = (
    "Depthwise separable convolution: a per-channel k x k filter then a 1x1 mix costs "
    "1/N + 1/k^2 of a standard convolution, 8-9x less with 3x3 kernels.",
    "Two global knobs trade accuracy for cost: the width multiplier alpha scales cost by "
    "about alpha^2, the resolution multiplier rho by rho^2.",
    "95% of the mult-adds sit in 1x1 convolutions, which map onto fast matrix products.",
)

_V2_IDEAS = (
    "Inverted residual: expand the narrow input t-fold with a 1x1, filter depthwise, and "
    "project back; the shortcut joins the narrow bottlenecks.",
    "Linear bottleneck: no activation after the projection, since ReLU on a low-dimensional "
    "representation loses information.",
    "ReLU6 (robust in low-precision arithmetic); stride-2 blocks and blocks that change "
    "width have no shortcut.",
)


PAPER_V1 = Paper(
    title="MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications",
    authors="Howard, Zhu, Chen, Kalenichenko, Wang, Weyand, Andreetto, Adam",
    year=2017,
    arxiv="1704.04861",
)
PAPER_V2 = Paper(
    title="MobileNetV2: Inverted Residuals and Linear Bottlenecks",
    authors="Sandler, Howard, Zhu, Zhmoginov, Chen",
    year=2018,
    arxiv="1801.04381",
)
# V1, Section 3.2: the same parameters for every width, none of them printed.
RECIPE_V1 = Recipe(
    source="Section 3.2",
    optimizer="rmsprop",
    augmentation="Inception's distortions with fewer small crops; no label smoothing or side heads",
    notes=(
        "asynchronous gradient descent, as Inception V3",
        "very little or no weight decay on the depthwise filters",
    ),
    not_stated=("lr", "batch_size", "schedule", "epochs", "momentum", "weight_decay", "init"),
)
# V2, Section 6.1 (the learning rate and its decay follow V1's setup).
RECIPE_V2 = Recipe(
    source="Section 6.1",
    optimizer="rmsprop",
    lr=0.045,
    batch_size=96,
    rmsprop_decay=0.9,
    momentum=0.9,
    weight_decay=4e-5,
    schedule=Schedule("exponential", factor=0.98, every=1),
    notes=("16 asynchronous GPU workers; batch norm after every layer",),
    not_stated=("epochs", "init"),
)
_V1_PROTOCOL = "224x224 input; the paper states no crop protocol"


def _v1_card(name: str, alpha: str, params: str, macs: str, top1: float) -> ModelCard:
    twins = ()
    if alpha == "1.0":
        twins = (Twin("timm", "mobilenetv1_100", _timm_v1_rules(), kwargs={"act_layer": "relu"}),)
    return ModelCard(
        name=name,
        family="mobilenet",
        paper=PAPER_V1,
        table=f"Table 1 with width multiplier {alpha} (Table 6)",
        key_ideas=_V1_IDEAS,
        input_size=(3, 224, 224),
        paper_params=Reported(params),
        paper_macs=Reported(macs),
        recipe=RECIPE_V1,
        **short_run_default(5e-4, paper="asynchronous RMSProp"),
        accuracy=Accuracy(top1=top1, source="Table 6", protocol=_V1_PROTOCOL),
        twins=twins,
        deviations=(
            "last depthwise conv has stride 1 (Table 1 prints s2 on a 7x7 -> 7x7 layer)",
            "twin: timm's mobilenetv1_100 uses ReLU6; with act_layer='relu' it is the paper's net",
        ),
    )


def _v2_card(
    name: str, width: str, params: str | None, macs: str | None, top1: float | None
) -> ModelCard:
    kwargs = {} if width == "1.0" else {"width_mult": float(width)}
    deviations = []
    if width == "1.0":
        deviations.append(
            "paper prints 3.4M params and 300M mult-adds; the network has 3,504,872 params "
            "(3,470,760 without batch-norm parameters) and 300.8M mult-adds (299.5M without "
            "the classifier)"
        )
    if width == "1.4":
        deviations.append(
            "paper Table 4 prints 6.9M params and 585M mult-adds for width 1.4; this network "
            "(torchvision's with width_mult=1.4) has 6,108,776 params and 582.2M mult-adds"
        )
    return ModelCard(
        name=name,
        family="mobilenet",
        paper=PAPER_V2,
        table=f"Table 2 with width multiplier {width}"
        + (" (Table 4)" if params is not None else " (Figure 5; no printed counts)"),
        key_ideas=_V2_IDEAS,
        input_size=(3, 224, 224),
        paper_params=Reported(params) if params else None,
        paper_macs=Reported(macs) if macs else None,
        recipe=RECIPE_V2,
        **short_run_default(5e-4, paper="RMSProp at batch 96"),
        accuracy=None
        if top1 is None
        else Accuracy(top1=top1, source="Table 4", protocol="224x224 input"),
        accuracy_note="only plotted in Figure 5; no printed number" if top1 is None else None,
        twins=(Twin("torchvision", "mobilenet_v2", _torchvision_v2_rules(V2_BODY), kwargs=kwargs),),
        deviations=tuple(deviations),
    )


# Table 6 (v1) and Table 4 / Figure 5 (v2): name, width multiplier, the paper's params,
# multiply-adds and top-1; each registered as its network at that width.
_V1_ROWS = (
    ("mobilenet_v1", "1.0", "4.2M", "569M", 70.6),  # 4.23M params, 579M MACs (569M w/o the FC)
    ("mobilenet_v1_075", "0.75", "2.6M", "325M", 68.4),  # 2.59M params
    ("mobilenet_v1_050", "0.5", "1.3M", "149M", 63.7),  # 1.33M params
    ("mobilenet_v1_025", "0.25", "0.5M", "41M", 50.6),  # 0.47M params
)
_V2_ROWS = (
    ("mobilenet_v2", "1.0", "3.4M", "300M", 72.0),  # 3.50M params, 301M MACs
    ("mobilenet_v2_140", "1.4", "6.9M", "585M", 74.7),  # 6.11M params
    ("mobilenet_v2_075", "0.75", None, None, None),
    ("mobilenet_v2_050", "0.5", None, None, None),
    ("mobilenet_v2_035", "0.35", None, None, None),
)
for _card, _model, _body, _rows in (
    (_v1_card, MobileNetV1, V1_BODY, _V1_ROWS),
    (_v2_card, MobileNetV2, V2_BODY, _V2_ROWS),
):
    for _name, _alpha, *_reported in _rows:
        _width = {} if _alpha == "1.0" else {"width_mult": float(_alpha)}
        register_variant(_card(_name, _alpha, *_reported), _model, _body, **_width)
