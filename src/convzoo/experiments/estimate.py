"""What an experiment's budget costs on this machine, measured before anything trains.

Each arm's real training parts are built as the engine builds them (its recipe's
batch, its model, its input size on the budget's dataset, its splits), then a few
training steps and forward passes of the real network are timed in every
precision/layout the engine would try, and the fastest of each is kept, as the
engine's probe would choose. One training then costs
``epochs * train / train_rate + (epochs * val + test) / eval_rate``; data loading,
checkpoints and start-up come on top, so the estimate is a lower bound.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from convzoo.experiments.core import Experiment
from convzoo.experiments.runner import run_dir_of, train_config


@dataclass(frozen=True)
class ArmCost:
    """One arm of a budget: its sizes, its measured speeds, and the trainings still to run."""

    arm: str
    input_size: int
    batch_size: int
    epochs: int
    train_images: int
    val_images: int
    test_images: int
    train_img_per_s: float
    eval_img_per_s: float
    trainings_left: int  # seeds without a finished run under the output directory

    @property
    def seconds_per_training(self) -> float:
        evaluated = self.epochs * self.val_images + self.test_images
        return (
            self.epochs * self.train_images / self.train_img_per_s + evaluated / self.eval_img_per_s
        )

    @property
    def seconds_left(self) -> float:
        return self.trainings_left * self.seconds_per_training

    def as_dict(self) -> dict[str, float | int | str]:
        return {**asdict(self), "seconds_per_training": self.seconds_per_training,
                "seconds_left": self.seconds_left}  # fmt: skip


def estimate(exp: Experiment, *, quick: bool, out: Path, threads: int | None) -> list[ArmCost]:
    """Each arm's measured cost under `exp`'s budget; finished runs under `out` are not counted."""
    import torch

    from convzoo.data import load_dataset
    from convzoo.speed import native_bf16
    from convzoo.train.autotune import candidates, measure_inference, measure_training
    from convzoo.train.config import resolve_config
    from convzoo.train.distributed import Dist
    from convzoo.train.setup import build_parts

    if not exp.trains:
        return []
    if threads:
        torch.set_num_threads(threads)
    budget, device = exp.budget(quick), torch.device("cpu")
    data = load_dataset(budget.dataset)
    costs = []
    for arm in exp.arms_for(quick):
        left = [s for s in budget.seeds if not (run_dir_of(out, arm, s) / "summary.json").is_file()]
        cfg = train_config(budget, arm, budget.seeds[0], out, progress=False, threads=threads)
        cfg = resolve_config(cfg, dataset_batch_size=data.batch_size).config
        parts = build_parts(cfg, data, Dist())  # the model and splits the training would get
        shape = (data.in_channels, *parts.input_size)
        pairs = candidates(cfg.precision, cfg.channels_last, native_bf16=native_bf16(device))
        train = measure_training(parts.model, shape, cfg.batch_size, data.num_classes, device)
        evaluate = measure_inference(parts.model, shape, cfg.eval_batch_size, device)
        costs.append(
            ArmCost(
                arm=arm.label,
                input_size=parts.input_size[0],
                batch_size=cfg.batch_size,
                epochs=cfg.epochs,
                train_images=parts.sizes["train"],
                val_images=parts.sizes["val"],
                test_images=parts.sizes["test"],
                train_img_per_s=max(train(pairs).values()),
                eval_img_per_s=max(evaluate(pairs).values()),
                trainings_left=len(left),
            )
        )
    return costs
