"""Depthwise separable convolution (used by Xception and MobileNet).

A k x k standard convolution from M to N channels costs ``k*k*M*N`` weights per
output pixel; splitting it into a depthwise k x k (one filter per channel,
``k*k*M``) and a pointwise 1x1 (``M*N``) costs ``1/N + 1/k^2`` of that: 8-9x less
for 3x3 kernels (Howard et al. 2017, arXiv:1704.04861, section 3.1).
"""

from __future__ import annotations

from torch import nn

from convzoo.blocks.conv import ConvNormAct, LayerFactory

__all__ = ["DepthwiseSeparableConv"]


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
