"""GoogLeNet (Inception v1) and BN-Inception.

Szegedy, Liu, Jia, Sermanet, Reed, Anguelov, Erhan, Vanhoucke, Rabinovich (2014).
Going Deeper with Convolutions. arXiv:1409.4842. Table 1 (one row per layer;
inception rows give #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj) and
section 5 (the two auxiliary classifiers: 5x5/3 average pool, 1x1 conv 128,
fc 1024, dropout 0.7, linear; their losses are added with weight 0.3 in training).

Ioffe, Szegedy (2015). Batch Normalization: Accelerating Deep Network Training by
Reducing Internal Covariate Shift. arXiv:1502.03167. Figure 5 (BN-Inception):
batch norm after every convolution, each 5x5 replaced by two 3x3 ("double 3x3"),
a third 28x28 module, average or max pooling inside the modules, and stride-2
modules (3c, 4e) whose pooling branch passes through instead of the
between-stage max-pools.

Table 1's params and ops columns are per layer; the paper prints no totals
beyond the "1.5 billion multiply-adds" budget of section 1. Its conv1 row (2.7K
params, 34M ops) is smaller than a 7x7x3x64 convolution (9.4K weights, 118M
multiply-adds at 112x112); with that row as printed our count is 1.50G.

Stages group modules by grid size (28, 14, 7): for BN-Inception the stride-2
modules 3c and 4e start the stage whose grid they produce.

Deviations: see each card. ``googlenet_bn`` is torchvision's ``googlenet``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import Literal

from torch import Tensor, nn

from convzoo.blocks.conv import ConvNormAct
from convzoo.blocks.head import ClassifierHead
from convzoo.blocks.inception import BranchBuilder, Branches, Chain, Conv, Pool
from convzoo.models.base import (
    AuxClassifierNet,
    FeatureInfo,
    adamw_default,
    init_weights_like_torchvision,
    registrar,
)
from convzoo.registry import Accuracy, ModelCard, Paper, Recipe, Reported, Schedule, Twin

__all__ = ["GoogLeNet", "GoogLeNetConfig", "InceptionRow"]


@dataclass(frozen=True)
class InceptionRow:
    """One inception line of GoogLeNet's Table 1 / BN-Inception's Figure 5, column by column.

    ``r5x5``/``n5x5`` hold BN-Inception's "double #3x3 reduce"/"double #3x3".
    """

    name: str  # "3a"
    n1x1: int  # "#1x1"; 0: no 1x1 branch (BN-Inception's stride-2 modules)
    r3x3: int  # "#3x3 reduce"
    n3x3: int  # "#3x3"
    r5x5: int  # "#5x5 reduce"
    n5x5: int  # "#5x5"
    proj: int  # "pool proj"; 0: the pooled input passes through unchanged
    pool: Literal["max", "avg"] = "max"
    stride: Literal[1, 2] = 1

    def __post_init__(self) -> None:
        reduced = (self.r3x3, self.n3x3, self.r5x5, self.n5x5)
        if min(reduced) < 1 or min(self.n1x1, self.proj) < 0 or self.stride not in (1, 2):
            raise ValueError(
                f"InceptionRow needs reduce/3x3/5x5 widths >= 1, the others >= 0 and stride "
                f"1 or 2, got {self}"
            )
        if self.pool not in ("max", "avg"):
            raise ValueError(f"InceptionRow pool must be 'max' or 'avg', got {self.pool!r}")


# Table 1 of Szegedy et al. 2014, the inception rows, grouped by grid size.
GOOGLENET_ROWS = (
    (  # 28x28
        InceptionRow("3a", n1x1=64, r3x3=96, n3x3=128, r5x5=16, n5x5=32, proj=32),
        InceptionRow("3b", n1x1=128, r3x3=128, n3x3=192, r5x5=32, n5x5=96, proj=64),
    ),
    (  # 14x14
        InceptionRow("4a", n1x1=192, r3x3=96, n3x3=208, r5x5=16, n5x5=48, proj=64),
        InceptionRow("4b", n1x1=160, r3x3=112, n3x3=224, r5x5=24, n5x5=64, proj=64),
        InceptionRow("4c", n1x1=128, r3x3=128, n3x3=256, r5x5=24, n5x5=64, proj=64),
        InceptionRow("4d", n1x1=112, r3x3=144, n3x3=288, r5x5=32, n5x5=64, proj=64),
        InceptionRow("4e", n1x1=256, r3x3=160, n3x3=320, r5x5=32, n5x5=128, proj=128),
    ),
    (  # 7x7
        InceptionRow("5a", n1x1=256, r3x3=160, n3x3=320, r5x5=32, n5x5=128, proj=128),
        InceptionRow("5b", n1x1=384, r3x3=192, n3x3=384, r5x5=48, n5x5=128, proj=128),
    ),
)

# Figure 5 of Ioffe & Szegedy 2015; r5x5, n5x5 hold "double #3x3 reduce, double #3x3".
BN_INCEPTION_ROWS = (
    (  # 28x28
        InceptionRow("3a", n1x1=64, r3x3=64, n3x3=64, r5x5=64, n5x5=96, proj=32, pool="avg"),
        InceptionRow("3b", n1x1=64, r3x3=64, n3x3=96, r5x5=64, n5x5=96, proj=64, pool="avg"),
    ),
    (  # 14x14
        InceptionRow("3c", n1x1=0, r3x3=128, n3x3=160, r5x5=64, n5x5=96, proj=0, stride=2),
        InceptionRow("4a", n1x1=224, r3x3=64, n3x3=96, r5x5=96, n5x5=128, proj=128, pool="avg"),
        InceptionRow("4b", n1x1=192, r3x3=96, n3x3=128, r5x5=96, n5x5=128, proj=128, pool="avg"),
        InceptionRow("4c", n1x1=160, r3x3=128, n3x3=160, r5x5=128, n5x5=160, proj=128, pool="avg"),
        InceptionRow("4d", n1x1=96, r3x3=128, n3x3=192, r5x5=160, n5x5=192, proj=128, pool="avg"),
    ),
    (  # 7x7
        InceptionRow("4e", n1x1=0, r3x3=128, n3x3=192, r5x5=192, n5x5=256, proj=0, stride=2),
        InceptionRow("5a", n1x1=352, r3x3=192, n3x3=320, r5x5=160, n5x5=224, proj=128, pool="avg"),
        InceptionRow("5b", n1x1=352, r3x3=192, n3x3=320, r5x5=192, n5x5=224, proj=128),
    ),
)


@dataclass(frozen=True)
class GoogLeNetConfig:
    """What differs between GoogLeNet, torchvision's BN GoogLeNet and BN-Inception."""

    rows: tuple[tuple[InceptionRow, ...], ...]
    wide_kernels: tuple[int, ...]  # the conv5x5 branch: (5,), torchvision (3,), BN (3, 3)
    batch_norm: bool
    lrn: bool  # local response normalization in the stem (GoogLeNet paper)
    stage_pool: int | None  # max-pool kernel between stages (stride 2); None: none
    aux_after: tuple[str, ...]  # modules feeding an auxiliary classifier
    aux_paper_pool: bool  # 5x5/3 average pool (paper) or adaptive to 4x4 (torchvision)
    dropout: float


