"""Local response normalization as Krizhevsky et al. (2012, section 3.3) define it.

``b = a / (k + alpha * sum_{n neighbours} a^2)^beta`` with k=2, n=5, alpha=1e-4,
beta=0.75. torch's ``LocalResponseNorm`` divides alpha by the window size, so
the paper's alpha is multiplied by it here. Used by AlexNet, ZFNet and VGG A-LRN
(GoogLeNet follows its Caffe release instead, whose alpha is torch's).
"""

from __future__ import annotations

from torch import nn

__all__ = ["response_norm"]


def response_norm(
    size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0
) -> nn.LocalResponseNorm:
    """The paper's LRN (its alpha, not torch's alpha / size)."""
    return nn.LocalResponseNorm(size, alpha=alpha * size, beta=beta, k=k)
