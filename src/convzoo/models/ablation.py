"""Small networks for controlled experiments: one design choice switched at a time.

These are not landmark networks. They exist so that `convzoo reproduce` can test a
paper's claim by changing exactly one thing in an otherwise fixed network sized for
28x28 images and a laptop CPU. Each builder names the claims it serves.

- ``ablation_cnn``: a three-stage VGG-style CNN (Simonyan & Zisserman 2014, Very
  Deep Convolutional Networks for Large-Scale Image Recognition, arXiv:1409.1556)
  whose switches are batch normalization (Ioffe & Szegedy 2015, arXiv:1502.03167),
  tanh vs ReLU and dropout (Krizhevsky, Sutskever, Hinton 2012, ImageNet
  Classification with Deep Convolutional Neural Networks, NIPS 2012), LRN (VGG
  Table 1, A vs A-LRN), two stacked 3x3 convolutions vs one 5x5 (VGG section 2.3)
  and a global-average-pool head vs a fully connected one (Lin, Chen, Yan 2013,
  Network In Network, arXiv:1312.4400).
- ``ablation_inception``: two Inception modules, naive (Szegedy et al. 2014, Going
  Deeper with Convolutions, arXiv:1409.4842, Figure 2a) or with 1x1 reductions
  (Figure 2b).
- ``ablation_resnext``: ResNeXt-29 (Xie, Girshick, Dollar, Tu, He 2016, Aggregated
  Residual Transformations for Deep Neural Networks, arXiv:1611.05431, section 5.3)
  with every width divided by 4, so cardinality vs width (Table 3) trains on a CPU.
- ``ablation_mobilenet_v1_conv``: MobileNet v1 with every depthwise separable layer
  replaced by a standard 3x3 convolution, the "Conv MobileNet" of Howard et al.
  2017, arXiv:1704.04861, Table 4 (29.3M params, 4866M mult-adds at 224 px).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from convzoo.blocks.conv import ConvNormAct
from convzoo.blocks.head import ClassifierHead, FullyConnectedHead
from convzoo.blocks.inception import BranchBuilder, Branches, Conv, Pool
from convzoo.models.base import (
    ConvNet,
    FeatureInfo,
    init_weights_like_torchvision,
    register_variant,
)
from convzoo.models.googlenet import PAPER_2014 as GOOGLENET_PAPER
from convzoo.models.googlenet import InceptionRow
from convzoo.models.mobilenet import PAPER_V1 as MOBILENET_PAPER
from convzoo.models.mobilenet import V1_BODY, MobileNetV1
from convzoo.models.resnet import ResNet, ResNetConfig
from convzoo.models.resnext import PAPER as RESNEXT_PAPER
from convzoo.models.resnext import resnext29
from convzoo.models.vgg import PAPER as VGG_PAPER
from convzoo.registry import Accuracy, ModelCard, Paper, Recipe, Reported, register

__all__ = [
    "AblationCNN",
    "AblationInception",
    "ConvMobileNetV1",
    "small_resnext_config",
]

_ACTS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}
_NORMS: dict[str, type[nn.Module] | None] = {"batch": nn.BatchNorm2d, "none": None}
_KERNELS = ("3x3", "3x3x2", "5x5")  # one 3x3, two stacked 3x3 (5x5 field), one 5x5
_HEADS = ("gap", "fc")


def _choice(name: str, value: str, allowed) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {value!r}")
    return value


class AblationCNN(ConvNet):
    """stem (3x3 conv [+ LRN]) -> three stages (conv unit + 2x2 max pool) -> head.

    Stage widths are ``width, 2*width, 4*width``; a 28x28 input ends at 3x3.
    """

    def __init__(
        self,
        *,
        num_classes: int = 10,
        in_channels: int = 1,
        width: int = 32,
        norm: str = "batch",
        act: str = "relu",
        kernel: str = "3x3",
        lrn: bool = False,
        head: str = "gap",
        dropout: float = 0.0,
    ) -> None:
        super().__init__(in_channels, num_classes, default_input_size=(28, 28), min_input_size=8)
        norm_layer = _NORMS[_choice("norm", norm, _NORMS)]
        act_layer = _ACTS[_choice("act", act, _ACTS)]
        _choice("kernel", kernel, _KERNELS)
        _choice("head", head, _HEADS)
        if width < 1 or not 0 <= dropout < 1:
            raise ValueError(f"width must be >= 1 and dropout in [0, 1), got {width}, {dropout}")

        def unit(cin: int, cout: int) -> nn.Sequential:
            if kernel == "3x3x2":  # two 3x3 layers: a 5x5 receptive field, one more non-linearity
                return nn.Sequential(
                    ConvNormAct(cin, cout, 3, norm=norm_layer, act=act_layer),
                    ConvNormAct(cout, cout, 3, norm=norm_layer, act=act_layer),
                )
            k = 5 if kernel == "5x5" else 3
            return nn.Sequential(ConvNormAct(cin, cout, k, norm=norm_layer, act=act_layer))

        stem = ConvNormAct(in_channels, width, 3, norm=norm_layer, act=act_layer)
        # VGG's A-LRN: local response normalisation after the first layer (AlexNet's constants)
        self.stem = nn.Sequential(stem, nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0))
        if not lrn:
            self.stem = nn.Sequential(stem)
        self.feature_info = [FeatureInfo("stem", width, 1)]
        self.stages = nn.Sequential()
        channels = width
        for index, out_channels in enumerate((width, 2 * width, 4 * width), start=1):
            stage = unit(channels, out_channels)
            stage.add_module("pool", nn.MaxPool2d(2))  # (N, C, H/2, W/2)
            self.stages.add_module(f"stage{index}", stage)
            self.feature_info.append(FeatureInfo(f"stage{index}", out_channels, 2**index))
            channels = out_channels
        if head == "gap":
            self.head = ClassifierHead(channels, num_classes, dropout=dropout)
        else:  # (N, 4w, 3, 3) -> flatten -> 256 -> classes, as AlexNet/VGG's fc6..fc8 scaled down
            self.head = FullyConnectedHead(
                channels * 9, num_classes, hidden=(256,), dropout=dropout, pool_size=(3, 3)
            )
        init_weights_like_torchvision(self)


# GoogLeNet Table 1, inception (3a) and (3b), divided by 4
MODULE_A = InceptionRow("3a", n1x1=16, r3x3=24, n3x3=32, r5x5=4, n5x5=8, proj=8)
MODULE_B = InceptionRow("3b", n1x1=32, r3x3=32, n3x3=48, r5x5=8, n5x5=24, proj=16)


def inception_branches(row: InceptionRow, *, reduce: bool) -> Branches:
    """Figure 2b (1x1 reductions before 3x3/5x5, projection after pooling) or 2a (naive)."""
    pool = Pool("max", stride=1)
    if reduce:
        return {
            "branch1": (Conv(row.n1x1),),
            "branch2": (Conv(row.r3x3), Conv(row.n3x3, 3)),
            "branch3": (Conv(row.r5x5), Conv(row.n5x5, 5)),
            "branch4": (pool, Conv(row.proj)),
        }
    # the pooled input is concatenated as it is: channels grow module after module
    return {
        "branch1": (Conv(row.n1x1),),
        "branch2": (Conv(row.n3x3, 3),),
        "branch3": (Conv(row.n5x5, 5),),
        "branch4": (pool,),
    }


class AblationInception(ConvNet):
    """stem 3x3 conv -> (3a)-like module + pool -> (3b)-like module + pool -> GAP head."""

    def __init__(self, *, num_classes: int = 10, in_channels: int = 1, reduce: bool = True) -> None:
        super().__init__(in_channels, num_classes, default_input_size=(28, 28), min_input_size=4)
        self.reduce = reduce
        self.stem = ConvNormAct(in_channels, 64, 3)
        self.feature_info = [FeatureInfo("stem", 64, 1)]
        self.stages = nn.Sequential()
        channels = 64
        build = BranchBuilder(ConvNormAct)
        for index, row in enumerate((MODULE_A, MODULE_B), start=1):
            module = build.module(channels, inception_branches(row, reduce=reduce))
            channels = module.out_channels
            self.stages.add_module(f"inception{index}", nn.Sequential(module, nn.MaxPool2d(2)))
            self.feature_info.append(FeatureInfo(f"inception{index}", channels, 2**index))
        self.head = ClassifierHead(channels, num_classes)
        init_weights_like_torchvision(self)


class ConvMobileNetV1(MobileNetV1):
    """MobileNet v1 (Table 1) with a standard 3x3 ConvNormAct for every separable layer."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(V1_BODY, **kwargs)
        for stage in self.stages:
            for index, block in enumerate(stage):
                stride = block.depthwise.conv.stride[0]
                stage[index] = ConvNormAct(block.in_channels, block.out_channels, 3, stride=stride)
        init_weights_like_torchvision(self)


