"""Shared test helpers."""

from __future__ import annotations

import torch
from torch import Tensor

from convzoo.models.base import AuxOutput


def logits_of(output: Tensor | AuxOutput) -> list[Tensor]:
    """Every logits tensor of a forward pass (main head first)."""
    if isinstance(output, AuxOutput):
        return [output.logits, *output.aux]
    return [output]


def small_input(model, batch: int = 2) -> Tensor:
    """The smallest input the model accepts (its fixed size if it has one)."""
    if model.fixed_input_size:
        h, w = model.default_input_size
    else:
        h = w = model.min_input_size
    return torch.randn(batch, model.in_channels, h, w)
