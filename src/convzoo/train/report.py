"""What a run prints: the opening line, the progress bar, one line per epoch."""

from __future__ import annotations

import time
from typing import Any

__all__ = ["LiveProgress", "console", "epoch_line"]

# the bar's numbers are refreshed this often: reading them costs host time every step
REFRESH_S = 0.25


def console():
    from rich.console import Console

    return Console(soft_wrap=True)


def progress_bar(out, *, enabled: bool):
    """A transient bar with running loss, accuracy and img/s (off when not a terminal)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[acc]:.2f}%"),
        TextColumn("{task.fields[ips]:.0f} img/s"),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=out,
        transient=True,
        disable=not (enabled and out.is_terminal),
    )


class LiveProgress:
    """An epoch's progress bar, updated only when `due()` (a few times a second).

    Disabled (no terminal, ``--no-progress``, other ranks) it costs one clock read
    per step.
    """

    def __init__(self, out, *, enabled: bool, description: str, total: int, completed: int) -> None:
        self.enabled = enabled and out.is_terminal
        self.bar = progress_bar(out, enabled=self.enabled)
        self.task = self.bar.add_task(
            description, total=total, completed=completed, loss=0.0, acc=0.0, ips=0.0
        )
        self.next_update = 0.0

    def __enter__(self) -> LiveProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)

    def due(self) -> bool:
        if not self.enabled:
            return False
        now = time.monotonic()
        if now < self.next_update:
            return False
        self.next_update = now + REFRESH_S
        return True

    def show(self, completed: int, loss: float, acc: float, ips: float) -> None:
        self.bar.update(self.task, completed=completed, loss=loss, acc=acc, ips=ips)


def epoch_line(r: dict[str, Any], epochs: int, improved: bool) -> str:
    """One line per epoch; `train loss` is the main head's, auxiliary heads follow it."""
    aux = "".join(
        f" aux{i} {r[f'train_aux{i}_loss']:.4f}" for i in range(1, 100) if f"train_aux{i}_loss" in r
    )
    val = f"  val loss {r['val_loss']:.4f} acc {r['val_acc']:.2f}%" if "val_acc" in r else ""
    if "val_miou" in r:  # segmentation: acc is pixel accuracy
        val += f" mIoU {r['val_miou']:.2f}% bIoU {r['val_boundary_iou']:.2f}%"
    star = " *" if improved else ""
    return (
        f"epoch {r['epoch']:>3}/{epochs}  train loss {r['train_loss']:.4f}{aux} acc "
        f"{r['train_acc']:.2f}%{val}  lr {r['lr']:.4g}  {r['img_per_s']:.0f} img/s  "
        f"{r['epoch_time_s']:.1f}s{star}"
    )