# not paper networks: each experiment states the settings it trains them with
# SGD at 0.1 per 128 images, linearly scaled to the batch used: at 0.1 and batch 32,
# ablation_modernize went to NaN at step 12 of the learning check; at 0.025, 92.2%.
ABLATION_RECIPE = Recipe(
    source="convzoo reproduce: the experiment's stated protocol (docs/experiments)",
    optimizer="sgd",
    lr=0.1,
    batch_size=128,
    not_stated=("schedule", "epochs", "momentum", "weight_decay"),
)


def _card(
    name: str, table: str, ideas: tuple[str, ...], *, paper: Paper, **extra: Any
) -> ModelCard:
    return ModelCard(
        name=name,
        family="ablation",
        paper=paper,
        recipe=ABLATION_RECIPE,
        table=table,
        key_ideas=ideas,
        input_size=extra.pop("input_size", (1, 28, 28)),
        dataset=extra.pop("dataset", "Fashion-MNIST"),
        num_classes=extra.pop("num_classes", 10),
        deviations=extra.pop("deviations", ("not a paper network: a controlled variant",)),
        **extra,
    )


register_variant(
    _card(
        "ablation_cnn",
        "section 2.3 and Table 1 (A vs A-LRN), scaled to 28x28",
        (
            "One design choice switched at a time: norm, act, kernel, lrn, head, dropout.",
            "Two stacked 3x3 layers see a 5x5 field with 18C^2 instead of 25C^2 weights.",
        ),
        paper=VGG_PAPER,
    ),
    AblationCNN,
)


