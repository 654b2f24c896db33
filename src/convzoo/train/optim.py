"""Optimizers, weight-decay groups, learning-rate schedules, EMA of weights."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

__all__ = ["ModelEMA", "build_optimizer", "lr_multiplier", "param_groups"]


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Decay conv/linear weights; never norms' scales, nor any bias (1-d tensors)."""
    decay, no_decay = [], []
    for _, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 else decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def build_optimizer(
    model: nn.Module,
    name: str,
    *,
    lr: float,
    weight_decay: float,
    momentum: float = 0.9,
    nesterov: bool = False,
) -> torch.optim.Optimizer:
    groups = param_groups(model, weight_decay)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=nesterov)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    raise ValueError(f"optimizer must be 'sgd' or 'adamw', got {name!r}")


def lr_multiplier(
    schedule: str,
    *,
    total_steps: int,
    warmup_steps: int,
    milestones: Sequence[float] = (0.5, 0.75),
    gamma: float = 0.1,
) -> Callable[[int], float]:
    """Multiplier of the base learning rate at each optimizer step.

    Linear warm-up from ~0 over `warmup_steps`, then
    ``cosine`` (to 0), ``step`` (times `gamma` at each milestone, given as
    fractions of the run), ``onecycle`` (cosine up to the peak over the first
    30%, cosine down to peak/1e4; warm-up is built in) or ``constant``.
    """
    if schedule not in ("cosine", "step", "onecycle", "constant"):
        raise ValueError(f"schedule must be cosine, step, onecycle or constant, got {schedule!r}")
    total = max(total_steps, 1)

    def multiplier(step: int) -> float:
        if schedule == "onecycle":
            up = max(int(0.3 * total), 1)
            if step < up:
                return 0.04 + 0.96 * (1 - math.cos(math.pi * step / up)) / 2
            t = min((step - up) / max(total - up, 1), 1.0)
            return 1e-4 + (1 - 1e-4) * (1 + math.cos(math.pi * t)) / 2
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        if schedule == "cosine":
            t = min((step - warmup_steps) / max(total - warmup_steps, 1), 1.0)
            return (1 + math.cos(math.pi * t)) / 2
        if schedule == "step":
            return gamma ** sum(step >= m * total for m in milestones)
        return 1.0

    return multiplier


class ModelEMA:
    """Exponential moving average of a model's parameters and float buffers."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0 < decay < 1:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        current = model.state_dict()
        for key, avg in self.module.state_dict().items():
            value = current[key].detach()
            if avg.is_floating_point():
                avg.lerp_(value.to(avg.dtype), 1 - self.decay)
            else:
                avg.copy_(value)

    def state_dict(self) -> dict:
        return self.module.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state)
