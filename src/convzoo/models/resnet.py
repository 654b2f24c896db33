"""ResNet: deep residual learning, on ImageNet and on CIFAR-10, and its plain twins.

He, Zhang, Ren, Sun (2015). Deep Residual Learning for Image Recognition.
arXiv:1512.03385.

- Table 1: the ImageNet networks of 18, 34, 50, 101 and 152 layers. A 7x7/2 conv
  and a 3x3/2 max-pool (``stem``), then four stages ``conv2_x``..``conv5_x`` of
  basic (18, 34) or bottleneck (50+) blocks, global average pool, 1000-way fc.
  Stage widths 64-128-256-512 (x4 at the bottleneck outputs); conv3_x..conv5_x
  halve the resolution in their first block. The paper's "FLOPs" row (1.8, 3.6,
  3.8, 7.6, 11.3 x10^9) counts multiply-adds.
- The paper's bottleneck downsamples with its first 1x1 conv (stride 2). The
  later Facebook/torchvision recipe ("ResNet v1.5") moves the stride to the 3x3:
  same parameters, ~0.25 GMACs more for ResNet-50, ~0.5% better top-1. Both are
  registered: ``resnet50`` (paper) and ``resnet50_v1_5`` (= torchvision/timm
  ``resnet50``). ResNet-18/34 have no 1x1, so they exist once.
- Section 4.2: the CIFAR-10 networks ``resnet{6n+2}``: a 3x3 conv with 16 filters,
  three stages of n basic blocks at 16, 32, 64 filters on 32, 16, 8 pixel maps,
  global average pool, 10-way fc. Shortcuts are option A (identity, zero-padded
  where the width doubles), so ``plain{6n+2}`` (no shortcuts, Fig. 6 left) has
  exactly the same parameters. Table 6: 0.27M, 0.46M, 0.66M, 0.85M, 1.7M, 19.4M.

The `ResNet` class here is also the body of the pre-activation, ResNeXt, Wide
ResNet and SENet families: they differ only in config rows and block options.

Deviations: none in the layers. ImageNet nets accept inputs >= 32 px through
global average pooling (the paper evaluates at 224 and with fully-convolutional
multi-scale testing).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from torch import nn

from convzoo.blocks.conv import ConvNormAct
from convzoo.blocks.head import ClassifierHead
from convzoo.blocks.residual import (
    SHORTCUT_OPTIONS,
    BasicBlock,
    Bottleneck,
    NormAct,
    ShortcutOption,
)
from convzoo.cards import ZERO_RESIDUAL_INIT
from convzoo.models.base import (
    FeatureInfo,
    FinalNormNet,
    dataset_fields,
    init_weights_like_torchvision,
    register_variant,
)
from convzoo.registry import Accuracy, ModelCard, Paper, Recipe, Reported, Schedule, Twin

__all__ = [
    "ResNet",
    "ResNetConfig",
    "ResidualStage",
    "cifar_stages",
    "imagenet_stages",
    "residual_family_card",
]


@dataclass(frozen=True)
class ResidualStage:
    """One row of a ResNet-style table: `depth` blocks ending in `out_channels`."""

    name: str  # the paper's row name, e.g. "conv3_x"
    depth: int
    out_channels: int
    stride: int  # of the first block
    width: int | None = None  # a bottleneck's 3x3 width (default out_channels // 4)
    reduce_width: int | None = None  # the first 1x1's width (default `width`)

    def __post_init__(self) -> None:
        if self.depth < 1 or self.out_channels < 1 or self.stride not in (1, 2):
            raise ValueError(f"ResidualStage needs depth, out_channels >= 1 and stride 1|2: {self}")


@dataclass(frozen=True)
class ResNetConfig:
    """A whole network: stem, stage rows and block options."""

    stages: tuple[ResidualStage, ...]
    block: Literal["basic", "bottleneck"]
    stem: Literal["imagenet", "cifar", "deep"] = "imagenet"  # 7x7/2 + pool; one 3x3; 3x 3x3 + pool
    stem_channels: int = 64
    stem_pool_ceil: bool = False  # Caffe-style 3x3/2 max-pool without padding, rounding up
    stride_at: Literal["1x1", "3x3"] = "3x3"  # which bottleneck conv downsamples
    cardinality: int = 1  # groups of the bottleneck's 3x3 (ResNeXt)
    shortcut: ShortcutOption = "B"
    shortcut_kernel: int = 1  # kernel of downsampling projections (SENet-154: 3)
    preact: bool = False  # BN-ReLU before each conv (He et al. 2016)
    se_reduction: int | None = None  # squeeze-and-excitation ratio r (Hu et al. 2017)
    block_dropout: float = 0.0  # between the convs of a basic block (Wide ResNet)
    dropout: float = 0.0  # before the classifier
    num_classes: int = 1000

    def __post_init__(self) -> None:
        if self.block not in ("basic", "bottleneck"):
            raise ValueError(f"block must be 'basic' or 'bottleneck', got {self.block!r}")
        if self.stem not in ("imagenet", "cifar", "deep"):
            raise ValueError(f"stem must be 'imagenet', 'cifar' or 'deep', got {self.stem!r}")
        if self.shortcut not in SHORTCUT_OPTIONS:
            raise ValueError(f"shortcut must be one of {SHORTCUT_OPTIONS}, got {self.shortcut!r}")


# Table 1: blocks per stage (conv2_x, conv3_x, conv4_x, conv5_x) for each depth.
IMAGENET_DEPTHS = {
    18: (2, 2, 2, 2),
    34: (3, 4, 6, 3),
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
}


def imagenet_stages(
    depth: int,
    *,
    bottleneck: bool,
    widths: tuple[int, ...] | None = None,
    names: tuple[str, ...] = ("conv2_x", "conv3_x", "conv4_x", "conv5_x"),
) -> tuple[ResidualStage, ...]:
    """Table 1 rows of the `depth`-layer column: outputs 64-128-256-512 (x4 for
    bottlenecks), stride 2 from conv3_x.

    `widths` overrides the bottleneck 3x3 widths (ResNeXt: cardinality x d; wide: x2).
    """
    base = (64, 128, 256, 512)
    outs = tuple(4 * b for b in base) if bottleneck else base
    widths = widths if widths is not None else (None,) * 4
    rows = zip(names, IMAGENET_DEPTHS[depth], outs, widths, strict=True)
    return tuple(
        ResidualStage(name, depth=blocks, out_channels=out, stride=1 if i == 0 else 2, width=width)
        for i, (name, blocks, out, width) in enumerate(rows)
    )


def cifar_stages(
    blocks_per_stage: int,
    *,
    out_channels: tuple[int, int, int] = (16, 32, 64),
    widths: tuple[int, int, int] | None = None,
    names: tuple[str, str, str] = ("conv2_x", "conv3_x", "conv4_x"),
) -> tuple[ResidualStage, ...]:
    """Section 4.2: three stages on 32, 16, 8 pixel maps (stride 2 from the second)."""
    widths = widths if widths is not None else (None, None, None)
    return tuple(
        ResidualStage(
            name, depth=blocks_per_stage, out_channels=out, stride=1 if i == 0 else 2, width=width
        )
        for i, (name, out, width) in enumerate(zip(names, out_channels, widths, strict=True))
    )


def cifar_blocks(depth: int, *, layers_per_block: int) -> int:
    """n of a CIFAR net of `depth` layers: ``depth = 3 * layers_per_block * n + 2``."""
    n, rest = divmod(depth - 2, 3 * layers_per_block)
    if rest or n < 1:
        raise ValueError(
            f"a CIFAR ResNet has depth 3*{layers_per_block}*n + 2 (e.g. "
            f"{3 * layers_per_block + 2}, {6 * layers_per_block + 2}), got {depth}"
        )
    return n


class ResNet(FinalNormNet):
    """stem -> residual stages -> (final BN-ReLU if pre-activation) -> pool -> fc."""

    def __init__(
        self,
        config: ResNetConfig,
        *,
        num_classes: int | None = None,
        in_channels: int = 3,
        shortcut: ShortcutOption | None = None,
        se_reduction: int | None = None,
        block_dropout: float | None = None,
        dropout: float | None = None,
    ) -> None:
        cifar = config.stem == "cifar"
        stem_stride = 1 if cifar else 4
        total_stride = stem_stride * 2 ** sum(s.stride == 2 for s in config.stages)
        super().__init__(
            in_channels,
            num_classes if num_classes is not None else config.num_classes,
            default_input_size=(32, 32) if cifar else (224, 224),
            # CIFAR nets keep >= 2x2 maps: on 1x1 maps the training-mode batch-norm statistics
            # of a small batch are degenerate and a 1001-layer net's gradients overflow
            min_input_size=2 * total_stride if cifar else total_stride,
        )
        shortcut = shortcut if shortcut is not None else config.shortcut
        se_reduction = se_reduction if se_reduction is not None else config.se_reduction
        block_dropout = block_dropout if block_dropout is not None else config.block_dropout
        dropout = dropout if dropout is not None else config.dropout

        self.stem = self._make_stem(config, in_channels)
        self.stages = nn.Sequential()
        self.feature_info = [FeatureInfo("stem", config.stem_channels, stem_stride)]
        channels, stride = config.stem_channels, stem_stride
        for row in config.stages:
            blocks = []
            for index in range(row.depth):
                block_stride = row.stride if index == 0 else 1
                common = dict(
                    stride=block_stride,
                    shortcut=shortcut,
                    shortcut_kernel=config.shortcut_kernel if block_stride > 1 else 1,
                    preact=config.preact,
                    se_reduction=se_reduction,
                )
                if config.block == "basic":
                    block = BasicBlock(channels, row.out_channels, dropout=block_dropout, **common)
                else:
                    block = Bottleneck(
                        channels,
                        row.out_channels,
                        width=row.width,
                        reduce_width=row.reduce_width,
                        groups=config.cardinality,
                        stride_at=config.stride_at,
                        **common,
                    )
                blocks.append(block)
                channels = row.out_channels
            stride *= row.stride  # the first block halves H, W when row.stride == 2
            self.stages.add_module(row.name, nn.Sequential(*blocks))
            self.feature_info.append(FeatureInfo(row.name, channels, stride))
        # pre-activation nets end with the BN-ReLU that no block applied after its addition
        self.final = NormAct(channels) if config.preact else nn.Identity()
        self.head = ClassifierHead(channels, self.num_classes, dropout=dropout)
        init_weights_like_torchvision(self)

    @staticmethod
    def _make_stem(config: ResNetConfig, in_channels: int) -> nn.Sequential:
        out = config.stem_channels
        # pre-activation: the first block's BN-ReLU follows the stem conv directly
        norm, act = (None, None) if config.preact else (nn.BatchNorm2d, nn.ReLU)
        stem = nn.Sequential()
        if config.stem == "cifar":
            stem.add_module(
                "conv1", ConvNormAct(in_channels, out, 3, bias=False, norm=norm, act=act)
            )
            return stem
        if config.stem == "imagenet":
            stem.add_module(
                "conv1", ConvNormAct(in_channels, out, 7, stride=2, bias=False, norm=norm, act=act)
            )
        else:  # "deep": SENet-154's three 3x3 convs instead of the 7x7
            stem.add_module("conv1", ConvNormAct(in_channels, 64, 3, stride=2))
            stem.add_module("conv2", ConvNormAct(64, 64, 3))
            stem.add_module("conv3", ConvNormAct(64, out, 3))
        if config.stem_pool_ceil:  # Caffe rounds the pooled size up instead of padding
            stem.add_module("pool", nn.MaxPool2d(3, stride=2, ceil_mode=True))
        else:
            stem.add_module("pool", nn.MaxPool2d(3, stride=2, padding=1))  # (N, C, H/4, W/4)
        return stem


# The Caffe-era ResNet keys inside a block (convJ, bnJ, downsample) and of the stages
# (layer1..layer4), which torchvision, timm and the ported SENets share.
BLOCK_RULES = (
    (r"\.conv(\d)\.", r".conv\1.conv."),
    (r"\.bn(\d)\.", r".conv\1.norm."),
    (r"\.downsample\.0\.", ".shortcut.conv."),
    (r"\.downsample\.1\.", ".shortcut.norm."),
)
STAGE_RULES = tuple((rf"^layer{k}\.", f"stages.conv{k + 1}_x.") for k in range(1, 5))


def torchvision_rules() -> tuple:
    """torchvision/timm ResNet keys (conv1, bn1, layerK.i.convJ/bnJ/downsample, fc) -> ours."""
    return (
        *BLOCK_RULES,
        *STAGE_RULES,
        (r"^conv1\.", "stem.conv1.conv."),
        (r"^bn1\.", "stem.conv1.norm."),
        (r"^fc\.", "head.fc."),
    )


RESNET_KEY_IDEAS = (
    "Residual learning: blocks fit F(x) = H(x) - x and add x back through an identity "
    "shortcut, so extra layers can default to the identity and depth stops hurting.",
    "Bottleneck blocks (1x1 reduce, 3x3, 1x1 expand) make 50-152 layers affordable.",
    "Batch norm after every conv, no dropout, global average pooling before one fc layer.",
)


PAPER = Paper(
    title="Deep Residual Learning for Image Recognition",
    authors="He, Zhang, Ren, Sun",
    year=2015,
    arxiv="1512.03385",
)
# Section 3.4 (ImageNet).
RECIPE_IMAGENET = Recipe(
    source="Section 3.4",
    optimizer="sgd",
    lr=0.1,
    batch_size=256,
    momentum=0.9,
    weight_decay=1e-4,
    schedule=Schedule("plateau", factor=0.1),
    iterations=600_000,  # "up to 60 x 10^4 iterations"
    augmentation="shorter side resized at random in [256, 480], random 224x224 crop or its "
    "mirror, per-pixel mean subtracted, AlexNet's colour augmentation",
    init="He et al. (2015) for the convolutions; batch norm after every convolution; no dropout",
)
# Section 4.2 (CIFAR-10): 64k iterations of batch 128 are about 164 epochs.
_CIFAR_SCHEDULE = Schedule("step", factor=0.1, milestones=(32_000, 48_000), unit="iteration")
RECIPE_CIFAR = Recipe(
    source="Section 4.2",
    optimizer="sgd",
    lr=0.1,
    batch_size=128,
    momentum=0.9,
    weight_decay=1e-4,
    schedule=_CIFAR_SCHEDULE,
    iterations=64_000,
    augmentation="4 pixels of zero padding on each side, random 32x32 crop, random mirror",
    init="He et al. (2015); batch norm, no dropout",
)
# Section 4.2: 0.1 is "slightly too large to start converging" at 110 layers.
RECIPE_CIFAR_110 = replace(
    RECIPE_CIFAR,
    schedule=replace(
        _CIFAR_SCHEDULE,
        warmup=400,
        warmup_lr=0.01,
        note="the warm-up lasts until training error is below 80%, about 400 iterations",
    ),
)


_TEN_CROP = "10-crop (Section 3.4)"
# Tables 2 and 3: top-1 / top-5 error, 10-crop, ImageNet validation.
IMAGENET_ACCURACY = {
    18: Accuracy.from_error(
        27.88,
        source="Table 2",
        protocol=_TEN_CROP,
        note="measured with option A (zero-padding) shortcuts; this network uses projections (B)",
    ),
    34: Accuracy.from_error(24.52, 7.46, source="Table 3, ResNet-34 B", protocol=_TEN_CROP),
    50: Accuracy.from_error(22.85, 6.71, source="Table 3", protocol=_TEN_CROP),
    101: Accuracy.from_error(21.75, 6.05, source="Table 3", protocol=_TEN_CROP),
    152: Accuracy.from_error(21.43, 5.71, source="Table 3", protocol=_TEN_CROP),
}
# Table 6: CIFAR-10 test error (ResNet-110: the best of 5 runs; mean 6.61 +- 0.16).
CIFAR_ERROR = {20: 8.75, 32: 7.51, 44: 7.17, 56: 6.97, 110: 6.43, 1202: 7.93}


def _cifar_accuracy(depth: int) -> Accuracy:
    return Accuracy.from_error(
        CIFAR_ERROR[depth],
        source="Table 6",
        protocol="single view of the original 32x32 image",
        dataset="CIFAR-10 test",
    )


def _zero_residual_reason(measured: str, *, also: str = "") -> str:
    """Why a residual network's default starts every block as the identity: `measured`
    says what the paper's initialisation and the zero-residual one reached."""
    return (
        f"The paper's recipe with its own initialisation leaves {measured} with every "
        "residual branch starting at zero (its last BN scale at 0, Goyal et al. 2017; "
        "torchvision's zero_init_residual; docs/training.md, Defaults that learn). Learning "
        "rate, batch and schedule stay the paper's." + also
    )


