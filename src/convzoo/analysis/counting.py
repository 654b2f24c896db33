"""Multiply-add counting at the ATen level.

A `TorchDispatchMode` sees every tensor operation a forward pass runs, whether
it comes from an ``nn.Module`` or a functional call, so grouped, depthwise and
transposed convolutions, linear layers and matmuls are all counted from the
shapes of their operands. Works on the ``meta`` device: nothing is computed.

What counts as a multiply-add: one multiplication accumulated into a sum, i.e.
``k*k*C_in/groups`` per output element of a convolution and ``K`` per output
element of an ``(M, K) @ (K, N)`` product. Bias additions, normalization,
activations, pooling and element-wise ops are not multiply-adds and are not
counted here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten

__all__ = ["MAC_RULES", "MacCounter"]


def _conv_macs(args: tuple[Any, ...], out: Any) -> int:
    x, weight = args[0], args[1]
    transposed = bool(args[6]) if len(args) > 6 else False
    per_position = math.prod(
        weight.shape[1:]
    )  # C_in/groups * kh * kw (or C_out/groups for transposed)
    if transposed:  # every input element is scattered through the kernel
        return x.numel() // x.shape[1] * weight.shape[0] * per_position
    return out.numel() * per_position


def _mm_macs(args: tuple[Any, ...], out: Any) -> int:
    a = args[-2]  # addmm(bias, a, b) / mm(a, b)
    return out.numel() * a.shape[-1]


def _bmm_macs(args: tuple[Any, ...], out: Any) -> int:
    a = args[-2]
    return out.numel() * a.shape[-1]


MAC_RULES: dict[Any, Callable[[tuple[Any, ...], Any], int]] = {
    aten.convolution.default: _conv_macs,
    aten._convolution.default: _conv_macs,
    aten.mm.default: _mm_macs,
    aten.addmm.default: _mm_macs,
    aten.bmm.default: _bmm_macs,
    aten.baddbmm.default: _bmm_macs,
}


class MacCounter(TorchDispatchMode):
    """Counts multiply-adds per owner; `owner` is set by the caller (e.g. module hooks)."""

    def __init__(self) -> None:
        super().__init__()
        self.owner = ""
        self.macs: dict[str, int] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
        out = func(*args, **(kwargs or {}))
        rule = MAC_RULES.get(func)
        if rule is not None:
            self.macs[self.owner] = self.macs.get(self.owner, 0) + int(rule(args, out))
        return out
