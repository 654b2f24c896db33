"""Training-memory estimate (meta device) against the bytes autograd really saves (CPU)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from convzoo.analysis.memory import estimate_memory, measure_saved_bytes
from convzoo.registry import list_models

TOLERANCE = 0.05  # the estimate must be within 5% of the measured bytes

# small members of different families first; the first three registered are used
CANDIDATES = (
    "lenet5", "resnet18", "mobilenet_v2", "densenet121", "googlenet", "allcnn_c", "nin_cifar",
    "vgg11_bn",
)  # fmt: skip


def _three() -> list[str]:
    registered = set(list_models())
    return [n for n in CANDIDATES if n in registered][:3]


@pytest.mark.parametrize("name", _three())
def test_estimate_matches_measured(name):
    from convzoo.factory import create_model

    with torch.device("meta"):
        meta = create_model(name, num_classes=10)
    size = meta.default_input_size if meta.fixed_input_size else (max(meta.min_input_size, 64),) * 2
    estimate = estimate_memory(name, size, num_classes=10)
    measured = measure_saved_bytes(name, size, batch_size=3, num_classes=10)
    assert abs(estimate.saved_bytes(3) - measured) <= TOLERANCE * measured
    assert estimate.per_sample_saved_bytes > 0


class _Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(8)

    def forward(self, x):
        return torch.relu(x + self.norm(self.conv(x)))


class _Tiny(nn.Module):
    in_channels = 3
    default_input_size = (32, 32)

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.blocks = nn.Sequential(_Residual(), _Residual())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


def test_estimate_scales_with_batch_and_matches_a_small_net():
    model = _Tiny()
    estimate = estimate_memory(model)
    for batch in (1, 5):
        measured = measure_saved_bytes(model, batch_size=batch)
        assert abs(estimate.saved_bytes(batch) - measured) <= TOLERANCE * measured
    params = sum(p.numel() for p in model.parameters()) * 4
    assert estimate.training_bytes(4, "adam") == 4 * params + estimate.saved_bytes(4)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        estimate.training_bytes(4, "lion")


def test_estimate_works_where_the_last_map_is_one_pixel():
    # at 32x32 MobileNet's last map is 1x1: batch norm in train mode refuses a batch of one
    estimate = estimate_memory("mobilenet_v1_025", 32, num_classes=10)
    assert estimate.per_sample_saved_bytes > 0 and estimate.fixed_saved_bytes >= 0
