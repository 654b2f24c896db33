"""Squeeze-and-excitation (Hu, Shen, Sun 2017, arXiv:1709.01507, Fig. 2-3).

Squeeze: global average pooling summarises each channel. Excitation: a
bottleneck of two 1x1 convolutions (reduce by ratio r, then expand) and a gate
produce per-channel weights that rescale the input. 1x1 convolutions on a 1x1
map are the paper's fully connected layers, and keep the block usable on any
(N, C, H, W) tensor.
"""

from __future__ import annotations

from torch import Tensor, nn

from convzoo.blocks.conv import LayerFactory

__all__ = ["SqueezeExcite"]


class SqueezeExcite(nn.Module):
    """Channel attention: ``x * gate(expand(act(reduce(mean(x)))))``.

    Give either `reduction` (the paper's r) or `reduced_channels` directly
    (MobileNet/EfficientNet size the bottleneck from the block's input channels).
    """

    def __init__(
        self,
        channels: int,
        *,
        reduction: int = 16,
        reduced_channels: int | None = None,
        act: LayerFactory = nn.ReLU,
        gate: LayerFactory = nn.Sigmoid,
    ) -> None:
        super().__init__()
        reduced = reduced_channels if reduced_channels is not None else channels // reduction
        if reduced < 1:
            raise ValueError(
                f"SqueezeExcite bottleneck must have >= 1 channel, got {reduced} "
                f"(channels={channels}, reduction={reduction})"
            )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.act = act()
        self.expand = nn.Conv2d(reduced, channels, 1)
        self.gate = gate()

    def forward(self, x: Tensor) -> Tensor:
        weights = self.gate(self.expand(self.act(self.reduce(self.pool(x)))))  # (N, C, 1, 1)
        return x * weights