GOOGLENET = GoogLeNetConfig(
    rows=GOOGLENET_ROWS, wide_kernels=(5,), batch_norm=False, lrn=True, stage_pool=3,
    aux_after=("4a", "4d"), aux_paper_pool=True, dropout=0.4,
)  # fmt: skip
GOOGLENET_BN = GoogLeNetConfig(
    rows=GOOGLENET_ROWS, wide_kernels=(3,), batch_norm=True, lrn=False, stage_pool=2,
    aux_after=("4a", "4d"), aux_paper_pool=False, dropout=0.2,
)  # fmt: skip
BN_INCEPTION = GoogLeNetConfig(
    rows=BN_INCEPTION_ROWS, wide_kernels=(3, 3), batch_norm=True, lrn=False, stage_pool=None,
    aux_after=(), aux_paper_pool=False, dropout=0.2,
)  # fmt: skip


def inception_branches(row: InceptionRow, wide_kernels: tuple[int, ...]) -> Branches:
    """The four branches of one Table 1 row (a width of 0 drops the 1x1 / projection).

    The stride of BN-Inception's 3c and 4e goes on each branch's last conv, which
    keeps its padding there, and on the pool.
    """
    s = row.stride
    branches: dict[str, Chain] = {}
    if row.n1x1:
        branches["branch1x1"] = (Conv(row.n1x1),)
    branches["branch3x3"] = (Conv(row.r3x3), Conv(row.n3x3, 3, s, valid=False))
    wide = [Conv(row.r5x5)]
    for i, k in enumerate(wide_kernels, start=1):
        wide.append(Conv(row.n5x5, k, s if i == len(wide_kernels) else 1, valid=False))
    branches["branch3x3dbl" if len(wide_kernels) == 2 else "branch5x5"] = tuple(wide)
    pool = Pool(row.pool, stride=s)
    if row.proj:
        branches["branch_pool"] = {"pool": pool, "proj": Conv(row.proj)}
    else:  # the pooled input passes through and keeps in_channels
        branches["branch_pool"] = (pool,)
    return branches