ZERO_RESIDUAL_REASON = _zero_residual_reason(
    "the deepest networks near chance in a short run: resnet152 reached 19.0% validation "
    "top-1 in 2 epochs of the 2,048-image check, 93.7%"
)
# on the check's quarter-size set (its rule for networks above 1G multiply-adds an image)
ZERO_RESIDUAL_REASON_1202 = _zero_residual_reason(
    "this 1202-layer network near chance in a short run: 25.5% validation top-1 in 2 "
    "epochs of the check's 512-image set, 43.1%",
    also=" The CIFAR ResNets with a plain twin keep the paper's initialisation: `convzoo "
    "reproduce degradation` compares them.",
)


def zero_residual_default(recipe: Recipe, reason: str = ZERO_RESIDUAL_REASON) -> dict[str, Any]:
    """The default-recipe card fields of the ImageNet post-activation residual networks
    (and ResNet-1202): `recipe` (or, where it gives no learning rate, the ResNet paper's
    ImageNet recipe) with every block starting as the identity; `reason` the measurement."""
    base = recipe if recipe.lr is not None else RECIPE_IMAGENET
    if base is not recipe:
        reason += " The paper states no learning rate: the ResNet paper's ImageNet recipe."
    source = base.source if base is recipe else f"He et al. 2016 (ResNet), {base.source}"
    default = replace(
        base, source=f"{source}, zero-residual init (convzoo default)", init=ZERO_RESIDUAL_INIT
    )
    return {"default_recipe": default, "default_reason": reason}


