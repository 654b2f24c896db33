"""Network in Network: micro-networks as filters, global average pooling as the head.

Lin, Chen, Yan (2013). Network In Network. arXiv:1312.4400. Section 3
(mlpconv layers, global average pooling), Section 4 / Fig. 2 (the CIFAR-10
network: three mlpconv layers, dropout between them).

An mlpconv layer is a k x k convolution followed by 1x1 convolutions, each with
a ReLU: a small multilayer perceptron slid over the image, more expressive
than one linear filter. The last mlpconv layer emits one map per class, and
global average pooling turns each map into that class's score, with no
parameters to overfit.

The paper gives only the structure. Widths, kernels and strides follow the
authors' released Caffe definitions (the CIFAR-10 ``train_val`` and the
"NIN-Imagenet" model-zoo network), as widely reproduced:

    nin_cifar (32x32)                         nin (224x224)
    mlpconv1  192 5x5 | 160 | 96, pool, drop   96 11x11/4 | 96 | 96, pool
    mlpconv2  192 5x5 | 192 | 192, pool, drop  256 5x5 | 256 | 256, pool
    mlpconv3  192 3x3 | 192 | 10 -> GAP        384 3x3 | 384 | 384, pool, drop
    mlpconv4                                   1024 3x3 | 1024 | 1000 -> GAP

Pooling windows are 3x3 with stride 2 and round up, as Caffe's do (8x8 and 6x6
final maps). The last 1x1 layer of the last mlpconv (class maps) is ``head.fc``,
followed by a ReLU as in the released models.

Deviations: `nin_cifar` max-pools after mlpconv2 as the paper says ("followed by
a spatial max pooling layer"); the released file average-pools there.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from convzoo.blocks.head import ConvClassifierHead
from convzoo.models.base import (
    ConvNet,
    PlainStages,
    init_weights_like_torchvision,
    measured_default,
)
from convzoo.registry import Accuracy, ModelCard, Paper, Recipe, Schedule, register

__all__ = ["MlpConv", "NiN", "NiNConfig"]


@dataclass(frozen=True)
class MlpConv:
    """One mlpconv layer: a k x k conv then 1x1 convs ("cccp"), each with ReLU; then pooling."""

    widths: tuple[int, ...]  # the k x k conv's width, then each 1x1 conv's
    kernel_size: int
    stride: int = 1
    padding: int = 0
    pool: bool = True  # 3x3/2 max-pooling after it
    dropout: float = 0.0  # after the pooling

    def __post_init__(self) -> None:
        if not self.widths or min(self.widths) < 1 or self.kernel_size < 1:
            raise ValueError(f"MlpConv needs positive widths and kernel size, got {self}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


@dataclass(frozen=True)
class NiNConfig:
    layers: tuple[MlpConv, ...]
    input_size: int  # the square input the network was defined for


# Fig. 2 / Section 4.1; widths from the authors' CIFAR-10 definition. The class
# layer (10 maps) of mlpconv3 is the head.
NIN_CIFAR = NiNConfig(
    layers=(
        MlpConv(widths=(192, 160, 96), kernel_size=5, padding=2, dropout=0.5),
        MlpConv(widths=(192, 192, 192), kernel_size=5, padding=2, dropout=0.5),
        MlpConv(widths=(192, 192), kernel_size=3, padding=1, pool=False),
    ),
    input_size=32,
)

# The authors' ImageNet definition (the paper has no ImageNet section). The
# class layer (1000 maps) of mlpconv4 is the head.
NIN_IMAGENET = NiNConfig(
    layers=(
        MlpConv(widths=(96, 96, 96), kernel_size=11, stride=4),
        MlpConv(widths=(256, 256, 256), kernel_size=5, padding=2),
        MlpConv(widths=(384, 384, 384), kernel_size=3, padding=1, dropout=0.5),
        MlpConv(widths=(1024, 1024), kernel_size=3, padding=1, pool=False),
    ),
    input_size=224,
)


class NiN(ConvNet):
    """Stages ``mlpconv1``.. and a 1x1-conv + global-average-pooling head."""

    def __init__(
        self,
        config: NiNConfig,
        *,
        num_classes: int = 1000,
        in_channels: int = 3,
    ) -> None:
        body = PlainStages(in_channels)
        channels, stride = in_channels, 1
        for index, row in enumerate(config.layers, start=1):
            layers: dict[str, nn.Module] = {}
            for position, width in enumerate(row.widths):
                if position == 0:  # the k x k convolution
                    layers["conv"] = nn.Conv2d(
                        channels, width, row.kernel_size, stride=row.stride, padding=row.padding
                    )
                    layers["act"] = nn.ReLU(inplace=True)
                else:  # the micro network's 1x1 layers
                    layers[f"mlp{position}"] = nn.Conv2d(channels, width, 1)
                    layers[f"act{position}"] = nn.ReLU(inplace=True)
                channels = width
            stride *= row.stride
            if row.pool:
                layers["pool"] = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # halves H, W
                stride *= 2
            if row.dropout:
                layers["dropout"] = nn.Dropout(row.dropout)
            body.add(f"mlpconv{index}", layers, channels, stride)
        # mlpconv1 is the first stage
        stem, size = nn.Identity(), config.input_size
        body.adopt(self, stem, in_channels=in_channels, num_classes=num_classes, input_size=size)
        self.head = ConvClassifierHead(channels, num_classes)  # class maps -> (N, classes)
        init_weights_like_torchvision(self)


PAPER = Paper(title="Network In Network", authors="Lin, Chen, Yan", year=2013, arxiv="1312.4400")
# Section 4.1: Krizhevsky et al.'s procedure, learning rates set by hand.
RECIPE = Recipe(
    source="Section 4.1",
    optimizer="sgd",
    batch_size=128,
    schedule=Schedule("plateau", factor=0.1, note="twice, when training accuracy stops improving"),
    dropout=0.5,  # on the outputs of all but the last mlpconv layer
    augmentation="none for the 10.41% result; translation and horizontal flips for 8.81%",
    notes=(
        "initial weights and learning rates set by hand, as in Krizhevsky et al.",
        "CIFAR-10 preprocessed by global contrast normalization and ZCA whitening",
    ),
    not_stated=("lr", "epochs", "momentum", "weight_decay", "init"),
)


# The paper sets its rates by hand and does not print them; the zoo's SGD default of
# 0.1 makes the loss NaN within ten steps, 0.01 learns.
DEFAULT = measured_default(
    lr=0.01,
    momentum=0.9,
    weight_decay=5e-4,
    dropout=0.5,
    not_stated=("epochs",),
    notes=("cosine over the run's --epochs",),
)
DEFAULT_REASON = (
    "The paper's learning rates are set by hand and not given; at the zoo's generic SGD "
    "rate 0.1 the loss becomes NaN within ten steps, at 0.01 NiN learns."
)


def _card(name: str, *, cifar: bool) -> ModelCard:
    return ModelCard(
        name=name,
        family="nin",
        paper=PAPER,
        table=(
            "Section 4.1 and Fig. 2 (CIFAR-10); widths from the authors' released definition"
            if cifar
            else "Fig. 2 structure; layers from the authors' released NIN-Imagenet definition"
        ),
        key_ideas=(
            "mlpconv: a small MLP (k x k conv + 1x1 convs) slides over the input, a more "
            "powerful local feature extractor than a linear filter.",
            "1x1 convolutions mix channels at every position: cheap cross-channel pooling.",
            "Global average pooling of one map per class replaces the fully connected "
            "layers: no parameters to overfit, and the maps read as class confidence maps.",
        ),
        input_size=(3, 32, 32) if cifar else (3, 224, 224),
        recipe=RECIPE,
        default_recipe=DEFAULT,
        default_reason=DEFAULT_REASON,
        accuracy=Accuracy.from_error(
            10.41,
            source="Table 1, NIN + Dropout",
            protocol="32x32 test images, no data augmentation",
            dataset="CIFAR-10 test",
        )
        if cifar
        else None,
        accuracy_note=None if cifar else "the paper reports no ImageNet result",
        dataset="CIFAR-10" if cifar else "ImageNet",
        num_classes=10 if cifar else 1000,
        deviations=(
            (
                "max-pooling after mlpconv2 as the paper states (the released definition "
                "average-pools there)",
                "widths 192-160-96 / 192-192-192 / 192-192-10 from the released definition "
                "(the paper gives none)",
            )
            if cifar
            else (
                "the paper reports no ImageNet network; this is the authors' released "
                "NIN-Imagenet definition",
            )
        ),
    )


@register(_card("nin", cifar=False))
def nin(**overrides) -> NiN:  # 7.6M params, 1.1G MACs
    return NiN(NIN_IMAGENET, **overrides)


@register(_card("nin_cifar", cifar=True))
def nin_cifar(**overrides) -> NiN:  # 0.97M params, 0.22G MACs
    return NiN(NIN_CIFAR, **{"num_classes": 10, **overrides})
