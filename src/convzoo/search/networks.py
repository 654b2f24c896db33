"""The networks searched architectures build: Zoph & Le's layer chains, NASNet cells.

See `convzoo.search.specs` for the specs they are built from and the papers' rules.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from convzoo.blocks.conv import ConvNormAct
from convzoo.models.base import ConvNet, FeatureInfo, init_weights_like_torchvision

if TYPE_CHECKING:
    from convzoo.search.specs import NasCell, NasNetSpec, ZophSpec

__all__ = ["NASNET_OPS", "NasNet", "ZophNet", "cell_input_projections", "make_op"]

# Section 3 of Zoph et al. 2018, in the paper's order
NASNET_OPS = (
    "identity",
    "conv_1x3_3x1",
    "conv_1x7_7x1",
    "dil_conv_3x3",
    "avg_pool_3x3",
    "max_pool_3x3",
    "max_pool_5x5",
    "max_pool_7x7",
    "conv_1x1",
    "conv_3x3",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "sep_conv_7x7",
)


# -- Zoph & Le network ------------------------------------------------------------------
def _join(maps: Sequence[Tensor]) -> Tensor:
    """Zero-pad every map to the largest height and width, concatenate along depth."""
    if len(maps) == 1:
        return maps[0]
    h = max(m.shape[-2] for m in maps)
    w = max(m.shape[-1] for m in maps)
    padded = [F.pad(m, (0, w - m.shape[-1], 0, h - m.shape[-2])) for m in maps]
    return torch.cat(padded, dim=1)


class ZophBody(nn.Module):
    """The layer graph: each layer conv-BN-ReLU on its joined inputs; the unused are joined."""

    def __init__(self, spec: ZophSpec, in_channels: int) -> None:
        super().__init__()
        self.inputs = [layer.inputs for layer in spec.layers]
        consumed = {i for layer in spec.layers for i in layer.inputs}
        self.outputs = [i for i in range(len(spec.layers)) if i not in consumed]
        self.layers = nn.ModuleList()
        channels: list[int] = []
        self.strides: list[int] = []
        for layer in spec.layers:
            c_in = sum(channels[i] for i in layer.inputs) or in_channels
            # joined maps are padded to the largest, i.e. the one of the smallest stride
            stride_in = min((self.strides[i] for i in layer.inputs), default=1)
            kernel = (layer.kernel_height, layer.kernel_width)
            padding = (layer.kernel_height // 2, layer.kernel_width // 2)
            self.layers.append(
                ConvNormAct(c_in, layer.filters, kernel, stride=layer.stride, padding=padding)
            )
            channels.append(layer.filters)
            self.strides.append(stride_in * layer.stride)
        self.out_channels = sum(channels[i] for i in self.outputs)
        self.stride = min(self.strides[i] for i in self.outputs)

    def forward(self, image: Tensor) -> Tensor:
        maps: list[Tensor] = []
        for layer, inputs in zip(self.layers, self.inputs, strict=True):
            maps.append(layer(_join([maps[i] for i in inputs]) if inputs else image))
        return _join([maps[i] for i in self.outputs])


class ZophNet(ConvNet):
    """Image -> `stages.body` (the searched layers) -> global pool -> `head.fc`."""

    def __init__(self, spec: ZophSpec, *, num_classes: int = 10, in_channels: int = 1) -> None:
        body = ZophBody(spec, in_channels)
        super().__init__(
            in_channels, num_classes, default_input_size=(28, 28), min_input_size=max(body.strides)
        )
        self.spec = spec
        self.stem = nn.Identity()  # the paper's layers read the image directly
        self.stages = nn.Sequential(OrderedDict(body=body))
        self.head = _pool_head(body.out_channels, num_classes)
        self.feature_info = [
            FeatureInfo("image", in_channels, 1),
            FeatureInfo("body", body.out_channels, body.stride),
        ]
        init_weights_like_torchvision(self)


def _pool_head(channels: int, num_classes: int) -> nn.Sequential:
    return nn.Sequential(
        OrderedDict(
            pool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(), fc=nn.Linear(channels, num_classes)
        )
    )


# -- NASNet cells -----------------------------------------------------------------------
class ReluConvBn(nn.Sequential):
    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int | tuple[int, int],
        stride: int = 1,
        *,
        dilation: int = 1,
        groups: int = 1,
    ) -> None:
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        padding = (dilation * (kh - 1) // 2, dilation * (kw - 1) // 2)
        conv = nn.Conv2d(
            c_in, c_out, (kh, kw), stride, padding, dilation=dilation, groups=groups, bias=False
        )
        super().__init__(nn.ReLU(), conv, nn.BatchNorm2d(c_out))


class SeparableConv(nn.Sequential):
    """ReLU, depthwise k x k, pointwise 1x1, BN: twice (the first carries the stride)."""

    def __init__(self, c: int, kernel: int, stride: int) -> None:
        def one(s: int) -> list[nn.Module]:
            return [
                nn.ReLU(),
                nn.Conv2d(c, c, kernel, s, kernel // 2, groups=c, bias=False),
                nn.Conv2d(c, c, 1, bias=False),
                nn.BatchNorm2d(c),
            ]

        super().__init__(*one(stride), *one(1))


class FactorizedReduce(nn.Module):
    """Halve the resolution without dropping pixels: two 1x1 stride-2 paths, one shifted."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.relu = nn.ReLU()
        self.path1 = nn.Conv2d(c_in, c_out // 2, 1, 2, bias=False)
        self.path2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, 2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.path1(x), self.path2(shifted)], dim=1))