def residual_family_card(
    name: str,
    table: str,
    *,
    family: str,
    paper: Paper,
    key_ideas: tuple[str, ...],
    recipes: tuple[Recipe, Recipe],  # (CIFAR-10, ImageNet)
    params: str | None = None,
    macs: str | None = None,
    twins: tuple[tuple[str, str], ...] = (),
    twin_rules: tuple | None = None,
    cifar: bool = False,
    **fields: Any,
) -> ModelCard:
    """The card of a network built by `ResNet` (ResNet, ResNeXt, WRN, pre-activation, SENet).

    `twins` are (library, name) pairs whose keys `twin_rules` map (by default
    torchvision's ResNet rules); `fields` the card's others (accuracy, deviations, ...).
    """
    rules = twin_rules if twin_rules is not None else torchvision_rules()
    cifar_recipe, imagenet_recipe = recipes
    if not cifar and family != "preact_resnet":  # pre-activation branches end in a bare conv
        fields = {**zero_residual_default(imagenet_recipe), **fields}
    return ModelCard(
        name=name,
        family=family,
        paper=paper,
        table=table,
        key_ideas=key_ideas,
        paper_params=Reported(params) if params else None,
        paper_macs=Reported(macs) if macs else None,
        twins=tuple(Twin(library, twin, rules) for library, twin in twins),
        **dataset_fields(cifar, cifar_recipe=cifar_recipe, imagenet_recipe=imagenet_recipe),
        **fields,
    )


