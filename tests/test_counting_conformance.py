"""Our multiply-add counter against PyTorch's own FLOP counter, one model per family.

`torch.utils.flop_counter.FlopCounterMode` counts convolutions, linear layers and
matmuls (2 FLOPs per multiply-add) with formulas written independently of ours.
Both run on the meta device, so even the largest family costs milliseconds. New
families are picked up automatically when they are registered.
"""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from convzoo.analysis.summary import summary
from convzoo.registry import create_model, list_families, list_models


def _smallest_per_family() -> list[str]:
    picks = []
    for family in list_families():
        sizes = {}
        for name in list_models(family=family):
            with torch.device("meta"):
                sizes[name] = sum(p.numel() for p in create_model(name).parameters())
        picks.append(min(sizes, key=lambda n: (sizes[n], n)))
    return picks


MODELS = _smallest_per_family()


@pytest.mark.parametrize("name", MODELS)
def test_macs_match_torch_flop_counter(name):
    with torch.device("meta"):
        model = create_model(name).eval()
    result = summary(model)
    x = torch.empty((1, *result.input_size), device="meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    assert result.flops == 2 * result.total_macs
    assert result.flops == counter.get_total_flops()


@pytest.mark.parametrize("name", MODELS)
def test_every_op_has_a_counting_rule(name):
    assert summary(name).uncounted == {}


def test_unknown_ops_are_reported_not_zero():
    class Odd(torch.nn.Module):
        in_channels = 3
        default_input_size = (8, 8)

        def forward(self, x):
            return torch.cumsum(x, dim=-1)

    result = summary(Odd())
    assert any("cumsum" in op for op in result.uncounted)
