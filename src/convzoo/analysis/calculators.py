"""Back-of-the-envelope calculators behind the textbook claims.

- `rf_stack`: the receptive field of a stack of convolutions and pools, layer
  by layer (VGG's argument: two 3x3 convolutions see 5x5 with 18C^2 weights
  instead of 25C^2, three see 7x7 with 27C^2 instead of 49C^2).
- `conv_costs`: parameters and multiply-adds of one k x k convolution layer
  mapping ``C_in`` to ``C_out`` channels on an ``H x W`` output, done four ways:
  standard, depthwise separable (MobileNet; both from `convzoo.analysis.cost`),
  grouped (ResNeXt/AlexNet) and a 1x1-reduce / k x k / 1x1-expand bottleneck
  (ResNet), with the ratio to standard.

Biases are left out everywhere (they are ``C_out`` parameters, noise next to
the weights, and absent when a norm follows).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from convzoo.analysis.cost import depthwise_separable_cost, standard_conv_cost

__all__ = ["DesignCost", "StackLayer", "StackRow", "conv_costs", "parse_layer", "rf_stack"]

_SPEC = re.compile(
    r"^(?P<kind>conv|pool|c|p)?(?P<k>\d+)(?:x(?P<k2>\d+))?"
    r"(?:(?:s|/)(?P<s>\d+))?(?:d(?P<d>\d+))?(?:p(?P<p>\d+))?$"
)


MAX_RF = 1_000_000  # pixels: a receptive field or stride beyond this is a typo, not a network


@dataclass(frozen=True)
class StackLayer:
    kind: str  # "conv" or "pool"
    kernel: int
    stride: int = 1
    dilation: int = 1
    padding: int | None = None  # None: "same" for convs, 0 for pools

    def __post_init__(self) -> None:
        if self.kind not in ("conv", "pool"):
            raise ValueError(f"layer kind must be conv or pool, got {self.kind!r}")
        if min(self.kernel, self.stride, self.dilation) < 1:
            raise ValueError(f"kernel, stride and dilation must be >= 1, got {self}")
        if max(self.kernel, self.stride, self.dilation) > MAX_RF:
            raise ValueError(f"kernel, stride and dilation must be <= {MAX_RF:,}, got {self.label}")

    @property
    def label(self) -> str:
        text = f"{self.kind}{self.kernel}x{self.kernel}"
        if self.stride != 1:
            text += f"/{self.stride}"
        if self.dilation != 1:
            text += f" d{self.dilation}"
        return text


def parse_layer(spec: str) -> StackLayer:
    """``3x3`` / ``conv3`` / ``conv3s2`` / ``conv3/2`` / ``conv3d2`` / ``conv7s2p3`` / ``pool2``.

    A bare kernel is a convolution with stride 1; ``pool<k>`` defaults to stride k.
    """
    match = _SPEC.match(spec.strip().lower())
    if match is None:
        raise ValueError(
            f"cannot read layer {spec!r}; "
            "expected e.g. 3x3, conv3, conv3s2, conv3d2, pool2, pool3s2"
        )
    kind = {"c": "conv", "p": "pool", None: "conv"}.get(match["kind"], match["kind"])
    k = int(match["k"])
    if match["k2"] is not None and int(match["k2"]) != k:
        raise ValueError(f"only square kernels are supported, got {spec!r}")
    stride = int(match["s"]) if match["s"] else (k if kind == "pool" else 1)
    dilation = int(match["d"]) if match["d"] else 1
    padding = int(match["p"]) if match["p"] else None
    return StackLayer(kind, k, stride, dilation, padding)


@dataclass(frozen=True)
class StackRow:
    layer: str
    size: int  # receptive field after this layer, pixels
    jump: int  # total stride after this layer
    start: float  # centre of the first unit's field (pixel i centred at i)
    weights_c2: int  # cumulative conv weights in units of C^2 (C_in = C_out = C)
    single_conv_c2: int  # one conv with the same receptive field: size^2 C^2

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def rf_stack(layers: list[StackLayer | str]) -> list[StackRow]:
    """Receptive field after each layer: ``r += d(k-1) j``, ``j *= s``."""
    if not layers:
        raise ValueError("give at least one layer, e.g. 3x3 3x3")
    size, jump, start, weights = 1, 1, 0.0, 0
    rows = []
    for layer in layers:
        layer = parse_layer(layer) if isinstance(layer, str) else layer
        span = layer.dilation * (layer.kernel - 1)
        padding = layer.padding
        if padding is None:
            padding = span // 2 if layer.kind == "conv" else 0
        start += (span / 2 - padding) * jump
        size += span * jump
        jump *= layer.stride
        if layer.kind == "conv":
            weights += layer.kernel**2
        if size > MAX_RF or jump > MAX_RF:
            raise ValueError(
                f"after layer {len(rows) + 1} ({layer.label}) the receptive field is {size:.3g} px "
                f"with a total stride of {jump:.3g}: more than {MAX_RF:,} px, larger than "
                "any image; check the layers"
            )
        rows.append(StackRow(layer.label, size, jump, start, weights, size**2))
    return rows


@dataclass(frozen=True)
class DesignCost:
    name: str
    structure: str
    params: int
    macs: int
    ratio: float  # params (= mult-adds) relative to the standard convolution

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def conv_costs(
    kernel: int,
    in_channels: int,
    out_channels: int,
    height: int,
    width: int | None = None,
    *,
    groups: int = 32,
    bottleneck: int = 4,
) -> list[DesignCost]:
    """Params and multiply-adds of one layer, four ways (output map ``height x width``)."""
    width = height if width is None else width
    for label, value in (
        ("kernel", kernel),
        ("in_channels", in_channels),
        ("out_channels", out_channels),
        ("height", height),
        ("width", width),
        ("groups", groups),
        ("bottleneck", bottleneck),
    ):
        if value < 1:
            raise ValueError(f"{label} must be >= 1, got {value}")
    if bottleneck > in_channels:
        raise ValueError(
            f"bottleneck={bottleneck} would reduce {in_channels} channels to less than one; "
            f"it must be at most in_channels"
        )
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"groups={groups} must divide in_channels={in_channels} and out_channels={out_channels}"
        )
    positions = height * width
    k2 = kernel * kernel
    mid = in_channels // bottleneck
    # weights per output position; MobileNet's formulas for the first two
    standard = standard_conv_cost(kernel, in_channels, out_channels, 1).params
    separable = depthwise_separable_cost(kernel, in_channels, out_channels, 1).params
    designs = [
        ("standard", f"{kernel}x{kernel} conv {in_channels}->{out_channels}", standard),
        ("depthwise separable",
         f"{kernel}x{kernel} depthwise {in_channels} + 1x1 {in_channels}->{out_channels}",
         separable),
        (f"grouped (g={groups})", f"{kernel}x{kernel} conv in {groups} groups",
         k2 * in_channels * out_channels // groups),
        (f"bottleneck (/{bottleneck})",
         f"1x1 {in_channels}->{mid}, {kernel}x{kernel} {mid}->{mid}, 1x1 {mid}->{out_channels}",
         in_channels * mid + k2 * mid * mid + mid * out_channels),
    ]  # fmt: skip
    return [
        DesignCost(name, structure, params, params * positions, params / standard)
        for name, structure, params in designs
    ]