class AuxHead(nn.Module):
    """Section 5's auxiliary classifier: avg-pool to 4x4, 1x1 conv 128, fc 1024, dropout, fc."""

    def __init__(
        self, in_channels: int, num_classes: int, *, conv: partial, paper_pool: bool
    ) -> None:
        super().__init__()
        # paper: 5x5/3 average pool (14x14 -> 4x4); the adaptive pool is the identity at
        # 224x224 and keeps fc1 at 2048 inputs for other sizes
        self.pool = (
            nn.Sequential(nn.AvgPool2d(5, stride=3, ceil_mode=True), nn.AdaptiveAvgPool2d(4))
            if paper_pool
            else nn.AdaptiveAvgPool2d(4)
        )
        self.conv = conv(in_channels, 128, 1)
        self.flatten = nn.Flatten(1)  # (N, 128, 4, 4) -> (N, 2048)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.act = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(0.7)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.flatten(self.conv(self.pool(x)))
        return self.fc(self.dropout(self.act(self.fc1(x))))


class GoogLeNet(AuxClassifierNet):
    """GoogLeNet / BN-Inception: stem, inception modules at 28, 14, 7, average pool, fc."""

    # section 5: "their loss is added to the total loss of the network with a discount
    # weight (the losses of the auxiliary classifiers were weighted by 0.3)"
    aux_loss_weight = 0.3

    def __init__(
        self,
        config: GoogLeNetConfig,
        *,
        num_classes: int = 1000,
        in_channels: int = 3,
        aux_logits: bool = True,
        dropout: float | None = None,
    ) -> None:
        # smallest input for which every (ceil-mode) pool, and the aux heads' 5x5/3 pool,
        # still has a window: found by trying sizes, and tested
        min_size = 47 if aux_logits and config.aux_after else 31
        self.min_input_size_without_aux = 31
        super().__init__(
            in_channels, num_classes, default_input_size=(224, 224), min_input_size=min_size
        )
        norm = partial(nn.BatchNorm2d, eps=1e-3) if config.batch_norm else None
        conv = partial(ConvNormAct, norm=norm)
        build = BranchBuilder(conv, ceil_mode=True)
        self.stem = nn.Sequential()
        self.stem.add_module("conv1", conv(in_channels, 64, 7, stride=2))  # 112x112
        self.stem.add_module("pool1", nn.MaxPool2d(3, stride=2, ceil_mode=True))  # 56x56
        if config.lrn:  # the paper gives no constants: these are the BVLC Caffe model's
            self.stem.add_module("lrn1", nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75))
        self.stem.add_module("conv2_reduce", conv(64, 64, 1))
        self.stem.add_module("conv2", conv(64, 192, 3))
        if config.lrn:
            self.stem.add_module("lrn2", nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75))
        self.stem.add_module("pool2", nn.MaxPool2d(3, stride=2, ceil_mode=True))  # 28x28x192

        self.stages = nn.Sequential()
        self.feature_info = [FeatureInfo("stem", 192, 8)]
        self.aux_heads = nn.ModuleDict()
        channels = 192
        for index, rows in enumerate(config.rows):
            stage = nn.Sequential()
            if index > 0 and config.stage_pool is not None:  # halves H, W
                stage.add_module("pool", nn.MaxPool2d(config.stage_pool, stride=2, ceil_mode=True))
            for row in rows:
                module = build.module(channels, inception_branches(row, config.wide_kernels))
                stage.add_module(row.name, module)
                channels = module.out_channels  # e.g. 3a: 64 + 128 + 32 + 32 = 256
                if aux_logits and row.name in config.aux_after:
                    self.aux_heads[row.name] = AuxHead(
                        channels, num_classes, conv=conv, paper_pool=config.aux_paper_pool
                    )
            self.stages.add_module(f"inception{index + 3}", stage)
            self.feature_info.append(FeatureInfo(f"inception{index + 3}", channels, 8 * 2**index))
        drop = config.dropout if dropout is None else dropout
        self.head = ClassifierHead(channels, num_classes, dropout=drop)  # (N, 1024, 7, 7)
        init_weights_like_torchvision(self)


