"""Our StochasticDepth draws and scales exactly as torchvision's (which the twins use)."""

from __future__ import annotations

import pytest
import torch
import torchvision.ops

from convzoo.blocks.regularize import StochasticDepth


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_same_draws_as_torchvision(mode):
    x = torch.randn(16, 4, 3, 3)
    ours, theirs = StochasticDepth(0.3, mode), torchvision.ops.StochasticDepth(0.3, mode)
    torch.manual_seed(7)
    a = ours(x)
    torch.manual_seed(7)
    assert torch.equal(a, theirs(x))
    assert torch.equal(ours.eval()(x), x)  # identity at evaluation


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match=r"drop probability must be in \[0, 1\], got 1.5"):
        StochasticDepth(1.5)
    with pytest.raises(ValueError, match="mode must be 'row' or 'batch'"):
        StochasticDepth(0.1, "column")
