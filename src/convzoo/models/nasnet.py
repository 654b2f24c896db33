"""NASNet-A: the convolutional cells found by neural architecture search on CIFAR-10,
stacked for ImageNet.

Zoph, Vasudevan, Shlens, Le (2018). Learning Transferable Architectures for Scalable
Image Recognition. arXiv:1707.07012. Figure 2 (the ImageNet stack: a 3x3/2 conv, two
reduction cells, then N normal cells between reduction cells, filters doubling at
each reduction), Figure 4 (the NASNet-A normal and reduction cells), Table 2
(NASNet-A 6@4032: 88.9M parameters, 23.8B mult-adds at 331x331) and Table 3
(NASNet-A 4@1056: 5.3M, 564M at 224x224). "N@F" is N normal cells per stack and F
filters in the penultimate layer (24 times the first stack's filters).

A cell reads the outputs of the two cells before it, h[i-1] and h[i-2]. Each is
first brought to the cell's width ("adjust"): h[i-1] by ReLU-1x1 conv-BN, h[i-2]
the same, or, when a reduction cell lies between them and it has twice the
resolution, by a factorized reduction (two 1x1 convs on the even and on the
one-pixel-shifted odd pixels, concatenated). Then each of five blocks adds two ops
on earlier states (Figure 4, as the tables below), and the cell concatenates the
states listed in its table. Separable convs are ReLU-separable conv-BN applied
twice; ops reading a reduction cell's inputs have stride 2.

What Figure 4 leaves open follows the authors' TensorFlow code
(tensorflow/models, research/slim/nets/nasnet), which timm's ``nasnetalarge``
ports: TF "same" padding (strided layers pad the odd pixel at the end), batch norm
eps 1e-3, the first stem cell reads the stem conv as both inputs (unadjusted as
h[i-2]), and in 6@4032 the cell after each reduction reads the reduction cell's
own h[i-2] (``skip_reduction_layer_input``), in 4@1056 the reduction cell's h[i-1].
``nasnet_a_large`` is timm's ``nasnetalarge``, its twin.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from torch import Tensor, nn

from convzoo.blocks.head import ClassifierHead
from convzoo.blocks.nasnet_cell import NORM, Branch, Cell, CellStage, CellTable
from convzoo.models.base import (
    FeatureInfo,
    FinalNormNet,
    init_weights_like_torchvision,
    short_run_default,
)
from convzoo.registry import Accuracy, ModelCard, Paper, Recipe, Reported, Schedule, Twin, register

__all__ = [
    "NASNET_A_NORMAL",
    "NASNET_A_REDUCTION",
    "Branch",
    "Cell",
    "CellTable",
    "NASNet",
    "NASNetConfig",
]

# -- Figure 4 as data (the cell machinery that reads it: convzoo.blocks.nasnet_cell) --

# Figure 4 names the cell's inputs h_i (the previous cell) and h_{i-1}: "h1" and "h2" here.
# Figure 4, left. h[i-2] joins the output as it is (after the adjust).
NASNET_A_NORMAL = CellTable(
    blocks=(
        (Branch("h1", "sep_5x5"), Branch("h2", "sep_3x3")),
        (Branch("h2", "sep_5x5"), Branch("h2", "sep_3x3")),
        (Branch("h1", "avg_3x3"), Branch("h2", "identity")),
        (Branch("h2", "avg_3x3"), Branch("h2", "avg_3x3")),
        (Branch("h1", "sep_3x3"), Branch("h1", "identity")),
    ),
    concat=("h2", "b0", "b1", "b2", "b3", "b4"),
)
# Figure 4, right. Ops on h1/h2 have stride 2; blocks 3 and 4 read block 0.
NASNET_A_REDUCTION = CellTable(
    blocks=(
        (Branch("h1", "sep_5x5"), Branch("h2", "sep_7x7")),
        (Branch("h1", "max_3x3"), Branch("h2", "sep_7x7")),
        (Branch("h1", "avg_3x3"), Branch("h2", "sep_5x5")),
        (Branch("b1", "identity"), Branch("b0", "avg_3x3")),
        (Branch("b0", "sep_3x3"), Branch("h1", "max_3x3")),
    ),
    concat=("b1", "b2", "b3", "b4"),
)


@dataclass(frozen=True)
class NASNetConfig:
    """One NASNet-A "N@F" of Tables 2 and 3."""

    repeats: int  # N: normal cells per stack
    penultimate_filters: int  # F: 6 concatenated states x 4 (two doublings) x the first width
    stem_filters: int  # the 3x3/2 stem conv
    skip_reduction_input: bool  # the cell after a reduction reads its h[i-2], not its h[i-1]
    input_size: int

    def __post_init__(self) -> None:
        if self.repeats < 1 or self.penultimate_filters % 24 or self.stem_filters < 1:
            raise ValueError(f"NASNetConfig needs N >= 1 and F divisible by 24: {self}")

    @property
    def filters(self) -> int:
        """The width of the first stack of normal cells (Figure 2)."""
        return self.penultimate_filters // 24


@dataclass(frozen=True)
class CellRow:
    name: str  # timm's (and TF's) name of the cell
    kind: str  # "stem" (a reduction cell before the first stack), "reduction" or "normal"
    width: int


def stage_rows(config: NASNetConfig) -> tuple[tuple[str, tuple[CellRow, ...]], ...]:
    """Figure 2 as stages ending at strides 4, 8, 16, 32 (the stem conv is stride 2)."""
    n, f = config.repeats, config.filters

    def normal(first: int, width: int) -> tuple[CellRow, ...]:
        return tuple(CellRow(f"cell_{first + i}", "normal", width) for i in range(n))

    return (
        ("stage1", (CellRow("cell_stem_0", "stem", f // 4),)),
        ("stage2", (CellRow("cell_stem_1", "stem", f // 2), *normal(0, f))),
        ("stage3", (CellRow("reduction_cell_0", "reduction", 2 * f), *normal(n, 2 * f))),
        ("stage4", (CellRow("reduction_cell_1", "reduction", 4 * f), *normal(2 * n, 4 * f))),
    )


class NASNet(FinalNormNet):
    """Stem conv (stride 2), stage1 (a reduction cell), stage2 (a reduction cell and N
    normal cells), stage3 and stage4 (a reduction cell and N normal cells each), ReLU, head.

    Stages hand on two maps (h[i-1], h[i-2]); `feature_info` lists h[i-1], the stage's
    output, un-activated except the last (through ``final``, the ReLU before pooling).
    `drop_path` is the last cell's rate of ScheduledDropPath; cell i of n drops each op's
    path with ``drop_path * i / n`` (TF's schedule over depth, without its ramp over time).
    """

    def __init__(
        self,
        config: NASNetConfig,
        *,
        num_classes: int = 1000,
        in_channels: int = 3,
        dropout: float = 0.5,
        drop_path: float = 0.0,
    ) -> None:
        side = config.input_size
        # min 3: the unpadded 3x3 stem conv; every later layer pads
        super().__init__(
            in_channels, num_classes, default_input_size=(side, side), min_input_size=3
        )
        if not 0.0 <= drop_path < 1.0:
            raise ValueError(f"drop_path must be in [0, 1), got {drop_path}")
        self.config = config
        self.stem = nn.Sequential(
            OrderedDict(
                conv=nn.Conv2d(in_channels, config.stem_filters, 3, stride=2, bias=False),
                norm=NORM(config.stem_filters),
            )
        )
        self.feature_info = [FeatureInfo("stem", config.stem_filters, 2)]
        self.stages = self._build_stages(config, drop_path)
        channels = self.feature_info[-1].channels
        self.final = nn.ReLU()
        self.head = ClassifierHead(channels, num_classes, dropout=dropout)
        init_weights_like_torchvision(self)

    def _build_stages(self, config: NASNetConfig, drop_path: float) -> nn.Sequential:
        rows = stage_rows(config)
        total = sum(len(cells) for _, cells in rows)
        # (channels, stride) of h[i-1] and h[i-2]; the first cell reads the stem as both
        h1 = h2 = (config.stem_filters, 2)
        index = 0
        stages = nn.Sequential()
        for stage_name, cell_rows in rows:
            cells, keeps_h2 = {}, {}
            for row in cell_rows:
                index += 1
                adjust = "none" if index == 1 else "factorized" if h2[1] < h1[1] else "1x1"
                reduction = row.kind != "normal"
                cell = Cell(
                    NASNET_A_REDUCTION if reduction else NASNET_A_NORMAL,
                    width=row.width,
                    h1_channels=h1[0],
                    h2_channels=h2[0],
                    h2_adjust=adjust,
                    reduction=reduction,
                    drop_path=drop_path * index / total,  # deeper cells drop more (TF)
                )
                cells[row.name] = cell
                keeps_h2[row.name] = row.kind == "reduction" and config.skip_reduction_input
                out = (cell.out_channels, h1[1] * (2 if reduction else 1))
                h1, h2 = out, (h2 if keeps_h2[row.name] else h1)
            stages.add_module(stage_name, CellStage(cells, keeps_h2))
            self.feature_info.append(FeatureInfo(stage_name, h1[0], h1[1]))
        return stages

    def forward_stages(self, x: Tensor) -> list[Tensor]:
        """The stem's and every stage's h[i-1], in `feature_info` order."""
        self.check_input(x)
        x = self.stem(x)
        maps, states = [x], (x, x)
        for stage in self.stages:
            states = stage(states)
            maps.append(states[0])
        maps[-1] = self.forward_final(maps[-1])
        return maps

    def forward_features(self, x: Tensor) -> Tensor:
        return self.forward_stages(x)[-1]


# -- timm's names ---------------------------------------------------------------------


def _timm_rules(config: NASNetConfig) -> tuple:
    """timm ``nasnetalarge`` -> ours: cells move into their stage; inside a cell
    ``conv_1x1`` / ``conv_prev_1x1`` / ``path_*`` are the adjusts and ``comb_iter_k_*``
    the blocks' ops (``separable_j`` and ``bn_sep_j`` the j-th separable layer)."""
    stage_of = {row.name: stage for stage, rows in stage_rows(config) for row in rows}

    def cell(m) -> str:
        return f"stages.{stage_of[m[1]]}.cells.{m[1]}."

    return (
        (r"^conv0\.conv\.", "stem.conv."),
        (r"^conv0\.bn\.", "stem.norm."),
        (r"^((?:reduction_)?cell_(?:stem_)?\d+)\.", cell),
        (r"\.conv_1x1\.bn\.", ".adjust_h1.norm."),
        (r"\.conv_1x1\.", ".adjust_h1."),
        (r"\.conv_prev_1x1\.bn\.", ".adjust_h2.norm."),
        (r"\.conv_prev_1x1\.", ".adjust_h2."),
        (r"\.path_(\d)\.conv\.", r".adjust_h2.path\1."),
        (r"\.final_path_bn\.", ".adjust_h2.norm."),
        (r"\.comb_iter_(\d)_(left|right)\.", r".blocks.\1.\2."),
        (r"\.separable_(\d)\.depthwise_conv2d\.", r".sep\1.conv.depthwise.conv."),
        (r"\.separable_(\d)\.pointwise_conv2d\.", r".sep\1.conv.pointwise.conv."),
        (r"\.bn_sep_(\d)\.", r".sep\1.conv.pointwise.norm."),
        (r"^last_linear\.", "head.fc."),
    )


# -- the registered networks -----------------------------------------------------------

NASNET_A_LARGE = NASNetConfig(
    repeats=6, penultimate_filters=4032, stem_filters=96, skip_reduction_input=True, input_size=331
)
NASNET_A_MOBILE = NASNetConfig(
    repeats=4, penultimate_filters=1056, stem_filters=32, skip_reduction_input=False, input_size=224
)

PAPER = Paper(
    title="Learning Transferable Architectures for Scalable Image Recognition",
    authors="Zoph, Vasudevan, Shlens, Le",
    year=2018,
    arxiv="1707.07012",
)
KEY_IDEAS = (
    "Search for a cell, not a network: a normal cell (keeps the resolution) and a "
    "reduction cell (halves it), found on CIFAR-10 and stacked to any depth for ImageNet.",
    "Each cell reads the two previous cells' outputs; five blocks each add two ops "
    "(separable convs, pools, identity) chosen by an RNN controller trained with RL.",
    "One search, many budgets: N (cells per stack) and F (filters) scale the same cells "
    "from a mobile network (4@1056) to the most accurate one of its time (6@4032).",
    "ScheduledDropPath: drop each op's path with a probability rising linearly with "
    "depth and over training.",
)
TF_CODE = "TensorFlow reference code (research/slim/nets/nasnet/nasnet.py), training notes"


def _recipe(
    *, lr: float, replicas: int, batch: int, weight_decay: float, drop_path: float
) -> Recipe:
    """The training notes of the TF code: `lr` per replica, `batch` images per replica."""
    return Recipe(
        source=TF_CODE,
        lr=lr * replicas,  # the notes write the rate as "lr * replicas"
        batch_size=batch * replicas,
        schedule=Schedule("exponential", factor=0.97, every=2.4),
        weight_decay=weight_decay,
        dropout=0.5,  # dense_dropout_keep_prob 0.5
        drop_path=drop_path,
        label_smoothing=0.1,
        notes=(
            f"synchronous training on {replicas} replicas of {batch} images; gradients "
            "clipped to global norm 10",
            "an auxiliary head (weight 0.4) after the cell before the second reduction",
        ),
        init="variance scaling from the fan-out (TF's variance_scaling_initializer) for "
        "convolutions and the classifier",
        not_stated=("optimizer", "epochs", "momentum"),
    )


DEVIATIONS = (
    "no auxiliary classifier (TF trains with one; timm has none, and its size depends on "
    "the input: a conv over the whole pooled map)",
    "drop path at the final rate from the first step (TF ramps it up over training)",
    "3x3/2 average pools count their zero padding at the border, as timm's port does "
    "(TF leaves it out of the mean)",
)


def _card(
    name: str,
    config: NASNetConfig,
    *,
    table: str,
    params: str,
    macs: str,
    top1: float,
    top5: float,
    recipe: Recipe,
    **extra,
) -> ModelCard:
    """A NASNet-A card: the N@F network of `table`, measured single-crop at its input size."""
    side = config.input_size
    return ModelCard(
        name=name,
        family="nasnet",
        paper=PAPER,
        table=f"Figures 2 and 4, {table} (NASNet-A {config.repeats}@{config.penultimate_filters})",
        key_ideas=KEY_IDEAS,
        input_size=(3, side, side),
        paper_params=Reported(params),
        paper_macs=Reported(macs),
        recipe=recipe,
        accuracy=Accuracy(top1=top1, top5=top5, source=table, protocol=f"single crop {side}"),
        **short_run_default(
            5e-4,
            paper="synchronous training on 50-100 replicas (optimizer not stated)",
            why=(
                "With the zoo's SGD at 0.1 (the optimizer is not stated) NASNet-A Large "
                "stayed at chance (10.7%) on the 2-epoch check, training loss 27; with this "
                "default 94.6% (NASNet-A Mobile 97.6%)."
            ),
        ),
        **extra,
    )


@register(
    _card(
        "nasnet_a_large",
        NASNET_A_LARGE,
        table="Table 2",
        params="88.9M",
        macs="23.8B",
        top1=82.7,
        top5=96.2,
        recipe=_recipe(lr=0.015, replicas=100, batch=16, weight_decay=5e-5, drop_path=0.3),
        twins=(Twin("timm", "nasnetalarge", _timm_rules(NASNET_A_LARGE)),),
        deviations=(*DEVIATIONS, "dropout 0.5 before the classifier as in TF (timm has none)"),
    )
)
def nasnet_a_large(**overrides) -> NASNet:  # 88.75M params, 23.78G MACs
    return NASNet(NASNET_A_LARGE, **overrides)


@register(
    _card(
        "nasnet_a_mobile",
        NASNET_A_MOBILE,
        table="Table 3",
        params="5.3M",
        macs="564M",
        top1=74.0,
        top5=91.6,
        recipe=_recipe(lr=0.04, replicas=50, batch=32, weight_decay=4e-5, drop_path=0.0),
        deviations=DEVIATIONS,
    )
)
def nasnet_a_mobile(**overrides) -> NASNet:  # 5.29M params, 563.6M MACs
    return NASNet(NASNET_A_MOBILE, **overrides)
