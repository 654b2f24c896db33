"""Xception: Inception taken to the extreme, with depthwise separable convolutions.

Chollet (2016). Xception: Deep Learning with Depthwise Separable Convolutions.
arXiv:1610.02357. Figure 5 (entry flow, middle flow repeated 8 times, exit
flow; every convolution is followed by batch norm) and Table 3 (22,855,952
parameters). Figure 4 is the argument: an Inception module whose 1x1 conv feeds
one spatial conv per output channel *is* a depthwise separable convolution, so
a network of them is a linear stack of "extreme" Inception modules with
residual connections.

Each block is ReLU -> separable conv -> BN, two or three times, plus a 1x1
stride-2 projection shortcut where the width or grid changes (entry flow,
start of the exit flow). The separable convs have nothing between their
depthwise and pointwise steps (section 4.7 finds that better than a ReLU).

``xception`` is timm's ``legacy_xception`` (the Keras port), its twin.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from convzoo.blocks.conv import ConvNormAct
from convzoo.blocks.head import ClassifierHead
from convzoo.blocks.mobile import DepthwiseSeparableConv
from convzoo.models.base import ConvNet, FeatureInfo, init_weights_like_torchvision
from convzoo.registry import Accuracy, ModelCard, Paper, Recipe, Reported, Schedule, Twin, register

__all__ = ["Xception", "XceptionBlockRow"]


@dataclass(frozen=True)
class XceptionBlockRow:
    """One residual block of Figure 5."""

    index: int  # the block's number in the network, 1..12
    out_channels: int
    reps: int  # separable convs in the block
    stride: int  # 2: a 3x3/2 max-pool at the end, and a 1x1/2 shortcut
    start_with_relu: bool = True  # the first block follows the stem's ReLU already
    grow_first: bool = True  # widen at the first separable conv (else at the last)


# Figure 5: entry flow, middle flow (8x the same block), start of the exit flow.
ENTRY_FLOW = (
    XceptionBlockRow(index=1, out_channels=128, reps=2, stride=2, start_with_relu=False),
    XceptionBlockRow(index=2, out_channels=256, reps=2, stride=2),
    XceptionBlockRow(index=3, out_channels=728, reps=2, stride=2),
)
MIDDLE_FLOW = tuple(
    XceptionBlockRow(index=i, out_channels=728, reps=3, stride=1) for i in range(4, 12)
)
EXIT_FLOW = (XceptionBlockRow(index=12, out_channels=1024, reps=2, stride=2, grow_first=False),)
EXIT_WIDTHS = (1536, 2048)  # the two separable convs (with ReLU) after block 12


def separable(in_channels: int, out_channels: int, *, act: bool) -> DepthwiseSeparableConv:
    """Xception's separable conv: depthwise 3x3 -> pointwise 1x1 -> BN (-> ReLU)."""
    return DepthwiseSeparableConv(
        in_channels, out_channels, 3, mid_norm=None, mid_act=None, act=nn.ReLU if act else None
    )


class XceptionBlock(nn.Module):
    """``body(x) + shortcut(x)``; the body starts with ReLU, so the sum stays pre-activation."""

    def __init__(self, in_channels: int, row: XceptionBlockRow) -> None:
        super().__init__()
        self.body = nn.Sequential()
        for i in range(1, row.reps + 1):
            last = i == row.reps
            width_in = in_channels if (i == 1 or not row.grow_first) else row.out_channels
            width_out = row.out_channels if (row.grow_first or last) else in_channels
            if i > 1 or row.start_with_relu:
                # not in place for the first: the block's input also feeds the shortcut
                self.body.add_module(f"act{i}", nn.ReLU(inplace=i > 1))
            self.body.add_module(f"sepconv{i}", separable(width_in, width_out, act=False))
        if row.stride > 1:
            self.body.add_module("pool", nn.MaxPool2d(3, stride=row.stride, padding=1))
        self.shortcut: nn.Module = nn.Identity()
        if row.stride > 1 or in_channels != row.out_channels:
            self.shortcut = ConvNormAct(
                in_channels, row.out_channels, 1, stride=row.stride, padding=0, act=None
            )
        self.out_channels = row.out_channels

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x) + self.shortcut(x)


