"""Residual blocks: basic and bottleneck, post- or pre-activation, with shortcut options.

He, Zhang, Ren, Sun (2015). Deep Residual Learning for Image Recognition.
arXiv:1512.03385. A block computes ``y = F(x) + shortcut(x)``: the stacked
layers learn a residual ``F`` and an identity path carries the signal (and the
gradient) through unchanged.

- Basic block (Fig. 5 left): 3x3 -> 3x3, used by ResNet-18/34 and the CIFAR nets.
- Bottleneck (Fig. 5 right): 1x1 reduce -> 3x3 -> 1x1 expand, four times fewer
  channels in the 3x3. Its ``groups`` give ResNeXt's cardinality (Xie et al.
  2016, arXiv:1611.05431), a wider 3x3 gives Wide ResNet's ``wide_resnet50_2``.
- Stride placement: the paper strides the first 1x1 (``stride_at="1x1"``);
  torchvision/timm ("ResNet v1.5") stride the 3x3 (``stride_at="3x3"``), which
  costs ~0.2 GMACs more in ResNet-50 and loses less information.
- Shortcut options (section 3.3, Table 3): "A" zero-pads new channels and
  subsamples (no parameters), "B" projects (1x1 conv + BN) only where the shape
  changes, "C" projects everywhere; "none" drops the shortcut (the plain nets).
- Pre-activation (He et al. 2016, arXiv:1603.05027): BN-ReLU move before each
  convolution, nothing follows the addition, so the identity path stays clean
  from block to block. A projection shortcut reads the pre-activated input.
- ``se_reduction`` adds squeeze-and-excitation on the residual branch before the
  addition (Hu et al. 2017, arXiv:1709.01507, Fig. 3). ``se_at="3x3"`` moves it
  after the 3x3 with a squeeze of ``se_channels``: RegNet's Y block
  (Radosavovic et al. 2020, arXiv:2003.13678, Section 5).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal

import torch.nn.functional as F
from torch import Tensor, nn

from convzoo.blocks.attention import SqueezeExcite
from convzoo.blocks.conv import ConvNormAct

__all__ = [
    "BasicBlock",
    "Bottleneck",
    "NormAct",
    "PadShortcut",
    "ShortcutOption",
    "bottleneck_width",
    "make_shortcut",
]

ShortcutOption = Literal["A", "B", "C", "none"]
SHORTCUT_OPTIONS = ("A", "B", "C", "none")


def bottleneck_width(out_channels: int, *, cardinality: int = 1, base_width: int = 64) -> int:
    """Width of a bottleneck's 3x3: ``cardinality * d`` with ``d = out/4 * base_width/64``.

    ResNet: out 256 -> 64. ResNeXt 32x4d: out 256 -> 32 groups of 4 = 128.
    wide_resnet50_2 (base_width 128): out 256 -> 128.
    """
    return (out_channels // 4) * base_width // 64 * cardinality


class NormAct(nn.Sequential):
    """``norm`` -> ``act``: the pre-activation that precedes a convolution."""

    def __init__(self, channels: int) -> None:
        super().__init__(OrderedDict(norm=nn.BatchNorm2d(channels), act=nn.ReLU(inplace=True)))


class PadShortcut(nn.Module):
    """Option A: subsample by the stride and append zero channels (no parameters)."""

    def __init__(self, in_channels: int, out_channels: int, *, stride: int) -> None:
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(
                f"option A shortcut can only add channels, got {in_channels} -> {out_channels}"
            )
        self.extra = out_channels - in_channels
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, :: self.stride, :: self.stride]  # (N, C, H/s, W/s)
        return F.pad(x, (0, 0, 0, 0, 0, self.extra))  # (N, C + extra, H/s, W/s), zeros appended


def make_shortcut(
    in_channels: int,
    out_channels: int,
    *,
    stride: int,
    option: ShortcutOption,
    kernel_size: int = 1,
    norm: bool = True,
) -> nn.Module | None:
    """The shortcut of one block; ``None`` for the plain (shortcut-free) nets.

    `norm=False` gives the pre-activation projection (a bare conv, the BN is before it).
    `kernel_size=3` is SENet-154's downsampling projection.
    """
    if option not in SHORTCUT_OPTIONS:
        raise ValueError(f"shortcut option must be one of {SHORTCUT_OPTIONS}, got {option!r}")
    if option == "none":
        return None
    same_shape = in_channels == out_channels and stride == 1
    if same_shape and option != "C":
        return nn.Identity()
    if option == "A":
        return PadShortcut(in_channels, out_channels, stride=stride)
    return ConvNormAct(
        in_channels,
        out_channels,
        kernel_size,
        stride=stride,
        bias=False,
        norm=nn.BatchNorm2d if norm else None,
        act=None,
    )


class _ResidualBlock(nn.Module):
    """Shared forward: ``act(se(F(preact(x))) + shortcut(x))``.

    A block whose ``residual`` applies ``se`` itself sets ``se_on_output`` to False.
    """

    se_on_output = True
    last_conv_name: str

    preact: nn.Module
    se: nn.Module
    shortcut: nn.Module | None
    act: nn.Module

    def _setup(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        shortcut: ShortcutOption,
        shortcut_kernel: int,
        preact: bool,
        se_reduction: int | None,
    ) -> None:
        """The parts every block has, from the options both block types take."""
        if stride not in (1, 2):
            raise ValueError(f"block stride must be 1 or 2, got {stride}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.preact = NormAct(in_channels) if preact else nn.Identity()
        self.se = (
            SqueezeExcite(out_channels, reduction=se_reduction) if se_reduction else nn.Identity()
        )
        self.shortcut = make_shortcut(
            in_channels,
            out_channels,
            stride=stride,
            option=shortcut,
            kernel_size=shortcut_kernel,
            norm=not preact,
        )
        # a projection reads the pre-activated input; identity and option A read x itself
        self.shortcut_reads_preact = preact and isinstance(self.shortcut, ConvNormAct)
        # post-activation blocks apply ReLU after the addition; pre-activation ones do not
        self.act = nn.Identity() if preact else nn.ReLU(inplace=True)

    def residual(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    @property
    def last_conv(self) -> ConvNormAct:
        """The branch's last convolution (each block type names it in `last_conv_name`)."""
        return getattr(self, self.last_conv_name)

    def zero_init_last(self) -> None:
        """Start as the identity (Goyal et al. 2017, the recipe's zero-residual init): the
        branch's last BN scale at 0. No-op without a shortcut (the plain nets) and in
        pre-activation blocks (their last conv is bare)."""
        norm = getattr(self.last_conv, "norm", None)
        if self.shortcut is not None and isinstance(norm, nn.BatchNorm2d):
            nn.init.zeros_(norm.weight)

    def forward(self, x: Tensor) -> Tensor:
        pre = self.preact(x)
        out = self.residual(pre)
        if self.se_on_output:
            out = self.se(out)
        if self.shortcut is None:  # plain network
            return self.act(out)
        identity = self.shortcut(pre if self.shortcut_reads_preact else x)
        return self.act(out + identity)