register_variant(
    _card(
        "ablation_inception",
        "Figure 2 (a: naive, b: with dimension reductions), Table 1 (3a, 3b) / 4",
        (
            "1x1 convolutions before the 3x3 and 5x5 branches cut the multiply-adds.",
            "Without them the pooled branch makes the channels grow module after module.",
        ),
        paper=GOOGLENET_PAPER,
    ),
    AblationInception,
)


@register(
    _card(
        "ablation_mobilenet_v1_conv",
        "Table 4, 'Conv MobileNet' (standard convolutions)",
        (
            "The same body as MobileNet v1 with full 3x3 convolutions.",
            "About 8-9x the multiply-adds of the separable network for ~1% ImageNet top-1.",
        ),
        paper=MOBILENET_PAPER,
        input_size=(3, 224, 224),
        dataset="ImageNet",
        num_classes=1000,
        paper_params=Reported("29.3M"),
        paper_macs=Reported("4866M"),
        accuracy=Accuracy(top1=71.7, source="Table 4", protocol="single crop 224"),
        deviations=("the classifier and the stem are MobileNet v1's",),
    )
)
def ablation_mobilenet_v1_conv(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    width_mult: float = 1.0,
    resolution_mult: float = 1.0,
    dropout: float = 0.0,
) -> ConvMobileNetV1:
    return ConvMobileNetV1(
        num_classes=num_classes,
        in_channels=in_channels,
        width_mult=width_mult,
        resolution_mult=resolution_mult,
        dropout=dropout,
    )


def small_resnext_config(cardinality: int, group_width: int) -> ResNetConfig:
    """ResNeXt-29 (section 5.3) at a quarter of the widths: outputs 64/128/256, stem 16."""
    return resnext29(cardinality, group_width, out_channels=(64, 128, 256), stem_channels=16)


@register(
    _card(
        "ablation_resnext",
        "Table 3 (cardinality vs width at equal cost) on section 5.3's ResNeXt-29, widths / 4",
        (
            "Splitting the bottleneck's 3x3 into `cardinality` groups at fixed cost.",
            "1x16d is a plain bottleneck ResNet; 8x4d is ResNeXt at the same budget.",
        ),
        paper=RESNEXT_PAPER,
    )
)
def ablation_resnext(
    *, num_classes: int = 10, in_channels: int = 1, cardinality: int = 8, group_width: int = 4
) -> ResNet:
    return ResNet(
        small_resnext_config(cardinality, group_width),
        num_classes=num_classes,
        in_channels=in_channels,
    )
