"""Convolution + normalization + activation, and channel rounding."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from torch import nn

__all__ = ["ConvNormAct", "make_divisible"]

LayerFactory = Callable[..., nn.Module]


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to the nearest multiple of `divisor`, never below 90% of it.

    The rule of MobileNet v2 / EfficientNet width scaling: hardware likes channel
    counts divisible by 8, and rounding down by more than 10% would shrink the
    network more than the width multiplier asked for.
    """
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


class ConvNormAct(nn.Sequential):
    """``conv`` -> ``norm`` -> ``act``; norm and act are optional.

    Padding defaults to "same" for odd kernels at stride 1 (``dilation * (k - 1) // 2``).
    The conv has a bias only when there is no norm after it (a norm's shift makes
    it redundant), unless `bias` says otherwise.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int] = 3,
        *,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | None = None,
        dilation: int = 1,
        groups: int = 1,
        bias: bool | None = None,
        norm: LayerFactory | None = nn.BatchNorm2d,
        act: LayerFactory | None = nn.ReLU,
    ) -> None:
        if padding is None:
            ks = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
            padding = (dilation * (ks[0] - 1) // 2, dilation * (ks[1] - 1) // 2)
        layers: dict[str, nn.Module] = {
            "conv": nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=padding,
                dilation=dilation,
                groups=groups,
                bias=(norm is None) if bias is None else bias,
            )
        }
        if norm is not None:
            layers["norm"] = norm(out_channels)
        if act is not None:
            layers["act"] = _make_act(act)
        super().__init__(OrderedDict(layers))
        self.in_channels = in_channels
        self.out_channels = out_channels


def _make_act(act: LayerFactory) -> nn.Module:
    """Instantiate an activation, in place where the class supports it."""
    if isinstance(act, type) and act in (nn.ReLU, nn.ReLU6, nn.SiLU, nn.Hardswish, nn.LeakyReLU):
        return act(inplace=True)
    return act()
