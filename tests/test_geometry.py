"""The spatial-size helper behind the classic networks' minimum input sizes."""

import pytest
import torch
from torch import nn

from convzoo.blocks.geometry import chain_output_sizes, smallest_input_size


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("size", [17, 26, 31, 32, 55, 110, 224, 227])
def test_sizes_match_torch(size, ceil_mode):
    chain = nn.Sequential(
        nn.Conv2d(3, 4, 7, stride=2, padding=1),
        nn.MaxPool2d(3, stride=2, ceil_mode=ceil_mode),
        nn.Conv2d(4, 4, 3, padding=1, dilation=2),
        nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=ceil_mode),
    )
    expected = []
    x = torch.empty(1, 3, size, size, device="meta")
    for layer in chain.to("meta"):
        x = layer(x)
        expected.append(x.shape[-1])
    assert chain_output_sizes(chain, size) == expected


def test_smallest_input_size():
    chain = nn.Sequential(nn.Conv2d(3, 4, 11, stride=4), nn.MaxPool2d(3, stride=2))
    assert smallest_input_size(chain) == 19  # conv -> 3, pool -> 1
    assert chain_output_sizes(chain, 18) == [2, 0]
