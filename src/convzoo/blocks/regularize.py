"""Regularisers shared by several families."""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["StochasticDepth"]


class StochasticDepth(nn.Module):
    """Randomly drop a residual branch during training (Huang et al., 2016, "Deep Networks
    with Stochastic Depth", arXiv:1603.09382).

    ``mode="row"`` drops the branch for each sample of the batch independently
    (what EfficientNet and ConvNeXt use), ``"batch"`` for the whole batch at once.
    Kept branches are scaled by ``1 / (1 - p)`` so the expected output is the
    same as at evaluation, where the module is the identity. Same behaviour and
    random draws as ``torchvision.ops.StochasticDepth``, without importing torchvision.
    """

    def __init__(self, p: float, mode: str = "row") -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"drop probability must be in [0, 1], got {p}")
        if mode not in ("row", "batch"):
            raise ValueError(f"mode must be 'row' or 'batch', got {mode!r}")
        self.p, self.mode = p, mode

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        shape = (x.shape[0],) + (1,) * (x.ndim - 1) if self.mode == "row" else (1,) * x.ndim
        mask = x.new_empty(shape).bernoulli_(keep)
        if keep > 0.0:
            mask.div_(keep)
        return x * mask

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"
