"""Time-to-accuracy runs: train `speednet` on Fashion-MNIST with the engine, seed after seed.

`convzoo speedrun` is a benchmark of the whole path a user takes: start the process, load
and prepare the data, let the engine pick its fastest precision and layout, train, choose
the weights on the validation split and test them once. Each seed's clock therefore
includes the process start-up (interpreter and imports, measured from the process's own
start time) and everything the `Trainer` does; the time to the target is the first epoch
end whose validation accuracy reaches it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convzoo.train.config import TrainConfig
from convzoo.train.engine import Trainer

__all__ = ["BUDGETS", "Budget", "SeedResult", "process_age_s", "speedrun", "speedrun_config"]


@dataclass(frozen=True)
class Budget:
    """A target: accuracy (percent, test top-1) within seconds of wall time, and the epochs."""

    name: str
    epochs: int
    target: float
    seconds: float


BUDGETS = {
    "short": Budget("short", epochs=8, target=93.0, seconds=60.0),
    "long": Budget("long", epochs=40, target=95.0, seconds=1800.0),
}
DATASETS = ("fashion-mnist",)


@dataclass
class SeedResult:
    seed: int
    test_top1: float
    best_val_acc: float
    best_epoch: int
    wall_s: float  # start-up + the whole run, including the final test
    time_to_target_s: float | None  # first epoch end with validation accuracy >= target
    val_acc_at_budget: float | None  # the best validation accuracy seen within the budget
    run_dir: Path
    curve: list[tuple[float, float]] = field(default_factory=list)  # (seconds, val_acc)


def process_age_s() -> float:
    """Seconds since this process started (Linux /proc); 0 where that is not available."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    import os

    return max(0.0, uptime - ticks / os.sysconf("SC_CLK_TCK"))


def speedrun_config(budget: Budget, seed: int, **overrides: Any) -> TrainConfig:
    """The measured-fastest settings: speednet's recipe, precision and layout left to `auto`."""
    settings: dict[str, Any] = dict(
        model="speednet",
        dataset="fashion-mnist",
        epochs=budget.epochs,
        batch_size=256,
        optimizer="sgd",
        lr=0.2,
        momentum=0.9,
        nesterov=True,
        weight_decay=5e-4,
        label_smoothing=0.2,
        ema_decay=0.99,
        schedule="cosine",
        warmup_epochs=0.5,
        seed=seed,
        precision="auto",
        channels_last="auto",
        progress=False,
        tensorboard=False,
    )
    settings.update(overrides)
    return TrainConfig(**settings)


class _ClockedTrainer(Trainer):
    """A Trainer that notes, at every epoch end, the wall time and the validation accuracy."""

    clock_start: float
    curve: list[tuple[float, float]]

    def _end_epoch(self, train_time: float, images_seen: int) -> None:
        super()._end_epoch(train_time, images_seen)
        if self.log.records:
            accuracy = self.log.records[-1].get("val_acc")
            if accuracy is not None:
                self.curve.append((time.perf_counter() - self.clock_start, accuracy))


def run_seed(budget: Budget, seed: int, *, startup_s: float, **overrides: Any) -> SeedResult:
    """One seed: build, train, test; times counted from `startup_s` before this call."""
    clock_start = time.perf_counter() - startup_s
    trainer = _ClockedTrainer(speedrun_config(budget, seed, **overrides))
    trainer.clock_start, trainer.curve = clock_start, []
    result = trainer.fit()
    if result.summary is None:
        raise KeyboardInterrupt  # the run was interrupted: nothing to report
    wall = time.perf_counter() - clock_start
    reached = [t for t, acc in trainer.curve if acc >= budget.target]
    within = [acc for t, acc in trainer.curve if t <= budget.seconds]
    return SeedResult(
        seed=seed,
        test_top1=result.summary["test_top1"],
        best_val_acc=result.summary["best_val_acc"],
        best_epoch=result.summary["best_epoch"],
        wall_s=wall,
        time_to_target_s=reached[0] if reached else None,
        val_acc_at_budget=max(within) if within else None,
        run_dir=result.run_dir,
        curve=trainer.curve,
    )


def speedrun(
    budget: Budget, seeds: int, *, first_seed: int = 0, startup_s: float = 0.0, **overrides: Any
) -> list[SeedResult]:
    """`seeds` runs; every one is charged the same process start-up `startup_s`."""
    if seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    return [
        run_seed(budget, seed, startup_s=startup_s, **overrides)
        for seed in range(first_seed, first_seed + seeds)
    ]
