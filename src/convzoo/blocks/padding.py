"""TensorFlow's "SAME" padding, for networks first trained in TensorFlow.

A k x k window at stride s gives ``ceil(n / s)`` outputs from ``n`` inputs; the
padding that takes is split with the odd pixel at the end (right, bottom).
Torch pads symmetrically, so for a strided window over an even-sized map the two
disagree by one pixel of alignment: a port must pad as TensorFlow did to
reproduce its outputs. At stride 1 with an odd kernel both pad ``k // 2`` per
side, so only strided layers need this.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["SamePad"]


def same_padding(size: int, kernel_size: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of one spatial dimension of `size` pixels."""
    outputs = -(-size // stride)  # ceil
    total = max((outputs - 1) * stride + kernel_size - size, 0)
    return total // 2, total - total // 2


class SamePad(nn.Module):
    """Pads as TensorFlow's "SAME" does for a following `kernel_size` window at `stride`.

    `value` fills the border: 0 before convolutions and average pools, ``-inf``
    before max pools (so the border never wins).
    """

    def __init__(self, kernel_size: int, stride: int, value: float = 0.0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.value = kernel_size, stride, value

    def forward(self, x: Tensor) -> Tensor:
        height, width = x.shape[-2:]
        left, right = same_padding(width, self.kernel_size, self.stride)
        top, bottom = same_padding(height, self.kernel_size, self.stride)
        return F.pad(x, (left, right, top, bottom), value=self.value)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, value={self.value}"
