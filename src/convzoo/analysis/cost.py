"""The cost of a standard vs a depthwise separable convolution, by formula.

Howard et al. (2017), MobileNets, arXiv:1704.04861, section 3.1, in the paper's
symbols: a kernel of side ``Dk``, ``M`` input and ``N`` output channels, an
output feature map of side ``Df`` (stride 1 and same padding, so it is also the
input's side; for a strided layer pass the *output* side).

- standard convolution: ``Dk*Dk*M*N`` weights, ``Dk*Dk*M*N*Df*Df`` multiply-adds;
- depthwise (``Dk*Dk*M`` weights, ``Dk*Dk*M*Df*Df`` mult-adds) followed by a
  pointwise 1x1 (``M*N`` weights, ``M*N*Df*Df`` mult-adds);
- the ratio separable / standard is ``1/N + 1/Dk^2``, for weights and mult-adds
  alike: with 3x3 kernels and N in the hundreds, 8 to 9 times cheaper.

Biases and normalization are left out, as in the paper (MobileNet's convolutions
have no bias; batch norm is a per-channel affine map). These pure functions are
checked against `convzoo.summary`'s measured multiply-adds in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ConvCost",
    "depthwise_separable_cost",
    "separable_cost_ratio",
    "standard_conv_cost",
]


@dataclass(frozen=True)
class ConvCost:
    """Weights and multiply-adds of one convolution layer."""

    params: int
    macs: int

    def __add__(self, other: ConvCost) -> ConvCost:
        return ConvCost(self.params + other.params, self.macs + other.macs)


def _check(kernel_size: int, in_channels: int, out_channels: int, out_size: int) -> None:
    given = {
        "kernel_size": kernel_size,
        "in_channels": in_channels,
        "out_channels": out_channels,
        "out_size": out_size,
    }
    bad = {k: v for k, v in given.items() if not isinstance(v, int) or v < 1}
    if bad:
        raise ValueError(f"expected positive integers, got {bad}")


def standard_conv_cost(
    kernel_size: int, in_channels: int, out_channels: int, out_size: int
) -> ConvCost:
    """A Dk x Dk convolution from M to N channels producing a Df x Df map (eq. 1)."""
    _check(kernel_size, in_channels, out_channels, out_size)
    params = kernel_size * kernel_size * in_channels * out_channels
    return ConvCost(params=params, macs=params * out_size * out_size)


def depthwise_separable_cost(
    kernel_size: int, in_channels: int, out_channels: int, out_size: int
) -> ConvCost:
    """Depthwise Dk x Dk (eq. 3) plus pointwise 1x1 (together eq. 4), Df x Df output."""
    _check(kernel_size, in_channels, out_channels, out_size)
    depthwise = kernel_size * kernel_size * in_channels
    pointwise = in_channels * out_channels
    params = depthwise + pointwise
    return ConvCost(params=params, macs=params * out_size * out_size)


def separable_cost_ratio(kernel_size: int, out_channels: int) -> float:
    """``1/N + 1/Dk^2``: depthwise separable cost as a fraction of the standard one."""
    _check(kernel_size, 1, out_channels, 1)
    return 1 / out_channels + 1 / kernel_size**2
