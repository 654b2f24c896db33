"""Classifier heads."""

from __future__ import annotations

from torch import Tensor, nn

__all__ = [
    "ClassifierHead",
    "ConvClassifierHead",
    "FullyConnectedHead",
    "fully_connected_rules",
]


class ClassifierHead(nn.Module):
    """Global average pooling -> (dropout) -> ``fc``: the head of every post-2013 network."""

    def __init__(self, in_features: int, num_classes: int, *, dropout: float = 0.0) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(in_features, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.dropout(self.flatten(self.pool(x))))  # (N, C, H, W) -> (N, classes)


class FullyConnectedHead(nn.Sequential):
    """The 2012-2014 head: (pool) -> flatten -> [fc6 -> ReLU -> dropout] x n -> ``fc``.

    Used by AlexNet, ZFNet and VGG. Hidden layers are named after the paper's
    numbering (``fc6``, ``fc7``); dropout follows each hidden layer as in
    Krizhevsky et al. 2012 ("dropout in the first two fully-connected layers").
    `pool_size` adds an adaptive average pool to that size first (identity at the
    paper's input size, and lets other sizes through).
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        *,
        hidden: tuple[int, ...] = (4096, 4096),
        dropout: float = 0.5,
        pool_size: tuple[int, int] | None = None,
        first_index: int = 6,
    ) -> None:
        super().__init__()
        if pool_size is not None:
            self.pool = nn.AdaptiveAvgPool2d(pool_size)
        self.flatten = nn.Flatten(1)  # (N, C, H, W) -> (N, C*H*W)
        width = in_features
        for index, out_features in enumerate(hidden, start=first_index):
            self.add_module(f"fc{index}", nn.Linear(width, out_features))
            self.add_module(f"relu{index}", nn.ReLU(inplace=True))
            self.add_module(f"drop{index}", nn.Dropout(dropout))
            width = out_features
        self.fc = nn.Linear(width, num_classes)


def fully_connected_rules(linear_indices: tuple[int, int, int]) -> list[tuple[str, str]]:
    """Key rules from torchvision's ``classifier`` Sequential, whose three Linear layers
    stand at `linear_indices` among its dropouts and ReLUs, to a network's ``head``: a
    `FullyConnectedHead` with the hidden layers ``fc6`` and ``fc7``."""
    return [
        (rf"^classifier\.{index}\.", f"head.{name}.")
        for index, name in zip(linear_indices, ("fc6", "fc7", "fc"), strict=True)
    ]


class ConvClassifierHead(nn.Sequential):
    """The 2013-2014 all-convolutional head: 1x1 conv ``fc`` -> ReLU -> global average pool.

    Network-in-Network and the All-CNN nets produce one confidence map per class
    with a 1x1 convolution and average each map over space, instead of fully
    connected layers. Both rectify the class maps before averaging (NiN's released
    models, All-CNN's Table 1 "1x1 conv. 10 ReLU"). The 1x1 conv is named ``fc``,
    so ``reset_classifier`` replaces it like any other output layer.
    """

    def __init__(self, in_channels: int, num_classes: int, *, relu: bool = True) -> None:
        super().__init__()
        self.fc = nn.Conv2d(in_channels, num_classes, kernel_size=1)
        self.act = nn.ReLU(inplace=True) if relu else nn.Identity()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)  # (N, classes, 1, 1) -> (N, classes)
