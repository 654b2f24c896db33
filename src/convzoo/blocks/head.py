"""Classifier heads."""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["ClassifierHead"]


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