def _torchvision_rules() -> tuple:
    """torchvision googlenet -> ours (branch1..4 in Table 1's order)."""
    stage_of = {"3": "inception3", "4": "inception4", "5": "inception5"}
    rules = [
        (r"^conv1\.", "stem.conv1."),
        (r"^conv2\.", "stem.conv2_reduce."),
        (r"^conv3\.", "stem.conv2."),
        (
            r"^inception(\d)(\w)\.",
            lambda m: f"stages.{stage_of[m[1]]}.{m[1]}{m[2]}.",
        ),
        (r"\.branch1\.", ".branch1x1."),
        (r"\.branch2\.", ".branch3x3."),
        (r"\.branch3\.", ".branch5x5."),
        (r"\.branch4\.1\.", ".branch_pool.proj."),
        (r"^aux1\.", "aux_heads.4a."),
        (r"^aux2\.", "aux_heads.4d."),
        (r"\.fc2\.", ".fc."),
        (r"^fc\.", "head.fc."),
        (r"\.bn\.", ".norm."),
    ]
    return tuple(rules)


_GOOGLENET_IDEAS = (
    "The Inception module: 1x1, 3x3, 5x5 convolutions and a pooling path side by side, "
    "concatenated, so the next layer sees several scales at once.",
    "1x1 'reduce' convolutions before the 3x3 and 5x5 cut their cost: 22 layers deep "
    "with 12x fewer parameters than AlexNet (about 7M, 1.5G multiply-adds).",
    "Global average pooling instead of large fully connected layers.",
    "Two auxiliary classifiers on 4a and 4d add gradient signal in the middle of the "
    "network during training (loss weight 0.3) and are discarded at inference.",
)

_BN_IDEAS = (
    "Batch normalization: normalize each channel over the mini-batch, then scale and "
    "shift; allows 30x higher learning rates and no dropout or LRN.",
    "Each 5x5 convolution becomes two stacked 3x3 (same receptive field, fewer weights).",
    "Stride-2 Inception modules (3c, 4e) with a pass-through pooling branch replace the "
    "max-pools between stages.",
)


PAPER_2014 = Paper(
    title="Going Deeper with Convolutions",
    authors="Szegedy, Liu, Jia, Sermanet, Reed, Anguelov, Erhan, Vanhoucke, Rabinovich",
    year=2014,
    arxiv="1409.4842",
)
PAPER_BN = Paper(
    title="Batch Normalization: Accelerating Deep Network Training by Reducing "
    "Internal Covariate Shift",
    authors="Ioffe, Szegedy",
    year=2015,
    arxiv="1502.03167",
)
# Section 5 (auxiliary classifiers, dropout) and Section 6 (training methodology).
RECIPE_2014 = Recipe(
    source="Sections 5 and 6",
    optimizer="sgd",
    momentum=0.9,
    schedule=Schedule(
        "exponential", factor=0.96, every=8, note="'decreasing the learning rate by 4%'"
    ),
    dropout=0.4,  # before the classifier; 0.7 in the auxiliary heads
    aux_loss_weight=0.3,
    augmentation="crops of 8%-100% of the image area with aspect ratio in [3/4, 4/3], "
    "photometric distortions, random interpolation methods",
    notes=(
        "asynchronous SGD on the DistBelief CPU cluster",
        "Polyak averaging builds the model used at inference",
    ),
    not_stated=("lr", "batch_size", "epochs", "weight_decay", "init"),
)
RECIPE_GOOGLENET_BN = replace(
    RECIPE_2014,
    notes=(
        *RECIPE_2014.notes,
        "the batch-normalized variant is torchvision's: this is the 2014 paper's recipe",
    ),
)
# Section 4.2.1-4.2.2: BN-x30, the variant the paper's ensemble is built from.
RECIPE_BN = Recipe(
    source="Sections 4.2.1 and 4.2.2 (BN-x30)",
    optimizer="sgd",
    lr=0.045,  # 30x Inception's 0.0015
    batch_size=32,
    notes=(
        "dropout and local response normalization removed",
        "L2 weight regularization 5x smaller and learning-rate decay 6x faster than "
        "for Inception, whose values the paper does not give",
        "training examples shuffled more thoroughly; fewer photometric distortions",
    ),
    not_stated=("momentum", "schedule", "epochs", "weight_decay", "init"),
)


