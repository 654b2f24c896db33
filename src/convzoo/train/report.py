"""What a run prints: the opening line, the progress bar, one line per epoch."""

from __future__ import annotations

from typing import Any

__all__ = ["console", "epoch_line", "progress_bar"]


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


def epoch_line(r: dict[str, Any], epochs: int, improved: bool) -> str:
    val = f"  val loss {r['val_loss']:.4f} acc {r['val_acc']:.2f}%" if "val_acc" in r else ""
    if "val_miou" in r:  # segmentation: acc is pixel accuracy
        val += f" mIoU {r['val_miou']:.2f}%"
    star = " *" if improved else ""
    return (
        f"epoch {r['epoch']:>3}/{epochs}  train loss {r['train_loss']:.4f} acc "
        f"{r['train_acc']:.2f}%{val}  lr {r['lr']:.4g}  {r['img_per_s']:.0f} img/s  "
        f"{r['epoch_time_s']:.1f}s{star}"
    )
