"""ZFNet: AlexNet with a finer first layer, found by looking at what it learned.

Zeiler & Fergus (2013). Visualizing and Understanding Convolutional Networks.
arXiv:1311.2901. Fig. 3 (the architecture) and Section 4.

Visualizing AlexNet's first two layers with a deconvnet showed dead and
aliased filters; the fix was a smaller first kernel with a smaller stride
(7x7/2 instead of 11x11/4) and a stride-2 conv2. At the 224x224 crop, Fig. 3:

    layer 1   96 x 7x7/2 -> ReLU -> 3x3/2 max-pool -> normalize   110 -> 55
    layer 2  256 x 5x5/2 -> ReLU -> 3x3/2 max-pool -> normalize    26 -> 13
    layer 3  384 x 3x3                                             13
    layer 4  384 x 3x3                                             13
    layer 5  256 x 3x3 -> 3x3/2 max-pool                           13 -> 6
    layer 6, 7: 4096 fully connected, dropout 0.5; output layer

One GPU, so no grouped convolutions. The model is AlexNet's class with
ZFNet's config (see `convzoo.models.alexnet`).

Deviations (choices the paper leaves open, made to reproduce Fig. 3's map sizes):
conv1 is padded by 1 (224 -> 110; unpadded gives 109) and max-pooling rounds up
(110 -> 55 and 26 -> 13; rounding down gives 54 and 12), as Caffe does; the
normalization "across feature maps" uses AlexNet's response-normalization
constants (n=5, alpha=1e-4, beta=0.75, k=2), which the paper does not state;
an adaptive average pool to 6x6 before fc6 (the identity at 224x224).
"""

from __future__ import annotations

from convzoo.models.alexnet import DEFAULT_2012, AlexNet, AlexNetConfig, ConvLayer
from convzoo.registry import Accuracy, ModelCard, Paper, Recipe, Schedule, register

__all__ = ["ZFNET", "ZFNet"]

# Fig. 3.
ZFNET = AlexNetConfig(
    layers=(
        ConvLayer(out_channels=96, kernel_size=7, stride=2, padding=1, lrn=True, pool=True),
        ConvLayer(out_channels=256, kernel_size=5, stride=2, lrn=True, pool=True),
        ConvLayer(out_channels=384, kernel_size=3, padding=1),
        ConvLayer(out_channels=384, kernel_size=3, padding=1),
        ConvLayer(out_channels=256, kernel_size=3, padding=1, pool=True),
    ),
    input_size=224,
    pool_before_lrn=True,  # Fig. 3: ReLU, then pooling, then contrast normalization
    ceil_mode=True,
    init_std=0.01,  # Section 3.1: weights 1e-2, biases 0
)

PAPER = Paper(
    title="Visualizing and Understanding Convolutional Networks",
    authors="Zeiler, Fergus",
    year=2013,
    arxiv="1311.2901",
)
# Section 3.1 (training details).
RECIPE = Recipe(
    source="Section 3.1",
    optimizer="sgd",
    lr=0.01,
    batch_size=128,
    momentum=0.9,
    schedule=Schedule("plateau", factor=0.1, note="annealed by hand"),
    epochs=70,
    dropout=0.5,  # fc6 and fc7
    augmentation="10 sub-crops of 224x224 (corners and centre, with and without flips) "
    "of the central 256x256 region",
    init="weights 1e-2, biases 0; conv filters whose RMS exceeds 1e-1 are renormalized to it",
    not_stated=("weight_decay",),
)


class ZFNet(AlexNet):
    """ZFNet: AlexNet's layout (conv1..conv5, fc6-fc7-fc) with Fig. 3's layers."""


@register(
    ModelCard(
        name="zfnet",
        family="zfnet",
        paper=PAPER,
        table="Fig. 3",
        key_ideas=(
            "A deconvnet maps a unit's activation back to pixels, showing what each layer "
            "responds to: edges and colours first, then textures, parts and objects.",
            "The visualizations diagnosed AlexNet's first layer: 7x7/2 filters instead of "
            "11x11/4 remove aliasing and dead filters and lower the error.",
            "Occluding parts of the image shows the network uses the object, not its context.",
        ),
        input_size=(3, 224, 224),
        recipe=RECIPE,
        default_recipe=DEFAULT_2012,
        default_reason="As for AlexNet, whose recipe ZFNet follows: weights of std 1e-2 "
        "keep a short run at chance; the zoo trains it with He initialisation, the "
        "paper's lr 0.01 and a cosine decay.",
        accuracy=Accuracy(
            top1=61.6,  # 38.4% top-1 error
            top5=83.5,  # 16.5% top-5 error
            source='Table 2, "1 convnet as per Fig. 3"',
            protocol="as in Krizhevsky et al. (the paper does not restate it)",
            dataset="ILSVRC-2012 val",
        ),
        deviations=(
            "conv1 padded by 1 and max-pooling rounding up, so the maps are Fig. 3's "
            "110/55/26/13/6 (the paper does not state padding or rounding)",
            "normalization across maps uses AlexNet's LRN constants (n=5, alpha=1e-4, "
            "beta=0.75, k=2); the paper gives none",
            "adaptive average pool to 6x6 before fc6 (identity at 224x224)",
        ),
    )
)
def zfnet(**overrides) -> ZFNet:  # 62.4M params, 1.17G MACs
    return ZFNet(ZFNET, **overrides)