def _card(
    name: str,
    table: str,
    *,
    key_ideas: tuple[str, ...] = RESNET_KEY_IDEAS,
    recipe: Recipe | None = None,
    **fields: Any,
) -> ModelCard:
    recipes = (recipe or RECIPE_CIFAR, recipe or RECIPE_IMAGENET)
    return residual_family_card(
        name, table, family="resnet", paper=PAPER, key_ideas=key_ideas, recipes=recipes, **fields
    )


def _twins(name: str, *, timm: bool = False) -> tuple[tuple[str, str], ...]:
    libraries = ("torchvision", "timm") if timm else ("torchvision",)
    return tuple((library, name) for library in libraries)


def _imagenet(depth: int, *, stride_at: Literal["1x1", "3x3"] = "1x1") -> ResNetConfig:
    bottleneck = depth >= 50
    return ResNetConfig(
        stages=imagenet_stages(depth, bottleneck=bottleneck),
        block="bottleneck" if bottleneck else "basic",
        stride_at=stride_at,
    )


V1_5 = (
    "stride 2 on the bottleneck's 3x3 instead of its first 1x1 (torchvision's 'ResNet v1.5'): "
    "same parameters, more multiply-adds than the paper's Table 1",
)
# Table 1, one column each, with the multiply-adds its FLOPs row prints. The paper's
# bottleneck strides its first 1x1, so only the basic-block nets have twins.
IMAGENET_MACS = {18: "1.8G", 34: "3.6G", 50: "3.8G", 101: "7.6G", 152: "11.3G"}


