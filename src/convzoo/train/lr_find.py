"""Learning-rate range test: a short sweep that shows where a network starts to learn and to fail.

Smith (2017), Cyclical Learning Rates for Training Neural Networks, arXiv:1506.01186,
Section 3.3 ("LR range test"). From freshly initialised weights, one training step
per learning rate, the rate growing exponentially from `start` to `end` over
`steps` steps (100 by default: a couple of minutes on a CPU for a CIFAR-sized net).
The loss is smoothed with an exponential moving average (beta 0.9, bias-corrected);
the sweep ends early once the smoothed loss is four times its minimum or the loss
is not finite.

Suggestion rule: the learning rate at the smoothed loss's minimum, divided by 10.
At the minimum the rate is already at the edge of stability (the loss turns up a
few steps later); a tenth of it is inside the region where the loss falls fastest,
and, unlike the steepest point of a noisy curve, it does not jump between runs.
The steepest descent (most negative slope of the smoothed loss against log lr,
before the minimum) is reported next to it.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from convzoo.data import ImageSet
from convzoo.train.config import TrainConfig, resolve_config
from convzoo.train.distributed import Dist
from convzoo.train.losses import compute_loss
from convzoo.train.optim import build_optimizer
from convzoo.train.setup import build_parts

__all__ = ["RULE", "LRFindResult", "lr_find", "plot_lr_find", "resolve_auto_lr", "sweep"]

RULE = "lr at the smoothed-loss minimum / 10"
BETA = 0.9  # smoothing of the loss: about the last 10 steps
STOP_FACTOR = 4.0  # the sweep ends when the smoothed loss is 4x its minimum


@dataclass(frozen=True)
class LRFindResult:
    """The sweep (one entry per step) and the suggested learning rate."""

    model: str
    dataset: str
    optimizer: str
    batch_size: int
    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    suggestion: float
    min_loss_lr: float
    steepest_lr: float
    rule: str = RULE

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def note(self) -> str:
        return f"lr {self.suggestion:.3g} from lr-find ({self.rule}); curve in lr-find.png"

    def brief(self) -> dict[str, Any]:
        """Everything but the curves (for config.json)."""
        return {k: v for k, v in self.as_dict().items() if k not in ("lrs", "losses", "smoothed")}


def sweep(
    model: nn.Module,
    batches,
    optimizer: torch.optim.Optimizer,
    *,
    start: float,
    end: float,
    steps: int,
    device: torch.device,
    criterion: nn.Module | None = None,
) -> tuple[list[float], list[float], list[float]]:
    """Train one step per learning rate, exponentially from `start` to `end`.

    Returns (lrs, losses, smoothed losses), cut where the sweep stopped early.
    """
    if not 0 < start < end or steps < 2:
        raise ValueError(f"need 0 < start < end and steps >= 2, got {start}, {end}, {steps}")
    criterion = criterion or nn.CrossEntropyLoss()
    model.train()
    lrs, losses, smoothed = [], [], []
    average, best = 0.0, math.inf
    for i, (images, labels) in enumerate(endless(batches)):
        if i == steps:
            break
        lr = start * (end / start) ** (i / (steps - 1))
        for group in optimizer.param_groups:
            group["lr"] = lr
        images, labels = images.to(device), labels.to(device)
        loss, _ = compute_loss(model(images), labels, criterion, model)
        value = loss.item()
        if not math.isfinite(value):
            break
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        average = BETA * average + (1 - BETA) * value
        smooth = average / (1 - BETA ** (i + 1))  # bias-corrected
        lrs.append(lr)
        losses.append(value)
        smoothed.append(smooth)
        best = min(best, smooth)
        if smooth > STOP_FACTOR * best:
            break
    if len(lrs) < 3:
        raise ValueError(
            f"the learning-rate sweep diverged within {len(lrs)} steps of {start:g}; "
            "lower its start (--start)"
        )
    return lrs, losses, smoothed


def endless(batches):
    """Training batches across as many epochs as the sweep needs."""
    epoch = 0
    while True:
        yield from batches.epoch(epoch)
        epoch += 1


def suggest(lrs: list[float], smoothed: list[float]) -> tuple[float, float, float]:
    """(suggestion, lr at the minimum, lr of steepest descent before the minimum)."""
    low = min(range(len(smoothed)), key=smoothed.__getitem__)
    slopes = [(smoothed[i + 1] - smoothed[i]) / math.log(lrs[i + 1] / lrs[i]) for i in range(low)]
    steep = min(range(len(slopes)), key=slopes.__getitem__) if slopes else 0
    return lrs[low] / 10, lrs[low], lrs[steep]


def lr_find(
    cfg: TrainConfig,
    *,
    start: float = 1e-6,
    end: float = 10.0,
    steps: int = 100,
    data: ImageSet | None = None,
    dist: Dist | None = None,
) -> LRFindResult:
    """Run the range test for `cfg`'s model, data, optimizer and batch size.

    `cfg.lr` is ignored; other defaults are resolved as `convzoo train` does.
    """
    from convzoo.data import load_dataset

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    dist = dist or Dist()
    data = data or load_dataset(cfg.dataset, data_dir=cfg.data_dir, download=cfg.download)
    resolved = resolve_config(replace(cfg, lr=start), dataset_batch_size=data.batch_size).config
    parts = build_parts(resolved, data, dist)
    model = parts.model.to(dist.device)
    optimizer = build_optimizer(
        model,
        resolved.optimizer,
        lr=start,
        weight_decay=resolved.weight_decay,
        momentum=resolved.momentum,
        nesterov=resolved.nesterov,
    )
    criterion = nn.CrossEntropyLoss(label_smoothing=resolved.label_smoothing)
    lrs, losses, smoothed = sweep(
        model,
        parts.train_batches,
        optimizer,
        start=start,
        end=end,
        steps=steps,
        device=dist.device,
        criterion=criterion,
    )
    suggestion, at_min, steepest = suggest(lrs, smoothed)
    return LRFindResult(
        model=cfg.model,
        dataset=data.name,
        optimizer=resolved.optimizer,
        batch_size=resolved.batch_size,
        lrs=lrs,
        losses=losses,
        smoothed=smoothed,
        suggestion=suggestion,
        min_loss_lr=at_min,
        steepest_lr=steepest,
    )


def plot_lr_find(result: LRFindResult, path: str | Path) -> Path:
    """Loss (raw and smoothed) against the learning rate, the suggestion marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(result.lrs, result.losses, color="0.75", lw=1, label="loss")
    ax.plot(result.lrs, result.smoothed, lw=2, label="smoothed loss")
    ax.axvline(result.suggestion, color="tab:green", ls="--",
               label=f"suggested {result.suggestion:.3g} ({RULE})")  # fmt: skip
    ax.axvline(result.steepest_lr, color="tab:orange", ls=":",
               label=f"steepest descent {result.steepest_lr:.3g}")  # fmt: skip
    ax.set_xscale("log")
    top = min(max(result.smoothed), 2 * result.smoothed[0])  # keep the explosion off the scale
    ax.set_ylim(min(result.smoothed) * 0.9, top * 1.05)
    ax.set(xlabel="learning rate", ylabel="training loss",
           title=f"lr range test: {result.model} on {result.dataset.split(':')[0]}, "
           f"{result.optimizer}, batch {result.batch_size}")  # fmt: skip
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def resolve_auto_lr(
    cfg: TrainConfig, data: ImageSet, dist: Dist, run_dir: Path
) -> tuple[TrainConfig, LRFindResult]:
    """``--lr auto``: the range test's suggestion (rank 0's, on every rank).

    Writes lr-find.png and lr-find.json into the run directory.
    """
    result = lr_find(replace(cfg, lr=None), data=data, dist=dist)
    result = dist.gather(result)[0]
    if dist.is_main:
        plot_lr_find(result, run_dir / "lr-find.png")
        (run_dir / "lr-find.json").write_text(json.dumps(result.as_dict(), indent=2) + "\n")
    return replace(cfg, lr=result.suggestion), result
