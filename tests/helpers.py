"""Shared test helpers."""

from __future__ import annotations

import functools

import pytest
import torch
from torch import Tensor

import convzoo
from convzoo.models.base import AuxOutput, FeatureInfo


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


# Networks above this many parameters run their real-weight checks (forward/backward
# on the CPU, twin equivalence) in the slow suite; the default suite checks them on
# the meta device. Keeps `pytest -q` near ten minutes on two cores.
HEAVY_PARAMS = 60_000_000


@functools.cache
def meta_facts(name: str) -> tuple[int, tuple[FeatureInfo, ...]]:
    """(parameter count, feature_info) of a registered network, built once per session."""
    with torch.device("meta"):
        model = convzoo.create_model(name)
    return sum(p.numel() for p in model.parameters()), tuple(model.feature_info)


def param_count(name: str) -> int:
    return meta_facts(name)[0]


def heavy(name: str) -> bool:
    return param_count(name) > HEAVY_PARAMS


@pytest.fixture
def one_torch_thread():
    """Tiny networks run fastest on one thread, above all on a machine busy with other work."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