def _conv(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    *,
    stride: int = 1,
    groups: int = 1,
    last: bool,
    preact: bool,
) -> ConvNormAct:
    """A conv of the residual branch.

    Post-activation: conv-BN-ReLU, the last one conv-BN (ReLU after the addition).
    Pre-activation: the BN-ReLU before the first conv is the block's ``preact``, so
    each conv carries the BN-ReLU of the next one and the last conv is bare.
    """
    if last:
        norm, act = (None, None) if preact else (nn.BatchNorm2d, None)
    else:
        norm, act = nn.BatchNorm2d, nn.ReLU
    return ConvNormAct(
        in_channels,
        out_channels,
        kernel_size,
        stride=stride,
        groups=groups,
        bias=False,  # BN follows (or, pre-activation, the next block's BN / the final BN)
        norm=norm,
        act=act,
    )


class BasicBlock(_ResidualBlock):
    """3x3 (stride) -> 3x3 (Fig. 5 left); ``dropout`` between them is Wide ResNet's."""

    last_conv_name = "conv2"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        stride: int = 1,
        shortcut: ShortcutOption = "B",
        shortcut_kernel: int = 1,
        preact: bool = False,
        se_reduction: int | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self._setup(
            in_channels, out_channels, stride, shortcut, shortcut_kernel, preact, se_reduction
        )
        self.conv1 = _conv(in_channels, out_channels, 3, stride=stride, last=False, preact=preact)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv2 = _conv(out_channels, out_channels, 3, last=True, preact=preact)

    def residual(self, x: Tensor) -> Tensor:
        return self.conv2(self.dropout(self.conv1(x)))


