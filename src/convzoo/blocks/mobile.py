"""Depthwise separable convolution (Xception, MobileNet v1) and the inverted residual
(MobileNet v2, EfficientNet's MBConv), with the mobile families' classifier head.

A k x k standard convolution from M to N channels costs ``k*k*M*N`` weights per
output pixel; splitting it into a depthwise k x k (one filter per channel,
``k*k*M``) and a pointwise 1x1 (``M*N``) costs ``1/N + 1/k^2`` of that: 8-9x less
for 3x3 kernels (Howard et al. 2017, arXiv:1704.04861, section 3.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import Tensor, nn

from convzoo.blocks.attention import SqueezeExcite
from convzoo.blocks.conv import ConvNormAct, LayerFactory
from convzoo.blocks.regularize import StochasticDepth

__all__ = [
    "ConvHead",
    "DepthwiseSeparableConv",
    "InvertedResidual",
    "InvertedResidualRow",
    "inverted_residual_stage",
]


class DepthwiseSeparableConv(nn.Sequential):
    """``depthwise`` (k x k, groups=in_channels) then ``pointwise`` (1x1).

    MobileNet v1 puts norm + act after both; Xception puts nothing between them
    (``mid_norm=None, mid_act=None``) and its norm after the pointwise conv.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        *,
        stride: int = 1,
        dilation: int = 1,
        padding: int | None = None,
        mid_norm: LayerFactory | None = nn.BatchNorm2d,
        mid_act: LayerFactory | None = nn.ReLU,
        norm: LayerFactory | None = nn.BatchNorm2d,
        act: LayerFactory | None = nn.ReLU,
        bias: bool = False,
    ) -> None:
        super().__init__()
        self.depthwise = ConvNormAct(
            in_channels,
            in_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=in_channels,
            bias=bias,
            norm=mid_norm,
            act=mid_act,
        )
        self.pointwise = ConvNormAct(in_channels, out_channels, 1, bias=bias, norm=norm, act=act)
        self.in_channels = in_channels
        self.out_channels = out_channels


class InvertedResidual(nn.Module):
    """MobileNet v2's inverted residual with a linear bottleneck, and EfficientNet's MBConv.

    ``expand`` (1x1 to ``t * in_channels``, left out when t = 1) -> ``depthwise``
    (k x k, carries the stride) -> ``se`` (optional squeeze-excite) -> ``project``
    (1x1 back down, *linear*: no activation, because a ReLU on the narrow
    bottleneck destroys information; Sandler et al. 2018, section 3.2). The
    shortcut joins the narrow ends, only when the stride is 1 and the widths match.

    MobileNet v2 uses ReLU6 and no SE; EfficientNet's MBConv uses SiLU, an SE whose
    bottleneck is a quarter of the block's *input* channels, and stochastic depth
    (`drop_path`: the probability of skipping the residual branch while training).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        expand_ratio: float = 6,
        kernel_size: int = 3,
        stride: int = 1,
        act: LayerFactory = nn.ReLU6,
        norm: LayerFactory = nn.BatchNorm2d,
        se_channels: int | None = None,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"InvertedResidual stride must be 1 or 2, got {stride}")
        if expand_ratio < 1:
            raise ValueError(f"InvertedResidual expand_ratio must be >= 1, got {expand_ratio}")
        if not 0.0 <= drop_path < 1.0:
            raise ValueError(f"drop_path must be in [0, 1), got {drop_path}")
        hidden = round(in_channels * expand_ratio)
        self.expand = (
            ConvNormAct(in_channels, hidden, 1, norm=norm, act=act)
            if hidden != in_channels
            else None
        )
        self.depthwise = ConvNormAct(
            hidden, hidden, kernel_size, stride=stride, groups=hidden, norm=norm, act=act
        )
        self.se = (
            SqueezeExcite(hidden, reduced_channels=se_channels, act=act)
            if se_channels is not None
            else None
        )
        self.project = ConvNormAct(hidden, out_channels, 1, norm=norm, act=None)
        self.use_residual = stride == 1 and in_channels == out_channels
        # stochastic depth only makes sense where there is a shortcut to fall back on
        self.drop_path = (
            StochasticDepth(drop_path, "row") if self.use_residual and drop_path > 0 else None
        )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.hidden_channels = hidden

    def zero_init_last(self) -> None:
        """Start as the identity: the residual branch's last BN scale at 0 (no shortcut: no-op)."""
        if self.use_residual and isinstance(self.project.norm, nn.BatchNorm2d):
            nn.init.zeros_(self.project.norm.weight)

    def forward(self, x: Tensor) -> Tensor:
        out = self.expand(x) if self.expand is not None else x  # (N, t*C_in, H, W)
        out = self.depthwise(out)  # (N, t*C_in, H/s, W/s)
        if self.se is not None:
            out = self.se(out)
        out = self.project(out)  # (N, C_out, H/s, W/s)
        if not self.use_residual:
            return out
        if self.drop_path is not None:
            out = self.drop_path(out)
        return out + x


