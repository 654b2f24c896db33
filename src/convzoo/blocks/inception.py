"""The Inception pattern: parallel branches over one input, concatenated.

Szegedy et al. (2014, arXiv:1409.4842, section 4): instead of choosing one
filter size per layer, run 1x1, 3x3, 5x5 convolutions and a pooling path side
by side and stack their outputs along the channel axis. Every later version
keeps this module and changes only what goes into the branches (batch norm,
factorized kernels, stride-2 "reduction" branches, a residual connection), so
one `InceptionModule` serves GoogLeNet, BN-Inception, Inception-v3/v4 and the
Inception-ResNets; a branch may itself split (Inception-v3's 1x3 || 3x1
expansion is an `InceptionModule` inside a branch).

Every family writes its modules as data: a module maps branch names to chains of
typed layers (`Conv`, `Pool`, `Split`), and one `BranchBuilder` turns them into
layers. A chain given as a mapping names its layers (GoogLeNet's ``pool``, ``proj``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

__all__ = [
    "BranchBuilder",
    "Branches",
    "Chain",
    "Conv",
    "InceptionModule",
    "Layer",
    "Pool",
    "Split",
    "branch_channels",
]


@dataclass(frozen=True)
class Conv:
    """Conv -> (norm) -> ReLU with `out` filters.

    `valid`: no padding (the figures' "V"); by default convolutions with stride 2
    are unpadded and all others keep H x W.
    """

    out: int
    kernel: int | tuple[int, int] = 1
    stride: int = 1
    valid: bool | None = None

    def __post_init__(self) -> None:
        if self.out < 1 or self.stride not in (1, 2):
            raise ValueError(f"Conv needs out >= 1 and stride 1 or 2, got {self}")


@dataclass(frozen=True)
class Pool:
    """3x3 pooling; stride 2 pools are unpadded, stride 1 pools keep H x W."""

    kind: Literal["max", "avg"] = "max"
    stride: int = 2

    def __post_init__(self) -> None:
        if self.kind not in ("max", "avg") or self.stride not in (1, 2):
            raise ValueError(f"Pool needs kind 'max' or 'avg' and stride 1 or 2, got {self}")


@dataclass(frozen=True)
class Split:
    """Inception-v3's Figure 7 expansion: a 1x3 and a 3x1 conv side by side, `out` each."""

    out: int

    def __post_init__(self) -> None:
        if self.out < 1:
            raise ValueError(f"Split needs out >= 1, got {self}")


Layer = Conv | Pool | Split
Chain = tuple[Layer, ...] | Mapping[str, Layer]  # a mapping names the chain's layers
Branches = Mapping[str, Chain]  # branch name -> chain of layers


def branch_channels(branch: nn.Module, in_channels: int) -> int:
    """Output channels of a branch: its last layer's ``out_channels``, or the
    input's channels for a branch that only pools (a "pass-through")."""
    if hasattr(branch, "out_channels"):
        return int(branch.out_channels)
    for layer in reversed(list(branch.children())):
        if hasattr(layer, "out_channels"):
            return int(layer.out_channels)
    return in_channels


class InceptionModule(nn.Module):
    """``cat([branch(x) for branch in branches], dim=1)``; branch names become submodule names."""

    def __init__(self, in_channels: int, branches: Mapping[str, nn.Module]) -> None:
        super().__init__()
        if not branches:
            raise ValueError("InceptionModule needs at least one branch, got none")
        for name, branch in branches.items():
            self.add_module(name, branch)
        self.in_channels = in_channels
        self.out_channels = sum(branch_channels(b, in_channels) for b in branches.values())

    def forward(self, x: Tensor) -> Tensor:
        # every branch keeps H x W (or all halve it), so they stack along channels
        return torch.cat([branch(x) for branch in self.children()], dim=1)


class BranchBuilder:
    """Turns `Conv`/`Pool`/`Split` chains into layers.

    `conv` makes each convolution (``conv(in, out, kernel, stride=, padding=)``);
    `count_include_pad` and `ceil_mode` are the pools' (GoogLeNet's Caffe pools round up).
    """

    def __init__(
        self,
        conv: Callable[..., nn.Module],
        *,
        count_include_pad: bool = True,
        ceil_mode: bool = False,
    ) -> None:
        self.conv = conv
        self.count_include_pad = count_include_pad
        self.ceil_mode = ceil_mode

    def layer(self, channels: int, spec: Layer) -> tuple[nn.Module, int]:
        """The module for `spec` on `channels` inputs, and its output channels."""
        if isinstance(spec, Conv):
            valid = spec.stride > 1 if spec.valid is None else spec.valid
            conv = self.conv(
                channels, spec.out, spec.kernel, stride=spec.stride, padding=0 if valid else None
            )
            return conv, spec.out
        if isinstance(spec, Split):
            split = InceptionModule(
                channels,
                {
                    "conv1x3": self.conv(channels, spec.out, (1, 3)),
                    "conv3x1": self.conv(channels, spec.out, (3, 1)),
                },
            )
            return split, 2 * spec.out
        return self.pool(spec), channels

    def pool(self, spec: Pool) -> nn.Module:
        pad = 1 if spec.stride == 1 else 0
        if spec.kind == "avg":
            return nn.AvgPool2d(
                3,
                stride=spec.stride,
                padding=pad,
                ceil_mode=self.ceil_mode,
                count_include_pad=self.count_include_pad,
            )
        return nn.MaxPool2d(3, stride=spec.stride, padding=pad, ceil_mode=self.ceil_mode)

    def branch(self, channels: int, chain: Chain) -> nn.Module:
        """One layer alone, else a Sequential (named by a mapping chain, else numbered)."""
        named = chain.items() if isinstance(chain, Mapping) else enumerate(chain)
        layers = OrderedDict()
        for name, spec in named:
            layers[str(name)], channels = self.layer(channels, spec)
        return next(iter(layers.values())) if len(layers) == 1 else nn.Sequential(layers)

    def module(self, channels: int, branches: Branches) -> InceptionModule:
        return InceptionModule(
            channels, {name: self.branch(channels, chain) for name, chain in branches.items()}
        )
