"""The NASNet-A cell machinery: a cell table (Figure 4 as data), its ops and the
cell that interprets a table.

Zoph, Vasudevan, Shlens, Le (2018). Learning Transferable Architectures for Scalable
Image Recognition. arXiv:1707.07012. Each of a cell's five blocks adds two ops on
earlier states; the cell concatenates the states its table lists. Separable convs are
ReLU-separable conv-BN applied twice; ops reading a reduction cell's inputs have
stride 2; strided layers pad as TensorFlow's "same" (the odd pixel at the end).
The tables themselves live with the model, in ``convzoo.models.nasnet``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from convzoo.blocks.mobile import DepthwiseSeparableConv
from convzoo.blocks.padding import SamePad
from convzoo.blocks.regularize import StochasticDepth

__all__ = ["NORM", "OPS", "Branch", "Cell", "CellStage", "CellTable", "FactorizedReduction"]

NORM = partial(nn.BatchNorm2d, eps=1e-3)  # TensorFlow's batch_norm_epsilon


# -- Figure 4 as data ---------------------------------------------------------------

# Figure 4 names the cell's inputs h_i (the previous cell) and h_{i-1}: "h1" and "h2" here.
OPS = ("sep_3x3", "sep_5x5", "sep_7x7", "avg_3x3", "max_3x3", "identity")


@dataclass(frozen=True)
class Branch:
    """One of a block's two inputs: ``op(source)``."""

    source: str  # "h1" = h[i-1], "h2" = h[i-2], "b0".."b4" = an earlier block of the cell
    op: str  # sep_3x3 | sep_5x5 | sep_7x7 | avg_3x3 | max_3x3 | identity


@dataclass(frozen=True)
class CellTable:
    """A cell: blocks of ``left + right``, then the concatenation of `concat`."""

    blocks: tuple[tuple[Branch, Branch], ...]
    concat: tuple[str, ...]

    def __post_init__(self) -> None:
        known = {"h1", "h2"}
        for b, block in enumerate(self.blocks):
            for branch in block:
                if branch.source not in known or branch.op not in OPS:
                    raise ValueError(f"block {b}: {branch} reads an unknown state or op")
            known.add(f"b{b}")
        if not set(self.concat) <= known:
            raise ValueError(f"concat {self.concat} names states the cell does not have")


# -- the ops ------------------------------------------------------------------------


def relu_conv_bn(in_channels: int, out_channels: int) -> nn.Sequential:
    """The adjust of a cell input: ReLU -> 1x1 conv -> BN."""
    return nn.Sequential(
        OrderedDict(  # names, not positions, in the state dict
            act=nn.ReLU(),
            conv=nn.Conv2d(in_channels, out_channels, 1, bias=False),
            norm=NORM(out_channels),
        )
    )


