"""Training that goes wrong says so: NaN and exploding losses stop the run, chance is reported.

Divergence rule. Cross-entropy over C classes starts near ln C (uniform
predictions) and a network that learns stays below it. A loss above
``100 x ln C`` means logits that are confidently wrong by about a hundred
nats: it happens when the weights blow up (AlexNet at lr 0.1 reaches 1e23
while staying finite). One such step can be a bad batch, so the run stops when
the loss stays above the limit for ``patience`` (5) consecutive steps, before
applying the last of them. A NaN or infinite loss stops at once. While the loss
is above the limit the engine writes no last.pt, so the checkpoint left behind
is the last one taken while training was sound.

Chance rule. An epoch is *at chance* when both its training accuracy and its
validation accuracy lie within three binomial standard deviations of 1/C
(``3 * sqrt(p (1 - p) / n)`` with p = 1/C and n the images of that split): the
network's predictions cannot be told apart from guessing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from convzoo.train.config import TrainConfig

__all__ = [
    "DivergenceError",
    "LossGuard",
    "NonFiniteLossError",
    "TrainingStopped",
    "at_chance",
    "recovery_advice",
]


class TrainingStopped(RuntimeError):
    """Training went wrong and the run stopped; the last good checkpoint is kept."""


class NonFiniteLossError(TrainingStopped):
    """The loss became NaN or infinite; the run stopped before taking that step."""


class DivergenceError(TrainingStopped):
    """The loss stayed far above chance level (finite but exploding); the run stopped."""


@dataclass
class LossGuard:
    """Watches the loss of every step (see the module docstring for the rule)."""

    num_classes: int
    factor: float = 100.0
    patience: int = 5
    high_steps: int = 0  # consecutive steps above the limit so far

    @property
    def limit(self) -> float:
        return self.factor * math.log(max(self.num_classes, 2))

    @property
    def healthy(self) -> bool:
        """No step above the limit since the last sound one: safe to checkpoint."""
        return self.high_steps == 0

    def update(self, *, finite: bool, high: bool) -> str | None:
        """ "non-finite", "diverged" or None, given this step's loss (on any rank)."""
        if not finite:
            return "non-finite"
        self.high_steps = self.high_steps + 1 if high else 0
        return "diverged" if self.high_steps >= self.patience else None

    def error(self, verdict: str, loss: float, where: str, advice: str) -> TrainingStopped:
        if verdict == "non-finite":
            return NonFiniteLossError(f"loss is {loss} at {where}; {advice}")
        return DivergenceError(
            f"loss is {loss:.3g} at {where}, above {self.limit:.0f} (100 x ln "
            f"{self.num_classes} classes) for {self.patience} steps in a row: training "
            f"diverged; {advice}"
        )


def recovery_advice(cfg: TrainConfig, run_dir: object, *, checkpoint: bool) -> str:
    """What to do next, naming only settings that differ from the run's own."""
    lower = f"{float(cfg.lr) / 10:.3g}"
    kept = (
        f"stopped before applying it, the last good checkpoint is {run_dir}/last.pt. "
        f"Resume with a lower learning rate: convzoo train --resume {run_dir} --lr {lower}"
        if checkpoint
        else f"stopped before applying it, no checkpoint yet. Try --lr {lower}"
    )
    fresh = []
    if cfg.grad_clip is None:
        fresh.append("--grad-clip 1")
    if cfg.precision != "fp32":
        fresh.append("--precision fp32")
    if not cfg.warmup_epochs:
        fresh.append("--warmup-epochs 1")
    again = f"; or start over (--force) with {' '.join(fresh)}" if fresh else ""
    return f"{kept}{again}. The paper's recipe: convzoo info {cfg.model}"


def chance_band(num_classes: int, n: int) -> float:
    """Three binomial standard deviations of the accuracy (in %) of guessing, over n images."""
    p = 1 / num_classes
    return 300 * math.sqrt(p * (1 - p) / max(n, 1))


def at_chance(
    num_classes: int, train_acc: float, n_train: int, val_acc: float | None, n_val: int
) -> bool:
    """Both accuracies (in %) within noise of 100 / C (validation skipped when absent)."""
    chance = 100 / num_classes
    near = abs(train_acc - chance) <= chance_band(num_classes, n_train)
    if val_acc is not None:
        near = near and abs(val_acc - chance) <= chance_band(num_classes, n_val)
    return near