def _imagenet_card(depth: int) -> ModelCard:
    return _card(
        f"resnet{depth}",
        f"Table 1, {depth}-layer",
        macs=IMAGENET_MACS[depth],
        twins=_twins(f"resnet{depth}", timm=True) if depth < 50 else (),
        accuracy=IMAGENET_ACCURACY[depth],
    )


def _v1_5_card(depth: int, *, timm: bool = False) -> ModelCard:
    twin = f"resnet{depth}"
    return _card(
        f"resnet{depth}_v1_5",
        f"Table 1, {depth}-layer (stride on the 3x3)",
        twins=_twins(twin, timm=timm),
        deviations=V1_5,
        accuracy_note=f"the paper reports only the stride-on-the-1x1 network (resnet{depth})",
    )


for _depth in IMAGENET_MACS:
    register_variant(_imagenet_card(_depth), ResNet, _imagenet(_depth))
for _depth in (50, 101, 152):  # the same columns with the stride on the 3x3
    _config = _imagenet(_depth, stride_at="3x3")
    register_variant(_v1_5_card(_depth, timm=_depth == 50), ResNet, _config)


# Section 4.2: CIFAR-10 nets of 6n+2 layers, option A shortcuts; Table 6 params.
def _cifar(depth: int, *, shortcut: ShortcutOption = "A") -> ResNetConfig:
    return ResNetConfig(
        stages=cifar_stages(cifar_blocks(depth, layers_per_block=2)),
        block="basic",
        stem="cifar",
        stem_channels=16,
        shortcut=shortcut,
        num_classes=10,
    )


