"""Spatial sizes through plain chains of convolutions and poolings.

The classic networks (AlexNet, ZFNet, NiN, All-CNN) are straight chains, so the
smallest input they accept follows from the kernel, stride, padding and rounding
of each layer. Computing it from the built layers keeps ``min_input_size`` in
step with the config instead of being a hand-derived constant.
"""

from __future__ import annotations

import math

from torch import nn

__all__ = ["chain_output_sizes", "smallest_input_size"]

_SPATIAL = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)


def _pair_first(value: int | tuple[int, ...]) -> int:
    return value if isinstance(value, int) else value[0]


def _layer_output(layer: nn.Module, size: int) -> int:
    """Output height of one layer for input height `size`, rounding as torch does."""
    kernel = _pair_first(layer.kernel_size)
    stride = _pair_first(layer.stride)
    padding = _pair_first(layer.padding)
    dilation = _pair_first(getattr(layer, "dilation", 1))
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if not getattr(layer, "ceil_mode", False):
        return span // stride + 1 if span >= 0 else 0
    out = math.ceil(span / stride) + 1 if span >= 0 else 0
    if out > 0 and (out - 1) * stride >= size + padding:  # last window must start inside
        out -= 1
    return out


def chain_output_sizes(module: nn.Module, size: int) -> list[int]:
    """The spatial size after every conv / pooling layer of `module`, in order."""
    sizes = []
    for layer in module.modules():
        if isinstance(layer, _SPATIAL):
            size = _layer_output(layer, size)
            sizes.append(size)
    return sizes


def smallest_input_size(module: nn.Module, limit: int = 4096) -> int:
    """The smallest square input for which no layer of the chain produces an empty map."""
    for size in range(1, limit + 1):
        if all(s >= 1 for s in chain_output_sizes(module, size)):
            return size
    raise ValueError(f"no input size up to {limit} passes through {type(module).__name__}")