def make_op(name: str, c: int, stride: int) -> nn.Module:
    """One of `NASNET_OPS` on `c` channels (in = out), with `stride` 1 or 2."""
    if name == "identity":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c)
    if name.startswith(("avg_pool", "max_pool")):
        k = int(name[-1])
        if name.startswith("avg"):
            return nn.AvgPool2d(k, stride, k // 2, count_include_pad=False)
        return nn.MaxPool2d(k, stride, k // 2)
    if name.startswith("sep_conv"):
        return SeparableConv(c, int(name[-1]), stride)
    if name == "dil_conv_3x3":
        return ReluConvBn(c, c, 3, stride, dilation=2)
    if name in ("conv_1x3_3x1", "conv_1x7_7x1"):
        k = int(name[5])
        first, second = ReluConvBn(c, c, (1, k), (1, stride)), ReluConvBn(c, c, (k, 1), (stride, 1))
        return nn.Sequential(first, second)
    if name in ("conv_1x1", "conv_3x3"):
        return ReluConvBn(c, c, int(name[-1]), stride)
    raise ValueError(f"unknown op {name!r}; choose from {', '.join(NASNET_OPS)}")


def cell_input_projections(
    c_prev_prev: int, c_prev: int, c: int, prev_prev_reduced: bool
) -> tuple[nn.Module, nn.Module]:
    """What brings a cell's two inputs to its `c` filters (and h_{c-2} to h_{c-1}'s size)."""
    # h_{c-2} at twice h_{c-1}'s resolution (a reduction came between): reduce it
    pre0 = FactorizedReduce(c_prev_prev, c) if prev_prev_reduced else ReluConvBn(c_prev_prev, c, 1)
    return pre0, ReluConvBn(c_prev, c, 1)


class Cell(nn.Module):
    """A NASNet cell: blocks of (op(input) + op(input)); the unused blocks concatenated."""

    def __init__(
        self, cell: NasCell, c_prev_prev: int, c_prev: int, c: int, *, reduction: bool,
        prev_prev_reduced: bool,
    ) -> None:  # fmt: skip
        super().__init__()
        self.pre0, self.pre1 = cell_input_projections(c_prev_prev, c_prev, c, prev_prev_reduced)
        self.spec = cell
        self.ops = nn.ModuleList()
        for block in cell.blocks:
            for i, name in zip(block.inputs, block.ops, strict=True):
                # in a reduction cell, ops reading the cell inputs carry the stride
                self.ops.append(make_op(name, c, 2 if reduction and i < 2 else 1))
        self.outputs = cell.unused()
        self.out_channels = c * len(self.outputs)

    def forward(self, h_prev_prev: Tensor, h_prev: Tensor) -> Tensor:
        states = [self.pre0(h_prev_prev), self.pre1(h_prev)]
        for b, block in enumerate(self.spec.blocks):
            left, right = self.ops[2 * b], self.ops[2 * b + 1]
            states.append(left(states[block.inputs[0]]) + right(states[block.inputs[1]]))
        return torch.cat([states[i] for i in self.outputs], dim=1)


class CellStage(nn.Module):
    """Cells in a chain; each reads the two previous outputs (the stage input starts both)."""

    def __init__(self, cells: list[Cell]) -> None:
        super().__init__()
        self.cells = nn.ModuleList(cells)

    def forward(self, x: Tensor) -> Tensor:
        prev_prev, prev = x, x
        for cell in self.cells:
            prev_prev, prev = prev, cell(prev_prev, prev)
        return prev


class NasNet(ConvNet):
    """Stem 3x3 conv-BN, then `stage1` (N normal), `stage2..` (reduction + N normal), head."""

    def __init__(self, spec: NasNetSpec, *, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__(
            in_channels,
            num_classes,
            default_input_size=(28, 28),
            min_input_size=2**spec.num_reductions,
        )
        self.spec = spec
        self.stem = ConvNormAct(in_channels, spec.stem_filters, 3, act=None)
        self.feature_info = [FeatureInfo("stem", spec.stem_filters, 1)]
        self.stages = nn.Sequential()
        channels, c = spec.stem_filters, spec.filters
        for s in range(spec.num_reductions + 1):
            cells: list[Cell] = []
            prev_prev = prev = channels
            kinds = ([True] if s else []) + [False] * spec.cells_per_stage
            if s:
                c *= 2  # filters double at each reduction
            for k, reduction in enumerate(kinds):
                cell = Cell(
                    spec.reduction if reduction else spec.normal, prev_prev, prev, c,
                    reduction=reduction, prev_prev_reduced=s > 0 and k == 1,
                )  # fmt: skip
                cells.append(cell)
                prev_prev, prev = prev, cell.out_channels
            channels = prev
            self.stages.add_module(f"stage{s + 1}", CellStage(cells))
            self.feature_info.append(FeatureInfo(f"stage{s + 1}", channels, 2**s))
        self.head = _pool_head(channels, num_classes)
        init_weights_like_torchvision(self)