class FactorizedReduction(nn.Module):
    """Halve h[i-2]'s resolution without skipping pixels: ReLU, then a 1x1 conv on the
    even pixels and one on the odd pixels (shifted by one, zero past the end), concatenated
    and batch-normalised."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.act = nn.ReLU()
        self.path1 = nn.Conv2d(in_channels, out_channels // 2, 1, bias=False)
        self.path2 = nn.Conv2d(in_channels, out_channels - out_channels // 2, 1, bias=False)
        self.norm = NORM(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        x = self.act(x)
        shifted = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        paths = (self.path1(x[:, :, ::2, ::2]), self.path2(shifted[:, :, ::2, ::2]))
        return self.norm(torch.cat(paths, dim=1))


def adjust(kind: str, in_channels: int, width: int) -> nn.Module:
    """How h[i-2] is brought to the cell: "1x1" (same resolution), "factorized" (twice
    the resolution) or "none" (the first cell, whose h[i-2] is the stem conv itself)."""
    if kind == "1x1":
        return relu_conv_bn(in_channels, width)
    if kind == "factorized":
        return FactorizedReduction(in_channels, width)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"h[i-2] adjust must be none, 1x1 or factorized, got {kind!r}")


def separable(in_channels: int, out_channels: int, kernel_size: int, stride: int) -> nn.Sequential:
    """ReLU -> depthwise k x k -> pointwise 1x1 -> BN; strided layers pad as TF did."""
    unit = nn.Sequential()
    unit.add_module("act", nn.ReLU())
    if stride > 1:
        unit.add_module("pad", SamePad(kernel_size, stride))
    conv = DepthwiseSeparableConv(
        in_channels,
        out_channels,
        kernel_size,
        stride=stride,
        padding=0 if stride > 1 else None,
        mid_norm=None,
        mid_act=None,
        norm=NORM,
        act=None,
    )
    unit.add_module("conv", conv)
    return unit


def pool(kind: str, stride: int) -> nn.Module:
    """3x3 average or max pooling; at stride 1 the average leaves the border out."""
    if stride == 1:
        if kind == "avg":
            return nn.AvgPool2d(3, 1, padding=1, count_include_pad=False)
        return nn.MaxPool2d(3, 1, padding=1)
    pad = SamePad(3, stride, value=0.0 if kind == "avg" else float("-inf"))
    window = nn.AvgPool2d(3, stride) if kind == "avg" else nn.MaxPool2d(3, stride)
    return nn.Sequential(OrderedDict(pad=pad, pool=window))


def make_op(op: str, in_channels: int, width: int, stride: int) -> nn.Module:
    """One op of `OPS` producing `width` channels."""
    if op.startswith("sep_"):
        k = int(op[-1])
        return nn.Sequential(
            OrderedDict(
                sep1=separable(in_channels, width, k, stride),
                sep2=separable(width, width, k, 1),
            )
        )
    if in_channels != width or (op == "identity" and stride > 1):
        raise ValueError(f"{op} at stride {stride} cannot map {in_channels} to {width} channels")
    if op == "identity":
        return nn.Identity()
    return pool(op[:3], stride)


def _path_drop(op: nn.Module, p: float) -> nn.Module:
    """Drop `op`'s whole output per sample in training (TF leaves the identity alone)."""
    return StochasticDepth(p) if p > 0 and not isinstance(op, nn.Identity) else nn.Identity()


class Block(nn.Module):
    """``left(a) + right(b)``, each op but the identity dropped as a whole path in training."""

    def __init__(self, left: nn.Module, right: nn.Module, drop_path: float) -> None:
        super().__init__()
        self.left, self.right = left, right
        self.drop_left, self.drop_right = _path_drop(left, drop_path), _path_drop(right, drop_path)

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        return self.drop_left(self.left(a)) + self.drop_right(self.right(b))


class Cell(nn.Module):
    """A NASNet-A cell: adjust both inputs, run the table's blocks, concatenate."""

    def __init__(
        self,
        table: CellTable,
        *,
        width: int,
        h1_channels: int,
        h2_channels: int,
        h2_adjust: str,  # "none", "1x1" or "factorized"
        reduction: bool,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        self.table = table
        self.adjust_h1 = relu_conv_bn(h1_channels, width)
        self.adjust_h2 = adjust(h2_adjust, h2_channels, width)
        channels = {"h1": width, "h2": h2_channels if h2_adjust == "none" else width}
        self.blocks = nn.ModuleList()
        for b, branches in enumerate(table.blocks):
            ops = [
                make_op(
                    branch.op,
                    channels[branch.source],
                    width,
                    2 if reduction and branch.source in ("h1", "h2") else 1,
                )
                for branch in branches
            ]
            self.blocks.append(Block(*ops, drop_path=drop_path))
            channels[f"b{b}"] = width
        self.out_channels = width * len(table.concat)

    def forward(self, h1: Tensor, h2: Tensor) -> Tensor:
        states = {"h1": self.adjust_h1(h1), "h2": self.adjust_h2(h2)}
        wiring = zip(self.blocks, self.table.blocks, strict=True)
        for b, (block, (left, right)) in enumerate(wiring):
            states[f"b{b}"] = block(states[left.source], states[right.source])
        return torch.cat([states[name] for name in self.table.concat], dim=1)


class CellStage(nn.Module):
    """Cells in a chain, passing the pair (h[i-1], h[i-2]) along.

    After a normal or stem cell the pair is (its output, its h[i-1]); after a reduction
    cell with `skip_reduction_input` it is (its output, its h[i-2]).
    """

    def __init__(self, cells: dict[str, Cell], keeps_h2: dict[str, bool]) -> None:
        super().__init__()
        self.cells = nn.ModuleDict(cells)
        self.keeps_h2 = keeps_h2

    def forward(self, states: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        h1, h2 = states
        for name, cell in self.cells.items():
            h1, h2 = cell(h1, h2), (h2 if self.keeps_h2[name] else h1)
        return h1, h2