def _card(name: str, **fields) -> ModelCard:
    if name == "bn_inception":
        paper = dict(
            paper=PAPER_BN,
            table="Figure 5 (BN-Inception)",
            key_ideas=_BN_IDEAS,
            recipe=RECIPE_BN,
            accuracy=Accuracy(
                top1=74.8,
                source="Figure 3, BN-x30",
                protocol="single crop (Figure 2); the best validation accuracy during training",
            ),
        )
    else:
        paper = dict(
            paper=PAPER_2014,
            table="Table 1 and section 5 (auxiliary classifiers)",
            key_ideas=_GOOGLENET_IDEAS,
        )
    return ModelCard(name=name, family="inception", input_size=(3, 224, 224), **paper, **fields)


_register = registrar(_card, GoogLeNet)

# Without normalization the 22 layers do not train in a short run on SGD: on the 2-epoch
# check (benchmarks/learning_check.py) SGD at 0.1 and 0.025 per 32 images went to NaN,
# at 0.01 it stayed at chance; AdamW at 1e-3 with warm-up reached 87.8% (fp32).
DEFAULT_2014 = adamw_default(1e-3)

_register(
    "googlenet",
    GOOGLENET,
    paper_macs=Reported("1.5G"),  # section 1: a budget of 1.5 billion multiply-adds
    recipe=RECIPE_2014,
    default_recipe=DEFAULT_2014,
    default_reason=(
        "The paper gives no learning rate (asynchronous SGD on a CPU cluster); without "
        "batch normalization SGD at 0.1 or 0.025 per 32 images diverges in the first steps "
        "of a short run and 0.01 stays at chance. AdamW at 1e-3 per 32 images with a "
        "quarter epoch of warm-up learns."
    ),
    accuracy=Accuracy(
        top1=None,
        top5=89.93,  # 10.07% top-5 error; the paper prints no top-1
        source="Table 3",
        protocol="1 model, 1 crop",
        dataset="ILSVRC 2014 val",
    ),
    deviations=(
        "Table 1's conv1 row (2.7K params, 34M ops) is smaller than a 7x7x3x64 conv "
        "(9,408 weights, 118M multiply-adds): we have 1.58G in all, 1.50G with that row "
        "as printed",
        "auxiliary heads add an adaptive 4x4 average pool after the 5x5/3 pool "
        "(identity at 224x224) so other input sizes run",
        "the paper prints no parameter total (Table 1's per-layer column sums to about "
        "6.8M); Table 1's widths give 7.0M without and 13.4M with the auxiliary heads",
    ),
)  # 7.00M params (13.38M with aux), 1.58G MACs

_register(
    "googlenet_bn",
    GOOGLENET_BN,
    recipe=RECIPE_GOOGLENET_BN,
    accuracy_note="torchvision's batch-normalized variant: no paper reports its accuracy",
    twins=(
        Twin(
            "torchvision",
            "googlenet",
            _torchvision_rules(),
            kwargs={"aux_logits": True, "transform_input": False, "init_weights": True},
        ),
    ),
    deviations=(
        "batch norm (eps 1e-3) after every convolution, no biases, no LRN",
        "3x3 kernels in the '5x5' branches (as torchvision's port of the weights)",
        "2x2/2 max-pool before 5a instead of 3x3/2",
        "auxiliary heads pool adaptively to 4x4 (not 5x5/3) and have batch norm",
        "main dropout 0.2 (paper 0.4)",
    ),
)  # 6.62M params (13.00M with aux), 1.50G MACs

_register(
    "bn_inception",
    BN_INCEPTION,
    deviations=(
        "Figure 5 prints 576 channels for 4c/4d and 1024 for 4e; its branch widths sum "
        "to 608, 608 and 1056, which is what this network has (as the released model)",
        "no auxiliary classifiers",
    ),
)  # 11.29M params, 2.03G MACs
