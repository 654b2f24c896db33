"""The Inception pattern: parallel branches over one input, concatenated.

Szegedy et al. (2014, arXiv:1409.4842, section 4): instead of choosing one
filter size per layer, run 1x1, 3x3, 5x5 convolutions and a pooling path side
by side and stack their outputs along the channel axis. Every later version
keeps this module and changes only what goes into the branches (batch norm,
factorized kernels, stride-2 "reduction" branches, a residual connection), so
one `InceptionModule` serves GoogLeNet, BN-Inception, Inception-v3/v4 and the
Inception-ResNets; a branch may itself split (Inception-v3's 1x3 || 3x1
expansion is an `InceptionModule` inside a branch).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

__all__ = ["InceptionModule", "branch_channels"]


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