@dataclass(frozen=True)
class InvertedResidualRow:
    """A row of inverted residuals: MobileNetV2's Table 2 "bottleneck" rows (t, c, n, s)
    and EfficientNet-B0's Table 1 rows (MBConv{t} k{kernel_size}, channels, #layers).

    The first of the `repeats` blocks carries the `stride`; the others keep the shape.
    """

    expand_ratio: int  # t: the 1x1 widens the input t-fold
    out_channels: int  # c
    repeats: int  # n, EfficientNet's #layers
    stride: int  # s
    kernel_size: int = 3  # of the depthwise conv

    def __post_init__(self) -> None:
        positive = min(self.expand_ratio, self.out_channels, self.repeats) >= 1
        if not positive or self.stride not in (1, 2) or self.kernel_size % 2 == 0:
            raise ValueError(
                f"InvertedResidualRow needs positive t, c, n, stride 1|2, odd kernel: {self}"
            )


def inverted_residual_stage(
    row: InvertedResidualRow,
    in_channels: int,
    out_channels: int,
    *,
    act: LayerFactory = nn.ReLU6,
    norm: LayerFactory = nn.BatchNorm2d,
    se_ratio: float | None = None,
    drop_paths: Sequence[float] | None = None,
) -> nn.Sequential:
    """The blocks of `row` (``out_channels`` already width-scaled), as ``0``, ``1``, ...

    `se_ratio` sizes each block's squeeze-excite from its input channels (MBConv);
    `drop_paths` gives each block's stochastic-depth rate and, with it, the number of
    blocks (a depth-scaled row); without it there are ``row.repeats`` blocks.
    """
    drop_paths = [0.0] * row.repeats if drop_paths is None else drop_paths
    blocks = []
    for index, drop_path in enumerate(drop_paths):
        blocks.append(
            InvertedResidual(
                in_channels,
                out_channels,
                expand_ratio=row.expand_ratio,
                kernel_size=row.kernel_size,
                stride=row.stride if index == 0 else 1,
                act=act,
                norm=norm,
                se_channels=None if se_ratio is None else max(1, int(in_channels * se_ratio)),
                drop_path=drop_path,
            )
        )
        in_channels = out_channels
    return nn.Sequential(*blocks)


class ConvHead(nn.Module):
    """The mobile families' head: ``conv`` (1x1 to a wide feature) -> pool -> dropout -> ``fc``.

    MobileNet v2's final 1x1 conv to 1280 channels and EfficientNet's stage 9
    ("Conv1x1 & Pooling & FC") both widen the features *before* pooling, where a
    1x1 conv is cheap (7x7 positions) and the classifier gets a rich vector.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        num_classes: int,
        *,
        dropout: float = 0.0,
        act: LayerFactory = nn.ReLU6,
        norm: LayerFactory = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        self.conv = ConvNormAct(in_channels, hidden_channels, 1, norm=norm, act=act)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(hidden_channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.flatten(self.pool(self.conv(x)))  # (N, C, H, W) -> (N, hidden)
        return self.fc(self.dropout(x))
