"""What a resumed run may change, and how each change takes effect from the resume point.

`convzoo train --resume DIR` continues with the run's own settings. A few may
change because they do not change what the run is (`RESUMABLE`):

- ``epochs``: more epochs. The schedule is recomputed for the new length, as if
  the run had been started with it (a cosine is stretched; a finished cosine
  run rises again to the value the longer schedule has at the resume point).
- ``lr``: a new peak learning rate from the resume point on. The schedule keeps
  its shape and is scaled by ``new / old``, so momentum and position are kept.
- ``threads``, ``progress``, ``num_workers``, ``tensorboard``, ``device``.

Changes of ``epochs`` and ``lr`` are recorded in config.json under "changes"
(setting, from, to, and the epoch and step where they took effect); every
other setting is refused with the list of those that may change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch

from convzoo.train.config import RESUMABLE, TrainConfig

__all__ = [
    "RECORDED",
    "check_position",
    "check_resume_changes",
    "record_changes",
    "set_peak_lr",
]

# resumable settings that change the result, so config.json records when they changed
RECORDED = ("epochs", "lr")


def flag_of(name: str) -> str:
    """The command-line flag of a TrainConfig field."""
    for f in fields(TrainConfig):
        if f.name == name:
            return f.metadata.get("flag", "--" + name.replace("_", "-"))
    return name


def check_resume_changes(changes: Mapping[str, Any]) -> None:
    """Refuse a change of any setting outside `RESUMABLE`."""
    bad = sorted(set(changes) - set(RESUMABLE))
    if bad:
        flags = ", ".join(map(flag_of, bad))
        allowed = ", ".join(map(flag_of, RESUMABLE))
        raise ValueError(
            f"--resume continues with the run's own settings; cannot change {flags} "
            f"(may change: {allowed}). To train with other settings start a new run."
        )
    lr = changes.get("lr")
    if lr is not None and not (isinstance(lr, int | float) and lr > 0):
        raise ValueError(f"--lr on resume must be a positive number, got {lr!r}")


def check_position(run_dir: Path, cfg: TrainConfig, epoch: int, step: int) -> None:
    """Refuse to resume a finished run (unless extended) or to cut epochs already trained."""
    done = epoch + (step > 0)
    if cfg.epochs < done:
        raise ValueError(
            f"{run_dir} has already trained {done} epochs; --epochs must be at least {done}, "
            f"got {cfg.epochs}"
        )
    if epoch >= cfg.epochs and (run_dir / "summary.json").is_file():
        raise ValueError(
            f"{run_dir} is finished ({epoch}/{cfg.epochs} epochs, results in summary.json); "
            f"to train it further: convzoo train --resume {run_dir} --epochs {epoch + 5} "
            "(any number above the epochs done)"
        )


def record_changes(
    before: Mapping[str, Any],
    cfg: TrainConfig,
    *,
    epoch: int,
    step: int,
    history: Sequence[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """`history` plus one entry per recorded setting whose value differs from `before`.

    `epoch` is 1-based: the epoch in which the new value is first used.
    """
    changes = [dict(entry) for entry in history]
    for name in RECORDED:
        old, new = before.get(name), getattr(cfg, name)
        if old != new:
            changes.append({"setting": name, "from": old, "to": new, "epoch": epoch, "step": step})
    return changes


def set_peak_lr(
    optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LambdaLR, lr: float
) -> None:
    """Make `lr` the peak of the schedule from the scheduler's current step on.

    With the run's own lr and schedule this rewrites the values the checkpoint
    already holds, bit for bit, so exact resume is unaffected.
    """
    scheduler.base_lrs = [lr] * len(optimizer.param_groups)
    for group, multiplier in zip(optimizer.param_groups, scheduler.lr_lambdas, strict=True):
        group["initial_lr"] = lr
        group["lr"] = lr * multiplier(scheduler.last_epoch)
