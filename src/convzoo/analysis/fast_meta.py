"""Shape-only shortcuts on the meta device.

PyTorch computes meta outputs of element-wise ops and batch norm through Python
decompositions, which costs more than everything else a summary does. Their
output shapes are simple, so on meta tensors the tracer makes them directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from convzoo.analysis.counting import ACTIVATIONS, expand, names

_UNARY = ACTIVATIONS - {"prelu", "_prelu_kernel", "log_sigmoid_forward", "threshold", "threshold_"}
_BINARY = names("add add_ sub sub_ mul mul_ div div_")


def _broadcast(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...] | None:
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b, strict=True)):
        return None  # not broadcastable: PyTorch raises its own error
    return tuple(y if x == 1 else x for x, y in zip(a, b, strict=True))


def _like(x: Tensor) -> Tensor:
    return torch.empty_strided(x.shape, x.stride(), dtype=x.dtype, device="meta")


def _conv_meta(x, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    k = weight.dim() - 2
    if x.dim() != k + 2 or not isinstance(padding, list | tuple):
        return None
    stride, padding, dilation = (expand(v, k, 1) for v in (stride, padding, dilation))
    output_padding = expand(output_padding, k, 0)
    sizes = []
    for i in range(k):
        span = dilation[i] * (weight.shape[2 + i] - 1)
        n = x.shape[2 + i]
        if transposed:
            sizes.append((n - 1) * stride[i] - 2 * padding[i] + span + output_padding[i] + 1)
        else:
            sizes.append((n + 2 * padding[i] - span - 1) // stride[i] + 1)
    if min(sizes) < 1:
        return None  # let PyTorch raise its own error
    channels = weight.shape[1] * groups if transposed else weight.shape[0]
    channels_last = (
        k == 2 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)
    )
    out = torch.empty((x.shape[0], channels, *sizes), dtype=x.dtype, device="meta")
    return out.to(memory_format=torch.channels_last) if channels_last else out


def fast_meta(name: str, args: tuple, kwargs: dict) -> Any:
    x = args[0] if args else None
    if not isinstance(x, Tensor) or x.device.type != "meta" or kwargs.get("out") is not None:
        return None
    if name in _UNARY:
        return x if name.endswith("_") else _like(x)
    if name in _BINARY:
        other = args[1] if len(args) > 1 else None
        if isinstance(other, Tensor):
            if other.device.type != "meta" or other.dtype != x.dtype:
                return None
            shape = x.shape if other.shape == x.shape else _broadcast(x.shape, other.shape)
            if shape is None:
                return None
        elif isinstance(other, int | float) and not isinstance(other, bool):
            shape = x.shape
        else:
            return None
        if name.endswith("_"):
            return x if shape == x.shape else None
        same = shape == x.shape
        return _like(x) if same else torch.empty(shape, dtype=x.dtype, device="meta")
    if name == "convolution" and len(args) == 9:
        return _conv_meta(*args)
    eval_bn = name == "_native_batch_norm_legit_no_training" or (
        name == "native_batch_norm" and len(args) > 5 and args[5] is False
    )
    if eval_bn:
        channels = x.shape[1] if x.dim() > 1 else 0
        stats = torch.empty(channels, dtype=x.dtype, device="meta")
        return (_like(x), stats, _like(stats))
    if name == "native_layer_norm":  # the output is contiguous whatever the input
        axis = x.dim() - len(args[1])
        stats_shape = (*x.shape[:axis], *([1] * len(args[1])))
        stats = torch.empty(stats_shape, dtype=x.dtype, device="meta")
        return (torch.empty(x.shape, dtype=x.dtype, device="meta"), stats, _like(stats))
    return None
