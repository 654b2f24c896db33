"""AlexNet: the 2012 ImageNet network, and its 2014 single-tower revision.

Krizhevsky, Sutskever, Hinton (2012). ImageNet Classification with Deep
Convolutional Neural Networks. Advances in Neural Information Processing
Systems 25, NIPS 2012, pp. 1097-1105. Section 3 and Fig. 2 (`alexnet`).

Krizhevsky (2014). One weird trick for parallelizing convolutional neural
networks. arXiv:1404.5997 (`alexnet_v2`, the one-column network torchvision
ships as ``alexnet``).

`alexnet` (Section 3.5, Fig. 2), at its 227x227 input (the paper writes 224;
only 227 gives the 55x55 maps of Fig. 2 without padding):

    conv1  96 x 11x11/4 -> ReLU -> LRN -> 3x3/2 max-pool    55 -> 27
    conv2 256 x 5x5, two towers -> ReLU -> LRN -> max-pool  27 -> 13
    conv3 384 x 3x3, reads both towers                      13
    conv4 384 x 3x3, two towers                             13
    conv5 256 x 3x3, two towers -> max-pool                 13 -> 6
    fc6 4096 -> fc7 4096 (dropout 0.5 on both) -> fc8 1000

The paper trains on two GPUs; conv2, conv4 and conv5 only see the maps of their
own GPU, which is exactly a grouped convolution with ``groups=2``. conv3 and the
fully connected layers read both halves, so they are ordinary layers.

Local response normalization (Section 3.3) with k=2, n=5, alpha=1e-4, beta=0.75:
``b = a / (k + alpha * sum a^2)^beta``. torch's ``LocalResponseNorm`` divides
its alpha by n, so the paper's alpha is passed as ``n * alpha``.

Deviations: an adaptive average pool to 6x6 before fc6 (the identity at the
paper's input size; lets other sizes through). `alexnet_v2` follows torchvision
exactly, so its weights load: the widths 64-192-384-256-256 of Krizhevsky's
one-GPU cuda-convnet2 configuration, but padding 2 in conv1 and no response
normalization (that configuration normalizes after conv1 and conv2).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from convzoo.blocks.head import FullyConnectedHead, fully_connected_rules
from convzoo.blocks.norm import response_norm
from convzoo.models.base import (
    ConvNet,
    PlainStages,
    init_weights_like_torchvision,
    measured_default,
)
from convzoo.registry import (
    HE_INIT,
    Accuracy,
    ModelCard,
    Paper,
    Recipe,
    Reported,
    Schedule,
    Twin,
    register,
)

__all__ = ["AlexNet", "AlexNetConfig", "ConvLayer"]

PAPER_2012 = Paper(
    title="ImageNet Classification with Deep Convolutional Neural Networks",
    authors="Krizhevsky, Sutskever, Hinton",
    year=2012,
    citation="NIPS 2012, pp. 1097-1105",
)
PAPER_2014 = Paper(
    title="One weird trick for parallelizing convolutional neural networks",
    authors="Krizhevsky",
    year=2014,
    arxiv="1404.5997",
)


@dataclass(frozen=True)
class ConvLayer:
    """One convolutional layer and what follows it (ReLU, then optional LRN and max-pool)."""

    out_channels: int
    kernel_size: int
    stride: int = 1
    padding: int = 0
    groups: int = 1  # 2 where the paper's two GPU towers do not exchange maps
    lrn: bool = False  # response normalization
    pool: bool = False  # overlapping 3x3/2 max-pooling
    bias_init: float = 0.0  # the paper starts some biases at 1 so ReLUs get positive input

    def __post_init__(self) -> None:
        if min(self.out_channels, self.kernel_size, self.stride, self.groups) < 1:
            raise ValueError(f"ConvLayer needs positive sizes, got {self}")
        if self.out_channels % self.groups:
            raise ValueError(
                f"out_channels {self.out_channels} must be divisible by groups {self.groups}"
            )


@dataclass(frozen=True)
class AlexNetConfig:
    """The conv layers conv1..conv5 plus how pooling and normalization are arranged."""

    layers: tuple[ConvLayer, ...]
    input_size: int  # the paper's crop
    pool_before_lrn: bool = False  # ZFNet: ReLU -> pool -> normalize (Fig. 3)
    ceil_mode: bool = False  # pooling windows may hang over the edge (Caffe's rounding)
    hidden: tuple[int, ...] = (4096, 4096)  # fc6, fc7
    hidden_bias_init: float = 0.0
    init_std: float | None = 0.01  # weights ~ N(0, init_std); None: torchvision's init


# Section 3.5 and Fig. 2 of Krizhevsky et al. 2012.
ALEXNET_2012 = AlexNetConfig(
    layers=(
        ConvLayer(out_channels=96, kernel_size=11, stride=4, lrn=True, pool=True),
        ConvLayer(
            out_channels=256, kernel_size=5, padding=2, groups=2, lrn=True, pool=True, bias_init=1
        ),
        ConvLayer(out_channels=384, kernel_size=3, padding=1),
        ConvLayer(out_channels=384, kernel_size=3, padding=1, groups=2, bias_init=1),
        ConvLayer(out_channels=256, kernel_size=3, padding=1, groups=2, pool=True, bias_init=1),
    ),
    input_size=227,
    hidden_bias_init=1.0,  # Section 5: biases of conv2, conv4, conv5 and fc6, fc7 start at 1
)

# The one-column network of Krizhevsky 2014 as torchvision builds it.
ALEXNET_2014 = AlexNetConfig(
    layers=(
        ConvLayer(out_channels=64, kernel_size=11, stride=4, padding=2, pool=True),
        ConvLayer(out_channels=192, kernel_size=5, padding=2, pool=True),
        ConvLayer(out_channels=384, kernel_size=3, padding=1),
        ConvLayer(out_channels=256, kernel_size=3, padding=1),
        ConvLayer(out_channels=256, kernel_size=3, padding=1, pool=True),
    ),
    input_size=224,
    init_std=None,
)


class AlexNet(ConvNet):
    """Five conv stages ``conv1``..``conv5`` and the fc6-fc7-fc head."""

    def __init__(
        self,
        config: AlexNetConfig,
        *,
        num_classes: int = 1000,
        in_channels: int = 3,
        dropout: float = 0.5,
    ) -> None:
        body = PlainStages(in_channels)
        channels, stride = in_channels, 1
        for index, row in enumerate(config.layers, start=1):
            layers: dict[str, nn.Module] = {
                "conv": nn.Conv2d(
                    channels,
                    row.out_channels,
                    row.kernel_size,
                    stride=row.stride,
                    padding=row.padding,
                    groups=row.groups,
                ),
                "act": nn.ReLU(inplace=True),
            }
            pool = nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=config.ceil_mode)
            if row.lrn and not config.pool_before_lrn:
                layers["lrn"] = response_norm()
            if row.pool:
                layers["pool"] = pool  # overlapping: 3x3 windows every 2 pixels
            if row.lrn and config.pool_before_lrn:
                layers["lrn"] = response_norm()
            channels = row.out_channels
            stride *= row.stride * (2 if row.pool else 1)
            body.add(f"conv{index}", layers, channels, stride)
        # conv1 is the first stage
        stem, size = nn.Identity(), config.input_size
        body.adopt(self, stem, in_channels=in_channels, num_classes=num_classes, input_size=size)
        self.config = config
        self.head = FullyConnectedHead(
            channels * 6 * 6, num_classes, hidden=config.hidden, dropout=dropout, pool_size=(6, 6)
        )  # (N, C, 6, 6) -> C*36 features
        self._init_weights()

    @torch.no_grad()
    def _init_weights(self) -> None:
        """Section 5: weights ~ N(0, 0.01); biases 0 or 1 as the config says."""
        if self.config.init_std is None:
            init_weights_like_torchvision(self)
            return
        for row, stage in zip(self.config.layers, self.stages, strict=True):
            nn.init.normal_(stage.conv.weight, 0.0, self.config.init_std)
            nn.init.constant_(stage.conv.bias, row.bias_init)
        for name, m in self.head.named_children():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, self.config.init_std)
                bias = 0.0 if name == "fc" else self.config.hidden_bias_init
                nn.init.constant_(m.bias, bias)


def torchvision_rules(config: AlexNetConfig) -> tuple:
    """torchvision numbers `features` flatly: conv, ReLU (, max-pool) per layer."""
    rules = []
    index = 0
    for stage, row in enumerate(config.layers, start=1):
        rules.append((rf"^features\.{index}\.", f"stages.conv{stage}.conv."))
        index += 3 if row.pool else 2
    rules += fully_connected_rules((1, 4, 6))
    return tuple(rules)


# Sections 4.1, 4.2 and 5 ("Details of learning").
RECIPE_2012 = Recipe(
    source="Sections 4.1, 4.2, 5",
    optimizer="sgd",
    lr=0.01,
    batch_size=128,
    momentum=0.9,
    weight_decay=5e-4,
    schedule=Schedule("plateau", factor=0.1, note="reduced three times before the end"),
    epochs=90,  # "roughly 90 cycles through the training set"
    dropout=0.5,  # fc6 and fc7
    augmentation="random 224x224 crops of 256x256 images and their mirror images; "
    "PCA colour jitter (std 0.1 along the RGB principal components)",
    init="weights N(0, 0.01); biases 1 in conv2, conv4, conv5 and fc6/fc7, 0 elsewhere",
)
# What the zoo trains AlexNet with: the paper's optimizer and rate, He initialisation,
# and a cosine decay that fits any number of epochs.
DEFAULT_2012 = measured_default(
    lr=0.01,
    momentum=0.9,
    weight_decay=5e-4,
    epochs=90,
    dropout=0.5,
    init=HE_INIT,
)
DEFAULT_REASON = (
    "With Section 5's N(0, 0.01) weights each layer shrinks the signal about tenfold, so "
    "a run of a few epochs stays at chance (the paper trained for 90). He initialisation "
    "keeps the signal's scale and learns in the first epoch at the paper's lr 0.01 (lr "
    "0.1 diverges); a cosine decay replaces the hand-timed drops, which a short run "
    "cannot wait for."
)
# Section 5 scales learning rate, momentum and weight decay with the batch size
# for its parallel schemes; those rules are not transcribed here.
RECIPE_2014 = Recipe(
    source="Section 5",
    optimizer="sgd",
    batch_size=128,
    not_stated=("lr", "schedule", "epochs", "momentum", "weight_decay"),
    notes=(
        "the paper's learning-rate and momentum rules depend on the batch size and "
        "the number of GPUs (Section 5); they are not transcribed on this card",
    ),
)

_KEY_IDEAS_2012 = (
    "A deep convolutional network trained on GPUs wins ImageNet 2012 by a wide margin.",
    "ReLU non-linearities train several times faster than saturating tanh units.",
    "Overlapping max-pooling (3x3 windows, stride 2) and local response normalization "
    "each lower the error slightly.",
    "Dropout in fc6/fc7 and data augmentation fight the overfitting of 60M parameters.",
    "Two GPUs: each holds half the maps; conv2, conv4 and conv5 see only their own half "
    "(grouped convolution).",
)


@register(
    ModelCard(
        name="alexnet",
        family="alexnet",
        paper=PAPER_2012,
        table="Section 3.5, Fig. 2",
        key_ideas=_KEY_IDEAS_2012,
        input_size=(3, 227, 227),
        paper_params=Reported("60M"),
        recipe=RECIPE_2012,
        default_recipe=DEFAULT_2012,
        default_reason=DEFAULT_REASON,
        accuracy=Accuracy(
            top1=62.5,  # 37.5% top-1 error
            top5=83.0,  # 17.0% top-5 error
            source="Table 1 (CNN)",
            protocol="10-crop (four corners, centre, and their mirrors; Section 4.1)",
            dataset="ILSVRC-2010 test",
        ),
        deviations=(
            "227x227 input (the paper says 224x224, but only 227 yields the 55x55 conv1 maps)",
            "adaptive average pool to 6x6 before fc6 (identity at 227x227)",
            "the paper's 'sixty million' is a round figure: the layers as described hold "
            "60,965,224 parameters",
        ),
    )
)
def alexnet(**overrides) -> AlexNet:  # 61.0M params, 0.72G MACs
    return AlexNet(ALEXNET_2012, **overrides)


@register(
    ModelCard(
        name="alexnet_v2",
        family="alexnet",
        paper=PAPER_2014,
        table="the one-column model (cuda-convnet2 layers-223-1gpu), as built by torchvision",
        key_ideas=(
            "One tower: with better parallelism (data-parallel convs, model-parallel fc "
            "layers) the network no longer needs to be split in two.",
            "Narrower first layers (64, 192 maps) and no grouped convolutions.",
            "Most parameters sit in fc6-fc8; most computation in the convolutions.",
        ),
        input_size=(3, 224, 224),
        recipe=RECIPE_2014,
        default_recipe=DEFAULT_2012,
        default_reason=(
            "The paper gives no learning rate for one column; the zoo's fallback (SGD 0.1) "
            "diverged on the 2-epoch check at batch 32. The one-tower network trains with "
            "AlexNet's default: " + DEFAULT_REASON[0].lower() + DEFAULT_REASON[1:]
        ),
        accuracy_note="the paper reports errors of its parallel training schemes (Table 1), "
        "not of this one-column network as torchvision builds it",
        twins=(Twin("torchvision", "alexnet", torchvision_rules(ALEXNET_2014)),),
        deviations=(
            "follows torchvision: conv1 padded by 2 and no response normalization (the "
            "cuda-convnet2 configuration pads 0 and normalizes after conv1 and conv2)",
            "adaptive average pool to 6x6 before fc6 (identity at 224x224)",
            "dropout after fc6 and fc7 (torchvision: before them); the same in eval mode",
        ),
    )
)
def alexnet_v2(**overrides) -> AlexNet:  # 61.1M params, 0.71G MACs
    return AlexNet(ALEXNET_2014, **overrides)
