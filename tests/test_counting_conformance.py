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

from convzoo.analysis.meta import meta_model
from convzoo.analysis.summary import summary
from convzoo.registry import list_families, list_models


def _smallest_per_family() -> list[str]:
    """The model with the fewest modules (then parameters) of every family: cheap to trace."""
    picks = []
    for family in list_families():
        sizes = {}
        for name in list_models(family=family):
            model = meta_model(name)  # meta device, initialisation skipped
            sizes[name] = (
                sum(1 for _ in model.modules()),
                sum(p.numel() for p in model.parameters()),
            )
        picks.append(min(sizes, key=lambda n: (sizes[n], n)))
    return picks


MODELS = _smallest_per_family()


@pytest.mark.parametrize("name", MODELS)
def test_macs_match_torch_flop_counter(name):
    model = meta_model(name).eval()
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


@pytest.mark.parametrize("name", MODELS)
def test_every_family_has_a_connected_diagram(name):
    from convzoo.analysis.diagram import block_graph

    graph = block_graph(name)
    assert all(a in graph.boxes and b in graph.boxes for a, b in graph.edges)
    reached, frontier = {"input"}, ["input"]
    while frontier:
        box = frontier.pop()
        for a, b in graph.edges:
            if a == box and b not in reached:
                reached.add(b)
                frontier.append(b)
    assert "output" in reached