CIFAR_KEY_IDEAS = (
    "The degradation problem: a deeper plain net has higher training error (Fig. 6 "
    "left); the same net with identity shortcuts gets better with depth (Fig. 6 middle).",
    "Option A shortcuts are parameter-free: widths double by zero-padding, so a ResNet "
    "and its plain twin have exactly the same parameters.",
    "Depth 1202 still trains (19.4M params) but overfits: 7.93% vs 6.43% error at 110 layers.",
)
PLAIN = ("no shortcuts: the paper's plain baseline of Fig. 6 (left)",)
PLAIN_DEPTHS = (20, 32, 44, 56, 110)  # Fig. 6 (left) and the 110-layer net of section 4.2


def _cifar_card(name: str, depth: int, params: str | None, *, plain: bool = False) -> ModelCard:
    what = "plain net" if plain else "ResNet"
    n = cifar_blocks(depth, layers_per_block=2)
    # without a plain twin to be compared with, a ResNet may start as the identity
    twinless = not plain and depth not in PLAIN_DEPTHS
    return _card(
        name,
        f"Section 4.2 and Table 6, {depth}-layer {what} (n={n})",
        params=params,
        cifar=True,
        key_ideas=CIFAR_KEY_IDEAS,
        deviations=PLAIN if plain else (),
        recipe=RECIPE_CIFAR_110 if depth == 110 and not plain else RECIPE_CIFAR,
        accuracy=None if plain else _cifar_accuracy(depth),
        accuracy_note="Fig. 6 (left) plots the plain nets' errors; no table prints them"
        if plain
        else None,
        **(zero_residual_default(RECIPE_CIFAR, ZERO_RESIDUAL_REASON_1202) if twinless else {}),
    )


CIFAR_PARAMS = {20: "0.27M", 32: "0.46M", 44: "0.66M", 56: "0.85M", 110: "1.7M", 1202: "19.4M"}
for _depth, _params in CIFAR_PARAMS.items():
    register_variant(_cifar_card(f"resnet{_depth}", _depth, _params), ResNet, _cifar(_depth))
# Fig. 6 (left): the plain nets, the same layers without shortcuts (Table 6 prints no
# plain params; they equal the option-A ResNet's).
for _depth in PLAIN_DEPTHS:
    _plain = _cifar_card(f"plain{_depth}", _depth, None, plain=True)
    register_variant(_plain, ResNet, _cifar(_depth, shortcut="none"))