class Xception(ConvNet):
    """Stem, entry flow (stride 16), middle flow, exit flow (stride 32), average pool, fc."""

    def __init__(
        self,
        config: tuple[tuple[XceptionBlockRow, ...], ...],
        *,
        num_classes: int = 1000,
        in_channels: int = 3,
        dropout: float = 0.5,
    ) -> None:
        # min 7: the stem's two unpadded 3x3 convs; later pools are padded
        super().__init__(in_channels, num_classes, default_input_size=(299, 299), min_input_size=7)
        self.stem = nn.Sequential()
        self.stem.add_module("conv1", ConvNormAct(in_channels, 32, 3, stride=2, padding=0))
        self.stem.add_module("conv2", ConvNormAct(32, 64, 3, padding=0))  # 147x147x64
        self.feature_info = [FeatureInfo("stem", 64, 2)]
        self.stages = nn.Sequential()
        channels, stride = 64, 2
        for flow, rows in zip(("entry_flow", "middle_flow", "exit_flow"), config, strict=True):
            stage = nn.Sequential()
            for row in rows:
                stage.add_module(f"block{row.index}", XceptionBlock(channels, row))
                channels, stride = row.out_channels, stride * row.stride  # 3x3/2 pool
            if flow == "exit_flow":
                for i, width in enumerate(EXIT_WIDTHS, start=3):
                    stage.add_module(f"conv{i}", separable(channels, width, act=True))
                    channels = width
            self.stages.add_module(flow, stage)
            self.feature_info.append(FeatureInfo(flow, channels, stride))
        self.head = ClassifierHead(channels, num_classes, dropout=dropout)  # (N, 2048, 10, 10)
        init_weights_like_torchvision(self)


def _timm_rules() -> tuple:
    """timm's block ``rep`` is flat: [ReLU,] SepConv, BN, ReLU, SepConv, BN, ... [, MaxPool]."""
    flows = {1: "entry_flow", 2: "entry_flow", 3: "entry_flow", 12: "exit_flow"}

    def block(b: str) -> str:
        return f"stages.{flows.get(int(b), 'middle_flow')}.block{b}"

    def sepconv(b: str, j: str, bn: bool) -> str:
        first = 0 if b == "1" else 1  # block 1 has no leading ReLU
        return f"{block(b)}.body.sepconv{(int(j) - first - bn) // 3 + 1}"

    return (
        (
            r"^block(\d+)\.rep\.(\d+)\.conv1\.",
            lambda m: f"{sepconv(m[1], m[2], False)}.depthwise.conv.",
        ),
        (
            r"^block(\d+)\.rep\.(\d+)\.pointwise\.",
            lambda m: f"{sepconv(m[1], m[2], False)}.pointwise.conv.",
        ),
        (r"^block(\d+)\.rep\.(\d+)\.", lambda m: f"{sepconv(m[1], m[2], True)}.pointwise.norm."),
        (r"^block(\d+)\.skip\.", lambda m: f"{block(m[1])}.shortcut.conv."),
        (r"^block(\d+)\.skipbn\.", lambda m: f"{block(m[1])}.shortcut.norm."),
        (r"^conv([12])\.", r"stem.conv\1.conv."),
        (r"^bn([12])\.", r"stem.conv\1.norm."),
        (r"^conv([34])\.conv1\.", r"stages.exit_flow.conv\1.depthwise.conv."),
        (r"^conv([34])\.pointwise\.", r"stages.exit_flow.conv\1.pointwise.conv."),
        (r"^bn([34])\.", r"stages.exit_flow.conv\1.pointwise.norm."),
        (r"^fc\.", "head.fc."),
    )


PAPER = Paper(
    title="Xception: Deep Learning with Depthwise Separable Convolutions",
    authors="Chollet",
    year=2016,
    arxiv="1610.02357",
)
# Sections 4.2-4.4 (ImageNet optimization, regularization, training infrastructure).
RECIPE = Recipe(
    source="Sections 4.2-4.4",
    optimizer="sgd",
    lr=0.045,
    momentum=0.9,
    schedule=Schedule("exponential", factor=0.94, every=2),
    weight_decay=1e-5,
    dropout=0.5,  # before the logistic regression layer
    notes=(
        "Inception V3's configuration, not tuned for Xception; no auxiliary tower",
        "synchronous data-parallel training on 60 K80 GPUs, about 3 days",
    ),
    not_stated=("batch_size", "epochs", "init"),
)


@register(
    ModelCard(
        name="xception",
        family="xception",
        paper=PAPER,
        table="Figure 5 (entry, middle, exit flow) and Table 3",
        key_ideas=(
            "An Inception module with one spatial conv per 1x1 output channel is a depthwise "
            "separable convolution: map cross-channel and spatial correlations separately.",
            "36 separable conv layers in 14 modules, all but the first and last with linear "
            "residual connections: as easy to modify as VGG or ResNet.",
            "Same parameter count as Inception-v3 (22.9M vs 23.6M) but better ImageNet "
            "accuracy: the gain comes from using parameters more efficiently.",
            "No non-linearity between the depthwise and pointwise steps works best.",
        ),
        input_size=(3, 299, 299),
        paper_params=Reported("22,855,952"),  # Table 3
        recipe=RECIPE,
        accuracy=Accuracy(
            top1=79.0, top5=94.5, source="Table 1", protocol="single crop, single model"
        ),
        twins=(Twin("timm", "legacy_xception", _timm_rules()),),
        deviations=("dropout 0.5 before the classifier as in section 4.3 (timm has none)",),
    )
)
def xception(**overrides) -> Xception:  # 22.86M params, 8.40G MACs
    return Xception((ENTRY_FLOW, MIDDLE_FLOW, EXIT_FLOW), **overrides)