class Bottleneck(_ResidualBlock):
    """1x1 reduce -> 3x3 (``groups``) -> 1x1 expand (Fig. 5 right; ResNeXt Fig. 3c).

    `width` is the 3x3's width (default ``out_channels // 4``); `reduce_width` the
    first 1x1's output (default `width`; SENet-154 uses half of it).
    `stride_at` says which conv downsamples: the paper's "1x1" or v1.5's "3x3".
    `se_at="3x3"` puts a squeeze-and-excitation of `se_channels` after the 3x3
    (RegNet's Y block) instead of SE-ResNet's one on the block's output.
    """

    last_conv_name = "conv3"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        stride: int = 1,
        width: int | None = None,
        reduce_width: int | None = None,
        groups: int = 1,
        stride_at: Literal["1x1", "3x3"] = "3x3",
        shortcut: ShortcutOption = "B",
        shortcut_kernel: int = 1,
        preact: bool = False,
        se_reduction: int | None = None,
        se_at: Literal["output", "3x3"] = "output",
        se_channels: int | None = None,
    ) -> None:
        super().__init__()
        if stride_at not in ("1x1", "3x3") or se_at not in ("output", "3x3"):
            raise ValueError(
                f"stride_at and se_at must be '1x1'/'3x3' and 'output'/'3x3', "
                f"got {stride_at!r}, {se_at!r}"
            )
        width = width if width is not None else out_channels // 4
        reduce_width = reduce_width if reduce_width is not None else width
        if width % groups or reduce_width % groups:
            raise ValueError(
                f"bottleneck widths ({reduce_width}, {width}) must be divisible by groups={groups}"
            )
        self._setup(
            in_channels, out_channels, stride, shortcut, shortcut_kernel, preact, se_reduction
        )
        first, middle = (stride, 1) if stride_at == "1x1" else (1, stride)
        self.conv1 = _conv(in_channels, reduce_width, 1, stride=first, last=False, preact=preact)
        self.conv2 = _conv(
            reduce_width, width, 3, stride=middle, groups=groups, last=False, preact=preact
        )
        self.conv3 = _conv(width, out_channels, 1, last=True, preact=preact)
        if se_at == "3x3":
            self._squeeze_after_3x3(width, se_channels)

    def _squeeze_after_3x3(self, width: int, se_channels: int | None) -> None:
        """Y block: SE on the 3x3's output. Its modules are registered in the order
        of Fig. 4 (conv1, conv2, se, conv3, shortcut), which fixes the seeded init."""
        self.se_on_output = False
        self.se = (
            SqueezeExcite(width, reduced_channels=se_channels) if se_channels else nn.Identity()
        )
        for name in ("se", "conv3", "shortcut"):
            self._modules[name] = self._modules.pop(name)

    def residual(self, x: Tensor) -> Tensor:
        y = self.conv2(self.conv1(x))
        if not self.se_on_output:
            y = self.se(y)
        return self.conv3(y)
