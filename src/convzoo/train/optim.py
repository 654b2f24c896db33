"""Optimizers, weight-decay groups, learning-rate schedules, EMA of weights."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

from convzoo.train.config import SCHEDULE_NAMES as SCHEDULES

if TYPE_CHECKING:
    from convzoo.train.config import TrainConfig

__all__ = [
    "ModelEMA",
    "RecipeLR",
    "build_optimizer",
    "build_scheduler",
    "lr_multiplier",
    "param_groups",
]


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
    rmsprop_decay: float = 0.99,
    eps: float = 1e-8,
) -> torch.optim.Optimizer:
    """SGD, RMSProp (decay = torch's alpha), Adam or AdamW over `param_groups`."""
    groups = param_groups(model, weight_decay)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=nesterov)
    if name == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr, alpha=rmsprop_decay, eps=eps, momentum=momentum)
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr, eps=eps)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, eps=eps)
    raise ValueError(f"optimizer must be 'sgd', 'rmsprop', 'adam' or 'adamw', got {name!r}")


def lr_multiplier(
    schedule: str,
    *,
    total_steps: int,
    warmup_steps: int,
    milestones: Sequence[float] = (0.5, 0.75),
    gamma: float = 0.1,
    steps_per_epoch: int = 1,
) -> Callable[[int], float]:
    """Multiplier of the base learning rate at each optimizer step.

    Linear warm-up from ~0 over `warmup_steps`, then
    ``cosine`` (to 0), ``linear`` (to 0), ``step`` (times `gamma` at each
    milestone, given as fractions of the run), ``exponential`` (times `gamma`
    after each epoch), ``onecycle`` (cosine up to the peak over the first 30%,
    cosine down to peak/1e4; warm-up is built in), ``constant`` or ``plateau``
    (constant here: `RecipeLR` drops it on a validation-loss plateau).
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
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
        if schedule == "linear":
            return 1 - min((step - warmup_steps) / max(total - warmup_steps, 1), 1.0)
        if schedule == "step":
            return gamma ** sum(step >= m * total for m in milestones)
        if schedule == "exponential":
            return gamma ** (step // max(steps_per_epoch, 1))
        return 1.0

    return multiplier


def plateau_patience(epochs: int) -> int:
    """Epochs without a better validation loss before a drop: a tenth of the run.

    The papers dropped after a few flat epochs of 70-90; a short run cannot wait.
    """
    return epochs // 10


class RecipeLR(torch.optim.lr_scheduler.LambdaLR):
    """`lr_multiplier` per step, times `gamma` for each drop of a plateau schedule.

    The drops are decided by torch's ReduceLROnPlateau on the validation loss
    (`epoch_end`); they are counted, so the per-step multiplier keeps them.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        multiplier: Callable[[int], float],
        *,
        plateau: bool = False,
        gamma: float = 0.1,
        patience: int = 0,
    ) -> None:
        self.gamma, self.drops = gamma, 0
        self.plateau = (
            torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, mode="min", factor=gamma, patience=patience
            )
            if plateau
            else None
        )
        super().__init__(optimizer, multiplier)

    def get_lr(self) -> list[float]:
        scale = self.gamma**self.drops
        return [base * lmbda(self.last_epoch) * scale
                for base, lmbda in zip(self.base_lrs, self.lr_lambdas, strict=True)]  # fmt: skip

    def epoch_end(self, val_loss: float) -> None:
        """Let a plateau schedule drop the rate after an epoch without a better loss."""
        if self.plateau is None:
            return
        before = self.optimizer.param_groups[0]["lr"]
        self.plateau.step(val_loss)
        if self.optimizer.param_groups[0]["lr"] < before:
            self.drops += 1

    def state_dict(self) -> dict:
        state = super().state_dict()
        state.pop("plateau", None)
        if self.plateau is not None:
            state["plateau_state"] = self.plateau.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        plateau = state.pop("plateau_state", None)
        super().load_state_dict(state)
        if plateau is not None and self.plateau is not None:
            self.plateau.load_state_dict(plateau)


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: TrainConfig, steps_per_epoch: int
) -> RecipeLR:
    """The learning-rate schedule of a run with resolved settings `cfg`."""
    multiplier = lr_multiplier(
        cfg.schedule,
        total_steps=steps_per_epoch * cfg.epochs,
        warmup_steps=round(cfg.warmup_epochs * steps_per_epoch),
        milestones=cfg.milestones,
        gamma=cfg.gamma,
        steps_per_epoch=steps_per_epoch,
    )
    return RecipeLR(
        optimizer,
        multiplier,
        plateau=cfg.schedule == "plateau",
        gamma=cfg.gamma,
        patience=plateau_patience(cfg.epochs),
    )


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
