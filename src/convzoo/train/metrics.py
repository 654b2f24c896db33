"""Evaluation (top-1/top-5, per-class accuracy, confusion matrix) and run logs.

``metrics.jsonl`` holds one JSON object per epoch. Keys in ``TIMING_KEYS``
depend on the machine; every other value is a pure function of the run's
settings in deterministic mode (that is what the exact-resume test compares).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from convzoo.models.base import AuxOutput

__all__ = [
    "TIMING_KEYS",
    "MetricsLog",
    "evaluate",
    "plot_confusion",
    "plot_curves",
    "training_speed",
]

TIMING_KEYS = (
    "epoch_time_s",
    "img_per_s",
    "wall_time_s",
    "train_time_s",
    "train_img_per_s",
)


def main_logits(output: Tensor | AuxOutput) -> Tensor:
    return output.logits if isinstance(output, AuxOutput) else output


def eval_outputs(
    model: nn.Module,
    batches,
    *,
    device: torch.device,
    autocast_dtype: torch.dtype | None = None,
    channels_last: bool = False,
    epoch: int = 0,
) -> Iterator[tuple[Tensor, Tensor]]:
    """(fp32 logits of the main head, targets) per batch, in eval mode; the model's mode is
    restored afterwards. Callers run it under ``torch.no_grad``."""
    was_training = model.training
    model.eval()
    try:
        for images, targets in batches.epoch(epoch):
            images, targets = images.to(device), targets.to(device)
            if channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            with torch.autocast(
                device.type,
                dtype=autocast_dtype or torch.float32,
                enabled=autocast_dtype is not None,
            ):
                output = model(images)
            yield main_logits(output).float(), targets
    finally:
        model.train(was_training)


# (summed loss, a count to sum, flat true * classes + predicted indices) of one batch
BatchTally = Callable[[Tensor, Tensor], tuple[float, float, Tensor]]


def tally_confusion(
    model: nn.Module, batches, tally: BatchTally, *, num_classes: int, dist=None, **options: Any
) -> tuple[float, float, Tensor]:
    """(loss sum, count sum, confusion matrix) over `batches`, summed over the ranks of a
    distributed run. `options` go to `eval_outputs` (device, autocast_dtype, ...)."""
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.float64)
    loss_sum = count = 0.0
    for logits, targets in eval_outputs(model, batches, **options):
        loss, n, pairs = tally(logits, targets)
        loss_sum += loss
        count += n
        confusion += torch.bincount(pairs, minlength=num_classes**2).view_as(confusion)
    if dist is not None:
        loss_sum, count = dist.sum([loss_sum, count])
        confusion = dist.sum_tensor(confusion)
    return loss_sum, count, confusion


@torch.no_grad()
def evaluate(
    model: nn.Module, batches, *, num_classes: int, dist=None, **options: Any
) -> dict[str, Any]:
    """Loss, top-1, top-5 (in %), per-class accuracy and confusion matrix over `batches`.

    In a distributed run each rank evaluates its share and the counts are summed.
    Evaluation uses the main head only (models with auxiliary heads return plain
    logits in eval mode). `options` as `eval_outputs` takes them.
    """
    k = min(5, num_classes)

    def tally(logits: Tensor, labels: Tensor) -> tuple[float, float, Tensor]:
        loss = nn.functional.cross_entropy(logits, labels, reduction="sum").item()
        top = logits.topk(k, dim=1).indices
        hits = (top == labels[:, None]).any(dim=1).sum().item()
        return loss, hits, labels.cpu() * num_classes + top[:, 0].cpu()

    loss_sum, top5, confusion = tally_confusion(
        model, batches, tally, num_classes=num_classes, dist=dist, **options
    )
    n = confusion.sum().item()
    per_class_n = confusion.sum(dim=1)
    per_class = (confusion.diag() / per_class_n.clamp_min(1) * 100).tolist()
    return {
        "loss": loss_sum / max(n, 1),
        "top1": confusion.diag().sum().item() / max(n, 1) * 100,
        "top5": top5 / max(n, 1) * 100,  # top-k with k = min(5, classes)
        "n": int(n),
        "per_class": per_class,
        "confusion": confusion.long().tolist(),  # rows: true class, columns: predicted
    }


class MetricsLog:
    """metrics.jsonl (+ TensorBoard events when the tensorboard package is installed)."""

    def __init__(self, run_dir: Path, *, resume_epochs: int = 0, tensorboard: bool = True) -> None:
        self.path = run_dir / "metrics.jsonl"
        self.records: list[dict[str, Any]] = []
        if self.path.exists():  # keep only epochs the checkpoint we resume from has seen
            lines = self.path.read_text().splitlines()
            self.records = [json.loads(line) for line in lines if line.strip()][:resume_epochs]
        self.path.write_text("".join(json.dumps(r) + "\n" for r in self.records))
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=resume_epochs)
            except ImportError:
                self.writer = None

    def append(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for key, value in record.items():
                if key != "epoch" and isinstance(value, int | float):
                    self.writer.add_scalar(key.replace("_", "/", 1), value, record["epoch"])
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def training_speed(records: list[dict[str, Any]]) -> dict[str, float]:
    """Training images per second over all epochs, and the seconds spent training
    (without validation, test, checkpoints or start-up: those are in the wall time)."""
    seconds = sum(r["epoch_time_s"] for r in records)
    images = sum(r["img_per_s"] * r["epoch_time_s"] for r in records)
    return {"train_time_s": seconds, "train_img_per_s": images / max(seconds, 1e-9)}


def plot_curves(records: Sequence[dict[str, Any]], path: Path, title: str = "") -> None:
    """Loss and accuracy against epoch, train and validation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in records]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for split in ("train", "val"):
        if all(f"{split}_loss" in r for r in records):
            ax_loss.plot(epochs, [r[f"{split}_loss"] for r in records], "o-", label=split)
            ax_acc.plot(epochs, [r[f"{split}_acc"] for r in records], "o-", label=split)
    segmentation = bool(records) and all("val_miou" in r for r in records)
    if segmentation:
        ax_acc.plot(epochs, [r["val_miou"] for r in records], "s--", label="val mean IoU")
        if all("val_boundary_iou" in r for r in records):
            boundary = [r["val_boundary_iou"] for r in records]
            ax_acc.plot(epochs, boundary, "^:", label="val Boundary IoU")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ylabel = "pixel accuracy / IoU (%)" if segmentation else "top-1 accuracy (%)"
    ax_acc.set(xlabel="epoch", ylabel=ylabel, title="accuracy")
    from matplotlib.ticker import MaxNLocator

    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole: 1, 2
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(
    confusion: Sequence[Sequence[int]], classes: Sequence[str], path: Path, title: str = ""
) -> None:
    """Row-normalised confusion matrix as an image (rows: true class)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = torch.tensor(confusion, dtype=torch.float64)
    rates = m / m.sum(dim=1, keepdim=True).clamp_min(1)
    n = len(classes)
    size = min(max(4.0, 0.45 * n + 2), 30)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(rates.numpy(), cmap="Blues", vmin=0, vmax=1)
    if n <= 30:
        ax.set_xticks(range(n), classes, rotation=90)
        ax.set_yticks(range(n), classes)
        for i in range(n):
            for j in range(n):
                if m[i, j]:
                    color = "white" if rates[i, j] > 0.5 else "black"
                    ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=7, color=color)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
